"""The query resource's column metadata (``columns=true``), which clients such as the
Salesforce CLI read to lay out a query's results, and the queries the CLI sends."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.emulator.helpers import make_set, make_user, sf_error


def _columns(sf: Salesforce, soql: str) -> dict[str, Any]:
    answer: dict[str, Any] = sf.restful("query", params={"q": soql, "columns": "true"})
    return answer


def _shape(columns: list[dict[str, Any]]) -> list[Any]:
    """Column names, with the joined columns of relationships and subqueries nested."""
    return [(c["columnName"], _shape(c["joinColumns"])) if c["joinColumns"]
            else c["columnName"] for c in columns]


def test_columns_describe_the_select_list_not_the_rows(sf: Salesforce) -> None:
    make_user(sf, "columns@acme.test")
    answer = _columns(sf, "SELECT Id, Username, Profile.Name, Profile.UserLicense.Name, "
                          "IsActive FROM User")
    assert "records" not in answer
    assert (answer["entityName"], answer["keyPrefix"], answer["idSelected"]) == (
        "User", "005", True)
    # Paths through one relationship share its column, in SELECT-list order.
    assert _shape(answer["columnMetadata"]) == [
        "Id", "Username", ("Profile", ["Name", ("UserLicense", ["Name"])]), "IsActive"]
    by_name = {c["columnName"]: c for c in answer["columnMetadata"]}
    assert (by_name["Id"]["apexType"], by_name["Id"]["insertable"]) == ("Id", False)
    assert (by_name["Username"]["apexType"], by_name["Username"]["textType"],
            by_name["Username"]["insertable"], by_name["Username"]["updatable"]) == (
        "String", True, True, True)
    assert (by_name["IsActive"]["apexType"], by_name["IsActive"]["booleanType"]) == (
        "Boolean", True)
    assert (by_name["Profile"]["foreignKeyName"], by_name["Profile"]["apexType"],
            by_name["Profile"]["aggregate"]) == ("ProfileId", None, False)


def test_a_child_subquery_is_an_aggregate_column_of_its_own_columns(
        sf: Salesforce) -> None:
    make_set(sf, "INT_Columns")
    answer = _columns(sf, "SELECT Name, License.Name, (SELECT Assignee.Username FROM "
                          "Assignments) FROM PermissionSet WHERE Name = 'INT_Columns'")
    assert answer["idSelected"] is False
    assert _shape(answer["columnMetadata"]) == [
        "Name", ("License", ["Name"]), ("Assignments", [("Assignee", ["Username"])])]
    assignments = answer["columnMetadata"][2]
    assert (assignments["aggregate"], assignments["foreignKeyName"]) == (True, None)


def test_count_columns_are_named_by_alias(sf: Salesforce) -> None:
    answer = _columns(sf, "SELECT COUNT(Id), COUNT(Email) withEmail FROM User")
    assert [(c["columnName"], c["displayName"], c["aggregate"], c["numberType"])
            for c in answer["columnMetadata"]] == [
        ("expr0", "count(Id)", True, True), ("withEmail", "count(Email)", True, True)]


def test_columns_refuse_a_bad_query_as_the_query_would(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        _columns(sf, "SELECT Nope FROM User")
    assert sf_error(err.value)[0] == "INVALID_FIELD"


def test_the_organization_fields_clients_read_at_login(sf: Salesforce) -> None:
    org = sf.query("SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, "
                   "NamespacePrefix, OrganizationType FROM Organization")["records"][0]
    assert (org["IsSandbox"], org["TrialExpirationDate"], org["NamespacePrefix"]) == (
        False, None, None)

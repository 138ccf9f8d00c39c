"""Unit tests of the emulator's SOQL engine against an in-memory record source."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.emulator.sobjects import standard_catalog
from reconciler.emulator.soql import Query, Result, SoqlError, execute, parse

CATALOG = standard_catalog()
API = "62.0"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def sfid(prefix: str, n: int) -> str:
    """An 18-character Id: key prefix, zero padding, counter, checksum."""
    id15 = f"{prefix}{n:012d}"
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << j for j, c in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if c.isupper())
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def url(sobject: str, record_id: str) -> str:
    return f"/services/data/v{API}/sobjects/{sobject}/{record_id}"


def attrs(sobject: str, record_id: str) -> dict[str, str]:
    return {"type": sobject, "url": url(sobject, record_id)}


class FakeSource:
    """A RecordSource: records per sObject in insertion order, an index on every
    reference field (switchable off), and a log of find() calls."""

    def __init__(self) -> None:
        self.live: dict[str, list[dict[str, Any]]] = {}
        self.deleted: dict[str, list[dict[str, Any]]] = {}
        self.by_id: dict[str, tuple[str, dict[str, Any]]] = {}
        self.counters: dict[str, int] = {}
        self.indexed = True
        self.find_calls: list[tuple[str, str, list[str]]] = []

    def add(self, sobject: str, **fields: Any) -> str:
        s = CATALOG.get(sobject)
        assert s is not None
        n = self.counters[sobject] = self.counters.get(sobject, 0) + 1
        rid = sfid(s.key_prefix, n)
        rec = {"Id": rid, **fields}
        self.live.setdefault(sobject, []).append(rec)
        self.by_id[rid] = (sobject, rec)
        return rid

    def delete(self, record_id: str) -> None:
        sobject, rec = self.by_id.pop(record_id)
        self.live[sobject].remove(rec)
        rec["IsDeleted"] = True
        self.deleted.setdefault(sobject, []).append(rec)

    def records(self, sobject: str, include_deleted: bool = False) -> Iterable[dict[str, Any]]:
        out = list(self.live.get(sobject, []))
        return out + self.deleted.get(sobject, []) if include_deleted else out

    def get(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        return self.by_id.get(record_id)

    def find(
        self, sobject: str, field: str, values: Collection[str]
    ) -> Iterable[dict[str, Any]] | None:
        self.find_calls.append((sobject, field, list(values)))
        if not self.indexed:
            return None
        if field == "Id":
            # Like the emulator's store: in the order the Ids were asked for.
            return [self.by_id[v][1] for v in values if v in self.by_id
                    and self.by_id[v][0] == sobject]
        wanted = set(values)
        return [r for r in self.live.get(sobject, []) if r.get(field) in wanted]


class Org:
    """A small org: licenses, profiles, users, permission sets and their children."""

    def __init__(self) -> None:
        src = self.src = FakeSource()
        self.ul_sf = src.add("UserLicense", Name="Salesforce", MasterLabel="Salesforce",
                             TotalLicenses=10, UsedLicenses=2, Status="Active")
        self.ul_int = src.add("UserLicense", Name="Salesforce Integration",
                              MasterLabel="Salesforce Integration", TotalLicenses=5,
                              UsedLicenses=2, Status="Active")
        self.psl = src.add("PermissionSetLicense", DeveloperName="SalesforceAPIIntegrationPsl",
                           MasterLabel="Salesforce API Integration", TotalLicenses=5,
                           UsedLicenses=1, Status="Active")
        self.p_admin = src.add("Profile", Name="System Administrator",
                               UserLicenseId=self.ul_sf)
        self.p_int = src.add("Profile", Name="Minimum Access - API Only Integrations",
                             UserLicenseId=self.ul_int)
        self.u_admin = src.add("User", Username="admin@example.com", FirstName="Ada",
                               LastName="Admin", Email="admin@example.com",
                               ProfileId=self.p_admin, IsActive=True,
                               LastLoginDate="2026-03-01T10:00:00.000+0000")
        self.u_int1 = src.add("User", Username="int1@example.com", FirstName="beta",
                              LastName="O'Brien", Email="int1@example.com",
                              ProfileId=self.p_int, IsActive=True, ManagerId=None)
        self.u_int2 = src.add("User", Username="int2@example.com", FirstName=None,
                              LastName="Zed", Email="int2@example.com", ProfileId=self.p_int,
                              IsActive=False)
        self.ps_admin_profile = src.add("PermissionSet", Name="X00e_admin", Label="admin",
                                        IsOwnedByProfile=True, ProfileId=self.p_admin)
        self.ps_int_profile = src.add("PermissionSet", Name="X00e_int", Label="int",
                                      IsOwnedByProfile=True, ProfileId=self.p_int)
        self.ps_sales = src.add("PermissionSet", Name="Sales_Access", Label="Sales Access",
                                IsOwnedByProfile=False, LicenseId=self.psl,
                                PermissionsApiEnabled=True)
        self.ps_salesx = src.add("PermissionSet", Name="SalesXAccess", Label="Sales X",
                                 IsOwnedByProfile=False)
        self.ps_base = src.add("PermissionSet", Name="Integration_Base", Label="Base",
                               IsOwnedByProfile=False, LicenseId=self.ul_int,
                               Description="100% \\ reviewed")
        self.psa: dict[tuple[str, str], str] = {}
        for user, ps in [
            (self.u_admin, self.ps_admin_profile),
            (self.u_int1, self.ps_int_profile),
            (self.u_int2, self.ps_int_profile),
            (self.u_int1, self.ps_sales),
            (self.u_admin, self.ps_sales),
            (self.u_int2, self.ps_base),
        ]:
            self.psa[user, ps] = src.add("PermissionSetAssignment", AssigneeId=user,
                                         PermissionSetId=ps)
        self.fp = [
            src.add("FieldPermissions", ParentId=self.ps_sales, SobjectType="Account",
                    Field="Account.Industry", PermissionsRead=True, PermissionsEdit=False),
            src.add("FieldPermissions", ParentId=self.ps_sales, SobjectType="Account",
                    Field="Account.Rating", PermissionsRead=True, PermissionsEdit=True),
            src.add("FieldPermissions", ParentId=self.ps_base, SobjectType="Contact",
                    Field="Contact.Email", PermissionsRead=True, PermissionsEdit=False),
        ]

    def q(self, soql: str, *, include_deleted: bool = False) -> Result:
        return execute(parse(soql, CATALOG), self.src, api_version=API,
                       include_deleted=include_deleted)

    def values(self, soql: str, field: str = "Id") -> list[Any]:
        return [r[field] for r in self.q(soql).records]


@pytest.fixture
def org() -> Org:
    return Org()


def error_of(soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        parse(soql, CATALOG)
    return info.value


# ---------------------------------------------------------------------------
# Shape of records


def test_plain_fields_in_select_order_with_canonical_case(org: Org) -> None:
    res = org.q("select username, ID, firstname from USER where username = 'INT1@Example.com'")
    assert res.total_size == 1
    assert res.records == [{
        "attributes": attrs("User", org.u_int1),
        "Username": "int1@example.com",
        "Id": org.u_int1,
        "FirstName": "beta",
    }]
    assert list(res.records[0]) == ["attributes", "Username", "Id", "FirstName"]


def test_missing_and_null_fields_come_out_null(org: Org) -> None:
    res = org.q(f"SELECT FirstName, Title FROM User WHERE Id = '{org.u_int2}'")
    assert res.records[0]["FirstName"] is None
    assert res.records[0]["Title"] is None


def test_api_version_with_or_without_v(org: Org) -> None:
    query = parse(f"SELECT Id FROM User WHERE Id = '{org.u_admin}'", CATALOG)
    a = execute(query, org.src, api_version="v58.0").records[0]["attributes"]
    assert a["url"] == f"/services/data/v58.0/sobjects/User/{org.u_admin}"


def test_parent_fields_merge_into_one_nested_record(org: Org) -> None:
    psa = org.psa[org.u_int1, org.ps_sales]
    res = org.q("SELECT Id, Assignee.Username, PermissionSet.Name, Assignee.IsActive "
                f"FROM PermissionSetAssignment WHERE Id = '{psa}'")
    assert res.records == [{
        "attributes": attrs("PermissionSetAssignment", psa),
        "Id": psa,
        "Assignee": {"attributes": attrs("User", org.u_int1), "Username": "int1@example.com",
                     "IsActive": True},
        "PermissionSet": {"attributes": attrs("PermissionSet", org.ps_sales),
                          "Name": "Sales_Access"},
    }]


def test_null_reference_gives_null_parent(org: Org) -> None:
    psa = org.psa[org.u_int1, org.ps_sales]
    res = org.q("SELECT PermissionSetGroup.MasterLabel, PermissionSetGroup.DeveloperName "
                f"FROM PermissionSetAssignment WHERE Id = '{psa}'")
    assert res.records[0]["PermissionSetGroup"] is None


def test_two_level_parent_path_select_and_filter(org: Org) -> None:
    res = org.q("SELECT Username, Profile.UserLicense.Name FROM User "
                "WHERE Profile.UserLicense.Name = 'salesforce integration' ORDER BY Username")
    assert [r["Username"] for r in res.records] == ["int1@example.com", "int2@example.com"]
    assert res.records[0]["Profile"] == {
        "attributes": attrs("Profile", org.p_int),
        "UserLicense": {"attributes": attrs("UserLicense", org.ul_int),
                        "Name": "Salesforce Integration"},
    }


def test_object_name_may_prefix_a_field(org: Org) -> None:
    assert org.values("SELECT User.Username FROM User WHERE User.IsActive = false",
                      "Username") == ["int2@example.com"]


def test_five_hops_work_and_six_are_refused(org: Org) -> None:
    org.src.live["User"][0]["ManagerId"] = org.u_admin  # admin manages itself
    five = "Manager." * 5
    res = org.q(f"SELECT {five}Username FROM User WHERE Id = '{org.u_admin}'")
    node = res.records[0]
    for _ in range(5):
        node = node["Manager"]
    assert node["Username"] == "admin@example.com"
    err = error_of(f"SELECT {five}Manager.Username FROM User")
    assert err.error_code == "MALFORMED_QUERY"
    assert "at most 5" in err.message


# ---------------------------------------------------------------------------
# Polymorphic relationships


def test_polymorphic_license_name_resolves_per_target_type(org: Org) -> None:
    res = org.q("SELECT Name, License.Name, License.Type, License.Id FROM PermissionSet "
                "WHERE IsOwnedByProfile = false ORDER BY Name")
    got = {r["Name"]: r["License"] for r in res.records}
    assert got == {
        "Integration_Base": {"attributes": attrs("UserLicense", org.ul_int),
                             "Name": "Salesforce Integration", "Type": "UserLicense",
                             "Id": org.ul_int},
        # PermissionSetLicense's name field is MasterLabel.
        "Sales_Access": {"attributes": attrs("PermissionSetLicense", org.psl),
                         "Name": "Salesforce API Integration",
                         "Type": "PermissionSetLicense", "Id": org.psl},
        "SalesXAccess": None,
    }


def test_polymorphic_filters(org: Org) -> None:
    assert org.values("SELECT Name FROM PermissionSet WHERE License.Name = "
                      "'SALESFORCE API INTEGRATION'", "Name") == ["Sales_Access"]
    assert org.values("SELECT Name FROM PermissionSet WHERE License.Type = 'UserLicense'",
                      "Name") == ["Integration_Base"]
    assert org.values(f"SELECT Name FROM PermissionSet WHERE License.Id = '{org.psl}'",
                      "Name") == ["Sales_Access"]


def test_polymorphic_task_what(org: Org) -> None:
    acct = org.src.add("Account", Name="Acme")
    t1 = org.src.add("Task", Subject="Call", WhatId=acct)
    t2 = org.src.add("Task", Subject="Orphan")
    res = org.q("SELECT Subject, What.Name, What.Type FROM Task ORDER BY Subject")
    assert res.records == [
        {"attributes": attrs("Task", t1), "Subject": "Call",
         "What": {"attributes": attrs("Account", acct), "Name": "Acme", "Type": "Account"}},
        {"attributes": attrs("Task", t2), "Subject": "Orphan", "What": None},
    ]


@pytest.mark.parametrize("soql", [
    "SELECT License.MasterLabel FROM PermissionSet",
    "SELECT What.Owner.Name FROM Task",
    "SELECT Id FROM PermissionSet WHERE License.DeveloperName = 'x'",
])
def test_polymorphic_other_fields_are_invalid(soql: str) -> None:
    err = error_of(soql)
    assert err.error_code == "INVALID_FIELD"
    assert "on entity 'Name'" in err.message
    assert "polymorphic" in err.message


# ---------------------------------------------------------------------------
# Child subqueries


def test_child_subquery_with_where_order_limit(org: Org) -> None:
    org.src.find_calls.clear()
    res = org.q(
        "SELECT Name, (SELECT Assignee.Username FROM Assignments "
        "WHERE Assignee.IsActive = true ORDER BY Assignee.Username DESC LIMIT 5) "
        "FROM PermissionSet WHERE IsOwnedByProfile = false ORDER BY Name")
    by_name = {r["Name"]: r["Assignments"] for r in res.records}
    sales = by_name["Sales_Access"]
    assert sales["totalSize"] == 2 and sales["done"] is True
    assert [r["Assignee"]["Username"] for r in sales["records"]] == [
        "int1@example.com", "admin@example.com"]
    assert sales["records"][0]["attributes"] == attrs(
        "PermissionSetAssignment", org.psa[org.u_int1, org.ps_sales])
    # int2 (the only holder of Integration_Base) is inactive: no rows → null.
    assert by_name["Integration_Base"] is None
    assert by_name["SalesXAccess"] is None
    # One find() for all three parents, not one per parent.
    child_calls = [c for c in org.src.find_calls if c[0] == "PermissionSetAssignment"]
    assert child_calls == [("PermissionSetAssignment", "PermissionSetId",
                            [org.ps_base, org.ps_sales, org.ps_salesx])]


def test_child_subquery_scans_when_there_is_no_index(org: Org) -> None:
    soql = ("SELECT Username, (SELECT PermissionSet.Name FROM PermissionSetAssignments "
            "ORDER BY PermissionSet.Name) FROM User ORDER BY Username")
    indexed = org.q(soql).records
    org.src.indexed = False
    assert org.q(soql).records == indexed
    names = [[a["PermissionSet"]["Name"] for a in u["PermissionSetAssignments"]["records"]]
             for u in indexed]
    assert names == [["Sales_Access", "X00e_admin"], ["Sales_Access", "X00e_int"],
                     ["Integration_Base", "X00e_int"]]


def test_child_subquery_offset_is_per_parent(org: Org) -> None:
    res = org.q("SELECT Username, (SELECT PermissionSetId FROM PermissionSetAssignments "
                f"ORDER BY PermissionSet.Name LIMIT 1 OFFSET 1) FROM User "
                f"WHERE Id = '{org.u_admin}'")
    sub = res.records[0]["PermissionSetAssignments"]
    assert sub["totalSize"] == 1
    assert sub["records"][0]["PermissionSetId"] == org.ps_admin_profile


def test_unknown_child_relationship_is_invalid_type() -> None:
    err = error_of("SELECT Id, (SELECT Id FROM Nope) FROM PermissionSet")
    assert err.error_code == "INVALID_TYPE"
    assert err.message.startswith("Didn't understand relationship 'Nope' in FROM part")


def test_nested_child_subquery_is_refused() -> None:
    err = error_of("SELECT Id, (SELECT Id, (SELECT Id FROM Users) FROM Profiles) "
                   "FROM UserLicense")
    assert err.error_code == "MALFORMED_QUERY"
    assert "nested subqueries" in err.message


# ---------------------------------------------------------------------------
# COUNT


def test_count_only(org: Org) -> None:
    query = parse("SELECT COUNT() FROM User WHERE IsActive = true", CATALOG)
    assert query.count_only
    res = execute(query, org.src, api_version=API)
    assert (res.total_size, res.records) == (2, [])
    assert org.q("SELECT count() FROM PermissionSetAssignment LIMIT 4").total_size == 4
    assert org.q("SELECT COUNT() FROM User WHERE Username = 'nobody'").total_size == 0


def test_count_field_is_an_aggregate_result(org: Org) -> None:
    query = parse("SELECT COUNT(Id) FROM User", CATALOG)
    assert not query.count_only and query.aggregate
    res = execute(query, org.src, api_version=API)
    assert res.total_size == 1
    assert res.records == [{"attributes": {"type": "AggregateResult"}, "expr0": 3}]
    res = org.q("SELECT COUNT(Id) n, COUNT(FirstName), COUNT(Manager.Id) FROM User")
    assert res.records == [{"attributes": {"type": "AggregateResult"},
                            "n": 3, "expr0": 2, "expr1": 0}]


@pytest.mark.parametrize(("soql", "needle"), [
    ("SELECT COUNT(), Id FROM User", "COUNT() must be the only item"),
    ("SELECT Id, COUNT(Id) FROM User", "Field must be grouped or aggregated: Id"),
    ("SELECT COUNT(Id) FROM User GROUP BY ProfileId", "GROUP BY is not supported"),
    ("SELECT ProfileId, COUNT(Id) FROM User GROUP BY ProfileId", "grouped or aggregated"),
    ("SELECT COUNT(Id) FROM User ORDER BY Username", "ORDER BY is not supported"),
    ("SELECT MAX(LastLoginDate) FROM User", "function 'MAX()' is not supported"),
    ("SELECT Id, (SELECT COUNT() FROM Users) FROM Profile", "COUNT is only supported"),
])
def test_count_misuse(soql: str, needle: str) -> None:
    err = error_of(soql)
    assert err.error_code == "MALFORMED_QUERY"
    assert needle in err.message


# ---------------------------------------------------------------------------
# WHERE: operators and literals


@pytest.mark.parametrize(("where", "expected"), [
    ("TotalLicenses = 5", ["Salesforce Integration"]),
    ("TotalLicenses != 5", ["Salesforce"]),
    ("TotalLicenses <> 5", ["Salesforce"]),
    ("TotalLicenses < 10", ["Salesforce Integration"]),
    ("TotalLicenses <= 10", ["Salesforce", "Salesforce Integration"]),
    ("TotalLicenses > 5", ["Salesforce"]),
    ("TotalLicenses >= 5.0", ["Salesforce", "Salesforce Integration"]),
    ("TotalLicenses > -1", ["Salesforce", "Salesforce Integration"]),
    ("Name < 'salesforce i'", ["Salesforce"]),
    ("Name >= 'SALESFORCE I'", ["Salesforce Integration"]),
    ("Name = 'SALESFORCE'", ["Salesforce"]),
    ("Name IN ('x', 'salesforce integration')", ["Salesforce Integration"]),
    ("Name NOT IN ('salesforce')", ["Salesforce Integration"]),
    ("Status = 'active' AND TotalLicenses > 5", ["Salesforce"]),
    ("TotalLicenses = 5 OR Name = 'Salesforce'", ["Salesforce", "Salesforce Integration"]),
    ("(TotalLicenses = 5 OR Name = 'Salesforce') AND UsedLicenses = 2",
     ["Salesforce", "Salesforce Integration"]),
    ("TotalLicenses = 5 AND (Name = 'Salesforce' OR Status = 'Active')",
     ["Salesforce Integration"]),
    ("NOT Name = 'Salesforce'", ["Salesforce Integration"]),
    ("NOT (Name = 'Salesforce' OR TotalLicenses = 5)", []),
    ("Status = 'Active' AND (NOT TotalLicenses = 5)", ["Salesforce"]),
    ("LicenseDefinitionKey = null", ["Salesforce", "Salesforce Integration"]),
    ("LicenseDefinitionKey != null", []),
    ("LicenseDefinitionKey = ''", ["Salesforce", "Salesforce Integration"]),
])
def test_comparisons(org: Org, where: str, expected: list[str]) -> None:
    assert org.values(f"SELECT Name FROM UserLicense WHERE {where} ORDER BY Name",
                      "Name") == expected


def test_not_equal_matches_nulls_like_salesforce(org: Org) -> None:
    assert org.values("SELECT Username FROM User WHERE FirstName != 'Ada' ORDER BY Username",
                      "Username") == ["int1@example.com", "int2@example.com"]
    assert org.values("SELECT Username FROM User WHERE FirstName NOT IN ('ada', 'BETA')",
                      "Username") == ["int2@example.com"]
    assert org.values("SELECT Username FROM User WHERE FirstName IN ('Ada', null) "
                      "ORDER BY Username", "Username") == ["admin@example.com",
                                                           "int2@example.com"]
    # Ordering operators never match null.
    assert org.values("SELECT Username FROM User WHERE FirstName < 'zzz' ORDER BY Username",
                      "Username") == ["admin@example.com", "int1@example.com"]


def test_booleans(org: Org) -> None:
    assert org.values("SELECT Username FROM User WHERE IsActive = FALSE", "Username") == [
        "int2@example.com"]
    assert org.values("SELECT Username FROM User WHERE IsActive != false ORDER BY Username",
                      "Username") == ["admin@example.com", "int1@example.com"]
    # A checkbox absent from a stored record is false, as it can't be null in Salesforce.
    assert org.values("SELECT Name FROM PermissionSet WHERE PermissionsApiEnabled = false "
                      "AND IsOwnedByProfile = false ORDER BY Name", "Name") == [
        "Integration_Base", "SalesXAccess"]


def test_parent_paths_in_where(org: Org) -> None:
    assert org.values("SELECT Id FROM PermissionSetAssignment WHERE "
                      "Assignee.Username = 'INT1@example.com' AND "
                      "PermissionSet.IsOwnedByProfile = false") == [
        org.psa[org.u_int1, org.ps_sales]]


@pytest.mark.parametrize(("pattern", "expected"), [
    ("'sales%'", ["Sales_Access", "SalesXAccess"]),
    ("'%ACCESS'", ["Sales_Access", "SalesXAccess"]),
    ("'Sales_Access'", ["Sales_Access", "SalesXAccess"]),
    ("'Sales\\_Access'", ["Sales_Access"]),
    ("'%base'", ["Integration_Base"]),
    ("'base'", []),
    ("'%'", ["Integration_Base", "Sales_Access", "SalesXAccess", "X00e_admin", "X00e_int"]),
])
def test_like(org: Org, pattern: str, expected: list[str]) -> None:
    assert org.values(f"SELECT Name FROM PermissionSet WHERE Name LIKE {pattern} "
                      "ORDER BY Name", "Name") == expected


def test_like_escaped_percent_and_negation(org: Org) -> None:
    assert org.values("SELECT Name FROM PermissionSet WHERE Description LIKE '100\\% %'",
                      "Name") == ["Integration_Base"]
    assert org.values("SELECT Name FROM PermissionSet WHERE Description LIKE '100\\%'",
                      "Name") == []
    # NOT LIKE is written NOT field LIKE …; null descriptions are "not like" anything.
    assert org.values("SELECT Name FROM PermissionSet WHERE NOT Description LIKE '1%' "
                      "ORDER BY Name", "Name") == [
        "Sales_Access", "SalesXAccess", "X00e_admin", "X00e_int"]


@pytest.mark.parametrize(("stored", "literal"), [
    ("O'Brien", "'O\\'Brien'"),
    ('say "hi"', "'say \\\"hi\\\"'"),
    ("back\\slash", "'back\\\\slash'"),
    ("two\nlines", "'two\\nlines'"),
    ("tab\there", "'tab\\there'"),
    ("100%", "'100\\%'"),
    ("snake_case", "'snake\\_case'"),
])
def test_string_escapes(org: Org, stored: str, literal: str) -> None:
    acct = org.src.add("Account", Name=stored)
    org.src.add("Account", Name="other")
    assert org.values(f"SELECT Id FROM Account WHERE Name = {literal}") == [acct]


def test_ids_accept_15_and_18_characters(org: Org) -> None:
    assert org.values(f"SELECT Id FROM User WHERE Id = '{org.u_int1[:15]}'") == [org.u_int1]
    assert org.values(f"SELECT Id FROM PermissionSetAssignment WHERE "
                      f"AssigneeId IN ('{org.u_int2[:15]}') ORDER BY Id") == [
        org.psa[org.u_int2, org.ps_int_profile], org.psa[org.u_int2, org.ps_base]]
    # The checksum is case-insensitive; the 15-character body is not.
    assert org.values(f"SELECT Id FROM User WHERE Id = '{org.u_int1[:15]}"
                      f"{org.u_int1[15:].lower()}'") == [org.u_int1]
    err = error_of("SELECT Id FROM User WHERE Id = 'not-an-id'")
    assert err.error_code == "MALFORMED_QUERY"
    assert "invalid ID field: not-an-id" in err.message


# ---------------------------------------------------------------------------
# Dates


def test_date_and_datetime_literals(org: Org) -> None:
    early = org.src.add("Opportunity", Name="early", CloseDate="2026-01-15",
                        CreatedDate="2026-01-01T00:30:00.000+0000")
    late = org.src.add("Opportunity", Name="late", CloseDate="2026-06-30",
                       CreatedDate="2026-05-01T12:00:00.000+0000")
    q = org.values
    assert q("SELECT Id FROM Opportunity WHERE CloseDate = 2026-01-15") == [early]
    assert q("SELECT Id FROM Opportunity WHERE CloseDate > 2026-01-15") == [late]
    assert q("SELECT Id FROM Opportunity WHERE CloseDate <= 2026-06-30") == [early, late]
    assert q("SELECT Id FROM Opportunity WHERE CreatedDate < 2026-01-01T01:00:00Z") == [early]
    # The same instant written in three zones and forms.
    for lit in ("2026-05-01T12:00:00Z", "2026-05-01T14:00:00+02:00",
                "2026-05-01T12:00:00.000+0000", "2026-05-01T07:00:00-0500"):
        assert q(f"SELECT Id FROM Opportunity WHERE CreatedDate = {lit}") == [late], lit
    # Before midnight UTC in a zone east of UTC: still 2025 in UTC.
    assert q("SELECT Id FROM Opportunity WHERE CreatedDate > 2026-01-01T01:00:00+01:00") == [
        early, late]


def test_date_functions(org: Org) -> None:
    now = datetime.now(UTC)
    today = now.date()

    def opp(name: str, days: int) -> str:
        return org.src.add("Opportunity", Name=name, CloseDate=str(today + timedelta(days)))

    d = {name: opp(name, days) for name, days in
         [("m30", -30), ("m5", -5), ("m1", -1), ("0", 0), ("p1", 1), ("p5", 5), ("p30", 30)]}

    def names(where: str) -> list[str]:
        ids = org.values(f"SELECT Id FROM Opportunity WHERE {where}")
        return [n for n, i in d.items() if i in ids]

    assert names("CloseDate = TODAY") == ["0"]
    assert names("CloseDate = YESTERDAY") == ["m1"]
    assert names("CloseDate = TOMORROW") == ["p1"]
    assert names("CloseDate = LAST_N_DAYS:7") == ["m5", "m1", "0"]
    assert names("CloseDate = NEXT_N_DAYS:7") == ["p1", "p5"]
    assert names("CloseDate < TODAY") == ["m30", "m5", "m1"]
    assert names("CloseDate >= TOMORROW") == ["p1", "p5", "p30"]
    assert names("CloseDate > LAST_N_DAYS:7") == ["p1", "p5", "p30"]
    assert names("CloseDate <= YESTERDAY") == ["m30", "m5", "m1"]
    assert names("CloseDate != TODAY") == ["m30", "m5", "m1", "p1", "p5", "p30"]


def test_datetime_functions(org: Org) -> None:
    now = datetime.now(UTC)

    def acct(name: str, delta: timedelta) -> str:
        stamp = (now + delta).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        return org.src.add("Account", Name=name, CreatedDate=stamp)

    hour_ago = acct("hour ago", timedelta(hours=-1))
    acct("three hours ago", timedelta(hours=-3))
    acct("ten days ago", timedelta(days=-10))
    in_an_hour = acct("in an hour", timedelta(hours=1))
    assert org.values("SELECT Id FROM Account WHERE CreatedDate = LAST_N_HOURS:2") == [
        hour_ago]
    assert org.values("SELECT Id FROM Account WHERE CreatedDate = NEXT_N_HOURS:2") == [
        in_an_hour]
    # LAST_N_DAYS:2 starts at midnight UTC two days ago and ends tonight.
    assert org.values("SELECT Name FROM Account WHERE CreatedDate = LAST_N_DAYS:2 "
                      "ORDER BY Name", "Name") == sorted(["hour ago", "three hours ago"] + (
        ["in an hour"] if (now + timedelta(hours=1)).date() == now.date() else []))
    assert org.values("SELECT Name FROM Account WHERE CreatedDate < LAST_N_DAYS:5",
                      "Name") == ["ten days ago"]


@pytest.mark.parametrize(("soql", "code", "needle"), [
    ("SELECT Id FROM Opportunity WHERE CloseDate = '2026-01-01'", "INVALID_FIELD",
     "must be of type date and should not be enclosed in quotes"),
    ("SELECT Id FROM Opportunity WHERE CreatedDate = 2026-01-01", "INVALID_FIELD",
     "must be of type dateTime"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = 2026-01-01T00:00:00Z", "INVALID_FIELD",
     "must be of type date"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_HOURS:3", "MALFORMED_QUERY",
     "only valid on dateTime fields"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = THIS_MONTH", "MALFORMED_QUERY",
     "THIS_MONTH is not supported by the emulator"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_DAYS", "MALFORMED_QUERY",
     "needs a number"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_DAYS:x", "MALFORMED_QUERY",
     "non-negative integer"),
    ("SELECT Id FROM Opportunity WHERE CloseDate IN (TODAY)", "MALFORMED_QUERY",
     "IN list"),
    ("SELECT Id FROM Opportunity WHERE CloseDate = 2026-02-30", "MALFORMED_QUERY",
     "invalid date literal"),
    ("SELECT Id FROM Opportunity WHERE CreatedDate = 2026-02-03T10:00:00", "MALFORMED_QUERY",
     "invalid literal"),
    ("SELECT Id FROM Opportunity WHERE Name = TODAY", "INVALID_FIELD",
     "must be of type string"),
])
def test_date_errors(soql: str, code: str, needle: str) -> None:
    err = error_of(soql)
    assert (err.error_code, needle in err.message) == (code, True), err.message


# ---------------------------------------------------------------------------
# Semi-joins


def test_semi_join_and_anti_join(org: Org) -> None:
    inner = ("SELECT AssigneeId FROM PermissionSetAssignment WHERE "
             "PermissionSet.Name = 'Sales_Access'")
    assert org.values(f"SELECT Username FROM User WHERE Id IN ({inner}) ORDER BY Username",
                      "Username") == ["admin@example.com", "int1@example.com"]
    assert org.values(f"SELECT Username FROM User WHERE Id NOT IN ({inner})",
                      "Username") == ["int2@example.com"]
    assert org.values(
        "SELECT Name FROM PermissionSet WHERE IsOwnedByProfile = false AND Id NOT IN "
        "(SELECT PermissionSetId FROM PermissionSetAssignment) ", "Name") == ["SalesXAccess"]
    # A semi-join on a reference field, combined with another condition.
    assert org.values(
        "SELECT Field FROM FieldPermissions WHERE SobjectType = 'Account' AND ParentId IN "
        "(SELECT PermissionSetId FROM PermissionSetAssignment WHERE "
        "Assignee.Username = 'int1@example.com')", "Field") == [
        "Account.Industry", "Account.Rating"]


def test_semi_join_with_no_rows_matches_nothing(org: Org) -> None:
    org.src.find_calls.clear()
    assert org.values("SELECT Id FROM User WHERE Id IN (SELECT AssigneeId FROM "
                      "PermissionSetAssignment WHERE PermissionSet.Name = 'nope')") == []


@pytest.mark.parametrize(("soql", "needle"), [
    ("SELECT Id FROM User WHERE Id IN (SELECT AssigneeId, Id FROM PermissionSetAssignment)",
     "exactly one Id or reference field"),
    ("SELECT Id FROM User WHERE Id IN (SELECT Assignee.Id FROM PermissionSetAssignment)",
     "exactly one Id or reference field"),
    ("SELECT Id FROM User WHERE Username IN (SELECT Username FROM User)",
     "need an Id or reference field"),
    ("SELECT Id FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment "
     "ORDER BY AssigneeId)", "ORDER BY is not allowed in a semi-join"),
    ("SELECT Id FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment "
     "LIMIT 5)", "LIMIT is not allowed in a semi-join"),
    ("SELECT Id FROM User WHERE IsActive = true OR Id IN "
     "(SELECT AssigneeId FROM PermissionSetAssignment)", "Semi join sub-selects are only"),
    ("SELECT Id FROM User WHERE IsActive = true AND (NOT Id IN "
     "(SELECT AssigneeId FROM PermissionSetAssignment))", "Semi join sub-selects are only"),
])
def test_semi_join_restrictions(soql: str, needle: str) -> None:
    err = error_of(soql)
    assert err.error_code == "MALFORMED_QUERY"
    assert needle in err.message


# ---------------------------------------------------------------------------
# ORDER BY, LIMIT, OFFSET


def test_default_order_is_source_order(org: Org) -> None:
    assert org.values("SELECT Id FROM User") == [org.u_admin, org.u_int1, org.u_int2]


def test_order_by_strings_case_insensitively_with_default_null_placement(org: Org) -> None:
    # "Ada" < "beta" ignoring case; FirstName null comes first ascending, last descending.
    assert org.values("SELECT FirstName FROM User ORDER BY FirstName", "FirstName") == [
        None, "Ada", "beta"]
    assert org.values("SELECT FirstName FROM User ORDER BY FirstName DESC",
                      "FirstName") == ["beta", "Ada", None]
    assert org.values("SELECT FirstName FROM User ORDER BY FirstName ASC NULLS LAST",
                      "FirstName") == ["Ada", "beta", None]
    assert org.values("SELECT FirstName FROM User ORDER BY FirstName DESC NULLS FIRST",
                      "FirstName") == [None, "beta", "Ada"]


def test_order_by_several_keys_and_paths(org: Org) -> None:
    res = org.q("SELECT Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment "
                "ORDER BY PermissionSet.IsOwnedByProfile DESC, Assignee.Username ASC, "
                "PermissionSet.Name DESC")
    got = [(r["Assignee"]["Username"], r["PermissionSet"]["Name"]) for r in res.records]
    assert got == [
        ("admin@example.com", "X00e_admin"),
        ("int1@example.com", "X00e_int"),
        ("int2@example.com", "X00e_int"),
        ("admin@example.com", "Sales_Access"),
        ("int1@example.com", "Sales_Access"),
        ("int2@example.com", "Integration_Base"),
    ]
    assert org.values("SELECT TotalLicenses FROM UserLicense ORDER BY TotalLicenses DESC",
                      "TotalLicenses") == [10, 5]


def test_limit_and_offset(org: Org) -> None:
    soql = "SELECT Username FROM User ORDER BY Username"
    assert org.values(soql + " LIMIT 2", "Username") == [
        "admin@example.com", "int1@example.com"]
    assert org.values(soql + " LIMIT 1 OFFSET 1", "Username") == ["int1@example.com"]
    assert org.values(soql + " OFFSET 2", "Username") == ["int2@example.com"]
    assert org.q(soql + " OFFSET 2000").records == []
    res = org.q(soql + " LIMIT 0")
    assert (res.total_size, res.records) == (0, [])
    assert org.q(soql + " LIMIT 2 OFFSET 1").total_size == 2


@pytest.mark.parametrize(("soql", "code", "needle"), [
    ("SELECT Id FROM User LIMIT -1", "MALFORMED_QUERY", "LIMIT must be a non-negative"),
    ("SELECT Id FROM User LIMIT 1.5", "MALFORMED_QUERY", "LIMIT must be a non-negative"),
    ("SELECT Id FROM User LIMIT", "MALFORMED_QUERY", "LIMIT must be a non-negative"),
    ("SELECT Id FROM User OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE",
     "Maximum SOQL offset allowed is 2000"),
    ("SELECT Id FROM User OFFSET 1 LIMIT 1", "MALFORMED_QUERY", "unexpected token: 'LIMIT'"),
    ("SELECT Id FROM User ORDER BY", "MALFORMED_QUERY", "unexpected end of query"),
    ("SELECT Id FROM User ORDER BY Username NULLS", "MALFORMED_QUERY", "unexpected end"),
    ("SELECT Id FROM User ORDER BY BadField", "INVALID_FIELD", "No such column 'BadField'"),
])
def test_order_limit_offset_errors(soql: str, code: str, needle: str) -> None:
    err = error_of(soql)
    assert err.error_code == code
    assert needle in err.message


# ---------------------------------------------------------------------------
# queryAll and index use


def test_include_deleted(org: Org) -> None:
    keep = org.src.add("Account", Name="keep")
    gone = org.src.add("Account", Name="gone")
    org.src.delete(gone)
    assert org.values("SELECT Id FROM Account") == [keep]
    res = org.q("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in res.records] == [(keep, None), (gone, True)]
    assert org.q(f"SELECT Id FROM Account WHERE Id = '{gone}'",
                 include_deleted=True).total_size == 1


def test_reference_conjunct_narrows_through_find(org: Org) -> None:
    org.src.find_calls.clear()
    soql = (f"SELECT Field FROM FieldPermissions WHERE ParentId IN ('{org.ps_sales}', "
            f"'{org.ps_sales[:15]}') AND PermissionsEdit = false")
    assert org.values(soql, "Field") == ["Account.Industry"]
    assert org.src.find_calls == [("FieldPermissions", "ParentId", [org.ps_sales])]
    org.src.indexed = False
    assert org.values(soql, "Field") == ["Account.Industry"]


def test_id_narrowing_returns_id_order(org: Org) -> None:
    org.src.find_calls.clear()
    assert org.values(f"SELECT Id FROM User WHERE Id IN ('{org.u_int2}', '{org.u_admin}')"
                      ) == [org.u_admin, org.u_int2]
    assert org.src.find_calls == [("User", "Id", [org.u_int2, org.u_admin])]


def test_large_table_with_parent_filter() -> None:
    """100,000 FieldPermissions rows: the shape the reconciler pages through."""
    src = FakeSource()
    owned = src.add("PermissionSet", Name="X00e", IsOwnedByProfile=True)
    mine = src.add("PermissionSet", Name="Mine", IsOwnedByProfile=False)
    for i in range(100_000):
        src.add("FieldPermissions", ParentId=owned if i % 4 == 0 else mine,
                SobjectType="Account", Field=f"Account.F{i}__c", PermissionsRead=True,
                PermissionsEdit=i % 2 == 0)
    query = parse("SELECT Id, Field, PermissionsEdit, Parent.Name FROM FieldPermissions "
                  "WHERE Parent.IsOwnedByProfile = false ORDER BY Field", CATALOG)
    res = execute(query, src, api_version=API)
    assert res.total_size == 75_000
    # Text order ("0" sorts before "_"); F10000 belongs to the profile's set.
    assert [r["Field"] for r in res.records[:2]] == ["Account.F10001__c", "Account.F10002__c"]
    assert res.records[0]["Parent"] == {"attributes": attrs("PermissionSet", mine),
                                        "Name": "Mine"}
    count = parse(f"SELECT COUNT() FROM FieldPermissions WHERE ParentId = '{owned}'", CATALOG)
    assert execute(count, src, api_version=API).total_size == 25_000


# ---------------------------------------------------------------------------
# Errors


def test_unknown_object_is_invalid_type() -> None:
    err = error_of("SELECT Id FROM Foo")
    assert err.error_code == "INVALID_TYPE"
    # Worded as real orgs do (shared/real-salesforce/errors.txt, the XYZZY query).
    assert err.message == (
        "\nSELECT Id FROM Foo\n               ^\nERROR at Row:1:Column:16\nsObject type 'Foo' "
        "is not supported. If you are attempting to use a custom object, be sure to append "
        "the '__c' after the entity name. Please reference your WSDL or the describe call "
        "for the appropriate names.")


@pytest.mark.parametrize(("soql", "needle"), [
    ("SELECT Foo FROM Account", "No such column 'Foo' on entity 'Account'."),
    ("SELECT Id FROM Account WHERE Foo = 'x'", "No such column 'Foo' on entity 'Account'."),
    ("SELECT Assignee FROM PermissionSetAssignment",
     "No such column 'Assignee' on entity 'PermissionSetAssignment'."),
    ("SELECT Assignee.Nope FROM PermissionSetAssignment", "No such column 'Nope' on entity "
     "'User'."),
    ("SELECT Nope.Name FROM PermissionSetAssignment",
     "Didn't understand relationship 'Nope' in field path."),
    ("SELECT AssigneeId.Name FROM PermissionSetAssignment",
     "Didn't understand relationship 'AssigneeId' in field path."),
    ("SELECT Id FROM User WHERE IsActive = 'true'", "value of filter criterion for field "
     "'IsActive' must be of type boolean and should not be enclosed in quotes"),
    ("SELECT Id FROM User WHERE Username = 5", "value of filter criterion for field "
     "'Username' must be of type string and should be enclosed in quotes"),
    ("SELECT Id FROM UserLicense WHERE TotalLicenses = '5'", "must be of type int"),
    ("SELECT Id FROM UserLicense WHERE TotalLicenses = true", "must be of type int"),
])
def test_invalid_field(soql: str, needle: str) -> None:
    err = error_of(soql)
    assert err.error_code == "INVALID_FIELD"
    assert needle in err.message


@pytest.mark.parametrize(("soql", "needle"), [
    ("SELECT Id FROM User GROUP BY Id", "GROUP BY is not supported by the emulator"),
    ("SELECT Id FROM User HAVING Id = null", "HAVING is not supported"),
    ("SELECT Id FROM User FOR UPDATE", "FOR UPDATE / FOR VIEW / FOR REFERENCE"),
    ("SELECT Id FROM User WITH SECURITY_ENFORCED", "WITH clauses"),
    ("SELECT Id FROM User USING SCOPE mine", "USING SCOPE is not supported"),
    ("SELECT Id FROM User UPDATE TRACKING", "UPDATE TRACKING"),
    ("SELECT TYPEOF What WHEN Account THEN Name END FROM Task", "TYPEOF is not supported"),
    ("SELECT FIELDS(ALL) FROM User", "function 'FIELDS()' is not supported"),
    ("SELECT toLabel(UserType) FROM User", "function 'toLabel()' is not supported"),
    ("SELECT Id FROM User WHERE CALENDAR_YEAR(CreatedDate) = 2026",
     "function 'CALENDAR_YEAR()' is not supported"),
    ("SELECT Id FROM User WHERE Username INCLUDES ('a')", "INCLUDES is not supported"),
    ("SELECT Id FROM User ALL ROWS", "ALL ROWS is Apex-only"),
    ("SELECT Id FROM User garbage", "unexpected token: 'garbage'"),
    ("SELECT Id FROM User WHERE Username = 'x' extra", "unexpected token: 'extra'"),
    ("SELECT Id FROM User u", "unexpected token: 'u'"),
    ("SELECT Id Username FROM User", "unexpected token: 'Username'"),
    ("SELECT Id, FROM User", "unexpected token: 'FROM'"),
    ("SELECT FROM User", "unexpected token: 'FROM'"),
    ("SELECT Id", "missing FROM clause"),
    ("SELECT Id FROM", "unexpected end of query"),
    ("Id FROM User", "unexpected token: 'Id'"),
    ("SELECT Id, Id FROM User", "duplicate field selected: Id"),
    ("SELECT Id FROM User WHERE", "unexpected end of query"),
    ("SELECT Id FROM User WHERE Username = :name", "bind variables"),
    ("SELECT Id FROM User WHERE Username = Email", "SOQL can't compare two fields"),
    ("SELECT Id FROM User WHERE Username = 'a' AND Email = 'b' OR Alias = 'c'",
     "unexpected token: 'OR' (mixing AND and OR needs parentheses)"),
    ("SELECT Id FROM User WHERE Username = 'a' OR Email = 'b' AND Alias = 'c'",
     "unexpected token: 'AND'"),
    ("SELECT Id FROM User WHERE Username = 'a' AND NOT Email = 'b'",
     "unexpected token: 'NOT'"),
    ("SELECT Id FROM User WHERE NOT Username = 'a' AND Email = 'b'", "ambiguous"),
    ("SELECT Id FROM User WHERE Username NOT LIKE 'a%'", "only NOT IN is infix"),
    ("SELECT Id FROM User WHERE Username LIKE 5", "LIKE needs a quoted string"),
    ("SELECT Id FROM User WHERE IsActive LIKE 'x'", "LIKE is only valid on text fields"),
    ("SELECT Id FROM User WHERE Id LIKE '005%'", "LIKE is only valid on text fields"),
    ("SELECT Id FROM User WHERE IsActive < true", "operator < is not valid on boolean"),
    ("SELECT Id FROM User WHERE Username > null", "null can only be compared with = or !="),
    ("SELECT Id FROM User WHERE Username IN ()", "unexpected token: ')'"),
    ("SELECT Id FROM User WHERE (Username = 'a'", "unexpected end of query"),
    ("SELECT Id FROM User WHERE Username = 'abc", "unterminated string literal"),
    ("SELECT Id FROM User WHERE Username = 'a\\qb'", "invalid escape sequence '\\q'"),
    ("SELECT Id FROM User WHERE Username = \"a\"", "unexpected character '\"'"),
    ("SELECT Id FROM User WHERE Username = 5abc", "invalid literal '5abc'"),
    ("SELECT Id FROM Account WHERE BillingAddress = null", "compound field"),
])
def test_malformed(soql: str, needle: str) -> None:
    err = error_of(soql)
    assert err.error_code == "MALFORMED_QUERY", err.message
    assert needle in err.message


def test_malformed_messages_give_the_position() -> None:
    err = error_of("SELECT Id\nFROM User\nWHERE Username = 'a' garbage")
    assert err.message == "unexpected token: 'garbage' (at Row:3:Column:22)"
    assert str(err) == "MALFORMED_QUERY: " + err.message


def test_objects_named_like_keywords(org: Org) -> None:
    acct = org.src.add("Account", Name="Acme")
    order = org.src.add("Order", AccountId=acct, Status="Draft", OrderNumber="00000100")
    assert org.values("SELECT Id, Account.Name FROM Order WHERE Status = 'draft' "
                      "ORDER BY OrderNumber") == [order]


def test_parsed_query_is_a_frozen_value() -> None:
    a = parse("SELECT Id FROM User WHERE IsActive = true", CATALOG)
    b = parse("select id from user where isactive = TRUE", CATALOG)
    assert isinstance(a, Query)
    assert a == b
    assert a.sobject == "User" and not a.count_only and not a.aggregate
    with pytest.raises(AttributeError):
        a.limit = 5  # type: ignore[misc]


def test_datetimes_sort_and_compare_chronologically_not_as_text(org: Org) -> None:
    # 08:00 UTC written with a +02:00 offset sorts before 09:00 UTC, unlike its text.
    east = org.src.add("Account", Name="east", CreatedDate="2026-01-01T10:00:00.000+0200")
    utc = org.src.add("Account", Name="utc", CreatedDate="2026-01-01T09:00:00.000+0000")
    naive = org.src.add("Account", Name="naive", CreatedDate="2026-01-01T08:30:00")
    assert org.values("SELECT Id FROM Account ORDER BY CreatedDate") == [east, naive, utc]
    assert org.values("SELECT Id FROM Account WHERE CreatedDate < 2026-01-01T08:30:00Z") == [
        east]
    a = org.src.add("Opportunity", Name="a", CloseDate="2026-10-01")
    b = org.src.add("Opportunity", Name="b", CloseDate="2026-09-30")
    assert org.values("SELECT Id FROM Opportunity ORDER BY CloseDate DESC") == [a, b]

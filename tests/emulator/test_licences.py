"""Licences as real orgs apply them: the API PSL, automatic PSL assignment and removal,
revoked assignments and managed-package sets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from reconciler.emulator import start_emulator
from tests.emulator.helpers import (
    api_psl_id,
    client,
    grant,
    make_set,
    make_user,
    one,
    sf_error,
)


def refused(call: Any, *args: Any) -> tuple[str, str]:
    with pytest.raises(SalesforceMalformedRequest) as err:
        call(*args)
    return sf_error(err.value)


def psls_of(sf: Salesforce, user: str) -> list[str]:
    return sorted(r["PermissionSetLicense"]["MasterLabel"] for r in sf.query(
        "SELECT PermissionSetLicense.MasterLabel FROM PermissionSetLicenseAssign "
        f"WHERE AssigneeId = '{user}'")["records"])


def used_api_psl_seats(sf: Salesforce) -> int:
    return int(one(sf, "SELECT UsedLicenses FROM PermissionSetLicense "
                       "WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'")["UsedLicenses"])


def assign(sf: Salesforce, user: str, ps: str) -> str:
    return str(sf.PermissionSetAssignment.create(
        {"AssigneeId": user, "PermissionSetId": ps})["id"])


def test_unlicensed_standard_object_set_needs_the_api_psl(sf: Salesforce) -> None:
    user = make_user(sf, "int@acme.example")
    plain = make_set(sf, "Plain_Std")
    grant(sf, plain, "Opportunity", Read=True)
    code, message = refused(sf.PermissionSetAssignment.create,
                            {"AssigneeId": user, "PermissionSetId": plain})
    assert (code, message) == (
        "FIELD_INTEGRITY_EXCEPTION",
        "Can't assign permission set Plain Std to user int@acme.example. The user license "
        "doesn't allow the permission: Read Opportunities")
    psla = sf.PermissionSetLicenseAssign.create(
        {"AssigneeId": user, "PermissionSetLicenseId": api_psl_id(sf)})["id"]
    assign(sf, user, plain)
    grant(sf, plain, "Account", Read=True, Edit=True)  # widening it is fine now too
    # ... and the PSL can't go while the set needs it
    code, message = refused(sf.PermissionSetLicenseAssign.delete, psla)
    assert code == "FIELD_INTEGRITY_EXCEPTION" and "(Plain_Std)" in message


def test_assigning_a_psl_licensed_set_assigns_the_psl_and_unassigning_removes_it(
        sf: Salesforce) -> None:
    user = make_user(sf, "int@acme.example")
    ps = make_set(sf, "Api_Std", api_psl_id(sf))
    grant(sf, ps, "Account", Read=True)
    psa = assign(sf, user, ps)
    assert psls_of(sf, user) == ["Salesforce API Integration"]
    assert used_api_psl_seats(sf) == 1
    audit = [r["Action"] for r in sf.query(
        "SELECT Action FROM SetupAuditTrail ORDER BY CreatedDate")["records"]]
    assert audit[-2:] == ["PermSetLicenseAssigned", "PermSetAssign"]
    sf.PermissionSetAssignment.delete(psa)
    assert psls_of(sf, user) == []
    assert used_api_psl_seats(sf) == 0


def test_automatic_psl_needs_a_free_seat_and_the_right_user_license(sf: Salesforce) -> None:
    ps = make_set(sf, "Api_Std", api_psl_id(sf))
    std = make_user(sf, "std@acme.example", "Standard User")
    code, message = refused(sf.PermissionSetAssignment.create,
                            {"AssigneeId": std, "PermissionSetId": ps})
    assert code == "FIELD_INTEGRITY_EXCEPTION"
    assert "can only be assigned to users with the Salesforce Integration" in message
    assert psls_of(sf, std) == []


def test_a_psl_assigned_by_hand_stays_when_its_set_goes(sf: Salesforce) -> None:
    user = make_user(sf, "int@acme.example")
    sf.PermissionSetLicenseAssign.create({"AssigneeId": user,
                                          "PermissionSetLicenseId": api_psl_id(sf)})
    psa = assign(sf, user, make_set(sf, "Api_Std", api_psl_id(sf)))
    sf.PermissionSetAssignment.delete(psa)
    assert psls_of(sf, user) == ["Salesforce API Integration"]


def test_an_automatic_psl_stays_while_another_set_needs_it(sf: Salesforce) -> None:
    user = make_user(sf, "int@acme.example")
    first = assign(sf, user, make_set(sf, "Api_One", api_psl_id(sf)))
    plain = make_set(sf, "Plain_Std")
    grant(sf, plain, "Account", Read=True)
    second = assign(sf, user, plain)  # no licence: needs the API PSL the first brought
    sf.PermissionSetAssignment.delete(first)
    assert psls_of(sf, user) == ["Salesforce API Integration"]
    sf.PermissionSetAssignment.delete(second)  # unrelated to the PSL's own set: stays
    assert psls_of(sf, user) == ["Salesforce API Integration"]


def test_a_group_brings_its_sets_psls_and_takes_them_away(sf: Salesforce) -> None:
    user = make_user(sf, "int@acme.example")
    group = sf.PermissionSetGroup.create({"DeveloperName": "G", "MasterLabel": "G"})["id"]
    sf.PermissionSetGroupComponent.create({
        "PermissionSetGroupId": group,
        "PermissionSetId": make_set(sf, "Api_Std", api_psl_id(sf))})
    psa = sf.PermissionSetAssignment.create({"AssigneeId": user,
                                             "PermissionSetGroupId": group})["id"]
    assert psls_of(sf, user) == ["Salesforce API Integration"]
    sf.PermissionSetAssignment.delete(psa)
    assert psls_of(sf, user) == []


def _many_sets_seed(n: int) -> dict[str, Any]:
    return {
        "permission_set_licenses": [{"developer_name": "Feature", "label": "Feature",
                                     "seats": 5}],
        "permission_sets": [{"name": "Licensed", "license": "Feature"}]
        + [{"name": f"Plain_{i}"} for i in range(n - 1)],
        "users": [{"username": "std@acme.example", "profile": "Standard User",
                   "permission_sets": ["Licensed"] + [f"Plain_{i}" for i in range(n - 1)]}],
    }


@pytest.fixture(params=[49, 50], ids=["49-at-once", "50-at-once"])
def many(request: pytest.FixtureRequest) -> Iterator[tuple[Salesforce, int]]:
    with start_emulator(None, _many_sets_seed(request.param)) as emu:
        yield client(emu), request.param


def test_fifty_unassignments_at_once_keep_the_automatic_psl(
        many: tuple[Salesforce, int]) -> None:
    sf, n = many
    user = one(sf, "SELECT Id FROM User WHERE Username = 'std@acme.example'")["Id"]
    assert psls_of(sf, user) == ["Feature"]  # the seed assigned it with its set
    ids = [r["Id"] for r in sf.query(
        "SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.IsOwnedByProfile = false "
        f"AND AssigneeId = '{user}'")["records"]]
    assert len(ids) == n
    results = sf.restful("composite/sobjects", method="DELETE",
                         params={"ids": ",".join(ids)})
    assert all(r["success"] for r in results)
    assert psls_of(sf, user) == ([] if n < 50 else ["Feature"])


SEED_REVOKED: dict[str, Any] = {
    "permission_sets": [{"name": "Revoked_Set"}],
    "users": [{"username": "int@acme.example",
               "profile": "Minimum Access - API Only Integrations",
               "revoked_permission_sets": ["Revoked_Set"]}],
}


def test_a_revoked_assignment_keeps_its_row() -> None:
    with start_emulator(None, SEED_REVOKED) as emu:
        sf = client(emu)
        row = one(sf, "SELECT Id, AssigneeId, PermissionSetId, IsRevoked FROM "
                      "PermissionSetAssignment WHERE PermissionSet.Name = 'Revoked_Set'")
        assert row["IsRevoked"] is True
        code, _ = refused(sf.PermissionSetAssignment.create,
                          {"AssigneeId": row["AssigneeId"],
                           "PermissionSetId": row["PermissionSetId"]})
        assert code == "DUPLICATE_VALUE"
        code, _ = refused(sf.PermissionSetAssignment.create,
                          {"AssigneeId": row["AssigneeId"], "PermissionSetId": make_set(
                              sf, "Other"), "IsRevoked": True})
        assert code == "INVALID_FIELD_FOR_INSERT_UPDATE"
        sf.PermissionSetAssignment.update(row["Id"], {"IsRevoked": False})
        assert one(sf, f"SELECT IsRevoked FROM PermissionSetAssignment "
                       f"WHERE Id = '{row['Id']}'")["IsRevoked"] is False


def test_a_managed_set_lives_in_its_namespace() -> None:
    seed = {"permission_sets": [{"name": "Foo", "label": "Managed Foo", "namespace": "acme"}]}
    with start_emulator(None, seed) as emu:
        sf = client(emu)
        make_set(sf, "Foo")
        code, _ = refused(make_set, sf, "FOO")
        assert code == "DUPLICATE_DEVELOPER_NAME"
        rows = sf.query("SELECT Label, NamespacePrefix FROM PermissionSet WHERE Name = 'Foo' "
                        "ORDER BY Label")["records"]
        assert [(r["Label"], r["NamespacePrefix"]) for r in rows] == [
            ("Foo", None), ("Managed Foo", "acme")]


def test_describe_gives_the_plural_label(sf: Salesforce) -> None:
    assert sf.Opportunity.describe()["labelPlural"] == "Opportunities"
    assert sf.Account.describe()["labelPlural"] == "Accounts"
    # The recorded describe's own plural, even where it is not English's rule.
    assert sf.OpportunityContactRole.describe()["labelPlural"] == "Opportunity Contact Role"

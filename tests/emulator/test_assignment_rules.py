"""Permission set and licence assignments as a client sees them: the whole error body of
each refusal, the fields of the rows made, the audit rows, and which licences an
assignment brings, keeps and lets go, read back through simple-salesforce."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import (
    api_psl_id,
    client,
    error_body,
    make_set,
    make_user,
    one,
    profile_id,
)

API_PSL = "Salesforce API Integration"
# A permission set licence besides the API one, for sets licensed to something else.
SEED: dict[str, Any] = {
    "permission_set_licenses": [{"developer_name": "Feature", "label": "Feature", "seats": 5}]}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with start_emulator(None, SEED) as emulator:
        yield emulator


@pytest.fixture
def sf(emu: Emulator) -> Salesforce:
    return client(emu)


def assign(sf: Salesforce, user: str, **target: str) -> str:
    return str(sf.PermissionSetAssignment.create({"AssigneeId": user, **target})["id"])


def group(sf: Salesforce, label: str) -> str:
    return str(sf.PermissionSetGroup.create(
        {"DeveloperName": label.replace(" ", "_"), "MasterLabel": label})["id"])


def psls_of(sf: Salesforce, user: str) -> list[str]:
    return sorted(r["PermissionSetLicense"]["MasterLabel"] for r in sf.query(
        "SELECT PermissionSetLicense.MasterLabel FROM PermissionSetLicenseAssign "
        f"WHERE AssigneeId = '{user}'")["records"])


def psla_of(sf: Salesforce, user: str, psl: str) -> dict[str, Any]:
    return one(sf, "SELECT Id, CreatedById, LastModifiedById FROM PermissionSetLicenseAssign "
                   f"WHERE AssigneeId = '{user}' AND PermissionSetLicenseId = '{psl}'")


def test_a_group_assignment_names_the_group_or_its_own_set_only(sf: Salesforce) -> None:
    user = make_user(sf, "std@acme.example", "Standard User")
    ops = group(sf, "Ops")
    other = make_set(sf, "Other")
    assert error_body(assign, sf, user, PermissionSetGroupId=ops, PermissionSetId=other) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION",
        "fields": ["PermissionSetId", "PermissionSetGroupId"],
        "message": "Specify either a permission set or a permission set group, not both."}]
    # The group's own aggregate set may be named beside it.
    aggregate = one(sf, f"SELECT Id FROM PermissionSet WHERE PermissionSetGroupId = '{ops}'")
    made = assign(sf, user, PermissionSetGroupId=ops, PermissionSetId=aggregate["Id"])
    row = one(sf, "SELECT PermissionSetId, PermissionSetGroupId FROM PermissionSetAssignment "
                  f"WHERE Id = '{made}'")
    assert (row["PermissionSetId"], row["PermissionSetGroupId"]) == (aggregate["Id"], ops)
    assert error_body(assign, sf, user, PermissionSetGroupId=ops) == [{
        "errorCode": "DUPLICATE_VALUE", "fields": [],
        "message": f"Duplicate PermissionSetAssignment. Assignee: {user}; Permission Set: {ops}"}]


def test_a_set_assignment_needs_a_set_is_active_and_is_made_once(sf: Salesforce) -> None:
    user = make_user(sf, "std@acme.example", "Standard User")
    assert error_body(assign, sf, user) == [{
        "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["PermissionSetId"],
        "message": "Required fields are missing: [PermissionSetId]"}]
    reader = make_set(sf, "Reader")
    made = assign(sf, user, PermissionSetId=reader)
    assert one(sf, f"SELECT IsActive FROM PermissionSetAssignment WHERE Id = '{made}'")[
        "IsActive"] is True
    assert error_body(assign, sf, user, PermissionSetId=reader) == [{
        "errorCode": "DUPLICATE_VALUE", "fields": [],
        "message": f"Duplicate PermissionSetAssignment. Assignee: {user}; "
                   f"Permission Set: {reader}"}]
    # Its expiry date may change (doc-reference-v65: ExpirationDate is updateable).
    assert sf.PermissionSetAssignment.update(
        made, {"ExpirationDate": "2031-01-31T00:00:00.000+0000"}) == 204
    assert one(sf, f"SELECT ExpirationDate FROM PermissionSetAssignment WHERE Id = '{made}'")[
        "ExpirationDate"].startswith("2031-01-31T00:00:00")


def test_a_profiles_own_set_is_neither_assigned_nor_unassigned_by_hand(
        sf: Salesforce) -> None:
    user = make_user(sf, "std@acme.example", "Standard User")
    owned = one(sf, "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND "
                    f"ProfileId = '{profile_id(sf, 'Minimum Access - Salesforce')}'")["Id"]
    assert error_body(assign, sf, user, PermissionSetId=owned) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [],
        "message": "You can't assign this permission set because it's owned by a profile."}]
    own = one(sf, f"SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{user}'")["Id"]
    assert error_body(sf.PermissionSetAssignment.delete, own) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [],
        "message": "You can't unassign a permission set that's owned by a profile."}]


def test_assigning_and_unassigning_a_set_or_a_group_are_audited(sf: Salesforce) -> None:
    user = make_user(sf, "ann@acme.example", "Standard User", FirstName="Ann")
    reader = make_set(sf, "Reports_Reader")
    ops = group(sf, "Ops Team")
    # Renamed after it was made: the rows name the group as it is called now.
    sf.PermissionSetGroup.update(ops, {"MasterLabel": "Operations"})
    direct = assign(sf, user, PermissionSetId=reader)
    through_group = assign(sf, user, PermissionSetGroupId=ops)
    sf.PermissionSetAssignment.delete(direct)
    sf.PermissionSetAssignment.delete(through_group)
    rows = sf.query_all("SELECT Action, Section, Display FROM SetupAuditTrail "
                        "ORDER BY CreatedDate")["records"]
    assert [(r["Action"], r["Display"]) for r in rows
            if r["Section"] == "Manage Users" and "Ann ann" in r["Display"]] == [
        ("createduser", "Created new user Ann ann"),
        ("PermSetAssign", "Permission set Reports Reader: assigned to user Ann ann"),
        ("PermSetGroupAssign", "Permission set group Operations: assigned to user Ann ann"),
        ("PermSetUnassign", "Permission set Reports Reader: unassigned from user Ann ann"),
        ("PermSetGroupUnassign",
         "Permission set group Operations: unassigned from user Ann ann"),
    ]


def test_the_api_licence_is_refused_to_a_user_of_another_licence(sf: Salesforce) -> None:
    user = make_user(sf, "std@acme.example", "Standard User")
    assert error_body(sf.PermissionSetLicenseAssign.create,
                      {"AssigneeId": user, "PermissionSetLicenseId": api_psl_id(sf)}) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [],
        "message": "The permission set license Salesforce API Integration can only be "
                   "assigned to users with the Salesforce Integration user license; "
                   "std@acme.example has Salesforce."}]


def test_an_automatic_licence_goes_with_its_holders_last_active_need_only(
        emu: Emulator, sf: Salesforce) -> None:
    """Each user's automatic licence is their own: made by whoever assigned the set, it
    goes when that user's last assignment needing it goes, and a revoked assignment
    (which grants nothing) needs none."""
    me = one(sf, f"SELECT Id FROM User WHERE Username = '{emu.credentials()['username']}'")
    api_std = make_set(sf, "Api_Std", api_psl_id(sf))
    first, second = (make_user(sf, f"{n}@acme.example") for n in ("first", "second"))
    unassigned = assign(sf, first, PermissionSetId=api_std)
    revoked = assign(sf, second, PermissionSetId=api_std)
    made = psla_of(sf, first, api_psl_id(sf))
    assert (made["CreatedById"], made["LastModifiedById"]) == (me["Id"], me["Id"])
    sf.PermissionSetAssignment.update(revoked, {"IsRevoked": True})
    sf.PermissionSetAssignment.delete(unassigned)
    assert (psls_of(sf, first), psls_of(sf, second)) == ([], [API_PSL])
    assert sf.PermissionSetLicenseAssign.delete(psla_of(sf, second, api_psl_id(sf))["Id"]) == 204
    assert psls_of(sf, second) == []


def test_a_licence_stays_while_a_group_holds_a_set_licensed_to_it(sf: Salesforce) -> None:
    user = make_user(sf, "int@acme.example")
    ops = group(sf, "Ops")
    sf.PermissionSetGroupComponent.create(
        {"PermissionSetGroupId": ops, "PermissionSetId": make_set(sf, "Api_Std", api_psl_id(sf))})
    assign(sf, user, PermissionSetGroupId=ops)
    assert error_body(sf.PermissionSetLicenseAssign.delete,
                      psla_of(sf, user, api_psl_id(sf))["Id"]) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [],
        "message": "Can't remove the permission set license Salesforce API Integration from "
                   "user int@acme.example: assigned permission sets need it (Api_Std). "
                   "Remove those assignments first."}]


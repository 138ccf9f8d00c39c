"""Object and field permission rules as real orgs apply them, through simple-salesforce:
dependencies across objects, activities, formula and auto-number fields."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import client, grant, make_set, sf_error, token

SEED: dict[str, Any] = {
    "custom_objects": [
        {"name": "Invoice__c", "label": "Invoice",
         "fields": {"Amount__c": "currency",
                    "Total__c": {"type": "formula", "returns": "currency"},
                    "Number__c": "autonumber"}},
        {"name": "Invoice_Line__c", "label": "Invoice Line",
         "fields": {"Invoice__c": {"type": "masterdetail", "reference_to": "Invoice__c"}}},
    ],
    "custom_fields": {"Task": {"Channel__c": "text"}},
    "users": [{"username": "rep@acme.example", "last_name": "Rep", "profile": "Standard User",
               "password": "rep-pass-12"},
              {"username": "plain@acme.example", "last_name": "Plain",
               "profile": "Minimum Access - Salesforce", "password": "plain-pass-1"}],
}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(tmp_path / "org", SEED) as emulator:
        yield emulator


def refused(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(SalesforceMalformedRequest) as err:
        call(*args, **kwargs)
    return sf_error(err.value)


def rows(sf: Salesforce, sobject: str, ps: str) -> dict[str, dict[str, Any]]:
    key = "Field" if sobject == "FieldPermissions" else "SobjectType"
    flags = ("PermissionsRead, PermissionsEdit" if sobject == "FieldPermissions"
             else "PermissionsRead, PermissionsViewAllRecords")
    got = sf.query(f"SELECT {key}, {flags} FROM {sobject} WHERE ParentId = '{ps}'")["records"]
    return {r[key]: r for r in got}


def test_contract_access_needs_read_on_account(sf: Salesforce) -> None:
    ps = make_set(sf, "Contracts")
    code, message = refused(grant, sf, ps, "Contract", Read=True, Create=True)
    assert code == "FIELD_INTEGRITY_EXCEPTION"
    assert message == ("Permission Read Contracts depends on permission(s): Read Accounts; "
                       "Permission Create Contracts depends on permission(s): Read Accounts")
    grant(sf, ps, "Account", Read=True)
    grant(sf, ps, "Contract", Read=True, Create=True)
    assert set(rows(sf, "ObjectPermissions", ps)) == {"Account", "Contract"}


def test_view_all_on_contract_and_asset_needs_view_all_on_account(sf: Salesforce) -> None:
    ps = make_set(sf, "ViewAll")
    grant(sf, ps, "Account", Read=True)
    code, message = refused(grant, sf, ps, "Asset", Read=True, ViewAllRecords=True)
    assert (code, message) == ("FIELD_INTEGRITY_EXCEPTION",
                               "Permission Read All Assets depends on permission(s): "
                               "Read All Accounts")
    contract = grant(sf, ps, "Contract", Read=True)
    code, message = refused(sf.ObjectPermissions.update, contract,
                            {"PermissionsViewAllRecords": True})
    assert message == ("Permission Read All Contracts depends on permission(s): "
                       "Read All Accounts")


def test_a_prerequisite_stays_while_a_dependent_remains(sf: Salesforce) -> None:
    ps = make_set(sf, "Teardown")
    account = grant(sf, ps, "Account", Read=True, ViewAllRecords=True)
    contract = grant(sf, ps, "Contract", Read=True, ViewAllRecords=True)
    code, message = refused(sf.ObjectPermissions.update, account,
                            {"PermissionsViewAllRecords": False})
    assert (code, message) == ("FIELD_INTEGRITY_EXCEPTION",
                               "Permission Read All Contracts depends on permission(s): "
                               "Read All Accounts")
    code, message = refused(sf.ObjectPermissions.delete, account)
    assert message == ("Permission Read Contracts depends on permission(s): Read Accounts; "
                       "Permission Read All Contracts depends on permission(s): "
                       "Read All Accounts")
    # Dependents first, then the prerequisite: accepted.
    sf.ObjectPermissions.delete(contract)
    sf.ObjectPermissions.delete(account)
    assert rows(sf, "ObjectPermissions", ps) == {}


def test_a_detail_object_needs_its_master(emu: Emulator, sf: Salesforce) -> None:
    field = next(f for f in sf.Invoice_Line__c.describe()["fields"]
                 if f["name"] == "Invoice__c")
    assert (field["referenceTo"], field["cascadeDelete"], field["relationshipOrder"],
            field["permissionable"]) == (["Invoice__c"], True, 0, False)
    ps = make_set(sf, "Lines")
    code, message = refused(grant, sf, ps, "Invoice_Line__c", Read=True)
    assert (code, message) == ("FIELD_INTEGRITY_EXCEPTION",
                               "Permission Read Invoice_Line__c depends on permission(s): "
                               "Read Invoice__c")
    grant(sf, ps, "Invoice__c", Read=True)
    line = grant(sf, ps, "Invoice_Line__c", Read=True)
    code, message = refused(sf.ObjectPermissions.update, line,
                            {"PermissionsViewAllRecords": True})
    assert message == ("Permission Read All Invoice_Line__c depends on permission(s): "
                       "Read All Invoice__c")


def test_task_and_event_take_no_object_permissions(sf: Salesforce) -> None:
    ps = make_set(sf, "Activities")
    for sobject in ("Task", "Event"):
        code, message = refused(grant, sf, ps, sobject, Read=True)
        assert (code, message) == (
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Sobject Type Name: bad value for restricted picklist field: {sobject}")


def test_activity_writes_follow_edit_tasks_not_object_permissions(emu: Emulator) -> None:
    creds = emu.credentials()

    def as_user(username: str, password: str) -> Salesforce:
        return client(emu, token(emu, grant_type="password", client_id=creds["client_id"],
                                 client_secret=creds["client_secret"], username=username,
                                 password=password))

    rep = as_user("rep@acme.example", "rep-pass-12")  # Standard User: Edit Tasks
    assert rep.Task.create({"Subject": "Call back"})["success"]
    plain = as_user("plain@acme.example", "plain-pass-1")
    code, message = refused(plain.Task.create, {"Subject": "Call back"})
    assert (code, message) == ("INSUFFICIENT_ACCESS_OR_READONLY",
                               "insufficient access rights on object: create Task")


def test_activity_custom_field_permissions_are_mirrored(sf: Salesforce) -> None:
    assert "Channel__c" in {f["name"] for f in sf.Event.describe()["fields"]}
    ps = make_set(sf, "Mirrored")
    row = sf.FieldPermissions.create({"ParentId": ps, "SobjectType": "Task",
                                      "Field": "Task.Channel__c", "PermissionsRead": True})["id"]
    got = rows(sf, "FieldPermissions", ps)
    assert {k: v["PermissionsEdit"] for k, v in got.items()} == {
        "Task.Channel__c": False, "Event.Channel__c": False}
    sf.FieldPermissions.update(row, {"PermissionsEdit": True})
    assert {k: v["PermissionsEdit"] for k, v in rows(sf, "FieldPermissions", ps).items()} == {
        "Task.Channel__c": True, "Event.Channel__c": True}
    # Either side of the pair changes both.
    event_row = sf.query(f"SELECT Id FROM FieldPermissions WHERE ParentId = '{ps}' "
                         "AND Field = 'Event.Channel__c'")["records"][0]["Id"]
    sf.FieldPermissions.delete(event_row)
    assert rows(sf, "FieldPermissions", ps) == {}
    # A standard field of an activity is not shared.
    sf.FieldPermissions.create({"ParentId": ps, "SobjectType": "Task",
                                "Field": "Task.Subject", "PermissionsRead": True})
    assert set(rows(sf, "FieldPermissions", ps)) == {"Task.Subject"}


def test_formula_and_auto_number_fields_take_read_only(sf: Salesforce) -> None:
    described = {f["name"]: f for f in sf.Invoice__c.describe()["fields"]}
    assert (described["Total__c"]["calculated"], described["Total__c"]["type"]) == (
        True, "currency")
    assert described["Number__c"]["autoNumber"] is True
    ps = make_set(sf, "ReadOnly")
    for name, kind in (("Total__c", "a formula"), ("Number__c", "an auto-number")):
        field = f"Invoice__c.{name}"
        row = sf.FieldPermissions.create({"ParentId": ps, "SobjectType": "Invoice__c",
                                          "Field": field, "PermissionsRead": True})["id"]
        code, message = refused(sf.FieldPermissions.update, row, {"PermissionsEdit": True})
        assert (code, message) == ("FIELD_INTEGRITY_EXCEPTION",
                                   f"Permission Edit {field}: {kind} field is read-only; "
                                   "only Read can be granted")
    # A master-detail field is required: it takes no field permission at all.
    code, _ = refused(sf.FieldPermissions.create, {
        "ParentId": ps, "SobjectType": "Invoice_Line__c", "Field": "Invoice_Line__c.Invoice__c",
        "PermissionsRead": True})
    assert code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"

"""Setup entities (Apex classes, Visualforce pages, custom permissions, connected apps,
apps) and a permission set's access to them (SetupEntityAccess), through
simple-salesforce over HTTPS as a client sees them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from reconciler.emulator import Emulator, start_emulator
from reconciler.emulator.errors import LocalOrgError
from tests.emulator.helpers import client, make_set, make_user, one, sf_error

SEED: dict[str, Any] = {
    "connected_apps": [{"name": "Orders Integration", "admin_approved_users_only": True},
                       "Billing Sync"],
    "apex_classes": ["OrderService", "acme__Helper"],
    "visualforce_pages": [{"name": "InvoicePdf", "label": "Invoice PDF"}],
    "custom_permissions": ["Bypass_Validation", {"name": "Export", "namespace": "acme"}],
    "apps": [{"name": "Sales_Console", "label": "Sales Console"}],
    "permission_sets": [{"name": "Seeded", "label": "Seeded",
                         "connected_apps": ["Orders Integration"],
                         "apex_classes": ["acme__Helper"],
                         "visualforce_pages": ["InvoicePdf"],
                         "custom_permissions": ["acme__Export"],
                         "apps": ["Sales_Console"]}],
    "permission_set_groups": [{"name": "Grouped", "permission_sets": ["Seeded"]}],
}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with start_emulator(None, SEED) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def sf(emu: Emulator) -> Salesforce:
    return client(emu)


def _entities(sf: Salesforce) -> dict[str, str]:
    """Each seeded entity's Id by its kind and name."""
    out = {}
    for sobject, name in (("ApexClass", "Name"), ("ApexPage", "Name"),
                          ("CustomPermission", "DeveloperName"),
                          ("ConnectedApplication", "Name")):
        for rec in sf.query(f"SELECT Id, {name} FROM {sobject}")["records"]:
            out[f"{sobject}:{rec[name]}"] = rec["Id"]
    for rec in sf.query("SELECT ApplicationId, Name FROM AppMenuItem "
                        "WHERE Type = 'TabSet'")["records"]:
        out[f"TabSet:{rec['Name']}"] = rec["ApplicationId"]
    return out


def _refused(call: Any, *args: Any) -> tuple[str, str]:
    with pytest.raises(SalesforceError) as info:
        call(*args)
    return sf_error(info.value)


def test_each_kind_has_its_real_key_prefix_and_is_read_by_name(sf: Salesforce) -> None:
    ids = _entities(sf)
    assert {key: value[:3] for key, value in ids.items()} == {
        "ApexClass:OrderService": "01p", "ApexClass:Helper": "01p",
        "ApexPage:InvoicePdf": "066",
        "CustomPermission:Bypass_Validation": "0CF", "CustomPermission:Export": "0CF",
        "ConnectedApplication:Reconciler Local": "0H4",
        "ConnectedApplication:Orders Integration": "0H4",
        "ConnectedApplication:Billing Sync": "0H4",
        "TabSet:Sales_Console": "02u",
    }
    helper = one(sf, "SELECT Id, Name, NamespacePrefix FROM ApexClass "
                     "WHERE NamespacePrefix = 'acme'")
    assert (helper["Name"], helper["NamespacePrefix"]) == ("Helper", "acme")
    page = one(sf, f"SELECT Name, MasterLabel, NamespacePrefix FROM ApexPage "
                   f"WHERE Id IN ('{ids['ApexPage:InvoicePdf']}')")
    assert (page["Name"], page["MasterLabel"], page["NamespacePrefix"]) == (
        "InvoicePdf", "Invoice PDF", None)
    app = one(sf, "SELECT Id, Label, NamespacePrefix, Type, IsVisible FROM AppMenuItem")
    assert (app["Id"][:3], app["Label"], app["Type"], app["IsVisible"]) == (
        "0DS", "Sales Console", "TabSet", True)
    connected = one(sf, "SELECT OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication "
                        "WHERE Name = 'Orders Integration'")
    assert connected["OptionsAllowAdminApprovedUsersOnly"] is True


def test_entities_are_deployed_not_created_through_the_api(sf: Salesforce) -> None:
    for sobject, values in (("ApexClass", {"Name": "Sneaky"}),
                            ("ApexPage", {"Name": "Sneaky", "MasterLabel": "Sneaky"}),
                            ("CustomPermission", {"DeveloperName": "Sneaky"}),
                            ("ConnectedApplication", {"Name": "Sneaky"})):
        code, _ = _refused(getattr(sf, sobject).create, values)
        assert code == "INVALID_TYPE_FOR_OPERATION", sobject
    # The app itself is not a data-API object: clients read its AppMenuItem.
    code, _ = _refused(sf.query, "SELECT Id FROM CustomApplication")
    assert code == "INVALID_TYPE"


def test_a_set_gets_access_to_each_kind_and_each_row_tells_its_type(sf: Salesforce) -> None:
    ids = _entities(sf)
    ps = make_set(sf, "Every_Kind")
    wanted = {"ApexClass:OrderService": "ApexClass", "ApexPage:InvoicePdf": "ApexPage",
              "CustomPermission:Bypass_Validation": "CustomPermission",
              "ConnectedApplication:Orders Integration": "ConnectedApplication",
              "TabSet:Sales_Console": "TabSet"}
    for key in wanted:
        sf.SetupEntityAccess.create({"ParentId": ps, "SetupEntityId": ids[key]})
    rows = sf.query("SELECT Id, ParentId, SetupEntityId, SetupEntityType FROM "
                    f"SetupEntityAccess WHERE ParentId IN ('{ps}')")["records"]
    assert {(r["SetupEntityId"], r["SetupEntityType"]) for r in rows} == {
        (ids[key], kind) for key, kind in wanted.items()}
    classes = sf.query(f"SELECT SetupEntityId FROM SetupEntityAccess WHERE ParentId = '{ps}' "
                       "AND SetupEntityType = 'ApexClass'")["records"]
    assert [r["SetupEntityId"] for r in classes] == [ids["ApexClass:OrderService"]]
    named = one(sf, "SELECT Id, Name, NamespacePrefix FROM ApexClass "
                    f"WHERE Id IN ('{classes[0]['SetupEntityId']}')")
    assert named["Name"] == "OrderService"
    # SetupEntityType is the platform's to set.
    code, _ = _refused(sf.SetupEntityAccess.create, {
        "ParentId": ps, "SetupEntityId": ids["ApexPage:InvoicePdf"],
        "SetupEntityType": "ApexPage"})
    assert code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_an_id_that_is_no_setup_entity_is_refused(sf: Salesforce) -> None:
    ps = make_set(sf, "Bad_Targets")
    user = make_user(sf, "target@acme.example")
    missing_class = "01p" + "0" * 9 + "ZZZ"
    for target in (user, ps, missing_class):
        code, message = _refused(sf.SetupEntityAccess.create,
                                 {"ParentId": ps, "SetupEntityId": target})
        assert (code, message) == ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    code, _ = _refused(sf.SetupEntityAccess.create, {"ParentId": ps, "SetupEntityId": "nope"})
    assert code == "MALFORMED_ID"
    assert sf.query(f"SELECT Id FROM SetupEntityAccess WHERE ParentId = '{ps}'")[
        "totalSize"] == 0


def test_the_same_access_twice_is_a_duplicate(sf: Salesforce) -> None:
    ids = _entities(sf)
    ps = make_set(sf, "Twice")
    first = sf.SetupEntityAccess.create({"ParentId": ps,
                                         "SetupEntityId": ids["ApexClass:OrderService"]})
    with pytest.raises(SalesforceError) as info:
        sf.SetupEntityAccess.create({"ParentId": ps,
                                     "SetupEntityId": ids["ApexClass:OrderService"]})
    assert info.value.content == [{
        "errorCode": "DUPLICATE_VALUE", "fields": [],
        "message": "duplicate value found: SetupEntityId duplicates value on record with id: "
                   + first["id"]}]


def test_a_group_owned_set_takes_no_access_of_its_own(sf: Salesforce) -> None:
    ids = _entities(sf)
    group = one(sf, "SELECT Id FROM PermissionSetGroup WHERE DeveloperName = 'Grouped'")
    aggregate = one(sf, "SELECT Id FROM PermissionSet "
                        f"WHERE PermissionSetGroupId = '{group['Id']}'")
    code, message = _refused(sf.SetupEntityAccess.create,
                             {"ParentId": aggregate["Id"],
                        "SetupEntityId": ids["ApexClass:OrderService"]})
    assert (code, message) == (
        "FIELD_INTEGRITY_EXCEPTION",
        "You can't edit this permission set because it's owned by a permission set group.")


def test_access_is_granted_and_removed_with_audit_rows(emu: Emulator,
                                                      sf: Salesforce) -> None:
    ids = _entities(sf)
    ps = make_set(sf, "Audited")
    row = sf.SetupEntityAccess.create({"ParentId": ps,
                                       "SetupEntityId": ids["CustomPermission:Export"]})
    sf.SetupEntityAccess.delete(row["id"])
    assert sf.query(f"SELECT Id FROM SetupEntityAccess WHERE ParentId = '{ps}'")[
        "totalSize"] == 0
    audit = sf.query("SELECT Action, Section, Display, CreatedBy.Username FROM "
                     "SetupAuditTrail WHERE Action LIKE 'PermSetSetupEntity%' "
                     "ORDER BY CreatedDate")["records"]
    displays = [(r["Action"], r["Section"], r["Display"]) for r in audit
                if "Audited" in r["Display"]]
    assert displays == [
        ("PermSetSetupEntityAdded", "Permission Sets",
         "Permission set Audited: added access to CustomPermission acme__Export"),
        ("PermSetSetupEntityRemoved", "Permission Sets",
         "Permission set Audited: removed access to CustomPermission acme__Export"),
    ]
    assert {r["CreatedBy"]["Username"] for r in audit} == {emu.credentials()["username"]}


def test_a_seeded_set_holds_the_access_it_lists(sf: Salesforce) -> None:
    ids = _entities(sf)
    ps = one(sf, "SELECT Id FROM PermissionSet WHERE Name = 'Seeded'")
    rows = sf.query("SELECT SetupEntityId, SetupEntityType FROM SetupEntityAccess "
                    f"WHERE ParentId = '{ps['Id']}'")["records"]
    assert {(r["SetupEntityType"], r["SetupEntityId"]) for r in rows} == {
        ("ConnectedApplication", ids["ConnectedApplication:Orders Integration"]),
        ("ApexClass", ids["ApexClass:Helper"]), ("ApexPage", ids["ApexPage:InvoicePdf"]),
        ("CustomPermission", ids["CustomPermission:Export"]),
        ("TabSet", ids["TabSet:Sales_Console"])}


@pytest.mark.parametrize("key", ["apex_classes", "visualforce_pages", "custom_permissions",
                                 "apps", "connected_apps"])
def test_a_seeded_set_naming_an_unknown_entity_is_refused(key: str) -> None:
    seed = {"permission_sets": [{"name": "Lost", "label": "Lost", key: ["Nowhere"]}]}
    with pytest.raises(LocalOrgError, match=r"unknown .*'Nowhere'"), \
            start_emulator(None, seed):
        pass

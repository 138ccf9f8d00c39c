"""`reconciler access`: a user's effective access and the path granting each right,
through the CLI against the emulator over HTTPS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import start_emulator
from tests.emulator.helpers import INTEGRATION_PROFILE, grant, make_set, make_user, one
from tests.orgdir import INVOICE_SEED, Org

USER = "mulesoft@acme.example"
CONFIG = """\
permission_sets:
  INT_Standard:
    label: Standard
    license: Salesforce API Integration
    system_permissions: [ApiEnabled]
    objects:
      Account: [create, edit]
    fields:
      Account.Industry: [edit]
  INT_Invoices:
    label: Invoices
    objects:
      Invoice__c: [modify_all]
  INT_Readers:
    label: Readers
    objects:
      Invoice__c: [read]
    fields:
      Invoice__c.Amount__c: [read]
permission_set_groups:
  INT_Bundle:
    label: Bundle
    permission_sets: [INT_Invoices, INT_Readers]
users:
  mulesoft:
    username: mulesoft@acme.example
    last_name: Integration
    email: mulesoft@acme.example
    profile: Minimum Access - API Only Integrations
    permission_set_licenses: [Salesforce API Integration]
    permission_sets: [INT_Standard]
    permission_set_groups: [INT_Bundle]
  reader:
    username: reader@acme.example
    last_name: Reader
    email: reader@acme.example
    profile: Minimum Access - API Only Integrations
    permission_sets: [INT_Readers]
"""


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    root = tmp_path_factory.mktemp("access")
    with start_emulator(root / "data", INVOICE_SEED) as emu:
        org = Org(emu, root)
        org.write("main.yaml", CONFIG)
        applied = org.run("apply", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        # The profile's own permission set grants something too (out of band, as an
        # admin editing the profile would).
        own = one(org.sf, "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND "
                          f"Profile.Name = '{INTEGRATION_PROFILE}'")
        grant(org.sf, own["Id"], "Invoice__c", Read=True)
        app = one(org.sf, "SELECT Id FROM ConnectedApplication WHERE Name = 'Reconciler Local'")
        org.sf.SetupEntityAccess.create({"ParentId": own["Id"], "SetupEntityId": app["Id"]})
        yield org


def _json(org: Org, *args: str) -> dict[str, Any]:
    result = org.run("access", *args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


PROFILE = {"profile": INTEGRATION_PROFILE}


def test_each_right_comes_with_every_path_granting_it(org: Org) -> None:
    data = _json(org, USER)
    invoice = data["objects"]["Invoice__c"]
    # modify_all implies read, edit, delete and view_all, by the group's member only.
    assert sorted(invoice) == ["delete", "edit", "modify_all", "read", "view_all"]
    assert invoice["read"] == [PROFILE,
                               {"group": "INT_Bundle", "permission_set": "INT_Invoices"},
                               {"group": "INT_Bundle", "permission_set": "INT_Readers"}]
    assert invoice["edit"] == [{"group": "INT_Bundle", "permission_set": "INT_Invoices"}]
    assert "create" not in invoice
    # edit implies read, on objects and on fields.
    assert data["objects"]["Account"] == {
        w: [{"permission_set": "INT_Standard"}] for w in ("read", "create", "edit")}
    assert data["fields"]["Account.Industry"] == {
        w: [{"permission_set": "INT_Standard"}] for w in ("read", "edit")}
    # The API-only profile grants API Enabled itself.
    assert data["system_permissions"]["ApiEnabled"] == [PROFILE,
                                                        {"permission_set": "INT_Standard"}]
    assert data["setup_entities"] == [{"type": "ConnectedApplication",
                                       "name": "Reconciler Local", "via": [PROFILE]}]
    assert data["api_calls"] > 0


def test_text_answer_names_the_paths_and_the_calls(org: Org) -> None:
    result = org.run("access", USER, "--object", "Invoice__c")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  Invoice__c: read edit delete view_all modify_all" in lines
    assert (f"    read       profile {INTEGRATION_PROFILE}; group INT_Bundle → INT_Invoices; "
            "group INT_Bundle → INT_Readers") in lines
    assert "  Invoice__c.Amount__c: read" in lines
    assert "Account" not in result.output
    assert "System permissions" not in result.output
    assert result.output.rstrip().endswith("API calls.")


def test_field_option_narrows_to_one_field(org: Org) -> None:
    data = _json(org, USER, "--field", "account.industry")
    assert data["objects"] == {} and data["system_permissions"] == {}
    assert list(data["fields"]) == ["Account.Industry"]


def test_who_lists_the_users_in_scope_holding_a_right(org: Org) -> None:
    read = _json(org, "--who", "Invoice__c.Amount__c:read")
    assert [h["user"] for h in read["holders"]] == [USER, "reader@acme.example"]
    assert read["holders"][1]["via"] == [{"permission_set": "INT_Readers"}]
    assert read["users_in_scope"] == 2
    delete = org.run("access", "--who", "Invoice__c:delete")
    assert delete.exit_code == 0, delete.output
    assert f"1 of 2 users in scope hold Invoice__c:delete:\n  {USER}  group INT_Bundle → " \
           "INT_Invoices" in delete.output
    nobody = org.run("access", "--who", "ModifyAllData")
    assert "None of the 2 users in scope hold ModifyAllData." in nobody.output
    app = _json(org, "--who", "connected_apps:Reconciler Local")
    assert [(h["user"], h["via"]) for h in app["holders"]] == [
        (USER, [PROFILE]), ("reader@acme.example", [PROFILE])]
    api = _json(org, "--who", "PermissionsApiEnabled")
    assert [(h["user"], h["via"]) for h in api["holders"]] == [
        (USER, [PROFILE, {"permission_set": "INT_Standard"}]),
        ("reader@acme.example", [PROFILE])]


def test_planned_answers_for_the_org_the_plan_leaves(org: Org) -> None:
    org.write("main.yaml", CONFIG.replace("Invoice__c: [modify_all]", "Invoice__c: [edit]")
              .replace("permission_sets: [INT_Readers]\n",
                       "permission_sets: [INT_Readers, INT_Invoices]\n"))
    try:
        saved = org.run("plan", "--out", str(org.root / "change.plan.json"))
        assert saved.exit_code == 0, saved.output
        before = _json(org, "--who", "Invoice__c:delete")
        after = _json(org, "--who", "Invoice__c:delete", "--planned",
                      str(org.root / "change.plan.json"))
        assert [h["user"] for h in before["holders"]] == [USER]
        assert after["holders"] == []
        edit = _json(org, "--who", "Invoice__c:edit", "--planned",
                     str(org.root / "change.plan.json"))
        assert [(h["user"], h["via"]) for h in edit["holders"]] == [
            (USER, [{"group": "INT_Bundle", "permission_set": "INT_Invoices"}]),
            ("reader@acme.example", [{"permission_set": "INT_Invoices"}])]
        text = org.run("access", "--who", "Invoice__c:delete", "--planned",
                       str(org.root / "change.plan.json"))
        assert text.output.startswith(f"As the plan {org.root / 'change.plan.json'} would "
                                      "leave the org:\n\nNone of the 2 users"), text.output
        # The org itself is unchanged.
        assert [h["user"] for h in _json(org, "--who", "Invoice__c:edit")["holders"]] == [USER]
    finally:
        org.write("main.yaml", CONFIG)


def test_a_user_the_org_lacks_or_a_bad_right_is_refused(org: Org) -> None:
    missing = org.run("access", "nobody@acme.example")
    assert missing.exit_code == 1
    assert "no user 'nobody@acme.example'" in missing.output
    bad = org.run("access", "--who", "Invoice__c:fly")
    assert bad.exit_code == 1 and "an object's right is one of" in bad.output
    both = org.run("access")
    assert both.exit_code == 1 and "give a USERNAME or --who RIGHT" in both.output


def test_users_brought_in_by_import_are_in_scope(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        org = Org(emu, tmp_path)
        ps = make_set(org.sf, "INT_Legacy")
        grant(org.sf, ps, "Invoice__c", Read=True, Edit=True)
        user = make_user(org.sf, "legacy@acme.example")
        org.sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
        # Outside the config, the user is not in --who's scope; `access USER` still answers.
        assert _json(org, "--who", "Invoice__c:edit")["holders"] == []
        assert _json(org, "legacy@acme.example")["objects"]["Invoice__c"]["edit"] == [
            {"permission_set": "INT_Legacy"}]
        imported = org.run("import", "--user", "legacy@acme.example", "-o", str(org.config))
        assert imported.exit_code == 0, imported.output
        data = _json(org, "--who", "Invoice__c:edit")
        assert data["holders"] == [{"user": "legacy@acme.example",
                                    "via": [{"permission_set": "INT_Legacy"}]}]

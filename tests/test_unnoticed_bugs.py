"""Bugs a user would feel that the rest of the suite let through.

Each test here was seen to fail with its bug planted in the code (by hand, never
committed) and to pass without it; its docstring says what the user would have seen.
They run through the CLI or the client against the emulator over HTTPS wherever the
behaviour is visible there.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from reconciler import trail
from reconciler.apply import apply_plan
from reconciler.config import load_config
from reconciler.drift.attribute import attribute
from reconciler.drift.report import DriftItem
from reconciler.emulator import Emulator, start_emulator
from reconciler.emulator.seed import ADMIN_USERNAME, load_seed_file
from reconciler.org.client import OrgClient
from reconciler.org.login import Connection
from reconciler.org.reader import read
from reconciler.org.writer import Writer
from reconciler.plan import OrgRef, claims_for, plan_from_live
from tests.emulator.helpers import client, grant, make_set, one, sf_error
from tests.orgdir import FIXTURES, INVOICE_SEED, Org

USERNAME = "mulesoft@acme.example"
# A set with object and field access, a group holding it, a user given the group.
CONFIG = """\
permission_sets:
  INT_Custom:
    label: Integration - Custom
    objects:
      Invoice__c: [read]
    fields:
      Invoice__c.Amount__c: [read]
permission_set_groups:
  INT_Bundle:
    label: Integration bundle
    permission_sets: [INT_Custom]
users:
  mulesoft:
    username: mulesoft@acme.example
    last_name: Integration
    email: mulesoft@acme.example
    profile: Minimum Access - API Only Integrations
    permission_set_groups: [INT_Bundle]
"""


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        yield Org(emu, tmp_path)


def _applied(org: Org, config: str = CONFIG) -> None:
    org.write("access.yaml", config)
    result = org.run("apply", "--auto-approve", "--group-wait", "30")
    assert result.exit_code == 0, result.output
    assert "Converged: no changes left." in result.output


def _user_id(sf: Salesforce) -> str:
    return str(one(sf, f"SELECT Id FROM User WHERE Username = '{USERNAME}'")["Id"])


# -- the stale-plan guard -------------------------------------------------------------------


def _edit_user(sf: Salesforce) -> None:
    sf.User.update(_user_id(sf), {"Email": "someone.else@acme.example"})


def _edit_object_row(sf: Salesforce) -> None:
    row = one(sf, "SELECT Id FROM ObjectPermissions WHERE Parent.Name = 'INT_Custom' "
                  "AND SobjectType = 'Invoice__c'")
    sf.ObjectPermissions.update(row["Id"], {"PermissionsEdit": True})


def _edit_field_row(sf: Salesforce) -> None:
    row = one(sf, "SELECT Id FROM FieldPermissions WHERE Parent.Name = 'INT_Custom' "
                  "AND Field = 'Invoice__c.Amount__c'")
    sf.FieldPermissions.update(row["Id"], {"PermissionsEdit": True})


def _add_component(sf: Salesforce) -> None:
    extra = make_set(sf, "Manual_Extra")
    grant(sf, extra, "Invoice__c", Read=True, Edit=True, Delete=True)
    group = one(sf, "SELECT Id FROM PermissionSetGroup WHERE DeveloperName = 'INT_Bundle'")
    sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": group["Id"],
                                           "PermissionSetId": extra})


@pytest.mark.parametrize(("change", "resource"), [
    (_edit_user, "users.mulesoft"),
    (_edit_object_row, "permission_sets.INT_Custom"),
    (_edit_field_row, "permission_sets.INT_Custom"),
    (_add_component, "permission_set_groups.INT_Bundle"),
], ids=["user-edited", "object-row-edited", "field-row-edited", "component-added"])
def test_a_saved_plan_is_refused_when_a_record_moved_in_place(org: Org, change: Any,
                                                              resource: str) -> None:
    """Pins the fingerprint covering each record's SystemModstamp, the User record, the
    object and field permission rows and the group's components: without any one of
    them, a plan reviewed before somebody edited that record in Setup was applied over
    the edit (e.g. a component added to the group stayed, widening every assignee)."""
    _applied(org)
    org.write("access.yaml", CONFIG.replace("label: Integration - Custom",
                                            "label: Integration - Custom objects"))
    assert org.run("plan", "--out", "plans/next.json").exit_code == 0
    change(org.sf)
    writes = org.writes()
    refused = org.run("apply", "plans/next.json")
    assert refused.exit_code == 1, refused.output
    assert f"the org changed since the plan was made ({resource})" in refused.output
    assert org.writes() == writes


@pytest.mark.parametrize("edit", [
    ("permission_set_groups:\n  INT_Bundle:",
     "settings:\n  scope: {assignments: observe}\npermission_set_groups:\n  INT_Bundle:"),
    ("    permission_set_groups: [INT_Bundle]\n",
     "    permission_set_groups: [INT_Bundle]\n    lifecycle: {ignore_changes: [email]}\n"),
], ids=["scope", "lifecycle"])
def test_a_saved_plan_is_refused_when_scope_or_lifecycle_changed(
        org: Org, edit: tuple[str, str]) -> None:
    """Pins the config digest covering ``settings.scope`` and ``lifecycle``: without
    them, a plan made under authoritative scope (or before an ignore_changes) was
    applied after the team switched to ``assignments: observe`` (or told the
    reconciler to leave the email alone), removing what they had just said to keep."""
    org.write("access.yaml", CONFIG)
    assert org.run("plan", "--out", "plans/p.json").exit_code == 0
    org.write("access.yaml", CONFIG.replace(*edit))
    refused = org.run("apply", "plans/p.json")
    assert refused.exit_code == 1, refused.output
    assert "the config changed since the plan was made" in refused.output
    assert org.writes() == 0


# -- diff -----------------------------------------------------------------------------------


def test_view_all_added_in_setup_is_planned_away_and_graded_widening(org: Org) -> None:
    """Pins the diff comparing View All: without it, the org's extra View All on a set
    went unreported by plan and drift, a silent widening (every record of the object
    readable by the integration)."""
    _applied(org)
    row = one(org.sf, "SELECT Id FROM ObjectPermissions WHERE Parent.Name = 'INT_Custom' "
                      "AND SobjectType = 'Invoice__c'")
    org.sf.ObjectPermissions.update(row["Id"], {"PermissionsViewAllRecords": True})
    plan = org.run("plan", "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "permission_sets.INT_Custom.objects.Invoice__c" in plan.output
    report = org.run("drift", "--format", "json")
    assert report.exit_code == 3, report.output
    (item,) = json.loads(report.stdout)["items"]
    assert item["address"] == "permission_sets.INT_Custom.objects.Invoice__c"
    assert item["severity"] == "widening"


def test_a_set_assigned_under_another_spelling_is_kept(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins matching a user's live sets to the config's case-insensitively: with the
    config saying ``INT_KEEP`` and the org holding ``INT_Keep`` (one set to Salesforce),
    authoritative scope removed the user's assignment and assigned it again."""
    monkeypatch.chdir(tmp_path)
    seed = {**INVOICE_SEED,
            "permission_sets": [{"name": "INT_Keep", "label": "Keep",
                                 "objects": {"Invoice__c": ["read"]}}],
            "users": [{"username": USERNAME, "last_name": "Integration", "email": USERNAME,
                       "profile": "Minimum Access - API Only Integrations",
                       "permission_sets": ["INT_Keep"]}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path)
        org.write("access.yaml", """\
settings:
  scope: {assignments: authoritative}
permission_sets:
  INT_KEEP:
    label: Keep
    objects:
      Invoice__c: [read]
users:
  mulesoft:
    username: mulesoft@acme.example
    last_name: Integration
    email: mulesoft@acme.example
    profile: Minimum Access - API Only Integrations
    permission_sets: [INT_KEEP]
""")
        plan = org.run("plan", "--detailed-exitcode")
        assert plan.exit_code == 0, plan.output
        applied = org.run("apply", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        assert org.writes() == 0
        held = org.sf.query("SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE "
                            f"Assignee.Username = '{USERNAME}' AND "
                            "PermissionSet.IsOwnedByProfile = false")["records"]
        assert [r["PermissionSet"]["Name"] for r in held] == ["INT_Keep"]


# -- order: golden plans applied to the org they were planned for ---------------------------


@pytest.mark.parametrize("case", [
    "psl-moves-between-users",
    "deactivation-frees-seat-for-profile-change",
    "mixed-case-absent-group-with-its-set",
    "seats-change-hands",
])
def test_an_ordered_golden_case_applies_and_converges(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins three ordering rules by applying their golden case to its seeded org (the
    emulator refuses a wrong order as Salesforce does): a PSL moving between users with
    one seat is given up before it is given (else LICENSE_LIMIT_EXCEEDED); a
    deactivation frees its seat before a profile change takes it; a group goes before
    the sets it holds (else DELETE_FAILED half-way); a deactivation or a move to another
    licence frees its seat before a reactivation or a new user takes it."""
    monkeypatch.chdir(tmp_path)
    folder = FIXTURES / "cases" / case
    with start_emulator(tmp_path / "data", load_seed_file(folder / "seed.yaml")) as emu:
        org = Org(emu, tmp_path)
        for source in (folder / "config").iterdir():
            shutil.copy(source, org.config / source.name)
        result = org.run("apply", "--auto-approve")
        assert result.exit_code == 0, result.output
        assert "failed 0, skipped 0" in result.output
        assert "Converged: no changes left." in result.output


# -- licences ---------------------------------------------------------------------------------


def test_a_set_licensed_by_a_custom_psl_brings_its_psl(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins "a set needs its PSL" for any PSL, not only the API Integration one: without
    it, a user given a set licensed by another PSL, with no permission_set_licenses
    line, got a plan whose assignment the org refused (the user lacks the licence)."""
    monkeypatch.chdir(tmp_path)
    seed = {**INVOICE_SEED, "permission_set_licenses": [
        {"developer_name": "SalesInsightsPsl", "label": "Sales Insights", "seats": 2}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path)
        org.write("access.yaml", """\
permission_sets:
  INT_Insights:
    label: Insights
    license: Sales Insights
    objects:
      Invoice__c: [read]
users:
  analyst:
    username: analyst@acme.example
    last_name: Analyst
    email: analyst@acme.example
    profile: Standard User
    permission_sets: [INT_Insights]
""")
        plan = org.run("plan", "--json")
        assert plan.exit_code == 0, plan.output
        psl = [a for a in json.loads(plan.stdout)["actions"]
               if a["kind"] == "assign_permission_set_license"]
        assert [(a["target"], a["reason"]) for a in psl] == [
            ("Sales Insights", "needed by permission set INT_Insights")]
        result = org.run("apply", "--auto-approve")
        assert result.exit_code == 0, result.output
        assert "Converged: no changes left." in result.output


# -- apply and the writer ---------------------------------------------------------------------


def _statuses(journal_dir: Path) -> dict[str, str]:
    journal = sorted(journal_dir.glob("emu.apply-*.json"))[-1]
    return {e["id"]: e["status"] for e in json.loads(journal.read_text())["actions"]}


def test_what_depends_on_an_unknown_outcome_is_skipped_all_the_way_down(org: Org) -> None:
    """Pins an unknown outcome (the connection dropped after the org created the set)
    blocking its dependents, and a skipped action blocking its own: without either, the
    apply went on to give the user a group whose set never joined it (or reported
    failures where nothing was tried)."""
    org.write("access.yaml", CONFIG)
    org.emu.faults.add(kind="drop", method="POST", path="composite/sobjects$", when="after")
    first = org.run("apply", "--auto-approve", "--group-wait", "30")
    assert first.exit_code == 1, first.output
    statuses = _statuses(Path("plans"))
    assert statuses["create_permission_set:permission_sets.INT_Custom"] == "unknown"
    assert {k: v for k, v in statuses.items() if v not in ("applied", "unknown")} == {
        "grant_object_access:permission_sets.INT_Custom.objects.Invoice__c": "skipped",
        "grant_field_access:permission_sets.INT_Custom.fields.Invoice__c.Amount__c": "skipped",
        "add_group_component:permission_set_groups.INT_Bundle.permission_sets.INT_Custom":
            "skipped",
        "assign_group:users.mulesoft.permission_set_groups.INT_Bundle": "skipped",
    }
    assert org.sf.query("SELECT COUNT() FROM PermissionSetAssignment WHERE "
                        f"Assignee.Username = '{USERNAME}' AND "
                        "PermissionSetGroupId != null")["totalSize"] == 0
    second = org.run("apply", "--auto-approve", "--group-wait", "30")
    assert second.exit_code == 0, second.output


def test_a_write_another_writer_already_made_counts_as_done(org: Org, tmp_path: Path) -> None:
    """Pins DUPLICATE_VALUE on an assignment and ENTITY_IS_DELETED on a removal counting
    as done: without it, an apply racing another writer (a second pipeline, an admin in
    Setup) that made the same change first ended in a false failure and exit 1."""
    _applied(org)
    org.write("access.yaml", CONFIG.replace("    permission_set_groups: [INT_Bundle]\n",
                                            "    permission_sets: [INT_Custom]\n"))
    config = load_config(org.config)
    creds = org.emu.credentials()
    conn = Connection(login_url=org.emu.url, flow="client_credentials",
                      client_id=creds["client_id"], client_secret=creds["client_secret"],
                      ca_bundle=org.emu.ca_file)
    with OrgClient(conn) as client:
        live = read(client, claims_for(config))
        plan = plan_from_live(config, live, org=OrgRef("emu", client.org_id,
                                                       client.instance_url, client.username))
        assert sorted(a.kind for a in plan.actions) == ["assign_permission_set",
                                                        "unassign_group"]
        # the other writer, between this apply's read and its writes
        sf = org.sf
        user = _user_id(sf)
        ps = one(sf, "SELECT Id FROM PermissionSet WHERE Name = 'INT_Custom'")["Id"]
        sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
        group_row = one(sf, "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = "
                            f"'{user}' AND PermissionSetGroupId != null")
        sf.PermissionSetAssignment.delete(group_row["Id"])
        result = apply_plan(plan, Writer(client, live), live,
                            journal_path=tmp_path / "journal.json")
    assert result.ok, result.outcomes
    assert sorted(o.note for o in result.outcomes.values()) == ["already assigned",
                                                                "already gone"]
    # The journal, what a reviewer reads afterwards, says so too.
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert sorted(e.get("note") for e in journal["actions"]) == ["already assigned",
                                                                 "already gone"]


# -- drift ------------------------------------------------------------------------------------


def _row(display: str) -> trail.AuditEntry:
    return trail.AuditEntry(at=datetime(2026, 1, 31, 12, tzinfo=UTC), by="ops@acme.example",
                            action="activateduser", section="Manage Users", display=display)


def test_a_row_about_another_user_does_not_explain_a_users_drift() -> None:
    """Pins attribution naming the user: "Activated user b@…" was taken as who
    re-activated user a, blaming the wrong person in the drift report."""
    for activated in (True, False):
        item = DriftItem(
            kind="deactivate_user" if activated else "reactivate_user",
            address="users.a.active", resource="users.a", severity="widening", summary="s",
            clue=trail.user_activity(("a@acme.example", "Ann Able"), activated=activated))
        verb = "Activated" if activated else "Deactivated"
        rows = [_row(f"{verb} user b@acme.example"), _row(f"{verb} user Bob Baker")]
        (found,) = attribute([item], rows, running_user=ADMIN_USERNAME)
        assert found.attribution == ()
        (found,) = attribute([item], [_row(f"{verb} user Ann Able"), *rows],
                             running_user=ADMIN_USERNAME)
        assert [e.display for e in found.attribution] == [f"{verb} user Ann Able"]


# -- the emulator's rules ---------------------------------------------------------------------


def test_the_emulator_refuses_delete_without_edit(emu: Emulator) -> None:
    """Pins Delete ⇒ Edit in the local org: without it, a plan granting Delete alone
    applied locally and then failed against Salesforce."""
    sf = client(emu)
    ps = make_set(sf, "Deleter")
    with pytest.raises(SalesforceMalformedRequest) as err:
        grant(sf, ps, "Account", Read=True, Delete=True)
    assert sf_error(err.value) == (
        "FIELD_INTEGRITY_EXCEPTION",
        "Permission Delete Accounts depends on permission(s): Edit Accounts")


def test_the_emulator_refuses_a_user_deactivating_itself(emu: Emulator) -> None:
    """Pins "you can't deactivate your own user" in the local org: without it, apply's
    own refusal to lock out its running user was never exercised against the org."""
    sf = client(emu)
    me = one(sf, f"SELECT Id, IsActive FROM User WHERE Username = '{ADMIN_USERNAME}'")
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.User.update(me["Id"], {"IsActive": False})
    assert sf_error(err.value) == ("FIELD_INTEGRITY_EXCEPTION",
                                   "You can't deactivate your own user.")
    assert one(sf, f"SELECT IsActive FROM User WHERE Id = '{me['Id']}'")["IsActive"] is True

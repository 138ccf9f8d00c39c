"""`drift` end to end: the CLI against the emulator over HTTPS, a second org user making
changes out of band, a loopback webhook, and the scheduler in a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from simple_salesforce import Salesforce

from reconciler.cli import cli
from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import client, make_user, token
from tests.orgdir import Org as BaseOrg

USERNAME = "mulesoft@acme.com.integration"
OPS = "ops@acme.example"
OPS_PASSWORD = "s3cret-pass"
SEED: dict[str, Any] = {
    "custom_objects": [{"name": "Invoice__c", "label": "Invoice",
                        "fields": {"Amount__c": "currency"}}],
    # a second admin, who logs in with the password grant and changes Setup by hand
    "users": [{"username": OPS, "last_name": "Ops", "profile": "System Administrator",
               "password": OPS_PASSWORD}],
}
CONFIG = """\
permission_sets:
  INT_Standard_Objects:
    label: Integration - Standard Objects
    license: Salesforce API Integration
    system_permissions: [ApiEnabled]
    objects:
      Account: [read, create, edit]
      Contact: [read]
    fields:
      Account.Industry: [read, edit]
  INT_Custom_Objects:
    label: Integration - Custom Objects
    objects:
      Invoice__c: [read, create, edit, delete]
users:
  mulesoft:
    username: mulesoft@acme.com.integration
    first_name: MuleSoft
    last_name: Integration
    email: integrations@acme.com
    profile: Minimum Access - API Only Integrations
    license: Salesforce Integration
    permission_set_licenses: [Salesforce API Integration]
    permission_sets: [INT_Standard_Objects, INT_Custom_Objects]
"""
WIDENED_OBJECT = "permission_sets.INT_Standard_Objects.objects.Account"
EXTRA_SET = "users.mulesoft.permission_sets.Manual_Extra"


class Org(BaseOrg):
    """The walkthrough-like config in an org directory, with drift's state beside it."""

    def __init__(self, emu: Emulator, root: Path) -> None:
        super().__init__(emu, root)
        (self.config / "access.yaml").write_text(CONFIG)
        self.state = self.config / ".reconciler" / "emu" / "drift"


    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reconciler", "-c", str(self.config), "--org", "emu",
                *args]

    def ops(self) -> Salesforce:
        """simple-salesforce logged in as the second admin, with the password grant."""
        creds = self.emu.credentials()
        return client(self.emu, token(self.emu, grant_type="password",
                                      client_id=creds["client_id"],
                                      client_secret=creds["client_secret"],
                                      username=OPS, password=OPS_PASSWORD))

    def widen_out_of_band(self) -> None:
        """The second admin assigns an extra set and adds Delete on Account."""
        sf = self.ops()
        user = sf.query(f"SELECT Id FROM User WHERE Username = '{USERNAME}'")["records"][0]
        extra = sf.PermissionSet.create({"Name": "Manual_Extra", "Label": "Manual extra"})
        sf.PermissionSetAssignment.create({"AssigneeId": user["Id"],
                                           "PermissionSetId": extra["id"]})
        row = sf.query("SELECT Id FROM ObjectPermissions WHERE Parent.Name = "
                       "'INT_Standard_Objects' AND SobjectType = 'Account'")["records"][0]
        sf.ObjectPermissions.update(row["Id"], {"PermissionsDelete": True})

    def trail(self, by: str) -> list[dict[str, Any]]:
        """The Setup Audit Trail rows a user made, as Salesforce returns them."""
        return list(client(self.emu).query(
            "SELECT Display, CreatedDate FROM SetupAuditTrail WHERE CreatedBy.Username = "
            f"'{by}' ORDER BY CreatedDate DESC")["records"])

    def calls(self) -> int:
        return int(self.emu.stats()["api_calls"])


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        org = Org(emu, tmp_path)
        applied = org.run("apply", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        yield org


def user_profile(sf: Salesforce) -> str:
    """The Standard User profile's Id (a user with a Salesforce licence to spare)."""
    return str(sf.query("SELECT Id FROM Profile WHERE Name = 'Standard User'")
               ["records"][0]["Id"])


def _when(created: str) -> str:
    """Salesforce's ``2026-01-31T12:00:00.000+0000`` as the report prints it."""
    assert created.endswith("+0000"), created
    return created[:19] + "Z"


def _items(result: Result) -> dict[str, dict[str, Any]]:
    report = json.loads(result.stdout)
    assert report["format"] == "reconciler-drift" and report["version"] == 1
    return {item["address"]: item for item in report["items"]}


# -- detection, grading, attribution ---------------------------------------------------------


def test_out_of_band_widening_is_graded_and_attributed_then_a_label_is_plain_drift(org: Org):
    clean = org.run("drift")
    assert clean.exit_code == 0, clean.output
    assert "No drift in org emu" in clean.output

    org.widen_out_of_band()
    shown = org.run("drift")
    assert shown.exit_code == 3, shown.output
    rows = {r["Display"]: _when(r["CreatedDate"]) for r in org.trail(OPS)}
    assign_time = next(t for d, t in rows.items() if "assigned to user" in d)
    widen_time = next(t for d, t in rows.items() if "object permissions" in d)
    lines = shown.output.splitlines()
    for address, when in ((EXTRA_SET, assign_time), (WIDENED_OBJECT, widen_time)):
        at = next(i for i, line in enumerate(lines) if line.split()[-1:] == [address])
        assert lines[at].split()[0] == "widening"
        assert f"changed by {OPS} at {when}: " in lines[at + 2]
    assert "Drift: 2 items (2 widening, 0 narrowing, 0 metadata) · exit 3" in shown.output
    assert "there is no" not in shown.output.lower()

    as_json = org.run("drift", "--format", "json")
    assert as_json.exit_code == 3
    items = _items(as_json)
    assert set(items) == {EXTRA_SET, WIDENED_OBJECT}
    account = items[WIDENED_OBJECT]
    assert account["severity"] == "widening"
    assert account["summary"] == ("the org grants read, create, edit, delete; the config "
                                  "read, create, edit")
    # only the change that made the org as it is: the reconciler's own create, before
    # it, ends the history
    changes = account["attribution"]["changes"]
    assert [(c["by"], c["at"]) for c in changes] == [(OPS, widen_time)]
    assert changes[0]["display"].startswith("Changed Account object permissions")
    assert items[EXTRA_SET]["attribution"]["changes"][0]["by"] == OPS
    assert items[EXTRA_SET]["fix"]["kind"] == "unassign_permission_set"

    # the same reads as plan, plus exactly one audit-trail query, counted by the org
    before = org.calls()
    plan = org.run("plan", "--json")
    plan_calls = org.calls() - before
    before = org.calls()
    again = org.run("drift", "--format", "json")
    drift_calls = org.calls() - before
    assert drift_calls == plan_calls + 1
    report = json.loads(again.stdout)
    assert report["api_calls"] == {"read": json.loads(plan.stdout)["api_calls"]["read"],
                                   "audit_trail": 1,
                                   "total": json.loads(plan.stdout)["api_calls"]["read"] + 1}
    assert "API calls: " in shown.output and "+ 1 audit-trail query" in shown.output

    fixed = org.run("apply", "--auto-approve")
    assert fixed.exit_code == 0, fixed.output
    assert org.run("drift").exit_code == 0

    sf = org.ops()
    custom = sf.query("SELECT Id FROM PermissionSet WHERE Name = 'INT_Custom_Objects'")
    sf.PermissionSet.update(custom["records"][0]["Id"], {"Label": "Custom objects (renamed)"})
    label = org.run("drift", "--format", "json")
    assert label.exit_code == 2, label.output
    item = _items(label)["permission_sets.INT_Custom_Objects"]
    assert item["severity"] == "metadata"
    assert item["summary"] == ("label: the org has 'Custom objects (renamed)', the config "
                               "'Integration - Custom Objects'")
    assert item["attribution"]["changes"][0]["by"] == OPS
    assert "changed Label" in item["attribution"]["changes"][0]["display"]


def test_a_row_about_a_namesake_user_is_not_evidence(org: Org) -> None:
    sf = org.ops()
    user = sf.query(f"SELECT Id FROM User WHERE Username = '{USERNAME}'")["records"][0]
    extra = sf.PermissionSet.create({"Name": "Manual_Extra", "Label": "Manual extra"})["id"]
    sf.PermissionSetAssignment.create({"AssigneeId": user["Id"], "PermissionSetId": extra})
    # Later, the same set goes to another user whose full name starts the same way.
    other = make_user(sf, "sandbox.feed@acme.com", FirstName="MuleSoft",
                      LastName="Integration Sandbox", ProfileId=user_profile(sf))
    sf.PermissionSetAssignment.create({"AssigneeId": other, "PermissionSetId": extra})
    assert [r["Display"] for r in org.trail(OPS) if "assigned" in r["Display"]] == [
        "Permission set Manual extra: assigned to user MuleSoft Integration Sandbox",
        "Permission set Manual extra: assigned to user MuleSoft Integration"]
    report = org.run("drift", "--format", "json")
    assert report.exit_code == 3, report.output
    changes = _items(report)[EXTRA_SET]["attribution"]["changes"]
    assert [c["display"] for c in changes] == [
        "Permission set Manual extra: assigned to user MuleSoft Integration"]


def test_markdown_and_unknown_attribution_and_narrowing(org: Org) -> None:
    # The config now wants one more object: the org lacks it, and no Setup row says why.
    (org.config / "access.yaml").write_text(CONFIG.replace(
        "      Contact: [read]\n", "      Contact: [read]\n      Case: [read]\n"))
    result = org.run("drift", "--format", "markdown")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("### Drift in org `emu`")
    assert ("| **narrowing** | `permission_sets.INT_Standard_Objects.objects.Case` | the org "
            "grants nothing; the config read | unknown |  |") in result.output
    text = org.run("drift")
    assert "changed by: unknown (no audit-trail row names this change)" in text.output


def test_a_changed_set_license_is_widening_drift_not_an_error(org: Org) -> None:
    (org.config / "access.yaml").write_text(CONFIG.replace(
        "    label: Integration - Custom Objects\n",
        "    label: Integration - Custom Objects\n    license: Salesforce API Integration\n"))
    assert org.run("plan").exit_code == 1  # plan can't change a license in place
    result = org.run("drift", "--format", "json")
    assert result.exit_code == 3, result.output
    item = _items(result)["permission_sets.INT_Custom_Objects.license"]
    assert item["severity"] == "widening" and item["fix"] is None
    assert item["summary"].startswith("license: the org has none, the config Salesforce API "
                                      "Integration")


def test_a_config_the_org_cant_hold_is_an_error_with_every_problem(org: Org) -> None:
    (org.config / "access.yaml").write_text(CONFIG.replace(
        "[INT_Standard_Objects, INT_Custom_Objects]",
        "[INT_Standard_Objects, INT_Custom_Objects, No_Such_Set]"))
    result = org.run("drift")
    assert result.exit_code == 1
    assert 'permission set "No_Such_Set" is not declared and does not exist in the org' in (
        result.output)
    assert not (org.state / "last-report.json").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--runs", "2"), "--runs needs --every"),
    (("--every", "soon"), "--every: 'soon' is not a duration"),
    (("--format", "yaml"), "--format must be one of text, json, markdown"),
    (("--notify", "${env.NO_SUCH_HOOK}"), "the environment variable NO_SUCH_HOOK is not set"),
])
def test_bad_options_exit_1_never_2(tmp_path: Path, args: tuple[str, ...],
                                    message: str) -> None:
    # 2 means drift: a mistake on the command line must not look like it
    result = CliRunner().invoke(cli, ["-c", str(tmp_path), "drift", *args])
    assert result.exit_code == 1
    assert message in result.output


def test_help_says_fixing_is_apply() -> None:
    result = CliRunner().invoke(cli, ["drift", "--help"])
    assert result.exit_code == 0
    assert "There is no `drift --fix`" in result.output
    assert "reconciler apply" in result.output


# -- notifications ---------------------------------------------------------------------------


class Hook:
    """A loopback webhook that records every POST and answers with ``statuses``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.bodies.append(json.loads(self.rfile.read(length)))
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                if status >= 500:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/s3cr3tpath"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    yield server
    server.close()


def test_notified_once_per_drift_then_resolved(org: Org, hook: Hook) -> None:
    env = {"DRIFT_WEBHOOK": hook.url}
    assert org.run("drift", "--notify", "${env.DRIFT_WEBHOOK}", env=env).exit_code == 0
    assert hook.bodies == []  # clean from the start: nothing to say

    org.widen_out_of_band()
    first = org.run("drift", "--notify", "${env.DRIFT_WEBHOOK}", env=env)
    assert first.exit_code == 3
    assert len(hook.bodies) == 1
    body = hook.bodies[0]
    assert body["event"] == "drift"
    assert body["text"].startswith(":rotating_light: *Access-widening drift* in org `emu`")
    assert f"`{EXTRA_SET}`" in body["text"] and OPS in body["text"]
    assert body["report"]["status"] == "widening" and len(body["report"]["items"]) == 2
    port = hook.server.server_port
    assert f"Notified http://127.0.0.1:{port}/… (drift)." in first.output
    assert "s3cr3tpath" not in first.output

    second = org.run("drift", "--notify", hook.url)
    assert second.exit_code == 3
    assert len(hook.bodies) == 1  # the same drift is not sent again
    assert "Not notifying http://127.0.0.1" in second.output
    assert "s3cr3tpath" not in second.output
    saved = json.loads((org.state / "last-report.json").read_text())
    assert saved["status"] == "widening"

    assert org.run("apply", "--auto-approve").exit_code == 0
    resolved = org.run("drift", "--notify", hook.url)
    assert resolved.exit_code == 0
    assert [b["event"] for b in hook.bodies] == ["drift", "resolved"]
    assert hook.bodies[1]["text"].startswith(":white_check_mark: Drift resolved in org `emu`")
    assert org.run("drift", "--notify", hook.url).exit_code == 0
    assert len(hook.bodies) == 2


def test_a_failing_webhook_is_reported_and_keeps_the_exit_code(org: Org, hook: Hook) -> None:
    org.widen_out_of_band()
    # nobody listening at all
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = unused.getsockname()[1]
    gone = org.run("drift", "--notify", f"http://127.0.0.1:{closed}/hook/s3cr3tpath")
    assert gone.exit_code == 3
    assert (f"Warning: the notification to http://127.0.0.1:{closed}/… failed after 3 "
            "attempts: ConnectionError") in gone.output
    assert "s3cr3tpath" not in gone.output

    hook.statuses = [503, 503, 503]
    failed = org.run("drift", "--notify", hook.url)
    assert failed.exit_code == 3
    assert len(hook.bodies) == 3  # retried
    port = hook.server.server_port
    assert (f"Warning: the notification to http://127.0.0.1:{port}/… failed after 3 "
            "attempts: HTTP 503") in failed.output
    assert "s3cr3tpath" not in failed.output
    # not delivered, so the next run tries again (and a retry that succeeds counts)
    hook.statuses = [503]
    again = org.run("drift", "--notify", hook.url)
    assert again.exit_code == 3
    assert len(hook.bodies) == 5 and hook.bodies[-1]["event"] == "drift"
    assert f"Notified http://127.0.0.1:{port}/… (drift)." in again.output


# -- the schedule ------------------------------------------------------------------------------


def test_every_runs_n_times_and_exits_with_the_last_code(org: Org) -> None:
    org.widen_out_of_band()
    result = org.run("drift", "--every", "0.2s", "--runs", "3", "--format", "json")
    assert result.exit_code == 3, result.output
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in reports] == ["widening"] * 3
    assert result.stderr.count("Next drift run in ") == 2
    # later runs read the trail since the last run, and keep who did it
    assert reports[2]["audit_trail"]["since"] > reports[0]["audit_trail"]["since"]
    for item in reports[2]["items"]:
        assert item["attribution"]["changes"][0]["by"] == OPS


def _wait_for(condition: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_one_scheduler_per_org_and_a_signal_stops_it_cleanly(org: Org) -> None:
    env = {**os.environ, **org.env}
    # the first scheduler finishes a run, then sleeps
    first = subprocess.Popen(org.argv("drift", "--every", "30s"), cwd=org.root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: (org.state / "last-report.json").exists() or first.poll() is not None,
                  "the first run")
        second = org.run("drift", "--every", "1s")
        assert second.exit_code == 1
        assert "drift for org emu is already running: the lock is held by pid " \
               f"{first.pid}" in second.output
        time.sleep(0.2)
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=10)
    finally:
        first.kill() if first.poll() is None else None
    assert first.returncode == 0, err
    assert "No drift in org emu" in out
    assert "Stopped by SIGTERM after 1 run." in err

    # a signal in the middle of a run abandons it: it was only reading
    (org.state / "last-report.json").unlink()
    org.emu.faults.add(kind="latency", path="/query", delay=0.2, times=None)
    before = org.calls()
    busy = subprocess.Popen(org.argv("drift", "--every", "1s", "--runs", "3"), cwd=org.root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: org.calls() > before or busy.poll() is not None, "the run to start")
        busy.send_signal(signal.SIGTERM)
        out, err = busy.communicate(timeout=10)
    finally:
        busy.kill() if busy.poll() is None else None
        org.emu.faults.clear()
    assert busy.returncode == 0, err
    assert "Stopped by SIGTERM: the run in progress was abandoned" in err
    assert out == ""
    assert not (org.state / "last-report.json").exists()
    time.sleep(0.25)  # the query it had in flight is still served (then thrown away)
    # and the lock was let go
    assert org.run("drift").exit_code == 0


# -- the pure parts: the grading table, Setup's words, durations, URLs, dedupe ----------------


def test_every_action_kind_is_graded() -> None:
    from reconciler import actions as a
    from reconciler.drift.rules import RULES

    assert set(RULES) == set(a.KIND_ORDER)


def _grades() -> list[tuple[Any, str]]:
    from reconciler import actions as a

    user = {"user": "m", "username": "m@x.com"}
    return [
        (a.UnassignPermissionSet(**user, target="X"), "widening"),
        (a.UnassignGroup(**user, target="G"), "widening"),
        (a.UnassignPermissionSetLicense(**user, target="L"), "widening"),
        (a.AssignPermissionSet(**user, target="X"), "narrowing"),
        (a.AssignGroup(**user, target="G"), "narrowing"),
        (a.AssignPermissionSetLicense(**user, target="L"), "narrowing"),
        (a.ChangeObjectAccess(permission_set="S", sobject="Account", before=("read", "edit"),
                              after=("read",)), "widening"),
        (a.ChangeObjectAccess(permission_set="S", sobject="Account", before=("read",),
                              after=("read", "edit")), "narrowing"),
        (a.ChangeFieldAccess(permission_set="S", field="Account.Industry",
                             before=("read", "edit"), after=("read",)), "widening"),
        (a.RevokeObjectAccess(permission_set="S", sobject="Account", before=("read",)),
         "widening"),
        (a.RevokeFieldAccess(permission_set="S", field="A.B", before=("read",)), "widening"),
        (a.GrantObjectAccess(permission_set="S", sobject="Account", after=("read",)),
         "narrowing"),
        (a.SetSystemPermissions(name="S", disable=("ModifyAllData",)), "widening"),
        (a.SetSystemPermissions(name="S", enable=("ApiEnabled",)), "narrowing"),
        (a.SetSystemPermissions(name="S", enable=("ApiEnabled",), disable=("ViewAllData",)),
         "widening"),
        (a.RemoveGroupComponent(group="G", permission_set="S"), "widening"),
        (a.AddGroupComponent(group="G", permission_set="S"), "narrowing"),
        (a.DeactivateUser(**user), "widening"),  # the org has it active again
        (a.ReactivateUser(**user), "narrowing"),
        (a.ChangeUserProfile(**user, before="Standard User", after="Minimum Access",
                             license_before="Salesforce",
                             license_after="Salesforce Integration"), "widening"),
        (a.CreateUser(**user), "narrowing"),
        (a.CreatePermissionSet(name="S"), "narrowing"),
        (a.CreateGroup(name="G"), "narrowing"),
        (a.UpdatePermissionSet(name="S", before=(("label", "A"),), after=(("label", "B"),)),
         "metadata"),
        (a.UpdateGroup(name="G", before=(("label", "A"),), after=(("label", "B"),)),
         "metadata"),
        (a.UpdateUser(**user, before=(("email", "a@x.com"),), after=(("email", "b@x.com"),)),
         "metadata"),
        (a.DeletePermissionSet(name="S"), "metadata"),
        (a.DeleteGroup(name="G"), "metadata"),
    ]


@pytest.mark.parametrize(("action", "severity"), _grades(),
                         ids=lambda v: getattr(v, "kind", v))
def test_the_grading_table(action: Any, severity: str) -> None:
    from reconciler.drift.rules import RULES

    assert RULES[type(action)].severity(action) == severity


def _entry(display: str, by: str = OPS) -> Any:
    from datetime import UTC, datetime

    from reconciler.trail import AuditEntry

    return AuditEntry(at=datetime(2026, 1, 31, 12, tzinfo=UTC), by=by, action="X",
                      section="Y", display=display)


def test_a_row_explains_a_change_only_when_it_names_every_party() -> None:
    from reconciler import trail

    user = ("m@x.com", "Mary Major")
    clue = trail.set_assignment(("Manual_Extra", "Manual extra"), user, added=True)
    # Real orgs' wording (shared/real-salesforce/setupaudittrail.txt), and the same with
    # other case, spacing and punctuation, or an older row naming the username.
    for display in (
        "Permission set Manual extra: assigned to user Mary Major",
        "permission set MANUAL EXTRA : assigned  to user mary major.",
        "Permission set Manual extra - assigned to user Mary Major",
        "Permission set Manual_Extra assigned to user Mary Major (UserID: [005…])",
        "Permission set Manual extra: assigned to user m@x.com",
    ):
        assert clue.explains(_entry(display)), display
    for display in (
        "Permission set Manual extra: unassigned from user Mary Major",
        "Permission set Manual extra: assigned to user Mary Majors",
        "Permission set Manual extra: assigned to user Mary Major Jr",
        "Permission set Manual extra: assigned to user Mary Majorto",
        "Permission set Manual extra: assigned to user m@x.com.uat",
        "Permission set Manual extra: assigned to user Other Person",
        "Permission set Manual extra 2: assigned to user Mary Major",
        "Permission set group Manual extra: assigned to user Mary Major",
        "Created permission set Manual extra: with no license",
    ):
        assert not clue.explains(_entry(display)), display
    active = trail.user_activity(user, activated=True)
    assert active.explains(_entry("Activated user Mary Major"))
    assert not active.explains(_entry("Deactivated user Mary Major"))
    profile = trail.user_profile(user, ("Standard User",))
    assert profile.explains(_entry("Changed profile for user Mary Major from Minimum Access "
                                   "- Salesforce to Standard User"))
    assert not profile.explains(_entry("Changed profile for user Mary Major from Standard "
                                       "User to Minimum Access - Salesforce"))
    assert not profile.explains(_entry("Changed profile for user Maria Major from Minimum "
                                       "Access - Salesforce to Standard User"))
    created = trail.set_created(("S", "Set S"))
    assert created.explains(_entry("Created permission set Set S: with no license"))
    assert not created.explains(_entry("Created permission set Set S2: with no license"))
    perms = trail.system_permissions(("S", "Set S"), ("ModifyAllData",), enabled=True)
    assert perms.explains(_entry("Permission set Set S: enabled system permission "
                                 "ModifyAllData"))
    assert perms.explains(_entry("Permission set Set S: enabled system permission "
                                 "Modify All Data"))
    assert not perms.explains(_entry("Permission set Set S: disabled system permission "
                                     "ModifyAllData"))


def test_attribution_stops_at_the_reconcilers_own_change_and_carries_over() -> None:
    from reconciler import trail
    from reconciler.drift.attribute import attribute
    from reconciler.drift.report import DriftItem

    item = DriftItem(kind="change_object_access", address="permission_sets.S.objects.A",
                     resource="permission_sets.S", severity="widening", summary="s",
                     clue=trail.object_access(("S",), "Account"))
    rows = [_entry("Changed Account object permissions for permission set S: from [Read] to "
                   "[Read, Edit]"),
            _entry("Changed Account object permissions for permission set S: from [] to "
                   "[Read]", by="admin@reconciler.local"),
            _entry("Changed Account object permissions for permission set S: from [Read] to "
                   "[]", by="someone@else.com")]
    (found,) = attribute([item], rows, running_user="Admin@reconciler.local")
    assert [e.by for e in found.attribution] == [OPS]
    (own,) = attribute([item], rows[1:], running_user="admin@reconciler.local")
    assert [(e.by, e.by_reconciler) for e in own.attribution] == [
        ("admin@reconciler.local", True)]
    earlier = {item.key: found.attribution}
    (kept,) = attribute([item], [], running_user="x", earlier=earlier)
    assert kept.attribution == found.attribution
    (none,) = attribute([item], [], running_user="x")
    assert none.attribution == ()
    assert none.model_dump(mode="json")["attribution"]["status"] == "unknown"


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("0.2s", 0.2), ("7d", 604800),
    ("250ms", 0.25)])
def test_durations(text: str, seconds: float) -> None:
    from reconciler.drift.schedule import parse_duration

    assert parse_duration(text, "--every") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "15", "m", "-1s", "0s", "15 minutes", "1h-"])
def test_bad_durations(text: str) -> None:
    from reconciler.drift.schedule import parse_duration
    from reconciler.errors import UsageError

    with pytest.raises(UsageError):
        parse_duration(text, "--every")


def test_a_webhook_url_is_never_shown_in_full() -> None:
    from reconciler.drift.webhook import mask_url, webhook

    assert mask_url("https://hooks.slack.com/services/T0/B0/XXXX") == \
        "https://hooks.slack.com/…"
    assert mask_url("https://user:pw@example.com:8443/x?token=abc") == \
        "https://example.com:8443/…"
    assert mask_url("https://example.com") == "https://example.com"
    hook = webhook("https://hooks.slack.com/services/T0/B0/XXXX")
    assert "XXXX" not in repr(hook)


def _report(*items: Any) -> Any:
    from reconciler.drift.report import ConfigRef, Report
    from reconciler.plan import OrgRef

    return Report(org=OrgRef("o", "00D", "https://x", "me"),
                  config=ConfigRef(path="c", digest="d"), checked_at="t", items=items)


def _item(address: str, severity: str, summary: str = "s") -> Any:
    from reconciler.drift.report import DriftItem

    return DriftItem(kind="k", address=address, resource="r", severity=severity,
                     summary=summary)


def test_notifications_are_due_once_per_drift() -> None:
    from reconciler.drift.notify import Notified, notification_due

    item, other = _item("a", "widening"), _item("b", "narrowing")

    def sent(r: Any) -> Notified:
        return Notified.sent(r, "drift")

    assert notification_due(_report(), None) is None
    assert notification_due(_report(item), None) == "drift"
    assert notification_due(_report(item), sent(_report(item))) is None
    assert notification_due(_report(item, other), sent(_report(item))) == "changed"
    assert notification_due(_report(other), sent(_report(item))) == "changed"
    assert notification_due(_report(_item("a", "widening", "other words")),
                            sent(_report(item))) == "changed"
    assert notification_due(_report(), sent(_report(item))) == "resolved"
    assert notification_due(_report(), sent(_report())) is None
    assert notification_due(_report(item), sent(_report())) == "drift"
    assert (_report(item).exit_code, _report(other).exit_code, _report().exit_code) == (3, 2, 0)
    # notified.json as the previous release wrote it: a digest, no findings
    legacy = Notified(org_id="00D", digest=_report(item).digest, event="drift", at="t")
    assert legacy.findings is None
    assert notification_due(_report(item), legacy) is None
    assert notification_due(_report(item, other), legacy) == "changed"
    assert notification_due(_report(), legacy) == "resolved"


def test_the_notifier_tells_new_changed_and_resolved_items_apart() -> None:
    from reconciler.drift.notify import Changes, compare, findings

    before = findings(_report(_item("a", "widening"), _item("b", "narrowing"),
                              _item("c", "metadata")))
    after = findings(_report(_item("a", "widening"), _item("b", "widening"),
                             _item("d", "narrowing")))
    assert compare(before, after) == Changes(new=("k:d",), changed=("k:b",),
                                             resolved=("k:c",))
    assert compare({}, after) == Changes(new=("k:a", "k:b", "k:d"))
    assert compare(after, {}) == Changes(resolved=("k:a", "k:b", "k:d"))
    assert not compare(after, dict(reversed(after.items())))


STATE_V1 = Path(__file__).resolve().parent.parent / "fixtures" / "drift-state"


def test_the_report_document_reads_back_as_written() -> None:
    """A report saved by an earlier version (fixtures/drift-state) loads, and writes back
    the same JSON, key for key and in the same order."""
    from reconciler.drift.render import as_json
    from reconciler.drift.report import load_report

    text = (STATE_V1 / "last-report.json").read_text()
    report = load_report(json.loads(text))
    assert report is not None
    assert as_json(report) + "\n" == text
    assert report.items[1].fix is not None and report.items[1].fix.kind == (
        "unassign_permission_set")
    assert [e.by for e in report.items[0].attribution] == [OPS]
    for damaged in (None, [], {"format": "reconciler-drift", "version": 2},
                    {**json.loads(text), "items": 5},
                    {**json.loads(text), "items": [{"kind": "x", "fix": {"kind": "nope"}}]}):
        assert load_report(damaged) is None


def _org_id(org: Org) -> str:
    return str(client(org.emu).query("SELECT Id FROM Organization")["records"][0]["Id"])


def test_state_written_by_an_earlier_version_still_counts(org: Org, hook: Hook) -> None:
    """The state files of fixtures/drift-state were written by the previous release for
    this very drift: the same drift is not notified again, and the audit window starts
    at that report's run."""
    org.widen_out_of_band()
    org.state.mkdir(parents=True, exist_ok=True)
    org_id = _org_id(org)
    for name in ("last-report.json", "notified.json"):
        data = json.loads((STATE_V1 / name).read_text())
        if name == "notified.json":
            data["org_id"] = org_id
        else:
            data["org"]["org_id"] = org_id
        (org.state / name).write_text(json.dumps(data))

    result = org.run("drift", "--format", "json", "--notify", hook.url)
    assert result.exit_code == 3, result.output
    assert hook.bodies == []
    assert "Not notifying http://127.0.0.1" in result.output
    report = json.loads(result.stdout)
    assert report["audit_trail"]["since"] == "2026-11-29T11:59:21Z"  # its run, less 5 min

    # a damaged state is as if there were none: a first run, notified afresh
    (org.state / "notified.json").write_text("{not json")
    (org.state / "last-report.json").write_text('{"format": "reconciler-drift", "items": 3}')
    again = org.run("drift", "--notify", hook.url)
    assert again.exit_code == 3, again.output
    assert [b["event"] for b in hook.bodies] == ["drift"]
    saved = json.loads((org.state / "notified.json").read_text())
    assert sorted(saved["findings"]) == sorted(i["id"] for i in report["items"])

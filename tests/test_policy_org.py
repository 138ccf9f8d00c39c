"""Access policy against an org: `plan` refuses a plan that would break it, `drift` and
`policy check` see a violation made in the org, and an imported org is checked; through
the CLI, the emulator reached over HTTPS as a real org is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import INTEGRATION_PROFILE, grant, make_set
from tests.orgdir import INVOICE_SEED, Org

BASELINE = "policies:\n  rule_sets:\n    integration-baseline:\n"
CONFIG = """\
permission_sets:
  INT_Invoices:
    label: Invoices
    description: What the invoice sync needs
    objects:
      Invoice__c: [read, create, edit]
users:
  mulesoft:
    username: mulesoft@acme.example
    last_name: Integration
    email: mulesoft@acme.example
    profile: Minimum Access - API Only Integrations
    permission_sets: [INT_Invoices{extra}]
"""


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emulator:
        yield emulator


@pytest.fixture
def org(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Org:
    monkeypatch.chdir(tmp_path)  # plans/ and the drift state stay in the test's directory
    org = Org(emu, tmp_path)
    (org.config / "policies").mkdir()
    (org.config / "policies" / "baseline.yaml").write_text(BASELINE)
    return org


def at(path: Path, needle: str) -> str:
    lines = path.read_text().splitlines()
    line, text = next((n, t) for n, t in enumerate(lines, 1) if needle in t)
    return f"{path}:{line}:{text.index(needle) + 1}"


def test_plan_refuses_access_only_the_org_knows_at_the_line_that_grants_it(org: Org) -> None:
    # A set made by hand in the org: the config only assigns it, so the config alone
    # can't see that it carries Modify All Data; the plan, reading the org, can.
    make_set(org.sf, "Org_Power", PermissionsModifyAllData=True)
    org.write("access.yaml", CONFIG.format(extra=", Org_Power"))
    assert org.run("validate").exit_code == 0
    result = org.run("plan")
    assert result.exit_code == 1
    assert (f"{at(org.config / 'access.yaml', 'Org_Power')}: policy "
            "integration-baseline.modify-all-data: mulesoft@acme.example holds ModifyAllData "
            "through set Org_Power") in result.stderr
    assert not Path("plans/emu.plan.json").exists()
    org.write("access.yaml", CONFIG.format(extra=""))
    planned = org.run("plan")
    assert planned.exit_code == 0, planned.output


def test_apply_keeps_the_policy_with_or_without_a_saved_plan(org: Org) -> None:
    make_set(org.sf, "Org_Power", PermissionsModifyAllData=True)
    org.write("access.yaml", CONFIG.format(extra=", Org_Power"))
    baseline = org.config / "policies" / "baseline.yaml"
    baseline.unlink()
    # A plan saved before the policy was added, then applied once it is in force.
    assert org.run("plan").exit_code == 0
    baseline.write_text(BASELINE)
    for args in (("apply", "plans/emu.plan.json"), ("apply", "--auto-approve")):
        refused = org.run(*args)
        assert refused.exit_code == 1, refused.output
        assert "policy integration-baseline.modify-all-data" in refused.stderr
    assert org.sf.query("SELECT Id FROM User WHERE Username = 'mulesoft@acme.example'"
                        )["totalSize"] == 0


def test_drift_and_policy_check_report_a_violation_made_in_the_org(org: Org) -> None:
    # A set made by hand that the config assigns but does not declare: its content is
    # the org's business, so only the policy notices what an admin adds to it.
    reader = make_set(org.sf, "Org_Reader")
    grant(org.sf, reader, "Invoice__c", Read=True)
    org.write("access.yaml", CONFIG.format(extra=", Org_Reader"))
    applied = org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    clean = org.run("drift", "--format", "json")
    assert clean.exit_code == 0, clean.output
    org.sf.PermissionSet.update(reader, {"PermissionsViewSetup": True})
    drift = org.run("drift", "--format", "json")
    assert drift.exit_code == 3, drift.output
    report: dict[str, Any] = json.loads(drift.stdout)
    (item,) = report["items"]
    assert item["kind"] == "policy_violation"
    assert item["severity"] == "widening"
    assert ("integration-baseline.view-setup: mulesoft@acme.example holds ViewSetup through "
            "set Org_Reader") in item["summary"]
    assert item["config_location"] == at(org.config / "access.yaml", "Org_Reader")
    check = org.run("policy", "check", "--format", "json")
    assert check.exit_code == 1
    violations = json.loads(check.stdout)["violations"]
    assert [v["rule"] for v in violations] == ["integration-baseline.view-setup"]
    # The config alone can't see the set's content, and says nothing.
    assert org.run("policy", "check", "--offline").exit_code == 0


IMPORT_SEED: dict[str, Any] = {
    **INVOICE_SEED,
    "permission_sets": [{"name": "Legacy_Sync", "label": "Legacy sync",
                         "system_permissions": ["ApiEnabled", "ViewAllData"],
                         "objects": {"Invoice__c": ["read"]}}],
    "users": [{"username": "legacy@acme.example", "first_name": "Api", "last_name": "Legacy",
               "email": "ops@acme.example", "profile": INTEGRATION_PROFILE, "alias": "legacy",
               "permission_sets": ["Legacy_Sync"]}],
}


def test_policy_check_on_an_imported_org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", IMPORT_SEED) as emu:
        org = Org(emu, tmp_path)
        imported = org.run("import", "--integration-users", "-o", str(org.config))
        assert imported.exit_code == 0, imported.output
        org.write("policies.yaml", BASELINE + """\
  waivers:
    - rule: integration-baseline.view-all-data
      permission_set: Legacy_Sync
      reason: Until the sync moves to its own objects
      expires: "2999-01-01"
""")
        waived = org.run("policy", "check")
        assert waived.exit_code == 0, waived.output
        assert ("integration-baseline.view-all-data waived for permission set Legacy_Sync "
                "(until 2999-01-01): Until the sync moves") in waived.stdout
        org.write("policies.yaml", BASELINE)
        result = org.run("policy", "check")
        assert result.exit_code == 1
        sets = org.config / "permission_sets.yaml"
        assert (f"{at(sets, 'ViewAllData')}: policy integration-baseline.view-all-data: "
                "legacy@acme.example holds ViewAllData through set Legacy_Sync") in result.stdout

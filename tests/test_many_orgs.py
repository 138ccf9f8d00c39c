"""Many orgs in one command: three embedded orgs, one of which fails, through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from tests.orgdir import FIXTURES, WALKTHROUGH

# dev and uat are made with the Invoice__c object the walkthrough grants; bare is not,
# so its plan is refused. The username differs per org through a per-org var file.
ORGS = """\
settings:
  api_version: "62.0"
  default_org: dev
variables:
  env: {description: the org's environment}
orgs:
  dev: {emulator: true, seed: ../seed.yaml}
  uat: {emulator: true, seed: ../seed.yaml}
  bare: {emulator: true}
"""


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (tmp_path / "seed.yaml").write_text((FIXTURES / "seeds" / "walkthrough.yaml").read_text())
    body = WALKTHROUGH[WALKTHROUGH.index("permission_sets:"):]
    (config / "main.yaml").write_text(
        ORGS + body.replace("mulesoft@acme.com.integration", "mulesoft@acme.com.${var.env}"))
    for org in ("dev", "uat", "bare"):
        (tmp_path / f"env-{org}.yaml").write_text(f"env: {org}\n")
    return tmp_path


def run(root: Path, *args: str, org: str | None = None,
        variables: str | None = None) -> Result:
    """The CLI on ``root``'s config, each org's variables from its var file (or all
    from ``--var variables``)."""
    head = ["-c", str(root / "config"), *(["--var", variables] if variables else
                                          ["--var-file", str(root / "env-{org}.yaml")])]
    return CliRunner().invoke(cli, [*head, *(["--org", org] if org else []), *args])


def rows(output: str) -> dict[str, list[str]]:
    """The summary table's rows by org (columns split on runs of two spaces)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"org +exit +changes", line))
    table = {}
    for line in lines[start + 1:]:
        if line.endswith("(the worst of the runs)"):
            break
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        table[cells[0]] = cells
    return table


def test_plan_all_orgs_reports_every_org_and_exits_with_the_failure(fleet_dir: Path) -> None:
    result = run(fleet_dir, "plan", "--all-orgs", "--jobs", "3",
                 "--out", str(fleet_dir / "plans"))
    assert result.exit_code == 1, result.output
    table = rows(result.stdout)
    assert list(table) == ["dev", "uat", "bare"]
    assert table["dev"][1:5] == ["0", "+11 ~0 -0", "-", "9"]
    assert table["uat"][1:5] == ["0", "+11 ~0 -0", "-", "9"]
    assert table["bare"][1] == "1"
    assert 'object "Invoice__c" does not exist in the org' in table["bare"][-1]
    # The good orgs' output is complete, labelled, with their own variables.
    dev = result.stdout.split("==> dev <==")[1].split("==> uat <==")[0]
    assert "create user mulesoft@acme.com.dev" in dev
    assert "Plan: 11 to add, 0 to change, 0 to remove" in dev
    assert "mulesoft@acme.com.uat" in result.stdout.split("==> uat <==")[1]
    # The failing org's problems are on stderr, at their config lines.
    assert "main.yaml:" in result.stderr and "Invoice__c" in result.stderr
    saved = sorted(p.name for p in (fleet_dir / "plans").iterdir())
    assert saved == ["dev.plan.json", "uat.plan.json"]


def test_org_list_with_placeholder_out_and_detailed_exitcode(fleet_dir: Path) -> None:
    out = fleet_dir / "saved" / "{org}-plan.json"
    result = run(fleet_dir, "plan", "--out", str(out), "--detailed-exitcode", org="uat,dev")
    assert result.exit_code == 2, result.output
    assert list(rows(result.stdout)) == ["uat", "dev"]
    assert (fleet_dir / "saved" / "dev-plan.json").is_file()
    assert (fleet_dir / "saved" / "uat-plan.json").is_file()
    # The saved plan applies to its own org.
    applied = run(fleet_dir, "apply", str(fleet_dir / "saved" / "dev-plan.json"), org="dev")
    assert applied.exit_code == 0, applied.output
    again = run(fleet_dir, "plan", "--detailed-exitcode", "--out", str(fleet_dir / "p"),
                org="dev,uat")
    assert again.exit_code == 2
    table = rows(again.stdout)
    assert table["dev"][1:3] == ["0", "+0 ~0 -0"] and table["uat"][1:3] == ["2", "+11 ~0 -0"]


def test_plan_json_is_one_document_for_all_orgs(fleet_dir: Path) -> None:
    result = run(fleet_dir, "plan", "--format", "json", "--out", str(fleet_dir / "plans"),
                 org="dev,bare")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 1
    assert [r["org"] for r in doc["runs"]] == ["dev", "bare"]
    assert doc["runs"][0]["report"]["org"]["name"] == "dev"
    assert doc["runs"][1]["report"] is None and "Invoice__c" in doc["runs"][1]["error"]


def test_drift_and_doctor_over_three_orgs(fleet_dir: Path) -> None:
    drift = run(fleet_dir, "drift", "--all-orgs", "-j", "2")
    assert drift.exit_code == 1, drift.output
    table = rows(drift.stdout)
    assert table["dev"][1] == "2" and table["dev"][3] == "drift"
    assert table["uat"][1] == "2" and table["bare"][1] == "1"
    assert "==> uat <==" in drift.stdout
    doctor = run(fleet_dir, "doctor", org="dev,bare")
    assert doctor.exit_code == 1
    table = rows(doctor.stdout)
    assert table["dev"][1:5] == ["0", "-", "-", "8"] and table["dev"][-1] == "-"
    assert table["bare"][1] == "1" and table["bare"][-1] == "1 check failed"
    assert doctor.stdout.count("doctor: org ") == 2 and "ready\n" in doctor.stdout


def test_an_unknown_org_is_one_failing_row(fleet_dir: Path) -> None:
    result = run(fleet_dir, "doctor", org="dev,prdo", variables="env=x")
    assert result.exit_code == 1
    table = rows(result.stdout)
    assert "no org named" in table["prdo"][-1]
    assert "doctor: org dev" in result.stdout


def test_usage_mistakes(fleet_dir: Path) -> None:
    both = run(fleet_dir, "plan", "--all-orgs", org="dev")
    assert both.exit_code == 1 and "--all-orgs and --org" in both.stderr
    every = run(fleet_dir, "drift", "--every", "1m", org="dev,uat")
    assert every.exit_code == 2 and "--every runs one org" in every.stderr
    assert "exit code is the worst" in " ".join(run(fleet_dir, "plan", "--help").stdout.split())


def test_access_answers_per_org(fleet_dir: Path) -> None:
    applied = run(fleet_dir, "apply", "--auto-approve", org="dev")
    assert applied.exit_code == 0, applied.output
    result = run(fleet_dir, "access", "--who", "Invoice__c:read", org="dev,uat")
    assert result.exit_code == 0, result.output
    dev, uat = result.stdout.split("==> uat <==")
    assert "mulesoft@acme.com.dev" in dev and "mulesoft@acme.com" not in uat
    table = rows(result.stdout)
    assert table["dev"][1] == "0" and int(table["dev"][4]) > 0
    single = run(fleet_dir, "access", "--who", "Invoice__c:read", org="dev")
    assert single.stdout.strip() in dev


def test_access_as_json_over_orgs_is_one_document(fleet_dir: Path) -> None:
    run(fleet_dir, "apply", "--auto-approve", org="dev")
    one = run(fleet_dir, "access", "--who", "Invoice__c:read", "--format", "json", org="dev")
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout) == json.loads(
        run(fleet_dir, "access", "--who", "Invoice__c:read", "--json", org="dev").stdout)
    both = run(fleet_dir, "access", "--who", "Invoice__c:read", "--format", "json",
               org="dev,uat")
    assert both.exit_code == 0, both.output
    reports = {r["org"]: r["report"] for r in json.loads(both.stdout)["runs"]}
    assert reports["dev"] == json.loads(one.stdout)
    assert reports["uat"] != reports["dev"]

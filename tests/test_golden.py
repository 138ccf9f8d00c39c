"""Golden plan cases: config + seed org → expected plan, through HTTPS to the emulator.

Each folder of ``fixtures/cases/`` holds ``config/`` (the YAML), ``seed.yaml`` (the org,
optional) and ``expected.json``: the plan's actions, layers, manual steps, warnings,
summary and API calls, or the located problems of a rejected plan. A mismatch prints
what was wanted and what came. ``RECONCILER_UPDATE_GOLDEN=1`` rewrites the files (then
read the diff before committing it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import load_config
from reconciler.emulator import start_emulator
from reconciler.emulator.seed import load_seed_file
from reconciler.errors import ConfigError, PlanRejected
from reconciler.org.client import OrgClient
from reconciler.org.login import Connection
from reconciler.plan import make_plan

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"
UPDATE = os.environ.get("RECONCILER_UPDATE_GOLDEN") == "1"


def run_case(case: Path) -> dict[str, Any]:
    """Plan the case's config against its seeded org; the comparable part of the result."""
    meta = json.loads((case / "case.json").read_text()) if (case / "case.json").exists() else {}
    try:
        config = load_config(case / "config")
    except ConfigError as exc:
        return {"problems": [str(p) for p in exc.problems]}
    seed = load_seed_file(case / "seed.yaml") if (case / "seed.yaml").exists() else None
    with start_emulator(None, seed) as emu:
        creds = emu.credentials()
        conn = Connection(login_url=emu.url, flow="client_credentials",
                          client_id=creds["client_id"], client_secret=creds["client_secret"],
                          ca_bundle=emu.ca_file)
        with OrgClient(conn) as client:
            try:
                plan = make_plan(config, client, org_name="local",
                                 targets=meta.get("targets", ()),
                                 excludes=meta.get("excludes", ()))
            except PlanRejected as exc:
                return {"problems": [str(p) for p in exc.problems]}
    data = plan.to_json()
    return {key: data[key] for key in ("summary", "api_calls", "actions", "layers",
                                       "manual_steps", "warnings")}


def _relative(result: dict[str, Any], case: Path) -> dict[str, Any]:
    """Problem locations relative to the case folder, so results don't depend on cwd."""
    if "problems" in result:
        prefix = str(case / "config") + os.sep
        result["problems"] = [p.replace(prefix, "") for p in result["problems"]]
    return result


@pytest.mark.parametrize("case", sorted(p for p in CASES.iterdir() if p.is_dir()),
                         ids=lambda p: p.name)
def test_golden_case(case: Path) -> None:
    got = _relative(run_case(case), case)
    expected_file = case / "expected.json"
    if UPDATE or not expected_file.exists():
        expected_file.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
        if not UPDATE:
            pytest.fail(f"{expected_file} did not exist: written, review it")
    wanted = json.loads(expected_file.read_text())
    if got != wanted:
        pytest.fail(f"{case.name}: the plan differs from {expected_file.name}\n"
                    f"--- wanted\n{json.dumps(wanted, indent=2)}\n"
                    f"+++ got\n{json.dumps(got, indent=2)}")


def test_there_are_enough_cases() -> None:
    assert len([p for p in CASES.iterdir() if p.is_dir()]) >= 20

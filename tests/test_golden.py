"""Golden plan cases: config + seed org → expected plan, through HTTPS to the emulator.

Each folder of ``fixtures/cases/`` holds ``config/`` (the YAML), ``seed.yaml`` (the org,
optional) and ``expected.json``: the plan's actions, layers, manual steps, warnings,
summary and API calls, or the located problems of a rejected plan. A mismatch prints
what differs and where (actions named by id, moves by position), then what was wanted
and what came. ``RECONCILER_UPDATE_GOLDEN=1`` rewrites the files (then
read the diff before committing it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from deepdiff import DeepDiff

from reconciler.config import load_config
from reconciler.emulator import start_emulator
from reconciler.emulator.seed import load_seed_file
from reconciler.errors import ConfigError, PlanRejected
from reconciler.org.client import OrgClient
from reconciler.org.login import Connection
from reconciler.workflow import make_plan

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


def _keyed(value: Any) -> Any:
    """Lists of things with an id become maps by id, so a difference names the action."""
    if isinstance(value, list) and value and all(
            isinstance(v, dict) and "id" in v for v in value):
        return {v["id"]: _keyed(v) for v in value}
    if isinstance(value, dict):
        return {k: _keyed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keyed(v) for v in value]
    return value


def _moves(wanted: Any, got: Any, where: str = "root") -> list[str]:
    """Items (by id) both lists hold, at another place among them."""
    if isinstance(wanted, dict) and isinstance(got, dict):
        return [line for k in wanted.keys() & got.keys()
                for line in _moves(wanted[k], got[k], f"{where}[{k!r}]")]
    if not (isinstance(wanted, list) and isinstance(got, list)):
        return []
    ids = [[v["id"] for v in side if isinstance(v, dict) and "id" in v]
           for side in (wanted, got)]
    both = set(ids[0]) & set(ids[1])
    order = [[i for i in side if i in both] for side in ids]
    return [f"{where}: {i} moved from position {order[0].index(i)} to {order[1].index(i)}"
            for i in order[0] if order[0].index(i) != order[1].index(i)]


def readable_diff(wanted: Any, got: Any) -> str:
    """What differs between two results, where: deepdiff's words, actions keyed by id."""
    # threshold 0: item by item, never "the whole list changed" when few keys match.
    diff = DeepDiff(_keyed(wanted), _keyed(got), threshold_to_diff_deeper=0)
    return "\n".join([diff.pretty(), *_moves(wanted, got)]).strip()


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
                    f"{readable_diff(wanted, got)}\n"
                    f"--- wanted\n{json.dumps(wanted, indent=2)}\n"
                    f"+++ got\n{json.dumps(got, indent=2)}")


def test_there_are_enough_cases() -> None:
    assert len([p for p in CASES.iterdir() if p.is_dir()]) >= 20


def test_a_mismatch_says_what_moved_where() -> None:
    wanted = json.loads((CASES / "activity-field-mirrored" / "expected.json").read_text())
    got = json.loads(json.dumps(wanted))
    got["actions"].reverse()
    got["actions"][0]["after"].append("create")
    first, second = (a["id"] for a in wanted["actions"])
    assert readable_diff(wanted, got).splitlines() == [
        f"Item root['actions']['{second}']['after'][2] added to iterable.",
        f"root['actions']: {first} moved from position 0 to 1",
        f"root['actions']: {second} moved from position 1 to 0",
    ]
    assert readable_diff(wanted, wanted) == ""

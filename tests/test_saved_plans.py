"""Plan files written by earlier releases of format version 1 still load.

``fixtures/plans/v1/`` holds plans saved by the reconciler before its plan document
was declared with pydantic (together they hold every action kind the golden cases
produce). ``show`` must read each one and print it back unchanged, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.orgdir import FIXTURES

SAVED = sorted((FIXTURES / "plans" / "v1").glob("*.plan.json"))


def test_the_saved_plans_cover_many_action_kinds() -> None:
    kinds = {a["kind"] for path in SAVED for a in json.loads(path.read_text())["actions"]}
    assert len(kinds) >= 25


@pytest.mark.parametrize("path", SAVED, ids=lambda p: p.name.removesuffix(".plan.json"))
def test_a_plan_saved_by_an_earlier_release_loads_unchanged(path: Path) -> None:
    shown = CliRunner().invoke(cli, ["show", str(path), "--json"])
    assert shown.exit_code == 0, shown.output
    assert shown.output == path.read_text()
    summary = json.loads(path.read_text())["summary"]
    text = CliRunner().invoke(cli, ["--no-color", "show", str(path)])
    assert text.exit_code == 0, text.output
    assert (f"Plan: {summary['add']} to add, {summary['change']} to change, "
            f"{summary['remove']} to remove") in text.output

"""Plan files written by earlier releases of format version 1 still load.

``fixtures/plans/v1/`` holds plans saved by the reconciler before its plan document
was declared with pydantic (together they hold every action kind the golden cases
produce). ``show`` must read each one and print it back unchanged, byte for byte; an
edited copy is refused in one line that says where it is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _first(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(a for a in doc["actions"] if a["kind"] == kind)


# An edit of a saved plan → what the one-line refusal must say about it.
EDITS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "an unknown key": (lambda d: _first(d, "create_user").update(admin=True),
                       'actions[6]: unknown key "admin"'),
    "a missing key": (lambda d: _first(d, "create_user").pop("profile"),
                      'actions[6]: missing key "profile"'),
    "a string for true": (lambda d: _first(d, "create_user").update(active="true"),
                          'actions[6].active must be true or false, not "true"'),
    "a number for a name": (lambda d: _first(d, "create_user").update(username=7),
                            "actions[6].username must be a string, not 7"),
    "an unknown kind": (lambda d: _first(d, "create_user").update(kind="drop_org"),
                        'actions[6]: unknown action kind "drop_org"'),
    "another address": (lambda d: _first(d, "create_user").update(address="users.root"),
                         'actions[6]: address "users.root" is not the one its fields give'),
    "a write of another kind": (
        lambda d: _first(d, "create_user").update(writes={"sobject": "User",
                                                          "operation": "delete"}),
        "actions[6]: writes is not what a create_user writes (User create)"),
    "a negative count": (lambda d: d["api_calls"].update(read=-1),
                         "api_calls.read must be a whole number, not -1"),
    "an action twice": (lambda d: d["actions"].append(_first(d, "create_user")),
                        'action "create_user:users.mulesoft" appears twice'),
}


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_an_edited_plan_file_is_refused_in_one_line_saying_where(edit: str,
                                                                  tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "plans" / "v1" / "psl-implied-through-group.plan.json")
                     .read_text())
    change, where = EDITS[edit]
    change(doc)
    path = tmp_path / "edited.plan.json"
    path.write_text(json.dumps(doc, indent=2))
    shown = CliRunner().invoke(cli, ["show", str(path)])
    assert shown.exit_code == 1
    assert shown.output.startswith(f"Error: {path}: malformed plan file: {where}")
    assert shown.output.endswith("; run `reconciler plan` again and apply the new plan\n")
    assert shown.output.count("\n") == 1 and "Traceback" not in shown.output

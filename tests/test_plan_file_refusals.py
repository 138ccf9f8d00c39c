"""A damaged plan file is refused in one line that says what is wrong and where.

``tests/test_saved_plans.py`` edits the actions of a saved plan; these edit the rest of
the document (its top level, the org and counts it records) and its JSON itself, where
a reviewer who hand-edited or truncated the file needs the line to find the mistake.
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

SAVED = FIXTURES / "plans" / "v1" / "psl-implied-through-group.plan.json"
REPLAN = "; run `reconciler plan` again and apply the new plan"


def _edited(change: Callable[[dict[str, Any]], Any]) -> str:
    doc = json.loads(SAVED.read_text())
    change(doc)
    return json.dumps(doc, indent=2)


# A damaged plan file → the one line `show` must print about it (after the path).
DAMAGE: dict[str, tuple[str, str]] = {
    "an unknown top-level key": (_edited(lambda d: d.update(extra=1)),
                                 f'malformed plan file: the plan: unknown key "extra"{REPLAN}'),
    "a missing top-level key": (_edited(lambda d: d.pop("api_calls")),
                                f'malformed plan file: the plan: missing key "api_calls"{REPLAN}'),
    "a missing count": (_edited(lambda d: d["summary"].pop("add")),
                        f'malformed plan file: summary: missing key "add"{REPLAN}'),
    "an unknown key in the org": (_edited(lambda d: d["org"].update(zzz=1)),
                                  f'malformed plan file: org: unknown key "zzz"{REPLAN}'),
    "an action without a kind": (_edited(lambda d: d["actions"][0].pop("kind")),
                                 f'malformed plan file: actions[0]: missing key "kind"{REPLAN}'),
    "a number among an action's dependencies": (
        _edited(lambda d: d["actions"][0].update(depends_on=[1])),
        f"malformed plan file: actions[0].depends_on[0] must be a string, not 1{REPLAN}"),
    "NaN": (SAVED.read_text().replace('"version": 1', '"version": NaN'),
            "not a readable plan file: NaN is not a JSON value"),
    "a key twice": ('{"format": "reconciler-plan", "format": "x"}',
                    'not a readable plan file: duplicate key "format"'),
    "another tool's JSON": ('{"format": "terraform-plan"}', "not a reconciler plan file"),
    "a list": ("[]", "not a reconciler plan file"),
    "cut short": ('{"format": "reconciler-plan",\n',
                  "not a readable plan file: Expecting property name enclosed in double "
                  "quotes: line 2 column 1 (char 30)"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_plan_file_is_refused_saying_what_and_where(damage: str,
                                                               tmp_path: Path) -> None:
    text, message = DAMAGE[damage]
    path = tmp_path / "damaged.plan.json"
    path.write_text(text)
    shown = CliRunner().invoke(cli, ["show", str(path)])
    assert shown.exit_code == 1
    assert shown.output == f"Error: {path}: {message}\n"

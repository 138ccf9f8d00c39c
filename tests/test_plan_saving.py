"""A saved plan is a file people review: indented JSON that keeps names as written, or
one line saying why it could not be saved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, Org

CONFIG = """\
permission_sets:
  INT_Factures:
    label: Intégration – factures
"""


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        yield Org(emu, tmp_path)


def test_a_saved_plan_is_indented_and_keeps_names_as_written(org: Org) -> None:
    org.write("access.yaml", CONFIG)
    assert org.run("plan", "--out", "plans/p.json").exit_code == 0
    text = Path("plans/p.json").read_text(encoding="utf-8")
    assert '"label": "Intégration – factures"' in text
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_a_plan_that_cannot_be_saved_says_where_and_why(org: Org) -> None:
    org.write("access.yaml", CONFIG)
    Path("taken").write_text("a file, not a directory\n")
    result = org.run("plan", "--out", "taken/p.json")
    assert result.exit_code == 1
    assert result.output == "Error: can't save the plan to taken/p.json: File exists\n"

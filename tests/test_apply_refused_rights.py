"""A write the org refuses for want of a right says who was refused what, and where to
find which rights the running user lacks: through the CLI against the emulator, as a
user that may assign sets but not create them."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from tests.test_apply_groups import ASSIGNER_SEED, as_assigner


def test_a_refused_right_names_the_user_the_write_and_the_doctor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", ASSIGNER_SEED) as emu:
        org = as_assigner(emu, tmp_path)
        org.write("main.yaml", "permission_sets:\n  INT_New:\n    label: New\n")
        result = org.run("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert ("(the org refused the running user assigner@acme.example the right to create "
            "PermissionSet records: it lacks a permission this write needs; "
            "`reconciler doctor` checks them all)\n") in result.output

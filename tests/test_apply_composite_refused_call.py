"""A composite call refused as a whole, or whose connection dropped before an answer,
fails only the records it carried: the next call of the same layer is still sent and its
records written, so a rerun has only those left. Through the CLI against the emulator
over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import Org
from tests.test_apply_composite import SEED, WRITES, fields_config

FIELD_ROWS = 1050  # two composite calls: 1,000 rows, then 50


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        yield Org(emu, tmp_path)


@pytest.mark.parametrize(("fault", "error"), [
    ({"kind": "error", "status": 400, "error_code": "JSON_PARSER_ERROR",
      "message": "unexpected token"}, "JSON_PARSER_ERROR: unexpected token"),
    ({"kind": "drop", "when": "before"}, "the connection dropped before an answer came"),
], ids=["refused", "dropped"])
def test_a_composite_call_that_fails_fails_its_records_and_the_next_call_goes_on(
        org: Org, fault: dict[str, object], error: str) -> None:
    org.write("wide.yaml", fields_config())
    org.emu.faults.add(method="POST", path="composite$", body=WRITES, times=1, **fault)
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    # the set, its 3 object rows and the last 50 field rows; not the first 1,000
    assert (f"Applied {1 + 3 + FIELD_ROWS - 1000}, failed 1000, skipped 0, not attempted 0 "
            f"· 4 write calls, {1 + 3 + FIELD_ROWS - 1000} records written") in result.output
    assert error in result.output
    assert org.sf.query("SELECT COUNT() FROM FieldPermissions WHERE Parent.Name = "
                        "'INT_Wide'")["totalSize"] == FIELD_ROWS - 1000
    rerun = org.run("apply", "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert "Applied 1000, failed 0" in rerun.output

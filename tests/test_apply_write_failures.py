"""Writes the org keeps refusing fail with the org's own words, after a bounded number
of tries, and skip what depends on them: through the CLI against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import INVOICE_SEED, Org

CONFIG = """\
permission_sets:
  INT_A:
    label: A
    objects:
      Invoice__c: [read]
"""
COLLECTIONS = {"method": "POST", "path": "composite/sobjects$", "times": None}


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        yield Org(emu, tmp_path)


@pytest.mark.parametrize(("fault", "calls", "error"), [
    # a lock that never clears: the first try and three more, then the org's error
    ({"kind": "lock"}, 4,
     "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record"),
    # the whole call refused: no retry, every record in it fails with the org's words
    ({"kind": "error", "status": 400, "error_code": "INVALID_TYPE",
      "message": "refused whole"}, 1, "INVALID_TYPE: refused whole"),
], ids=["lock-never-clears", "call-refused"])
def test_a_write_the_org_keeps_refusing_fails_and_skips_its_dependents(
        org: Org, fault: dict[str, Any], calls: int, error: str) -> None:
    org.write("a.yaml", CONFIG)
    org.emu.faults.add(**fault, **COLLECTIONS)
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert (f"Applied 0, failed 1, skipped 1, not attempted 0 · {calls} write calls, "
            "0 records written") in result.output
    assert (f"a.yaml:2:3: permission_sets.INT_A: failed: create permission set \"A\", no "
            f"license: {error}\n") in result.output
    assert ("skipped permission_sets.INT_A.objects.Invoice__c: it depends on "
            "create_permission_set:permission_sets.INT_A") in result.output
    assert org.emu.stats()["by_route"]["POST composite/sobjects"] == calls
    assert org.sf.query("SELECT COUNT() FROM PermissionSet WHERE Name = 'INT_A'"
                        )["totalSize"] == 0

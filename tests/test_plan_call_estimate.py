"""The write calls a plan says apply will take, at the edges of each way of writing: up
to 200 records of one kind in a layer are one sObject Collections call, 201 need a
composite call carrying collections, and past 5,000 one Bulk API 2.0 job takes them (six
calls for creates: the job, its data, closing it, two polls, the results). Through the
CLI against the emulator over HTTPS; planning only, nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.actions import BULK_THRESHOLD
from reconciler.emulator import start_emulator
from tests.orgdir import Org

OBJECTS, FIELDS = 17, 300  # 5,100 fields: past the bulk threshold
SEED = {"custom_objects": [{"name": f"Wide{o:02}__c", "label": f"Wide {o}",
                            "fields": {f"F{f:03}__c": "text" for f in range(FIELDS)}}
                           for o in range(OBJECTS)]}


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        yield Org(emu, tmp_path)


def _estimate(org: Org, fields: int) -> str:
    """The plan's summary of apply's calls for a set reading ``fields`` fields (and the
    objects that hold them)."""
    names = [f"Wide{n // FIELDS:02}__c.F{n % FIELDS:03}__c" for n in range(fields)]
    objects = sorted({name.split(".")[0] for name in names})
    org.write("access.yaml", "permission_sets:\n  INT_Wide:\n    label: Wide\n"
              "    objects:\n" + "".join(f"      {o}: [read]\n" for o in objects)
              + "    fields:\n" + "".join(f"      {n}: [read]\n" for n in names))
    result = org.run("plan")
    assert result.exit_code == 0, result.output
    summary = next(line for line in result.output.splitlines() if line.startswith("Plan: "))
    return summary.split(" · ")[1]


def test_a_layer_past_200_records_of_one_kind_is_one_composite_call(org: Org) -> None:
    # The set, then its object row and its field rows: three groups, one call each.
    assert _estimate(org, 200) == "6 API calls to read, ~3 to apply (3 collections)"
    assert _estimate(org, 201) == ("6 API calls to read, ~3 to apply (2 collections, "
                                   "1 composite)")


def test_past_5000_records_of_one_kind_a_bulk_job_takes_them(org: Org) -> None:
    # The set and the object rows by collections; the field rows in one job.
    assert _estimate(org, BULK_THRESHOLD + 1).endswith(
        "~9 to apply (2 collections, 7 bulk)")


def test_a_bulk_job_that_deletes_costs_no_call_to_read_back_ids(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fields = {f"Wide{n // FIELDS:02}__c.F{n % FIELDS:03}__c": ["read"]
              for n in range(BULK_THRESHOLD + 1)}
    objects = {f"Wide{o:02}__c": ["read"] for o in range(OBJECTS)}
    seed = {**SEED, "permission_sets": [{"name": "INT_Wide", "label": "Wide",
                                         "objects": objects, "fields": fields}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = Org(emu, tmp_path)
        org.write("access.yaml", "permission_sets:\n  INT_Wide:\n    label: Wide\n")
        result = org.run("plan")
        assert result.exit_code == 0, result.output
        # The object rows by collections; the field rows in one job: create, upload,
        # close, two polls.
        assert "~7 to apply (1 collections, 6 bulk)" in result.output, result.output

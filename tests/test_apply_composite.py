"""`apply` of layers past 200 records: composite calls carrying sObject Collections,
through the CLI against the emulator over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import start_emulator
from tests.orgdir import Org

# A composite call carrying collections (the plan's describes are composite calls too).
WRITES = "composite/sobjects"
USERS = 210  # one layer of 210 user creates, then one of 210 assignments
SEED = {"user_licenses": [{"name": "Salesforce", "seats": USERS + 10}],
        "custom_objects": [{"name": f"Wide{o}__c", "label": f"Wide {o}",
                            "fields": {f"F{f}__c": "text" for f in range(350)}}
                           for o in range(3)]}


def users_config(*, bad: int | None = None) -> str:
    """One set and USERS users holding it; user ``bad`` has a time zone the org lacks."""
    lines = ["permission_sets:", "  INT_Many:", "    label: Many", "    objects:",
             "      Wide0__c: [read]", "users:"]
    for u in range(USERS):
        lines += [f"  u{u:03}:", f"    username: u{u:03}@acme.example",
                  f"    last_name: User {u}", f"    email: u{u:03}@acme.example",
                  "    profile: Standard User", "    permission_sets: [INT_Many]"]
        if u == bad:
            lines.append("    time_zone: Europe/Madrid")
    return "\n".join(lines) + "\n"


def fields_config() -> str:
    """One set granting read on 1,050 fields: more than one composite call holds."""
    lines = ["permission_sets:", "  INT_Wide:", "    label: Wide", "    objects:"]
    lines += [f"      Wide{o}__c: [read]" for o in range(3)]
    lines.append("    fields:")
    lines += [f"      Wide{o}__c.F{f}__c: [read]" for o in range(3) for f in range(350)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", SEED) as emu:
        yield Org(emu, tmp_path)


def assigned(org: Org) -> int:
    return int(org.sf.query("SELECT COUNT() FROM PermissionSetAssignment WHERE "
                            "PermissionSet.Name = 'INT_Many'")["totalSize"])


def test_a_large_layer_goes_in_composite_calls_as_the_plan_says(org: Org) -> None:
    org.write("wide.yaml", fields_config())
    planned = org.run("plan")
    assert planned.exit_code == 0, planned.output
    # the set and its 3 object rows by collections; 1,050 field rows by composite
    assert "~4 to apply (2 collections, 2 composite)" in planned.output
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Converged: no changes left." in result.output
    assert "4 write calls, 1054 records written (planned ~4 calls)" in result.output
    assert org.emu.stats()["by_route"]["POST composite/sobjects"] == 2
    assert org.sf.query("SELECT COUNT() FROM FieldPermissions WHERE Parent.Name = "
                        "'INT_Wide'")["totalSize"] == 1050


def test_one_failing_record_in_a_composite_skips_only_its_dependents(org: Org) -> None:
    org.write("many.yaml", users_config(bad=205))  # in the second subrequest
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert f"Applied {1 + 1 + 2 * USERS - 2}, failed 1, skipped 1" in result.output
    failed = next(x for x in result.output.splitlines() if "users.u205: failed" in x)
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in failed
    assert "skipped users.u205.permission_sets.INT_Many" in result.output
    assert assigned(org) == USERS - 1


def test_row_locks_inside_a_composite_are_sent_again(org: Org) -> None:
    org.write("many.yaml", users_config())
    org.emu.faults.add(kind="lock", method="POST", path="composite$", body=WRITES, times=1)
    result = org.run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Converged: no changes left." in result.output
    # the users' call was locked and sent again: one call more than planned
    assert (f"Applied {2 + 2 * USERS}, failed 0, skipped 0, not attempted 0 · 5 write calls, "
            f"{2 + 2 * USERS} records written (planned ~4 calls)") in result.output
    assert assigned(org) == USERS


def test_a_composite_whose_answer_never_came_then_a_rerun_converges(org: Org) -> None:
    org.write("many.yaml", users_config())
    # the users are created, but the answer is lost
    org.emu.faults.add(kind="drop", method="POST", path="composite$", body=WRITES,
                       when="after")
    first = org.run("apply", "--auto-approve")
    assert first.exit_code == 1
    assert "outcome unknown" in first.output
    assert assigned(org) == 0  # they depend on users whose creation is in doubt
    second = org.run("apply", "--auto-approve")
    assert second.exit_code == 0, second.output
    assert "Converged: no changes left." in second.output
    sf = org.sf
    assert sf.query("SELECT COUNT() FROM User WHERE Username LIKE 'u%@acme.example'")[
        "totalSize"] == USERS
    assert assigned(org) == USERS

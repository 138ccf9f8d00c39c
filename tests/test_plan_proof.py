"""A saved plan is a proof, not an instruction: `apply PLAN_FILE` through the CLI.

An edited plan is refused before any write, and so is a malformed one, in one line
and without a traceback; the org is checked over HTTPS with simple-salesforce.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce

from reconciler.emulator import start_emulator
from reconciler.emulator.seed import load_seed_file
from tests.orgdir import FIXTURES, INVOICE_SEED, WALKTHROUGH, Org

PLAN = Path("plans/p.json")
# What an admin would look at to see who can do what in the org.
STATE_QUERIES = (
    "SELECT Username, Profile.Name, IsActive FROM User ORDER BY Username",
    "SELECT Name, Label, PermissionsModifyAllData, PermissionsApiEnabled FROM PermissionSet "
    "WHERE IsOwnedByProfile = false ORDER BY Name",
    "SELECT Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment",
    "SELECT Assignee.Username, PermissionSetLicense.DeveloperName "
    "FROM PermissionSetLicenseAssign",
    "SELECT Parent.Name, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, "
    "PermissionsDelete, PermissionsModifyAllRecords FROM ObjectPermissions",
    "SELECT Parent.Name, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions",
)


def org_state(sf: Salesforce) -> list[list[str]]:
    """Users, sets, assignments and access rows, as comparable text."""
    return [sorted(json.dumps(_plain(r), sort_keys=True) for r in sf.query_all(q)["records"])
            for q in STATE_QUERIES]


def _plain(record: Any) -> Any:
    if isinstance(record, dict):
        return {k: _plain(v) for k, v in record.items() if k != "attributes"}
    return record


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        made = Org(emu, tmp_path)
        made.write("integration.yaml", WALKTHROUGH)
        planned = made.run("plan", "--out", str(PLAN))
        assert planned.exit_code == 0, planned.output
        yield made


def _edit(change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the saved plan as somebody with write access to it would, keeping it
    well-formed (the summary recounted) so only the proof can catch it."""
    doc = json.loads(PLAN.read_text())
    change(doc)
    actions = doc["actions"]
    doc["summary"] = {
        "add": sum(1 for a in actions if a["kind"].startswith(("create", "grant", "assign",
                                                                "add", "reactivate"))),
        "change": sum(1 for a in actions if a["kind"].startswith(("update", "change", "set"))),
        "remove": 0, "destructive": 0}
    PLAN.write_text(json.dumps(doc, indent=2))


def _action(doc: dict[str, Any], action_id: str) -> dict[str, Any]:
    return next(a for a in doc["actions"] if a["id"] == action_id)


def _refused(org: Org) -> str:
    """Apply the plan file; it must be refused in one line with nothing written."""
    before, writes = org_state(org.sf), org.writes()
    result = org.run("apply", str(PLAN))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert org.writes() == writes
    assert org_state(org.sf) == before
    return lines[0]


def test_a_saved_plan_applies_when_untouched(org: Org) -> None:
    result = org.run("apply", str(PLAN))
    assert result.exit_code == 0, result.output
    assert "Converged: no changes left." in result.output


# Golden cases whose plans reach past the declared resources (an undeclared user or
# group losing a set being deleted) or change what exists: their saved plans prove.
PROVING_CASES = ("delete-assigned-set", "delete-set-in-undeclared-group",
                 "group-membership-change", "convert-api-user")


@pytest.mark.parametrize("case", PROVING_CASES)
def test_saved_plans_of_golden_cases_prove_and_apply(case: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = FIXTURES / "cases" / case
    with start_emulator(tmp_path / "data", load_seed_file(folder / "seed.yaml")) as emu:
        made = Org(emu, tmp_path)
        for source in (folder / "config").iterdir():
            made.write(source.name, source.read_text())
        assert made.run("plan", "--out", str(PLAN)).exit_code == 0
        result = made.run("apply", str(PLAN))
        assert result.exit_code == 0, result.output
        assert "Converged: no changes left." in result.output


def test_modify_all_data_added_to_a_set_is_refused(org: Org) -> None:
    def widen(doc: dict[str, Any]) -> None:
        _action(doc, "create_permission_set:permission_sets.INT_Standard_Objects")[
            "system_permissions"].append("ModifyAllData")

    _edit(widen)
    line = _refused(org)
    assert ('changed "create_permission_set:permission_sets.INT_Standard_Objects": '
            'system_permissions is ["ApiEnabled", "ModifyAllData"] in the file, '
            '["ApiEnabled"] now') in line
    assert "Run `reconciler plan` again" in line


def test_a_profile_changed_to_system_administrator_is_refused(org: Org) -> None:
    def promote(doc: dict[str, Any]) -> None:
        user = _action(doc, "create_user:users.mulesoft")
        user["profile"], user["license"] = "System Administrator", "Salesforce"

    _edit(promote)
    line = _refused(org)
    assert 'changed "create_user:users.mulesoft": license is "Salesforce" in the file, ' \
           '"Salesforce Integration" now' in line


def test_an_injected_admin_outside_the_config_is_refused(org: Org) -> None:
    def inject(doc: dict[str, Any]) -> None:
        admin = json.loads(json.dumps(_action(doc, "create_user:users.mulesoft")))
        admin.update(id="create_user:users.intruder", address="users.intruder",
                     user="intruder", username="intruder@elsewhere.example",
                     profile="System Administrator", license="Salesforce")
        doc["actions"].append(admin)
        doc["layers"][0].append(admin["id"])

    _edit(inject)
    line = _refused(org)
    assert "outside the config's scope" in line
    assert '"create_user:users.intruder"' in line
    assert not org.sf.query("SELECT Id FROM User WHERE Username = "
                            "'intruder@elsewhere.example'")["records"]


def test_an_action_removed_from_the_plan_is_refused(org: Org) -> None:
    gone = "grant_object_access:permission_sets.INT_Standard_Objects.objects.Contact"

    def drop(doc: dict[str, Any]) -> None:
        doc["actions"] = [a for a in doc["actions"] if a["id"] != gone]
        for action in doc["actions"]:
            action["depends_on"] = [i for i in action["depends_on"] if i != gone]
        doc["layers"] = [[i for i in layer if i != gone] for layer in doc["layers"]]

    _edit(drop)
    assert f'missing "{gone}"' in _refused(org)


def test_reordered_layers_are_refused(org: Org) -> None:
    def reorder(doc: dict[str, Any]) -> None:
        doc["layers"].reverse()

    _edit(reorder)
    assert "the layers differ from layer 1 on" in _refused(org)


BAD_PLANS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "an unknown id in layers": lambda d: d["layers"][0].append("create_user:users.nobody"),
    "a non-object action": lambda d: d["actions"].append(["create_user"]),
    "malformed attributes": lambda d: _action(d, "create_user:users.mulesoft").update(
        attributes={"last_name": "X"}),
    "a wrong type": lambda d: d.update(fingerprint=[]),
    "a number for a name": lambda d: _action(
        d, "create_permission_set:permission_sets.INT_Custom_Objects").update(name=7),
}


@pytest.mark.parametrize("edit", BAD_PLANS, ids=list(BAD_PLANS))
def test_malformed_plans_are_refused_in_one_line(org: Org, edit: str) -> None:
    doc = json.loads(PLAN.read_text())
    BAD_PLANS[edit](doc)
    PLAN.write_text(json.dumps(doc))
    assert "malformed plan file" in _refused(org)


def test_deep_huge_and_binary_plan_files_are_refused(org: Org) -> None:
    PLAN.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in _refused(org)
    PLAN.write_bytes(b"\xff\xfe" + bytes(range(256)))
    assert "not UTF-8" in _refused(org)
    zero = Path("/dev/zero")
    if zero.exists():  # endless: only a bounded read ends
        before = org.writes()
        result = org.run("apply", str(zero))
        assert result.exit_code == 1 and "larger than 64 MiB" in result.output
        assert org.writes() == before


def test_a_plan_of_another_format_version_asks_for_a_new_plan(org: Org) -> None:
    doc = json.loads(PLAN.read_text())
    doc["version"] = 0
    PLAN.write_text(json.dumps(doc))
    line = _refused(org)
    assert "plan format version 0 is not supported" in line
    assert "run `reconciler plan` again" in line


# -- fuzz: mutated copies of a real saved plan ---------------------------------------

FUZZ_CASES = 250
CASE_SECONDS = 5.0
# What apply does not act on: the time, the API-call figures, advisory warnings and
# the org's name, URL and planning user (the org is matched by its Id).
INFORMATIONAL = ("created_at", "api_calls", "warnings")


def meaning(raw: bytes) -> str | None:
    """The part of a plan file apply acts on, as text; None when it is no JSON
    object without duplicate keys."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in items}) != len(items):
            raise ValueError("duplicate key")
        return dict(items)

    try:
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    kept = {k: v for k, v in doc.items() if k not in INFORMATIONAL}
    if isinstance(kept.get("org"), dict):
        kept["org"] = kept["org"].get("org_id")
    return json.dumps(kept, sort_keys=True)


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*at, i))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


OTHER_VALUES: tuple[Any, ...] = (None, True, False, 0, -1, 1.5, 10**30, "", "x", "\nError: forged",
                                 [], {}, [1], {"kind": "create_user"}, ["ModifyAllData"])


def mutate(base: dict[str, Any], rng: random.Random) -> bytes:
    """One mutated copy of ``base``: JSON-level edits or byte-level damage."""
    doc = json.loads(json.dumps(base))
    # An unchanged meaning is applied for real (then the org is reset): kept rare, as
    # it costs a whole apply.
    kind = rng.choices(("delete", "duplicate", "retype", "change", "nest", "truncate",
                        "bytes", "same"), weights=(5, 5, 5, 5, 5, 5, 5, 1))[0]
    text = json.dumps(doc, indent=2)
    if kind == "truncate":
        return text.encode()[:rng.randrange(len(text))]
    if kind == "bytes":
        raw = bytearray(text.encode())
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    if kind == "same":  # another layout, the same meaning
        return json.dumps(doc, indent=rng.choice((None, 1, 4)),
                          sort_keys=rng.random() < 0.5).encode()
    paths = list(_paths(doc))
    containers = [p for p in paths if isinstance(_get(doc, p), dict | list) and _get(doc, p)]
    leaves = [p for p in paths if p]
    if kind == "delete":
        at = rng.choice(containers)
        node = _get(doc, at)
        del node[rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))]
    elif kind == "duplicate":
        at = rng.choice(containers)
        node = _get(doc, at)
        if isinstance(node, list):
            node.append(json.loads(json.dumps(rng.choice(node))))
        else:  # a key written twice, the second time with another value
            key = rng.choice(list(node))
            node["\x00dup"] = rng.choice((node[key], rng.choice(OTHER_VALUES)))
            text = json.dumps(doc, indent=2).replace('"\\u0000dup"', json.dumps(key))
            return text.encode()
    elif kind in ("retype", "change"):
        at = rng.choice(leaves)
        parent, value = _get(doc, at[:-1]), _get(doc, at)
        if kind == "retype":
            new = rng.choice([v for v in OTHER_VALUES if type(v) is not type(value)])
        elif isinstance(value, bool):
            new = not value
        elif isinstance(value, int):
            new = value + rng.choice((-1, 1))
        elif isinstance(value, str):
            new = rng.choice((value + "X", value.upper(), value[:-1], "System Administrator"))
        elif isinstance(value, list) and value:
            new = list(reversed(value)) if rng.random() < 0.5 else value[1:]
        else:
            new = rng.choice(OTHER_VALUES)
        parent[at[-1]] = new
    elif kind == "nest":
        at = rng.choice(leaves)
        depth = rng.choice((50, 1_000, 100_000))
        _get(doc, at[:-1])[at[-1]] = "\x00nest"
        return json.dumps(doc).replace('"\\u0000nest"', "[" * depth + "]" * depth).encode()
    return json.dumps(doc, indent=2).encode()


def test_fuzzed_plan_files_never_crash_hang_or_write(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rng = random.Random(11)
    with start_emulator(tmp_path / "data", INVOICE_SEED) as emu:
        org = Org(emu, tmp_path)
        org.write("integration.yaml", WALKTHROUGH)
        assert org.run("plan", "--out", str(PLAN)).exit_code == 0
        original = PLAN.read_bytes()
        base, same = json.loads(original), meaning(original)
        seen: dict[str, int] = {"tried": 0, "applied": 0, "tracebacks": 0,
                                "refused writes": 0}
        for case in range(FUZZ_CASES):
            mutated = mutate(base, rng)
            target = tmp_path / f"case{case}.json"
            target.write_bytes(mutated)
            writes = org.writes()
            started = time.monotonic()
            result = org.run("apply", str(target))
            took = time.monotonic() - started
            seen["tried"] += 1
            where = f"case {case}: {mutated[:300]!r}\n{result.output}"
            seen["tracebacks"] += "Traceback" in result.output
            assert result.exit_code in (0, 1, 2), where
            assert "Traceback" not in result.output, where
            assert took < CASE_SECONDS, where
            if result.exit_code == 0:
                assert meaning(mutated) == same, where
                assert "Converged: no changes left." in result.output, where
                seen["applied"] += 1
                emu.reset()  # back to the empty org the plan was made for
            else:
                seen["refused writes"] += org.writes() - writes
                assert org.writes() == writes, where
        print(f"plan files tried: {seen}")
        assert seen["applied"] > 0  # the unchanged-meaning path ran too

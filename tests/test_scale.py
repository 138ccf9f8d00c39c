"""A large config and a large org read right: permission rows parsed page by page as
they arrive, and YAML read with its repeated words and line numbers shared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.config import load_config
from reconciler.emulator import start_emulator
from tests.orgdir import Org

FIELDS = 2_100  # more FieldPermissions rows than one page of a query (2,000)
NARROWED = (3, 2_090)  # fields the org grants edit on, the config read only


def test_field_permissions_past_the_first_page_are_read(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    seed = {"custom_objects": [{"name": "Wide__c", "label": "Wide",
                                "fields": {f"F_{i}__c": "text" for i in range(FIELDS)}}]}
    with start_emulator(tmp_path / "data", seed) as emu:
        org = emu.org
        admin = org.where("User", Username=emu.credentials()["username"])[0]["Id"]
        with org.lock, org.store.transaction():
            ps = org.insert_raw("PermissionSet", {
                "Name": "INT_Wide", "Label": "Wide", "Type": "Regular",
                "IsOwnedByProfile": False, "IsCustom": True}, admin)["Id"]
            for i in range(FIELDS):
                org.insert_raw("FieldPermissions", {
                    "ParentId": ps, "SobjectType": "Wide__c", "Field": f"Wide__c.F_{i}__c",
                    "PermissionsRead": True, "PermissionsEdit": i in NARROWED}, admin)
        made = Org(emu, tmp_path)
        made.write("sets.yaml", "permission_sets:\n  INT_Wide:\n    label: Wide\n"
                   "    fields:\n" + "".join(f"      Wide__c.F_{i}__c: [read]\n"
                                             for i in range(FIELDS)))
        result = made.run("plan", "--out", str(tmp_path / "wide.plan.json"))
    assert result.exit_code == 0, result.output
    assert "Plan: 0 to add, 2 to change, 0 to remove" in result.output
    plan = json.loads((tmp_path / "wide.plan.json").read_text())
    changed = sorted(a["field"] for a in plan["actions"])
    assert changed == sorted(f"Wide__c.F_{i}__c" for i in NARROWED)
    # Every row was read, in pages: the field rows alone take two calls.
    assert plan["api_calls"]["read"] >= 2


def _sets(first: int, count: int, bad: set[int]) -> str:
    """``count`` sets naming the same fields; set ``s`` in ``bad`` misspells a word."""
    lines = []
    for s in range(first, first + count):
        lines += [f"  INT_Set_{s}:", f"    label: Set {s}", "    fields:"]
        lines += [f"      Account.Field_{f}__c: [read, {'eidt' if s in bad else 'edit'}]"
                  if f == 4 else f"      Account.Field_{f}__c: [read]" for f in range(10)]
    return "\n".join(lines) + "\n"


def test_one_file_or_many_load_alike_and_errors_keep_their_lines(tmp_path: Path) -> None:
    one, many = tmp_path / "one", tmp_path / "many"
    one.mkdir()
    many.mkdir()
    (one / "sets.yaml").write_text("permission_sets:\n" + _sets(0, 60, set()))
    for part in range(3):
        (many / f"sets_{part}.yaml").write_text("permission_sets:\n"
                                                + _sets(part * 20, 20, set()))
    assert load_config(one).digest == load_config(many).digest
    assert load_config(one).permission_sets == load_config(many).permission_sets

    (many / "sets_1.yaml").write_text("permission_sets:\n" + _sets(20, 20, {21, 38}))
    result = CliRunner().invoke(cli, ["-c", str(many), "validate"])
    assert result.exit_code == 1
    # Each set takes 13 lines after the block's first: field 4 of set s is on line
    # 2 + 13 * (s - 20) + 3 + 4, its second word at column 31.
    for s in (21, 38):
        assert f"sets_1.yaml:{2 + 13 * (s - 20) + 7}:" in result.output, result.output
    assert result.output.count("eidt") == 2

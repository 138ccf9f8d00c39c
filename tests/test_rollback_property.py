"""Property: for generated configs A and B, apply A, apply B, roll B's apply back and
apply that: the org is as A left it (but for the Ids of sets created again) and A
plans nothing. Through the CLI, against one emulated org reset between examples."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st
from simple_salesforce import Salesforce

from reconciler.emulator import Emulator, start_emulator
from tests.orgdir import INVOICE_SEED, Org
from tests.test_apply_property import OBJECTS, PROFILES, PSL, SETS, WORDS

#: A set's licence is fixed at creation: the same names keep the same licence in A and B.
LICENSED = ("INT_A", "INT_B")


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with start_emulator(tmp_path_factory.mktemp("org"), INVOICE_SEED) as emulator:
        yield emulator


@st.composite
def permission_set(draw: st.DrawFn, name: str) -> dict[str, Any]:
    licensed = name in LICENSED
    objects = draw(st.dictionaries(st.sampled_from(OBJECTS if licensed else ["Invoice__c"]),
                                   st.sampled_from(WORDS), max_size=3))
    fields = draw(st.sampled_from([{}, {"Invoice__c.Amount__c": ["read"]},
                                   {"Invoice__c.Amount__c": ["read", "edit"]}]))
    return {"name": name, "label": draw(st.sampled_from([name, f"{name} set"])),
            "license": PSL if licensed else None, "objects": objects, "fields": fields}


@st.composite
def config(draw: st.DrawFn) -> dict[str, Any]:
    """A config over a few shared names, owning every INT_ set (so a set it drops is
    deleted), with up to three users of those sets."""
    sets = {n: draw(permission_set(n)) for n in draw(st.sets(st.sampled_from(SETS),
                                                             min_size=1))}
    users = {}
    for i in draw(st.sets(st.integers(0, 3), max_size=3)):
        profile = draw(st.sampled_from(sorted(PROFILES)))
        # The API PSL (and so a set licensed to it) is for integration users only.
        allowed = sorted(n for n, s in sets.items()
                         if profile == "integration" or not s["license"])
        chosen = draw(st.lists(st.sampled_from(allowed), unique=True, max_size=2)
                      if allowed else st.just([]))
        users[f"u{i}"] = {"username": f"u{i}@prop.example", "last_name": f"U{i}",
                          "email": draw(st.sampled_from([f"u{i}@prop.example",
                                                         f"other{i}@prop.example"])),
                          "profile": PROFILES[profile],
                          "active": draw(st.booleans()), "permission_sets": chosen,
                          "permission_set_licenses": [PSL] if any(
                              sets[s]["license"] for s in chosen) else []}
    return {"settings": {"scope": {"permission_sets": {"name_prefix": "INT_"}}},
            "permission_sets": {n: {k: v for k, v in s.items() if k != "name" and v is not None}
                                for n, s in sets.items()},
            "users": users}


def snapshot(sf: Salesforce) -> dict[str, Any]:
    """What a config can change, by natural key (no Ids)."""
    def bare(record: Any) -> Any:  # a record's attributes hold its Id
        if not isinstance(record, dict):
            return record
        return {k: bare(v) for k, v in record.items() if k != "attributes"}

    def rows(soql: str) -> list[Any]:
        return sorted(json.dumps(bare(r), sort_keys=True) for r in sf.query_all(soql)["records"])

    return {
        "sets": rows("SELECT Name, Label, Description, LicenseId, PermissionsViewSetup "
                     "FROM PermissionSet WHERE Name LIKE 'INT_%'"),
        "objects": rows("SELECT Parent.Name, SobjectType, PermissionsRead, PermissionsCreate, "
                        "PermissionsEdit, PermissionsDelete, PermissionsViewAllRecords, "
                        "PermissionsModifyAllRecords FROM ObjectPermissions "
                        "WHERE Parent.Name LIKE 'INT_%'"),
        "fields": rows("SELECT Parent.Name, Field, PermissionsRead, PermissionsEdit "
                       "FROM FieldPermissions WHERE Parent.Name LIKE 'INT_%'"),
        "assignments": rows("SELECT Assignee.Username, PermissionSet.Name FROM "
                            "PermissionSetAssignment WHERE PermissionSet.Name LIKE 'INT_%'"),
        "psls": rows("SELECT Assignee.Username, PermissionSetLicense.DeveloperName FROM "
                     "PermissionSetLicenseAssign WHERE Assignee.Username LIKE '%@prop.example'"),
        "users": {r["Username"]: (r["IsActive"], r["Profile"]["Name"], r["Email"])
                  for r in sf.query_all("SELECT Username, IsActive, Profile.Name, Email FROM "
                                        "User WHERE Username LIKE '%@prop.example'")["records"]},
    }


# No shrinking: an example is four runs of the CLI, and a failure is readable as found.
@settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(config(), config())
def test_rolling_back_b_returns_the_org_to_a(emu: Emulator, a: dict[str, Any],
                                             b: dict[str, Any]) -> None:
    emu.reset()
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        org = Org(emu, Path(tmp))
        org.write("config.yaml", json.dumps(a))  # JSON is YAML
        first = org.run("apply", "--auto-approve")
        assume(first.exit_code == 0)  # a config the checks or the org refuse
        before = snapshot(org.sf)
        org.write("config.yaml", json.dumps(b))
        journals = set(Path("plans").glob("emu.apply-*.json"))
        second = org.run("apply", "--auto-approve")
        assume(second.exit_code == 0)
        new = set(Path("plans").glob("emu.apply-*.json")) - journals
        if not new:  # B asked for nothing A had not done: no apply to roll back
            event("B applied nothing")
            return
        event("B applied, rolled back")
        made = org.run("rollback", str(new.pop()), "--out", "plans/undo.json")
        assert made.exit_code == 0, made.output
        assert "Left alone" not in made.output, made.output  # nobody else changed anything
        undone = org.run("apply", "plans/undo.json")
        assert undone.exit_code == 0, made.output + undone.output
        after = snapshot(org.sf)
        # Users B created can't be un-created: they are left inactive, holding nothing.
        created = set(after["users"]) - set(before["users"])
        assert all(not after["users"][u][0] for u in created), after["users"]
        after["users"] = {u: v for u, v in after["users"].items() if u not in created}
        assert after == before
        org.write("config.yaml", json.dumps(a))
        again = org.run("plan", "--detailed-exitcode")
        assert again.exit_code == 0, again.output

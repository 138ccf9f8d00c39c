"""`reconciler access` against a brute-force reading of the emulator's rows.

Random sets, groups and assignments go into the org through simple-salesforce; the
test then reads the raw rows back (assignments, group components and their muting sets,
the profile's own set, object, field and system permissions) and computes, naively, what
the user can do and through what. The CLI's ``access USER --json`` must say exactly the same.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce import Salesforce

from reconciler.emulator import start_emulator
from tests.emulator.helpers import grant, make_set, make_user, one
from tests.orgdir import Org

SEED: dict[str, Any] = {"custom_objects": [
    {"name": "Invoice__c", "label": "Invoice", "fields": {"Amount__c": "currency"}}]}
OBJECTS = ("Account", "Contact", "Invoice__c")
FIELDS = ("Account.Industry", "Invoice__c.Amount__c")
SYSTEM = ("ApiEnabled", "RunReports", "EditTask")
PROFILES = ("Standard User", "Minimum Access - Salesforce")
# Written by the test from Setup's rule, not from the reconciler's: each permission and
# the ones it turns on.
IMPLIES = {"Read": {"Read"}, "Create": {"Create", "Read"}, "Edit": {"Edit", "Read"},
           "Delete": {"Delete", "Edit", "Read"}, "ViewAllRecords": {"ViewAllRecords", "Read"},
           "ModifyAllRecords": {"ModifyAllRecords", "ViewAllRecords", "Delete", "Edit", "Read"}}
WORD = {"Read": "read", "Create": "create", "Edit": "edit", "Delete": "delete",
        "ViewAllRecords": "view_all", "ModifyAllRecords": "modify_all"}
MUTING_PREFIX = "0QM"
_names = itertools.count()


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    root = tmp_path_factory.mktemp("access-property")
    with start_emulator(root / "data", SEED) as emu:
        org = Org(emu, root)
        own = one(org.sf, "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND "
                          "Profile.Name = 'Standard User'")
        grant(org.sf, own["Id"], "Invoice__c", Read=True, Create=True)
        yield org


def _closed(words: set[str]) -> dict[str, bool]:
    return {f"Permissions{w}": True for word in words for w in IMPLIES[word]}


content = st.fixed_dictionaries({
    "objects": st.dictionaries(st.sampled_from(OBJECTS),
                               st.sets(st.sampled_from(sorted(IMPLIES)), min_size=1),
                               max_size=2),
    "fields": st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(("read", "edit")),
                              max_size=2),
    "system": st.sets(st.sampled_from(SYSTEM), max_size=2),
})
layout = st.fixed_dictionaries({
    "sets": st.lists(content, min_size=1, max_size=4),
    "profile": st.sampled_from(PROFILES),
    "direct": st.sets(st.integers(0, 3), max_size=2),
    "groups": st.lists(st.fixed_dictionaries({
        "members": st.sets(st.integers(0, 3), min_size=1, max_size=3),
        "muting": st.none() | content,
    }), max_size=2),
})


def _build(sf: Salesforce, spec: dict[str, Any]) -> str:
    """The sets, groups and a user holding them, as ``spec`` says; the username."""
    n = next(_names)
    ids = []
    for i, c in enumerate(spec["sets"]):
        ps = make_set(sf, f"P{n}_{i}", **{f"Permissions{p}": True for p in c["system"]})
        for sobject, words in c["objects"].items():
            grant(sf, ps, sobject, **{k[len("Permissions"):]: v
                                      for k, v in _closed(words).items()})
        for fld, word in c["fields"].items():
            sf.FieldPermissions.create({"ParentId": ps, "SobjectType": fld.split(".")[0],
                                        "Field": fld, "PermissionsRead": True,
                                        "PermissionsEdit": word == "edit"})
        ids.append(ps)
    username = f"u{n}@prop.example"
    user = make_user(sf, username, spec["profile"])
    for i in sorted(spec["direct"]):
        if i < len(ids):
            sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ids[i]})
    for g, spec_group in enumerate(spec["groups"]):
        group = sf.PermissionSetGroup.create({"DeveloperName": f"G{n}_{g}",
                                              "MasterLabel": f"G{n}_{g}"})["id"]
        members = [ids[i] for i in sorted(spec_group["members"]) if i < len(ids)]
        if spec_group["muting"] is not None:
            members.append(_muting_set(sf, f"M{n}_{g}", spec_group["muting"]))
        for member in members:
            sf.PermissionSetGroupComponent.create({"PermissionSetGroupId": group,
                                                   "PermissionSetId": member})
        sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetGroupId": group})
    return username


def _muting_set(sf: Salesforce, name: str, mutes: dict[str, Any]) -> str:
    """A muting set whose rows say what it mutes, each permission as given (a muting
    row needs none of the permissions a granting row needs)."""
    muting = sf.MutingPermissionSet.create({
        "DeveloperName": name, "MasterLabel": name,
        **{f"Permissions{p}": True for p in mutes["system"]}})["id"]
    for sobject, words in mutes["objects"].items():
        grant(sf, muting, sobject, **dict.fromkeys(words, True))
    for fld, word in mutes["fields"].items():
        sf.FieldPermissions.create({"ParentId": muting, "SobjectType": fld.split(".")[0],
                                    "Field": fld, "PermissionsRead": word == "read",
                                    "PermissionsEdit": True})
    return str(muting)


def _rows(sf: Salesforce, soql: str) -> list[dict[str, Any]]:
    return list(sf.query_all(soql)["records"])


def _brute_force(sf: Salesforce, username: str) -> dict[str, Any]:
    """What the user can do, by path, from the raw rows."""
    user = one(sf, f"SELECT Id, ProfileId, Profile.Name FROM User WHERE Username = '{username}'")
    muted: dict[str, set[tuple[str, ...]]] = {}  # group → its muting set's rights
    holders: list[tuple[str, tuple[str, ...]]] = [
        (r["Id"], ("profile", user["Profile"]["Name"])) for r in _rows(
            sf, f"SELECT Id FROM PermissionSet WHERE ProfileId = '{user['ProfileId']}'")]
    for a in _rows(sf, "SELECT PermissionSetId, PermissionSet.Name, PermissionSet."
                       "IsOwnedByProfile, PermissionSetGroupId, PermissionSetGroup.DeveloperName "
                       f"FROM PermissionSetAssignment WHERE AssigneeId = '{user['Id']}'"):
        if a["PermissionSetGroupId"]:
            group = a["PermissionSetGroup"]["DeveloperName"]
            components = _rows(sf, "SELECT PermissionSetId, PermissionSet.Name FROM "
                                   "PermissionSetGroupComponent WHERE "
                                   f"PermissionSetGroupId = '{a['PermissionSetGroupId']}'")
            holders += [(c["PermissionSetId"], ("group", group, c["PermissionSet"]["Name"]))
                        for c in components if c["PermissionSet"] is not None]
            for c in components:
                if c["PermissionSetId"].startswith(MUTING_PREFIX):
                    muted[group] = _muted(sf, c["PermissionSetId"])
        elif not a["PermissionSet"]["IsOwnedByProfile"]:
            holders.append((a["PermissionSetId"], ("set", a["PermissionSet"]["Name"])))
    objects: dict[str, dict[str, set[tuple[str, ...]]]] = {}
    fields: dict[str, dict[str, set[tuple[str, ...]]]] = {}
    system: dict[str, set[tuple[str, ...]]] = {}
    for ident, path in holders:
        for r in _rows(sf, f"SELECT SobjectType, {', '.join('Permissions' + p for p in IMPLIES)} "
                           f"FROM ObjectPermissions WHERE ParentId = '{ident}'"):
            for p in IMPLIES:
                if r[f"Permissions{p}"]:
                    for implied in IMPLIES[p]:
                        if not _is_muted(muted, path, ("object", r["SobjectType"]),
                                         IMPLIES[implied]):
                            objects.setdefault(r["SobjectType"], {}).setdefault(
                                WORD[implied], set()).add(path)
        for r in _rows(sf, "SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                           f"WHERE ParentId = '{ident}'"):
            words = ["read", "edit"] if r["PermissionsEdit"] else ["read"] * r["PermissionsRead"]
            for w in words:
                if not _is_muted(muted, path, ("field", r["Field"]),
                                 {"Read", "Edit"} if w == "edit" else {"Read"}):
                    fields.setdefault(r["Field"], {}).setdefault(w, set()).add(path)
        ps = one(sf, f"SELECT {', '.join('Permissions' + p for p in SYSTEM)} FROM PermissionSet "
                     f"WHERE Id = '{ident}'")
        for p in SYSTEM:
            if ps[f"Permissions{p}"] and not _is_muted(muted, path, ("system",), {p}):
                system.setdefault(p, set()).add(path)
    return {"objects": objects, "fields": fields, "system": system}


def _muted(sf: Salesforce, muting: str) -> set[tuple[str, ...]]:
    """What a muting set mutes: (object, name, permission), (field, name, permission),
    (system, permission)."""
    found: set[tuple[str, ...]] = set()
    for r in _rows(sf, f"SELECT SobjectType, {', '.join('Permissions' + p for p in IMPLIES)} "
                       f"FROM ObjectPermissions WHERE ParentId = '{muting}'"):
        found |= {("object", r["SobjectType"], p) for p in IMPLIES if r[f"Permissions{p}"]}
    for r in _rows(sf, "SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                       f"WHERE ParentId = '{muting}'"):
        found |= {("field", r["Field"], p) for p in ("Read", "Edit") if r[f"Permissions{p}"]}
    ms = one(sf, f"SELECT {', '.join('Permissions' + p for p in SYSTEM)} FROM "
                 f"MutingPermissionSet WHERE Id = '{muting}'")
    return found | {("system", p) for p in SYSTEM if ms[f"Permissions{p}"]}


def _is_muted(muted: dict[str, set[tuple[str, ...]]], path: tuple[str, ...],
              where: tuple[str, ...], needs: set[str]) -> bool:
    """A right through a group is muted when the group's muting set mutes it or a
    permission it needs."""
    return path[0] == "group" and any((*where, p) in muted.get(path[1], set()) for p in needs)


def _path(via: dict[str, str]) -> tuple[str, ...]:
    if "group" in via:
        return ("group", via["group"], via["permission_set"])
    return ("profile", via["profile"]) if "profile" in via else ("set", via["permission_set"])


def _answer(org: Org, username: str) -> dict[str, Any]:
    result = org.run("access", username, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)

    def table(t: dict[str, dict[str, list[dict[str, str]]]]) -> dict[str, Any]:
        return {n: {w: {_path(v) for v in vias} for w, vias in g.items()} for n, g in t.items()}
    return {"objects": table(data["objects"]), "fields": table(data["fields"]),
            "system": {p: {_path(v) for v in vias}
                       for p, vias in data["system_permissions"].items() if p in SYSTEM}}


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=layout)
def test_access_matches_a_brute_force_reading_of_the_rows(org: Org,
                                                          spec: dict[str, Any]) -> None:
    username = _build(org.sf, spec)
    assert _answer(org, username) == _brute_force(org.sf, username)

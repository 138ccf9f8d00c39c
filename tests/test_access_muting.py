"""Muting permission sets in effective access, on values (the core is pure).

The rule is pinned here on :func:`reconciler.access.effective` directly, on every case
at once: what a group's muting set mutes is gone from that group's paths only, and
muting a permission mutes those that need it. The same rule read from an org is
``tests/test_access_muting_org.py``.
"""

from __future__ import annotations

from reconciler.access import GroupAccess, Muting, OrgAccess, effective
from reconciler.model import FieldAccess, FrozenMap, ObjectAccess, PermissionSet, SetupEntity, User

APP = SetupEntity("ConnectedApplication", "MuleSoft")


def _set(name: str, objects: dict[str, list[str]], fields: dict[str, list[str]] | None = None,
         system: frozenset[str] = frozenset(),
         entities: frozenset[SetupEntity] = frozenset()) -> PermissionSet:
    return PermissionSet(name, name, system_permissions=system,
                         objects=FrozenMap({k: ObjectAccess.of(v) for k, v in objects.items()}),
                         fields=FrozenMap({k: FieldAccess.of(v)
                                           for k, v in (fields or {}).items()}),
                         setup_entities=entities)


WIDE = _set("Wide", {"Account": ["modify_all"], "Invoice__c": ["edit"]},
            {"Account.Industry": ["edit"]}, frozenset({"ApiEnabled", "ViewSetup"}),
            frozenset({APP}))
ALSO = _set("Also", {"Account": ["edit"]})
MUTE = Muting("Mute", FrozenMap({"Account": frozenset({"edit"}),
                                 "Invoice__c": frozenset({"read"})}),
              FrozenMap({"Account.Industry": frozenset({"read"})}), frozenset({"ViewSetup"}),
              frozenset({APP}))


def _org(**user: frozenset[str]) -> OrgAccess:
    return OrgAccess(
        users=FrozenMap({"u@x.example": User("u@x.example", "U", "u@x.example", "u", "P",
                                             **user)}),
        sets=FrozenMap({"wide": WIDE, "also": ALSO}),
        profiles=FrozenMap({"p": _set("P", {"Account": ["read"]})}),
        groups=FrozenMap({"g": GroupAccess("G", ("Also", "Wide"), MUTE)}),
        scope=("u@x.example",))


def test_a_muting_set_mutes_its_group_and_what_needs_the_muted_permission() -> None:
    eff = effective(_org(permission_set_groups=frozenset({"G"})), "u@x.example")
    # Muting edit takes delete and modify_all with it (they need edit); read and
    # view_all stay. Read on Account is also the profile's.
    assert {w: list(p) for w, p in eff.objects["Account"].items()} == {
        "read": [("profile", "P"), ("group", "G", "Also"), ("group", "G", "Wide")],
        "view_all": [("group", "G", "Wide")]}
    # Muting read mutes everything on the object; muting a field's read mutes its edit.
    assert "Invoice__c" not in eff.objects
    assert "Account.Industry" not in eff.fields
    assert list(eff.system_permissions) == ["ApiEnabled"]
    assert eff.setup_entities == {}


def test_muting_never_reaches_a_set_assigned_outside_the_group() -> None:
    eff = effective(_org(permission_sets=frozenset({"Wide"}),
                         permission_set_groups=frozenset({"G"})), "u@x.example")
    assert eff.objects["Account"]["modify_all"] == (("set", "Wide"),)
    assert eff.objects["Invoice__c"]["edit"] == (("set", "Wide"),)
    assert eff.fields["Account.Industry"]["edit"] == (("set", "Wide"),)
    assert eff.system_permissions["ViewSetup"] == (("set", "Wide"),)
    assert eff.setup_entities == {APP: (("set", "Wide"),)}

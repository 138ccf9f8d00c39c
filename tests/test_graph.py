"""The ordering rules: each rule's edge, determinism, cycles, targets and layers."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from reconciler import actions as a
from reconciler.errors import CycleError
from reconciler.graph import RULES, Rule, layers, order, select

USERS = ["u1@x.com", "u2@x.com"]
SETS = ["S1", "S2", "S3"]
GROUPS = ["G1"]
LICENSES = ["Salesforce", "Salesforce Integration"]
PSL = "Salesforce API Integration"


def _ids(actions):
    return [x.id for x in actions]


def test_conversion_order_revoke_profile_psl_assign():
    acts = [
        a.AssignPermissionSet(user="m", username="m@x.com", target="INT_Std", licenses=(PSL,)),
        a.AssignPermissionSetLicense(user="m", username="m@x.com", target=PSL),
        a.ChangeUserProfile(user="m", username="m@x.com", before="Standard User",
                            after="Minimum Access - API Only Integrations",
                            license_before="Salesforce", license_after="Salesforce Integration"),
        a.UnassignPermissionSet(user="m", username="m@x.com", target="Legacy",
                                licenses=("Salesforce",)),
    ]
    ordered, _ = order(acts)
    assert [x.kind for x in ordered] == ["unassign_permission_set", "change_user_profile",
                                         "assign_permission_set_license",
                                         "assign_permission_set"]


def test_set_built_before_assigned_and_removed_in_reverse():
    acts = [
        a.AssignPermissionSet(user="m", username="m@x.com", target="S1"),
        a.GrantObjectAccess(permission_set="S1", sobject="Account", after=("read",)),
        a.CreatePermissionSet(name="S1", label="S1"),
        a.DeletePermissionSet(name="S2"),
        a.UnassignPermissionSet(user="m", username="m@x.com", target="S2"),
        a.RemoveGroupComponent(group="G1", permission_set="S2"),
    ]
    ordered, _ = order(acts)
    pos = {x.id: i for i, x in enumerate(ordered)}
    assert pos["create_permission_set:permission_sets.S1"] < \
        pos["grant_object_access:permission_sets.S1.objects.Account"] < \
        pos["assign_permission_set:users.m.permission_sets.S1"]
    assert pos["unassign_permission_set:users.m.permission_sets.S2"] < \
        pos["delete_permission_set:permission_sets.S2"]
    assert pos["remove_group_component:permission_set_groups.G1.permission_sets.S2"] < \
        pos["delete_permission_set:permission_sets.S2"]


def test_deactivation_frees_a_seat_before_a_create_takes_it():
    acts = [
        a.CreateUser(user="new", username="new@x.com", profile="P",
                     license="Salesforce Integration"),
        a.DeactivateUser(user="old", username="old@x.com", license="Salesforce Integration"),
        a.CreateUser(user="other", username="other@x.com", profile="P", license="Salesforce"),
    ]
    _, graph = order(acts)
    assert graph.has_edge("deactivate_user:users.old.active", "create_user:users.new")
    assert not graph.has_edge("deactivate_user:users.old.active", "create_user:users.other")


def test_psl_unassigned_only_after_the_sets_that_need_it():
    acts = [
        a.UnassignPermissionSetLicense(user="m", username="m@x.com", target=PSL),
        a.UnassignPermissionSet(user="m", username="m@x.com", target="S1", licenses=(PSL,)),
        a.UnassignPermissionSet(user="m", username="m@x.com", target="S2"),
    ]
    _, graph = order(acts)
    psl = "unassign_permission_set_license:users.m.permission_set_licenses." + PSL
    assert graph.has_edge("unassign_permission_set:users.m.permission_sets.S1", psl)
    assert not graph.has_edge("unassign_permission_set:users.m.permission_sets.S2", psl)


def test_every_rule_has_a_reason_and_kinds():
    for rule in RULES:
        assert rule.why and rule.before and rule.after


def test_a_cycle_is_an_error_naming_its_actions():
    # The real rule table is acyclic by construction; a table that contradicts itself
    # shows what a user would see if it ever were not.
    def by_set(x):
        return [x.name if isinstance(x, a.CreatePermissionSet) else x.permission_set]

    rules = (*RULES,
             Rule("contradiction", (a.GrantObjectAccess,), (a.CreatePermissionSet,),
                  by_set, by_set))
    acts = [a.CreatePermissionSet(name="S1", label="S1"),
            a.GrantObjectAccess(permission_set="S1", sobject="Account", after=("read",))]
    with pytest.raises(CycleError) as err:
        order(acts, rules)
    assert "create_permission_set:permission_sets.S1" in str(err.value)
    assert "grant_object_access:permission_sets.S1.objects.Account" in str(err.value)
    # the path reads as a loop: from an action round to the same action
    path = str(err.value).split("in a cycle: ", 1)[1].split(" → ")
    assert len(path) == 3 and path[0] == path[-1] and set(path) == {x.id for x in acts}


def test_the_same_action_twice_is_refused_by_name():
    s1, s2 = (a.CreatePermissionSet(name=n, label=n) for n in ("S1", "S2"))
    with pytest.raises(ValueError, match=r"^duplicate actions: "
                                         r"create_permission_set:permission_sets\.S1, "
                                         r"create_permission_set:permission_sets\.S2$"):
        order([s2, s1, a.CreatePermissionSet(name="S3", label="S3"), s1, s2])


def test_select_targets_keep_dependencies_and_excludes_drop_dependents():
    acts = [
        a.CreatePermissionSet(name="S1", label="S1"),
        a.GrantObjectAccess(permission_set="S1", sobject="Account", after=("read",)),
        a.AssignPermissionSet(user="m", username="m@x.com", target="S1"),
        a.CreatePermissionSet(name="S2", label="S2"),
    ]
    ordered, graph = order(acts)
    picked = select(ordered, graph, targets=["users.m"])
    assert _ids(picked) == ["create_permission_set:permission_sets.S1",
                            "grant_object_access:permission_sets.S1.objects.Account",
                            "assign_permission_set:users.m.permission_sets.S1"]
    left = select(ordered, graph, excludes=["permission_sets.S1"])
    assert _ids(left) == ["create_permission_set:permission_sets.S2"]


def test_layers_run_after_their_dependencies():
    acts = [
        a.CreatePermissionSet(name="S1", label="S1"),
        a.GrantObjectAccess(permission_set="S1", sobject="Account", after=("read",)),
        a.AssignPermissionSet(user="m", username="m@x.com", target="S1"),
    ]
    ordered, graph = order(acts)
    assert [[x.kind for x in layer] for layer in layers(graph, ordered)] == [
        ["create_permission_set"], ["grant_object_access"], ["assign_permission_set"]]


def test_actions_round_trip_through_json():
    read = TypeAdapter(a.AnyAction)
    for cls in a.KIND_ORDER:
        action = _sample(cls, random.Random(1))
        assert read.validate_python(action.to_json()) == action


# -- properties -------------------------------------------------------------------------


def _sample(cls: type[a.Action], rng: random.Random) -> a.Action:
    user = rng.choice(USERS)
    key = user.split("@")[0]
    s = rng.choice(SETS)
    lic = rng.choice([*LICENSES, None])
    if issubclass(cls, a._Assignment):
        target = (PSL if cls in (a.AssignPermissionSetLicense, a.UnassignPermissionSetLicense)
                  else rng.choice(GROUPS) if cls in (a.AssignGroup, a.UnassignGroup) else s)
        return cls(user=key, username=user, target=target,
                   licenses=(PSL,) if rng.random() < 0.5 else ())
    if issubclass(cls, a._ObjectAccessAction):
        return cls(permission_set=s, sobject=rng.choice(["Account", "Contact"]),
                   before=("read",), after=("read", "edit"))
    if issubclass(cls, a._FieldAccessAction):
        return cls(permission_set=s, field="Account.Industry", after=("read",))
    if issubclass(cls, a._EntityAccessAction):
        return cls(permission_set=s, entity_type=rng.choice(["ConnectedApplication", "ApexClass"]),
                   entity=rng.choice(["Orders App", "OrdersApi"]))
    if cls in (a.CreatePermissionSet, a.DeletePermissionSet):
        return cls(name=s)
    if cls in (a.UpdatePermissionSet,):
        return cls(name=s, before=(("label", "a"),), after=(("label", "b"),))
    if cls is a.SetSystemPermissions:
        return cls(name=s, enable=("ApiEnabled",))
    if cls in (a.CreateGroup, a.UpdateGroup):
        return cls(name="G1")
    if cls is a.DeleteGroup:
        return cls(name="G1", members=(s,))
    if cls in (a.AddGroupComponent, a.RemoveGroupComponent):
        return cls(group="G1", permission_set=s, license=PSL if rng.random() < 0.5 else None)
    if cls is a.CreateUser:
        return cls(user=key, username=user, profile="P", license=lic)
    if cls is a.UpdateUser:
        return cls(user=key, username=user, before=(("email", "a"),), after=(("email", "b"),))
    if cls is a.ChangeUserProfile:
        return cls(user=key, username=user, before="P1", after="P2",
                   license_before=rng.choice(LICENSES), license_after=rng.choice(LICENSES))
    if cls in (a.DeactivateUser, a.ReactivateUser):
        return cls(user=key, username=user, license=lic)
    raise AssertionError(cls)


@st.composite
def action_sets(draw: st.DrawFn) -> list[a.Action]:
    seed = draw(st.integers(0, 2**32))
    n = draw(st.integers(1, 40))
    rng = random.Random(seed)
    out: dict[str, a.Action] = {}
    for _ in range(n):
        action = _sample(rng.choice(a.KIND_ORDER), rng)
        out.setdefault(action.id, action)
    return list(out.values())


@settings(max_examples=300, deadline=None)
@given(action_sets(), st.randoms())
def test_order_respects_every_edge_and_ignores_input_order(acts, rnd):
    try:
        ordered, graph = order(acts)
    except CycleError as exc:
        assert "cycle" in str(exc)
        return
    pos = {x.id: i for i, x in enumerate(ordered)}
    for before, after in graph.edges:
        assert pos[before] < pos[after]
    shuffled = list(acts)
    rnd.shuffle(shuffled)
    assert _ids(order(shuffled)[0]) == _ids(ordered)
    flat = [x.id for layer in layers(graph, ordered) for x in layer]
    assert sorted(flat) == sorted(pos)


def test_select_by_an_address_below_a_resource():
    # `--target permission_sets.S1.objects.Account` picks that one change (and what it
    # needs), not the whole set; `--exclude` of it leaves the rest of the set; a
    # target between the resource and the change picks everything below it.
    acts = [
        a.CreatePermissionSet(name="S1", label="S1"),
        a.GrantObjectAccess(permission_set="S1", sobject="Account", after=("read",)),
        a.GrantObjectAccess(permission_set="S1", sobject="Contact", after=("read",)),
    ]
    ordered, graph = order(acts)
    picked = select(ordered, graph, targets=["permission_sets.S1.objects.Account"])
    assert _ids(picked) == ["create_permission_set:permission_sets.S1",
                            "grant_object_access:permission_sets.S1.objects.Account"]
    left = select(ordered, graph, excludes=["permission_sets.S1.objects.Account"])
    assert _ids(left) == ["create_permission_set:permission_sets.S1",
                          "grant_object_access:permission_sets.S1.objects.Contact"]
    objects = select(ordered, graph, targets=["permission_sets.S1.objects"])
    assert _ids(objects) == _ids(ordered)

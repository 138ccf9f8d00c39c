"""The frozen domain model: implications, equality, hashing, deterministic order."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.model import (
    FieldAccess,
    FrozenMap,
    ObjectAccess,
    PermissionSet,
    PermissionSetGroup,
    State,
    User,
    is_integration_psl,
    is_integration_user_license,
    is_standard_object,
    to_jsonable,
)


@pytest.mark.parametrize(("words", "effective"), [
    (["read"], ("read",)),
    (["create"], ("read", "create")),
    (["edit"], ("read", "edit")),
    (["delete"], ("read", "edit", "delete")),
    (["view_all"], ("read", "view_all")),
    (["modify_all"], ("read", "edit", "delete", "view_all", "modify_all")),
    ([], ()),
])
def test_object_permissions_imply_what_setup_implies(words: list[str],
                                                     effective: tuple[str, ...]) -> None:
    assert ObjectAccess.of(words).words == effective


def test_access_compares_by_effective_permissions() -> None:
    assert ObjectAccess(edit=True) == ObjectAccess(read=True, edit=True) == ObjectAccess.of(
        ["edit", "read"])
    assert hash(ObjectAccess(delete=True)) == hash(ObjectAccess.of(["read", "edit", "delete"]))
    assert FieldAccess(edit=True) == FieldAccess(read=True, edit=True)
    assert FieldAccess.of(["edit"]).words == ("read", "edit")
    assert FieldAccess().empty and ObjectAccess().empty
    assert not ObjectAccess(read=True).empty


def test_unknown_words_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown object permission 'raed'"):
        ObjectAccess.of(["raed"])
    with pytest.raises(ValueError, match="unknown field permission 'create'"):
        FieldAccess.of(["create"])


def test_models_are_frozen() -> None:
    access = ObjectAccess(read=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        access.read = False  # type: ignore[misc]
    pset = PermissionSet("INT_A", "A")
    with pytest.raises(dataclasses.FrozenInstanceError):
        pset.label = "B"  # type: ignore[misc]


def test_frozen_map_is_sorted_hashable_and_compares_with_dicts() -> None:
    a = FrozenMap({"b": 1, "a": 2})
    b = FrozenMap([("a", 2), ("b", 1)])
    assert list(a) == ["a", "b"] and list(a.items()) == [("a", 2), ("b", 1)]
    assert a == b and hash(a) == hash(b)
    assert a == {"a": 2, "b": 1}
    assert a != FrozenMap({"a": 2})
    assert len(a) == 2 and "a" in a and a.get("z") is None
    with pytest.raises(TypeError):
        a["c"] = 3  # type: ignore[index]


def test_resources_with_the_same_content_are_equal_and_hashable() -> None:
    def make(order: list[str]) -> PermissionSet:
        return PermissionSet(
            name="INT_A", label="A",
            objects=FrozenMap({o: ObjectAccess.of(["read"]) for o in order}),
            fields=FrozenMap({"Account.Industry": FieldAccess(read=True)}),
            system_permissions=frozenset({"ApiEnabled"}))
    one, two = make(["Account", "Contact"]), make(["Contact", "Account"])
    assert one == two and len({one, two}) == 1
    assert one.standard_objects == ("Account", "Contact")


def test_integration_helpers() -> None:
    assert is_integration_user_license("salesforce integration")
    assert not is_integration_user_license("Salesforce")
    assert not is_integration_user_license(None)
    assert is_integration_psl("Salesforce API Integration")
    assert is_integration_psl("salesforceapiintegrationpsl")
    assert not is_integration_psl("Salesforce Integration")
    assert is_standard_object("Account") and not is_standard_object("Invoice__c")
    user = User("u@x.co", "U", "u@x.co", "u", "Minimum Access - API Only Integrations")
    assert user.integration
    assert not dataclasses.replace(user, license="Salesforce").integration
    assert not dataclasses.replace(user, profile="Standard User").integration


def test_to_jsonable_is_plain_and_deterministic() -> None:
    state = State(
        users=FrozenMap({"u@x.co": User("u@x.co", "U", "u@x.co", "u", "P",
                                        permission_sets=frozenset({"B", "A"}))}),
        permission_sets=FrozenMap({"A": PermissionSet(
            "A", "A", objects=FrozenMap({"Account": ObjectAccess(edit=True)}))}),
        permission_set_groups=FrozenMap({"G": PermissionSetGroup("G", "G")}),
    )
    data = to_jsonable(state)
    assert data["users"]["u@x.co"]["permission_sets"] == ["A", "B"]
    assert data["permission_sets"]["A"]["objects"] == {"Account": ["read", "edit"]}
    assert "_words" not in data["permission_sets"]["A"]["objects"]
    assert data["permission_set_groups"]["G"] == {
        "name": "G", "label": "G", "description": "", "permission_sets": [], "absent": False}

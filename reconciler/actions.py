"""Actions: what a plan will do, as frozen data that round-trips through JSON.

An action names its resource by natural key (a permission set by API name, a user by
username), never by Salesforce Id: Ids of records created earlier in the same apply
do not exist when the plan is made. Each action carries what the ordering rules of
``graph.py`` and the renderers need (a set's license, a group's licences), so both
are pure functions of the action list.

Every kind has a fixed place in :data:`KIND_ORDER`, the tie-break that makes the
order of independent actions deterministic.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.errors import PlanFileError

Values = tuple[tuple[str, Any], ...]


def values(mapping: dict[str, Any]) -> Values:
    """A frozen, sorted form of a small attribute mapping."""
    return tuple(sorted(mapping.items()))


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class Action(abc.ABC):
    """One change to one record of the org."""

    kind: ClassVar[str] = ""
    #: ``+`` adds, ``~`` changes, ``-`` removes.
    symbol: ClassVar[str] = "~"
    #: Removes a record, a user's access or a user's activity, whatever its values.
    removes: ClassVar[bool] = False
    reason: str = field(default="", kw_only=True, compare=False)

    @property
    def destructive(self) -> bool:
        """Takes away access or data: listed separately, before any approval."""
        return self.removes

    @property
    @abc.abstractmethod
    def address(self) -> str:
        """The config address of what this action changes."""

    @property
    def resource(self) -> str:
        """The address of the resource (user, set, group) the action belongs to."""
        user = getattr(self, "user", None)
        if isinstance(user, str) and user:
            return f"users.{user}"  # a username used as the key may hold dots
        parts = self.address.split(".")
        return ".".join(parts[:2])

    @property
    def id(self) -> str:
        """Unique within a plan: kind and address."""
        return f"{self.kind}:{self.address}"

    def summary(self) -> str:
        """One line for humans."""
        return f"{self.kind.replace('_', ' ')} {self.address}"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data; :func:`action_from_json` reverses it."""
        out: dict[str, Any] = {"kind": self.kind, "address": self.address}
        for f in dataclasses.fields(self):
            out[f.name] = _thaw(getattr(self, f.name))
        return out


def _attr_line(before: Values, after: Values) -> str:
    old, new = dict(before), dict(after)
    parts = [f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in sorted(set(old) | set(new))
             if old.get(k) != new.get(k)]
    return ", ".join(parts)


# -- permission sets -----------------------------------------------------------


@dataclass(frozen=True)
class CreatePermissionSet(Action):
    kind: ClassVar[str] = "create_permission_set"
    symbol: ClassVar[str] = "+"
    name: str = ""
    label: str = ""
    description: str = ""
    license: str | None = None
    system_permissions: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return f"permission_sets.{self.name}"


@dataclass(frozen=True)
class UpdatePermissionSet(Action):
    kind: ClassVar[str] = "update_permission_set"
    name: str = ""
    before: Values = ()
    after: Values = ()

    @property
    def address(self) -> str:
        return f"permission_sets.{self.name}"

    def summary(self) -> str:
        return f"update permission set {self.name}: {_attr_line(self.before, self.after)}"


@dataclass(frozen=True)
class SetSystemPermissions(Action):
    kind: ClassVar[str] = "set_system_permissions"
    name: str = ""
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return f"permission_sets.{self.name}.system_permissions"

    @property
    def destructive(self) -> bool:
        return bool(self.disable)


@dataclass(frozen=True)
class DeletePermissionSet(Action):
    kind: ClassVar[str] = "delete_permission_set"
    symbol: ClassVar[str] = "-"
    removes: ClassVar[bool] = True
    name: str = ""

    @property
    def address(self) -> str:
        return f"permission_sets.{self.name}"


@dataclass(frozen=True)
class _ObjectAccessAction(Action):
    permission_set: str = ""
    sobject: str = ""
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    #: The objects ``sobject`` is a detail of: its access depends on theirs, which
    #: orders the actions (graph.py).
    masters: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return f"permission_sets.{self.permission_set}.objects.{self.sobject}"

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if not self.masters:
            del out["masters"]  # only detail objects have masters: others say nothing
        return out


@dataclass(frozen=True)
class GrantObjectAccess(_ObjectAccessAction):
    kind: ClassVar[str] = "grant_object_access"
    symbol: ClassVar[str] = "+"


def _narrows(before: tuple[str, ...], after: tuple[str, ...]) -> bool:
    return bool(set(before) - set(after))


@dataclass(frozen=True)
class ChangeObjectAccess(_ObjectAccessAction):
    kind: ClassVar[str] = "change_object_access"

    @property
    def destructive(self) -> bool:
        return _narrows(self.before, self.after)


@dataclass(frozen=True)
class RevokeObjectAccess(_ObjectAccessAction):
    kind: ClassVar[str] = "revoke_object_access"
    symbol: ClassVar[str] = "-"
    removes: ClassVar[bool] = True


@dataclass(frozen=True)
class _FieldAccessAction(Action):
    permission_set: str = ""
    field: str = ""
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return f"permission_sets.{self.permission_set}.fields.{self.field}"


@dataclass(frozen=True)
class GrantFieldAccess(_FieldAccessAction):
    kind: ClassVar[str] = "grant_field_access"
    symbol: ClassVar[str] = "+"


@dataclass(frozen=True)
class ChangeFieldAccess(_FieldAccessAction):
    kind: ClassVar[str] = "change_field_access"

    @property
    def destructive(self) -> bool:
        return _narrows(self.before, self.after)


@dataclass(frozen=True)
class RevokeFieldAccess(_FieldAccessAction):
    kind: ClassVar[str] = "revoke_field_access"
    symbol: ClassVar[str] = "-"
    removes: ClassVar[bool] = True


# -- permission set groups -------------------------------------------------------


@dataclass(frozen=True)
class CreateGroup(Action):
    kind: ClassVar[str] = "create_group"
    symbol: ClassVar[str] = "+"
    name: str = ""
    label: str = ""
    description: str = ""

    @property
    def address(self) -> str:
        return f"permission_set_groups.{self.name}"


@dataclass(frozen=True)
class UpdateGroup(Action):
    kind: ClassVar[str] = "update_group"
    name: str = ""
    before: Values = ()
    after: Values = ()

    @property
    def address(self) -> str:
        return f"permission_set_groups.{self.name}"

    def summary(self) -> str:
        return f"update group {self.name}: {_attr_line(self.before, self.after)}"


@dataclass(frozen=True)
class DeleteGroup(Action):
    kind: ClassVar[str] = "delete_group"
    symbol: ClassVar[str] = "-"
    removes: ClassVar[bool] = True
    name: str = ""
    #: Its member sets (a set can be deleted only once no group holds it).
    members: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return f"permission_set_groups.{self.name}"


@dataclass(frozen=True)
class AddGroupComponent(Action):
    kind: ClassVar[str] = "add_group_component"
    symbol: ClassVar[str] = "+"
    group: str = ""
    permission_set: str = ""
    #: The license of the set, when it has one (its assignees need it).
    license: str | None = None

    @property
    def address(self) -> str:
        return f"permission_set_groups.{self.group}.permission_sets.{self.permission_set}"


@dataclass(frozen=True)
class RemoveGroupComponent(Action):
    kind: ClassVar[str] = "remove_group_component"
    symbol: ClassVar[str] = "-"
    removes: ClassVar[bool] = True
    group: str = ""
    permission_set: str = ""
    license: str | None = None

    @property
    def address(self) -> str:
        return f"permission_set_groups.{self.group}.permission_sets.{self.permission_set}"


# -- users -----------------------------------------------------------------------


@dataclass(frozen=True)
class CreateUser(Action):
    kind: ClassVar[str] = "create_user"
    symbol: ClassVar[str] = "+"
    user: str = ""  # config address key (users.<key>)
    username: str = ""
    profile: str = ""
    license: str | None = None
    attributes: Values = ()
    active: bool = True

    @property
    def address(self) -> str:
        return f"users.{self.user}"


@dataclass(frozen=True)
class UpdateUser(Action):
    kind: ClassVar[str] = "update_user"
    user: str = ""
    username: str = ""
    before: Values = ()
    after: Values = ()

    @property
    def address(self) -> str:
        return f"users.{self.user}"

    def summary(self) -> str:
        return f"update user {self.username}: {_attr_line(self.before, self.after)}"


@dataclass(frozen=True)
class ChangeUserProfile(Action):
    kind: ClassVar[str] = "change_user_profile"
    user: str = ""
    username: str = ""
    before: str = ""
    after: str = ""
    license_before: str | None = None
    license_after: str | None = None
    #: Whether the user stays or becomes active (a seat of license_after is taken).
    active: bool = True

    @property
    def address(self) -> str:
        return f"users.{self.user}.profile"

    def summary(self) -> str:
        line = f"change profile of {self.username}: {self.before} → {self.after}"
        if self.license_before != self.license_after:
            line += f" (license {self.license_before} → {self.license_after})"
        return line


@dataclass(frozen=True)
class DeactivateUser(Action):
    kind: ClassVar[str] = "deactivate_user"
    symbol: ClassVar[str] = "-"
    removes: ClassVar[bool] = True
    user: str = ""
    username: str = ""
    license: str | None = None

    @property
    def address(self) -> str:
        return f"users.{self.user}.active"


@dataclass(frozen=True)
class ReactivateUser(Action):
    kind: ClassVar[str] = "reactivate_user"
    symbol: ClassVar[str] = "+"
    user: str = ""
    username: str = ""
    license: str | None = None

    @property
    def address(self) -> str:
        return f"users.{self.user}.active"


@dataclass(frozen=True)
class _Assignment(Action):
    user: str = ""
    username: str = ""
    target: str = ""
    #: Licences the assigned thing needs the user to hold (a set's PSL or user license).
    licenses: tuple[str, ...] = ()
    list_name: ClassVar[str] = ""

    @property
    def address(self) -> str:
        return f"users.{self.user}.{self.list_name}.{self.target}"


@dataclass(frozen=True)
class AssignPermissionSetLicense(_Assignment):
    kind: ClassVar[str] = "assign_permission_set_license"
    symbol: ClassVar[str] = "+"
    list_name: ClassVar[str] = "permission_set_licenses"


@dataclass(frozen=True)
class UnassignPermissionSetLicense(_Assignment):
    kind: ClassVar[str] = "unassign_permission_set_license"
    symbol: ClassVar[str] = "-"
    removes: ClassVar[bool] = True
    list_name: ClassVar[str] = "permission_set_licenses"


@dataclass(frozen=True)
class AssignPermissionSet(_Assignment):
    kind: ClassVar[str] = "assign_permission_set"
    symbol: ClassVar[str] = "+"
    list_name: ClassVar[str] = "permission_sets"


@dataclass(frozen=True)
class UnassignPermissionSet(_Assignment):
    kind: ClassVar[str] = "unassign_permission_set"
    symbol: ClassVar[str] = "-"
    removes: ClassVar[bool] = True
    list_name: ClassVar[str] = "permission_sets"


@dataclass(frozen=True)
class AssignGroup(_Assignment):
    kind: ClassVar[str] = "assign_group"
    symbol: ClassVar[str] = "+"
    list_name: ClassVar[str] = "permission_set_groups"


@dataclass(frozen=True)
class UnassignGroup(_Assignment):
    kind: ClassVar[str] = "unassign_group"
    symbol: ClassVar[str] = "-"
    removes: ClassVar[bool] = True
    list_name: ClassVar[str] = "permission_set_groups"


# The tie-break between independent actions: removals, then the resources they
# free, then creation outward to the assignments that use it.
KIND_ORDER: tuple[type[Action], ...] = (
    UnassignGroup,
    UnassignPermissionSet,
    UnassignPermissionSetLicense,
    RemoveGroupComponent,
    DeleteGroup,
    RevokeFieldAccess,
    RevokeObjectAccess,
    DeletePermissionSet,
    DeactivateUser,
    CreatePermissionSet,
    UpdatePermissionSet,
    SetSystemPermissions,
    GrantObjectAccess,
    ChangeObjectAccess,
    GrantFieldAccess,
    ChangeFieldAccess,
    CreateGroup,
    UpdateGroup,
    AddGroupComponent,
    CreateUser,
    ReactivateUser,
    ChangeUserProfile,
    UpdateUser,
    AssignPermissionSetLicense,
    AssignPermissionSet,
    AssignGroup,
)
KINDS: dict[str, type[Action]] = {k.kind: k for k in KIND_ORDER}
RANK: dict[str, int] = {k.kind: i for i, k in enumerate(KIND_ORDER)}


def sort_key(action: Action) -> tuple[int, str]:
    """Deterministic tie-break: (kind order, address)."""
    return (RANK[action.kind], action.address)


def action_from_json(data: object) -> Action:
    """Rebuild an action from :meth:`Action.to_json` output.

    Every field is checked against its declared type and the ``address`` against the
    one the fields give, so whatever a file holds becomes a well-formed action or a
    :class:`PlanFileError` naming the first wrong field (values echoed escaped).
    """
    if not isinstance(data, dict):
        raise PlanFileError(f"an action must be an object, not {shown(data)}")
    kind = data.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise PlanFileError(f"unknown action kind {shown(kind)}")
    hints = _field_types(cls)
    fields = set(hints)
    unknown = sorted(set(data) - fields - {"kind", "address"})
    if unknown:
        raise PlanFileError(f"{kind} action: unknown key {shown(unknown[0])}")
    kwargs: dict[str, Any] = {}
    for name in sorted(fields):
        if name not in data:
            if name in _OPTIONAL_FIELDS:
                continue
            raise PlanFileError(f"{kind} action: missing key {shown(name)}")
        value = data[name]
        if not _FIELD_CHECKS[hints[name]](value):
            raise PlanFileError(f"{kind} action: {name} must be {_FIELD_WORDS[hints[name]]}, "
                                f"not {shown(value)}")
        kwargs[name] = _freeze(value)
    action = cls(**kwargs)
    if data.get("address") != action.address:
        raise PlanFileError(f"{kind} action: address {shown(data.get('address'))} is not "
                            f"the one its fields give ({shown(action.address)})")
    return action


@functools.cache
def _field_types(cls: type[Action]) -> dict[str, object]:
    """The declared type of each field of an action class."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


# Fields ``to_json`` leaves out when they are empty.
_OPTIONAL_FIELDS = frozenset({"masters"})


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def _is_strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_values(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and _is_scalar(v[1])
        for v in value)


# Each field type an action declares → its JSON check and how to name it.
_FIELD_CHECKS: dict[object, Callable[[object], bool]] = {
    str: lambda v: isinstance(v, str),
    str | None: lambda v: v is None or isinstance(v, str),
    bool: lambda v: isinstance(v, bool),
    tuple[str, ...]: _is_strings,
    Values: _is_values,
}
_FIELD_WORDS: dict[object, str] = {
    str: "a string", str | None: "a string or null", bool: "true or false",
    tuple[str, ...]: "a list of strings", Values: "a list of [name, value] pairs",
}


def shown(value: object) -> str:
    """A value read from a file, for a message: one escaped line of bounded length."""
    if not (_is_scalar(value) or _is_strings(value) or _is_values(value)):
        return "an object" if isinstance(value, dict) else "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "..."

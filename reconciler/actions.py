"""Actions: what a plan will do, as frozen data that round-trips through JSON.

An action names its resource by natural key (a permission set by API name, a user by
username), never by Salesforce Id: Ids of records created earlier in the same apply
do not exist when the plan is made. Each action carries what the ordering rules of
``graph.py`` and the renderers need (a set's license, a group's licences), so both
are pure functions of the action list.

Each kind's facts live on its class: the record it writes (:attr:`Action.writes`,
:attr:`Action.record`), how it reads in a plan (:meth:`Action.detail`), and its
fields, which pydantic checks whenever a document is read (the base they share is in
:mod:`reconciler.action_base`). :data:`AnyAction` is the
union of every kind, told apart by ``kind``. Every kind has a fixed place in
:data:`KIND_ORDER`, the tie-break that makes the order of independent actions
deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Union, get_args

from pydantic import Field, StrictBool

from reconciler.action_base import Action, Values, Write, values
from reconciler.document import Text, Texts
from reconciler.live import record_key
from reconciler.model import SETUP_ENTITY_TYPES

__all__ = ["BULK_THRESHOLD", "KINDS", "KIND_ORDER", "TRANSPORTS", "Action", "AnyAction",
           "Transport", "Values", "Write", "estimate_calls", "sort_key", "transport_for",
           "values"]

#: Records per sObject Collections call.
COLLECTION_LIMIT = 200
#: sObject Collections subrequests a composite call may carry (of its 25 subrequests, at
#: most 5 may be collections or queries), hence records per composite call.
COMPOSITE_COLLECTIONS = 5
COMPOSITE_RECORDS = COMPOSITE_COLLECTIONS * COLLECTION_LIMIT
#: Above this many records one Bulk API 2.0 ingest job writes the group.
BULK_THRESHOLD = 5 * COMPOSITE_RECORDS


@dataclass(frozen=True)
class Transport:
    """One way apply writes the records of one sObject and operation in a layer."""

    name: str
    #: Used for groups of at least this many records (up to the next row's).
    from_records: int
    #: Records one chunk carries.
    per_chunk: int
    #: API calls one chunk costs.
    calls_per_chunk: int = 1
    #: More calls a chunk of creates costs (reading back the Ids it made).
    more_for_create: int = 0


#: Which transport writes a group, by its size: the last row whose ``from_records`` the
#: group reaches. Collections and composite cost the same org-side work per record (the
#: same rules run on every record), so the choice is the number of calls: up to 200
#: records are one call either way, and the plain collections call is kept; past 200 a
#: composite call carrying five collections subrequests saves up to four calls in five.
#: Measured against the emulator (2 busy cores, median of 3): 1,000 FieldPermissions
#: rows took 1.94 s wall, 0.42 s CPU in five collections calls and 1.50 s, 0.36 s in
#: one composite call; 200 rows 0.42 s and 0.37 s, one call each.
#: Past :data:`BULK_THRESHOLD` records Bulk API 2.0 ingest jobs take the group, each in
#: about seven calls (create, upload, close, three polls, and for creates the successful
#: results that carry the new Ids; the benchmark's jobs of 12,000 to 30,000 records took
#: three to five polls) where composite needs one call per 1,000 records: a job is fewer
#: calls from 3,000 records on, and the threshold leaves room for the polls of a slow
#: job. A group's jobs are all submitted before the first is waited on, so more jobs
#: overlap more of the client's work with the org's, at seven calls each. Measured
#: (benchmark apply, org in its own process, 2 busy cores): 90,000 field rows in 2 jobs
#: of 45,000 took 27.2-28.8 s wall, 3 of 30,000 27.5-28.3 s, 5 of 20,000 26.1-27.0 s but
#: 57 calls with the reads where the goal is 60; the org's own work (about 17 s) is the
#: floor.
TRANSPORTS: tuple[Transport, ...] = (
    Transport("collections", 1, COLLECTION_LIMIT),
    Transport("composite", COLLECTION_LIMIT + 1, COMPOSITE_RECORDS),
    Transport("bulk", BULK_THRESHOLD + 1, 30_000, calls_per_chunk=6, more_for_create=1),
)


def transport_for(records: int) -> Transport:
    """The row of :data:`TRANSPORTS` that writes a group of ``records`` records."""
    chosen = TRANSPORTS[0]
    for row in TRANSPORTS:
        if records >= row.from_records:
            chosen = row
    return chosen


def _words(words: Sequence[str]) -> str:
    return ", ".join(words) if words else "(none)"


def _change(before: Values, after: Values) -> str:
    old, new = dict(before), dict(after)
    return ", ".join(f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in sorted(new))


# -- permission sets -----------------------------------------------------------


class _SetAction(Action):
    name: Text = ""
    resource_kind: ClassVar[str] = "permission_sets"
    record_kind: ClassVar[str] = "set"

    @property
    def address(self) -> str:
        return f"{self.resource_kind}.{self.name}"

    @property
    def record(self) -> str:
        return record_key(self.record_kind, self.name)


class CreatePermissionSet(_SetAction):
    kind: Literal["create_permission_set"] = "create_permission_set"
    writes: ClassVar[Write] = Write("PermissionSet", "create")
    label: Text = ""
    description: Text = ""
    license: Text | None = None
    system_permissions: Texts = ()

    def detail(self) -> str:
        return (f'create permission set "{self.label}"'
                + (f", license {self.license}" if self.license else ", no license")
                + (f", system permissions {', '.join(self.system_permissions)}"
                   if self.system_permissions else ""))


class UpdatePermissionSet(_SetAction):
    kind: Literal["update_permission_set"] = "update_permission_set"
    writes: ClassVar[Write] = Write("PermissionSet", "update")
    before: Values = ()
    after: Values = ()

    def detail(self) -> str:
        return _change(self.before, self.after)


class SetSystemPermissions(_SetAction):
    kind: Literal["set_system_permissions"] = "set_system_permissions"
    writes: ClassVar[Write] = Write("PermissionSet", "update")
    enable: Texts = ()
    disable: Texts = ()

    @property
    def address(self) -> str:
        return f"permission_sets.{self.name}.system_permissions"

    @property
    def destructive(self) -> bool:
        return bool(self.disable)

    def detail(self) -> str:
        return "system permissions " + " ".join(
            [f"+{p}" for p in self.enable] + [f"-{p}" for p in self.disable])


class DeletePermissionSet(_SetAction):
    kind: Literal["delete_permission_set"] = "delete_permission_set"
    writes: ClassVar[Write] = Write("PermissionSet", "delete")

    def detail(self) -> str:
        return "delete permission set"


def _narrows(before: tuple[str, ...], after: tuple[str, ...]) -> bool:
    return bool(set(before) - set(after))


def _access_detail(name: str, writes: Write, before: Texts, after: Texts) -> str:
    if writes.operation == "create":
        return f"{name}: {_words(after)}"
    return f"{name}: {_words(before)} → {_words(after)}"  # a revoke's after is (none)


class _ObjectAccessAction(Action):
    permission_set: Text = ""
    sobject: Text = ""
    before: Texts = ()
    after: Texts = ()
    #: The objects ``sobject`` is a detail of: its access depends on theirs, which
    #: orders the actions (graph.py). Only detail objects have masters: others say
    #: nothing.
    masters: Texts = ()
    optional: ClassVar[frozenset[str]] = frozenset({"masters"})
    resource_kind: ClassVar[str] = "permission_sets"
    record_kind: ClassVar[str] = "object"

    @property
    def address(self) -> str:
        return f"{self.resource_kind}.{self.permission_set}.objects.{self.sobject}"

    @property
    def record(self) -> str:
        return record_key(self.record_kind, self.permission_set, self.sobject)

    def detail(self) -> str:
        return _access_detail(f"objects.{self.sobject}", self.writes, self.before, self.after)


class GrantObjectAccess(_ObjectAccessAction):
    kind: Literal["grant_object_access"] = "grant_object_access"
    writes: ClassVar[Write] = Write("ObjectPermissions", "create")


class ChangeObjectAccess(_ObjectAccessAction):
    kind: Literal["change_object_access"] = "change_object_access"
    writes: ClassVar[Write] = Write("ObjectPermissions", "update")

    @property
    def destructive(self) -> bool:
        return _narrows(self.before, self.after)


class RevokeObjectAccess(_ObjectAccessAction):
    kind: Literal["revoke_object_access"] = "revoke_object_access"
    writes: ClassVar[Write] = Write("ObjectPermissions", "delete")


class _FieldAccessAction(Action):
    permission_set: Text = ""
    field: Text = ""
    before: Texts = ()
    after: Texts = ()
    resource_kind: ClassVar[str] = "permission_sets"
    record_kind: ClassVar[str] = "field"

    @property
    def address(self) -> str:
        return f"{self.resource_kind}.{self.permission_set}.fields.{self.field}"

    @property
    def record(self) -> str:
        return record_key(self.record_kind, self.permission_set, self.field)

    def detail(self) -> str:
        return _access_detail(f"fields.{self.field}", self.writes, self.before, self.after)


class GrantFieldAccess(_FieldAccessAction):
    kind: Literal["grant_field_access"] = "grant_field_access"
    writes: ClassVar[Write] = Write("FieldPermissions", "create")


class ChangeFieldAccess(_FieldAccessAction):
    kind: Literal["change_field_access"] = "change_field_access"
    writes: ClassVar[Write] = Write("FieldPermissions", "update")

    @property
    def destructive(self) -> bool:
        return _narrows(self.before, self.after)


class RevokeFieldAccess(_FieldAccessAction):
    kind: Literal["revoke_field_access"] = "revoke_field_access"
    writes: ClassVar[Write] = Write("FieldPermissions", "delete")


# A SetupEntityType → the config key that lists such entities (connected_apps…).
_ENTITY_KEYS = {t: key for key, t in SETUP_ENTITY_TYPES.items()}
EntityType = Literal["ConnectedApplication", "ApexClass", "CustomPermission", "ApexPage",
                     "TabSet"]
# The Literal spells out, for the plan file's check, what the model's table holds.
assert set(get_args(EntityType)) == set(SETUP_ENTITY_TYPES.values())


class _EntityAccessAction(Action):
    """A set's access to a setup entity: one SetupEntityAccess row, made or deleted
    (Salesforce never updates one)."""

    permission_set: Text = ""
    entity_type: EntityType = "ConnectedApplication"
    entity: Text = ""  # its name, as the org spells it
    resource_kind: ClassVar[str] = "permission_sets"
    record_kind: ClassVar[str] = "entity"

    @property
    def list_name(self) -> str:
        """The set's list in the config that names the entity."""
        return _ENTITY_KEYS[self.entity_type]

    @property
    def address(self) -> str:
        return f"{self.resource_kind}.{self.permission_set}.{self.list_name}.{self.entity}"

    @property
    def record(self) -> str:
        return record_key(self.record_kind, self.permission_set, self.entity_type, self.entity)

    def detail(self) -> str:
        return f"{self.list_name}: {self.symbol} {self.entity}"


class GrantSetupEntityAccess(_EntityAccessAction):
    kind: Literal["grant_setup_entity_access"] = "grant_setup_entity_access"
    writes: ClassVar[Write] = Write("SetupEntityAccess", "create")


class RevokeSetupEntityAccess(_EntityAccessAction):
    kind: Literal["revoke_setup_entity_access"] = "revoke_setup_entity_access"
    writes: ClassVar[Write] = Write("SetupEntityAccess", "delete")


# -- permission set groups -------------------------------------------------------


class _GroupAction(Action):
    name: Text = ""
    resource_kind: ClassVar[str] = "permission_set_groups"
    record_kind: ClassVar[str] = "group"

    @property
    def address(self) -> str:
        return f"{self.resource_kind}.{self.name}"

    @property
    def record(self) -> str:
        return record_key(self.record_kind, self.name)


class CreateGroup(_GroupAction):
    kind: Literal["create_group"] = "create_group"
    writes: ClassVar[Write] = Write("PermissionSetGroup", "create")
    label: Text = ""
    description: Text = ""

    def detail(self) -> str:
        return f'create permission set group "{self.label}"'


class UpdateGroup(_GroupAction):
    kind: Literal["update_group"] = "update_group"
    writes: ClassVar[Write] = Write("PermissionSetGroup", "update")
    before: Values = ()
    after: Values = ()

    def detail(self) -> str:
        return _change(self.before, self.after)


class DeleteGroup(_GroupAction):
    kind: Literal["delete_group"] = "delete_group"
    writes: ClassVar[Write] = Write("PermissionSetGroup", "delete")
    #: Its member sets (a set can be deleted only once no group holds it).
    members: Texts = ()

    def detail(self) -> str:
        return "delete permission set group"


class _ComponentAction(Action):
    group: Text = ""
    permission_set: Text = ""
    #: The license of the set, when it has one (its assignees need it).
    license: Text | None = None
    resource_kind: ClassVar[str] = "permission_set_groups"
    record_kind: ClassVar[str] = "component"

    @property
    def address(self) -> str:
        return f"{self.resource_kind}.{self.group}.permission_sets.{self.permission_set}"

    @property
    def record(self) -> str:
        return record_key(self.record_kind, self.group, self.permission_set)


class AddGroupComponent(_ComponentAction):
    kind: Literal["add_group_component"] = "add_group_component"
    writes: ClassVar[Write] = Write("PermissionSetGroupComponent", "create")

    def detail(self) -> str:
        return f"permission_sets: + {self.permission_set}"


class RemoveGroupComponent(_ComponentAction):
    kind: Literal["remove_group_component"] = "remove_group_component"
    writes: ClassVar[Write] = Write("PermissionSetGroupComponent", "delete")

    def detail(self) -> str:
        return f"permission_sets: - {self.permission_set}"


# -- users -----------------------------------------------------------------------


class _UserAction(Action):
    user: Text = ""  # config address key (users.<key>)
    username: Text = ""
    writes: ClassVar[Write] = Write("User", "update")
    resource_kind: ClassVar[str] = "users"
    record_kind: ClassVar[str] = "user"

    @property
    def address(self) -> str:
        return f"{self.resource_kind}.{self.user}"

    @property
    def record(self) -> str:
        return record_key(self.record_kind, self.username)


class CreateUser(_UserAction):
    kind: Literal["create_user"] = "create_user"
    writes: ClassVar[Write] = Write("User", "create")
    profile: Text = ""
    license: Text | None = None
    attributes: Values = ()
    active: StrictBool = True

    def detail(self) -> str:
        return (f"create user {self.username} (profile {self.profile}"
                + (f", license {self.license}" if self.license else "")
                + ("" if self.active else ", inactive") + ")")


class UpdateUser(_UserAction):
    kind: Literal["update_user"] = "update_user"
    before: Values = ()
    after: Values = ()

    def detail(self) -> str:
        return _change(self.before, self.after)


class ChangeUserProfile(_UserAction):
    kind: Literal["change_user_profile"] = "change_user_profile"
    before: Text = ""
    after: Text = ""
    license_before: Text | None = None
    license_after: Text | None = None
    #: Whether the user stays or becomes active (a seat of license_after is taken).
    active: StrictBool = True

    @property
    def address(self) -> str:
        return f"users.{self.user}.profile"

    def detail(self) -> str:
        return (f"profile: {self.before} → {self.after}" + (
            f" (license {self.license_before} → {self.license_after})"
            if self.license_before != self.license_after else ""))


class DeactivateUser(_UserAction):
    kind: Literal["deactivate_user"] = "deactivate_user"
    license: Text | None = None

    # An update of the User that takes away everything it can do.
    @property
    def symbol(self) -> str:
        return "-"

    @property
    def destructive(self) -> bool:
        return True

    @property
    def address(self) -> str:
        return f"users.{self.user}.active"

    def detail(self) -> str:
        return "deactivate user (frees a seat; users are never deleted)"


class ReactivateUser(_UserAction):
    kind: Literal["reactivate_user"] = "reactivate_user"
    license: Text | None = None

    @property
    def symbol(self) -> str:
        return "+"

    @property
    def address(self) -> str:
        return f"users.{self.user}.active"

    def detail(self) -> str:
        return "reactivate user"


class _Assignment(_UserAction):
    target: Text = ""
    #: Licences the assigned thing needs the user to hold (a set's PSL or user license).
    licenses: Texts = ()
    #: The user's list in the config.
    list_name: ClassVar[str] = ""

    @property
    def address(self) -> str:
        return f"{self.resource_kind}.{self.user}.{self.list_name}.{self.target}"

    @property
    def record(self) -> str:
        return record_key(self.record_kind, self.username, self.target)

    def detail(self) -> str:
        return f"{self.list_name}: {self.symbol} {self.target}"


class AssignPermissionSetLicense(_Assignment):
    kind: Literal["assign_permission_set_license"] = "assign_permission_set_license"
    writes: ClassVar[Write] = Write("PermissionSetLicenseAssign", "create")
    list_name: ClassVar[str] = "permission_set_licenses"
    record_kind: ClassVar[str] = "assign-psl"


class UnassignPermissionSetLicense(_Assignment):
    kind: Literal["unassign_permission_set_license"] = "unassign_permission_set_license"
    writes: ClassVar[Write] = Write("PermissionSetLicenseAssign", "delete")
    list_name: ClassVar[str] = "permission_set_licenses"
    record_kind: ClassVar[str] = "assign-psl"


class AssignPermissionSet(_Assignment):
    kind: Literal["assign_permission_set"] = "assign_permission_set"
    writes: ClassVar[Write] = Write("PermissionSetAssignment", "create")
    list_name: ClassVar[str] = "permission_sets"
    record_kind: ClassVar[str] = "assign-set"


class UnassignPermissionSet(_Assignment):
    kind: Literal["unassign_permission_set"] = "unassign_permission_set"
    writes: ClassVar[Write] = Write("PermissionSetAssignment", "delete")
    list_name: ClassVar[str] = "permission_sets"
    record_kind: ClassVar[str] = "assign-set"


class AssignGroup(_Assignment):
    kind: Literal["assign_group"] = "assign_group"
    writes: ClassVar[Write] = Write("PermissionSetAssignment", "create")
    list_name: ClassVar[str] = "permission_set_groups"
    record_kind: ClassVar[str] = "assign-group"


class UnassignGroup(_Assignment):
    kind: Literal["unassign_group"] = "unassign_group"
    writes: ClassVar[Write] = Write("PermissionSetAssignment", "delete")
    list_name: ClassVar[str] = "permission_set_groups"
    record_kind: ClassVar[str] = "assign-group"


# The tie-break between independent actions: removals, then the resources they
# free, then creation outward to the assignments that use it.
KIND_ORDER: tuple[type[Action], ...] = (
    UnassignGroup, UnassignPermissionSet, UnassignPermissionSetLicense, RemoveGroupComponent,
    DeleteGroup, RevokeSetupEntityAccess, RevokeFieldAccess, RevokeObjectAccess,
    DeletePermissionSet, DeactivateUser, CreatePermissionSet, UpdatePermissionSet,
    SetSystemPermissions, GrantObjectAccess, ChangeObjectAccess, GrantFieldAccess,
    ChangeFieldAccess, GrantSetupEntityAccess, CreateGroup, UpdateGroup,
    AddGroupComponent, CreateUser, ReactivateUser, ChangeUserProfile, UpdateUser,
    AssignPermissionSetLicense, AssignPermissionSet, AssignGroup,
)
KINDS: dict[str, type[Action]] = {k.model_fields["kind"].default: k for k in KIND_ORDER}
RANK: dict[str, int] = {kind: i for i, kind in enumerate(KINDS)}

if TYPE_CHECKING:
    AnyAction = Action
else:
    #: Any action kind, read from a document by its ``kind``.
    AnyAction = Annotated[Union[KIND_ORDER], Field(discriminator="kind")]  # noqa: UP007


def sort_key(action: Action) -> tuple[int, str]:
    """Deterministic tie-break: (kind order, address)."""
    return (RANK[action.kind], action.address)


def estimate_calls(layers: Sequence[Sequence[Action]]) -> dict[str, int]:
    """Write calls apply needs, by transport (in :data:`TRANSPORTS` order, those used
    only): per layer, sObject and operation, the chunks of the transport that group's
    size picks, times the calls a chunk costs."""
    calls = dict.fromkeys((t.name for t in TRANSPORTS), 0)
    for layer in layers:
        records: dict[Write, set[str]] = {}
        for action in layer:
            records.setdefault(action.writes, set()).add(action.record)
        for write, group in records.items():
            row = transport_for(len(group))
            chunks = math.ceil(len(group) / row.per_chunk)
            calls[row.name] += chunks * (row.calls_per_chunk + (
                row.more_for_create if write.operation == "create" else 0))
    return {name: n for name, n in calls.items() if n}

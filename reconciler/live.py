"""The org as the core sees it: a value, read once by the shell and planned against.

:class:`Live` is a snapshot of the part of the org a config claims (:class:`Claims`),
plus the catalogue the plan checks against (licences, profiles, describes). The core
(diff, checks, plan, proof) works on it and never on the org; reading it is the job of
:mod:`reconciler.org.reader`, through the :class:`Querier` surface of the client.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.model import FrozenMap, SetupEntity, State


class Querier(Protocol):
    """What the reader needs from the org client."""

    @property
    def calls(self) -> int: ...

    def query(self, soql: str) -> list[dict[str, Any]]: ...

    def query_pages(self, soql: str) -> Iterator[list[dict[str, Any]]]: ...

    def describe(self, sobjects: Sequence[str]) -> Mapping[str, dict[str, Any] | None]: ...


@dataclass(frozen=True)
class Claims:
    """What the config claims, by natural key, for the reader to fetch."""

    usernames: tuple[str, ...]
    permission_sets: tuple[str, ...]  # declared (present) sets: content is read
    absent_sets: tuple[str, ...] = ()
    referenced_sets: tuple[str, ...] = ()  # named by users or groups, not declared
    groups: tuple[str, ...] = ()
    absent_groups: tuple[str, ...] = ()
    referenced_groups: tuple[str, ...] = ()
    set_prefix: str | None = None
    objects: tuple[str, ...] = ()  # sObjects named in object or field access
    #: Setup entities the declared sets name: the reader looks each up by name.
    setup_entities: tuple[SetupEntity, ...] = ()


@dataclass(frozen=True)
class License:
    """A user license or a permission set licence, with its seats."""

    id: str
    name: str  # UserLicense.Name, or the PSL's DeveloperName
    label: str  # MasterLabel
    total: int
    used: int
    kind: str  # "user_license" | "psl"

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)


def license_label(lic: License | None) -> str | None:
    """How a licence is named in config and plans: a user license's Name, a PSL's label."""
    if lic is None:
        return None
    return lic.name if lic.kind == "user_license" else lic.label


@dataclass(frozen=True)
class SetInfo:
    """What the plan needs to know of any permission set it touches."""

    id: str
    name: str
    license: str | None  # the licence's display name (user license Name or PSL label)
    license_kind: str | None  # "user_license" | "psl" | None
    #: Standard objects the set grants any access to (read for sets the config
    #: doesn't declare, so license checks can see what a user would get).
    standard_objects: tuple[str, ...] = ()
    #: Its label, as Setup shows it (and names it in the audit trail).
    label: str = ""


@dataclass(frozen=True)
class ObjectInfo:
    """An sObject as describe() tells it: its fields, and which are permissionable."""

    name: str
    fields: FrozenMap[str, bool]  # lower-case field name → permissionable
    field_names: FrozenMap[str, str]  # lower-case → canonical
    #: Fields field permissions can grant read on only: lower-case → "formula" or
    #: "auto-number" (describe's ``calculated`` / ``autoNumber``).
    read_only: FrozenMap[str, str] = field(default_factory=FrozenMap)
    #: The objects this one is a detail of: targets of its master-detail fields (those
    #: with a ``relationshipOrder``).
    masters: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntityInfo:
    """A setup entity of the org (a connected app, an Apex class…)."""

    id: str
    type: str  # its SetupEntityType
    name: str  # as the org spells it (``namespace__Name`` for a package's)
    #: A connected app's "Admin approved users are pre-authorized" policy; None where
    #: the org doesn't say (another kind, or a field the org lacks).
    admin_approved_only: bool | None = None


def entity_key(entity_type: str, name: str) -> str:
    """The key of a setup entity in :attr:`Live.setup_entities`."""
    return f"{entity_type}:{name.casefold()}"


@dataclass(frozen=True)
class Live:
    """The org as far as the config claims it, plus the catalogue the plan checks against."""

    state: State
    user_licenses: FrozenMap[str, License]  # casefolded name → License
    psls: FrozenMap[str, License]  # casefolded developer name AND label → License
    profiles: FrozenMap[str, tuple[str, str]]  # casefolded name → (name, user license name)
    profile_ids: FrozenMap[str, str]  # casefolded name → Id
    sets: FrozenMap[str, SetInfo]  # casefolded name → every set touched
    groups: FrozenMap[str, tuple[str, tuple[str, ...]]]  # casefolded → (id, member names)
    #: Ids of the records actions will write, by record key (see :func:`record_key`).
    ids: FrozenMap[str, str]
    #: SystemModstamp of every record the plan depends on, plus each user's assignments.
    fingerprint: FrozenMap[str, str]
    objects: FrozenMap[str, ObjectInfo | None]  # casefolded sObject → describe, None: unknown
    system_permissions: frozenset[str]  # names the org's PermissionSet has (no prefix)
    #: Assignments of absent sets and groups to users the config does not declare.
    other_assignments: tuple[tuple[str, str, str], ...] = ()  # (kind, username, target)
    #: Assignments of declared users whose rows a user access policy revoked: not held,
    #: and not assignable again over the API while the row stays.
    revoked: tuple[tuple[str, str, str], ...] = ()  # (kind, username, target)
    api_calls: int = 0
    #: Each group's recalculation Status (Updated, Outdated, Updating, Failed), by
    #: casefolded DeveloperName.
    group_status: FrozenMap[str, str] = field(default_factory=FrozenMap)
    #: The setup entities the config names or the managed sets hold, by
    #: :func:`entity_key`; a name the config uses that is missing is not in the org.
    setup_entities: FrozenMap[str, EntityInfo] = field(default_factory=FrozenMap)
    #: SetupEntityType → the org's names of that kind, read only for a kind where a
    #: name the config uses is missing (for "did you mean").
    entity_names: FrozenMap[str, tuple[str, ...]] = field(default_factory=FrozenMap)


def record_key(kind: str, *parts: str) -> str:
    """The key of a record in :attr:`Live.ids` and :attr:`Live.fingerprint`."""
    return kind + ":" + ":".join([p.casefold() for p in parts])


def qualified_name(name: str, namespace: str | None) -> str:
    """A set's name as config and plans write it: ``namespace__Name`` for a managed
    package's set (a set's own name never holds a double underscore)."""
    return f"{namespace}__{name}" if namespace else name


def is_managed(name: str) -> bool:
    """Whether a set name (as :func:`qualified_name` writes it) is a managed package's."""
    return "__" in name

"""The frozen, typed domain shared by desired and live state.

The config loader builds these types from YAML; the org reader builds the same
types from a live org; the diff compares them by natural key:

=====================  ==================================================
type                   natural key
=====================  ==================================================
:class:`User`          ``username`` (lower case)
:class:`PermissionSet` ``name`` (the API name)
:class:`PermissionSetGroup` ``name`` (the developer name)
:class:`ObjectAccess`  (permission set name, sObject name)
:class:`FieldAccess`   (permission set name, ``"Object.Field"``)
=====================  ==================================================

Every value is immutable, hashable and compares by value. Permission
implications are applied on construction (edit ⇒ read, modify_all ⇒ read, edit,
delete, view_all; field edit ⇒ read), so two accesses are equal exactly when
they grant the same effective access, whichever words were written.

Salesforce API field names (``PermissionsRead``, ``ProfileId``…) do not appear
here: translating to and from them is the job of ``reconciler.org``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from functools import cache, lru_cache
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Generic, TypeVar, overload

__all__ = [
    "ACTIVITY_SYSTEM_PERMISSIONS",
    "FIELD_PERMISSIONS",
    "INTEGRATION_PROFILES",
    "INTEGRATION_PSL_DEVELOPER_NAME",
    "INTEGRATION_PSL_LABEL",
    "INTEGRATION_USER_LICENSE",
    "OBJECT_DEPENDENCIES",
    "OBJECT_PERMISSIONS",
    "FieldAccess",
    "FrozenMap",
    "ObjectAccess",
    "PermissionSet",
    "PermissionSetGroup",
    "State",
    "User",
    "field_key",
    "is_activity_object",
    "is_integration_psl",
    "is_integration_user_license",
    "is_standard_object",
    "object_prerequisites",
    "same_name",
    "to_jsonable",
]

# The permission words of the config language, in Setup's order.
OBJECT_PERMISSIONS: tuple[str, ...] = ("read", "create", "edit", "delete", "view_all", "modify_all")
FIELD_PERMISSIONS: tuple[str, ...] = ("read", "edit")

# The integration user license and its companion permission set license
# (salesforce.md §1). License names compare case-insensitively.
INTEGRATION_USER_LICENSE = "Salesforce Integration"
INTEGRATION_PSL_LABEL = "Salesforce API Integration"
INTEGRATION_PSL_DEVELOPER_NAME = "SalesforceAPIIntegrationPsl"
# Profiles that exist only under the integration user license (clones get other names).
INTEGRATION_PROFILES: tuple[str, ...] = (
    "Minimum Access - API Only Integrations",
    "Salesforce API Only System Integrations",
)

# What each object permission word implies, the way Setup ticks the boxes
# (salesforce.md §2). Applied transitively on construction.
_OBJECT_IMPLIES: dict[str, tuple[str, ...]] = {
    "read": (),
    "create": ("read",),
    "edit": ("read",),
    "delete": ("read", "edit"),
    "view_all": ("read",),
    "modify_all": ("read", "edit", "delete", "view_all"),
}

_CRUD = ("read", "create", "edit", "delete")
# Object permissions that depend on another object's permission in the same set, as
# (object, its words, the object they depend on, the word needed there). Sources and
# confidence: docs/salesforce-behaviour.md §3.
OBJECT_DEPENDENCIES: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("Contract", _CRUD, "Account", "read"),
    ("Contract", ("view_all",), "Account", "view_all"),
    ("Asset", ("view_all",), "Account", "view_all"),
)
# A detail object depends on its master (a master-detail field's target) the same way:
# (its words, the master's word they need).
MASTER_DEPENDENCIES: tuple[tuple[tuple[str, ...], str], ...] = (
    (_CRUD, "read"),
    (("view_all",), "view_all"),
)
# Task and Event take no object permissions: activity access is the Edit Tasks / Edit
# Events system permission. Their custom fields are one Activity field on both.
ACTIVITY_SYSTEM_PERMISSIONS: dict[str, str] = {"Task": "EditTask", "Event": "EditEvent"}

# Casefolded: a set lookup, as field_key runs once per field permission on each side.
_ACTIVITY_OBJECTS = frozenset(a.casefold() for a in ACTIVITY_SYSTEM_PERMISSIONS)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


def same_name(a: str, b: str) -> bool:
    """Whether two Salesforce names are the same name (Salesforce ignores case)."""
    return a.casefold() == b.casefold()


def is_integration_user_license(name: str | None) -> bool:
    """Whether ``name`` is the "Salesforce Integration" user license."""
    return name is not None and same_name(name, INTEGRATION_USER_LICENSE)


def is_integration_psl(name: str | None) -> bool:
    """Whether ``name`` (label or developer name) is the "Salesforce API Integration" PSL."""
    return name is not None and (
        same_name(name, INTEGRATION_PSL_LABEL) or same_name(name, INTEGRATION_PSL_DEVELOPER_NAME)
    )


def is_standard_object(sobject: str) -> bool:
    """Whether an sObject API name is a standard object.

    Custom objects, custom metadata, platform events, external objects and their
    ``__Share``/``__History`` companions all carry a double underscore; standard
    objects never do.
    """
    return "__" not in sobject


def is_activity_object(sobject: str) -> bool:
    """Whether ``sobject`` is Task or Event (in any case)."""
    return sobject.casefold() in _ACTIVITY_OBJECTS


@lru_cache(maxsize=1 << 16)  # a config names the same fields in every set
def field_key(field_name: str) -> str:
    """The key field access is compared by: ``Object.Field`` ignoring case, with an
    activity custom field's Task and Event rows (one field, mirrored) under one key."""
    key = field_name.casefold()
    obj, _, name = key.partition(".")
    if obj in _ACTIVITY_OBJECTS and name.endswith("__c"):
        return f"activity.{name}"
    return key


def object_prerequisites(sobject: str, words: Iterable[str],
                         masters: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """(word, other object, word needed there) for each of ``words`` on ``sobject``
    that depends on another object's access; ``masters`` are the objects ``sobject``
    is a detail of."""
    held = set(words)
    rows = [(perms, other, need) for obj, perms, other, need in OBJECT_DEPENDENCIES
            if same_name(obj, sobject)]
    rows += [(perms, master, need) for master in masters for perms, need in MASTER_DEPENDENCIES]
    return [(word, other, need) for perms, other, need in rows
            for word in perms if word in held]


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """An immutable, hashable mapping that iterates in sorted key order.

    Sorting on construction makes every rendering, digest and plan built from it
    deterministic, whatever order the YAML or the org listed the entries in.
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        data: dict[K, V] = dict(sorted(pairs, key=_sort_key))  # by key alone, stable
        self._data = data
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    @overload
    def get(self, key: K, /) -> V | None: ...

    @overload
    def get(self, key: K, /, default: V | T) -> V | T: ...

    def get(self, key: K, /, default: Any = None) -> Any:
        # The dict's own: Mapping's goes through __getitem__ and an exception on a miss.
        return self._data.get(key, default)

    def lookup(self) -> Mapping[K, V]:
        """A read-only view whose ``get`` and ``in`` are the dict's own, for loops over
        a hundred thousand keys where this class's methods are a call each."""
        return MappingProxyType(self._data)

    # The dict's own views: much faster than Mapping's generic ones, and read-only.
    def keys(self) -> KeysView[K]:
        return self._data.keys()

    def values(self) -> ValuesView[V]:
        return self._data.values()

    def items(self) -> ItemsView[K, V]:
        return self._data.items()

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


# A pair's key, in C: a map of a large org is built from hundreds of thousands of pairs.
_sort_key = itemgetter(0)


@dataclass(frozen=True, slots=True)
class ObjectAccess:
    """Effective access of one permission set to one sObject.

    Implications are applied on construction, so ``ObjectAccess(edit=True)``
    equals ``ObjectAccess(read=True, edit=True)``.
    """

    read: bool = False
    create: bool = False
    edit: bool = False
    delete: bool = False
    view_all: bool = False
    modify_all: bool = False
    # The effective words, computed once: digests and plans ask for them often.
    _words: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        granted = {word for word in OBJECT_PERMISSIONS if getattr(self, word)}
        for word in _implied_object_words(frozenset(granted)):
            object.__setattr__(self, word, True)
        object.__setattr__(self, "_words",
                           tuple(word for word in OBJECT_PERMISSIONS if getattr(self, word)))

    @classmethod
    def of(cls, words: Iterable[str]) -> ObjectAccess:
        """Access from permission words (``read create edit delete view_all modify_all``).

        Raises ``ValueError`` naming an unknown word.
        """
        return _object_access(frozenset(words))

    @property
    def words(self) -> tuple[str, ...]:
        """The effective permission words, in Setup's order."""
        return self._words

    @property
    def empty(self) -> bool:
        """True when this grants nothing (Salesforce keeps no row for it)."""
        return not self._words


@cache
def _implied_object_words(granted: frozenset[str]) -> frozenset[str]:
    todo = list(granted)
    out = set(granted)
    while todo:
        for implied in _OBJECT_IMPLIES[todo.pop()]:
            if implied not in out:
                out.add(implied)
                todo.append(implied)
    return frozenset(out)


@cache
def _object_access(words: frozenset[str]) -> ObjectAccess:
    # Cached: a config has thousands of entries but only 64 possible values.
    unknown = sorted(words - set(OBJECT_PERMISSIONS))
    if unknown:
        raise ValueError(f"unknown object permission {unknown[0]!r}")
    return ObjectAccess(**{word: True for word in words})


@dataclass(frozen=True, slots=True)
class FieldAccess:
    """Effective access of one permission set to one field; edit implies read."""

    read: bool = False
    edit: bool = False
    _words: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        if self.edit and not self.read:
            object.__setattr__(self, "read", True)
        object.__setattr__(self, "_words", ("read", "edit") if self.edit else
                           ("read",) if self.read else ())

    @classmethod
    def of(cls, words: Iterable[str]) -> FieldAccess:
        """Access from field permission words (``read edit``); ``ValueError`` on others."""
        return _field_access(frozenset(words))

    @property
    def words(self) -> tuple[str, ...]:
        """The effective permission words, read first."""
        return self._words

    @property
    def empty(self) -> bool:
        """True when this grants nothing (Salesforce keeps no row for it)."""
        return not self.read


@cache
def _field_access(words: frozenset[str]) -> FieldAccess:
    unknown = sorted(words - set(FIELD_PERMISSIONS))
    if unknown:
        raise ValueError(f"unknown field permission {unknown[0]!r}")
    return FieldAccess(read="read" in words, edit="edit" in words)


_EMPTY_OBJECTS: FrozenMap[str, ObjectAccess] = FrozenMap()
_EMPTY_FIELDS: FrozenMap[str, FieldAccess] = FrozenMap()

#: What a permission set can give access to through ``SetupEntityAccess`` rows: the
#: config key → Salesforce's ``SetupEntityType``. ``TabSet`` is an app (application
#: visibility).
SETUP_ENTITY_TYPES: dict[str, str] = {
    "connected_apps": "ConnectedApplication",
    "apex_classes": "ApexClass",
    "custom_permissions": "CustomPermission",
    "visualforce_pages": "ApexPage",
    "apps": "TabSet",
}


@dataclass(frozen=True, order=True, slots=True)
class SetupEntity:
    """One thing a permission set gives access to: its ``SetupEntityType`` and its name
    (the API name with any namespace prefix; a connected app by its name as Setup shows
    it)."""

    type: str
    name: str


@dataclass(frozen=True, slots=True)
class PermissionSet:
    """A permission set, keyed by its API name.

    ``objects`` maps sObject names to access and ``fields`` maps
    ``"Object.Field"`` names to access; entries that grant nothing are not kept.
    ``setup_entities`` are the connected apps, Apex classes, custom permissions,
    Visualforce pages and apps it gives access to. ``license`` is the permission set
    license or user license it is tied to (label or developer name), ``None`` for none.
    ``absent`` means the set should not exist.
    """

    name: str
    label: str
    description: str = ""
    license: str | None = None
    system_permissions: frozenset[str] = frozenset()
    objects: FrozenMap[str, ObjectAccess] = _EMPTY_OBJECTS
    fields: FrozenMap[str, FieldAccess] = _EMPTY_FIELDS
    setup_entities: frozenset[SetupEntity] = frozenset()
    absent: bool = False

    @property
    def standard_objects(self) -> tuple[str, ...]:
        """Standard objects this set grants any access to, directly or through a field."""
        names = {name for name in self.objects if is_standard_object(name)}
        names.update(
            obj for obj in (f.partition(".")[0] for f in self.fields) if is_standard_object(obj)
        )
        return tuple(sorted(names))


@dataclass(frozen=True, slots=True)
class PermissionSetGroup:
    """A permission set group, keyed by its developer name, with its member sets."""

    name: str
    label: str
    description: str = ""
    permission_sets: frozenset[str] = frozenset()
    absent: bool = False


@dataclass(frozen=True, slots=True)
class User:
    """A user, keyed by its (lower-case) username.

    ``license`` is the user license the profile must belong to, when known.
    ``permission_set_licenses`` holds PSL labels or developer names.
    ``active=False`` means deactivated: Salesforce never deletes users.
    """

    username: str
    last_name: str
    email: str
    alias: str
    profile: str
    first_name: str = ""
    license: str | None = None
    permission_set_licenses: frozenset[str] = frozenset()
    permission_sets: frozenset[str] = frozenset()
    permission_set_groups: frozenset[str] = frozenset()
    active: bool = True
    time_zone: str = "GMT"
    locale: str = "en_US"
    language: str = "en_US"
    email_encoding: str = "UTF-8"

    @property
    def integration(self) -> bool:
        """Whether the user is known to hold the "Salesforce Integration" license.

        Known from ``license``, or from a profile that exists only under that license.
        """
        if self.license is not None:
            return is_integration_user_license(self.license)
        return any(same_name(self.profile, p) for p in INTEGRATION_PROFILES)


@dataclass(frozen=True, slots=True)
class State:
    """Users, permission sets and groups of one org: desired or live, same shape."""

    users: FrozenMap[str, User] = field(default_factory=FrozenMap)
    permission_sets: FrozenMap[str, PermissionSet] = field(default_factory=FrozenMap)
    permission_set_groups: FrozenMap[str, PermissionSetGroup] = field(default_factory=FrozenMap)


def to_jsonable(value: Any) -> Any:
    """Turn a model value into plain JSON data, deterministically.

    Sets become sorted lists, accesses become their word lists, dataclasses
    become objects. Used for digests and for the apply journal.
    """
    if isinstance(value, _ACCESS_TYPES):
        return list(value.words)
    if isinstance(value, FrozenMap):
        # Access values inline: a set's field map holds hundreds of them.
        return {str(k): list(v.words) if isinstance(v, _ACCESS_TYPES) else to_jsonable(v)
                for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.init}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, _SET_TYPES):
        # Sorted as values (names, or SetupEntity by type and name), not as JSON: a
        # dataclass's JSON is an object, which has no order.
        return [to_jsonable(v) for v in sorted(value)]
    if isinstance(value, _SEQUENCE_TYPES):
        return [to_jsonable(v) for v in value]
    return value


# Tuples rather than `A | B` unions: isinstance with a tuple is cheaper, and this
# runs once per field permission of the config.
_ACCESS_TYPES = (ObjectAccess, FieldAccess)
_SET_TYPES = (frozenset, set)
_SEQUENCE_TYPES = (tuple, list)

"""The emulator's catalogue of sObjects: fields, relationships, key prefixes.

What an sObject is (:class:`SObject`, :class:`Field`) and an org's set of them
(:class:`Catalog`), looked up case-insensitively, as in SOQL. Which objects an org
has is in :mod:`reconciler.emulator.sobjects`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

# Field types, as describe() names them.
ID = "id"
STRING = "string"
TEXTAREA = "textarea"
EMAIL = "email"
PHONE = "phone"
URL = "url"
BOOLEAN = "boolean"
INT = "int"
DOUBLE = "double"
CURRENCY = "currency"
PERCENT = "percent"
DATE = "date"
DATETIME = "datetime"
PICKLIST = "picklist"
MULTIPICKLIST = "multipicklist"
COMBOBOX = "combobox"
REFERENCE = "reference"
ADDRESS = "address"

TEXT_TYPES = frozenset(
    {ID, STRING, TEXTAREA, EMAIL, PHONE, URL, PICKLIST, MULTIPICKLIST, COMBOBOX, REFERENCE}
)
NUMBER_TYPES = frozenset({INT, DOUBLE, CURRENCY, PERCENT})

# Fields every object has; the emulator maintains them.
AUDIT_FIELDS = (
    "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"
)


@dataclass(frozen=True)
class Field:
    """One field of an sObject, with what describe() says about it."""

    name: str
    type: str
    label: str = ""
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    default: Any = None
    length: int = 0
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()
    restricted_picklist: bool = False
    permissionable: bool = False
    custom: bool = False
    #: A formula field (read-only, computed): field permissions can grant read only.
    calculated: bool = False
    #: An auto-number field: field permissions can grant read only.
    auto_number: bool = False
    #: Set on a master-detail field only (0 for the first master, 1 for a junction's
    #: second), as describe's ``relationshipOrder``: the object is a detail of its target.
    relationship_order: int | None = None
    #: sObjects whose Ids the field takes besides ``reference_to``'s, though SOQL still
    #: reads its relationship as a lookup to ``reference_to`` (null for those Ids): a
    #: permission row's parent or a group's component may be a MutingPermissionSet.
    also_to: tuple[str, ...] = ()

    @property
    def required_on_create(self) -> bool:
        """Salesforce refuses a create without it (REQUIRED_FIELD_MISSING)."""
        return (
            self.createable
            and not self.nillable
            and self.default is None
            and self.type != BOOLEAN
        )

    @property
    def polymorphic(self) -> bool:
        return len(self.reference_to) > 1


@dataclass(frozen=True)
class ChildRelationship:
    """A child relationship usable in a subquery: ``(SELECT … FROM Assignments)``."""

    name: str
    child_sobject: str
    field: str


@dataclass
class SObject:
    """An sObject type: its fields (keyed by lower-case name) and relationships."""

    name: str
    key_prefix: str
    label: str
    fields: dict[str, Field] = field(default_factory=dict)
    child_relationships: dict[str, ChildRelationship] = field(default_factory=dict)
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    custom: bool = False
    setup: bool = False
    name_field: str = "Name"
    #: The plural label a real describe gives, where one is recorded.
    plural: str | None = None

    def field(self, name: str) -> Field | None:
        return self.fields.get(name.lower())

    @property
    def label_plural(self) -> str:
        """The plural label describe() and Setup's messages use ("Opportunities"): the
        recorded one, else English's rule over the label."""
        if self.plural:
            return self.plural
        label = self.label
        if label.endswith("y") and label[-2:-1] not in ("a", "e", "i", "o", "u"):
            return label[:-1] + "ies"
        return label + ("es" if label.endswith(("s", "x", "ch", "sh")) else "s")

    def relationship(self, name: str) -> Field | None:
        """The reference field whose relationship name is ``name`` (``Assignee``)."""
        lowered = name.lower()
        for f in self.fields.values():
            if f.relationship_name is not None and f.relationship_name.lower() == lowered:
                return f
        return None

    def child(self, name: str) -> ChildRelationship | None:
        return self.child_relationships.get(name.lower())

    def add(self, f: Field) -> None:
        self.fields[f.name.lower()] = f
        # Worked out from the fields: again on next use.
        self.__dict__.pop("defaulted", None)
        self.__dict__.pop("required", None)

    # Kept, not worked out per record: a bulk job writes tens of thousands of records.
    @cached_property
    def defaulted(self) -> tuple[Field, ...]:
        """The fields a new record is given a value for when it has none."""
        return tuple(f for f in self.fields.values() if f.default is not None)

    @cached_property
    def required(self) -> tuple[str, ...]:
        """The fields a create must give (:attr:`Field.required_on_create`)."""
        return tuple(f.name for f in self.fields.values() if f.required_on_create)

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields.values())


class Catalog:
    """Every sObject of an org, by name (case-insensitive)."""

    def __init__(self, sobjects: Iterable[SObject] = ()) -> None:
        self._by_name: dict[str, SObject] = {}
        for s in sobjects:
            self.add(s)

    def add(self, sobject: SObject) -> None:
        self._by_name[sobject.name.lower()] = sobject

    def get(self, name: str) -> SObject | None:
        return self._by_name.get(name.lower())

    def __iter__(self) -> Iterator[SObject]:
        return iter(sorted(self._by_name.values(), key=lambda s: s.name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def link_children(self) -> None:
        """Derive child relationships from reference fields (``Assignments`` etc.)."""
        for child in self._by_name.values():
            for f in child:
                if f.type != REFERENCE or f.polymorphic:
                    continue
                for parent_name in f.reference_to:
                    parent = self.get(parent_name)
                    rel = CHILD_RELATIONSHIP_NAMES.get((child.name, f.name))
                    if parent is None or rel is None:
                        continue
                    parent.child_relationships[rel.lower()] = ChildRelationship(
                        rel, child.name, f.name
                    )


# (child sObject, field) → child relationship name on the parent.
CHILD_RELATIONSHIP_NAMES: dict[tuple[str, str], str] = {
    ("PermissionSetAssignment", "PermissionSetId"): "Assignments",
    ("PermissionSetAssignment", "AssigneeId"): "PermissionSetAssignments",
    ("PermissionSetAssignment", "PermissionSetGroupId"): "Assignments",
    ("PermissionSetLicenseAssign", "AssigneeId"): "PermissionSetLicenseAssignments",
    ("PermissionSetLicenseAssign", "PermissionSetLicenseId"): "PermissionSetLicenseAssignments",
    ("ObjectPermissions", "ParentId"): "ObjectPerms",
    ("FieldPermissions", "ParentId"): "FieldPerms",
    ("SetupEntityAccess", "ParentId"): "SetupEntityAccessItems",
    ("PermissionSetGroupComponent", "PermissionSetGroupId"): "PermissionSetGroupComponents",
    ("PermissionSetGroupComponent", "PermissionSetId"): "PermissionSetGroupComponents",
    ("User", "ProfileId"): "Users",
    ("Profile", "UserLicenseId"): "Profiles",
    ("Contact", "AccountId"): "Contacts",
    ("Opportunity", "AccountId"): "Opportunities",
    ("Case", "AccountId"): "Cases",
}

#: The value of a defaulted owner field: the user who creates the record.
CURRENT_USER = "$CURRENT_USER"

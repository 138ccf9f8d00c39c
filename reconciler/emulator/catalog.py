"""The emulator's catalogue of sObjects: fields, relationships, key prefixes.

Everything the emulator knows about the shape of an org lives here: the setup
objects the reconciler manages, the standard data objects admins grant access to,
and custom objects added by a seed. Lookups are case-insensitive, as in SOQL.

The standard data objects recorded from real orgs (Account, Case, Contact, Event, Lead,
Opportunity, OpportunityContactRole) and PermissionSet's system permissions come from
``catalog_data.json``, which :mod:`reconciler.emulator.generate_catalog` writes from
real describes; the objects with no real describe are written out here by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
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


# ---------------------------------------------------------------------------
# Generated data

#: The value of a defaulted owner field: the user who creates the record.
CURRENT_USER = "$CURRENT_USER"
SYSTEM_PREFIX = "Permissions"


@cache
def catalog_data() -> Mapping[str, Any]:
    """The generated catalogue: real describes, global describe, system permissions,
    and the sources they came from."""
    text = files("reconciler.emulator").joinpath("catalog_data.json").read_text("utf-8")
    data: Mapping[str, Any] = json.loads(text)
    return data


def _described_field(raw: Mapping[str, Any]) -> Field:
    default = raw["defaultValue"]
    if (default is None and raw["defaultedOnCreate"] and raw["createable"]
            and "User" in raw["referenceTo"]):
        # An owner field the platform fills in: the creating user.
        default = CURRENT_USER
    return Field(
        str(raw["name"]), str(raw["type"]), label=str(raw["label"]),
        createable=bool(raw["createable"]), updateable=bool(raw["updateable"]),
        nillable=bool(raw["nillable"]), default=default, length=int(raw["length"] or 0),
        reference_to=tuple(raw["referenceTo"]), relationship_name=raw["relationshipName"],
        picklist=tuple(raw["picklistValues"]),
        restricted_picklist=bool(raw["restrictedPicklist"]),
        permissionable=bool(raw["permissionable"]), calculated=bool(raw["calculated"]),
        auto_number=bool(raw["autoNumber"]),
    )


def _described_objects() -> list[SObject]:
    out = []
    for name, spec in sorted(catalog_data()["objects"].items()):
        fields = [_described_field(raw) for raw in spec["fields"]]
        name_field = next((str(raw["name"]) for raw in spec["fields"] if raw["nameField"]),
                          "Id")
        s = SObject(name, str(spec["keyPrefix"]), str(spec["label"]),
                    plural=spec.get("labelPlural"), createable=bool(spec["createable"]),
                    updateable=bool(spec["updateable"]),
                    deletable=bool(spec["deletable"]), queryable=bool(spec["queryable"]),
                    name_field=name_field)
        for f in (*fields, *_UNRECORDED_FIELDS.get(name, ())):
            s.add(f)
        out.append(s)
    return out


# ---------------------------------------------------------------------------
# Builders


def _f(name: str, type_: str = STRING, **kw: Any) -> Field:
    kw.setdefault("label", name)
    if type_ == STRING and "length" not in kw:
        kw["length"] = 255
    return Field(name, type_, **kw)


def _ro(name: str, type_: str = STRING, **kw: Any) -> Field:
    """A read-only field the platform maintains."""
    return _f(name, type_, createable=False, updateable=False, **kw)


def _ref(name: str, to: str | tuple[str, ...], rel: str | None = None, **kw: Any) -> Field:
    targets = (to,) if isinstance(to, str) else to
    relname = rel if rel is not None else (name[:-2] if name.endswith("Id") else name)
    return _f(name, REFERENCE, reference_to=targets, relationship_name=relname, length=18, **kw)


def _bool(name: str, default: bool = False, **kw: Any) -> Field:
    return _f(name, BOOLEAN, nillable=False, default=default, **kw)


def _perm(name: str, type_: str = STRING, **kw: Any) -> Field:
    """A field that can appear in FieldPermissions."""
    return _f(name, type_, permissionable=True, **kw)


def _sobject(
    name: str,
    prefix: str,
    fields: Iterable[Field],
    *,
    label: str | None = None,
    setup: bool = False,
    name_field: str = "Name",
    audit: Iterable[str] = AUDIT_FIELDS,
    **kw: Any,
) -> SObject:
    # The global describe names the labels of objects that have no describe of their own.
    known = catalog_data()["global_objects"].get(name, {})
    s = SObject(name, prefix, label or known.get("label") or name, setup=setup,
                name_field=name_field, plural=None if label else known.get("labelPlural"),
                **kw)
    s.add(Field("Id", ID, label="Record ID", createable=False, updateable=False,
                nillable=False, length=18))
    for f in fields:
        s.add(f)
    # Most objects carry all five audit fields; a few (assignments, field permissions, the
    # audit trail itself) carry fewer, as the object reference lists them.
    for audit_field in audit:
        if audit_field.endswith("Id"):
            s.add(_ref(audit_field, "User", createable=False, updateable=False,
                       nillable=False))
        else:
            s.add(_ro(audit_field, DATETIME, nillable=False))
    if not setup:
        s.add(_bool("IsDeleted", createable=False, updateable=False))
    return s


# ---------------------------------------------------------------------------
# Setup objects

# System permissions a permission set can carry, as `Permissions<Name>` booleans: the
# real list (see catalog_data.json's sources), without the prefix.
SYSTEM_PERMISSIONS: tuple[str, ...] = tuple(
    n[len(SYSTEM_PREFIX):] for n in catalog_data()["system_permissions"])

OBJECT_PERMISSION_FIELDS = (
    "PermissionsRead",
    "PermissionsCreate",
    "PermissionsEdit",
    "PermissionsDelete",
    "PermissionsViewAllRecords",
    "PermissionsModifyAllRecords",
)
FIELD_PERMISSION_FIELDS = ("PermissionsRead", "PermissionsEdit")

TIME_ZONES = (
    "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
    "America/Sao_Paulo", "Europe/London", "Europe/Paris", "Europe/Berlin",
    "Asia/Kolkata", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney", "GMT",
)
LOCALES = ("en_US", "en_GB", "en_AU", "en_CA", "en_IN", "de_DE", "fr_FR", "es_ES", "ja_JP",
           "pt_BR", "it_IT", "nl_NL")
LANGUAGES = ("en_US", "en_GB", "de", "fr", "es", "ja", "pt_BR", "it", "nl_NL")
EMAIL_ENCODINGS = ("UTF-8", "ISO-8859-1", "Shift_JIS", "ISO-2022-JP", "EUC-JP", "ks_c_5601-1987",
                   "Big5", "GB2312")
USER_TYPES = ("Standard", "PowerPartner", "CspLitePortal", "CustomerSuccess", "Guest")
SETUP_ENTITY_TYPES = ("ApexClass", "ApexPage", "ConnectedApplication", "CustomPermission",
                      "CustomEntityDefinition", "TabSet", "FlowDefinition")


def _setup_objects() -> list[SObject]:
    license_ref = ("PermissionSetLicense", "UserLicense")
    objs = [
        _sobject("Organization", "00D", [
            _ro("Name"), _ro("OrganizationType"), _ro("InstanceName"),
            _ro("IsSandbox", BOOLEAN), _ro("LanguageLocaleKey"), _ro("DefaultLocaleSidKey"),
            _ro("TimeZoneSidKey"), _ro("NamespacePrefix"), _ro("TrialExpirationDate", DATETIME),
        ], setup=True, createable=False, updateable=False, deletable=False),
        _sobject("UserLicense", "100", [
            _ro("Name"), _ro("MasterLabel"), _ro("LicenseDefinitionKey"),
            _ro("Status", PICKLIST, picklist=("Active", "Disabled")),
            _ro("TotalLicenses", INT), _ro("UsedLicenses", INT),
        ], setup=True, createable=False, updateable=False, deletable=False),
        _sobject("PermissionSetLicense", "0PL", [
            _ro("DeveloperName", nillable=False), _ro("MasterLabel", nillable=False),
            _ro("PermissionSetLicenseKey", nillable=False),
            _ro("Status", PICKLIST, picklist=("Active", "Disabled"), nillable=False),
            _ro("TotalLicenses", INT, nillable=False), _ro("UsedLicenses", INT, nillable=False),
            _ro("ExpirationDate", DATE),
        ], setup=True, createable=False, updateable=False, deletable=False,
            name_field="MasterLabel"),
        _sobject("Profile", "00e", [
            _ro("Name", nillable=False), _ro("Description", TEXTAREA),
            _ref("UserLicenseId", "UserLicense", createable=False, updateable=False,
                 nillable=False),
            _ro("UserType", PICKLIST, picklist=USER_TYPES),
        ], setup=True, createable=False, updateable=False, deletable=False),
        _sobject("User", "005", [
            _f("Username", nillable=False, length=80),
            _f("FirstName", length=40),
            _f("LastName", nillable=False, length=80),
            _ro("Name", length=121, nillable=False),
            _f("Alias", nillable=False, length=8),
            _f("Email", EMAIL, nillable=False, length=128),
            _f("CommunityNickname", length=40),
            _f("Title", length=80),
            _f("Department", length=80),
            _f("CompanyName", length=80),
            _ref("ProfileId", "Profile", nillable=False),
            _bool("IsActive", default=True),
            _ro("UserType", PICKLIST, picklist=USER_TYPES),
            _f("TimeZoneSidKey", PICKLIST, nillable=False, picklist=TIME_ZONES,
               restricted_picklist=True),
            _f("LocaleSidKey", PICKLIST, nillable=False, picklist=LOCALES,
               restricted_picklist=True),
            _f("EmailEncodingKey", PICKLIST, nillable=False, picklist=EMAIL_ENCODINGS,
               restricted_picklist=True),
            _f("LanguageLocaleKey", PICKLIST, nillable=False, picklist=LANGUAGES,
               restricted_picklist=True),
            _ref("ManagerId", "User", rel="Manager"),
            _f("FederationIdentifier", length=512),
            _ro("LastLoginDate", DATETIME),
        ], setup=True, deletable=False),
        _sobject("PermissionSet", "0PS", [
            _f("Name", nillable=False, length=80),
            _f("Label", nillable=False, length=80),
            _f("Description", TEXTAREA, length=255),
            _ref("LicenseId", license_ref, rel="License", updateable=False),
            _ro("IsOwnedByProfile", BOOLEAN, nillable=False),
            _ro("IsCustom", BOOLEAN, nillable=False),
            _ref("ProfileId", "Profile", createable=False, updateable=False),
            _ref("PermissionSetGroupId", "PermissionSetGroup", createable=False,
                 updateable=False),
            _ro("Type", PICKLIST, picklist=("Regular", "Group", "Profile", "Session",
                                             "Standard")),
            _bool("HasActivationRequired"),
            _f("NamespacePrefix", length=15, createable=False, updateable=False),
            *(_bool(SYSTEM_PREFIX + p) for p in SYSTEM_PERMISSIONS),
        ], setup=True, name_field="Name"),
        _sobject("PermissionSetGroup", "0PG", [
            _f("DeveloperName", nillable=False, length=80),
            _f("MasterLabel", nillable=False, length=80),
            _f("Description", TEXTAREA, length=255),
            _ro("Status", PICKLIST, picklist=("Updated", "Outdated", "Updating", "Failed"),
                nillable=False),
            _bool("HasActivationRequired"),
            _f("NamespacePrefix", length=15, createable=False, updateable=False),
        ], setup=True, name_field="MasterLabel"),
        _sobject("PermissionSetGroupComponent", "0PM", [
            _ref("PermissionSetGroupId", "PermissionSetGroup", nillable=False,
                 updateable=False),
            _ref("PermissionSetId", "PermissionSet", nillable=False, updateable=False),
        ], setup=True, updateable=False, name_field="Id"),
        _sobject("PermissionSetAssignment", "0Pa", [
            _ref("AssigneeId", "User", nillable=False, updateable=False),
            _ref("PermissionSetId", "PermissionSet", nillable=True, updateable=False),
            _ref("PermissionSetGroupId", "PermissionSetGroup", updateable=False),
            _f("ExpirationDate", DATETIME),
            _ro("IsActive", BOOLEAN),
            # Set by user access policies; the row stays but grants nothing [doc].
            _bool("IsRevoked", createable=False),
        ], setup=True, name_field="Id", audit=("SystemModstamp",)),
        _sobject("PermissionSetLicenseAssign", "2LA", [
            _ref("AssigneeId", "User", nillable=False, updateable=False),
            _ref("PermissionSetLicenseId", "PermissionSetLicense", nillable=False,
                 updateable=False),
        ], setup=True, updateable=False, name_field="Id"),
        _sobject("ObjectPermissions", "110", [
            _ref("ParentId", "PermissionSet", nillable=False, updateable=False),
            _f("SobjectType", nillable=False, updateable=False, length=40),
            *(_bool(p) for p in OBJECT_PERMISSION_FIELDS),
        ], setup=True, name_field="Id"),
        _sobject("FieldPermissions", "01k", [
            _ref("ParentId", "PermissionSet", nillable=False, updateable=False),
            _f("SobjectType", nillable=False, updateable=False, length=40),
            _f("Field", nillable=False, updateable=False, length=120),
            *(_bool(p) for p in FIELD_PERMISSION_FIELDS),
        ], setup=True, name_field="Id", audit=("SystemModstamp",)),
        _sobject("ConnectedApplication", "0H4", [
            _ro("Name"),
            _ro("OptionsAllowAdminApprovedUsersOnly", BOOLEAN),
        ], setup=True, createable=False, updateable=False, deletable=False),
        _sobject("SetupEntityAccess", "0J0", [
            _ref("ParentId", "PermissionSet", nillable=False, updateable=False),
            _ref("SetupEntityId", ("ConnectedApplication",), rel="SetupEntity",
                 nillable=False, updateable=False),
            _ro("SetupEntityType", PICKLIST, picklist=SETUP_ENTITY_TYPES),
        ], setup=True, updateable=False, name_field="Id"),
        _sobject("SetupAuditTrail", "0Ym", [
            _ro("Action", nillable=False), _ro("Section"), _ro("Display", length=1000),
            _ro("DelegateUser", length=80),
            _ro("ResponsibleNamespacePrefix"),
        ], setup=True, createable=False, updateable=False, deletable=False,
            name_field="Id", audit=("CreatedDate", "CreatedById")),
    ]
    return objs


# ---------------------------------------------------------------------------
# Standard data objects

# Standard fields real orgs have that the recorded describes lack (the recordings were
# trimmed). Salesforce's own sample apps grant field permissions on each of them, which
# only a permissionable field takes (../shared/real-metadata: coral-cloud's
# Coral_Cloud_Admin and lwc-recipes' recipes permission sets).
_UNRECORDED_FIELDS: dict[str, tuple[Field, ...]] = {
    "Contact": (
        _perm("DoNotCall", BOOLEAN, label="Do Not Call", nillable=False, default=False),
        _perm("GenderIdentity", PICKLIST, label="Gender Identity",
              picklist=("Male", "Female", "Nonbinary")),
        _perm("HasOptedOutOfEmail", BOOLEAN, label="Email Opt Out", nillable=False,
              default=False),
        _perm("HasOptedOutOfFax", BOOLEAN, label="Fax Opt Out", nillable=False,
              default=False),
        _perm("Pronouns", PICKLIST, picklist=("He/Him", "She/Her", "They/Them")),
    ),
    "Event": (
        _perm("Type", PICKLIST, picklist=("Call", "Email", "Meeting", "Other")),
    ),
}


def _owned(fields: list[Field]) -> list[Field]:
    return [_ref("OwnerId", ("User",), rel="Owner", nillable=False,
                 default=CURRENT_USER), *fields]


def _standard_objects() -> list[SObject]:
    """Standard data objects: the recorded ones, then those written out by hand."""
    return [*_described_objects(), *_other_standard_objects()]


def _other_standard_objects() -> list[SObject]:
    return [
        _sobject("Campaign", "701", _owned([
            _f("Name", nillable=False, length=80),
            _perm("Type", PICKLIST, picklist=("Conference", "Webinar", "Email", "Other")),
            _perm("Status", PICKLIST, picklist=("Planned", "In Progress", "Completed",
                                                 "Aborted")),
            _perm("StartDate", DATE), _perm("EndDate", DATE),
            _perm("BudgetedCost", CURRENCY), _perm("ActualCost", CURRENCY),
            _perm("Description", TEXTAREA), _bool("IsActive", permissionable=True),
        ])),
        _sobject("Task", "00T", _owned([
            _perm("Subject"), _perm("ActivityDate", DATE), _perm("Description", TEXTAREA),
            _f("Status", PICKLIST, nillable=False, default="Not Started",
               picklist=("Not Started", "In Progress", "Completed", "Waiting on someone else",
                         "Deferred")),
            _f("Priority", PICKLIST, nillable=False, default="Normal",
               picklist=("High", "Normal", "Low")),
            _perm("Type", PICKLIST, picklist=("Call", "Email", "Meeting", "Other")),
            _ref("WhatId", ("Account", "Opportunity", "Case", "Campaign"), rel="What",
                 permissionable=True),
            _ref("WhoId", ("Contact", "Lead"), rel="Who", permissionable=True),
        ]), name_field="Subject"),
        _sobject("Product2", "01t", [
            _f("Name", nillable=False),
            _perm("ProductCode"), _perm("Description", TEXTAREA),
            _perm("Family", PICKLIST, picklist=("None",)),
            _bool("IsActive", permissionable=True),
            _perm("StockKeepingUnit", length=180),
        ]),
        _sobject("Contract", "800", _owned([
            _ro("ContractNumber", length=30),
            _ref("AccountId", "Account", nillable=False),
            _f("Status", PICKLIST, nillable=False, default="Draft",
               picklist=("Draft", "In Approval Process", "Activated")),
            _perm("StartDate", DATE), _perm("ContractTerm", INT),
            _perm("Description", TEXTAREA), _perm("SpecialTerms", TEXTAREA),
        ]), name_field="ContractNumber"),
        _sobject("Order", "801", _owned([
            _ro("OrderNumber", length=30),
            _ref("AccountId", "Account", nillable=False),
            _ref("ContractId", "Contract", permissionable=True),
            _f("Status", PICKLIST, nillable=False, default="Draft",
               picklist=("Draft", "Activated")),
            _f("EffectiveDate", DATE, nillable=False),
            _perm("Description", TEXTAREA), _perm("Type", PICKLIST, picklist=("New",)),
            _perm("PoNumber", length=80), _ro("TotalAmount", CURRENCY),
        ]), name_field="OrderNumber"),
        _sobject("Asset", "02i", _owned([
            _f("Name", nillable=False),
            _ref("AccountId", "Account", permissionable=True),
            _ref("ContactId", "Contact", permissionable=True),
            _ref("Product2Id", "Product2", permissionable=True),
            _perm("SerialNumber", length=80), _perm("Status", PICKLIST,
                                                     picklist=("Purchased", "Shipped",
                                                               "Installed", "Obsolete")),
            _perm("Quantity", DOUBLE), _perm("Price", CURRENCY),
            _perm("PurchaseDate", DATE), _perm("InstallDate", DATE),
            _perm("Description", TEXTAREA),
        ])),
    ]


# Standard objects whose access a permission set can grant (ObjectPermissions rows).
def is_standard_data_object(name: str) -> bool:
    return name.lower() in _STANDARD_DATA_NAMES


_STANDARD_DATA_NAMES = frozenset(s.name.lower() for s in _standard_objects())

# Types a custom field may be declared with in a seed.
CUSTOM_FIELD_TYPES = {
    "text": STRING, "string": STRING, "textarea": TEXTAREA, "longtextarea": TEXTAREA,
    "email": EMAIL, "phone": PHONE, "url": URL, "checkbox": BOOLEAN, "boolean": BOOLEAN,
    "number": DOUBLE, "double": DOUBLE, "int": INT, "currency": CURRENCY, "percent": PERCENT,
    "date": DATE, "datetime": DATETIME, "picklist": PICKLIST, "multipicklist": MULTIPICKLIST,
    "lookup": REFERENCE, "masterdetail": REFERENCE, "reference": REFERENCE,
    "autonumber": STRING,
}


def custom_object(
    name: str, prefix: str, label: str, fields: Iterable[Field]
) -> SObject:
    """A custom object (``Invoice__c``) with its Name field and the given fields."""
    return _sobject(name, prefix, [
        _f("Name", nillable=True, length=80),
        _ref("OwnerId", ("User",), rel="Owner", nillable=False, default=CURRENT_USER),
        *fields,
    ], label=label, custom=True)


def custom_field(
    name: str,
    type_name: str,
    *,
    label: str | None = None,
    required: bool = False,
    reference_to: str | None = None,
    picklist: tuple[str, ...] = (),
    returns: str | None = None,
    relationship_order: int = 0,
) -> Field:
    """A custom field for a seed; raises ValueError for an unknown type.

    ``masterdetail`` makes the object a detail of ``reference_to`` (required, so not
    permissionable); ``formula`` (of type ``returns``) and ``autonumber`` are read-only
    fields that field permissions can only grant read on.
    """
    kind = type_name.replace(" ", "").replace("_", "").replace("-", "").lower()
    type_ = CUSTOM_FIELD_TYPES.get(kind)
    if kind == "formula":
        type_ = CUSTOM_FIELD_TYPES.get((returns or "text").replace(" ", "").lower())
    if type_ is None:
        raise ValueError(f"unknown field type {type_name!r} for {name}")
    required = required or kind == "masterdetail"
    kw: dict[str, Any] = {"label": label or name, "custom": True,
                          "permissionable": not required}
    if kind in ("formula", "autonumber"):
        kw.update(createable=False, updateable=False, calculated=kind == "formula",
                  auto_number=kind == "autonumber")
    if type_ == BOOLEAN:
        kw.update(nillable=False, default=False)
    else:
        kw["nillable"] = not required
    if type_ == REFERENCE:
        if not reference_to:
            raise ValueError(f"lookup field {name} needs reference_to")
        rel = name[:-3] + "__r" if name.endswith("__c") else name
        if kind == "masterdetail":
            kw["relationship_order"] = relationship_order
        return _f(name, REFERENCE, reference_to=(reference_to,), relationship_name=rel,
                  length=18, **kw)
    if type_ in (PICKLIST, MULTIPICKLIST):
        kw["picklist"] = picklist
    if type_ == STRING:
        kw["length"] = 255
    return _f(name, type_, **kw)


def standard_catalog() -> Catalog:
    """A catalogue with every setup and standard data object, children linked."""
    cat = Catalog([*_setup_objects(), *_standard_objects()])
    cat.link_children()
    return cat

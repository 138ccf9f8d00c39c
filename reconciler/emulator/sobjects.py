"""The sObjects an emulated org has: the setup objects the reconciler manages, the
standard data objects admins grant access to, and custom objects added by a seed.

The standard data objects recorded from real orgs (Account, Case, Contact, Event, Lead,
Opportunity, OpportunityContactRole) and PermissionSet's system permissions come from
``catalog_data.json``, which :mod:`reconciler.emulator.generate_catalog` writes from
real describes; the objects with no real describe are written out here by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.resources import files
from typing import Any

from reconciler.emulator.catalog import (
    AUDIT_FIELDS,
    BOOLEAN,
    CURRENCY,
    CURRENT_USER,
    DATE,
    DATETIME,
    DOUBLE,
    EMAIL,
    ID,
    INT,
    MULTIPICKLIST,
    PERCENT,
    PHONE,
    PICKLIST,
    REFERENCE,
    STRING,
    TEXTAREA,
    URL,
    Catalog,
    Field,
    SObject,
)

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
#: The sObjects a SetupEntityAccess row may point at → its ``SetupEntityType``, and the
#: field that names one (an app is ``TabSet``, by its developer name).
SETUP_ENTITY_SOBJECTS: dict[str, tuple[str, str]] = {
    "ApexClass": ("ApexClass", "Name"),
    "ApexPage": ("ApexPage", "Name"),
    "ConnectedApplication": ("ConnectedApplication", "Name"),
    "CustomPermission": ("CustomPermission", "DeveloperName"),
    "CustomApplication": ("TabSet", "DeveloperName"),
}


# A table, not logic: one entry per setup object, as its object reference lists it.
def _setup_objects() -> list[SObject]:
    license_ref = ("PermissionSetLicense", "UserLicense")
    read_only: dict[str, Any] = {"setup": True, "createable": False, "updateable": False,
                                 "deletable": False}

    def labelled(name: str) -> list[Field]:
        """A metadata component's API name, label and namespace."""
        return [_ro(name, length=80, nillable=False), _ro("MasterLabel", length=80,
                                                          nillable=False),
                _ro("NamespacePrefix", length=15)]

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
        # What a group mutes: the fields of the object reference (no group Id, no
        # namespace), the same system permissions as a set (true mutes it), and
        # ObjectPermissions/FieldPermissions rows whose ParentId is its Id.
        _sobject("MutingPermissionSet", "0QM", [
            _f("DeveloperName", nillable=False, length=80),
            _f("MasterLabel", nillable=False, length=80),
            _f("Language", PICKLIST, picklist=LANGUAGES, length=40),
            *(_bool(SYSTEM_PREFIX + p) for p in SYSTEM_PERMISSIONS),
        ], setup=True, name_field="DeveloperName"),
        _sobject("PermissionSetGroupComponent", "0PM", [
            _ref("PermissionSetGroupId", "PermissionSetGroup", nillable=False,
                 updateable=False),
            _ref("PermissionSetId", "PermissionSet", nillable=False, updateable=False,
                 also_to=("MutingPermissionSet",)),
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
            _ref("ParentId", "PermissionSet", nillable=False, updateable=False,
                 also_to=("MutingPermissionSet",)),
            _f("SobjectType", nillable=False, updateable=False, length=40),
            *(_bool(p) for p in OBJECT_PERMISSION_FIELDS),
        ], setup=True, name_field="Id"),
        _sobject("FieldPermissions", "01k", [
            _ref("ParentId", "PermissionSet", nillable=False, updateable=False,
                 also_to=("MutingPermissionSet",)),
            _f("SobjectType", nillable=False, updateable=False, length=40),
            _f("Field", nillable=False, updateable=False, length=120),
            *(_bool(p) for p in FIELD_PERMISSION_FIELDS),
        ], setup=True, name_field="Id", audit=("SystemModstamp",)),
        # Setup entities a permission set can give access to (SetupEntityAccess): all
        # deployed or made in Setup, never created through the data API. Sources:
        # docs/salesforce-behaviour.md, "Setup-entity access".
        _sobject("ConnectedApplication", "0H4", [
            _ro("Name", length=80, nillable=False), _ro("StartUrl", URL),
            _ro("MobileStartUrl", URL), *(_ro(f"Options{o}", BOOLEAN) for o in (
                "AllowAdminApprovedUsersOnly", "HasSessionLevelPolicy",
                "RefreshTokenValidityMetric", "IsInternal")),
        ], **read_only),
        _sobject("ApexClass", "01p", [
            _ro("Name", nillable=False), _ro("NamespacePrefix", length=15),
            _ro("ApiVersion", DOUBLE, nillable=False), _ro("IsValid", BOOLEAN, nillable=False),
            _ro("Status", PICKLIST, picklist=("Active", "Deleted", "Inactive"), nillable=False),
            _ro("LengthWithoutComments", INT, nillable=False),
        ], **read_only),
        _sobject("ApexPage", "066", [
            *labelled("Name"), _ro("Description", TEXTAREA), _ro("ControllerKey"),
            _ro("ApiVersion", DOUBLE, nillable=False), _ro("ControllerType", PICKLIST,
                nillable=False, picklist=("Not Specified", "Standard", "StandardSet", "Custom")),
        ], **read_only),
        _sobject("CustomPermission", "0CF", [
            *labelled("DeveloperName"), _ro("Description", TEXTAREA),
            _ro("IsLicensed", BOOLEAN, nillable=False), _ro("IsProtected", BOOLEAN,
                                                            nillable=False),
        ], **read_only, name_field="MasterLabel"),
        # An app (SetupEntityType TabSet): its Id (02u) is what SetupEntityAccess
        # points at; the data API does not query it (clients read AppMenuItem).
        _sobject("CustomApplication", "02u", labelled("DeveloperName"),
                 label="Custom Application", **read_only, queryable=False,
                 name_field="MasterLabel"),
        _sobject("AppMenuItem", "0DS", [
            _ref("ApplicationId", "CustomApplication", rel="Application", createable=False,
                 updateable=False),
            _ro("Name", length=250), _ro("Label", length=80), _ro("NamespacePrefix", length=15),
            _ro("Description", length=250), _ro("SortOrder", INT),
            _ro("Type", PICKLIST, picklist=("TabSet", "ConnectedApplication", "Network")),
            _ro("IsAccessible", BOOLEAN), _ro("IsVisible", BOOLEAN),
        ], **read_only, name_field="Label"),
        _sobject("SetupEntityAccess", "0J0", [
            _ref("ParentId", "PermissionSet", nillable=False, updateable=False),
            _ref("SetupEntityId", tuple(SETUP_ENTITY_SOBJECTS), rel="SetupEntity",
                 nillable=False, updateable=False),
            _ro("SetupEntityType", PICKLIST, picklist=SETUP_ENTITY_TYPES),
        ], setup=True, updateable=False, name_field="Id", audit=("SystemModstamp",)),
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


# A table, not logic: one entry per standard object with no recorded describe.
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


def custom_field_from_spec(name: str, spec: Any, relationship_order: int = 0) -> Field:
    """A seed's custom field: a type name, or a mapping (type, label, required,
    reference_to, values, returns); raises ValueError."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping):
        raise ValueError(f"field {name}: expected a type name or a mapping")
    return custom_field(
        name, str(spec.get("type", "text")), label=spec.get("label"),
        required=bool(spec.get("required", False)), reference_to=spec.get("reference_to"),
        picklist=tuple(spec.get("values", ()) or ()), returns=spec.get("returns"),
        relationship_order=relationship_order,
    )


def custom_object_from_spec(spec: Mapping[str, Any], catalog: Catalog) -> SObject:
    """A seed's custom object, with a key prefix no object of ``catalog`` has; raises
    ValueError."""
    name = str(spec["name"])
    if not name.endswith("__c"):
        raise ValueError(f"custom object {name} must end in __c")
    taken = {s.key_prefix for s in catalog}
    prefix = str(spec.get("key_prefix") or "")
    if not prefix:
        n = 0
        while True:
            prefix = "a0" + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 36]
            n += 1
            if prefix not in taken:
                break
    fields: list[Field] = []
    for fname, fspec in (spec.get("fields") or {}).items():
        # A junction object's second master-detail field has relationship order 1.
        masters = sum(f.relationship_order is not None for f in fields)
        fields.append(custom_field_from_spec(fname, fspec, masters))
    return custom_object(name, prefix, str(spec.get("label") or name[:-3].replace("_", " ")),
                         fields)


def standard_catalog() -> Catalog:
    """A catalogue with every setup and standard data object, children linked."""
    cat = Catalog([*_setup_objects(), *_standard_objects()])
    cat.link_children()
    return cat

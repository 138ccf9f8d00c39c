"""What a new emulated org contains: the default Enterprise org plus an optional seed.

A seed is a YAML document (see ``fixtures/seeds/example.yaml``)::

    org: {name: Acme, daily_api_max: 100000, token_ttl_seconds: 7200,
          allow_oauth_username_password_flows: true, allow_soap_login: true}
    # org.id: 00D…: pins the Organization Id (else each new org gets a random one).
    # org.group_recalculation: {seconds: 0.5, failing: [G]}: permission set groups stay
    # Updating that long after a change; G's recalculations fail (and G starts Failed).
    user_licenses: [{name: Salesforce, seats: 20}]            # added to / overriding defaults
    permission_set_licenses: [{developer_name: X, label: Y, seats: 5}]
    profiles: [{name: P, license: Salesforce, system_permissions: [ApiEnabled]}]
    custom_objects: [{name: Invoice__c, label: Invoice, fields: {Amount__c: currency}},
                     {name: Line__c, fields: {Invoice__c: {type: masterdetail,
                                                           reference_to: Invoice__c},
                                              Total__c: {type: formula, returns: currency},
                                              Number__c: autonumber}}]
    custom_fields: {Account: {Tradestyle__c: text}, Task: {Channel__c: text}}  # Task/Event: both
    connected_apps: [{name: App, client_id: ..., client_secret: ..., certificate: PEM,
                      run_as: user@x.com, admin_approved_users_only: true}, Other App]
    apex_classes: [OrderService, ns__Helper]   # deployed metadata; ns__: a package's
    visualforce_pages: [{name: Invoice, label: Invoice PDF}]
    custom_permissions: [Bypass_Validation]     # a name, or {name, label, namespace}
    apps: [{name: Sales_Console, label: Sales Console}]   # an app (SetupEntityType TabSet)
    permission_sets: [{name: N, label: L, license: PSL or user license,
                       system_permissions: [ApiEnabled], objects: {Account: [read]},
                       fields: {Account.Industry: [read, edit]},
                       connected_apps: [App], apex_classes: [OrderService],
                       visualforce_pages: [...], custom_permissions: [...], apps: [...],
                       namespace: ns}]                   # a managed package's set

    permission_set_groups: [{name: G, label: L, permission_sets: [N]}]
    users: [{username: u@x.com, last_name: U, profile: P, password: secret,
             active: true, permission_set_licenses: [...], permission_sets: [...],
             permission_set_groups: [...],
             revoked_permission_sets: [...]}]   # assigned, then revoked by a user access policy

Everything after the licenses and profiles goes through the same write pipeline as
the API, so a seed that breaks a Salesforce rule fails with that rule's message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from reconciler.emulator.apierror import ApiFault
from reconciler.emulator.errors import LocalOrgError
from reconciler.emulator.ids import ORG_PREFIX, is_id, new_org_id, to18
from reconciler.emulator.org import Org
from reconciler.emulator.rules.entities import entity_name
from reconciler.emulator.rules.groups import fail_seeded_groups, set_group_recalculation
from reconciler.emulator.rules.lookups import recount_licenses
from reconciler.emulator.rules.permsets import OBJECT_IMPLIES
from reconciler.emulator.rules.users import assign_profile_set
from reconciler.emulator.sobjects import SYSTEM_PERMISSIONS

ADMIN_USERNAME = "admin@reconciler.local"
INTEGRATION_PROFILE = "Minimum Access - API Only Integrations"

DEFAULT_USER_LICENSES = [
    {"name": "Salesforce", "key": "SFDC", "seats": 20},
    {"name": "Salesforce Platform", "key": "AUL", "seats": 10},
    {"name": "Salesforce Integration", "key": "PID_SALESFORCE_INTEGRATION", "seats": 5},
]
DEFAULT_PSLS = [
    {"developer_name": "SalesforceAPIIntegrationPsl", "label": "Salesforce API Integration",
     "seats": 5},
]
_ADMIN_PERMS = ["ApiEnabled", "ModifyAllData", "ViewAllData", "ManageUsers", "ViewSetup",
                "CustomizeApplication", "ManageProfilesPermissionsets", "AssignPermissionSets",
                "AuthorApex", "ViewAllUsers", "ManageInternalUsers", "RunReports",
                "ExportReport", "ModifyMetadata", "ViewRoles",
                "ManageRoles", "ManageSharing", "LightningExperienceUser"]
DEFAULT_PROFILES = [
    {"name": "System Administrator", "license": "Salesforce", "system_permissions": _ADMIN_PERMS},
    {"name": "Standard User", "license": "Salesforce",
     "system_permissions": ["ApiEnabled", "RunReports", "EditTask", "EditEvent",
                            "LightningExperienceUser", "ActivitiesAccess"]},
    {"name": "Minimum Access - Salesforce", "license": "Salesforce", "system_permissions": []},
    {"name": INTEGRATION_PROFILE, "license": "Salesforce Integration",
     "system_permissions": ["ApiEnabled", "ApiUserOnly"]},
]
#: Org settings that switch legacy logins off, with their default: on, as in an org
#: created before Summer '23 (username-password flow) and Winter '26 (SOAP login()).
LOGIN_SETTINGS = {"allow_oauth_username_password_flows": True, "allow_soap_login": True}
#: Seed keys of the setup entities a permission set can give access to → their sObject
#: (the same keys a permission set's entry lists them under).
ENTITY_KEYS = {"connected_apps": "ConnectedApplication", "apex_classes": "ApexClass",
               "visualforce_pages": "ApexPage", "custom_permissions": "CustomPermission",
               "apps": "CustomApplication"}
_TOP_KEYS = {"org", "user_licenses", "permission_set_licenses", "profiles", "custom_objects",
             "custom_fields", "permission_sets", "permission_set_groups", "users", *ENTITY_KEYS}
OBJECT_WORDS = {"read": "PermissionsRead", "create": "PermissionsCreate",
                "edit": "PermissionsEdit", "delete": "PermissionsDelete",
                "view_all": "PermissionsViewAllRecords",
                "modify_all": "PermissionsModifyAllRecords"}
FIELD_WORDS = {"read": "PermissionsRead", "edit": "PermissionsEdit"}


SEED_MAX_BYTES = 8 * 1024 * 1024
CERTIFICATE_MAX_BYTES = 64 * 1024


def load_seed_file(path: Path) -> dict[str, Any]:
    """Read a seed YAML file; relative certificate paths resolve beside it.

    The seed and its certificates must be regular files within
    :data:`SEED_MAX_BYTES` and :data:`CERTIFICATE_MAX_BYTES`: a seed naming
    ``/dev/zero`` is refused, not read until memory runs out.
    """
    try:
        doc = yaml.safe_load(_read_text(path, SEED_MAX_BYTES))
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalOrgError(f"{path}: cannot read seed: {getattr(exc, 'strerror', None) or exc}"
                            ) from None
    except yaml.YAMLError as exc:
        raise LocalOrgError(f"{path}: cannot read seed: {exc}") from None
    except ValueError:  # PyYAML's int() of a number past Python's digit limit
        raise LocalOrgError(f"{path}: cannot read seed: a number is too long "
                            f"(more than {sys.get_int_max_str_digits():,} digits)") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise LocalOrgError(f"{path}: cannot read seed: nested too deeply") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise LocalOrgError(f"{path}: a seed must be a mapping")
    for app in doc.get("connected_apps") or []:
        if isinstance(app, dict) and app.get("certificate_file"):
            cert = path.parent / str(app["certificate_file"])
            try:
                app["certificate"] = _read_text(cert, CERTIFICATE_MAX_BYTES)
            except (OSError, UnicodeDecodeError) as exc:
                raise LocalOrgError(f"{cert}: cannot read certificate: "
                                    f"{getattr(exc, 'strerror', None) or exc}") from None
    return doc


def _read_text(path: Path, limit: int) -> str:
    """A regular file of at most ``limit`` bytes, as UTF-8 (OSError says what is wrong)."""
    # O_NONBLOCK: opening a FIFO would otherwise wait for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise OSError(0, f"more than {limit:,} bytes")
    return data.decode("utf-8")


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 20_000).hex()
    return f"{salt}${digest}"


def check_password(stored: str, password: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(stored, hash_password(password, salt))


def open_org(data_dir: Path | None, seed: Mapping[str, Any] | None) -> Org:
    """The org kept in ``data_dir`` (in memory without one), built from ``seed`` when new."""
    org = Org(data_dir, seed)
    if org.store.is_empty():
        apply_seed(org, seed)
    return org


def reset_org(org: Org) -> None:
    """Back to the seed the org was made from (data, tokens, counters); same org Id."""
    with org.lock:
        org_id = org.org_id
        org.clear()
        apply_seed(org, org.seed, org_id=org_id)


def apply_seed(org: Org, seed: Mapping[str, Any] | None, *, org_id: str | None = None) -> None:
    """Build a new org: the defaults, then the seed, in one transaction.

    The Organization Id is ``org_id`` (an org reset keeps its own), else the seed's
    ``org: {id: ...}``, else a new random one.
    """
    seed = dict(seed or {})
    unknown = set(seed) - _TOP_KEYS
    if unknown:
        raise LocalOrgError(f"seed: unknown keys {sorted(unknown)}; expected {sorted(_TOP_KEYS)}")
    try:
        with org.store.transaction():
            _build(org, seed, org_id)
    except ApiFault as exc:
        raise LocalOrgError(f"seed rejected: {exc.error_code}: {exc.message}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise LocalOrgError(f"seed is malformed: {exc}") from None


def _by_name(items: Iterable[Mapping[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        out[str(item[key]).lower()] = dict(item)
    return out


def _build(org: Org, seed: dict[str, Any], org_id: str | None) -> None:
    """The new org's records, in the order a real org has them made."""
    meta = dict(seed.get("org") or {})
    _seed_organization(org, meta, org_id)
    lic_ids = _seed_licenses(org, seed)
    _seed_profiles(org, seed, lic_ids)
    admin_id = _seed_admin(org)
    for spec in seed.get("custom_objects") or []:
        org.add_custom_object(spec)
    for obj, fields in (seed.get("custom_fields") or {}).items():
        org.add_custom_fields(obj, fields)
    _seed_connected_apps(org, seed, admin_id)
    _seed_setup_entities(org, seed, admin_id)
    names: dict[str, str] = {}
    for spec in seed.get("permission_sets") or []:
        # A managed set is named namespace__Name here, as Salesforce qualifies it.
        key = f"{spec['namespace']}__{spec['name']}" if spec.get("namespace") else spec["name"]
        names[str(key).lower()] = _seed_permission_set(org, spec, admin_id)
    groups = _seed_groups(org, seed, names, admin_id)
    for spec in seed.get("users") or []:
        _seed_user(org, spec, names, groups, admin_id)
    # Last, so the seed's own groups are ready for its users' assignments.
    _seed_recalculation(org, meta)


def _seed_organization(org: Org, meta: Mapping[str, Any], org_id: str | None) -> None:
    """The Organization record and the org's settings (API allowance, token life, logins)."""
    store = org.store
    org_id = org_id or meta.get("id") or new_org_id()
    if not is_id(org_id) or not str(org_id).startswith(ORG_PREFIX):
        raise ValueError(f"org id {org_id!r} is not an Organization Id (00D…, 15 or 18 "
                         "characters)")
    store.set_meta("daily_api_max", int(meta.get("daily_api_max", 100_000)))
    store.set_meta("token_ttl", int(meta.get("token_ttl_seconds", 7200)))
    for name, default in LOGIN_SETTINGS.items():
        store.set_meta(name, bool(meta.get(name, default)))
    organization = org.insert_raw("Organization", {
        "Id": to18(str(org_id)),
        "Name": meta.get("name", "Local Org"), "OrganizationType": meta.get(
            "type", "Enterprise Edition"), "InstanceName": "LOCAL", "IsSandbox": False,
        "LanguageLocaleKey": "en_US", "DefaultLocaleSidKey": "en_US",
        "TimeZoneSidKey": "America/Los_Angeles",
    }, "")
    store.set_meta("org_id", organization["Id"])


def _seed_licenses(org: Org, seed: Mapping[str, Any]) -> dict[str, str]:
    """User licences and permission set licences: the defaults, then the seed's; the user
    licences' Ids by lower-case name."""
    licenses = _by_name(DEFAULT_USER_LICENSES, "name")
    licenses.update(_by_name(seed.get("user_licenses") or [], "name"))
    lic_ids: dict[str, str] = {}
    for spec in licenses.values():
        rec = org.insert_raw("UserLicense", {
            "Name": spec["name"], "MasterLabel": spec["name"],
            "LicenseDefinitionKey": spec.get("key") or spec["name"].upper().replace(" ", "_"),
            "Status": "Active", "TotalLicenses": int(spec["seats"]), "UsedLicenses": 0,
        }, "")
        lic_ids[spec["name"].lower()] = rec["Id"]

    psls = _by_name(DEFAULT_PSLS, "developer_name")
    psls.update(_by_name(seed.get("permission_set_licenses") or [], "developer_name"))
    for spec in psls.values():
        org.insert_raw("PermissionSetLicense", {
            "DeveloperName": spec["developer_name"], "MasterLabel": spec.get(
                "label", spec["developer_name"]),
            "PermissionSetLicenseKey": spec["developer_name"], "Status": "Active",
            "TotalLicenses": int(spec["seats"]), "UsedLicenses": 0, "ExpirationDate": None,
        }, "")
    return lic_ids


def _seed_profiles(org: Org, seed: Mapping[str, Any], lic_ids: Mapping[str, str]) -> None:
    """Profiles, each with the permission set it owns."""
    profiles = _by_name(DEFAULT_PROFILES, "name")
    profiles.update(_by_name(seed.get("profiles") or [], "name"))
    for spec in profiles.values():
        lic_id = lic_ids.get(str(spec["license"]).lower())
        if lic_id is None:
            raise ValueError(f"profile {spec['name']}: unknown user license {spec['license']}")
        prof = org.insert_raw("Profile", {"Name": spec["name"], "UserLicenseId": lic_id,
                                          "UserType": "Standard",
                                          "Description": spec.get("description")}, "")
        perms = {f"Permissions{p}": True for p in spec.get("system_permissions") or []}
        _check_system_permissions(perms, f"profile {spec['name']}")
        org.insert_raw("PermissionSet", {
            "Name": "X" + prof["Id"][3:15], "Label": prof["Id"][:15], "IsOwnedByProfile": True,
            "IsCustom": False, "ProfileId": prof["Id"], "Type": "Profile",
            "LicenseId": lic_id, "PermissionSetGroupId": None, **perms,
        }, "")


def _seed_admin(org: Org) -> str:
    """The org's administrator, credited with everything made so far; their Id."""
    admin_profile = org.where("Profile", Name="System Administrator")[0]
    admin = org.insert_raw("User", {
        "Username": ADMIN_USERNAME, "FirstName": "Org", "LastName": "Admin",
        "Name": "Org Admin", "Alias": "admin", "Email": ADMIN_USERNAME,
        "ProfileId": admin_profile["Id"], "IsActive": True, "UserType": "Standard",
        "TimeZoneSidKey": "America/Los_Angeles", "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
    }, "")
    admin_id = admin["Id"]
    # The platform made everything so far; credit the admin, as a new org does.
    for sobject in ("Organization", "UserLicense", "PermissionSetLicense", "Profile",
                    "PermissionSet", "User"):
        for rec in org.records(sobject):
            org.store.update(rec["Id"], {"CreatedById": admin_id,
                                         "LastModifiedById": admin_id})
    assign_profile_set(org, admin, admin_id)
    recount_licenses(org)
    return str(admin_id)


def _seed_connected_apps(org: Org, seed: Mapping[str, Any], admin_id: str) -> None:
    """The connected apps and their credentials ("Reconciler Local" first), and the
    admin token."""
    store = org.store
    # A bare name is an app with generated credentials, as for the other entity keys.
    apps = [a if isinstance(a, Mapping) else {"name": a}
            for a in seed.get("connected_apps") or []]
    if not any(str(a.get("name")) == "Reconciler Local" for a in apps):
        apps.insert(0, {"name": "Reconciler Local"})
    registered = []
    for spec in apps:
        app = org.insert_raw("ConnectedApplication", {
            "Name": spec["name"],
            "OptionsAllowAdminApprovedUsersOnly": bool(spec.get("admin_approved_users_only",
                                                                True)),
        }, admin_id)
        registered.append({
            "id": app["Id"], "name": spec["name"],
            "client_id": spec.get("client_id") or "3MVG9" + secrets.token_urlsafe(30),
            "client_secret": spec.get("client_secret") or secrets.token_hex(32),
            "certificate": spec.get("certificate"),
            "run_as": str(spec.get("run_as") or ADMIN_USERNAME).lower(),
        })
    store.set_meta("connected_apps", registered)
    store.set_meta("admin_token", secrets.token_urlsafe(32))


def _entity_spec(item: Any) -> tuple[str, str | None, str]:
    """A seeded entity's (API name, namespace, label): from ``Name``, ``ns__Name`` or
    ``{name, label, namespace}``."""
    spec = item if isinstance(item, Mapping) else {"name": item}
    name = str(spec["name"])
    namespace = spec.get("namespace")
    if namespace is None and "__" in name:
        namespace, _, name = name.partition("__")
    return name, (str(namespace) if namespace else None), str(spec.get("label") or name)


def _seed_setup_entities(org: Org, seed: Mapping[str, Any], admin_id: str) -> None:
    """Apex classes, Visualforce pages, custom permissions and apps: deployed metadata,
    made by the platform (the data API creates none of them)."""
    for key, sobject in ENTITY_KEYS.items():
        if sobject == "ConnectedApplication":
            continue  # seeded with its credentials, by _seed_connected_apps
        for order, item in enumerate(seed.get(key) or []):
            name, namespace, label = _entity_spec(item)
            if sobject == "ApexClass":
                values: dict[str, Any] = {"Name": name, "ApiVersion": 62.0, "Status": "Active",
                                          "IsValid": True, "LengthWithoutComments": 0}
            elif sobject == "ApexPage":
                values = {"Name": name, "MasterLabel": label, "ApiVersion": 62.0,
                          "ControllerType": "Not Specified"}
            else:
                values = {"DeveloperName": name, "MasterLabel": label}
                if sobject == "CustomPermission":
                    values.update(IsLicensed=False, IsProtected=False)
            rec = org.insert_raw(sobject, {**values, "NamespacePrefix": namespace}, admin_id)
            if sobject == "CustomApplication":
                # How a client learns an app's name: its menu item [doc].
                org.insert_raw("AppMenuItem", {
                    "ApplicationId": rec["Id"], "Name": name, "Label": label,
                    "NamespacePrefix": namespace, "Type": "TabSet", "IsAccessible": True,
                    "IsVisible": True, "SortOrder": order + 1}, admin_id)


def _entity_id(org: Org, sobject: str, name: str) -> str:
    """The Id of the seeded setup entity ``name`` (``ns__Name`` for a package's)."""
    for rec in org.records(sobject):
        if entity_name(sobject, rec).lower() == str(name).lower():
            return str(rec["Id"])
    raise ValueError(f"unknown {sobject} {name!r}")


def _seed_groups(org: Org, seed: Mapping[str, Any], names: Mapping[str, str],
                 admin_id: str) -> dict[str, str]:
    """Permission set groups and their components; their Ids by lower-case name."""
    groups: dict[str, str] = {}
    for spec in seed.get("permission_set_groups") or []:
        group = org.create("PermissionSetGroup", {
            "DeveloperName": spec["name"], "MasterLabel": spec.get("label", spec["name"]),
            "Description": spec.get("description"),
        }, admin_id)
        groups[str(spec["name"]).lower()] = group["Id"]
        for member in spec.get("permission_sets") or []:
            org.create("PermissionSetGroupComponent", {
                "PermissionSetGroupId": group["Id"],
                "PermissionSetId": _lookup_set(org, names, member),
            }, admin_id)
    return groups


def _seed_recalculation(org: Org, meta: Mapping[str, Any]) -> None:
    """How long group recalculations take, and the seeded groups set to fail."""
    recalculation = meta.get("group_recalculation")
    if recalculation is not None:
        if not isinstance(recalculation, Mapping):
            raise ValueError("org.group_recalculation: expected {seconds, failing}")
        set_group_recalculation(org, seconds=recalculation.get("seconds"),
                                failing=recalculation.get("failing"))
        fail_seeded_groups(org)


def _check_system_permissions(perms: Mapping[str, Any], where: str) -> None:
    known = {f"Permissions{p}" for p in SYSTEM_PERMISSIONS}
    bad = sorted(set(perms) - known)
    if bad:
        raise ValueError(f"{where}: unknown system permissions {bad}")


def _license_id(org: Org, name: str) -> str:
    lowered = name.lower()
    for psl in org.records("PermissionSetLicense"):
        if lowered in (str(psl["DeveloperName"]).lower(), str(psl["MasterLabel"]).lower()):
            return str(psl["Id"])
    for lic in org.records("UserLicense"):
        if lowered == str(lic["Name"]).lower():
            return str(lic["Id"])
    raise ValueError(f"unknown license {name!r}")


def _lookup_set(org: Org, names: Mapping[str, str], name: str) -> str:
    if str(name).lower() in names:
        return names[str(name).lower()]
    found = [ps for ps in org.records("PermissionSet")
             if str(ps.get("Name", "")).lower() == str(name).lower()]
    if not found:
        raise ValueError(f"unknown permission set {name!r}")
    return str(found[0]["Id"])


def _seed_permission_set(org: Org, spec: Mapping[str, Any], admin_id: str) -> str:
    perms = {f"Permissions{p}": True for p in spec.get("system_permissions") or []}
    _check_system_permissions(perms, f"permission set {spec['name']}")
    values: dict[str, Any] = {"Name": spec["name"], "Label": spec.get("label", spec["name"]),
                              "Description": spec.get("description"), **perms}
    if spec.get("license"):
        values["LicenseId"] = _license_id(org, str(spec["license"]))
    if spec.get("namespace"):
        # Installed with a managed package: the platform makes it, in its namespace.
        ps = org.insert_raw("PermissionSet", {
            **values, "NamespacePrefix": str(spec["namespace"]), "IsOwnedByProfile": False,
            "IsCustom": True, "Type": "Regular", "ProfileId": None,
            "PermissionSetGroupId": None}, admin_id)
    else:
        ps = org.create("PermissionSet", values, admin_id)
    for obj, words in (spec.get("objects") or {}).items():
        row = {OBJECT_WORDS[w]: True for w in words}
        org.create("ObjectPermissions", {"ParentId": ps["Id"], "SobjectType": obj,
                                         **_implied(row)}, admin_id)
    for field_name, words in (spec.get("fields") or {}).items():
        row = {FIELD_WORDS[w]: True for w in words}
        if row.get("PermissionsEdit"):
            row["PermissionsRead"] = True
        org.create("FieldPermissions", {"ParentId": ps["Id"],
                                        "SobjectType": str(field_name).split(".")[0],
                                        "Field": field_name, **row}, admin_id)
    for key, sobject in ENTITY_KEYS.items():
        for entity in spec.get(key) or []:
            org.create("SetupEntityAccess", {
                "ParentId": ps["Id"], "SetupEntityId": _entity_id(org, sobject, entity),
            }, admin_id)
    return str(ps["Id"])


def _implied(row: dict[str, bool]) -> dict[str, bool]:
    out = dict(row)
    changed = True
    while changed:
        changed = False
        for perm, needs in OBJECT_IMPLIES.items():
            if out.get(perm):
                for n in needs:
                    if not out.get(n):
                        out[n] = True
                        changed = True
    return out


def _seed_user(org: Org, spec: Mapping[str, Any], names: Mapping[str, str],
               groups: Mapping[str, str], admin_id: str) -> None:
    profile = org.where("Profile", Name=spec.get("profile", "Standard User"))
    if not profile:
        raise ValueError(f"user {spec['username']}: unknown profile {spec.get('profile')!r}")
    username = str(spec["username"])
    user = org.create("User", {
        "Username": username, "FirstName": spec.get("first_name"),
        "LastName": spec.get("last_name", username.split("@")[0]),
        "Alias": spec.get("alias", username.split("@")[0][:8]),
        "Email": spec.get("email", username), "ProfileId": profile[0]["Id"],
        "IsActive": bool(spec.get("active", True)),
        "TimeZoneSidKey": spec.get("time_zone", "America/Los_Angeles"),
        "LocaleSidKey": spec.get("locale", "en_US"),
        "EmailEncodingKey": spec.get("email_encoding", "UTF-8"),
        "LanguageLocaleKey": spec.get("language", "en_US"),
    }, admin_id)
    if spec.get("password"):
        set_password(org, user["Id"], str(spec["password"]))
    for psl in spec.get("permission_set_licenses") or []:
        org.create("PermissionSetLicenseAssign", {
            "AssigneeId": user["Id"], "PermissionSetLicenseId": _license_id(org, str(psl)),
        }, admin_id)
    for ps in spec.get("permission_sets") or []:
        org.create("PermissionSetAssignment", {
            "AssigneeId": user["Id"], "PermissionSetId": _lookup_set(org, names, ps),
        }, admin_id)
    for ps in spec.get("revoked_permission_sets") or []:
        psa = org.create("PermissionSetAssignment", {
            "AssigneeId": user["Id"], "PermissionSetId": _lookup_set(org, names, ps),
        }, admin_id)
        org.store.update(psa["Id"], {"IsRevoked": True})
    for group in spec.get("permission_set_groups") or []:
        gid = groups.get(str(group).lower())
        if gid is None:
            raise ValueError(f"user {username}: unknown permission set group {group!r}")
        org.create("PermissionSetAssignment", {"AssigneeId": user["Id"],
                                               "PermissionSetGroupId": gid}, admin_id)


def set_password(org: Org, user_id: str, password: str | None) -> None:
    """Set (or, with None, clear) a user's password."""
    passwords = dict(org.store.meta("passwords") or {})
    if password is None:
        passwords.pop(user_id, None)
    else:
        passwords[user_id] = hash_password(password)
    org.store.set_meta("passwords", passwords)

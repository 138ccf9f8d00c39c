"""The config language, written once as specs: validation and JSON Schema both come from here.

See ``docs/config.md`` for the language as users read it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from reconciler.config.interpolate import NAME_PATTERN
from reconciler.config.spec import (
    CREDENTIAL,
    INVALID,
    SECRET,
    Bool,
    Check,
    Field,
    FieldWords,
    Key,
    ListOf,
    MapOf,
    Obj,
    ObjectWords,
    Scalar,
    Spec,
    Str,
)
from reconciler.config.types import AUTH_FLOWS, DEFAULT_API_VERSION
from reconciler.config.yamlload import LList, LMap

__all__ = ["BLOCKS", "BLOCK_ORDER", "IGNORABLE", "document_schema"]

# Salesforce's rule for API names (permission sets, groups): a letter first, then
# letters, digits and single underscores, not ending with an underscore.
DEV_NAME = r"^[A-Za-z](?:_?[A-Za-z0-9])*$"
DEV_NAME_SHAPE = ("is not a valid API name: use a letter first, then letters, digits and "
                  "single underscores, not ending in an underscore")
# sObject and field API names: up to three such parts joined by "__"
# (namespace__Name__c).
_PART = r"[A-Za-z](?:_?[A-Za-z0-9])*"
_API = rf"{_PART}(?:__{_PART}){{0,2}}"
SOBJECT = rf"^{_API}$"
FIELD = rf"^{_API}\.{_API}$"
SYSTEM_PERMISSION = r"^[A-Za-z][A-Za-z0-9]*$"
ORG_NAME = r"^[A-Za-z][A-Za-z0-9_-]*$"
ADDRESS = r"^[A-Za-z_][A-Za-z0-9_-]*$"
EMAIL = (r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
         r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
HTTPS_URL = r"^https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/?$"

EMAIL_ENCODINGS = ("UTF-8", "ISO-8859-1", "Shift_JIS", "ISO-2022-JP", "EUC-JP",
                   "ks_c_5601-1987", "Big5", "GB2312", "Big5-HKSCS", "x-SJIS_0213")

# Attributes `lifecycle.ignore_changes` may name, per resource kind.
IGNORABLE: dict[str, tuple[str, ...]] = {
    "permission_sets": ("label", "description", "license", "system_permissions", "objects",
                        "fields"),
    "permission_set_groups": ("label", "description", "permission_sets"),
    "users": ("first_name", "last_name", "email", "alias", "profile", "license",
              "permission_set_licenses", "permission_sets", "permission_set_groups",
              "active", "time_zone", "locale", "language", "email_encoding"),
}


def _lifecycle(kind: str) -> Obj:
    return Obj({
        "prevent_destroy": Field(Bool(
            "Refuse any plan that deletes or deactivates this resource.")),
        "ignore_changes": Field(ListOf(
            Str(enum=IGNORABLE[kind]), "Attributes the plan leaves alone when they drift.")),
    }, "Terraform-style lifecycle rules.")


def _user_default_fields(what: str) -> dict[str, Field]:
    return {
        "time_zone": Field(Str(
            f"Time zone (TimeZoneSidKey) {what}.",
            pattern=r"^(?:GMT|[A-Za-z]+(?:/[A-Za-z0-9_+-]+)+)$",
            shape='is not a time zone like "America/Los_Angeles" or "GMT"',
            examples=("GMT", "Europe/London", "America/New_York"))),
        "locale": Field(Str(
            f"Locale (LocaleSidKey) {what}.",
            pattern=r"^[a-z]{2,3}(?:_[A-Z]{2})?(?:_[A-Za-z0-9]+)?$",
            shape='is not a locale like "en_US"', examples=("en_US", "de_DE"))),
        "language": Field(Str(
            f"Language (LanguageLocaleKey) {what}.", pattern=r"^[a-z]{2,3}(?:_[A-Z]{2})?$",
            shape='is not a language like "en_US" or "de"', examples=("en_US", "de"))),
        "email_encoding": Field(Str(f"Email encoding {what}.", enum=EMAIL_ENCODINGS)),
    }


# --- settings ----------------------------------------------------------------------

SETTINGS = Obj({
    "api_version": Field(Str(
        f'Salesforce REST API version, like "{DEFAULT_API_VERSION}" (the default).',
        pattern=r"^[0-9]{2,3}\.0$", shape='is not an API version like "62.0"', numbers=True,
        interpolate=False)),
    "default_org": Field(Str(
        'The org used when --org is not given; "local" is the embedded emulator.',
        pattern=ORG_NAME, shape="is not an org name")),
    "scope": Field(Obj({
        "assignments": Field(Str(
            "For declared users: authoritative removes assignments not in config, "
            "additive only adds, observe only reports.",
            enum=("authoritative", "additive", "observe"))),
        "permission_sets": Field(Obj({
            "name_prefix": Field(Str(
                "Permission sets in the org with this name prefix that the config does not "
                "declare are deleted.", pattern=r"^[A-Za-z](?:_?[A-Za-z0-9])*_?$",
                shape="is not the start of an API name", interpolate=False)),
        })),
    }, "What the reconciler may change beyond what is declared.")),
    "user_defaults": Field(Obj(
        _user_default_fields("for users that don't set it"),
        "Defaults for user attributes.")),
}, "Settings of the whole configuration.")


# --- variables ---------------------------------------------------------------------

VARIABLES = MapOf(
    Key(f"^{NAME_PATTERN}$", "is not a variable name: use letters, digits and underscores, "
        "not starting with a digit", what="variable"),
    Obj({
        "default": Field(Scalar("Value when none is given with --var, --var-file or "
                                "RECONCILER_VAR_<NAME>.")),
        "description": Field(Str("What the variable is for.", interpolate=False)),
    }),
    "Variables, used in strings as ${var.NAME}.", partial=True)


# --- orgs --------------------------------------------------------------------------

_FLOW_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    # Each inner tuple: one of these keys is required.
    "client_credentials": (("client_id",), ("client_secret",)),
    "jwt": (("client_id",), ("username",), ("private_key", "private_key_file")),
    "password": (("client_id",), ("client_secret",), ("username",), ("password",)),
    "access_token": (("access_token",),),
}
_FLOW_ALLOWS: dict[str, frozenset[str]] = {
    "client_credentials": frozenset({"client_id", "client_secret"}),
    "jwt": frozenset({"client_id", "username", "private_key", "private_key_file"}),
    "password": frozenset({"client_id", "client_secret", "username", "password",
                           "security_token", "soap_login"}),
    "access_token": frozenset({"access_token"}),
}


def _auth_post(out: dict[str, Any], raw: LMap, path: str, ctx: Check) -> Any:
    flow = out["flow"]
    ok = True
    for key in raw.values:
        if key != "flow" and key not in _FLOW_ALLOWS[flow]:
            kline, kcol = raw.pos[key][:2]
            ctx.error(raw.file_of(key), kline, kcol, f'{path}: "{key}" is not used by flow {flow}')
            ok = False
    needs = _FLOW_NEEDS[flow]
    if out.get("soap_login"):
        # SOAP login() takes username and password (+ token), no connected app.
        needs = tuple(n for n in needs if not _soap_optional(flow, n))
    for options in needs:
        if not any(o in raw.values for o in options):
            need = " or ".join(f'"{o}"' for o in options)
            ctx.error(raw.file, raw.line, raw.col, f"{path}: flow {flow} needs {need}")
            ok = False
    if "private_key" in raw.values and "private_key_file" in raw.values:
        kline, kcol = raw.pos["private_key_file"][:2]
        ctx.error(raw.file, kline, kcol,
                  f'{path}: give "private_key" or "private_key_file", not both')
        ok = False
    return out if ok else INVALID


def _soap_optional(flow: str, options: tuple[str, ...]) -> bool:
    """The connected-app keys the password flow does without under soap_login."""
    return flow == "password" and options in (("client_id",), ("client_secret",))


AUTH = Obj({
    "flow": Field(Str("OAuth flow.", enum=AUTH_FLOWS), required=True),
    "client_id": Field(Str("Connected app consumer key.", mode=CREDENTIAL)),
    "client_secret": Field(Str("Connected app consumer secret: ${env.NAME} only.", mode=SECRET)),
    "username": Field(Str("Username to log in as (jwt, password).", mode=CREDENTIAL)),
    "password": Field(Str("Password (password flow): ${env.NAME} only.", mode=SECRET)),
    "security_token": Field(Str("Security token appended to the password: ${env.NAME} only.",
                                mode=SECRET)),
    "private_key": Field(Str("PEM private key (jwt): ${env.NAME} only.", mode=SECRET)),
    "private_key_file": Field(Str("Path of the PEM private key (jwt), relative to this file.")),
    "access_token": Field(Str("A ready access token: ${env.NAME} only.", mode=SECRET)),
    "soap_login": Field(Bool("Password flow through SOAP login() instead of OAuth. Salesforce "
                             "is retiring it (Summer '27); use only when OAuth is not "
                             "available.")),
}, "How to log in. Secrets come only from ${env.NAME}.", post=_auth_post, schema_extra={
    "allOf": [
        {"if": {"properties": {"flow": {"const": flow}}, "required": ["flow"]},
         "then": {"allOf": [{"anyOf": [{"required": [o]} for o in options]}
                            for options in needs if not _soap_optional(flow, options)]
                  + ([{"if": {"properties": {"soap_login": {"const": True}},
                              "required": ["soap_login"]},
                       "else": {"required": ["client_id", "client_secret"]}}]
                     if flow == "password" else []),
                  "propertyNames": {"enum": ["flow", *sorted(_FLOW_ALLOWS[flow])]}}}
        for flow, needs in _FLOW_NEEDS.items()
    ],
})

_REMOTE_KEYS = ("instance_url", "login_url", "auth", "ca_bundle")
# The generic login servers: the client-credentials flow is refused there.
_GENERIC_LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})


def _token_host_check(out: dict[str, Any], raw: LMap, path: str, ctx: Check) -> bool:
    """The client-credentials flow asks the org's own My Domain for its token."""
    auth = out.get("auth")
    if not isinstance(auth, dict) or auth.get("flow") != "client_credentials":
        return True
    key = "login_url" if "login_url" in raw.values else "instance_url"
    url = out.get(key)
    if not isinstance(url, str) or (urlsplit(url).hostname or "").lower() \
            not in _GENERIC_LOGIN_HOSTS:
        return True
    vline, vcol = raw.pos[key][2:]
    ctx.error(raw.file_of(key), vline, vcol,
              f"{path}.{key}: the client_credentials flow needs the org's My Domain as "
              f"token host, not {url}: use https://<MyDomain>.my.salesforce.com (or "
              "<MyDomain>--<sandbox>.sandbox.my.salesforce.com), as in Setup > My Domain")
    return False


def _org_post(out: dict[str, Any], raw: LMap, path: str, ctx: Check) -> Any:
    ok = True
    if out.get("emulator"):
        for key in _REMOTE_KEYS:
            if key in raw.values:
                kline, kcol = raw.pos[key][:2]
                ctx.error(raw.file_of(key), kline, kcol,
                          f'{path}: "{key}" cannot be combined with emulator: true')
                ok = False
    else:
        if "seed" in raw.values:
            kline, kcol = raw.pos["seed"][:2]
            ctx.error(raw.file_of("seed"), kline, kcol,
                      f'{path}: "seed" needs emulator: true (it describes a new local org)')
            ok = False
        missing = [k for k in ("instance_url", "auth") if k not in raw.values]
        if missing:
            names = ", ".join(f'"{k}"' for k in missing)
            ctx.error(raw.file, raw.line, raw.col,
                      f"{path}: missing required key{'s' if len(missing) > 1 else ''} {names} "
                      "(or write emulator: true)")
            ok = False
        ok = _token_host_check(out, raw, path, ctx) and ok
    return out if ok else INVALID


ORGS = MapOf(
    Key(ORG_NAME, "is not an org name: use a letter first, then letters, digits, _ and -",
        what="org"),
    Obj({
        "emulator": Field(Bool("The embedded local org (data under .reconciler/).")),
        "seed": Field(Str("Seed YAML describing a new embedded org (custom objects, users…), "
                          "relative to this file; used when the org's data is first made.")),
        "instance_url": Field(Str("The org's URL, like https://acme.my.salesforce.com.",
                                  pattern=HTTPS_URL, shape="is not an https:// URL of a host")),
        "login_url": Field(Str("OAuth login URL (default: the instance_url for the "
                               "client_credentials flow, which needs the My Domain; "
                               "https://login.salesforce.com for the others).",
                               pattern=HTTPS_URL, shape="is not an https:// URL of a host")),
        "ca_bundle": Field(Str("PEM file of CAs to trust, relative to this file.")),
        "auth": Field(AUTH),
    }, post=_org_post, schema_extra={
        "if": {"properties": {"emulator": {"const": True}}, "required": ["emulator"]},
        "then": {"not": {"anyOf": [{"required": [k]} for k in _REMOTE_KEYS]}},
        "else": {"required": ["instance_url", "auth"]},
    }),
    "Orgs to plan against, by name.", partial=True)


# --- permission sets and groups ----------------------------------------------------

def _no_destroy(out: dict[str, Any], raw: LMap, path: str, ctx: Check, key: str,
                destroying: bool, written: str) -> bool:
    if destroying and out.get("lifecycle", {}).get("prevent_destroy"):
        kline, kcol = raw.pos[key][:2]
        ctx.error(raw.file, kline, kcol,
                  f"{path}: {written} contradicts lifecycle.prevent_destroy; remove one of them")
        return False
    return True


def _absent_alone(out: dict[str, Any], raw: LMap, path: str, ctx: Check,
                  keys: tuple[str, ...]) -> bool:
    if not out.get("absent"):
        return True
    ok = True
    for key in keys:
        if key in raw.values:
            kline, kcol = raw.pos[key][:2]
            ctx.error(raw.file, kline, kcol,
                      f'{path}: "{key}" cannot be combined with absent: true')
            ok = False
    return ok


def _permission_set_post(out: dict[str, Any], raw: LMap, path: str, ctx: Check) -> Any:
    ok = _no_destroy(out, raw, path, ctx, "absent", bool(out.get("absent")), "absent: true")
    ok &= _absent_alone(out, raw, path, ctx,
                        ("license", "system_permissions", "objects", "fields"))
    permissions = raw.values.get("system_permissions")
    for index, name in enumerate(out.get("system_permissions", ())):
        if (isinstance(permissions, LList) and name.startswith("Permissions")
                and len(name) > len("Permissions")):
            line, col = permissions.pos[index]
            ctx.error(permissions.file, line, col,
                      f'{path}.system_permissions[{index}]: write "{name[len("Permissions"):]}"'
                      ', without the "Permissions" prefix')
            ok = False
    return out if ok else INVALID


PERMISSION_SETS = MapOf(
    Key(DEV_NAME, DEV_NAME_SHAPE, max_len=80, fold=True, what="permission set"),
    Obj({
        "label": Field(Str("Label (default: the API name).", max_len=80)),
        "description": Field(Str("Description.", max_len=255)),
        "license": Field(Str("Permission set license (label or developer name) or user "
                             "license the set is tied to; fixed once created.",
                             examples=("Salesforce API Integration",))),
        "system_permissions": Field(ListOf(
            Str(pattern=SYSTEM_PERMISSION, shape='is not a system permission like "ApiEnabled"',
                interpolate=False),
            "System permissions to enable, like ApiEnabled.", fold=True)),
        "objects": Field(MapOf(
            Key(SOBJECT, 'is not an object API name like "Account" or "Invoice__c"', fold=True,
                what="object"),
            ObjectWords, "Object access by sObject API name.")),
        "fields": Field(MapOf(
            Key(FIELD, 'is not a field name like "Account.Industry" or "Invoice__c.Amount__c"',
                fold=True, what="field"),
            FieldWords, 'Field access by "Object.Field".')),
        "absent": Field(Bool("Delete this permission set.")),
        "lifecycle": Field(_lifecycle("permission_sets")),
    }, post=_permission_set_post),
    "Permission sets by API name.", partial=True)


def _group_post(out: dict[str, Any], raw: LMap, path: str, ctx: Check) -> Any:
    ok = _no_destroy(out, raw, path, ctx, "absent", bool(out.get("absent")), "absent: true")
    ok &= _absent_alone(out, raw, path, ctx, ("permission_sets",))
    return out if ok else INVALID


_SET_NAME = Str(pattern=DEV_NAME, shape=DEV_NAME_SHAPE, interpolate=False, schema_pattern=True)
# A set named where it is assigned may be a managed package's: namespace__Name.
_SET_REFERENCE = Str(pattern=rf"^(?:{_PART}__)?{_PART}$",
                     shape=DEV_NAME_SHAPE + " (a managed package's set: namespace__Name)",
                     interpolate=False, schema_pattern=True)

PERMISSION_SET_GROUPS = MapOf(
    Key(DEV_NAME, DEV_NAME_SHAPE, max_len=80, fold=True, what="permission set group"),
    Obj({
        "label": Field(Str("Label (default: the developer name).", max_len=80)),
        "description": Field(Str("Description.", max_len=255)),
        "permission_sets": Field(ListOf(_SET_REFERENCE, "Member permission sets: declared ones or "
                                        "sets that exist in the org.", fold=True)),
        "absent": Field(Bool("Delete this group.")),
        "lifecycle": Field(_lifecycle("permission_set_groups")),
    }, post=_group_post),
    "Permission set groups by developer name.", partial=True)


# --- users -------------------------------------------------------------------------

def _user_post(out: dict[str, Any], raw: LMap, path: str, ctx: Check) -> Any:
    deactivating = out.get("active") is False
    ok = not deactivating or _no_destroy(out, raw, path, ctx, "active", True, "active: false")
    return out if ok else INVALID


USERS = MapOf(
    Key(ADDRESS, "is not a resource name: use letters, digits, _ and -, not starting "
        "with a digit", what="user"),
    Obj({
        "username": Field(Str("Username: email-shaped, unique across all Salesforce orgs; "
                              "stored in lower case.", max_len=80, pattern=EMAIL,
                              shape="is not email-shaped (name@domain)"), required=True),
        "first_name": Field(Str("First name.", max_len=40)),
        "last_name": Field(Str("Last name.", max_len=80), required=True),
        "email": Field(Str("Email address.", max_len=128, pattern=EMAIL,
                           shape="is not an email address"), required=True),
        "alias": Field(Str("Alias, up to 8 characters (default: from the name).", max_len=8)),
        "profile": Field(Str("Profile name; it fixes the user license.",
                             examples=("Minimum Access - API Only Integrations",)),
                         required=True),
        "license": Field(Str("User license the profile must belong to.",
                             examples=("Salesforce Integration",))),
        "permission_set_licenses": Field(ListOf(
            Str(), "Permission set licenses (label or developer name).", fold=True)),
        "permission_sets": Field(ListOf(_SET_REFERENCE, "Permission sets to assign: declared ones "
                                        "or sets that exist in the org.", fold=True)),
        "permission_set_groups": Field(ListOf(_SET_NAME, "Permission set groups to assign.",
                                              fold=True)),
        "active": Field(Bool("false deactivates the user (users can't be deleted).")),
        **_user_default_fields("(default: settings.user_defaults)"),
        "lifecycle": Field(_lifecycle("users")),
    }, hints={"absent": "users can't be deleted in Salesforce; write active: false to "
                        "deactivate"}, post=_user_post),
    "Users by resource name (the address users.<name>).", partial=True)


BLOCKS: dict[str, Spec] = {
    "settings": SETTINGS,
    "variables": VARIABLES,
    "orgs": ORGS,
    "permission_sets": PERMISSION_SETS,
    "permission_set_groups": PERMISSION_SET_GROUPS,
    "users": USERS,
}
BLOCK_ORDER = tuple(BLOCKS)


def document_schema() -> dict[str, Any]:
    """JSON Schema of one config file (every block optional: files are merged)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "reconciler configuration file",
        "description": "Desired state of Salesforce integration users and their access. "
                       "All *.yaml/*.yml files of the config directory are merged.",
        "type": "object",
        "properties": {name: _or_null(spec.json_schema()) for name, spec in BLOCKS.items()},
        "patternProperties": {"^x-": {"description": "Ignored: a place for YAML anchors."}},
        "additionalProperties": False,
    }


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    # `users:` with nothing under it is an empty block. A type list rather than
    # anyOf keeps validators' messages pointed at the offending key.
    return {**schema, "type": [schema["type"], "null"]}

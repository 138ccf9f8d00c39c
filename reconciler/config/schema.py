"""The config language as pydantic models: validation and the JSON Schema (:mod:`.jsonschema`)
come from here.

Every model forbids unknown keys, and reads a key written with nothing after it
as not given. Rules that need several keys of one record are the models' own
``after`` validators and report :class:`~.fields.Finding`\\ s; rules that need
several records live in :mod:`.build`. See ``docs/config.md`` for the language as
users read it.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reconciler.config.entities import SetupEntityKeys
from reconciler.config.fields import (
    Distinct,
    DistinctKeys,
    Finding,
    Scalar,
    SecretRef,
    Text,
    Words,
    findings,
)
from reconciler.config.interpolate import NAME_PATTERN, Rendered
from reconciler.config.policies import PoliciesBlock
from reconciler.config.record import Record
from reconciler.config.types import (
    DEFAULT_API_VERSION,
    AssignmentScope,
    AuthFlow,
    Scope,
    UserDefaults,
)
from reconciler.model import (
    FIELD_PERMISSIONS,
    OBJECT_PERMISSIONS,
    SETUP_ENTITY_TYPES,
    FieldAccess,
    ObjectAccess,
)

__all__ = ["BLOCKS", "ConfigFile", "Record"]

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
_URL_SHAPE = "is not an https:// URL of a host"

EmailEncoding = Literal["UTF-8", "ISO-8859-1", "Shift_JIS", "ISO-2022-JP", "EUC-JP",
                        "ks_c_5601-1987", "Big5", "GB2312", "Big5-HKSCS", "x-SJIS_0213"]

# Attributes `lifecycle.ignore_changes` may name, per resource kind.
SetAttribute = Literal["label", "description", "license", "system_permissions", "objects",
                       "fields", "connected_apps", "apex_classes", "custom_permissions",
                       "visualforce_pages", "apps"]
GroupAttribute = Literal["label", "description", "permission_sets"]
UserAttribute = Literal["first_name", "last_name", "email", "alias", "profile", "license",
                        "permission_set_licenses", "permission_sets", "permission_set_groups",
                        "active", "time_zone", "locale", "language", "email_encoding"]


class _Lifecycle(Record):
    """Terraform-style lifecycle rules."""

    prevent_destroy: bool = Field(
        False, description="Refuse any plan that deletes or deactivates this resource.")


_IGNORE = "Attributes the plan leaves alone when they drift."


class SetLifecycle(_Lifecycle):
    """Terraform-style lifecycle rules."""

    ignore_changes: Annotated[list[SetAttribute], Distinct()] = Field([], description=_IGNORE)


class GroupLifecycle(_Lifecycle):
    """Terraform-style lifecycle rules."""

    ignore_changes: Annotated[list[GroupAttribute], Distinct()] = Field([], description=_IGNORE)


class UserLifecycle(_Lifecycle):
    """Terraform-style lifecycle rules."""

    ignore_changes: Annotated[list[UserAttribute], Distinct()] = Field([], description=_IGNORE)


_TIME_ZONE = Text(pattern=r"^(?:GMT|[A-Za-z]+(?:/[A-Za-z0-9_+-]+)+)$",
                  shape='is not a time zone like "America/Los_Angeles" or "GMT"')
_LOCALE = Text(pattern=r"^[a-z]{2,3}(?:_[A-Z]{2})?(?:_[A-Za-z0-9]+)?$",
               shape='is not a locale like "en_US"')
_LANGUAGE = Text(pattern=r"^[a-z]{2,3}(?:_[A-Z]{2})?$",
                 shape='is not a language like "en_US" or "de"')
_DEFAULTS = UserDefaults()


# --- settings ----------------------------------------------------------------------

class NamePrefix(Record):
    """Permission sets the reconciler owns by name."""

    name_prefix: Annotated[str | None, Text(
        pattern=r"^[A-Za-z](?:_?[A-Za-z0-9])*_?$", shape="is not the start of an API name",
        interpolate=False)] = Field(
        None, description="Permission sets in the org with this name prefix that the config "
                          "does not declare are deleted.")


class ScopeSettings(Record):
    """What the reconciler may change beyond what is declared."""

    assignments: AssignmentScope = Field(
        Scope().assignments, description="For declared users: authoritative removes "
        "assignments not in config, additive only adds, observe only reports.")
    permission_sets: NamePrefix | None = None


class DefaultsSettings(Record):
    """Defaults for user attributes."""

    time_zone: Annotated[str, _TIME_ZONE] = Field(
        _DEFAULTS.time_zone, description="Time zone (TimeZoneSidKey) for users that don't "
        "set it.", examples=["GMT", "Europe/London", "America/New_York"])
    locale: Annotated[str, _LOCALE] = Field(
        _DEFAULTS.locale, description="Locale (LocaleSidKey) for users that don't set it.",
        examples=["en_US", "de_DE"])
    language: Annotated[str, _LANGUAGE] = Field(
        _DEFAULTS.language, description="Language (LanguageLocaleKey) for users that don't "
        "set it.", examples=["en_US", "de"])
    email_encoding: EmailEncoding = Field(
        "UTF-8", description="Email encoding for users that don't set it.")


class SettingsBlock(Record):
    """Settings of the whole configuration."""

    api_version: Annotated[str, Text(
        pattern=r"^[0-9]{2,3}\.0$", shape='is not an API version like "62.0"',
        numbers=True, interpolate=False)] = Field(
        DEFAULT_API_VERSION, description=f'Salesforce REST API version, like '
        f'"{DEFAULT_API_VERSION}" (the default).')
    default_org: Annotated[str, Text(pattern=ORG_NAME, shape="is not an org name")] = Field(
        "local", description='The org used when --org is not given; "local" is the '
                             'embedded emulator.')
    scope: ScopeSettings | None = None
    user_defaults: DefaultsSettings | None = None


# --- variables ---------------------------------------------------------------------

VariableName = Annotated[str, Text(
    pattern=f"^{NAME_PATTERN}$", interpolate=False,
    shape="is not a variable name: use letters, digits and underscores, not starting "
          "with a digit")]


class Variable(Record):
    """One variable."""

    default: Annotated[str | None, Scalar()] = Field(
        None, description="Value when none is given with --var, --var-file or "
                          "RECONCILER_VAR_<NAME>.")
    description: Annotated[str, Text(interpolate=False)] = Field(
        "", description="What the variable is for.")


# --- orgs --------------------------------------------------------------------------

_FLOW_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    # Each inner tuple: one of these keys is required.
    "client_credentials": (("client_id",), ("client_secret",)),
    "jwt": (("client_id",), ("username",), ("private_key", "private_key_file")),
    "password": (("client_id",), ("client_secret",), ("username",), ("password",)),
    "access_token": (("access_token",),),
    "sf_cli": (("target_org",),),
}
_FLOW_ALLOWS: dict[str, frozenset[str]] = {
    "client_credentials": frozenset({"client_id", "client_secret"}),
    "jwt": frozenset({"client_id", "username", "private_key", "private_key_file"}),
    "password": frozenset({"client_id", "client_secret", "username", "password",
                           "security_token", "soap_login"}),
    "access_token": frozenset({"access_token"}),
    "sf_cli": frozenset({"target_org"}),
}


def _soap_optional(flow: str, options: tuple[str, ...]) -> bool:
    """The connected-app keys the password flow does without under soap_login."""
    return flow == "password" and options in (("client_id",), ("client_secret",))


def _auth_schema() -> dict[str, Any]:
    # What the flow rules below say, for editors.
    return {"allOf": [
        {"if": {"properties": {"flow": {"const": flow}}, "required": ["flow"]},
         "then": {"allOf": [{"anyOf": [{"required": [o]} for o in options]}
                            for options in needs if not _soap_optional(flow, options)]
                  + ([{"if": {"properties": {"soap_login": {"const": True}},
                              "required": ["soap_login"]},
                       "else": {"required": ["client_id", "client_secret"]}}]
                     if flow == "password" else []),
                  "propertyNames": {"enum": ["flow", *sorted(_FLOW_ALLOWS[flow])]}}}
        for flow, needs in _FLOW_NEEDS.items()
    ]}


_ENV_ONLY = Annotated[Rendered | None, SecretRef(only_env=True)]
_CREDENTIAL = Annotated[Rendered | None, SecretRef()]


class Auth(Record):
    """How to log in. Secrets come only from ${env.NAME}."""

    model_config = ConfigDict(json_schema_extra=_auth_schema())

    flow: AuthFlow = Field(description="OAuth flow.")
    client_id: _CREDENTIAL = Field(None, description="Connected app consumer key.")
    client_secret: _ENV_ONLY = Field(
        None, description="Connected app consumer secret: ${env.NAME} only.")
    username: _CREDENTIAL = Field(None, description="Username to log in as (jwt, password).")
    password: _ENV_ONLY = Field(None, description="Password (password flow): ${env.NAME} only.")
    security_token: _ENV_ONLY = Field(
        None, description="Security token appended to the password: ${env.NAME} only.")
    private_key: _ENV_ONLY = Field(None, description="PEM private key (jwt): ${env.NAME} only.")
    private_key_file: Annotated[str | None, Text()] = Field(
        None, description="Path of the PEM private key (jwt), relative to this file.")
    access_token: _ENV_ONLY = Field(
        None, description="A ready access token: ${env.NAME} only.")
    soap_login: bool = Field(
        False, description="Password flow through SOAP login() instead of OAuth. Salesforce is "
                           "retiring it (Summer '27); use only when OAuth is not available.")
    target_org: Annotated[str | None, Text()] = Field(
        None, description="sf_cli flow: the alias (or username) of an org the Salesforce CLI "
                          "has logged in, as in `sf org login web --alias ALIAS`.")

    @model_validator(mode="after")
    def _flow_keys(self) -> Auth:
        flow = self.flow
        given = self.model_fields_set
        found = [Finding((key,), f'"{key}" is not used by flow {flow}')
                 for key in Auth.model_fields if key in given and key != "flow"
                 and key not in _FLOW_ALLOWS[flow]]
        for options in _FLOW_NEEDS[flow]:
            if self.soap_login and _soap_optional(flow, options):
                continue  # SOAP login() takes username and password (+ token), no app
            if not given.intersection(options):
                found.append(Finding((), f"flow {flow} needs "
                                         + " or ".join(f'"{o}"' for o in options)))
        if {"private_key", "private_key_file"} <= given:
            found.append(Finding(("private_key_file",),
                                 'give "private_key" or "private_key_file", not both'))
        if found:
            raise findings(found)
        return self


_REMOTE_KEYS = ("instance_url", "login_url", "auth", "ca_bundle")
# The generic login servers: the client-credentials flow is refused there.
_GENERIC_LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})


class Org(Record):
    """One org to plan against."""

    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"emulator": {"const": True}}, "required": ["emulator"]},
        "then": {"not": {"anyOf": [{"required": [k]} for k in _REMOTE_KEYS]}},
        # The sf_cli flow learns the instance URL from the Salesforce CLI.
        "else": {"required": ["auth"],
                 "if": {"properties": {"auth": {"properties": {"flow": {"const": "sf_cli"}}}}},
                 "else": {"required": ["instance_url"]}},
    })

    emulator: bool = Field(False, description="The embedded local org (data under .reconciler/).")
    seed: Annotated[str | None, Text()] = Field(
        None, description="Seed YAML describing a new embedded org (custom objects, users…), "
                          "relative to this file; used when the org's data is first made.")
    instance_url: Annotated[str | None, Text(pattern=HTTPS_URL, shape=_URL_SHAPE)] = Field(
        None, description="The org's URL, like https://acme.my.salesforce.com.")
    login_url: Annotated[str | None, Text(pattern=HTTPS_URL, shape=_URL_SHAPE)] = Field(
        None, description="OAuth login URL (default: the instance_url for the "
                          "client_credentials flow, which needs the My Domain; "
                          "https://login.salesforce.com for the others).")
    ca_bundle: Annotated[str | None, Text()] = Field(
        None, description="PEM file of CAs to trust, relative to this file.")
    auth: Auth | None = None

    @model_validator(mode="after")
    def _remote_or_local(self) -> Org:
        given = self.model_fields_set
        if self.emulator:
            found = [Finding((key,), f'"{key}" cannot be combined with emulator: true')
                     for key in _REMOTE_KEYS if key in given]
        else:
            found = []
            if "seed" in given:
                found.append(Finding(("seed",), '"seed" needs emulator: true (it describes '
                                                "a new local org)"))
            from_cli = self.auth is not None and self.auth.flow == "sf_cli"
            missing = [k for k in ("instance_url", "auth")
                       if k not in given and not (k == "instance_url" and from_cli)]
            if missing:
                names = ", ".join(f'"{k}"' for k in missing)
                found.append(Finding((), f"missing required key{'s' if len(missing) > 1 else ''}"
                                         f" {names} (or write emulator: true)"))
            found += self._token_host()
        if found:
            raise findings(found)
        return self

    def _token_host(self) -> list[Finding]:
        """The client-credentials flow asks the org's own My Domain for its token."""
        if self.auth is None or self.auth.flow != "client_credentials":
            return []
        key = "login_url" if "login_url" in self.model_fields_set else "instance_url"
        url = getattr(self, key)
        if url is None or (urlsplit(url).hostname or "").lower() not in _GENERIC_LOGIN_HOSTS:
            return []
        return [Finding((key,), "the client_credentials flow needs the org's My Domain as "
                                f"token host, not {url}: use https://<MyDomain>.my.salesforce"
                                ".com (or <MyDomain>--<sandbox>.sandbox.my.salesforce.com), "
                                "as in Setup > My Domain", at_value=True, own_address=True)]


# --- permission sets and groups ----------------------------------------------------

def _destroy_rules(record: Any, key: str, destroying: bool, written: str,
                   alone: tuple[str, ...] = ()) -> list[Finding]:
    """``written`` (deleting or deactivating) against prevent_destroy, and the keys that
    mean nothing beside ``absent: true``."""
    found = []
    if destroying and record.lifecycle is not None and record.lifecycle.prevent_destroy:
        found.append(Finding((key,), f"{written} contradicts lifecycle.prevent_destroy; "
                                     "remove one of them"))
    if destroying:
        found += [Finding((k,), f'"{k}" cannot be combined with absent: true')
                  for k in alone if k in record.model_fields_set]
    return found


SystemPermission = Annotated[str, Text(
    pattern=SYSTEM_PERMISSION, shape='is not a system permission like "ApiEnabled"',
    interpolate=False)]
ObjectName = Annotated[str, Text(
    pattern=SOBJECT, shape='is not an object API name like "Account" or "Invoice__c"',
    interpolate=False)]
FieldName = Annotated[str, Text(
    pattern=FIELD, shape='is not a field name like "Account.Industry" or '
                         '"Invoice__c.Amount__c"', interpolate=False)]
ObjectWords = Words("object", OBJECT_PERMISSIONS, ObjectAccess.of,
                    "Object permissions: read create edit delete view_all modify_all. "
                    "Implied ones are added (edit ⇒ read, modify_all ⇒ everything).")
FieldWords = Words("field", FIELD_PERMISSIONS, FieldAccess.of,
                   "Field permissions: read edit (edit ⇒ read).")


class PermissionSetEntry(Record, SetupEntityKeys):
    """One permission set."""

    label: Annotated[str | None, Text(max_len=80)] = Field(
        None, description="Label (default: the API name).")
    description: Annotated[str, Text(max_len=255)] = Field("", description="Description.")
    license: Annotated[str | None, Text()] = Field(
        None, description="Permission set license (label or developer name) or user license "
                          "the set is tied to; fixed once created.",
        examples=["Salesforce API Integration"])
    system_permissions: Annotated[list[SystemPermission], Distinct(fold=True)] = Field(
        [], description="System permissions to enable, like ApiEnabled.")
    objects: Annotated[dict[ObjectName, Annotated[ObjectAccess, ObjectWords]],
                       DistinctKeys("object")] = Field(
        {}, description="Object access by sObject API name.")
    fields: Annotated[dict[FieldName, Annotated[FieldAccess, FieldWords]],
                      DistinctKeys("field")] = Field(
        {}, description='Field access by "Object.Field".')
    absent: bool = Field(False, description="Delete this permission set.")
    lifecycle: SetLifecycle | None = None

    @model_validator(mode="after")
    def _rules(self) -> PermissionSetEntry:
        found = _destroy_rules(self, "absent", self.absent, "absent: true",
                               ("license", "system_permissions", "objects", "fields",
                                *SETUP_ENTITY_TYPES))
        found += [Finding(("system_permissions", index),
                          f'write "{name[len("Permissions"):]}", without the "Permissions" '
                          "prefix", own_address=True)
                  for index, name in enumerate(self.system_permissions)
                  if name.startswith("Permissions") and len(name) > len("Permissions")]
        if found:
            raise findings(found)
        return self


_SET_NAME = Text(pattern=DEV_NAME, shape=DEV_NAME_SHAPE, interpolate=False)
# A set named where it is assigned may be a managed package's: namespace__Name.
SetReference = Annotated[str, Text(
    pattern=rf"^(?:{_PART}__)?{_PART}$", interpolate=False,
    shape=DEV_NAME_SHAPE + " (a managed package's set: namespace__Name)")]


class GroupEntry(Record):
    """One permission set group."""

    label: Annotated[str | None, Text(max_len=80)] = Field(
        None, description="Label (default: the developer name).")
    description: Annotated[str, Text(max_len=255)] = Field("", description="Description.")
    permission_sets: Annotated[list[SetReference], Distinct(fold=True)] = Field(
        [], description="Member permission sets: declared ones or sets that exist in the org.")
    absent: bool = Field(False, description="Delete this group.")
    lifecycle: GroupLifecycle | None = None

    @model_validator(mode="after")
    def _rules(self) -> GroupEntry:
        found = _destroy_rules(self, "absent", self.absent, "absent: true",
                               ("permission_sets",))
        if found:
            raise findings(found)
        return self


# --- users -------------------------------------------------------------------------

class UserEntry(Record):
    """One user."""

    HINTS: ClassVar[dict[str, str]] = {
        "absent": "users can't be deleted in Salesforce; write active: false to deactivate"}

    username: Annotated[str, Text(max_len=80, pattern=EMAIL,
                                  shape="is not email-shaped (name@domain)")] = Field(
        description="Username: email-shaped, unique across all Salesforce orgs; stored in "
                    "lower case.")
    first_name: Annotated[str, Text(max_len=40)] = Field("", description="First name.")
    last_name: Annotated[str, Text(max_len=80)] = Field(description="Last name.")
    email: Annotated[str, Text(max_len=128, pattern=EMAIL, shape="is not an email address")] = \
        Field(description="Email address.")
    alias: Annotated[str | None, Text(max_len=8)] = Field(
        None, description="Alias, up to 8 characters (default: from the name).")
    profile: Annotated[str, Text()] = Field(
        description="Profile name; it fixes the user license.",
        examples=["Minimum Access - API Only Integrations"])
    license: Annotated[str | None, Text()] = Field(
        None, description="User license the profile must belong to.",
        examples=["Salesforce Integration"])
    permission_set_licenses: Annotated[list[Annotated[str, Text()]], Distinct(fold=True)] = \
        Field([], description="Permission set licenses (label or developer name).")
    permission_sets: Annotated[list[SetReference], Distinct(fold=True)] = Field(
        [], description="Permission sets to assign: declared ones or sets that exist in the org.")
    permission_set_groups: Annotated[list[Annotated[str, _SET_NAME]], Distinct(fold=True)] = \
        Field([], description="Permission set groups to assign.")
    active: bool = Field(True, description="false deactivates the user (users can't be deleted).")
    time_zone: Annotated[str | None, _TIME_ZONE] = Field(
        None, description="Time zone (TimeZoneSidKey) (default: settings.user_defaults).",
        examples=["GMT", "Europe/London", "America/New_York"])
    locale: Annotated[str | None, _LOCALE] = Field(
        None, description="Locale (LocaleSidKey) (default: settings.user_defaults).",
        examples=["en_US", "de_DE"])
    language: Annotated[str | None, _LANGUAGE] = Field(
        None, description="Language (LanguageLocaleKey) (default: settings.user_defaults).",
        examples=["en_US", "de"])
    email_encoding: EmailEncoding | None = Field(
        None, description="Email encoding (default: settings.user_defaults).")
    lifecycle: UserLifecycle | None = None

    @model_validator(mode="after")
    def _rules(self) -> UserEntry:
        found = _destroy_rules(self, "active", not self.active, "active: false")
        if found:
            raise findings(found)
        return self


# --- the file ----------------------------------------------------------------------

SetName = Annotated[str, Text(pattern=DEV_NAME, shape=DEV_NAME_SHAPE, max_len=80,
                              interpolate=False)]


class ConfigFile(BaseModel):
    """reconciler configuration file.

    Every block is optional: all files of a config are merged, then each block is
    validated on its own (:data:`BLOCKS`), so this model is for the JSON Schema.
    """

    model_config = ConfigDict(extra="forbid", title="reconciler configuration file")

    settings: SettingsBlock | None = None
    variables: dict[VariableName, Variable] | None = Field(
        None, description="Variables, used in strings as ${var.NAME}.")
    orgs: dict[Annotated[str, Text(
        pattern=ORG_NAME, interpolate=False,
        shape="is not an org name: use a letter first, then letters, digits, _ and -")],
        Org] | None = Field(None, description="Orgs to plan against, by name.")
    permission_sets: dict[SetName, PermissionSetEntry] | None = Field(
        None, description="Permission sets by API name.")
    permission_set_groups: dict[SetName, GroupEntry] | None = Field(
        None, description="Permission set groups by developer name.")
    users: dict[Annotated[str, Text(
        pattern=ADDRESS, interpolate=False,
        shape="is not a resource name: use letters, digits, _ and -, not starting with a "
              "digit")], UserEntry] | None = Field(
        None, description="Users by resource name (the address users.<name>).")
    policies: PoliciesBlock | None = Field(
        None, description="Access policy: built-in rule sets, rules of one's own, waivers.")


#: The blocks in the order they are validated and listed, with what two keys that differ
#: only in case would be (None: case matters).
BLOCKS: dict[str, str | None] = {
    "settings": None, "variables": None, "orgs": None,
    "permission_sets": "permission set", "permission_set_groups": "permission set group",
    "users": None, "policies": None,
}

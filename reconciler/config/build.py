"""Cleaned config data → model types, and the checks that span resources.

Everything here runs offline. A name the config uses but does not declare (a
permission set that exists only in the org, a profile, a license) is not an
error: it becomes a :class:`~reconciler.config.types.Reference` that the plan
resolves against the org, reporting a missing one at its config line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.config.interpolate import Rendered
from reconciler.config.schema import (
    Auth,
    DefaultsSettings,
    GroupEntry,
    Org,
    PermissionSetEntry,
    ScopeSettings,
    SettingsBlock,
    UserEntry,
)
from reconciler.config.suggest import Names, Suggester, did_you_mean, q
from reconciler.config.types import (
    AuthConfig,
    Lifecycle,
    Location,
    OrgConfig,
    Reference,
    ReferenceKind,
    Scope,
    Secret,
    Settings,
    UserDefaults,
)
from reconciler.config.yamlload import LList, LMap
from reconciler.errors import Problem
from reconciler.model import (
    ACTIVITY_SYSTEM_PERMISSIONS,
    INTEGRATION_PROFILES,
    INTEGRATION_PSL_LABEL,
    INTEGRATION_USER_LICENSE,
    SETUP_ENTITY_TYPES,
    FrozenMap,
    PermissionSet,
    PermissionSetGroup,
    SetupEntity,
    User,
    field_key,
    is_activity_object,
    is_integration_psl,
    is_integration_user_license,
    same_name,
)

__all__ = ["Built", "build"]

_ALIAS_CHARS = re.compile(r"[\W_]+")  # keeps letters and digits of any script


class Built:
    """Everything :func:`build` makes, before it becomes a Config."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.orgs: dict[str, OrgConfig] = {}
        self.permission_sets: dict[str, PermissionSet] = {}
        self.permission_set_groups: dict[str, PermissionSetGroup] = {}
        self.users: dict[str, User] = {}
        self.user_addresses: dict[str, str] = {}
        self.lifecycles: dict[str, Lifecycle] = {}
        self.locations: dict[str, Location] = {}
        self.references: list[Reference] = []


def build(tree: Mapping[str, LMap], cleaned: Mapping[str, Any],
          problems: list[Problem], suggester: Suggester) -> Built:
    """Turn validated blocks into model objects and run the cross-resource checks.

    ``suggester`` is the run's "did you mean", shared so its budget spans the run.
    """
    builder = _Builder(tree, problems, suggester)
    builder.run(cleaned)
    return builder.out


def derive_alias(first_name: str, last_name: str, username: str) -> str:
    """An alias the way Setup suggests one: first initial and four letters of the last name."""
    alias = _ALIAS_CHARS.sub("", first_name[:1] + last_name)[:5].lower()
    if not alias:
        alias = _ALIAS_CHARS.sub("", username.partition("@")[0])[:8].lower()
    return alias or "user"


class _Builder:
    def __init__(self, tree: Mapping[str, LMap], problems: list[Problem],
                 suggester: Suggester) -> None:
        self.tree = tree
        self.problems = problems
        self.suggester = suggester
        self.out = Built()
        self.declared_names: dict[str, Names] = {}  # by block, made at the first reference

    # -- locations ------------------------------------------------------------------

    def entry(self, block: str, name: str) -> LMap | None:
        raw = self.tree.get(block)
        value = raw.get(name) if raw is not None else None
        return value if isinstance(value, LMap) else None

    def key_location(self, raw: LMap, key: str) -> Location:
        kline, kcol = raw.pos[key][:2]
        return Location(raw.file_of(key), kline, kcol)

    def value_location(self, raw: LMap, key: str) -> Location:
        vline, vcol = raw.pos[key][2:]
        return Location(raw.file_of(key), vline, vcol)

    def item_location(self, raw: LMap | None, key: str, index: int) -> Location | None:
        if raw is None:
            return None
        items = raw.get(key)
        if not isinstance(items, LList) or index >= len(items):
            return None
        line, col = items.at(index)
        return Location(items.file, line, col)

    def error(self, where: Location | None, message: str) -> None:
        self.problems.append(where.problem(message) if where else Problem(message))

    # -- the build ------------------------------------------------------------------

    def run(self, cleaned: Mapping[str, Any]) -> None:
        for block, raw in self.tree.items():
            for key in raw:
                prefix = "settings" if block == "settings" else block
                self.out.locations[f"{prefix}.{key}"] = self.key_location(raw, key)
        self.orgs(cleaned.get("orgs") or {})
        self.settings(cleaned.get("settings"))
        sets = cleaned.get("permission_sets") or {}
        groups = cleaned.get("permission_set_groups") or {}
        for name, data in sets.items():
            self.permission_set(name, data)
        for name, data in groups.items():
            self.group(name, data)
        for address, data in (cleaned.get("users") or {}).items():
            self.user(address, data)
        self.check_groups()
        self.check_users()

    def settings(self, data: SettingsBlock | None) -> None:
        if data is None:
            return
        default_org = data.default_org
        # Checked against every declared name: an org with errors of its own is
        # reported there, not here as well.
        declared = set(self.out.orgs) | set(self.tree.get("orgs", ()))
        if default_org not in declared:
            raw = self.tree["settings"]
            hint = did_you_mean(default_org, declared)
            self.error(self.value_location(raw, "default_org"),
                       f"settings.default_org: no org named {q(default_org)} is declared{hint}")
        scope = data.scope or ScopeSettings.model_validate({})
        defaults = data.user_defaults or DefaultsSettings.model_validate({})
        self.out.settings = Settings(
            api_version=data.api_version,
            default_org=default_org,
            scope=Scope(
                assignments=scope.assignments,
                permission_set_prefix=scope.permission_sets.name_prefix
                if scope.permission_sets is not None else None,
            ),
            user_defaults=UserDefaults(
                time_zone=defaults.time_zone, locale=defaults.locale,
                language=defaults.language, email_encoding=defaults.email_encoding),
        )

    def orgs(self, orgs: Mapping[str, Org]) -> None:
        raw_orgs = self.tree.get("orgs")
        for name, data in orgs.items():
            base = Path(raw_orgs.file_of(name)).parent if raw_orgs is not None else Path()
            auth = data.auth
            instance_url = _strip_slash(data.instance_url)
            # Client credentials are issued by the org's My Domain only; the other flows
            # may log in through the generic login server.
            own_host = auth is not None and auth.flow == "client_credentials"
            raw_auth = raw_orgs[name].get("auth") if raw_orgs is not None else None
            self.out.orgs[name] = OrgConfig(
                name=name,
                emulator=data.emulator,
                instance_url=instance_url,
                login_url=_strip_slash(data.login_url)
                or (instance_url if own_host and instance_url else "https://login.salesforce.com"),
                auth=self.auth(f"orgs.{name}.auth", auth, raw_auth, base)
                if auth is not None and isinstance(raw_auth, LMap) else None,
                ca_bundle=base / data.ca_bundle if data.ca_bundle is not None else None,
                seed=base / data.seed if data.seed is not None else None,
            )
        if "local" not in self.out.orgs and not (raw_orgs and "local" in raw_orgs):
            self.out.orgs["local"] = OrgConfig(name="local", emulator=True)

    def auth(self, path: str, data: Auth, raw: LMap, base: Path) -> AuthConfig:
        def secret(key: str) -> Secret | None:
            rendered: Rendered | None = getattr(data, key)
            if rendered is None or rendered.value is None:
                return None
            source = "env." + ", env.".join(rendered.env) if rendered.env else "config"
            return Secret(rendered.value, source, address=f"{path}.{key}",
                          location=self.value_location(raw, key),
                          missing=tuple(rendered.missing_env))

        key_file = data.private_key_file
        return AuthConfig(
            flow=data.flow,
            client_id=secret("client_id"),
            client_secret=secret("client_secret"),
            username=secret("username"),
            password=secret("password"),
            security_token=secret("security_token"),
            private_key=secret("private_key"),
            private_key_file=base / key_file if key_file is not None else None,
            access_token=secret("access_token"),
            soap_login=data.soap_login,
            target_org=data.target_org,
        )

    def lifecycle(self, address: str, life: Any) -> None:
        if life is not None and life.model_fields_set:
            self.out.lifecycles[address] = Lifecycle(
                prevent_destroy=life.prevent_destroy,
                ignore_changes=frozenset(life.ignore_changes),
            )

    def permission_set(self, name: str, data: PermissionSetEntry) -> None:
        # An empty list grants nothing, and Salesforce keeps no row for nothing.
        pset = PermissionSet(
            name=name,
            label=name if data.label is None else data.label,
            description=data.description,
            license=data.license,
            system_permissions=frozenset(data.system_permissions),
            objects=FrozenMap((k, v) for k, v in data.objects.items() if not v.empty),
            fields=FrozenMap((k, v) for k, v in data.fields.items() if not v.empty),
            setup_entities=frozenset(SetupEntity(entity_type, entity)
                                     for key, entity_type in SETUP_ENTITY_TYPES.items()
                                     for entity in getattr(data, key)),
            absent=data.absent,
        )
        self.out.permission_sets[name] = pset
        self.lifecycle(f"permission_sets.{name}", data.lifecycle)
        raw = self.entry("permission_sets", name)
        if pset.license is not None and raw is not None:
            self.reference("license", pset.license, f"permission_sets.{name}.license",
                           self.value_location(raw, "license"))
        if raw is not None:
            self.activity_access(name, pset, raw)
        if is_integration_user_license(pset.license) and raw is not None:
            # salesforce.md §1.4: the integration user license itself can't carry
            # standard-object access; the PSL-licensed set is the way.
            raw_objects = raw.get("objects")
            for obj in pset.standard_objects:
                where = (self.key_location(raw_objects, obj)
                         if isinstance(raw_objects, LMap) and obj in raw_objects
                         else self.key_location(raw, "license"))
                self.error(where, f'permission_sets.{name}: a set licensed '
                                  f'"{INTEGRATION_USER_LICENSE}" can\'t grant access to the '
                                  f'standard object {obj}; license it "{INTEGRATION_PSL_LABEL}" '
                                  "instead")
                break

    def activity_access(self, name: str, pset: PermissionSet, raw: LMap) -> None:
        """Task and Event take no object permissions, and the Task and Event rows of an
        activity custom field are one field (salesforce.md §1.5a)."""
        raw_objects = raw.get("objects")
        for obj in raw_objects if isinstance(raw_objects, LMap) else ():
            if is_activity_object(obj) and isinstance(raw_objects, LMap):
                perm = next(p for a, p in ACTIVITY_SYSTEM_PERMISSIONS.items()
                            if same_name(a, obj))
                self.error(self.key_location(raw_objects, obj),
                           f"permission_sets.{name}.objects.{obj}: Task and Event take no "
                           "object permissions; activity access comes from the system "
                           f'permission {perm}: add "{perm}" to system_permissions')
        raw_fields = raw.get("fields")
        if not isinstance(raw_fields, LMap):
            return
        seen: dict[str, str] = {}
        for fname in raw_fields:
            twin = seen.setdefault(field_key(fname), fname)
            if twin != fname and pset.fields.get(twin) != pset.fields.get(fname):
                self.error(self.key_location(raw_fields, fname),
                           f"permission_sets.{name}.fields.{fname}: {twin} and {fname} are one "
                           "activity field (Salesforce keeps their permissions the same): "
                           "give both the same access, or list one of them")

    def group(self, name: str, data: GroupEntry) -> None:
        self.out.permission_set_groups[name] = PermissionSetGroup(
            name=name,
            label=name if data.label is None else data.label,
            description=data.description,
            permission_sets=frozenset(data.permission_sets),
            absent=data.absent,
        )
        self.lifecycle(f"permission_set_groups.{name}", data.lifecycle)

    def user(self, address: str, data: UserEntry) -> None:
        raw = self.entry("users", address)
        username = data.username.lower()
        other = self.out.user_addresses.get(username)
        if other is not None:
            first = self.out.locations.get(other)
            where = self.value_location(raw, "username") if raw is not None else None
            self.error(where, f"users.{address}: username {q(username)} is already used by "
                              f"{other}" + (f" ({first})" if first else ""))
            return
        defaults = self.out.settings.user_defaults
        user = User(
            username=username,
            last_name=data.last_name,
            email=data.email,
            alias=data.alias or derive_alias(data.first_name, data.last_name, username),
            profile=data.profile,
            first_name=data.first_name,
            license=data.license,
            permission_set_licenses=frozenset(data.permission_set_licenses),
            permission_sets=frozenset(data.permission_sets),
            permission_set_groups=frozenset(data.permission_set_groups),
            active=data.active,
            time_zone=data.time_zone or defaults.time_zone,
            locale=data.locale or defaults.locale,
            language=data.language or defaults.language,
            email_encoding=data.email_encoding or defaults.email_encoding,
        )
        self.out.users[username] = user
        self.out.user_addresses[username] = f"users.{address}"
        self.lifecycle(f"users.{address}", data.lifecycle)
        if raw is None:
            return
        path = f"users.{address}"
        self.reference("profile", user.profile, f"{path}.profile",
                       self.value_location(raw, "profile"))
        if user.license is not None:
            self.reference("user_license", user.license, f"{path}.license",
                           self.value_location(raw, "license"))
        for index, psl in enumerate(data.permission_set_licenses):
            self.reference("permission_set_license", psl,
                           f"{path}.permission_set_licenses[{index}]",
                           self.item_location(raw, "permission_set_licenses", index))
        profile_integration = any(same_name(user.profile, p) for p in INTEGRATION_PROFILES)
        if profile_integration and user.license is not None and not user.integration:
            self.error(self.value_location(raw, "license"),
                       f"{path}.license: profile {q(user.profile)} belongs to the "
                       f'"{INTEGRATION_USER_LICENSE}" license, not {q(user.license)}')

    def reference(self, kind: ReferenceKind, name: str, address: str,
                  where: Location | None, suggestion: str | None = None) -> None:
        if where is not None:
            self.out.references.append(Reference(kind, name, address, where, suggestion))

    # -- cross-resource checks ------------------------------------------------------

    def resolve(self, kind: ReferenceKind, block: str, name: str, address: str,
                where: Location | None) -> bool:
        """Check one use of a set or group name; True when it names a live declared one."""
        declared = self.tree.get(block)
        what = "permission set" if kind == "permission_set" else "permission set group"
        if declared is not None and name in declared:
            resource = (self.out.permission_sets.get(name) if kind == "permission_set"
                        else self.out.permission_set_groups.get(name))
            if resource is not None and resource.absent:
                self.error(where, f"{address}: {what} {name} is declared absent: true "
                                  f"({self.key_location(declared, name)})")
                return False
            return resource is not None
        names = self.declared_names.get(block)
        if names is None:
            names = self.declared_names[block] = Names(
                declared if declared is not None else ())
        folded = names.same_but_case(name)
        if folded is not None:
            self.error(where, f"{address}: {q(name)} is written {q(folded)} where it is "
                              "declared; write it the same way")
            return False
        self.reference(kind, name, address, where, self.suggester.close(name, names, cutoff=0.8))
        return False

    def check_groups(self) -> None:
        for name in self.out.permission_set_groups:
            raw = self.entry("permission_set_groups", name)
            items = raw.get("permission_sets") if raw is not None else None
            members = items if isinstance(items, LList) else ()
            for index, member in enumerate(members):
                self.resolve("permission_set", "permission_sets", member,
                             f"permission_set_groups.{name}.permission_sets[{index}]",
                             self.item_location(raw, "permission_sets", index))

    def check_users(self) -> None:
        for username, user in self.out.users.items():
            address = self.out.user_addresses[username]
            raw = self.entry("users", address.partition(".")[2])
            if raw is None:
                continue
            # (set, where it is assigned, "through group X" or "")
            assigned: list[tuple[PermissionSet, Location | None, str, str]] = []
            # Whether every set the user gets is declared, so known without the org.
            complete = True
            items = raw.get("permission_sets")
            for index, name in enumerate(items if isinstance(items, LList) else ()):
                item_address = f"{address}.permission_sets[{index}]"
                where = self.item_location(raw, "permission_sets", index)
                if self.resolve("permission_set", "permission_sets", name, item_address, where):
                    assigned.append((self.out.permission_sets[name], where, item_address, ""))
                else:
                    complete = False
            items = raw.get("permission_set_groups")
            for index, name in enumerate(items if isinstance(items, LList) else ()):
                item_address = f"{address}.permission_set_groups[{index}]"
                where = self.item_location(raw, "permission_set_groups", index)
                if self.resolve("permission_set_group", "permission_set_groups", name,
                                item_address, where):
                    group = self.out.permission_set_groups[name]
                    for member in sorted(group.permission_sets):
                        pset = self.out.permission_sets.get(member)
                        if pset is not None and not pset.absent:
                            assigned.append((pset, where, item_address,
                                             f" (through group {name})"))
                        else:
                            complete = False
                else:
                    complete = False
            self.check_licenses(user, address, assigned, complete=complete)

    def check_licenses(self, user: User, address: str,
                       assigned: list[tuple[PermissionSet, Location | None, str, str]], *,
                       complete: bool) -> None:
        """The integration-license rules of salesforce.md §1 that need no org.

        A set licensed by the PSL brings the PSL with it (Salesforce assigns it), so
        the user will hold it. Without such a set, a PSL line, or sets only the org
        knows, an authoritative scope leaves the user without the PSL: a set with no
        licence can't then grant it standard objects."""
        has_psl = any(is_integration_psl(p) for p in user.permission_set_licenses) or any(
            pset.license is not None and is_integration_psl(pset.license)
            for pset, *_ in assigned)
        may_hold_psl = has_psl or not complete or (
            self.out.settings.scope.assignments != "authoritative")
        needs_psl: str | None = None
        for pset, where, item_address, via in assigned:
            what = f"permission set {pset.name}{via}"
            if pset.license is not None and is_integration_psl(pset.license):
                if user.license is not None and not user.integration:
                    self.error(where, f"{item_address}: {what} is licensed {q(pset.license)}, "
                                      f'which only "{INTEGRATION_USER_LICENSE}" users can hold; '
                                      f"{address} has license {q(user.license)}")
                continue
            if user.integration and pset.license is not None and same_name(
                    pset.license, "Salesforce"):
                self.error(where, f'{item_address}: {what} is licensed "Salesforce", which '
                                  f'"{INTEGRATION_USER_LICENSE}" users can\'t hold')
            if (user.integration and pset.license is None and not may_hold_psl
                    and needs_psl is None):
                standard = pset.standard_objects
                if standard:
                    needs_psl = (f"for standard-object access to {', '.join(standard)} "
                                 f"through {pset.name}")
        if needs_psl is not None:
            self.error(self.key_location(self.tree["users"], address.partition(".")[2]),
                       f'{address}: needs the permission set license "{INTEGRATION_PSL_LABEL}" '
                       f"{needs_psl}; add it: permission_set_licenses: "
                       f"[{INTEGRATION_PSL_LABEL}]")


def _strip_slash(url: str | None) -> str | None:
    return url.rstrip("/") if url else url

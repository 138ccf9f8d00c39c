"""Plan-time checks: what the org would refuse, found before anything is written.

One place where checks run over the desired state and the plan. Each check returns
problems located at the config line that caused them, and the plan refuses to exist
while there are any. The rules follow the integration-license facts of
``salesforce.md`` §1: the profile fixes the user license; a set licensed to a user
license only for its users; a PSL-licensed set brings its PSL (the diff assigns it);
standard-object access for integration users only through the "Salesforce API
Integration" PSL: a set licensed to it, or a set with no licence while the user holds
it; seats on every licence.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from reconciler.actions import (
    Action,
    AssignGroup,
    AssignPermissionSet,
    AssignPermissionSetLicense,
    ChangeUserProfile,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeletePermissionSet,
    GrantSetupEntityAccess,
    ReactivateUser,
    UnassignGroup,
    UnassignPermissionSet,
    UnassignPermissionSetLicense,
)
from reconciler.config import Config, Location
from reconciler.errors import Problem
from reconciler.live import Live, entity_key
from reconciler.model import (
    OBJECT_PERMISSIONS,
    SETUP_ENTITY_TYPES,
    State,
    User,
    is_integration_psl,
    is_integration_user_license,
    is_standard_object,
    object_prerequisites,
    same_name,
)

_CONNECTED_APP = SETUP_ENTITY_TYPES["connected_apps"]
_ENTITY_KEYS = {t: key for key, t in SETUP_ENTITY_TYPES.items()}
_ENTITY_WORDS = {"ConnectedApplication": "connected app", "ApexClass": "Apex class",
                 "CustomPermission": "custom permission", "ApexPage": "Visualforce page",
                 "TabSet": "app"}


def location_of(config: Config, address: str) -> Location | None:
    """Where ``address`` is written, or the nearest enclosing thing that is."""
    where = config.locate(address)
    while where is None and "." in address:
        address = address.rsplit(".", 1)[0].rsplit("[", 1)[0]
        where = config.locate(address)
    return where


@dataclass(frozen=True)
class ManualStep:
    """Something the API can't do; the plan lists it, apply never pretends to do it."""

    address: str
    text: str


@dataclass(frozen=True)
class LicenseChange:
    """A declared set whose license in the org is not the config's (set at creation only)."""

    name: str
    live: str | None
    wanted: str | None


def license_changes(config: Config, desired: State, live: Live) -> list[LicenseChange]:
    """Declared sets whose license differs between the org and the (canonical) config."""
    out = []
    for name, ps in sorted(desired.permission_sets.items()):
        have = live.state.permission_sets.get(name)
        if have is None or ps.absent or "license" in config.lifecycle(
                f"permission_sets.{name}").ignore_changes:
            continue
        if (ps.license or "").casefold() != (have.license or "").casefold():
            out.append(LicenseChange(name, have.license, ps.license))
    return out


class Checker:
    """Checks of one plan: desired (canonical) state, the live org, the actions."""

    def __init__(self, config: Config, desired: State, live: Live, actions: Sequence[Action],
                 running_user: str) -> None:
        self.config = config
        self.desired = desired
        self.live = live
        self.actions = actions
        self.running_user = running_user.casefold()
        self.problems: list[Problem] = []

    def at(self, address: str, message: str) -> None:
        where = location_of(self.config, address)
        self.problems.append(where.problem(message) if where else Problem(message))

    def run(self) -> list[Problem]:
        self.comparable()
        self.license_changes()
        self.applicable()
        return self.problems

    def comparable(self) -> list[Problem]:
        """The checks without which a diff means nothing: names the org lacks, access the
        org can't hold. ``drift`` runs these (and reports a license change as drift)."""
        self.references()
        self.setup_entities()
        self.prefix_scope()
        self.objects_and_fields()
        self.users()
        return self.problems

    def applicable(self) -> list[Problem]:
        """The checks of what the org or our own safety rules would refuse to apply."""
        self.object_dependencies()
        self.seats()
        self.revoked()
        self.destroy()
        self.running_user_safety()
        return self.problems

    # -- names only the org can resolve --

    def references(self) -> None:
        for ref in self.config.references:
            known = {
                "permission_set": lambda n: n.casefold() in self.live.sets,
                "permission_set_group": lambda n: n.casefold() in self.live.groups,
                "permission_set_license": lambda n: n.casefold() in self.live.psls,
                "profile": lambda n: n.casefold() in self.live.profiles,
                "user_license": lambda n: n.casefold() in self.live.user_licenses,
                "license": lambda n: (n.casefold() in self.live.psls
                                      or n.casefold() in self.live.user_licenses),
            }[ref.kind](ref.name)
            if known:
                continue
            what = ref.kind.replace("_", " ")
            suggestion = ref.suggestion or self._org_suggestion(ref.kind, ref.name)
            hint = f'; did you mean "{suggestion}"?' if suggestion else ""
            declared = " is not declared and" if ref.kind in (
                "permission_set", "permission_set_group") else ""
            self.problems.append(ref.location.problem(
                f'{what} "{ref.name}"{declared} does not exist in the org{hint}'))

    def _org_suggestion(self, kind: str, name: str) -> str | None:
        """The org's name closest to a misspelt one, if any is close."""
        names: list[str] = {
            "permission_set": [i.name for i in self.live.sets.values()],
            "profile": [p[0] for p in self.live.profiles.values()],
            "user_license": [lic.name for lic in self.live.user_licenses.values()],
            "permission_set_license": [lic.label for lic in self.live.psls.values()],
            "license": [lic.name for lic in self.live.user_licenses.values()]
            + [lic.label for lic in self.live.psls.values()],
        }.get(kind, [])
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
        return close[0] if close else None

    def setup_entities(self) -> None:
        """Entities a set gives access to that the org lacks: Salesforce can't hold the
        access row without the entity."""
        for name, ps in sorted(self.desired.permission_sets.items()):
            for e in sorted(ps.setup_entities) if not ps.absent else ():
                if entity_key(e.type, e.name) in self.live.setup_entities:
                    continue
                close = difflib.get_close_matches(e.name, self.live.entity_names.get(e.type, ()),
                                                  n=1, cutoff=0.75)
                hint = f'; did you mean "{close[0]}"?' if close else ""
                key = _ENTITY_KEYS[e.type]
                self.at(f'permission_sets.{name}.{key}["{e.name}"]',
                        f'{_ENTITY_WORDS[e.type]} "{e.name}" does not exist in the org{hint}')

    def prefix_scope(self) -> None:
        """A set the config assigns but doesn't declare must not be one the prefix
        scope deletes."""
        prefix = self.config.settings.scope.permission_set_prefix
        if not prefix:
            return
        declared = {n.casefold() for n in self.desired.permission_sets}
        for ref in self.config.references:
            if (ref.kind == "permission_set" and ref.name.startswith(prefix)
                    and ref.name.casefold() not in declared):
                self.problems.append(ref.location.problem(
                    f'permission set "{ref.name}" matches settings.scope.permission_sets.'
                    f'name_prefix "{prefix}" but is not declared, so the plan would delete it; '
                    "declare it or stop assigning it"))

    def objects_and_fields(self) -> None:
        known_perms = {p.casefold() for p in self.live.system_permissions}
        checked: dict[str, tuple[str | None, str | None]] = {}
        for name, ps in self.desired.permission_sets.items():
            if ps.absent:
                continue
            base = f"permission_sets.{name}"
            for perm in sorted(ps.system_permissions):
                if known_perms and perm.casefold() not in known_perms:
                    self.at(f"{base}.system_permissions[\"{perm}\"]",
                            f'system permission "{perm}" does not exist in the org')
            for obj in sorted(ps.objects):
                if self.live.objects.get(obj.casefold()) is None:
                    self.at(f"{base}.objects[\"{obj}\"]",
                            f'object "{obj}" does not exist in the org')
            # Sets name the same fields: each field's problem (on read, on edit) is
            # worked out once. A FrozenMap iterates in sorted order.
            for fname, access in ps.fields.items():
                problems = checked.get(fname)
                if problems is None:
                    problems = checked[fname] = self._field_problems(fname)
                problem = problems[0] or (problems[1] if access.edit else None)
                if problem:
                    self.at(f"{base}.fields[\"{fname}\"]", problem)

    def _field_problems(self, fname: str) -> tuple[str | None, str | None]:
        """What is wrong with granting ``fname`` at all, and with granting edit on it."""
        obj, _, field_name = fname.partition(".")
        info = self.live.objects.get(obj.casefold())
        if info is None:
            return f'field "{fname}": object "{obj}" does not exist in the org', None
        permissionable = info.fields.get(field_name.casefold())
        if permissionable is None:
            return f'field "{fname}" does not exist in the org', None
        if not permissionable:
            return (f'field "{fname}" takes no field permissions (it is required or '
                    "system-maintained)"), None
        kind = info.read_only.get(field_name.casefold())
        if kind is None:
            return None, None
        return None, (f'field "{fname}" is {"an" if kind[0] in "aeiou" else "a"} {kind} '
                      f"field: it can be read, not edited; write {fname}: [read]")

    def object_dependencies(self) -> None:
        """Access that depends on another object's access in the same set (Contract on
        Account, a detail object on its master): Salesforce refuses the row without it."""
        for name, ps in sorted(self.desired.permission_sets.items()):
            if ps.absent:
                continue
            held = {o.casefold(): set(a.words) for o, a in ps.objects.items()}
            for obj, access in sorted(ps.objects.items()):
                info = self.live.objects.get(obj.casefold())
                missing: dict[str, dict[str, list[str]]] = {}
                for word, other, need in object_prerequisites(
                        obj, access.words, info.masters if info else ()):
                    if need not in held.get(other.casefold(), set()):
                        missing.setdefault(other, {}).setdefault(need, []).append(word)
                for other, needs in sorted(missing.items()):
                    what = "; ".join(f"{', '.join(words)} on {obj} needs {need} on {other}"
                                     for need, words in needs.items())
                    have = ps.objects.get(other)
                    words = sorted({*(have.words if have else ()), *needs},
                                   key=OBJECT_PERMISSIONS.index)
                    self.at(f'permission_sets.{name}.objects["{obj}"]',
                            f"{what} in the same permission set, or Salesforce refuses the row "
                            f'("depends on permission(s)"); set {other}: [{", ".join(words)}] '
                            f"in permission_sets.{name}.objects")

    def license_changes(self) -> None:
        for change in license_changes(self.config, self.desired, self.live):
            self.at(f"permission_sets.{change.name}.license",
                    f"the license of permission set {change.name} can't change in place "
                    f"(Salesforce sets it at creation): the org has "
                    f"{change.live or 'none'}, the config wants {change.wanted or 'none'}; "
                    "delete the set first (absent: true) or give the new one another name")

    # -- licences --

    def _set_license(self, name: str) -> tuple[str | None, bool | None]:
        """(licence, is it a PSL) of a declared or live set."""
        declared = self.desired.permission_sets.get(name)
        license_name = declared.license if declared else None
        if declared is None:
            info = self.live.sets.get(name.casefold())
            license_name = info.license if info else None
        if license_name is None:
            return None, None
        key = license_name.casefold()
        return license_name, key in self.live.psls or is_integration_psl(license_name)

    def _user_sets(self, user: User) -> list[tuple[str, str]]:
        """(set, list address) for every set the user will hold, groups included."""
        out = [(s, f'permission_sets["{s}"]') for s in sorted(user.permission_sets)]
        for g in sorted(user.permission_set_groups):
            declared = self.desired.permission_set_groups.get(g)
            members: Iterable[str] = declared.permission_sets if declared else (
                self.live.groups.get(g.casefold(), ("", ()))[1])
            out += [(s, f'permission_set_groups["{g}"]') for s in sorted(members)]
        return out

    def users(self) -> None:
        for username, user in sorted(self.desired.users.items()):
            address = self.config.address("users", username)
            profile = self.live.profiles.get(user.profile.casefold())
            profile_license = profile[1] if profile else None
            if user.license and profile_license and not same_name(user.license,
                                                                  profile_license):
                self.at(f"{address}.license",
                        f'profile "{profile[0] if profile else user.profile}" belongs to the '
                        f'"{profile_license}" user license, not "{user.license}"')
            future_license = profile_license or user.license
            for psl in sorted(user.permission_set_licenses):
                if is_integration_psl(psl) and future_license and not (
                        is_integration_user_license(future_license)):
                    self.at(f'{address}.permission_set_licenses["{psl}"]',
                            f'the "{psl}" permission set license is only for users of the '
                            f'Salesforce Integration user license; {username} will have '
                            f'"{future_license}"')
            api_psl_after = any(is_integration_psl(p) for p in self._psls_after(username))
            for set_name, where in self._user_sets(user):
                lic, is_psl = self._set_license(set_name)
                if lic is not None and not is_psl and future_license and not same_name(
                        lic, future_license):
                    self.at(f"{address}.{where}",
                            f'permission set "{set_name}" is licensed to the "{lic}" user '
                            f'license; {username} will have "{future_license}"')
                if is_psl and is_integration_psl(lic) and future_license and not (
                        is_integration_user_license(future_license)):
                    self.at(f"{address}.{where}",
                            f'permission set "{set_name}" is licensed "{lic}", which only '
                            f'Salesforce Integration users can hold; {username} will have '
                            f'"{future_license}"')
                if not is_integration_user_license(future_license) or (
                        is_psl and is_integration_psl(lic)):
                    continue
                declared = self.desired.permission_sets.get(set_name)
                info = self.live.sets.get(set_name.casefold())
                standard = declared.standard_objects if declared else (
                    info.standard_objects if info else ())
                if not standard:
                    continue
                if lic is not None:
                    self.at(f"{address}.{where}",
                            f'{username} has the Salesforce Integration license: standard '
                            f'objects ({", ".join(standard)}) in "{set_name}" need a set '
                            'licensed "Salesforce API Integration", or one with no license')
                elif not api_psl_after:
                    self.at(f"{address}.{where}",
                            f'{username} has the Salesforce Integration license: "{set_name}" '
                            f'has no license and grants standard objects '
                            f'({", ".join(standard)}), which needs the permission set license '
                            f'"Salesforce API Integration"; add it to '
                            f"{address}.permission_set_licenses")

    def _holds(self, action: AssignPermissionSetLicense) -> bool:
        live = self.live.state.users.get(action.username)
        return live is not None and action.target.casefold() in {
            p.casefold() for p in live.permission_set_licenses}

    @cached_property
    def _psl_actions(self) -> dict[str, list[Action]]:
        """The plan's PSL assignments and removals by username (casefolded), in order."""
        by_user: dict[str, list[Action]] = {}
        for a in self.actions:
            if isinstance(a, AssignPermissionSetLicense | UnassignPermissionSetLicense):
                by_user.setdefault(a.username.casefold(), []).append(a)
        return by_user

    def _psls_after(self, username: str) -> set[str]:
        """The PSLs (casefolded) a user holds once the plan has run."""
        live = self.live.state.users.get(username)
        held = {p.casefold() for p in live.permission_set_licenses} if live else set()
        for a in self._psl_actions.get(username.casefold(), ()):
            if isinstance(a, AssignPermissionSetLicense):
                held.add(a.target.casefold())
            elif isinstance(a, UnassignPermissionSetLicense):
                held.discard(a.target.casefold())
        return held

    def seats(self) -> None:
        """Seats after the plan, counting what its deactivations and removals free."""
        delta: Counter[tuple[str, str]] = Counter()
        takers: dict[tuple[str, str], str] = {}
        # A reactivation takes the seat of the licence the user ends with; a profile
        # change in the same plan moves no seat the user held while inactive.
        reactivated = {a.username.casefold() for a in self.actions
                       if isinstance(a, ReactivateUser)}
        for action in self.actions:
            if isinstance(action, AssignPermissionSetLicense) and self._holds(action):
                continue  # assigned again after a removal: it keeps the seat it has
            if (isinstance(action, ChangeUserProfile)
                    and action.username.casefold() in reactivated):
                continue
            for pool, name, change in _seat_changes(action):
                key = (pool, name.casefold())
                delta[key] += change
                if change > 0:
                    takers.setdefault(key, action.address)
        for (pool, name), change in sorted(delta.items()):
            lic = (self.live.user_licenses if pool == "user_license" else self.live.psls).get(
                name)
            if lic is None or change <= 0 or lic.used + change <= lic.total:
                continue
            what = (f'user license "{lic.name}"' if pool == "user_license"
                    else f'permission set license "{lic.label}"')
            self.at(takers[(pool, name)],
                    f"{what}: the plan needs {change} more seat{'s' if change != 1 else ''}, "
                    f"{lic.free} free ({lic.used} of {lic.total} in use)")

    def revoked(self) -> None:
        """An assignment a user access policy revoked keeps its row: creating it again
        would fail with DUPLICATE_VALUE, so the plan says so before any write."""
        revoked = {(kind, user, target.casefold()) for kind, user, target in self.live.revoked}
        for a in self.actions:
            if not isinstance(a, AssignPermissionSet | AssignGroup):
                continue
            kind = "set" if isinstance(a, AssignPermissionSet) else "group"
            if (kind, a.username.casefold(), a.target.casefold()) not in revoked:
                continue
            what = "permission set" if kind == "set" else "permission set group"
            self.at(f'users.{a.user}.{a.list_name}["{a.target}"]',
                    f"{a.username}'s assignment of {what} {a.target} was revoked by a user "
                    "access policy (PermissionSetAssignment.IsRevoked): the org keeps the "
                    "row and won't take the assignment again; restore it through the policy "
                    "or in Setup, or remove it from the config")

    # -- safety --

    def destroy(self) -> None:
        for a in self.actions:
            if isinstance(a, DeletePermissionSet | DeleteGroup | DeactivateUser):
                resource = a.resource
                if self.config.lifecycle(resource).prevent_destroy:
                    verb = "deactivate" if isinstance(a, DeactivateUser) else "delete"
                    self.at(resource, f"{resource} has lifecycle.prevent_destroy: the plan "
                                      f"would {verb} it")

    def running_user_safety(self) -> None:
        for action, message in self_harm(self.actions, self.running_user):
            self.at(action.address, message)


def self_harm(actions: Sequence[Action], running_user: str) -> list[tuple[Action, str]]:
    """Actions that would deactivate or strip the user the reconciler runs as."""
    out: list[tuple[Action, str]] = []
    for a in actions:
        username = getattr(a, "username", "")
        if username.casefold() != running_user.casefold():
            continue
        if isinstance(a, DeactivateUser):
            what = f"deactivate {username}"
        elif isinstance(a, UnassignPermissionSet | UnassignGroup | UnassignPermissionSetLicense):
            what = f"take {a.target} away from {username}"
        elif isinstance(a, ChangeUserProfile):
            what = f"change the profile of {username}"
        else:
            continue
        out.append((a, f"the reconciler runs as {username}: it will not {what} "
                       "(it would lock itself out)"))
    return out


def _seat_changes(a: Action) -> list[tuple[str, str, int]]:
    """(pool, licence, +1 taken / -1 freed) for the seats one action moves."""
    if isinstance(a, CreateUser) and a.active and a.license:
        return [("user_license", a.license, 1)]
    if isinstance(a, ReactivateUser) and a.license:
        return [("user_license", a.license, 1)]
    if isinstance(a, DeactivateUser) and a.license:
        return [("user_license", a.license, -1)]
    if isinstance(a, ChangeUserProfile) and a.license_before != a.license_after:
        # An inactive user holds no seat; a deactivation in the same plan frees its own.
        if not a.active:
            return []
        out = [("user_license", a.license_before, -1)] if a.license_before else []
        if a.license_after:
            out.append(("user_license", a.license_after, 1))
        return out
    if isinstance(a, AssignPermissionSetLicense):
        return [("psl", a.target, 1)]
    if isinstance(a, UnassignPermissionSetLicense):
        return [("psl", a.target, -1)]
    return []


_APP_POLICIES = "Setup > App Manager > {app} > Manage > Edit Policies"


def manual_steps(actions: Sequence[Action], desired: State, live: Live) -> list[ManualStep]:
    """What a human must do after apply: for new or converted integration users, the
    connected app's "Run As" user (no API sets it), and pre-authorization of each
    connected app they reach or the plan grants, unless the org says it is on."""
    steps: list[ManualStep] = []
    apps: dict[str, str] = {}  # app → the address of the set that gives it
    for a in actions:
        if isinstance(a, GrantSetupEntityAccess) and a.entity_type == _CONNECTED_APP:
            apps.setdefault(a.entity, a.address)
        becomes_integration = (
            isinstance(a, CreateUser) and is_integration_user_license(a.license)
        ) or (isinstance(a, ChangeUserProfile) and is_integration_user_license(a.license_after)
              and not is_integration_user_license(a.license_before))
        if not becomes_integration:
            continue
        username = getattr(a, "username", "")
        reached = _connected_apps(desired, desired.users.get(username.casefold()))
        for app, address in reached.items():
            apps.setdefault(app, address)
        named = ", ".join(f'"{app}"' for app in reached) or "the connected app"
        steps.append(ManualStep(a.resource, (
            f"{username}: choose how the integration authenticates. Recommended: OAuth client "
            f"credentials, with this user as the \"Run As\" user of {named} ("
            + _APP_POLICIES.format(app=" / ".join(reached) or "the app")
            + " > Client Credentials Flow); the API can't set it.")))
        if not reached:
            steps.append(ManualStep(a.resource, (
                f"{username}: for the JWT bearer or username-password flows, list its "
                "connected app under connected_apps of one of this user's permission sets "
                "(the plan then gives the access) and pre-authorize the app (\"Admin approved "
                f"users are pre-authorized\", {_APP_POLICIES.format(app='the app')}): "
                "API-only users can't grant OAuth consent interactively.")))
        steps.append(ManualStep(a.resource, (
            f"{username}: a password or security token can't be reset over the API; if a "
            "legacy integration logs in with username, password and token, reset them in "
            "Setup and store them in your secret manager.")))
    for app, address in sorted(apps.items()):
        info = live.setup_entities.get(entity_key(_CONNECTED_APP, app))
        if info is not None and info.admin_approved_only:
            continue
        now = ("is \"All users may self-authorize\"" if info is not None
               and info.admin_approved_only is False else "could not be read")
        steps.append(ManualStep(address, (
            f"connected app \"{app}\": its Permitted Users policy {now}; set it to \"Admin "
            "approved users are pre-authorized\" (" + _APP_POLICIES.format(app=app)
            + " > OAuth Policies), or the access the permission set gives has no effect and "
            "API-only users can't authorize it themselves.")))
    return steps


def _connected_apps(desired: State, user: User | None) -> dict[str, str]:
    """The connected apps a declared user reaches through its declared sets (directly or
    in its groups) → the address of a set that lists each."""
    if user is None:
        return {}
    sets = set(user.permission_sets)
    for g in user.permission_set_groups:
        group = desired.permission_set_groups.get(g)
        sets |= set(group.permission_sets) if group else set()
    out: dict[str, str] = {}
    for name in sorted(sets):
        ps = desired.permission_sets.get(name)
        for e in sorted(ps.setup_entities) if ps else ():
            if e.type == _CONNECTED_APP:
                out.setdefault(e.name, f"permission_sets.{name}.connected_apps.{e.name}")
    return out


def group_status_warnings(desired: State, live: Live) -> list[str]:
    """Groups the config declares or assigns that the org has not finished calculating:
    a Failed group's users may lack what its sets grant and the org refuses new
    assignments of it; an Updating (or Outdated) one is still being recalculated."""
    used = {name.casefold(): name for name, group in desired.permission_set_groups.items()
            if not group.absent}
    for user in desired.users.values():
        used.update({g.casefold(): g for g in user.permission_set_groups
                     if g.casefold() not in used})
    out = []
    for key, name in sorted(used.items()):
        status = live.group_status.get(key)
        if status == "Failed":
            out.append(f"permission set group {name}: the org's last recalculation of it "
                       "failed (Status Failed): its users may lack what its permission sets "
                       "grant, and the org refuses new assignments of it until a "
                       "recalculation succeeds (Setup > Permission Set Groups)")
        elif status in ("Updating", "Outdated"):
            out.append(f"permission set group {name}: the org is still recalculating it "
                       f"(Status {status}); apply waits for it before assigning it")
    return out


def standard_access_warning(desired: State) -> list[str]:
    """Sets declared with standard-object access but no licence: fine for full users,
    and for integration users only with the API PSL; worth a word when no user gets
    them yet."""
    out = []
    for name, ps in sorted(desired.permission_sets.items()):
        if ps.absent or ps.license or not any(is_standard_object(o) for o in ps.objects):
            continue
        holders = [u for u in desired.users.values() if name in u.permission_sets]
        if not holders:
            out.append(f"permission set {name} grants standard-object access without a "
                       "license: integration users need the \"Salesforce API Integration\" "
                       "permission set license to be given it")
    return out

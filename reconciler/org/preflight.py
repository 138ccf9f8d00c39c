"""Reading what ``doctor`` grades: a handful of read-only calls → :class:`Facts`.

Login (with the configured flow), the API versions the org serves, the running user's
effective system permissions, the integration licence and PSL seats, one row of the
Setup Audit Trail, the describes of the objects the config names, and what the org
already holds for the config's users. Nothing is written.

A read the org refuses does not stop the others: its error is kept in
:attr:`Facts.errors` under the read's name, and the grading says what to fix. Only a
failed login, or an API version the org does not serve, ends the reading early
(every later call would fail the same way). Raw records stay in this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from reconciler.config import Config, OrgConfig
from reconciler.errors import OrgError
from reconciler.live import ObjectInfo
from reconciler.model import FrozenMap, is_integration_psl
from reconciler.org.audit import AUDIT_FIELDS
from reconciler.org.client import OrgClient
from reconciler.org.discover import Seats, integration_seats
from reconciler.org.permissions import permission_fields
from reconciler.org.reader import (
    SYSTEM_PREFIX,
    object_info,
    query_in,
    system_permissions_of,
)
from reconciler.org.soql import quote

__all__ = ["Facts", "OrgUser", "read_facts"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class OrgUser:
    """A user the config declares, as the org has it now."""

    username: str
    active: bool
    license: str | None  # the user license of its profile
    #: Permission set licences it holds, by developer name and by label (casefolded).
    psls: frozenset[str] = frozenset()

    def holds_integration_psl(self) -> bool:
        """Whether it already holds the "Salesforce API Integration" PSL."""
        return any(is_integration_psl(p) for p in self.psls)


@dataclass(frozen=True)
class Facts:
    """What the org said, read-only; the input of :func:`reconciler.doctor.grade`."""

    org: str
    flow: str  # the auth flow used ("client_credentials", …)
    login_url: str
    api_version: str
    configured_instance_url: str | None = None
    emulator: bool = False
    #: None when the login failed (see ``login_error``).
    instance_url: str | None = None
    running_user: str | None = None
    login_error: str | None = None
    versions: tuple[str, ...] = ()
    #: The running user's effective system permissions among those doctor asks about.
    permissions: frozenset[str] = frozenset()
    integration_license: Seats | None = None
    integration_psl: Seats | None = None
    #: casefolded profile name → its user license, for the profiles the config names.
    profile_licenses: FrozenMap[str, str] = field(default_factory=FrozenMap)
    #: casefolded username → the config's users the org already has.
    users: FrozenMap[str, OrgUser] = field(default_factory=FrozenMap)
    #: casefolded sObject → its describe (None: the org has no such object).
    objects: FrozenMap[str, ObjectInfo | None] = field(default_factory=FrozenMap)
    #: System permission names the org's PermissionSet has (no prefix).
    system_permissions: frozenset[str] = frozenset()
    #: Read name ("versions", "permissions", "seats", "audit_trail", "describe",
    #: "users") → the org's error, for the reads that failed.
    errors: FrozenMap[str, str] = field(default_factory=FrozenMap)
    api_calls: int = 0


def read_facts(config: Config, org: OrgConfig, client: OrgClient) -> Facts:
    """Everything doctor grades about ``org``, read through ``client`` (which may not
    have logged in yet: the login is the first thing tried)."""
    base = Facts(org=org.name, flow=client.conn.flow, login_url=client.conn.login_url,
                 api_version=client.api_version, configured_instance_url=org.instance_url,
                 emulator=org.emulator)
    try:
        client.connect()
        who = client.whoami()
    except OrgError as exc:
        return _with(base, login_error=str(exc), api_calls=client.calls)
    errors: dict[str, str] = {}
    facts = _with(base, instance_url=client.instance_url, running_user=who.username)
    versions = _attempt(errors, "versions", client.versions)
    if versions is None or client.api_version not in versions:
        return _with(facts, versions=tuple(versions or ()), errors=FrozenMap(errors),
                     api_calls=client.calls)

    wanted = permission_fields()
    rows = _attempt(errors, "permissions", lambda: client.query(
        "SELECT " + ", ".join(f"PermissionSet.{SYSTEM_PREFIX}{p}" for p in wanted)
        + f" FROM PermissionSetAssignment WHERE AssigneeId = {quote(who.user_id)}"))
    seats = _attempt(errors, "seats", lambda: integration_seats(client))
    _attempt(errors, "audit_trail", lambda: client.query(
        f"SELECT {AUDIT_FIELDS} FROM SetupAuditTrail ORDER BY CreatedDate DESC LIMIT 1"))
    described = _attempt(errors, "describe", lambda: client.describe(
        ["PermissionSet", *_objects(config)]))
    users = _attempt(errors, "users", lambda: _users(client, config))

    objects = {name.casefold(): object_info(d) for name, d in (described or {}).items()
               if name != "PermissionSet"}
    return _with(
        facts,
        versions=tuple(versions),
        permissions=frozenset(_held(rows or [], wanted)),
        integration_license=seats[0] if seats else None,
        integration_psl=seats[1] if seats else None,
        profile_licenses=FrozenMap(users[0] if users else {}),
        users=FrozenMap(users[1] if users else {}),
        objects=FrozenMap(objects),
        system_permissions=frozenset(system_permissions_of((described or {}).get(
            "PermissionSet"))),
        errors=FrozenMap(errors),
        api_calls=client.calls,
    )


def _with(facts: Facts, **changes: Any) -> Facts:
    return replace(facts, **changes)


def _attempt(errors: dict[str, str], name: str, read: Callable[[], _T]) -> _T | None:
    """``read()``, or None with the org's error kept under ``name``."""
    try:
        return read()
    except OrgError as exc:
        errors[name] = str(exc)
        return None


def _held(rows: Iterable[dict[str, Any]], wanted: Iterable[str]) -> set[str]:
    """Permissions any of the user's assigned sets grants: the profile's own set and
    each group's aggregate set come as assignments too."""
    held = set()
    for row in rows:
        ps = row.get("PermissionSet") or {}
        held |= {p for p in wanted if ps.get(SYSTEM_PREFIX + p)}
    return held


def _objects(config: Config) -> list[str]:
    names: set[str] = set()
    for ps in config.permission_sets.values():
        names.update(ps.objects)
        names.update(f.partition(".")[0] for f in ps.fields)
    return sorted(names, key=str.casefold)



def _users(client: OrgClient, config: Config,
           ) -> tuple[dict[str, str], dict[str, OrgUser]]:
    """The user license of each profile the config's users name, and those users as
    the org has them (with the PSLs they hold): two queries, none without users."""
    if not config.users:
        return {}, {}
    profiles = query_in(client, "SELECT Name, UserLicense.Name FROM Profile WHERE Name IN {in}",
                        {u.profile for u in config.users.values() if u.profile})
    rows = query_in(client, "SELECT Username, IsActive, Profile.UserLicense.Name, "
                            "(SELECT PermissionSetLicense.DeveloperName, "
                            "PermissionSetLicense.MasterLabel "
                            "FROM PermissionSetLicenseAssignments) "
                            "FROM User WHERE Username IN {in}", config.users)
    licenses = {str(p["Name"]).casefold(): str((p.get("UserLicense") or {}).get("Name") or "")
                for p in profiles}
    users = {}
    for r in rows:
        held = ((r.get("PermissionSetLicenseAssignments") or {}).get("records") or [])
        psls = {str(v).casefold() for a in held
                for v in ((a.get("PermissionSetLicense") or {}).get("DeveloperName"),
                          (a.get("PermissionSetLicense") or {}).get("MasterLabel")) if v}
        lic = ((r.get("Profile") or {}).get("UserLicense") or {}).get("Name")
        users[str(r["Username"]).casefold()] = OrgUser(
            str(r["Username"]).casefold(), bool(r.get("IsActive")),
            str(lic) if lic else None, frozenset(psls))
    return licenses, users

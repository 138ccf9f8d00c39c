"""Finding users by license and profile: the queries ``import`` needs beyond the reader.

The reader (:mod:`reconciler.org.reader`) reads what a config names. ``import`` must
first find *who* to read: every active integration user, or the users on a full
license who only ever use the API (candidates for the cheaper integration license).

"API-only" is the ``ApiUserOnly`` system permission ("API Only User"), set on the
profile (its hidden profile-owned permission set), on a permission set assigned to
the user, or on a member set of a group assigned to the user.

Each function is a few queries plus a pure parse; raw records stay in this module.
Real SOQL refuses a semi-join inside ``OR``, so profiles are looked up first and
named in an ``IN`` list instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.live import Querier
from reconciler.model import INTEGRATION_PSL_DEVELOPER_NAME, INTEGRATION_USER_LICENSE
from reconciler.org.reader import query_in
from reconciler.org.soql import in_list, quote

__all__ = [
    "FULL_USER_LICENSE",
    "Candidate",
    "Candidates",
    "Seats",
    "api_only_profiles",
    "integration_candidates",
    "integration_seats",
    "integration_usernames",
]

#: The full-price user license an integration user should not hold.
FULL_USER_LICENSE = "Salesforce"


@dataclass(frozen=True)
class Seats:
    """Seats of one user license or permission set license."""

    license: str
    total: int
    used: int

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)


@dataclass(frozen=True)
class Candidate:
    """An active full-license user whose access says it only uses the API."""

    username: str
    name: str
    profile: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Candidates:
    """The candidates for the integration license, and the seats it has free."""

    users: tuple[Candidate, ...]
    integration_license: Seats | None
    integration_psl: Seats | None


def _name(record: Mapping[str, Any] | None, field: str) -> str:
    return str((record or {}).get(field) or "")


def api_only_profiles(client: Querier) -> tuple[str, ...]:
    """Names of the profiles whose permissions include "API Only User"."""
    rows = client.query("SELECT Profile.Name FROM PermissionSet WHERE IsOwnedByProfile = true "
                        "AND PermissionsApiUserOnly = true")
    return tuple(sorted({_name(r.get("Profile"), "Name") for r in rows} - {""},
                        key=str.casefold))


def integration_usernames(client: Querier) -> tuple[str, ...]:
    """Active users on the "Salesforce Integration" license or on an API-only profile."""
    where = f"Profile.UserLicense.Name = {quote(INTEGRATION_USER_LICENSE)}"
    profiles = api_only_profiles(client)
    if profiles:
        where = f"({where} OR Profile.Name IN {in_list(profiles)})"
    rows = client.query(f"SELECT Username FROM User WHERE IsActive = true AND {where}")
    return tuple(sorted({str(r["Username"]).casefold() for r in rows}))



def integration_candidates(client: Querier) -> Candidates:
    """Active users on the full "Salesforce" license whose profile, permission sets or
    groups say API-only, with the seats free on the integration license and its PSL."""
    full = f"Profile.UserLicense.Name = {quote(FULL_USER_LICENSE)}"
    reasons: dict[str, set[str]] = {}
    people: dict[str, tuple[str, str]] = {}

    def note(user: Mapping[str, Any] | None, reason: str) -> None:
        username = _name(user, "Username").casefold()
        if not username:
            return
        reasons.setdefault(username, set()).add(reason)
        if username not in people:
            name = " ".join(p for p in (_name(user, "FirstName"), _name(user, "LastName")) if p)
            people[username] = (name, _name((user or {}).get("Profile"), "Name"))

    profiles = api_only_profiles(client)
    for row in query_in(client, "SELECT Username, FirstName, LastName, Profile.Name FROM User "
                                f"WHERE IsActive = true AND {full} AND Profile.Name IN {{in}}",
                        profiles):
        note(row, f'profile "{_name(row.get("Profile"), "Name")}" is API-only')

    assignee = ("Assignee.Username, Assignee.FirstName, Assignee.LastName, "
                "Assignee.Profile.Name")
    direct = client.query(
        f"SELECT {assignee}, PermissionSet.Name FROM PermissionSetAssignment WHERE "
        f"Assignee.IsActive = true AND Assignee.{full} AND PermissionSetGroupId = null AND "
        "PermissionSet.IsOwnedByProfile = false AND PermissionSet.PermissionsApiUserOnly = true")
    for row in direct:
        note(row.get("Assignee"),
             f'permission set {_name(row.get("PermissionSet"), "Name")} is API-only')

    components = client.query(
        "SELECT PermissionSetGroup.DeveloperName, PermissionSet.Name FROM "
        "PermissionSetGroupComponent WHERE PermissionSet.PermissionsApiUserOnly = true")
    members: dict[str, set[str]] = {}
    for row in components:
        group = _name(row.get("PermissionSetGroup"), "DeveloperName")
        members.setdefault(group.casefold(), set()).add(_name(row.get("PermissionSet"), "Name"))
    groups = {_name(r.get("PermissionSetGroup"), "DeveloperName") for r in components}
    for row in query_in(client, f"SELECT {assignee}, PermissionSetGroup.DeveloperName FROM "
                           "PermissionSetAssignment WHERE Assignee.IsActive = true AND "
                           f"Assignee.{full} AND PermissionSetGroup.DeveloperName IN {{in}}",
                        groups):
        group = _name(row.get("PermissionSetGroup"), "DeveloperName")
        held = ", ".join(sorted(members.get(group.casefold(), ()), key=str.casefold))
        note(row.get("Assignee"), f"group {group} holds API-only {held}")

    users = tuple(Candidate(username, people[username][0], people[username][1],
                            tuple(sorted(reasons[username])))
                  for username in sorted(reasons))
    return Candidates(users, *integration_seats(client))


def integration_seats(client: Querier) -> tuple[Seats | None, Seats | None]:
    """Seats of the "Salesforce Integration" user license and of the "Salesforce API
    Integration" PSL (None for one the org lacks): two queries."""
    lic_rows = client.query("SELECT Name, TotalLicenses, UsedLicenses FROM UserLicense WHERE "
                            f"Name = {quote(INTEGRATION_USER_LICENSE)}")
    psl_rows = client.query("SELECT MasterLabel, TotalLicenses, UsedLicenses FROM "
                            "PermissionSetLicense WHERE DeveloperName = "
                            f"{quote(INTEGRATION_PSL_DEVELOPER_NAME)}")
    return _seats(lic_rows, "Name"), _seats(psl_rows, "MasterLabel")


def _seats(rows: list[dict[str, Any]], name_field: str) -> Seats | None:
    if not rows:
        return None
    row = rows[0]
    return Seats(str(row[name_field]), int(row.get("TotalLicenses") or 0),
                 int(row.get("UsedLicenses") or 0))

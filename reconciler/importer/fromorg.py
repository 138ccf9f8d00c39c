"""Import from a live org: users, what they hold, and named permission sets.

Two reads with the plan's own reader, so the import sees the org exactly as ``plan``
will: the first finds the users and the sets, groups and PSLs assigned to them; the
second reads the content of every set involved (assigned directly, members of an
assigned group, or named with ``--permission-set``). Profile-owned and group-owned
sets are filtered out by the reader, as they are for plans.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.errors import UsageError
from reconciler.importer.imported import Imported
from reconciler.live import Claims, Querier, is_managed
from reconciler.model import FrozenMap
from reconciler.org.discover import integration_usernames
from reconciler.org.reader import read

__all__ = ["import_from_org"]


def import_from_org(client: Querier, *, org_name: str, usernames: Sequence[str] = (),
                    permission_sets: Sequence[str] = (),
                    integration_users: bool = False) -> Imported:
    """Read the named users (and, with ``integration_users``, every active user on the
    integration license or an API-only profile) and the named sets.

    Raises :class:`UsageError` when nothing is asked for, or a named user or set
    does not exist in the org.
    """
    wanted = {u.strip().casefold() for u in usernames if u.strip()}
    found_by_discovery: set[str] = set()
    if integration_users:
        found_by_discovery = set(integration_usernames(client))
    names = tuple(sorted(wanted | found_by_discovery))
    set_names = tuple(sorted({s.strip() for s in permission_sets if s.strip()},
                             key=str.casefold))
    if not names and not set_names:
        if integration_users:
            raise UsageError(f"org {org_name} has no active integration users (none on the "
                             "Salesforce Integration license or an API-only profile)")
        raise UsageError("nothing to import: name users with --user, sets with "
                         "--permission-set, or use --integration-users")

    first = read(client, Claims(usernames=names, permission_sets=set_names))
    missing_users = sorted(wanted - set(first.state.users))
    known_sets = {s.casefold() for s in first.state.permission_sets}
    missing_sets = [s for s in set_names if s.casefold() not in known_sets]
    if missing_users or missing_sets:
        parts = []
        if missing_users:
            parts.append("no user " + ", ".join(missing_users))
        if missing_sets:
            parts.append("no permission set " + ", ".join(missing_sets))
        raise UsageError(f"org {org_name} has {'; '.join(parts)}")

    groups = sorted({g for u in first.state.users.values() for g in u.permission_set_groups},
                    key=str.casefold)
    held = {s for u in first.state.users.values() for s in u.permission_sets}
    held |= {s for g in groups
             for s in first.state.permission_set_groups[g].permission_sets}
    # A managed package's set is the package's to change: users name it, nobody declares it.
    all_sets = tuple(sorted({*set_names, *(s for s in held if not is_managed(s))},
                            key=str.casefold))
    second = read(client, Claims(usernames=names, permission_sets=all_sets,
                                 groups=tuple(groups)))
    state = second.state
    return Imported(
        source=f"org {org_name}",
        permission_sets=state.permission_sets,
        permission_set_groups=FrozenMap({g: state.permission_set_groups[g] for g in groups}),
        users=state.users,
    )

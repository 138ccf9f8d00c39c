"""Read the org the config claims, then plan: how ``plan``, ``graph``, ``apply`` and
``drift`` all begin.

This is the shell, not the core: reading needs the org client (:mod:`reconciler.org`),
which the core (:mod:`reconciler.plan` and below) never imports. It is a module of its
own rather than part of :mod:`reconciler.apply` because planning without applying
(``plan``, ``graph``, ``drift``) starts the same way and has nothing to do with writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from reconciler import rollback
from reconciler.access import OrgAccess, after_plan
from reconciler.config import Config
from reconciler.errors import PlanRejected, StalePlanError, UsageError
from reconciler.journal import JournalFile, read_journal
from reconciler.live import Live, Querier
from reconciler.org.access_read import read_access
from reconciler.org.connect import open_org
from reconciler.org.reader import read
from reconciler.plan import OrgRef, Plan, RollbackSource, claims_for, plan_from_live
from reconciler.policy import evaluate, policy_of
from reconciler.rollback import Rollback


class OrgReader(Querier, Protocol):
    """The client surface the plan needs: queries plus who and where it is."""

    @property
    def username(self) -> str: ...

    @property
    def org_id(self) -> str: ...

    @property
    def instance_url(self) -> str: ...


def org_ref(client: OrgReader, org_name: str) -> OrgRef:
    """Which org ``client`` is logged in to, as a plan names it."""
    return OrgRef(org_name, client.org_id, client.instance_url, client.username)


def make_plan(config: Config, client: OrgReader, *, org_name: str,
              targets: Sequence[str] = (), excludes: Sequence[str] = (),
              now: datetime | None = None) -> Plan:
    """Read the org and plan what makes it match the config.

    Raises :class:`~reconciler.errors.PlanRejected` with every problem found (each at its
    config line), or :class:`~reconciler.errors.CycleError`.
    """
    claims = claims_for(config)
    live = read(client, claims)
    plan = plan_from_live(config, live, org=org_ref(client, org_name),
                          targets=targets, excludes=excludes, now=now)
    keep_policy(config, client, live, plan, now=now)
    return plan


def keep_policy(config: Config, client: Querier, live: Live, plan: Plan, *,
                now: datetime | None = None) -> None:
    """Refuse (:class:`~reconciler.errors.PlanRejected`, each violation at its config
    line) a plan that would leave the org breaking the config's policy."""
    if config.policies is None:
        return
    after = after_plan(config_users_access(config, client, live=live), plan.actions)
    checked = evaluate(policy_of(config), after, config,
                       (now or datetime.now(UTC)).date(), point="plan")
    if checked.violations:
        raise PlanRejected(checked.problems())


def plan_org(config: Config, org_name: str | None, *, targets: Sequence[str] = (),
             excludes: Sequence[str] = ()) -> Plan:
    """Log in to the org named (default: the config's default org) and plan against it."""
    with open_org(config, org_name) as (org, client):
        return make_plan(config, client, org_name=org.name, targets=targets,
                         excludes=excludes)


def org_access(config: Config, org_name: str | None, usernames: Iterable[str] = (),
               plan: Plan | None = None) -> OrgAccess:
    """Log in to the org named (default: the config's default org) and read effective
    access; with ``plan``, as that saved plan would leave the org (refused for a plan
    made for another org)."""
    with open_org(config, org_name) as (_, client):
        if plan is not None and plan.org.org_id != client.org_id:
            raise UsageError(f"the plan is for org {plan.org.org_id} ({plan.org.name}), "
                             f"not {client.org_id}")
        access = config_users_access(config, client, usernames)
    return access if plan is None else after_plan(access, plan.actions)


def config_users_access(config: Config, client: Querier, usernames: Iterable[str] = (),
                        live: Live | None = None) -> OrgAccess:
    """Effective access of the config's users (and ``usernames``) read from the org, past
    the snapshot ``live`` of what the config claims when it was read already."""
    claims = claims_for(config)
    claims = replace(claims, usernames=tuple(sorted(
        {*claims.usernames, *(u.casefold() for u in usernames)})))
    return read_access(client, claims, {u.profile for u in config.users.values()},
                       config.users, live=live if not usernames else None)


def rollback_journal(source: RollbackSource) -> JournalFile:
    """The journal a rollback plan was made from, refused once its bytes changed."""
    journal, digest = read_journal(Path(source.journal))
    if digest != source.digest:
        raise StalePlanError(f"the journal {source.journal} changed since the rollback plan "
                             "was made; nothing was written. Run `reconciler rollback "
                             f"{source.journal}` again and review the new plan")
    return journal


def read_rollback(client: OrgReader, config: Config, journal: JournalFile, *, org: OrgRef,
                  source: str) -> tuple[Rollback, Live]:
    """Read what a rollback of ``journal`` needs and build it. A second read follows
    when the first shows content its claims did not cover (an object someone has given
    access to since the apply), so the checks can describe it."""
    wanted = rollback.claims(journal)
    for _ in range(3):  # the claims only grow; the second read normally covers all
        live = read(client, wanted)
        built = rollback.build(config, journal, live, org=org, source=source)
        wider = rollback.claims(journal, built.config)
        if wider == wanted:
            break
        wanted = wider
    return built, live


def rollback_org(config: Config, org_name: str | None, journal_path: Path,
                 ) -> tuple[Plan, Rollback]:
    """Log in and plan the rollback of the apply whose journal is at ``journal_path``."""
    journal, digest = read_journal(journal_path)
    source = RollbackSource(str(journal_path), digest)
    with open_org(config, org_name) as (org, client):
        ref = org_ref(client, org.name)
        built, live = read_rollback(client, config, journal, org=ref, source=source.journal)
        return rollback.plan_of(built, config, live, org=ref, source=source), built

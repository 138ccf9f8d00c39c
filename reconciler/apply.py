"""Applying a plan: layer by layer, batched, surviving partial failure, journaled.

Policy: an action that fails skips only the actions that depend on it (directly or
not); independent work goes on. A daily-limit refusal stops the apply cleanly, with
what was done and what was not.

The journal exists before the first write, says which actions are being written
before they are sent, and records their outcomes after, so a process killed at any
moment leaves an account of what it may have done and the values to undo it; a rerun
plans again and finishes the job. A Bulk API 2.0 job the killed apply had closed goes on
in the org, so a rerun that finds the last journal unfinished first waits for the
running user's unfinished ingest jobs, then reads: the job id needn't be journaled, and
what the job wrote is read like anything else. No journal, no writes: an apply whose journal can't
be written stops. One apply per org at a time (:func:`apply_lock`).

:func:`apply_config` is the whole workflow of ``reconciler apply``: read, check the
plan (fresh, the proof, no self-harm), write, read again. What it shows and asks on the
way it leaves to its caller (:class:`ApplyConsole`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from reconciler import actions as a
from reconciler import rollback
from reconciler.checks import self_harm
from reconciler.config import Config
from reconciler.errors import OrgError, PlanError, ReconcilerError, StalePlanError
from reconciler.files import FileLock
from reconciler.journal import EntryText, JournalFile, JournalOrg, journal_text, replaced_text
from reconciler.live import Claims, Live
from reconciler.model import PermissionSet, to_jsonable
from reconciler.org.bulk import wait_for_jobs
from reconciler.org.client import OrgClient
from reconciler.org.connect import data_dir_for, open_org
from reconciler.org.reader import read
from reconciler.org.writer import GROUP_WAIT_SECONDS, Outcome, Writer
from reconciler.plan import Plan, claims_for, fingerprint, load_plan, moved, plan_from_live
from reconciler.private_files import write_private
from reconciler.proof import check_proof
from reconciler.workflow import keep_policy, org_ref, read_rollback, rollback_journal

Progress = Callable[[int, int, str], None]


@dataclass
class ApplyResult:
    """What an apply did: per action, and in total."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # action id → the failure it waited on
    not_attempted: list[str] = field(default_factory=list)
    write_calls: int = 0
    records_written: int = 0
    status_polls: int = 0  # queries of permission set groups' recalculation Status
    stopped: str = ""
    journal: Path | None = None

    def ids(self, status: str) -> list[str]:
        return [k for k, o in self.outcomes.items() if o.status == status]

    @property
    def ok(self) -> bool:
        return not (self.ids("failed") or self.ids("unknown") or self.skipped
                    or self.not_attempted or self.stopped)


def check_fresh(plan: Plan, *, config_digest: str, org_id: str,
                fingerprint_now: Mapping[str, str]) -> None:
    """Refuse a plan made for another org, another config, or an org that moved since."""
    again = ("rollback " + plan.rollback_of.journal if plan.rollback_of is not None
             else "plan")
    if plan.org.org_id != org_id:
        raise StalePlanError(f"the plan was made for org {plan.org.org_id} "
                             f"({plan.org.instance_url}), not this org ({org_id})")
    if plan.config_digest != config_digest:
        raise StalePlanError("the config changed since the plan was made; run `reconciler "
                             f"{again}` again and apply the new plan")
    changed = moved(plan.fingerprint, fingerprint_now)
    if changed:
        raise StalePlanError(
            "the org changed since the plan was made (" + ", ".join(changed[:10])
            + (f" and {len(changed) - 10} more" if len(changed) > 10 else "")
            + f"); nothing was written. Run `reconciler {again}` again and review the new plan")


def refuse_self_harm(plan: Plan, running_user: str) -> None:
    """Never deactivate or take access from the user the reconciler runs as (a saved
    plan may have been made by another user than the one applying it)."""
    harm = self_harm(plan.actions, running_user)
    if harm:
        raise PlanError(harm[0][1])


def apply_lock(config: Config, org_name: str | None) -> FileLock:
    """The org's apply lock under ``.reconciler/<org>/``, as drift's: two applies at once
    would both write the same records and fail each other half-way."""
    org = config.org(org_name)
    return FileLock(data_dir_for(config, org) / "apply.lock",
                    f"apply for org {org.name} is already running")


class ApplyConsole(Protocol):
    """Where the apply workflow shows and asks, at the moments it must."""

    def planned(self, plan: Plan) -> None:
        """Show a plan made now (no plan file), before anything else."""

    def confirm(self, plan: Plan) -> None:
        """Ask before applying a plan made now; raise to cancel."""

    def progress(self, total: int) -> Progress:
        """Where the apply of ``total`` actions reports its progress."""

    def applied(self, plan: Plan, result: ApplyResult) -> None:
        """Report what the apply did, before the org is read again."""


@dataclass(frozen=True)
class Applied:
    """The end of an apply: the plan carried out, what it did, and what is left."""

    plan: Plan
    result: ApplyResult
    #: The plan the org, read again after the writes, gives: empty when it converged.
    after: Plan


def apply_config(config: Config, org_name: str | None, console: ApplyConsole, *,
                 plan_file: Path | None = None, group_wait: float | None = None,
                 ) -> Applied | None:
    """Apply the saved plan in ``plan_file`` (refused when stale or not the plan the
    config and the org give now), or plan now and ask first; then read the org again.
    None when there is nothing to apply.

    Holds the org's apply lock throughout; the journal goes beside the plan file (else
    under ``plans/``). ``group_wait``: seconds to wait for a changed group to be
    recalculated (default :data:`~reconciler.org.writer.GROUP_WAIT_SECONDS`).
    """
    saved = load_plan(plan_file) if plan_file is not None else None
    plans_dir = plan_file.parent if plan_file is not None else Path("plans")
    with apply_lock(config, org_name), open_org(config, org_name) as (org, client):
        ref = org_ref(client, org.name)
        if _killed_before(plans_dir, org.name):
            # Its Bulk API job may still be running in the org: read once it has finished.
            wait_for_jobs(client)
        digest = config.digest
        undone = None
        if saved is not None and saved.rollback_of is not None:
            # A rollback plan is proved against the journal it was made from, as an
            # ordinary one against the config: the config it is planned from is rebuilt.
            undone = rollback_journal(saved.rollback_of)
            built, live = read_rollback(client, config, undone, org=ref,
                                        source=saved.rollback_of.journal)
            config = built.config
        else:
            live = read(client, claims_for(config))
        if saved is not None:
            check_fresh(saved, config_digest=digest, org_id=client.org_id,
                        fingerprint_now=fingerprint(config, live))
            check_proof(saved, config, live, ref)
            todo = saved
        else:
            todo = plan_from_live(config, live, org=ref)
            console.planned(todo)
        if todo.empty:
            return None
        # A plan saved before the policy changed, or made just now, must keep it too.
        keep_policy(config, client, live, todo)
        refuse_self_harm(todo, client.username)
        if saved is None:
            console.confirm(todo)
        journal = journal_path_for(plans_dir, org.name)
        writer = Writer(client, live, group_wait=GROUP_WAIT_SECONDS if group_wait is None
                        else group_wait)
        result = apply_plan(todo, writer, live, journal_path=journal,
                            progress=console.progress(len(todo.actions)),
                            deleted=_doomed_sets(client, todo))
        console.applied(todo, result)
        claims = claims_for(config) if undone is None else rollback.claims(undone, config)
        after = plan_from_live(config, read(client, claims), org=ref,
                               targets=todo.targets, excludes=todo.excludes)
    return Applied(todo, result, after)


def _doomed_sets(client: OrgClient, plan: Plan) -> Mapping[str, PermissionSet]:
    """The whole content of the sets ``plan`` deletes: a plan reads no field or
    setup-entity access of a set it only deletes, and the journal keeps what a rollback
    needs to create the set again as it was."""
    names = sorted(x.name for x in plan.actions if isinstance(x, a.DeletePermissionSet))
    if not names:
        return {}
    return read(client, Claims(usernames=(), permission_sets=tuple(names))).state.permission_sets


# long: one loop over layers and their phases, the journal written around each.
def apply_plan(plan: Plan, writer: Writer, live: Live, *, journal_path: Path,
               progress: Progress | None = None,
               deleted: Mapping[str, PermissionSet] | None = None) -> ApplyResult:
    """Run ``plan`` with ``writer``, journaled at ``journal_path`` (raises
    :class:`JournalError`, having written nothing, when the journal can't be made) with
    ``deleted``, the whole content of the sets the plan deletes.

    An assignment of a permission set group whose content this apply changed, or that
    the org was recalculating when read, waits until the group is Updated (see
    :meth:`Writer.wait_for_groups`); a group that fails or takes too long fails those
    assignments, and only what depends on them is skipped.
    """
    result = ApplyResult(journal=journal_path)
    # First written with the first batch's intent: before any write, or not at all.
    journal = _Journal(journal_path, plan, live, deleted or {})
    blocked: dict[str, str] = {}
    # Casefolded groups not known to be Updated: found so, or changed by this apply.
    recalculating = {g for g, status in live.group_status.items()
                     if status not in ("Updated", "")}
    holders = _holders(live)
    layers = plan.layer_actions()
    done = 0
    total = len(plan.actions)
    for index, layer in enumerate(layers):
        runnable = _runnable(layer, plan, blocked, result)
        for phase, after_recalculation in _phases(runnable, holders, recalculating):
            if result.stopped:
                result.not_attempted += [x.id for x in phase]
                continue
            outcomes: dict[str, Outcome] = {}
            try:
                journal.write(result, writer, writing=[x.id for x in phase])
                if after_recalculation and progress is not None:
                    progress(done, total, "waiting for permission set groups to recalculate")
                _run_phase(writer, phase, after_recalculation, recalculating, outcomes)
            except (OrgError, JournalError) as exc:
                if not journal.written:
                    raise  # the journal can't be made: nothing was written
                # The daily limit, a refused login: nothing more can run. A journal that
                # can't be written: nothing more may (a write must leave a record).
                result.stopped = str(exc)
                result.outcomes.update(outcomes)  # what the phase did before it stopped
                result.not_attempted += [x.id for x in phase if x.id not in outcomes]
                continue
            result.outcomes.update(outcomes)
            for action in phase:
                if outcomes[action.id].status == "applied":
                    recalculating |= _recalculated(action, holders)
                else:
                    blocked[action.id] = action.id
        if result.stopped and not any(x.id in result.outcomes for x in runnable):
            continue
        done += len(layer)
        # The layer's outcomes reach the journal with the next phase's intent, or with
        # the end: nothing is written in between (102,700 entries are 50 MB a rewrite).
        if progress is not None:
            progress(done, total, f"layer {index + 1}/{len(layers)}")
    result.write_calls = writer.write_calls
    result.records_written = writer.records_written
    result.status_polls = writer.status_polls
    try:
        journal.write(result, writer, finished=True)
    except JournalError as exc:
        if not journal.written:
            raise
        result.stopped = result.stopped or str(exc)
    return result


def _runnable(layer: list[a.Action], plan: Plan, blocked: dict[str, str],
              result: ApplyResult) -> list[a.Action]:
    """The actions of ``layer`` nothing they depend on failed for; the others are
    skipped, and block what depends on them in turn."""
    if not blocked:
        return list(layer)
    runnable = []
    for action in layer:
        waits = [d for d in plan.depends_on.get(action.id, ()) if d in blocked]
        if waits:
            result.skipped[action.id] = waits[0]
            blocked[action.id] = waits[0]
        else:
            runnable.append(action)
    return runnable


# Writes after which Salesforce recalculates the groups holding the set they touch
# [doc: Help "Permission Set Group Considerations": adding, removing or editing a set in
# a group recalculates it].
_SET_CHANGES = (a.UpdatePermissionSet, a.SetSystemPermissions, a.GrantObjectAccess,
                a.ChangeObjectAccess, a.RevokeObjectAccess, a.GrantFieldAccess,
                a.ChangeFieldAccess, a.RevokeFieldAccess, a.GrantSetupEntityAccess,
                a.RevokeSetupEntityAccess)


def _holders(live: Live) -> dict[str, set[str]]:
    """Casefolded set name → the casefolded groups holding it, worked out once: every
    action of a layer asks."""
    out: dict[str, set[str]] = {}
    for group, (_, members) in live.groups.items():
        for member in members:
            out.setdefault(member.casefold(), set()).add(group)
    return out


def _recalculated(action: a.Action, holders: Mapping[str, set[str]]) -> set[str]:
    """Casefolded names of the groups the org recalculates once ``action`` is applied
    (``holders`` from :func:`_holders`)."""
    if isinstance(action, a.AddGroupComponent | a.RemoveGroupComponent):
        return {action.group.casefold()}
    if holders and isinstance(action, _SET_CHANGES):
        name = (action.name if isinstance(action, a.UpdatePermissionSet | a.SetSystemPermissions)
                else action.permission_set).casefold()
        return holders.get(name, set())
    return set()


def _phases(layer: list[a.Action], holders: Mapping[str, set[str]], recalculating: set[str],
            ) -> list[tuple[list[a.Action], bool]]:
    """The layer, with assignments of groups changed so far or in this layer put off
    until after the rest (True: wait for the recalculation first)."""
    touched = recalculating | {g for x in layer for g in _recalculated(x, holders)}
    later: list[a.Action] = [x for x in layer if isinstance(x, a.AssignGroup)
                             and x.target.casefold() in touched]
    put_off = {x.id for x in later}
    first = [x for x in layer if x.id not in put_off]
    return [(phase, wait) for phase, wait in ((first, False), (later, True)) if phase]


def _run_phase(writer: Writer, phase: list[a.Action], after_recalculation: bool,
               recalculating: set[str], outcomes: dict[str, Outcome]) -> None:
    """Write ``phase``, its outcomes recorded in ``outcomes`` as each is known."""
    if not after_recalculation:
        writer.run_layer(phase, outcomes)
        return
    targets = [x.target for x in phase if isinstance(x, a.AssignGroup)
               and x.target.casefold() in recalculating]
    why = {name.casefold(): reason
           for name, reason in (writer.wait_for_groups(targets) if targets else {}).items()}
    refused = {x.id: Outcome("failed", why[x.target.casefold()]) for x in phase
               if isinstance(x, a.AssignGroup) and x.target.casefold() in why}
    outcomes.update(refused)
    writer.run_layer([x for x in phase if x.id not in refused], outcomes)


class JournalError(ReconcilerError):
    """The apply journal can't be written: no write may go out unrecorded."""


class _Journal:
    """The apply's account, next to the plan: each action, its result, created Ids and
    the values it replaced. No secrets: plans and live state hold none. Mode 0600: it
    describes access."""

    def __init__(self, path: Path, plan: Plan, live: Live,
                 deleted: Mapping[str, PermissionSet]) -> None:
        self.path = path
        self.plan = plan
        self.started = _now()
        replaced = _replaced_values(live)
        replaced |= {f"permission_sets.{name}": to_jsonable(ps) for name, ps in deleted.items()}
        # What no step changes is serialised once: the journal is rewritten at each step.
        self.replaced = replaced_text(replaced)
        self.entries = [(action.id, EntryText(action.id, action)) for action in plan.actions]
        self.written = False

    def write(self, result: ApplyResult, writer: Writer, *, finished: bool = False,
              writing: list[str] | None = None) -> None:
        """Replace the journal with the state of ``result``; ``writing`` are the actions
        about to be sent. Raises :class:`JournalError` when it can't be written."""
        sending = set(writing or ())
        not_attempted = set(result.not_attempted)
        org = self.plan.org
        head = JournalFile(
            org=JournalOrg(name=org.name, org_id=org.org_id, instance_url=org.instance_url),
            plan_created_at=self.plan.created_at, config_digest=self.plan.config_digest,
            started_at=self.started, finished_at=_now() if finished else None,
            stopped=result.stopped or None, write_calls=writer.write_calls,
            records_written=writer.records_written, status_polls=writer.status_polls,
            actions=[], replaced={})
        entries = [_entry(action_id, entry, result, sending, not_attempted)
                   for action_id, entry in self.entries]
        try:
            # Indented as json.dumps(indent=2) would, but each entry on one line.
            write_private(self.path, journal_text(head, entries, self.replaced))
            self.written = True
        except OSError as exc:
            raise JournalError(f"can't write the apply journal {self.path}: "
                                  f"{exc.strerror or exc}") from None


def _entry(action_id: str, entry: EntryText, result: ApplyResult, sending: set[str],
           not_attempted: set[str]) -> str:
    outcome = result.outcomes.get(action_id)
    if outcome is not None:
        return entry.text(outcome.status, error=outcome.error or None,
                          record_id=outcome.record_id, note=outcome.note or None)
    if action_id in result.skipped:
        return entry.text("skipped", waited_on=result.skipped[action_id])
    if action_id in not_attempted:
        return entry.text("not_attempted")
    return entry.text("writing" if action_id in sending else "pending")


def _replaced_values(live: Live) -> dict[str, Any]:
    """The live state the journal keeps for undo, by resource address."""
    out: dict[str, Any] = {}
    for name, ps in live.state.permission_sets.items():
        out[f"permission_sets.{name}"] = to_jsonable(ps)
    for name, group in live.state.permission_set_groups.items():
        out[f"permission_set_groups.{name}"] = to_jsonable(group)
    for username, user in live.state.users.items():
        out[f"users:{username}"] = to_jsonable(user)
    return out


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _killed_before(plans_dir: Path, org: str) -> bool:
    """Whether the newest apply journal of ``org`` never finished: that apply was killed,
    and a Bulk API 2.0 job it closed goes on in the org without it."""
    found = sorted(plans_dir.glob(f"{org}.apply-*.json"))
    try:
        data = json.loads(found[-1].read_text()) if found else None
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("finished_at") is None


def journal_path_for(plans_dir: Path, org: str) -> Path:
    """``plans/<org>.apply-<UTC time>.json``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return plans_dir / f"{org}.apply-{stamp}.json"

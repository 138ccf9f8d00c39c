"""Writing to the org: actions → records → sObject Collections calls → outcomes.

The only code that writes. A layer of independent actions becomes, per sObject and
operation, a group of records (several actions on one record in one layer merge into
one record), written by the transport the group's size picks from
``actions.TRANSPORTS``: sObject Collections calls of at most 200 records, composite
calls carrying five of them (``allOrNone=false`` throughout), or Bulk API 2.0 ingest jobs
of at most the bulk row's ``per_chunk`` records (:mod:`reconciler.org.bulk`), as few and
as even as can be. Every job of a layer is submitted before the first is waited on, each
job's records made just before it is sent; then the jobs are waited on in turn, and each
one's results are read while the org goes on with the later ones. Whatever the
transport, every per-record result is read by one loop:

- success, or a create answered ``DUPLICATE_VALUE`` for an assignment that is already
  there, or a delete of a record that is already gone: the action is done;
- a create of an object or field permission row answered ``DUPLICATE_VALUE`` (another
  writer made the row since the org was read): the row is found and updated instead;
- ``UNABLE_TO_LOCK_ROW`` on a record: that record is sent again (with backoff);
- anything else: the action failed, with Salesforce's code and message.

References to records created earlier in the same apply are resolved from the Ids
their creates returned; everything else from the fresh read the apply started with.
A permission set group the org is recalculating can't be assigned yet:
:meth:`Writer.wait_for_groups` polls until it is Updated, bounded in time.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any, TypeVar

from reconciler import actions as a
from reconciler.errors import ApiError, ConnectionFailed, OrgError, RequestLimitError
from reconciler.live import Live, entity_key, record_key
from reconciler.org import bulk
from reconciler.org.client import OrgClient
from reconciler.org.reader import FIELD_FIELDS, OBJECT_FIELDS, SYSTEM_PREFIX
from reconciler.org.soql import chunked_in
from reconciler.trail import USER_FIELDS

# Per-record answers that mean "already as wanted".
_ALREADY_THERE = frozenset({"DUPLICATE_VALUE"})
_ALREADY_GONE = frozenset({"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"})
_TRANSIENT = frozenset({"UNABLE_TO_LOCK_ROW"})
# Permission rows, by the field that (with ParentId) makes their natural key: a create
# answered DUPLICATE_VALUE updates the row that is there instead.
_ROW_KEYS = {"ObjectPermissions": "SobjectType", "FieldPermissions": "Field"}
# Per-record answers that mean the running user may not make this write.
_NOT_ALLOWED = frozenset({"INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS",
                          "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"})
#: How long apply waits, by default, for a changed permission set group to be
#: recalculated before assigning it (large groups take minutes in real orgs).
GROUP_WAIT_SECONDS = 300.0
# Polls of a group's Status start this far apart and double up to the cap.
_FIRST_POLL, _MAX_POLL = 0.2, 5.0
_ASSIGNMENTS = (a.AssignPermissionSet, a.AssignGroup, a.AssignPermissionSetLicense,
                a.AddGroupComponent)
# A SetupEntityAccess row holds nothing but its two ends: one already there is as wanted.
_ACCESS_ROWS = (a.GrantSetupEntityAccess,)
# A record on its way: its key, the actions it carries, what is sent.
_Pending = tuple[str, list[a.Action], Any]
_METHOD = {"create": "POST", "update": "PATCH", "delete": "DELETE"}
_T = TypeVar("_T")


@dataclass(frozen=True)
class Outcome:
    """What happened to one action."""

    status: str  # "applied" | "failed" | "unknown"
    error: str = ""
    record_id: str | None = None
    note: str = ""


class Unresolved(Exception):
    """A record an action refers to has no Id (its create failed or never ran)."""


class Writer:
    """Applies layers of actions to one org, remembering the Ids it creates."""

    def __init__(self, client: OrgClient, live: Live, *, max_record_retries: int = 3,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None,
                 group_wait: float = GROUP_WAIT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.live = live
        self.ids: dict[str, str] = dict(live.ids)
        self.max_record_retries = max_record_retries
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.group_wait = group_wait
        self.clock = clock
        self.write_calls = 0
        #: :attr:`write_calls` by transport (the names of ``actions.TRANSPORTS``).
        self.calls_by_transport: Counter[str] = Counter()
        self.records_written = 0
        self.status_polls = 0
        # The layer's ingest jobs the org was given and not yet waited to the end, by Id.
        self._in_flight: dict[str, list[_Pending]] = {}

    # -- Id resolution ------------------------------------------------------------------

    def _id(self, kind: str, *parts: str) -> str:
        found = self.ids.get(record_key(kind, *parts))
        if found is None:
            raise Unresolved(f"no Id for {kind} {'/'.join(parts)} (was it created?)")
        return found

    def _license_id(self, name: str | None) -> str | None:
        if name is None:
            return None
        lic = self.live.psls.get(name.casefold()) or self.live.user_licenses.get(name.casefold())
        if lic is None:
            raise Unresolved(f"no license named {name!r} in the org")
        return lic.id

    def _entity_id(self, entity_type: str, name: str) -> str:
        found = self.live.setup_entities.get(entity_key(entity_type, name))
        if found is None:
            raise Unresolved(f"no {entity_type} named {name!r} in the org")
        return found.id

    def _profile_id(self, name: str) -> str:
        found = self.live.profile_ids.get(name.casefold())
        if found is None:
            raise Unresolved(f"no profile named {name!r} in the org")
        return found

    # -- actions → record values --------------------------------------------------------

    def values(self, action: a.Action) -> dict[str, Any]:
        """The fields one action writes (without Id for updates; the caller adds it)."""
        if isinstance(action, a.CreatePermissionSet):
            out: dict[str, Any] = {"Name": action.name, "Label": action.label,
                                   "Description": action.description or None}
            if action.license:
                out["LicenseId"] = self._license_id(action.license)
            out.update({SYSTEM_PREFIX + p: True for p in action.system_permissions})
            return out
        if isinstance(action, a.UpdatePermissionSet):
            names = {"label": "Label", "description": "Description"}
            return {names[k]: v for k, v in action.after}
        if isinstance(action, a.SetSystemPermissions):
            return {**{SYSTEM_PREFIX + p: True for p in action.enable},
                    **{SYSTEM_PREFIX + p: False for p in action.disable}}
        if isinstance(action, a.GrantObjectAccess):
            return {"ParentId": self._id("set", action.permission_set),
                    "SobjectType": action.sobject,
                    **{f: w in action.after for w, f in OBJECT_FIELDS.items()}}
        if isinstance(action, a.ChangeObjectAccess):
            return {f: w in action.after for w, f in OBJECT_FIELDS.items()}
        if isinstance(action, a.GrantFieldAccess):
            return {"ParentId": self._id("set", action.permission_set),
                    "SobjectType": action.field.partition(".")[0], "Field": action.field,
                    **{f: w in action.after for w, f in FIELD_FIELDS.items()}}
        if isinstance(action, a.ChangeFieldAccess):
            return {f: w in action.after for w, f in FIELD_FIELDS.items()}
        if isinstance(action, a.GrantSetupEntityAccess):
            return {"ParentId": self._id("set", action.permission_set),
                    "SetupEntityId": self._entity_id(action.entity_type, action.entity)}
        if isinstance(action, a.CreateGroup):
            return {"DeveloperName": action.name, "MasterLabel": action.label,
                    "Description": action.description or None}
        if isinstance(action, a.UpdateGroup):
            names = {"label": "MasterLabel", "description": "Description"}
            return {names[k]: v for k, v in action.after}
        if isinstance(action, a.AddGroupComponent):
            return {"PermissionSetGroupId": self._id("group", action.group),
                    "PermissionSetId": self._id("set", action.permission_set)}
        if isinstance(action, a.CreateUser):
            attrs = dict(action.attributes)
            return {"Username": action.username, "ProfileId": self._profile_id(action.profile),
                    "IsActive": action.active,
                    **{USER_FIELDS[k]: v or None for k, v in attrs.items()}}
        if isinstance(action, a.UpdateUser):
            return {USER_FIELDS[k]: v or None for k, v in action.after}
        if isinstance(action, a.ChangeUserProfile):
            return {"ProfileId": self._profile_id(action.after)}
        if isinstance(action, a.DeactivateUser | a.ReactivateUser):
            return {"IsActive": isinstance(action, a.ReactivateUser)}
        if isinstance(action, a.AssignPermissionSetLicense):
            return {"AssigneeId": self._id("user", action.username),
                    "PermissionSetLicenseId": self._license_id(action.target)}
        if isinstance(action, a.AssignPermissionSet):
            return {"AssigneeId": self._id("user", action.username),
                    "PermissionSetId": self._id("set", action.target)}
        if isinstance(action, a.AssignGroup):
            return {"AssigneeId": self._id("user", action.username),
                    "PermissionSetGroupId": self._id("group", action.target)}
        raise TypeError(f"{action.kind} writes no field values")

    # -- running a layer ----------------------------------------------------------------

    def run_layer(self, layer: Sequence[a.Action],
                  outcomes: dict[str, Outcome] | None = None) -> dict[str, Outcome]:
        """Apply one layer; an outcome for every action in it, recorded in ``outcomes``
        (a new dict when None) as each is known.

        The layer's groups (one per sObject and operation) are written in turn, but the
        Bulk API 2.0 jobs of all of them are submitted first, before any is waited on:
        a layer's actions don't depend on each other, and the org works through the
        later jobs while the client reads the earlier ones' results.

        Raises :class:`~reconciler.errors.RequestLimitError` (and other client errors
        that end the apply) with ``outcomes`` holding what was known by then: the
        records of the jobs the org was given and had not finished are ``unknown`` (it
        goes on with them); the caller treats the actions without an outcome as not
        attempted.
        """
        outcomes = {} if outcomes is None else outcomes
        groups: dict[tuple[str, str], dict[str, list[a.Action]]] = {}
        for action in layer:
            write = (action.writes.sobject, action.writes.operation)
            groups.setdefault(write, {}).setdefault(action.record, []).append(action)
        self._in_flight = {}
        try:
            started = [(sobject, operation, self._answers(
                sobject, operation, len(by_record),
                self._pending(sobject, operation, by_record.items(), outcomes), outcomes))
                for (sobject, operation), by_record in sorted(groups.items())]
            for sobject, operation, answers in started:
                self._send(sobject, operation, answers, outcomes)
        except OrgError as exc:
            for job_id, part in self._in_flight.items():
                why = (f"the apply stopped ({exc}) while the org ran Bulk API 2.0 job "
                       f"{job_id}, which goes on without it: the next plan shows what it wrote")
                outcomes.update({x.id: Outcome("unknown", why) for _, group, _ in part
                                 for x in group})
            raise
        return outcomes

    def _pending(self, sobject: str, operation: str,
                 entries: Iterable[tuple[str, list[a.Action]]],
                 outcomes: dict[str, Outcome]) -> Iterator[_Pending]:
        """The records to send, each made when it is taken (so a bulk group's next chunk
        is made while the org works on the last); an action whose record can't be made,
        or needn't be, gets its outcome here."""
        for key, group in entries:
            try:
                payload = self._payload(sobject, operation, key, group)
            except Unresolved as exc:
                outcomes.update({x.id: Outcome("failed", str(exc)) for x in group})
                continue
            if payload is None:  # a delete of a record the org no longer has
                outcomes.update({x.id: Outcome("applied", note="already gone") for x in group})
                continue
            yield key, group, payload

    def _answers(self, sobject: str, operation: str, records: int,
                 pending: Iterable[_Pending], outcomes: dict[str, Outcome],
                 ) -> Iterator[tuple[_Pending, dict[str, Any]]]:
        """Each record sent with its result, by the transport that ``records`` (how many
        there are, or at most) picks from ``actions.TRANSPORTS``, chunk by chunk. Bulk
        chunks are all submitted before this returns and collected as their results are
        read; other chunks are sent as theirs are. A chunk whose call dropped or was
        refused as a whole records its outcomes here and is left out."""
        transport = a.transport_for(records)
        if transport.name != "bulk":
            return self._sent(transport.name, sobject, operation,
                              _chunks(pending, transport.per_chunk), outcomes)
        # As many jobs as the cost line counts, as even as can be: jobs of 15,001 and
        # 15,000 records overlap where one of 30,000 and one of a single record don't.
        even = math.ceil(records / math.ceil(records / transport.per_chunk))
        submitted: list[tuple[list[_Pending], bulk.IngestJob, str]] = []
        for chunk in _chunks(pending, even):
            start = 0
            for job in bulk.jobs(self.client, sobject, operation, [p for _, _, p in chunk]):
                part, start = chunk[start:start + len(job)], start + len(job)
                job_id = self._attempt("bulk", part, outcomes, job.submit)
                if job_id is not None:
                    submitted.append((part, job, job_id))
                    self._in_flight[job_id] = part
        return self._collected(submitted, outcomes)

    def _sent(self, name: str, sobject: str, operation: str,
              chunks: Iterator[list[_Pending]], outcomes: dict[str, Outcome],
              ) -> Iterator[tuple[_Pending, dict[str, Any]]]:
        """Each chunk in one call (collections) or one composite call carrying them."""
        send = self.client.composite_collections if name == "composite" else self.client.collection
        for chunk in chunks:
            results = self._attempt(name, chunk, outcomes, partial(
                send, _METHOD[operation], [p for _, _, p in chunk]))
            if results is not None:
                yield from zip(chunk, results, strict=True)

    def _collected(self, submitted: list[tuple[list[_Pending], bulk.IngestJob, str]],
                   outcomes: dict[str, Outcome],
                   ) -> Iterator[tuple[_Pending, dict[str, Any]]]:
        """The submitted jobs' results, each job waited for in turn."""
        for part, job, job_id in submitted:
            results = self._attempt("bulk", part, outcomes, partial(
                job.collect, sleep=self.sleep, clock=self.clock))
            del self._in_flight[job_id]
            if results is not None:
                yield from zip(part, results, strict=True)

    def _attempt(self, transport: str, chunk: list[_Pending], outcomes: dict[str, Outcome],
                 call: Callable[[], _T]) -> _T | None:
        """What ``call`` (for the records of ``chunk``) answers, its calls counted; None
        when it dropped (the chunk's outcomes unknown) or was refused as a whole (all
        failed the same way), the outcomes recorded here."""
        before = self.client.calls
        try:
            return call()
        except ConnectionFailed as exc:
            outcomes.update({x.id: Outcome("unknown", str(exc))
                             for _, group, _ in chunk for x in group})
        except RequestLimitError:
            raise
        except ApiError as exc:
            outcomes.update({x.id: Outcome("failed", str(exc))
                             for _, group, _ in chunk for x in group})
        finally:
            # The calls the client made, a job's polls included.
            self.write_calls += self.client.calls - before
            self.calls_by_transport[transport] += self.client.calls - before
        return None

    def _send(self, sobject: str, operation: str,
              answers: Iterator[tuple[_Pending, dict[str, Any]]],
              outcomes: dict[str, Outcome]) -> None:
        """Read every record's result, resending those the org couldn't lock; record
        every outcome. One loop reads the per-record results of every transport."""
        taken: list[_Pending] = []
        attempt = 0
        while True:
            retry: list[_Pending] = []
            for (key, group, payload), result in answers:
                errors = result.get("errors") or []
                codes = {str(e.get("statusCode")) for e in errors}
                if result.get("success"):
                    self.records_written += 1
                    if operation == "create" and result.get("id"):
                        self.ids[key] = str(result["id"])
                    if operation == "delete":
                        self.ids.pop(key, None)
                    outcomes.update({x.id: Outcome("applied", record_id=result.get("id"))
                                     for x in group})
                elif codes & _TRANSIENT and attempt < self.max_record_retries:
                    retry.append((key, group, payload))
                elif operation == "create" and codes & _ALREADY_THERE and isinstance(
                        group[0], _ASSIGNMENTS + _ACCESS_ROWS):
                    note = ("already there" if isinstance(group[0], _ACCESS_ROWS)
                            else "already assigned")
                    outcomes.update({x.id: Outcome("applied", note=note) for x in group})
                elif operation == "create" and codes & _ALREADY_THERE and sobject in _ROW_KEYS:
                    taken.append((key, group, payload))
                elif operation == "delete" and codes & _ALREADY_GONE:
                    self.ids.pop(key, None)
                    outcomes.update({x.id: Outcome("applied", note="already gone")
                                     for x in group})
                else:
                    message = "; ".join(f"{e.get('statusCode')}: {e.get('message')}"
                                        for e in errors) or "failed without an error message"
                    if codes & _NOT_ALLOWED:
                        message += self._not_allowed(sobject, operation)
                    outcomes.update({x.id: Outcome("failed", message) for x in group})
            if not retry:
                break
            attempt += 1
            self.sleep(self.rng.uniform(0, 0.5 * 2 ** attempt))
            answers = self._answers(sobject, operation, len(retry), retry, outcomes)
        if taken:
            self._overwrite(sobject, taken, outcomes)

    def _overwrite(self, sobject: str, taken: list[_Pending],
                   outcomes: dict[str, Outcome]) -> None:
        """Permission rows another writer created since the org was read (a concurrent
        apply, or the write a killed one left in flight): find each by its natural key
        and set it to what the config wants, in one more query and one more call."""
        column = _ROW_KEYS[sobject]
        found: dict[tuple[str, str], str] = {}
        for soql in chunked_in(f"SELECT Id, ParentId, {column} FROM {sobject} "
                               "WHERE ParentId IN {in}",
                               sorted({str(p["ParentId"]) for _, _, p in taken})):
            found.update({(str(r["ParentId"]), str(r[column]).casefold()): str(r["Id"])
                          for r in self.client.query(soql)})
        updates = []
        for key, group, payload in taken:
            record_id = found.get((str(payload["ParentId"]), str(payload[column]).casefold()))
            if record_id is None:
                outcomes.update({x.id: Outcome(
                    "failed", f"DUPLICATE_VALUE: the org says {key} exists, but no such row "
                              "could be read") for x in group})
                continue
            self.ids[key] = record_id
            flags = {k: v for k, v in payload.items() if k.startswith(SYSTEM_PREFIX)}
            updates.append((key, group, {"attributes": {"type": sobject}, "Id": record_id,
                                         **flags}))
        self._send(sobject, "update",
                   self._answers(sobject, "update", len(updates), updates, outcomes), outcomes)

    def _not_allowed(self, sobject: str, operation: str) -> str:
        # Orgs don't say which permission is missing; say who was refused what.
        return (f" (the org refused the running user {self.client.username} the right to "
                f"{operation} {sobject} records: it lacks a permission this write needs; "
                "`reconciler doctor` checks them all)")

    # -- permission set group recalculation -------------------------------------------

    def wait_for_groups(self, names: Collection[str]) -> dict[str, str]:
        """Wait, at most :attr:`group_wait` seconds, until every named group's Status is
        Updated; for each group that isn't, why (its recalculation failed, it is gone,
        or the time ran out). Each poll is one query, counted in :attr:`status_polls`.
        """
        waiting = {n.casefold(): n for n in names}
        problems: dict[str, str] = {}
        deadline = self.clock() + self.group_wait
        pause = _FIRST_POLL
        while waiting:
            status = {}
            for soql in chunked_in("SELECT DeveloperName, Status FROM PermissionSetGroup "
                                   "WHERE DeveloperName IN {in}", sorted(waiting.values())):
                self.status_polls += 1
                # A group without a Status (none in the answer) has nothing to wait for.
                status.update({str(r["DeveloperName"]).casefold(): str(r.get("Status")
                                                                       or "Updated")
                               for r in self.client.query(soql)})
            for key, name in list(waiting.items()):
                got = status.get(key)
                if got == "Updated":
                    del waiting[key]
                elif got == "Failed":
                    problems[name] = (
                        f"the org's recalculation of permission set group {name} failed "
                        "(Status Failed), so it can't be assigned; fix the group in Setup "
                        "(Permission Set Groups) and run apply again")
                    del waiting[key]
                elif got is None:
                    problems[name] = f"permission set group {name} is not in the org"
                    del waiting[key]
            if not waiting:
                break
            if self.clock() + pause > deadline:
                for name in waiting.values():
                    problems[name] = (
                        f"permission set group {name} was still being recalculated (Status "
                        f"{status.get(name.casefold())}) after {self.group_wait:g} s; it was "
                        "not assigned: run apply again once it is Updated, or wait longer "
                        "with --group-wait")
                break
            self.sleep(pause)
            pause = min(pause * 2, _MAX_POLL)
        return problems

    def _payload(self, sobject: str, operation: str, key: str,
                 group: list[a.Action]) -> Any:
        if operation == "delete":
            return self.ids.get(key)
        values: dict[str, Any] = {}
        for action in group:
            values.update(self.values(action))
        if operation == "update":
            record_id = self.ids.get(key)
            if record_id is None:
                raise Unresolved(f"no Id for {key} (was it created?)")
            values["Id"] = record_id
        return {"attributes": {"type": sobject}, **values}


def _chunks(pending: Iterable[_Pending], size: int) -> Iterator[list[_Pending]]:
    """``pending`` in chunks of ``size`` (the last one smaller), taken as they are read."""
    rest = iter(pending)
    while chunk := list(islice(rest, size)):
        yield chunk

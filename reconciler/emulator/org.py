"""One emulated org: records, the generic write pipeline, queries, audit and limits.

The REST layer (``rest.py``, ``composite.py``) turns HTTP into calls on :class:`Org`;
the Salesforce-specific rules live in the ``rules`` package and are called from the
pipeline here, so every way in (REST, collections, composite, the Python API) obeys
them. A new org is built from its seed by :func:`reconciler.emulator.seed.open_org`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.emulator.apierror import ApiFault, bad_request, not_found
from reconciler.emulator.catalog import (
    ADDRESS,
    BOOLEAN,
    CURRENT_USER,
    SObject,
)
from reconciler.emulator.ids import is_id
from reconciler.emulator.rules import dispatch
from reconciler.emulator.rules.access import check_query_access, check_write_access
from reconciler.emulator.rules.groups import settle_groups
from reconciler.emulator.rules.lookups import sharing_custom_fields
from reconciler.emulator.rules.permsets import vanishes
from reconciler.emulator.sobjects import (
    custom_field_from_spec,
    custom_object_from_spec,
    standard_catalog,
)
from reconciler.emulator.soql import (
    QUERY_TIMEOUT_SECONDS,
    RecordSource,
    Result,
    SoqlError,
    columns,
    execute,
    parse,
)
from reconciler.emulator.store import Record, Store
from reconciler.emulator.values import check_value

# Autonumber fields: sObject → (field, display format).
_AUTONUMBER = {
    "Case": ("CaseNumber", "{:08d}"),
    "Contract": ("ContractNumber", "{:08d}"),
    "Order": ("OrderNumber", "{:08d}"),
}
DEFAULT_DAILY_API_MAX = 100_000
DEFAULT_TOKEN_TTL = 7200
CURSOR_TTL_SECONDS = 15 * 60
MAX_CURSORS = 200


def sf_datetime(moment: datetime) -> str:
    """A datetime as Salesforce writes it: ``2026-11-29T01:02:03.000+0000``."""
    # Formatted by hand: strftime costs as much as the rest of a record's timestamps.
    m = moment.astimezone(UTC)
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:"
            f"{m.second:02d}.{moment.microsecond // 1000:03d}+0000")


@dataclass
class Cursor:
    records: list[dict[str, Any]]
    total: int
    created: float


@dataclass
class Stats:
    """API calls this org has served: today's total and a count per route."""

    day: str = ""
    used: int = 0
    by_route: dict[str, int] = field(default_factory=dict)


class Org:
    """An org: its store, catalogue, rules, query cursors, API accounting and tokens."""

    def __init__(
        self,
        data_dir: Path | None,
        seed: Mapping[str, Any] | None = None,
    ) -> None:
        self._stamp: tuple[int, str] = (-1, "")
        self.data_dir = data_dir
        path = None
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            path = data_dir / "org.sqlite"
        self.catalog = standard_catalog()
        self.store = Store(path, self.catalog)
        self.lock = self.store.lock
        self._cursors: dict[str, Cursor] = {}
        self.stats = Stats()
        #: The seed this org was made from, for :func:`~reconciler.emulator.seed.reset_org`.
        self.seed = seed
        #: Permission set assignments the current request removes together (see
        #: :meth:`removing_together`).
        self.assignments_removed_together = 1
        if not self.store.is_empty():  # a new org is built by seed.open_org
            self._load_custom_objects()
        self.stats.used = int(self.store.meta("api_used") or 0)
        self.stats.day = str(self.store.meta("api_day") or "")

    # -- settings kept in the store ----------------------------------------

    @property
    def org_id(self) -> str:
        return str(self.store.meta("org_id"))

    @property
    def daily_api_max(self) -> int:
        return int(self.store.meta("daily_api_max") or DEFAULT_DAILY_API_MAX)

    @property
    def query_timeout(self) -> float:
        """Seconds a query may run before it is refused with QUERY_TIMEOUT."""
        stored = self.store.meta("query_timeout_seconds")
        return QUERY_TIMEOUT_SECONDS if stored is None else float(stored)

    @property
    def token_ttl(self) -> int:
        return int(self.store.meta("token_ttl") or DEFAULT_TOKEN_TTL)

    def now(self) -> str:
        # Salesforce's stamps end at the millisecond, and a bulk job writes several
        # records a millisecond: each is formatted once (one tuple, read and replaced
        # whole, so a thread never sees one moment with another's text), and the clock
        # is read as an integer, with no datetime made for the others.
        ms = time.time_ns() // 1_000_000
        last = self._stamp
        if last[0] != ms:
            moment = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
            last = self._stamp = (ms, sf_datetime(moment))
        return last[1]

    def timestamp(self) -> float:
        """The org's clock in seconds since the epoch (timers such as recalculations)."""
        return time.time()

    def clear(self) -> None:
        """Forget every record, cursor, counter and custom object (the caller holds
        :attr:`lock` and seeds the org again)."""
        self.store.purge()
        self._cursors.clear()
        self.stats = Stats()
        self.catalog = standard_catalog()
        self.store.catalog = self.catalog

    # -- custom objects -------------------------------------------------------

    def add_custom_object(self, spec: Mapping[str, Any]) -> SObject:
        """Add a custom object from a seed spec and remember it across restarts."""
        sobject = custom_object_from_spec(spec, self.catalog)
        self.catalog.add(sobject)
        self.catalog.link_children()
        specs = list(self.store.meta("custom_objects") or [])
        specs.append(dict(spec))
        self.store.set_meta("custom_objects", specs)
        return sobject

    def add_custom_fields(self, sobject_name: str, fields: Mapping[str, Any]) -> None:
        """Add custom fields to a standard object (``Account.Tradestyle__c``).

        A custom field of Task or Event is an activity field: it appears on both [doc].
        """
        sobject = self.catalog.get(sobject_name)
        if sobject is None:
            raise ValueError(f"unknown object {sobject_name}")
        self._add_fields(sobject.name, fields)
        extra = dict(self.store.meta("custom_fields") or {})
        extra.setdefault(sobject.name, {}).update(fields)
        self.store.set_meta("custom_fields", extra)

    def _add_fields(self, sobject_name: str, fields: Mapping[str, Any]) -> None:
        for name in sharing_custom_fields(sobject_name):
            sobject = self.catalog.get(name)
            assert sobject is not None
            for fname, spec in fields.items():
                sobject.add(custom_field_from_spec(fname, spec))

    def _load_custom_objects(self) -> None:
        for spec in self.store.meta("custom_objects") or []:
            self.catalog.add(custom_object_from_spec(spec, self.catalog))
        for name, fields in (self.store.meta("custom_fields") or {}).items():
            if self.catalog.get(name) is not None:
                self._add_fields(name, fields)
        self.catalog.link_children()

    # -- API accounting -------------------------------------------------------

    def count_call(self, route: str) -> None:
        """Count one API call; past the daily max, refuse with REQUEST_LIMIT_EXCEEDED."""
        with self.lock:
            day = datetime.now(UTC).strftime("%Y-%m-%d")
            if day != self.stats.day:
                self.stats.day, self.stats.used = day, 0
            if self.stats.used >= self.daily_api_max:
                raise ApiFault(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.",
                               about_record=False)
            self.stats.used += 1
            self.stats.by_route[route] = self.stats.by_route.get(route, 0) + 1
            self.store.set_meta("api_used", self.stats.used)
            self.store.set_meta("api_day", day)

    def limit_info(self) -> str:
        return f"api-usage={self.stats.used}/{self.daily_api_max}"

    def limits(self) -> dict[str, Any]:
        used = self.stats.used
        return {
            "DailyApiRequests": {"Max": self.daily_api_max,
                                 "Remaining": max(self.daily_api_max - used, 0)},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
        }

    # -- reads ----------------------------------------------------------------

    def sobject(self, name: str) -> SObject:
        s = self.catalog.get(name)
        if s is None:
            raise not_found()
        return s

    def get(self, record_id: str) -> tuple[str, Record] | None:
        return self.store.get(record_id)

    def records(self, sobject: str) -> list[Record]:
        return list(self.store.records(sobject))

    def where(self, sobject: str, **equals: Any) -> list[Record]:
        return self.store.where(sobject, **equals)

    def retrieve(self, sobject_name: str, record_id: str,
                 fields: Iterable[str] | None = None) -> dict[str, Any]:
        """A record as ``GET sobjects/X/Id`` returns it."""
        s = self.sobject(sobject_name)
        if not is_id(record_id):
            raise not_found()
        with self.lock:
            settle_groups(self)
            got = self.store.get(record_id)
        if got is None or got[0] != s.name:
            raise not_found()
        rec = got[1]
        names = [f.name for f in s if f.type != ADDRESS]
        if fields is not None:
            names = []
            for raw in fields:
                f = s.field(raw.strip())
                if f is None:
                    raise bad_request("INVALID_FIELD",
                                      f"No such column '{raw.strip()}' on entity '{s.name}'.")
                names.append(f.name)
        out: dict[str, Any] = {"attributes": {"type": s.name, "url": ""}}
        out.update({n: rec.get(n) for n in names})
        return out

    def query(self, soql: str, *, api_version: str, include_deleted: bool = False,
              batch_size: int = 2000, actor_id: str | None = None) -> dict[str, Any]:
        """Run SOQL; the first page and, when there is more, a ``nextRecordsUrl``."""
        try:
            parsed = parse(soql, self.catalog)
        except SoqlError as exc:
            raise _query_fault(exc) from None
        with self.lock:
            settle_groups(self)
            if actor_id is not None:
                check_query_access(self, [parsed.sobject], actor_id)
        # The query runs without holding the org: each read of the store takes the lock
        # on its own (and sees committed records only), so one long query never holds up
        # other requests.
        try:
            result: Result = execute(parsed, _Source(self.store), api_version=api_version,
                                     include_deleted=include_deleted,
                                     timeout=self.query_timeout)
        except SoqlError as exc:
            raise _query_fault(exc) from None
        if len(result.records) <= batch_size:
            return {"totalSize": result.total_size, "done": True, "records": result.records}
        locator = "01g" + secrets.token_hex(8)
        self._expire_cursors()
        self._cursors[locator] = Cursor(result.records, result.total_size, time.monotonic())
        return self._page(locator, 0, batch_size, api_version, include_deleted)

    def query_columns(self, soql: str, *, actor_id: str) -> dict[str, Any]:
        """The columns a query would return (``columns=true``), checked as a run would be."""
        try:
            parsed = parse(soql, self.catalog)
        except SoqlError as exc:
            raise bad_request(exc.error_code, exc.message) from None
        with self.lock:
            check_query_access(self, [parsed.sobject], actor_id)
        return columns(parsed)

    def query_more(self, locator_and_offset: str, *, api_version: str,
                   include_deleted: bool = False, batch_size: int = 2000) -> dict[str, Any]:
        locator, _, offset_text = locator_and_offset.rpartition("-")
        cursor = self._cursors.get(locator)
        if cursor is None or not offset_text.isdigit():
            raise bad_request("INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(locator, int(offset_text), batch_size, api_version, include_deleted)

    def _page(self, locator: str, offset: int, size: int, api_version: str,
              include_deleted: bool) -> dict[str, Any]:
        cursor = self._cursors[locator]
        page = cursor.records[offset : offset + size]
        end = offset + len(page)
        out: dict[str, Any] = {"totalSize": cursor.total, "done": end >= len(cursor.records),
                               "records": page}
        if not out["done"]:
            kind = "queryAll" if include_deleted else "query"
            out["nextRecordsUrl"] = f"/services/data/v{api_version}/{kind}/{locator}-{end}"
        else:
            self._cursors.pop(locator, None)
        return out

    def _expire_cursors(self) -> None:
        cutoff = time.monotonic() - CURSOR_TTL_SECONDS
        for key in [k for k, c in self._cursors.items() if c.created < cutoff]:
            del self._cursors[key]
        while len(self._cursors) >= MAX_CURSORS:
            self._cursors.pop(next(iter(self._cursors)))

    # -- writes ---------------------------------------------------------------

    def create(self, sobject_name: str, values: Mapping[str, Any], actor_id: str) -> Record:
        """Insert one record after every rule has passed (one transaction)."""
        s = self.catalog.get(sobject_name)
        if s is None:
            raise bad_request("INVALID_TYPE", f"sObject type '{sobject_name}' is not supported.")
        if not s.createable:
            raise bad_request("INVALID_TYPE_FOR_OPERATION",
                              f"entity type cannot be inserted: {s.name}")
        with self.store.transaction():
            rec = self._coerce(s, values, creating=True)
            self._defaults(s, rec, actor_id)
            missing = [name for name in s.required if rec.get(name) in (None, "")]
            if missing:
                raise bad_request("REQUIRED_FIELD_MISSING",
                                  f"Required fields are missing: [{', '.join(missing)}]", missing)
            check_write_access(self, s, actor_id, "create")
            dispatch.before_create(self, s, rec, actor_id)
            now = self.now()
            rec.update(CreatedDate=now, CreatedById=actor_id, LastModifiedDate=now,
                       LastModifiedById=actor_id, SystemModstamp=now)
            if vanishes(s, rec):
                # Salesforce answers success for an all-false permission row and keeps nothing.
                rec["Id"] = self.store.new_id(s.name)
                return rec
            stored = self.store.insert(s.name, rec)
            dispatch.after_create(self, s, stored, actor_id)
            return stored

    def update(self, sobject_name: str | None, record_id: str, values: Mapping[str, Any],
               actor_id: str) -> Record | None:
        """Update one record; returns None when the change made it vanish."""
        s, old = self._existing(sobject_name, record_id)
        if not s.updateable:
            raise bad_request("INVALID_TYPE_FOR_OPERATION",
                              f"entity type cannot be updated: {s.name}")
        with self.store.transaction():
            changes = self._coerce(s, values, creating=False)
            changes.pop("Id", None)
            cleared = [f.name for f in s if not f.nillable and f.type != BOOLEAN
                       and f.name in changes and changes[f.name] in (None, "")]
            if cleared:
                raise bad_request("REQUIRED_FIELD_MISSING",
                                  f"Required fields are missing: [{', '.join(cleared)}]", cleared)
            check_write_access(self, s, actor_id, "edit")
            dispatch.before_update(self, s, old, changes, actor_id)
            merged = {**old, **changes}
            if vanishes(s, merged):
                self.store.delete(old["Id"])
                dispatch.after_delete(self, s, old, actor_id, vanished=True)
                return None
            now = self.now()
            changes.update(LastModifiedDate=now, LastModifiedById=actor_id, SystemModstamp=now)
            new = self.store.update(old["Id"], changes)
            dispatch.after_update(self, s, old, new, actor_id)
            return new

    def delete(self, sobject_name: str | None, record_id: str, actor_id: str) -> None:
        s, old = self._existing(sobject_name, record_id)
        if not s.deletable:
            raise ApiFault(405, "METHOD_NOT_ALLOWED",
                           f"HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD,PATCH,POST "
                           f"(entity type cannot be deleted: {s.name})")
        with self.store.transaction():
            check_write_access(self, s, actor_id, "delete")
            dispatch.before_delete(self, s, old, actor_id)
            self.store.delete(old["Id"])
            dispatch.after_delete(self, s, old, actor_id, vanished=False)

    @contextmanager
    def removing_together(self, record_ids: Iterable[str]) -> Iterator[None]:
        """Deletes sent in one request: Salesforce keeps automatically assigned permission
        set licences when 50 or more assignments go at once (``rules``)."""
        with self.lock:
            self.assignments_removed_together = sum(
                1 for rid in record_ids
                if is_id(rid) and (got := self.store.get(rid)) is not None
                and got[0] == "PermissionSetAssignment")
            try:
                yield
            finally:
                self.assignments_removed_together = 1

    def insert_raw(self, sobject_name: str, values: Mapping[str, Any], actor_id: str) -> Record:
        """Insert without the API's rules: how the platform itself makes records."""
        s = self.sobject(sobject_name)
        rec = dict(values)
        self._defaults(s, rec, actor_id)
        now = self.now()
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            rec.setdefault(name, now)
        rec.setdefault("CreatedById", actor_id)
        rec.setdefault("LastModifiedById", actor_id)
        return self.store.insert(s.name, rec)

    def audit(self, action: str, section: str, display: str, actor_id: str) -> None:
        """One SetupAuditTrail row, as Setup writes for every change."""
        self.insert_raw("SetupAuditTrail", {
            "Action": action, "Section": section, "Display": display[:1000],
            "DelegateUser": None, "ResponsibleNamespacePrefix": None,
        }, actor_id)

    def _existing(self, sobject_name: str | None, record_id: str) -> tuple[SObject, Record]:
        if not is_id(record_id):
            if sobject_name is None:
                raise bad_request("MALFORMED_ID", f"malformed id {record_id}")
            raise not_found()
        got = self.store.get(record_id)
        if got is None:
            if sobject_name is None:
                raise bad_request("ENTITY_IS_DELETED", "entity is deleted")
            raise not_found()
        s = self.sobject(got[0])
        if sobject_name is not None and self.sobject(sobject_name).name != s.name:
            raise not_found()
        return s, got[1]

    def _defaults(self, s: SObject, rec: Record, actor_id: str) -> None:
        for f in s.defaulted:
            if f.name not in rec:
                rec[f.name] = actor_id if f.default == CURRENT_USER else f.default
        auto = _AUTONUMBER.get(s.name)
        if auto is not None and not rec.get(auto[0]):
            rec[auto[0]] = auto[1].format(self.store.count(s.name) + 1)

    def _coerce(self, s: SObject, values: Mapping[str, Any], *, creating: bool) -> Record:
        """Field names to canonical case, values checked against their types."""
        if not isinstance(values, Mapping):
            raise bad_request("JSON_PARSER_ERROR", "The request body must be a JSON object")
        out: Record = {}
        locked = []
        for raw, value in values.items():
            if raw == "attributes":
                continue
            f = s.field(raw)
            if f is None:
                raise bad_request("INVALID_FIELD",
                                  f"No such column '{raw}' on sobject of type {s.name}")
            if f.name == "Id":
                if not creating:
                    continue
                locked.append(f.name)
                continue
            if (creating and not f.createable) or (not creating and not f.updateable):
                locked.append(f.name)
                continue
            out[f.name] = check_value(f, value, self.store)
        if locked:
            verb = "create" if creating else "update"
            raise bad_request(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to {verb} fields: {', '.join(locked)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile "
                "or permission set.",
                locked,
            )
        return out


def _query_fault(exc: SoqlError) -> ApiFault:
    """A refused query: 400, about the request (no ``fields`` key, as real orgs answer)."""
    return ApiFault(400, exc.error_code, exc.message, about_record=False)


class _Source(RecordSource):
    """The store as the SOQL engine sees it (internal keys hidden by the engine): each
    read takes the store's lock and hands back a list, never a live view."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def records(self, sobject: str, include_deleted: bool = False) -> Iterable[Record]:
        with self._store.lock:
            return self._store.records(sobject, include_deleted)

    def get(self, record_id: str) -> tuple[str, Record] | None:
        with self._store.lock:
            return self._store.get(record_id)

    def find(self, sobject: str, field: str, values: Any) -> Iterable[Record] | None:
        with self._store.lock:
            return self._store.find(sobject, field, values)

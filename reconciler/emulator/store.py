"""The emulator's record store: every record in memory, written through to SQLite.

Reads (queries, describe, rule checks) come from memory, so paging through a
100,000-row result costs no disk work; every write goes to SQLite in the same
transaction as the request that made it, so the org survives a restart. One
re-entrant lock serialises writers and readers, which is what makes the server
thread-safe. Transactions nest as savepoints with an in-memory undo log, so an
``allOrNone`` request can roll back exactly its own work.

One process at a time owns a data directory: the store holds an exclusive lock on
it for its life, because another process's store would not see this one's writes in
memory (and would let a duplicate Username in). The directory is 0700 and its files
0600: the SQLite file holds the connected app's secret and the admin token.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic_core import to_json

from reconciler.emulator.catalog import REFERENCE, Catalog
from reconciler.emulator.errors import LocalOrgError
from reconciler.emulator.ids import is_id, make_id, to18
from reconciler.private_files import FILE_MODE, FileLock, LockError, private_dir, tighten

Record = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    sobject TEXT NOT NULL,
    seq INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_seq ON records(seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bulk_jobs (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bulk_job_csv (id TEXT PRIMARY KEY, csv TEXT NOT NULL);
"""
_UPSERT = ("INSERT INTO records(id, sobject, seq, deleted, data) VALUES(?, ?, ?, ?, ?) "
           "ON CONFLICT(id) DO UPDATE SET deleted = excluded.deleted, data = excluded.data")
T = TypeVar("T")
#: Keys of a record kept in memory only.
_INTERNAL = {"__seq"}


def _own(directory: Path) -> FileLock:
    """Take the data directory's lock, or say which process has it and what to do."""

    def hint(holder: Mapping[str, Any]) -> str:
        if holder.get("url"):
            return ("Stop that server, or point the org in the config at it (instance_url "
                    f"and login_url {holder['url']}, ca_bundle {directory / 'ca.pem'}, client "
                    f"credentials from {directory / 'credentials.json'})")
        return "One process at a time uses a local org: run this again when it has finished"

    lock = FileLock(directory / "emulator.lock",
                    f"the local org in {directory} is in use by another process", hint)
    try:
        lock.acquire()
    except LockError as exc:
        raise LocalOrgError(exc.message) from None
    return lock


def _private_db(path: Path) -> str:
    """The SQLite file, created (or tightened) to 0600 before SQLite opens it: SQLite
    gives its -wal and -shm files the database file's mode."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        tighten(name)
    return str(path)


class Store:
    """In-memory records of one org, persisted to one SQLite file (or memory)."""

    def __init__(self, path: Path | None, catalog: Catalog) -> None:
        self.catalog = catalog
        self.lock = threading.RLock()
        self._owner = None if path is None else _own(path.parent)
        try:
            self._db = sqlite3.connect(
                _private_db(path) if path is not None else ":memory:",
                check_same_thread=False,
                isolation_level=None,
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except BaseException:
            if self._owner is not None:
                self._owner.release()  # an unreadable store owns nothing
            raise
        self._records: dict[str, dict[str, Record]] = {}
        self._deleted: dict[str, dict[str, Record]] = {}
        self._sobject_of: dict[str, str] = {}
        self._index: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._seq = 0
        self._undo: list[list[tuple[str, Any]]] = []
        # Record rows written inside a transaction wait here and go to SQLite in one
        # executemany when the outermost transaction ends (see _flush()). Per open
        # transaction: where its rows start in _pending, or None once it has its own
        # SQL savepoint (the outermost always has one; a nested one gets one only when
        # a statement must run before it ends, so a row-sized transaction costs no SQL).
        self._pending: list[tuple[Any, ...]] = []
        self._marks: list[int | None] = []
        self._ref_cache: dict[str, list[str]] = {}
        self._counter: int | None = None  # the last Id counter given (None: ask SQLite)
        self._counter_unsaved = False
        # (sObject, field names) → their values → Ids of live records (see where()).
        self._compound: dict[tuple[str, tuple[str, ...]], dict[tuple[Any, ...], set[str]]] = {}
        # Writes per sObject since the store opened (undone ones too): what memo() checks.
        self._changes: dict[str, int] = {}
        self._memo: dict[Any, tuple[tuple[int, ...], Any]] = {}
        self._load()

    # -- meta ---------------------------------------------------------------

    def meta(self, key: str) -> Any:
        with self.lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self.lock:
            self._execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def save_job(self, job_id: str, job: Mapping[str, Any]) -> None:
        """Keep a Bulk API 2.0 job (its info, data and results) as it is now. Its CSV
        data, uploaded once, is written once: a job is saved again after every batch."""
        with self.lock:
            kept = {k: v for k, v in job.items() if k != "csv"}
            self._execute("INSERT INTO bulk_jobs(id, data) VALUES(?, ?) ON CONFLICT(id) "
                          "DO UPDATE SET data = excluded.data", (job_id, to_json(kept).decode()))
            if job.get("csv") is not None:
                self._execute("INSERT OR IGNORE INTO bulk_job_csv(id, csv) VALUES(?, ?)",
                              (job_id, job["csv"]))

    def jobs(self) -> list[dict[str, Any]]:
        """Every Bulk API 2.0 job kept, oldest first."""
        with self.lock:
            rows = self._db.execute(
                "SELECT data, csv FROM bulk_jobs LEFT JOIN bulk_job_csv USING (id) "
                "ORDER BY bulk_jobs.rowid").fetchall()
        jobs = []
        for data, text in rows:
            job = json.loads(data)
            job["csv"] = text if text is not None else job.get("csv")
            jobs.append(job)
        return jobs

    def is_empty(self) -> bool:
        with self.lock:
            return not self._sobject_of and self.meta("counter") is None

    def close(self) -> None:
        """Close the SQLite file and let another process open the directory."""
        with self.lock:
            self._db.close()
            if self._owner is not None:
                self._owner.release()

    def note_owner(self, **about: str) -> None:
        """Tell a process refused the directory more about its owner (say, its URL)."""
        if self._owner is not None:
            self._owner.note(**about)

    # -- reads --------------------------------------------------------------

    def records(self, sobject: str, include_deleted: bool = False) -> Iterable[Record]:
        """Every live record of an sObject, in insertion order (deleted ones too if asked)."""
        live = self._records.get(sobject, {})
        if not include_deleted:
            return list(live.values())
        return [*live.values(), *self._deleted.get(sobject, {}).values()]

    def count(self, sobject: str) -> int:
        return len(self._records.get(sobject, {}))

    def get(self, record_id: str) -> tuple[str, Record] | None:
        """(sObject, record) for a live record, by 15- or 18-character Id."""
        # An 18-character Id as stored: found without checking its shape again.
        sobject = self._sobject_of.get(record_id) if isinstance(record_id, str) else None
        if sobject is not None:
            rec = self._records.get(sobject, {}).get(record_id)
            return None if rec is None else (sobject, rec)
        if not is_id(record_id):
            return None
        rid = to18(record_id)
        sobject = self._sobject_of.get(rid)
        if sobject is None:
            return None
        rec = self._records.get(sobject, {}).get(rid)
        return None if rec is None else (sobject, rec)

    def find(self, sobject: str, field: str, values: Collection[str]) -> Iterable[Record] | None:
        """Live records whose reference ``field`` is one of ``values``, through an index."""
        if field == "Id":
            out = []
            for v in values:
                got = self.get(v) if isinstance(v, str) else None
                if got is not None and got[0] == sobject:
                    out.append(got[1])
            return out
        index = self._index.get((sobject, field))
        if index is None:
            return None
        live = self._records.get(sobject, {})
        ids: list[str] = []
        for v in values:
            # An Id this store has given is 18 characters and well formed already.
            if isinstance(v, str) and len(v) == 18 and v in self._sobject_of:
                ids.extend(index.get(v, ()))
            elif isinstance(v, str) and is_id(v):
                ids.extend(index.get(to18(v), ()))
        ids.sort(key=lambda i: live[i]["__seq"] if i in live else 0)
        return [live[i] for i in ids if i in live]

    def where(self, sobject: str, **equals: Any) -> list[Record]:
        """Live records of ``sobject`` whose fields equal the given values (index first).

        Two or more fields are looked up in an index on exactly those fields, made on
        first use and kept with every write (the rules look up natural keys such as
        ParentId and Field once per record written)."""
        if len(equals) > 1 and all(isinstance(v, str) for v in equals.values()):
            names = tuple(sorted(equals))
            index = self._compound.get((sobject, names))
            if index is None:
                index = self._compound_index(sobject, names)
            live = self._records.get(sobject, {})
            found = [live[i] for i in index.get(tuple(equals[n] for n in names), ())]
            return sorted(found, key=lambda r: r["__seq"]) if len(found) > 1 else found
        candidates: Iterable[Record] | None = None
        for name, value in equals.items():
            if (sobject, name) in self._index and isinstance(value, str):
                candidates = self.find(sobject, name, [value])
                break
        if candidates is None:
            candidates = self.records(sobject)
        return [r for r in candidates if all(r.get(k) == v for k, v in equals.items())]

    def memo(self, key: Any, sobjects: tuple[str, ...], compute: Callable[[], T]) -> T:
        """``compute()``, worked out again only once a record of one of ``sobjects`` (what
        it reads) has been written since: the rules ask the same question of every record
        a request writes."""
        with self.lock:
            version = tuple(self._changes.get(s, 0) for s in sobjects)
            hit = self._memo.get(key)
            if hit is not None and hit[0] == version:
                return hit[1]  # type: ignore[no-any-return]
            value = compute()
            self._memo[key] = (version, value)
            return value

    def _changed(self, sobject: str) -> None:
        self._changes[sobject] = self._changes.get(sobject, 0) + 1

    # -- writes -------------------------------------------------------------

    def new_id(self, sobject: str) -> str:
        s = self.catalog.get(sobject)
        if s is None:
            raise KeyError(sobject)
        with self.lock:
            # Kept in memory, and stored once per outermost transaction (see
            # transaction()): one statement per request rather than two per Id.
            if self._counter is None:
                self._counter = int(self.meta("counter") or 0)
            self._counter += 1
            if self._undo:
                self._counter_unsaved = True
            else:
                self.set_meta("counter", self._counter)
            return make_id(s.key_prefix, self._counter)

    def insert(self, sobject: str, record: Record) -> Record:
        """Store a new record (``record['Id']`` set by the caller or here)."""
        with self.lock:
            rec = dict(record)
            if not rec.get("Id"):
                rec["Id"] = self.new_id(sobject)
            self._seq += 1
            rec["__seq"] = self._seq
            rid = rec["Id"]
            self._records.setdefault(sobject, {})[rid] = rec
            self._sobject_of[rid] = sobject
            self._index_add(sobject, rec)
            self._write(sobject, rec, deleted=False)
            self._changed(sobject)
            self._log(("insert", (sobject, rid)))
            return rec

    def update(self, record_id: str, changes: Record) -> Record:
        with self.lock:
            got = self.get(record_id)
            if got is None:
                raise KeyError(record_id)
            sobject, old = got
            new = {**old, **changes}
            self._index_remove(sobject, old)
            self._records[sobject][old["Id"]] = new
            self._index_add(sobject, new)
            self._write(sobject, new, deleted=False)
            self._changed(sobject)
            self._log(("update", (sobject, old)))
            return new

    def delete(self, record_id: str) -> Record:
        """Move a record to the recycle bin (queryAll still sees it)."""
        with self.lock:
            got = self.get(record_id)
            if got is None:
                raise KeyError(record_id)
            sobject, old = got
            del self._records[sobject][old["Id"]]
            self._index_remove(sobject, old)
            gone = {**old}
            s = self.catalog.get(sobject)
            if s is not None and s.field("IsDeleted") is not None:
                gone["IsDeleted"] = True
            self._deleted.setdefault(sobject, {})[old["Id"]] = gone
            self._write(sobject, gone, deleted=True)
            self._changed(sobject)
            self._log(("delete", (sobject, old)))
            return old

    def purge(self) -> None:
        """Forget every record and counter (reset to an empty org)."""
        with self.lock:
            self._execute("DELETE FROM records")
            self._execute("DELETE FROM meta")
            self._records.clear()
            self._deleted.clear()
            self._sobject_of.clear()
            self._index.clear()
            self._compound.clear()
            self._memo.clear()
            self._counter, self._counter_unsaved = None, False
            self._seq = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside succeed together or are undone together."""
        with self.lock:
            depth = len(self._undo)
            name = f"sp{depth}"
            if depth:
                self._marks.append(len(self._pending))
            else:
                self._db.execute(f"SAVEPOINT {name}")
                self._marks.append(None)
            self._undo.append([])
            try:
                yield
            except BaseException:
                self._rollback_memory(self._undo.pop())
                mark = self._marks.pop()
                if mark is None:
                    # Every row still pending was written since this savepoint.
                    self._pending.clear()
                    self._db.execute(f"ROLLBACK TO {name}")
                    self._db.execute(f"RELEASE {name}")
                else:
                    del self._pending[mark:]
                # The Ids given stay given (a vanished row's was answered): never reused.
                self._save_counter()
                raise
            else:
                done = self._undo.pop()
                mark = self._marks.pop()
                if self._undo:
                    self._undo[-1].extend(done)
                else:
                    self._flush()
                    self._save_counter()
                if mark is None:
                    self._db.execute(f"RELEASE {name}")

    # -- internals ----------------------------------------------------------

    def _save_counter(self) -> None:
        """Store the Id counter, once no transaction is open, if Ids were given."""
        if self._counter_unsaved and not self._undo:
            self.set_meta("counter", self._counter)
            self._counter_unsaved = False

    def _load(self) -> None:
        rows = self._db.execute("SELECT sobject, id, seq, deleted, data FROM records ORDER BY seq")
        for sobject, rid, seq, deleted, data in rows:
            rec = json.loads(data)
            rec["__seq"] = seq
            self._seq = max(self._seq, seq)
            self._sobject_of[rid] = sobject
            if deleted:
                self._deleted.setdefault(sobject, {})[rid] = rec
            else:
                self._records.setdefault(sobject, {})[rid] = rec
                self._index_add(sobject, rec)

    def _write(self, sobject: str, rec: Record, *, deleted: bool) -> None:
        # pydantic-core's encoder: json.dumps took a tenth of a bulk job's time.
        row = (rec["Id"], sobject, rec["__seq"], int(deleted),
               to_json(rec, exclude=_INTERNAL).decode())
        if self._undo:
            self._pending.append(row)
        else:
            self._db.execute(_UPSERT, row)

    def _execute(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        """Run a statement other than a record row's, after the rows written before it."""
        self._flush()
        self._db.execute(statement, params)

    def _flush(self) -> None:
        """Write the pending rows. A nested transaction without a savepoint gets one
        first, between its parent's rows and its own, so that it can still be undone
        once its rows are in SQLite."""
        done = 0
        for depth, mark in enumerate(self._marks):
            if mark is not None:
                if mark > done:
                    self._db.executemany(_UPSERT, self._pending[done:mark])
                    done = mark
                self._db.execute(f"SAVEPOINT sp{depth}")
                self._marks[depth] = None
        if len(self._pending) > done:
            self._db.executemany(_UPSERT, self._pending[done:])
        self._pending.clear()

    def _log(self, entry: tuple[str, Any]) -> None:
        if self._undo:
            self._undo[-1].append(entry)

    def _rollback_memory(self, entries: list[tuple[str, Any]]) -> None:
        for kind, payload in reversed(entries):
            self._changed(payload[0])
            if kind == "insert":
                sobject, rid = payload
                rec = self._records.get(sobject, {}).pop(rid, None)
                if rec is not None:
                    self._index_remove(sobject, rec)
                self._sobject_of.pop(rid, None)
            elif kind == "update":
                sobject, old = payload
                cur = self._records[sobject][old["Id"]]
                self._index_remove(sobject, cur)
                self._records[sobject][old["Id"]] = old
                self._index_add(sobject, old)
            else:
                sobject, old = payload
                self._deleted.get(sobject, {}).pop(old["Id"], None)
                self._records.setdefault(sobject, {})[old["Id"]] = old
                self._index_add(sobject, old)

    def _ref_fields(self, sobject: str) -> list[str]:
        cached = self._ref_cache.get(sobject)
        if cached is None:
            s = self.catalog.get(sobject)
            cached = [] if s is None else [f.name for f in s if f.type == REFERENCE]
            self._ref_cache[sobject] = cached
        return cached

    def _compound_index(self, sobject: str,
                        names: tuple[str, ...]) -> dict[tuple[Any, ...], set[str]]:
        index: dict[tuple[Any, ...], set[str]] = {}
        for rec in self._records.get(sobject, {}).values():
            index.setdefault(tuple(rec.get(n) for n in names), set()).add(rec["Id"])
        self._compound[(sobject, names)] = index
        return index

    def _index_add(self, sobject: str, rec: Record) -> None:
        for (indexed, names), index in self._compound.items():
            if indexed == sobject:
                index.setdefault(tuple(rec.get(n) for n in names), set()).add(rec["Id"])
        for name in self._ref_fields(sobject):
            value = rec.get(name)
            if isinstance(value, str):
                self._index.setdefault((sobject, name), {}).setdefault(value, set()).add(
                    rec["Id"]
                )
            else:
                self._index.setdefault((sobject, name), {})

    def _index_remove(self, sobject: str, rec: Record) -> None:
        for (indexed, names), index in self._compound.items():
            if indexed == sobject:
                index.get(tuple(rec.get(n) for n in names), set()).discard(rec["Id"])
        for name in self._ref_fields(sobject):
            value = rec.get(name)
            if isinstance(value, str):
                bucket = self._index.get((sobject, name), {}).get(value)
                if bucket is not None:
                    bucket.discard(rec["Id"])

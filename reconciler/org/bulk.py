"""Writing many records of one sObject with Bulk API 2.0 ingest jobs.

:func:`jobs` takes what the writer would send as sObject Collections (records with
``attributes``, or Ids to delete) and makes the jobs that write it: one, more only past
:data:`MAX_JOB_BYTES` of CSV, each holding a consecutive share of the records.
:meth:`IngestJob.submit` hands a job to the org; :meth:`IngestJob.collect` waits for it
and answers in the collections shape: one ``{"id", "success", "errors"}`` per record, in
order, so the writer's per-record rules (lock errors resent, duplicates counted as done,
failures recorded) apply unchanged. The two steps are apart so that the writer can
submit every job of a layer before it waits on the first: the org works on the later
jobs while the client reads the earlier ones' results. Every call goes through
:meth:`OrgClient.bulk2`: counted, retried and refreshed like any other.

Submitting: create the job, upload the CSV (comma, LF, ``#N/A`` for null), close it.
Collecting: poll it (backoff from 0.25 s, times 1.5 up to 10 s, bounded by ``wait``),
then read what is needed of its results: the successful ones for a create (the new Ids)
or when some records did not succeed, the failed ones when the job counts failures, the
unprocessed ones when the job ended Failed or Aborted. Result files keep no order, so
each row is matched back to its record by the values it echoes.

Nothing is resent blindly. A dropped upload (the job is still Open, so nothing of it
can have been written) aborts that job and starts a new one, once. A dropped close is
followed by a look at the job: closed already, it is polled; still Open, closed again.
A dropped poll is a read, retried by the client. A job still running ``wait`` seconds
after the client began waiting on it raises :class:`~reconciler.errors.ConnectionFailed`:
its records' outcomes are unknown, and the org finishes the job whatever the client
does, so the next plan (after :func:`wait_for_jobs`, see ``apply``) reads what it
wrote. Each job stands alone: one whose submission or collection fails, or that fails
as a whole (its records the :data:`UNPROCESSED` failure), leaves the other jobs and
their records as they are.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any

from reconciler.errors import ApiError, ConnectionFailed
from reconciler.org.client import OrgClient

#: How long apply waits, by default, for one ingest job to finish.
BULK_WAIT_SECONDS = 1800.0
#: Upload at most this much CSV per job (Salesforce takes 150 MB once base64-encoded).
MAX_JOB_BYTES = 100 * 1024 * 1024
_FIRST_POLL, _MAX_POLL = 0.25, 10.0
#: Seconds left within which a job's rate is trusted to say when it ends.
_SURE = 2.0
_OPERATIONS = {"create": "insert", "update": "update", "delete": "delete"}
_DONE = ("JobComplete", "Failed", "Aborted")
_RUNNING = ("UploadComplete", "InProgress")
#: A result's code for a record the job never reached (it ended Failed or Aborted).
UNPROCESSED = "BULK_JOB_UNPROCESSED"


def jobs(client: OrgClient, sobject: str, operation: str,
         payloads: Sequence[Mapping[str, Any] | str]) -> list[IngestJob]:
    """The ingest jobs that create, update or delete ``payloads`` of ``sobject``: one,
    more only past :data:`MAX_JOB_BYTES` of CSV, in order; ``len()`` of each is its
    share of ``payloads``. None is submitted yet."""
    columns = _columns(payloads)
    rows = [_row(columns, p) for p in payloads]  # the upload's, and what results echo
    data = _csv(columns, rows)
    if len(data.encode("utf-8")) > MAX_JOB_BYTES and len(payloads) > 1:
        half = len(payloads) // 2
        return [*jobs(client, sobject, operation, payloads[:half]),
                *jobs(client, sobject, operation, payloads[half:])]
    return [IngestJob(_Job(client, sobject), operation, payloads, columns, rows, data)]


class IngestJob:
    """One ingest job of the writer's: its data, then its calls."""

    def __init__(self, job: _Job, operation: str, payloads: Sequence[Mapping[str, Any] | str],
                 columns: list[str], rows: list[list[str]], data: str) -> None:
        self._job = job
        self._operation = operation
        self._payloads = payloads
        self._columns = columns
        self._rows = rows
        self._data = data
        self._info: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self._payloads)

    def submit(self) -> str:
        """Create the job, upload its data and close it; the job's Id. Raises what the
        client raises; ConnectionFailed when the upload dropped twice (both jobs
        aborted: nothing of them was written)."""
        self._info = self._job.run(_OPERATIONS[self._operation], self._data)
        self._data = ""  # sent: the org has it now
        return self._job.id

    def collect(self, *, wait: float = BULK_WAIT_SECONDS,
                sleep: Callable[[float], None] = time.sleep,
                clock: Callable[[], float] = time.monotonic) -> list[dict[str, Any]]:
        """Wait for the submitted job to end and read its results: one collections-shaped
        result per record, in order. Raises what the client raises, and ConnectionFailed
        when the job outlives ``wait`` seconds from now."""
        info = self._job.poll(self._info, wait, sleep, clock, rows=len(self._payloads))
        return _outcomes(self._job, info, self._operation, self._columns, self._payloads,
                         self._rows)


def wait_for_jobs(client: OrgClient, *, wait: float = BULK_WAIT_SECONDS,
                  sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> list[str]:
    """Wait until no ingest job the running user started is still queued or running
    (an apply killed mid-job leaves one the org goes on with); the Ids of those that
    were. One call to list the jobs, then one per poll."""
    listed = client.request("GET", "jobs/ingest")
    records = listed.get("records") if isinstance(listed, dict) else None
    mine = [r for r in records or [] if isinstance(r, dict)
            and r.get("createdById") == client.user_id and r.get("state") in _RUNNING]
    for info in mine:
        _Job(client, str(info["object"]), str(info["id"])).poll(info, wait, sleep, clock)
    return [str(info["id"]) for info in mine]


class _Job:
    """One ingest job's calls, each through the client."""

    def __init__(self, client: OrgClient, sobject: str, job_id: str = "") -> None:
        self.client = client
        self.sobject = sobject
        self.id = job_id

    def call(self, what: str, send: Callable[[Any], Any], *, idempotent: bool) -> Any:
        return self.client.bulk2(self.sobject, what, send, idempotent=idempotent)

    def run(self, operation: str, data: str) -> dict[str, Any]:
        """Create the job, upload ``data`` and close it; the job's info once closed."""
        for attempt in range(2):
            # A job nobody uploaded to does nothing: creating one again is harmless.
            created = self.call("create job", lambda b: b.create_job(
                operation, column_delimiter="COMMA", line_ending="LF"), idempotent=True)
            self.id = str(created["id"])
            try:
                self.call("upload job data", lambda b: b.upload_job_data(self.id, data),
                          idempotent=False)
            except ConnectionFailed:
                # Still Open, so nothing of it was written: drop it and start again.
                self._abort()
                if attempt:
                    raise
                continue
            return self._close()
        raise AssertionError("unreachable")

    def _close(self) -> dict[str, Any]:
        try:
            return dict(self.call("close job", lambda b: b.close_job(self.id),
                                  idempotent=False))
        except ConnectionFailed:
            info = self.info()
            if info.get("state") != "Open":
                return info  # the close arrived; the answer didn't
            return dict(self.call("close job", lambda b: b.close_job(self.id),
                                  idempotent=False))

    def _abort(self) -> None:
        # An Open job nobody closes is never processed either: a failed abort is harmless.
        with suppress(ApiError, ConnectionFailed):
            self.call("abort job", lambda b: b.abort_job(self.id, False), idempotent=True)

    def info(self) -> dict[str, Any]:
        return dict(self.call("get job", lambda b: b.get_job(self.id, False), idempotent=True))

    def poll(self, info: Mapping[str, Any], wait: float, sleep: Callable[[float], None],
             clock: Callable[[], float], rows: int = 0) -> dict[str, Any]:
        """The job's info once it is JobComplete, Failed or Aborted. With the job's number
        of ``rows`` known, each poll is timed by the rate the job is going at."""
        deadline = clock() + wait
        backoff = pause = _FIRST_POLL
        current = dict(info)
        seen = (clock(), _processed(current))
        while current.get("state") not in _DONE:
            if clock() + pause > deadline:
                raise ConnectionFailed(
                    f"Bulk API 2.0 job {self.id} ({self.sobject}) was still "
                    f"{current.get('state')} after {wait:g} s; the org goes on with it, and "
                    "the next plan shows what it wrote")
            sleep(pause)
            current = self.info()
            now = (clock(), _processed(current))
            backoff = min(backoff * 1.5, _MAX_POLL)
            pause = next_poll(backoff, rows, seen, now)
            seen = now
        return current

    def results(self, which: str) -> list[dict[str, str]]:
        text = self.call(f"get {which}", lambda b: b.get_ingest_results(self.id, which),
                         idempotent=True)
        lines = csv.reader(io.StringIO(str(text), newline=""))
        header = next(lines, [])
        return [dict(zip(header, line, strict=False)) for line in lines if line]


def next_poll(backoff: float, rows: int, before: tuple[float, int],
              now: tuple[float, int]) -> float:
    """Seconds until the next poll of a job of ``rows`` rows, given two polls' (time,
    rows processed): when the rest should be done at the rate between them (a little
    after), or half way there while that is more than :data:`_SURE` seconds off (a rate
    seen early is rough); between the first pause and the longest. Else ``backoff`` (the
    job has not moved, or its size is unknown). A long job is polled a few times, not
    at every step of the backoff, and a short one soon after it ends."""
    moved, took = now[1] - before[1], now[0] - before[0]
    if rows <= 0 or moved <= 0 or took <= 0:
        return backoff
    left = max(rows - now[1], 0) * took / moved
    return min(max(left * 1.1 if left <= _SURE else left / 2, _FIRST_POLL), _MAX_POLL)


def _processed(info: Mapping[str, Any]) -> int:
    return int(info.get("numberRecordsProcessed") or 0)


def _columns(payloads: Sequence[Mapping[str, Any] | str]) -> list[str]:
    """The CSV header: Id first, then every field any payload sets, sorted."""
    if all(isinstance(p, str) for p in payloads):
        return ["Id"]
    names = {k for p in payloads if not isinstance(p, str) for k in p if k != "attributes"}
    return sorted(names, key=lambda n: (n != "Id", n))


def _cell(value: Any) -> str:
    if value is None:
        return "#N/A"  # Salesforce's null in job data; an empty value changes nothing
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _row(columns: list[str], payload: Mapping[str, Any] | str) -> list[str]:
    if isinstance(payload, str):
        return [payload]
    return [_cell(payload[c]) if c in payload else "" for c in columns]


def _csv(columns: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def _outcomes(job: _Job, info: Mapping[str, Any], operation: str, columns: list[str],
              payloads: Sequence[Mapping[str, Any] | str],
              rows: list[list[str]]) -> list[dict[str, Any]]:
    """One result per payload (``rows`` their CSV rows), matched by the values each
    result row echoes."""
    # Positions by row: lists, not deques (100,000 of them); a row sent twice is rare.
    waiting: dict[tuple[str, ...], list[int]] = {}
    for n, sent in enumerate(rows):
        waiting.setdefault(tuple(sent), []).append(n)
    out: list[dict[str, Any] | None] = [None] * len(payloads)

    def place(row: Mapping[str, str], result: dict[str, Any]) -> None:
        slots = waiting.get(tuple(row.get(c, "") for c in columns))
        if slots:
            out[slots.pop(0)] = result

    failed = int(info.get("numberRecordsFailed") or 0)
    complete = (info.get("state") == "JobComplete"
                and int(info.get("numberRecordsProcessed") or 0) == len(payloads))
    if operation == "create" or failed or not complete:
        for row in job.results("successfulResults"):
            place(row, {"id": row.get("sf__Id") or None, "success": True, "errors": []})
    if failed:
        for row in job.results("failedResults"):
            place(row, {"id": row.get("sf__Id") or None, "success": False,
                        "errors": [_error(row.get("sf__Error", ""))]})
    if info.get("state") in ("Failed", "Aborted"):
        why = {"statusCode": UNPROCESSED, "fields": [], "message": (
            f"Bulk API 2.0 job {job.id} ended {info.get('state')} before this record was "
            f"processed: {info.get('errorMessage') or 'no reason given'}")}
        for row in job.results("unprocessedRecords"):
            place(row, {"id": None, "success": False, "errors": [why]})
    if complete and not failed and operation != "create":
        for n, payload in enumerate(payloads):
            record_id = payload if isinstance(payload, str) else payload.get("Id")
            out[n] = {"id": record_id, "success": True, "errors": []}
    missing = {"statusCode": "BULK_RESULT_MISSING", "fields": [], "message": (
        f"Bulk API 2.0 job {job.id} gave no result for this record; the next plan shows "
        "whether it was written")}
    return [r if r is not None else {"id": None, "success": False, "errors": [missing]}
            for r in out]


def _error(text: str) -> dict[str, Any]:
    """An ``sf__Error`` value (``CODE:message:fields --``) as a collections error."""
    code, _, rest = text.partition(":")
    rest = rest.strip()
    fields: list[str] = []
    if rest.endswith("--"):
        message, _, named = rest[:-2].rstrip().rpartition(":")
        if message:
            rest = message
            fields = [f for f in named.split(",") if f]
    return {"statusCode": code, "message": rest, "fields": fields}

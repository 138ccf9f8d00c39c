"""Bulk API 2.0 ingest (``jobs/ingest``): insert, update or delete the rows of a CSV file.

A job is created (``Open``), given its CSV data (one ``PUT .../batches``), and closed
(``UploadComplete``); a worker thread then processes it (``InProgress``) and ends it
``JobComplete``, ``Failed`` or ``Aborted``, whether or not the client is still there,
as a real org does. Each row is written through the sObject Collections path's rules
(:meth:`Composite.write_each`), so a row is refused exactly as a record in a
collections call would be. Results are CSV: ``successfulResults`` (``sf__Id``,
``sf__Created``), ``failedResults`` (``sf__Id``, ``sf__Error``) and
``unprocessedrecords``, each row echoing the uploaded values, in no promised order.

Jobs live in the org's SQLite store (table ``bulk_jobs``), saved at every change of state
and after every internal batch of 10,000 rows; a job the emulator stopped in the middle
of resumes from its last saved batch when the org is served again.

Faults with method ``PROCESS`` and a path matching ``jobs/ingest/<job id>`` fire per row
while a job is processed: ``lock`` fails that row with UNABLE_TO_LOCK_ROW, ``error``
fails the whole job there (its ``errorMessage`` is the fault's message; the rows not
reached are unprocessed), ``latency`` waits before the row.

Sources are listed row by row in ``docs/salesforce-behaviour.md`` ("Bulk API 2.0 ingest").
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections import deque
from typing import Any

from reconciler.emulator.apierror import ApiFault, bad_request, method_not_allowed, not_found
from reconciler.emulator.catalog import BOOLEAN
from reconciler.emulator.composite import Composite
from reconciler.emulator.faults import Faults
from reconciler.emulator.ids import make_id
from reconciler.emulator.listener import Reply
from reconciler.emulator.org import Org

OPERATIONS = {"insert": "POST", "update": "PATCH", "delete": "DELETE"}
DELIMITERS = {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";",
              "TAB": "\t"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
#: Salesforce splits a job's data into internal batches of this many rows.
BATCH_ROWS = 10_000
#: Rows written per hold of the org's lock (triggers see records 200 at a time).
CHUNK_ROWS = 200
#: The value that sets a field to null; an empty value leaves it as it is.
NULL = "#N/A"
DONE = ("JobComplete", "Failed", "Aborted")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
_JOB_PREFIX = "750"
_RESULTS = {name.lower(): name for name in ("successfulResults", "failedResults",
                                            "unprocessedrecords")}


class BulkIngest:
    """The ingest jobs of one org and the worker that processes them."""

    def __init__(self, org: Org, batches: Composite, faults: Faults) -> None:
        self.org = org
        self.batches = batches
        self.faults = faults
        self._jobs: dict[str, dict[str, Any]] = {j["info"]["id"]: j for j in org.store.jobs()
                                                 if j["info"]["state"] != "Deleted"}
        self._queue: deque[str] = deque(
            jid for jid, j in self._jobs.items()
            if j["info"]["state"] in ("UploadComplete", "InProgress"))
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        if self._queue:
            self._wake()

    # -- the REST resource --------------------------------------------------------

    def api(self, method: str, parts: list[str], body: Any, actor: str, version: str) -> Reply:
        """Answer ``jobs/ingest/<parts>``."""
        if not parts:
            if method == "POST":
                return Reply(200, self._create(body, actor, version))
            if method == "GET":
                with self._cond:
                    infos = [self._info(j) for j in self._jobs.values()]
                return Reply(200, {"done": True, "records": infos, "nextRecordsUrl": None})
            raise method_not_allowed(method, "GET, POST")
        job = self._jobs.get(parts[0])
        if job is None:
            raise not_found()
        if len(parts) == 1:
            if method == "GET":
                with self._cond:
                    return Reply(200, self._info(job))
            if method == "PATCH":
                return Reply(200, self._set_state(job, body))
            if method == "DELETE":
                return self._delete(job)
            raise method_not_allowed(method, "GET, PATCH, DELETE")
        if len(parts) == 2 and parts[1] == "batches":
            if method != "PUT":
                raise method_not_allowed(method, "PUT")
            return self._upload(job, body)
        # The documented spelling is unprocessedrecords; clients (simple-salesforce) send
        # unprocessedRecords, which real orgs take too.
        which = _RESULTS.get(parts[1].lower()) if len(parts) == 2 else None
        if which is not None:
            if method != "GET":
                raise method_not_allowed(method, "GET")
            with self._cond:
                text = _results(job, which)
            return Reply(200, text.encode("utf-8"), {"Content-Type": "text/csv"})
        raise not_found()

    def _create(self, body: Any, actor: str, version: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("JSON_PARSER_ERROR", "The request body must be a JSON object")
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise _invalid_job(f"InvalidJob : Invalid operation: {operation} (the local org "
                               f"runs {', '.join(OPERATIONS)})")
        sobject = self.org.catalog.get(str(body.get("object") or ""))
        if sobject is None:
            raise _invalid_job(f"InvalidJob : Unable to find object: {body.get('object')}")
        if str(body.get("contentType", "CSV")) != "CSV":
            raise _invalid_job("InvalidJob : Bulk API 2.0 ingest takes contentType CSV only")
        delimiter = str(body.get("columnDelimiter", "COMMA"))
        ending = str(body.get("lineEnding", "LF"))
        if delimiter not in DELIMITERS or ending not in LINE_ENDINGS:
            raise _invalid_job(f"InvalidJob : columnDelimiter {delimiter} or lineEnding "
                               f"{ending} is not valid")
        with self._cond:
            counter = int(self.org.store.meta("bulk_job_counter") or 0) + 1
            self.org.store.set_meta("bulk_job_counter", counter)
            job_id = make_id(_JOB_PREFIX, counter)
            now = self.org.now()
            job: dict[str, Any] = {"info": {
                "id": job_id, "operation": operation, "object": sobject.name,
                "createdById": actor, "createdDate": now, "systemModstamp": now,
                "state": "Open", "concurrencyMode": "Parallel", "contentType": "CSV",
                "apiVersion": float(version), "jobType": "V2Ingest",
                "contentUrl": f"services/data/v{version}/jobs/ingest/{job_id}/batches",
                "lineEnding": ending, "columnDelimiter": delimiter,
                "numberRecordsProcessed": 0, "numberRecordsFailed": 0, "retries": 0,
                "totalProcessingTime": 0, "apiActiveProcessingTime": 0,
                "apexProcessingTime": 0}, "csv": None, "results": []}
            self._jobs[job_id] = job
            self._save(job)
            return self._info(job)

    def _upload(self, job: dict[str, Any], body: Any) -> Reply:
        if not isinstance(body, bytes):
            raise bad_request("INVALIDCONTENTTYPE", "Upload job data as text/csv")
        with self._cond:
            if job["info"]["state"] != "Open" or job["csv"] is not None:
                raise _invalid_state(f"Job {job['info']['id']} is {job['info']['state']}: "
                                     "its data can be uploaded once, while it is Open")
            try:
                job["csv"] = body.decode("utf-8")
            except UnicodeDecodeError:
                raise bad_request("INVALIDBATCH", "Job data must be UTF-8") from None
            self._save(job)
        return Reply(201)

    def _set_state(self, job: dict[str, Any], body: Any) -> dict[str, Any]:
        wanted = body.get("state") if isinstance(body, dict) else None
        with self._cond:
            info = job["info"]
            if wanted == "UploadComplete":
                if info["state"] != "Open":
                    raise _invalid_state(f"Closing a job that is {info['state']} is not allowed")
                self._moved(job, "UploadComplete")
                self._queue.append(info["id"])
                self._wake()
            elif wanted == "Aborted":
                if info["state"] in DONE:
                    raise _invalid_state("Aborting already Completed Job not allowed")
                self._moved(job, "Aborted")
            else:
                raise _invalid_state(f"Invalid state {wanted!r}: set UploadComplete or Aborted")
            return self._info(job)

    def _delete(self, job: dict[str, Any]) -> Reply:
        with self._cond:
            if job["info"]["state"] not in ("UploadComplete", *DONE):
                raise _invalid_state(f"Deleting a job that is {job['info']['state']} is "
                                     "not allowed")
            del self._jobs[job["info"]["id"]]
            job["info"]["state"] = "Deleted"
            self._save(job)
        return Reply(204)

    # -- processing ---------------------------------------------------------------

    def stop(self) -> None:
        """Stop the worker between two chunks; an unfinished job resumes on the next start."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _wake(self) -> None:
        """Start the worker if it isn't running (call holding ``_cond``)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="bulk-ingest", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                if self._stopping or not self._queue:
                    return
                job = self._jobs.get(self._queue.popleft())
            if job is not None and job["info"]["state"] in ("UploadComplete", "InProgress"):
                self._process(job)

    def _process(self, job: dict[str, Any]) -> None:
        info = job["info"]
        started = time.monotonic()
        with self._cond:
            self._moved(job, "InProgress")
        sobject = self.org.sobject(info["object"])
        lines = _lines(job)
        problem = _problem(job, lines, sobject)
        header, rows = lines[0] if lines else [], lines[1:]
        if problem:
            with self._cond:
                self._fail(job, problem)
            return
        start = len(job["results"])
        while start < len(rows):
            with self._cond:
                if self._stopping or info["state"] != "InProgress":
                    self._save(job)
                    return  # stopped (resumes later) or aborted (the rest is unprocessed)
            chunk = rows[start:start + CHUNK_ROWS]
            results, failure = self._chunk(job, sobject, header, chunk)
            with self._cond:
                job["results"].extend(results)
                info["numberRecordsProcessed"] = len(job["results"])
                info["numberRecordsFailed"] += sum(1 for r in results if not r[0])
                elapsed = int((time.monotonic() - started) * 1000)
                info["totalProcessingTime"] = info["apiActiveProcessingTime"] = elapsed
                if failure is not None:
                    self._fail(job, failure)
                    return
                start += len(chunk)
                if start % BATCH_ROWS == 0:
                    self._save(job)
        with self._cond:
            if info["state"] == "InProgress":
                self._moved(job, "JobComplete")

    def _chunk(self, job: dict[str, Any], sobject: Any, header: list[str],
               rows: list[list[str]]) -> tuple[list[list[Any]], str | None]:
        """Write ``rows``; their results ``[ok, sf__Id, created, error]``, and the job's
        error when an injected fault failed the job before the end of the chunk."""
        operation = job["info"]["operation"]
        method = OPERATIONS[operation]
        path = f"/jobs/ingest/{job['info']['id']}"
        results: list[list[Any] | None] = []
        items: list[tuple[int, Any]] = []
        failure = None
        columns = _columns(sobject, header)
        for row in rows:
            fault = self.faults.take("PROCESS", path)
            if fault is not None and fault.kind == "latency":
                time.sleep(fault.delay)
            elif fault is not None and fault.kind == "lock":
                rid = _row_id(header, row)
                locked = fault.message or "unable to obtain exclusive access to this record"
                results.append([False, rid, False, f"UNABLE_TO_LOCK_ROW:{locked}:--"])
                continue
            elif fault is not None:
                failure = fault.message
                break
            try:
                item = _item(sobject, operation, header, columns, row)
            except ApiFault as exc:
                results.append([False, _row_id(header, row), False, _error(exc.record_error())])
                continue
            items.append((len(results), item))
            results.append(None)
        written = self.batches.write_each(method, [i for _, i in items], job["info"]["createdById"])
        for (slot, item), result in zip(items, written, strict=True):
            if result["success"]:
                results[slot] = [True, result["id"], operation == "insert", ""]
            else:
                rid = item if isinstance(item, str) else item.get("Id", "")
                results[slot] = [False, rid or "", False,
                                 "; ".join(_error(e) for e in result["errors"])]
        return [r for r in results if r is not None], failure

    # -- state --------------------------------------------------------------------

    def _moved(self, job: dict[str, Any], state: str) -> None:
        job["info"]["state"] = state
        job["info"]["systemModstamp"] = self.org.now()
        self._save(job)

    def _fail(self, job: dict[str, Any], message: str) -> None:
        job["info"]["errorMessage"] = message
        self._moved(job, "Failed")

    def _save(self, job: dict[str, Any]) -> None:
        self.org.store.save_job(job["info"]["id"], job)

    @staticmethod
    def _info(job: dict[str, Any]) -> dict[str, Any]:
        return dict(job["info"])


def _invalid_job(message: str) -> ApiFault:
    return ApiFault(400, "INVALIDJOB", message, about_record=False)


def _invalid_state(message: str) -> ApiFault:
    return ApiFault(400, "INVALIDJOBSTATE", message, about_record=False)


def _lines(job: dict[str, Any]) -> list[list[str]]:
    """The rows of a job's data, its header first."""
    reader = csv.reader(io.StringIO(job["csv"] or "", newline=""),
                        delimiter=DELIMITERS[job["info"]["columnDelimiter"]])
    return [row for row in reader if row]


def _problem(job: dict[str, Any], lines: list[list[str]], sobject: Any) -> str:
    """Why the job fails as a whole before any row is written, if it does."""
    text = job["csv"] or ""
    ending = job["info"]["lineEnding"]
    if "\n" in text and (ending == "LF") == text.split("\n", 1)[0].endswith("\r"):
        return ("ClientInputError : LineEnding is invalid on user data. Current LineEnding "
                f"setting is {ending}")
    if not lines:
        return "InvalidBatch : No data was uploaded for this job"
    for name in lines[0]:
        if sobject.field(name) is None:
            return f"InvalidBatch : Field name not found : {name}"
    return ""


def _item(sobject: Any, operation: str, header: list[str], columns: list[tuple[str, bool]],
          row: list[str]) -> Any:
    """A row as the collections path takes it: a record (insert, update) or an Id;
    ``columns`` from :func:`_columns`."""
    if len(row) != len(header):
        raise bad_request("INVALID_FIELD", f"The row has {len(row)} values for "
                          f"{len(header)} columns")
    if operation == "delete":
        return _row_id(header, row)
    record: dict[str, Any] = {"attributes": {"type": sobject.name}}
    for (name, boolean), text in zip(columns, row, strict=True):
        if text == "":
            continue  # an empty value leaves the field as it is
        record[name] = (None if text == NULL else _BOOLEANS.get(text.lower(), text) if boolean
                        else text)
    return record


def _columns(sobject: Any, header: list[str]) -> list[tuple[str, bool]]:
    """Each column's field name as the org spells it (the column's own when the object has
    no such field) and whether the field is a checkbox: worked out once a chunk, not once
    a row."""
    out = []
    for name in header:
        field = sobject.field(name)
        out.append((name, False) if field is None else (field.name, field.type == BOOLEAN))
    return out


def _row_id(header: list[str], row: list[str]) -> str:
    for name, text in zip(header, row, strict=False):
        if name.lower() == "id":
            return text
    return ""


def _error(error: dict[str, Any]) -> str:
    """An ``sf__Error`` value: ``CODE:message:fields --``."""
    fields = ",".join(error.get("fields") or [])
    return f"{error['statusCode']}:{error['message']}:{fields + ' ' if fields else ''}--"


def _results(job: dict[str, Any], which: str) -> str:
    """The CSV of one results resource."""
    info = job["info"]
    delimiter = DELIMITERS[info["columnDelimiter"]]
    lines = _lines(job)
    header, rows = lines[0] if lines else [], lines[1:]
    out = io.StringIO()
    names = io.StringIO()
    csv.writer(names, delimiter=delimiter, lineterminator="").writerow(header)
    quoted = csv.writer(out, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    done = job["results"]
    if which == "unprocessedrecords":
        out.write(names.getvalue() + "\n")
        quoted.writerows(rows[len(done):] if info["state"] in ("Failed", "Aborted") else [])
        return out.getvalue()
    extra = "sf__Created" if which == "successfulResults" else "sf__Error"
    out.write(delimiter.join(['"sf__Id"', f'"{extra}"', *([names.getvalue()] if header else [])])
              + "\n")
    wanted = which == "successfulResults"
    for (ok, rid, created, error), row in zip(done, rows, strict=False):
        if ok == wanted:
            quoted.writerow([rid or "", str(created).lower() if ok else error, *row])
    return out.getvalue()

"""sObject Collections (``composite/sobjects``) and Composite (``composite``): many
records or subrequests in one call, all or none when asked."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reconciler.emulator.apierror import (
    ApiFault,
    bad_request,
    method_not_allowed,
    not_found,
    row_locked,
)
from reconciler.emulator.faults import Fault
from reconciler.emulator.listener import Reply
from reconciler.emulator.org import Org
from reconciler.emulator.versions import VERSION_RE

COLLECTION_LIMIT = 200
COMPOSITE_LIMIT = 25
#: Of a composite call's subrequests, at most this many may be sObject Collections or
#: queries (Query, QueryAll, and their next pages) [doc: "Send Multiple Requests Using
#: Composite", resources_composite_composite_post.htm].
COMPOSITE_HEAVY_LIMIT = 5
_HEAVY_RE = re.compile(r"^/services/data/v\d+\.\d/(composite/sobjects|query|queryAll)(?![^/?])")
_REF_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
#: How a subrequest is answered: the REST API itself (method, resource path, query,
#: body, acting user, version, headers, the lock fault injected on the call).
Api = Callable[[str, str, Mapping[str, str], Any, str, str, Mapping[str, str], Fault | None],
               Reply]


class Composite:
    """The collections and composite resources of one org; subrequests go to ``api``."""

    def __init__(self, org: Org, api: Api) -> None:
        self.org = org
        self.api = api

    def collections(self, method: str, parts: list[str], query: Mapping[str, str],
                     body: Any, actor: str, version: str, lock_fault: Fault | None) -> Reply:
        if method == "GET" and len(parts) == 1:
            ids = [i for i in query.get("ids", "").split(",") if i]
            fields = [f for f in query.get("fields", "").split(",") if f]
            out: list[dict[str, Any] | None] = []
            for rid in ids:
                try:
                    out.append(self.org.retrieve(parts[0], rid, fields or None))
                except ApiFault:
                    out.append(None)
            return Reply(200, out)
        if parts:
            raise not_found()
        if method == "DELETE":
            ids = [i for i in query.get("ids", "").split(",") if i]
            all_or_none = query.get("allOrNone", "false").lower() == "true"
            items: list[Any] = ids
        elif method in ("POST", "PATCH"):
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                raise bad_request("JSON_PARSER_ERROR",
                                  "The request body must be {\"records\": [...]}")
            items = body["records"]
            all_or_none = bool(body.get("allOrNone", False))
        else:
            raise method_not_allowed(method, "GET, POST, PATCH, DELETE")
        if len(items) > COLLECTION_LIMIT:
            raise bad_request("EXCEEDED_ID_LIMIT",
                              f"record limit reached. cannot submit more than "
                              f"{COLLECTION_LIMIT} records into this call")
        if lock_fault is not None:
            return Reply(200, [{"id": None, "success": False, "errors": [
                row_locked(_item_id(item), lock_fault.message).record_error()]}
                for item in items])
        ops = [self._collection_op(method, item, actor) for item in items]
        if method == "DELETE":
            with self.org.removing_together(ids):
                return Reply(200, self._run_ops(ops, all_or_none))
        return Reply(200, self._run_ops(ops, all_or_none))

    def write_each(self, method: str, items: list[Any], actor: str) -> list[dict[str, Any]]:
        """Write each item on its own (``allOrNone`` false) by the collections path's rules:
        POST records, PATCH records with ``Id``, DELETE Ids; one result per item, in order.
        Bulk API 2.0 ingest writes its rows through here."""
        ops = [self._collection_op(method, item, actor) for item in items]
        if method == "DELETE":
            with self.org.removing_together([str(i) for i in items]):
                return self._run_ops(ops, False)
        return self._run_ops(ops, False)

    def _collection_op(self, method: str, item: Any,
                       actor: str) -> Callable[[], tuple[str | None, None]]:
        org = self.org

        def run() -> tuple[str | None, None]:
            if method == "DELETE":
                org.delete(None, str(item), actor)
                return str(item), None
            if not isinstance(item, dict):
                raise bad_request("JSON_PARSER_ERROR", "each record must be a JSON object")
            type_ = _item_type(item)
            if not type_:
                raise bad_request("INVALID_TYPE", "Must send a concrete entity type.")
            values = {k: v for k, v in item.items() if k != "attributes"}
            if method == "POST":
                if "Id" in values or "id" in values:
                    raise bad_request("INVALID_FIELD", "cannot specify Id in an insert call",
                                      ["Id"])
                return org.create(type_, values, actor)["Id"], None
            rid = values.pop("Id", None) or values.pop("id", None)
            if not rid:
                raise bad_request("MISSING_ARGUMENT", "Id not specified in an update call",
                                  ["Id"])
            org.sobject(type_)
            org.update(type_, str(rid), values, actor)
            return str(rid), None

        run.item = item  # type: ignore[attr-defined]
        return run

    def _run_ops(self, ops: list[Callable[[], tuple[str | None, None]]],
                 all_or_none: bool) -> list[dict[str, Any]]:
        setup_kinds = {self._is_setup(getattr(op, "item", None)) for op in ops} - {None}
        if len(setup_kinds) > 1:
            err = bad_request("MIXED_DML_OPERATION",
                              "DML operation on setup object is not permitted after you have "
                              "updated a non-setup object (or vice versa)").record_error()
            return [{"id": None, "success": False, "errors": [err]} for _ in ops]
        results: list[dict[str, Any]] = []
        if not all_or_none:
            # Each record commits or rolls back on its own (its own nested transaction);
            # the outer one only writes the call's rows to the file once.
            with self.org.lock, self.org.store.transaction():
                for op in ops:
                    results.append(_attempt(op))
            return results
        with self.org.lock:
            failed = False
            try:
                with self.org.store.transaction():
                    for op in ops:
                        results.append(_attempt(op))
                    if any(not r["success"] for r in results):
                        failed = True
                        raise _Rollback()
            except _Rollback:
                pass
        if failed:
            rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                      "message": "Record rolled back because not all records were valid and "
                                 "the request was using AllOrNone header", "fields": []}
            results = [r if not r["success"] else
                       {"id": None, "success": False, "errors": [rolled]} for r in results]
        return results

    def _is_setup(self, item: Any) -> bool | None:
        if isinstance(item, dict):
            s = self.org.catalog.get(_item_type(item) or "")
            return None if s is None else s.setup
        if isinstance(item, str):
            got = self.org.get(item)
            if got is not None:
                s = self.org.catalog.get(got[0])
                return None if s is None else s.setup
        return None

    def composite(self, body: Any, actor: str, version: str, headers: Mapping[str, str],
                  lock_fault: Fault | None = None) -> Reply:
        """Run the subrequests in order, in one transaction. With ``allOrNone`` the first
        failure (a non-2xx answer, or a collections record that failed) halts the rest
        and rolls everything back; collections subrequests then run all-or-none too
        [doc: "allOrNone Parameters in Composite and Collections Requests"]."""
        if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
            raise bad_request("JSON_PARSER_ERROR",
                              "The request body must be {\"compositeRequest\": [...]}")
        subs = body["compositeRequest"]
        for n, sub in enumerate(subs):
            if not isinstance(sub, dict) or not all(
                    isinstance(sub.get(key), str) for key in ("method", "url", "referenceId")):
                raise bad_request("JSON_PARSER_ERROR",
                                  f"compositeRequest[{n}] must be an object with the strings "
                                  "method, url and referenceId")
        if len(subs) > COMPOSITE_LIMIT:
            raise bad_request("LIMIT_EXCEEDED",
                              f"Max number of subrequests is {COMPOSITE_LIMIT}")
        if sum(1 for sub in subs if _HEAVY_RE.match(sub["url"])) > COMPOSITE_HEAVY_LIMIT:
            raise bad_request("LIMIT_EXCEEDED",
                              "Max number of sObject Collections or query subrequests is "
                              f"{COMPOSITE_HEAVY_LIMIT}")
        all_or_none = bool(body.get("allOrNone", False))
        answers: list[dict[str, Any]] = []
        results: dict[str, Any] = {}
        halted = False
        failed: set[str] = set()
        with self.org.lock:
            try:
                with self.org.store.transaction():
                    for sub in subs:
                        ref = str(sub.get("referenceId", ""))
                        if halted:
                            answers.append(_halted(ref))
                            continue
                        reply = self._subrequest(sub, results, actor, version, headers,
                                                 all_or_none, lock_fault)
                        answers.append({"body": reply.body, "httpHeaders": reply.headers,
                                        "httpStatusCode": reply.status, "referenceId": ref})
                        if not _failed(reply):
                            results[ref] = reply.body
                        elif all_or_none:
                            halted = True
                            failed.add(ref)
                    if halted:
                        raise _Rollback()
            except _Rollback:
                answers = [a if a["referenceId"] in failed else _halted(a["referenceId"])
                           for a in answers]
        return Reply(200, {"compositeResponse": answers})

    def _subrequest(self, sub: Any, results: Mapping[str, Any], actor: str, version: str,
                    headers: Mapping[str, str], all_or_none: bool,
                    lock_fault: Fault | None) -> Reply:
        try:
            method = str(sub.get("method", "GET")).upper()
            url = _resolve_refs(str(sub.get("url", "")), results)
            body = _resolve_refs(sub.get("body"), results)
            parts = urlsplit(url)
            m = VERSION_RE.match(parts.path.rstrip("/"))
            if m is None:
                raise not_found()
            rest = (m.group(3) or "/").strip("/")
            if rest.startswith("composite") and rest.split("/")[:2] != ["composite", "sobjects"]:
                raise bad_request("INVALID_FIELD", "composite can't be nested")
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if all_or_none and rest == "composite/sobjects":
                query["allOrNone"] = "true"
                if isinstance(body, dict):
                    body = {**body, "allOrNone": True}
            with self.org.store.transaction():
                return self.api(method, rest, query, body, actor,
                                f"{int(m.group(1))}.0", headers, lock_fault)
        except ApiFault as exc:
            return Reply(exc.status, exc.body())


class _Rollback(Exception):
    """Undo an allOrNone request's writes."""


def _failed(reply: Reply) -> bool:
    """A subrequest failed: refused, or a collections answer with a record that failed."""
    if reply.status >= 300:
        return True
    return isinstance(reply.body, list) and any(
        isinstance(r, dict) and r.get("success") is False for r in reply.body)


def _attempt(op: Callable[[], tuple[str | None, None]]) -> dict[str, Any]:
    try:
        rid, _ = op()
    except ApiFault as exc:
        return {"id": _item_id(getattr(op, "item", None)), "success": False,
                "errors": [exc.record_error()]}
    return {"id": rid, "success": True, "errors": []}


def _item_type(item: Mapping[str, Any]) -> str | None:
    """The sObject type a collections item names in ``attributes.type``, if it names one."""
    attributes = item.get("attributes")
    type_ = attributes.get("type") if isinstance(attributes, dict) else None
    return type_ if isinstance(type_, str) else None


def _item_id(item: Any) -> str | None:
    """The record Id a collections item names (a DELETE's Id, an update's ``Id``)."""
    if isinstance(item, str):
        return item
    rid = item.get("Id") or item.get("id") if isinstance(item, dict) else None
    return str(rid) if rid else None


def _halted(ref: str) -> dict[str, Any]:
    return {"body": [{"errorCode": "PROCESSING_HALTED",
                      "message": "The transaction was rolled back since another operation in "
                                 "the same transaction failed."}],
            "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref}


def _resolve_refs(value: Any, results: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            ref, path = m.group(1), m.group(2)
            if ref not in results:
                raise bad_request("PROCESSING_HALTED",
                                  f"Invalid reference specified. No value for {ref} found.")
            cur: Any = results[ref]
            for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
                try:
                    cur = cur[step[0]] if step[0] else cur[int(step[1])]
                except (KeyError, IndexError, TypeError):
                    raise bad_request(
                        "PROCESSING_HALTED",
                        f"Invalid reference specified. No value for {ref}{path} found."
                    ) from None
            return str(cur)
        return _REF_RE.sub(sub, value)
    if isinstance(value, list):
        return [_resolve_refs(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_refs(v, results) for k, v in value.items()}
    return value


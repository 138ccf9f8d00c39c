"""The emulator's HTTPS server: Salesforce's REST surface over an :class:`Org`.

Routes (under ``/services/data/vXX.X/``): ``query``, ``queryAll``
(with paging), ``sobjects`` (describe global), ``sobjects/X`` (create, info),
``sobjects/X/describe``, ``sobjects/X/Id`` (get, update, delete),
``sobjects/User/Id/password``, ``composite/sobjects`` (collections), ``composite``,
``limits``; ``/services/data/`` lists the versions served (31.0 to 68.0). OAuth at
``/services/oauth2/token`` and ``/revoke``; SOAP ``login()`` at ``/services/Soap/u/XX.0``.
The admin surface for tests is ``/__emulator__/`` (faults, stats, reset, sessions,
limits, settings, groups) behind a bearer token of its own.
"""

from __future__ import annotations

import hmac
import json
import re
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from reconciler.emulator.apierror import ApiFault, bad_request, not_found, row_locked
from reconciler.emulator.auth import Auth, OAuthError, SoapFault
from reconciler.emulator.errors import LocalOrgError
from reconciler.emulator.faults import Fault, Faults
from reconciler.emulator.org import Org
from reconciler.emulator.rules.groups import set_group_recalculation
from reconciler.emulator.seed import (
    LOGIN_SETTINGS,
    load_seed_file,
    open_org,
    reset_org,
    set_password,
)
from reconciler.emulator.tls import load_or_create_ca, server_context
from reconciler.private_files import write_private

# The versions a real org serves on 2026-11-29: 31.0 (Summer '14) to 68.0 (Winter '27).
# 7.0-30.0 are retired: REST answers 410 for them; a version not released yet is 404.
MIN_VERSION, MAX_VERSION = 31, 68
COLLECTION_LIMIT = 200
COMPOSITE_LIMIT = 25
#: Salesforce refuses a request whose request line and headers pass this many bytes.
MAX_REQUEST_HEAD = 16_384
HANDSHAKE_TIMEOUT = 10.0
#: How long a connection may stay silent (before its first request, between keep-alive
#: requests, or mid-request) before the server closes it and frees its thread.
IDLE_TIMEOUT = 30.0
#: The largest request body Salesforce's REST API takes (50 MB); a larger one is refused
#: from its Content-Length, before a byte of it is read.
MAX_REQUEST_BODY = 52_428_800
_VERSION_RE = re.compile(r"^/services/data/v(\d+)\.(\d)(/.*)?$")
_SOAP_RE = re.compile(r"^/services/Soap/u/(\d+)\.0$")
_REF_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


class DropConnection(Exception):
    """Close the connection without answering (an injected fault)."""


class Reply:
    """An HTTP answer: status, JSON body (or none, or bytes sent as they are) and extra
    headers."""

    def __init__(self, status: int, body: Any = None, headers: Mapping[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class Emulator:
    """An org served over HTTPS: the Org, its auth and faults, and the HTTP server."""

    def __init__(self, org: Org, *, host: str = "127.0.0.1", port: int = 0,
                 cert_dir: Path, allow_remote: bool = False,
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        if not allow_remote and not _is_loopback(host):
            raise LocalOrgError(
                f"refusing to listen on {host}: the local org serves loopback only "
                "(pass --allow-remote to override)")
        self.org = org
        self.auth = Auth(org)
        self.faults = Faults()
        ca, self.ca_file = load_or_create_ca(cert_dir)
        handler = _make_handler(self)
        self.httpd = _TLSServer((host, port), handler, server_context(ca), idle_timeout)
        bound_host, bound_port = self.httpd.server_address[:2]
        shown = f"[{bound_host!s}]" if ":" in str(bound_host) else str(bound_host)
        self.url = f"https://{shown}:{bound_port}"
        self._thread: threading.Thread | None = None

    @property
    def admin_token(self) -> str:
        return str(self.org.store.meta("admin_token"))

    def credentials(self) -> dict[str, str]:
        """The default connected app's credentials and the user it runs as."""
        app = self.org.store.meta("connected_apps")[0]
        return {"client_id": app["client_id"], "client_secret": app["client_secret"],
                "username": app["run_as"], "admin_token": self.admin_token,
                "instance_url": self.url, "login_url": self.url}

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="reconciler-emulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, end open connections, wait for their threads, close the store."""
        self.httpd.shutdown()
        self.httpd.close_connections()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.org.store.close()

    # -- request handling -------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str],
               body: bytes) -> Reply:
        parts = urlsplit(target)
        path = unquote(parts.path).rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path.startswith("/__emulator__"):
            return self._admin(method, path, headers, body)
        fault = self.faults.take(method, path)
        if fault is not None:
            early = self._fault_before(fault)
            if early is not None:
                # A refused call still reached the org: it counts, as a retry would.
                m = _VERSION_RE.match(path)
                if m is not None:
                    route = _route_name((m.group(3) or "/").strip("/"))
                    with suppress(ApiFault):
                        self.org.count_call(f"{method} {route}")
                return early
        lock = fault if fault is not None and fault.kind == "lock" else None
        try:
            reply = self._route(method, path, query, headers, body, lock)
        except ApiFault as exc:
            reply = Reply(exc.status, exc.body())
        if fault is not None and fault.kind == "drop" and fault.when == "after":
            raise DropConnection()
        return reply

    def _fault_before(self, fault: Fault) -> Reply | None:
        if fault.kind == "latency":
            time.sleep(fault.delay)
            return None
        if fault.kind == "expire_session":
            self.auth.expire_all()
            return None
        if fault.kind == "drop":
            if fault.when == "before":
                raise DropConnection()
            return None
        if fault.kind == "lock":
            return None  # answered by api(): per record on collections, else per call
        return Reply(fault.status, [{"message": fault.message, "errorCode": fault.error_code,
                                     "fields": []}])

    def _route(self, method: str, path: str, query: dict[str, str],
               headers: Mapping[str, str], body: bytes, lock: Fault | None) -> Reply:
        if path == "/services/oauth2/token" and method == "POST":
            return self._token(headers, body)
        if path == "/services/oauth2/revoke":
            form = _form(body) if method == "POST" else query
            if self.auth.revoke(form.get("token", "")):
                return Reply(200)
            return Reply(400, {"error": "unsupported_token_type",
                               "error_description": "this token type is not supported"})
        soap = _SOAP_RE.match(path)
        if soap is not None and method == "POST":
            return self._soap_login(int(soap.group(1)), body)
        if path == "/services/data" and method == "GET":
            return Reply(200, [{"label": release_name(v), "url": f"/services/data/v{v}.0",
                                "version": f"{v}.0"}
                               for v in range(MIN_VERSION, MAX_VERSION + 1)])
        if path.startswith("/id/") or path == "/services/oauth2/userinfo":
            return self._identity(headers, path)
        m = _VERSION_RE.match(path)
        if m is None:
            raise not_found()
        major = int(m.group(1))
        if major > MAX_VERSION or m.group(2) != "0":
            raise not_found()
        if major < MIN_VERSION:
            raise ApiFault(410, "GONE", f"API version {major}.0 has been retired and is no "
                           "longer available", about_record=False)
        version = f"{major}.0"
        actor = self.auth.authenticate(headers.get("authorization"))
        rest = (m.group(3) or "/").strip("/")
        self.org.count_call(f"{method} {_route_name(rest)}")
        return self.api(method, rest, query, _json(body) if body else None, actor, version,
                         headers, lock_fault=lock)

    def _token(self, headers: Mapping[str, str], body: bytes) -> Reply:
        try:
            answer = self.auth.token(_form(body), headers.get("authorization"), self.url)
        except OAuthError as exc:
            return Reply(exc.status, exc.body())
        return Reply(200, answer)

    def _soap_login(self, major: int, body: bytes) -> Reply:
        xml = {"Content-Type": "text/xml;charset=UTF-8"}
        if not MIN_VERSION <= major <= MAX_VERSION:
            fault = SoapFault("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL")
            return Reply(500, fault.body(), xml)
        try:
            return Reply(200, self.auth.soap_login(body, major, self.url), xml)
        except SoapFault as exc:
            return Reply(500, exc.body(), xml)

    def _identity(self, headers: Mapping[str, str], path: str) -> Reply:
        actor = self.auth.authenticate(headers.get("authorization"))
        got = self.org.get(actor)
        assert got is not None
        user = got[1]
        if path == "/services/oauth2/userinfo":
            return Reply(200, {"sub": f"{self.url}/id/{self.org.org_id}/{actor}",
                               "user_id": actor, "organization_id": self.org.org_id,
                               "preferred_username": user["Username"],
                               "name": user.get("Name"), "email": user.get("Email")})
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[1] != self.org.org_id or parts[2] != actor:
            raise ApiFault(403, "INSUFFICIENT_ACCESS",
                           "the identity URL does not match this session")
        return Reply(200, {"id": f"{self.url}{path}", "user_id": actor,
                           "organization_id": self.org.org_id, "username": user["Username"],
                           "display_name": user.get("Name"), "email": user.get("Email"),
                           "active": user.get("IsActive")})

    # -- the REST API proper (also used by composite subrequests) ---------------

    def api(self, method: str, rest: str, query: Mapping[str, str], body: Any, actor: str,
            version: str, headers: Mapping[str, str],
            lock_fault: Fault | None = None) -> Reply:
        parts = rest.split("/") if rest else []
        head = parts[0] if parts else ""
        if not parts:
            return Reply(200, {name: f"/services/data/v{version}/{name}" for name in
                               ("sobjects", "query", "queryAll", "composite", "limits")})
        if lock_fault is not None and not (head == "composite" and len(parts) > 1):
            record_id = parts[2] if head == "sobjects" and len(parts) == 3 else None
            raise row_locked(record_id, lock_fault.message)
        if head == "limits" and len(parts) == 1 and method == "GET":
            return Reply(200, self.org.limits())
        if head in ("query", "queryAll") and method == "GET":
            return self._query(head, parts, query, actor, version, headers)
        if head == "sobjects":
            return self._sobjects(method, parts[1:], query, body, actor, version)
        if head == "composite":
            if len(parts) >= 2 and parts[1] == "sobjects":
                return self._collections(method, parts[2:], query, body, actor, version,
                                         lock_fault)
            if len(parts) == 1 and method == "POST":
                return self._composite(body, actor, version, headers)
        raise not_found()

    def _query(self, head: str, parts: list[str], query: Mapping[str, str], actor: str,
               version: str, headers: Mapping[str, str]) -> Reply:
        include_deleted = head == "queryAll"
        batch = _batch_size(headers.get("sforce-query-options", ""))
        if len(parts) == 2:
            page = self.org.query_more(parts[1], api_version=version,
                                       include_deleted=include_deleted, batch_size=batch)
            return Reply(200, page)
        if len(parts) != 1 or "q" not in query:
            raise bad_request("MALFORMED_QUERY", "A query string (q=...) is required")
        if query.get("columns", "").lower() == "true":
            return Reply(200, self.org.query_columns(query["q"], actor_id=actor))
        return Reply(200, self.org.query(query["q"], api_version=version,
                                         include_deleted=include_deleted, batch_size=batch,
                                         actor_id=actor))

    def _sobjects(self, method: str, parts: list[str], query: Mapping[str, str], body: Any,
                  actor: str, version: str) -> Reply:
        if not parts:
            if method != "GET":
                raise _method_not_allowed(method, "GET")
            return Reply(200, self._describe_global(version))
        sobject = self.org.sobject(parts[0])
        if len(parts) == 1:
            if method == "GET":
                return Reply(200, {"objectDescribe": _describe_summary(sobject, version),
                                   "recentItems": []})
            if method == "POST":
                rec = self.org.create(sobject.name, _record_body(body), actor)
                return Reply(201, {"id": rec["Id"], "success": True, "errors": []})
            raise _method_not_allowed(method, "GET, POST")
        if len(parts) == 2 and parts[1] == "describe":
            if method != "GET":
                raise _method_not_allowed(method, "GET")
            return Reply(200, _describe(sobject, version))
        record_id = parts[1]
        if len(parts) == 3 and parts[2] == "password" and sobject.name == "User":
            return self._password(method, record_id, body)
        if len(parts) != 2:
            raise not_found()
        if method == "GET":
            fields = query["fields"].split(",") if query.get("fields") else None
            rec = self.org.retrieve(sobject.name, record_id, fields)
            rec["attributes"]["url"] = f"/services/data/v{version}/sobjects/{sobject.name}/" \
                                       f"{rec.get('Id') or record_id}"
            return Reply(200, rec)
        if method == "PATCH":
            self.org.update(sobject.name, record_id, _record_body(body), actor)
            return Reply(204)
        if method == "DELETE":
            self.org.delete(sobject.name, record_id, actor)
            return Reply(204)
        raise _method_not_allowed(method, "GET, PATCH, DELETE")

    def _password(self, method: str, user_id: str, body: Any) -> Reply:
        got = self.org.get(user_id)
        if got is None or got[0] != "User":
            raise not_found()
        if method == "GET":
            return Reply(200, {"isExpired": False})
        if method == "POST":
            new = (body or {}).get("NewPassword") if isinstance(body, dict) else None
            if not isinstance(new, str) or len(new) < 8:
                raise bad_request("INVALID_NEW_PASSWORD",
                                  "Your password must be at least 8 characters long.")
            with self.org.lock:
                set_password(self.org, got[1]["Id"], new)
            return Reply(204)
        if method == "DELETE":
            with self.org.lock:
                set_password(self.org, got[1]["Id"], None)
            return Reply(200, {"NewPassword": None})
        raise _method_not_allowed(method, "GET, POST, DELETE")

    def _collections(self, method: str, parts: list[str], query: Mapping[str, str],
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
            raise _method_not_allowed(method, "GET, POST, PATCH, DELETE")
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

    def _composite(self, body: Any, actor: str, version: str,
                   headers: Mapping[str, str]) -> Reply:
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
        all_or_none = bool(body.get("allOrNone", False))
        answers: list[dict[str, Any]] = []
        results: dict[str, Any] = {}
        halted = False
        with self.org.lock:
            try:
                with self.org.store.transaction():
                    for sub in subs:
                        ref = str(sub.get("referenceId", ""))
                        if halted:
                            answers.append(_halted(ref))
                            continue
                        reply = self._subrequest(sub, results, actor, version, headers)
                        answers.append({"body": reply.body, "httpHeaders": reply.headers,
                                        "httpStatusCode": reply.status, "referenceId": ref})
                        if reply.status < 300:
                            results[ref] = reply.body
                        elif all_or_none:
                            halted = True
                    if halted:
                        raise _Rollback()
            except _Rollback:
                answers = [a if a["httpStatusCode"] >= 300 else _halted(a["referenceId"])
                           for a in answers]
        return Reply(200, {"compositeResponse": answers})

    def _subrequest(self, sub: Any, results: Mapping[str, Any], actor: str, version: str,
                    headers: Mapping[str, str]) -> Reply:
        try:
            method = str(sub.get("method", "GET")).upper()
            url = _resolve_refs(str(sub.get("url", "")), results)
            body = _resolve_refs(sub.get("body"), results)
            parts = urlsplit(url)
            m = _VERSION_RE.match(parts.path.rstrip("/"))
            if m is None:
                raise not_found()
            rest = (m.group(3) or "/").strip("/")
            if rest.startswith("composite") and rest.split("/")[:2] != ["composite", "sobjects"]:
                raise bad_request("INVALID_FIELD", "composite can't be nested")
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            with self.org.store.transaction():
                return self.api(method, rest, query, body, actor,
                                f"{int(m.group(1))}.0", headers)
        except ApiFault as exc:
            return Reply(exc.status, exc.body())

    def _describe_global(self, version: str) -> dict[str, Any]:
        return {"encoding": "UTF-8", "maxBatchSize": COLLECTION_LIMIT,
                "sobjects": [_describe_summary(s, version) for s in self.org.catalog]}

    # -- admin ------------------------------------------------------------------

    def _admin(self, method: str, path: str, headers: Mapping[str, str],
               body: bytes) -> Reply:
        auth = headers.get("authorization", "")
        # Constant-time, so the token can't be guessed a character at a time from timings.
        if not hmac.compare_digest(auth.encode("utf-8", "surrogateescape"),
                                   f"Bearer {self.admin_token}".encode()):
            return Reply(401, [{"message": "admin token required", "errorCode":
                                "INVALID_SESSION_ID", "fields": []}])
        what = path[len("/__emulator__"):].strip("/")
        data = _json(body) if body else {}
        try:
            if what == "faults" and method == "POST":
                return Reply(201, self.faults.add(**(data or {})).describe())
            if what == "faults" and method == "DELETE":
                self.faults.clear()
                return Reply(204)
            if what == "faults" and method == "GET":
                return Reply(200, self.faults.list())
        except (TypeError, ValueError, re.error) as exc:
            return Reply(400, [{"message": str(exc), "errorCode": "INVALID_FAULT",
                                "fields": []}])
        if what == "groups" and method in ("GET", "POST"):
            try:
                return Reply(200, self.set_group_recalculation(**(data or {})))
            except (TypeError, ValueError) as exc:
                return Reply(400, [{"message": str(exc), "errorCode": "INVALID_SETTING",
                                    "fields": []}])
        if what == "stats" and method == "GET":
            return Reply(200, self.stats())
        if what == "stats" and method == "DELETE":
            self.reset_stats()
            return Reply(204)
        if what == "reset" and method == "POST":
            self.reset()
            return Reply(204)
        if what == "sessions" and method == "DELETE":
            return Reply(200, {"expired": self.auth.expire_all()})
        if what == "settings" and method == "POST" and isinstance(data, dict):
            unknown = sorted(set(data) - set(LOGIN_SETTINGS))
            if unknown:
                return Reply(400, [{"message": f"unknown settings {unknown}; known: "
                                    f"{sorted(LOGIN_SETTINGS)}", "errorCode": "INVALID_FIELD",
                                    "fields": unknown}])
            with self.org.lock:
                for name, value in data.items():
                    self.org.store.set_meta(name, bool(value))
            return Reply(204)
        if what == "limits" and method == "POST" and isinstance(data, dict):
            try:
                self.set_limits(**data)
            except (TypeError, ValueError) as exc:
                return Reply(400, [{"message": str(exc), "errorCode": "INVALID_SETTING",
                                    "fields": []}])
            return Reply(204)
        return Reply(404, [{"message": "unknown admin resource", "errorCode": "NOT_FOUND",
                            "fields": []}])

    def stats(self) -> dict[str, Any]:
        """API calls counted today, in total and per route."""
        with self.org.lock:
            return {"api_calls": self.org.stats.used, "daily_api_max": self.org.daily_api_max,
                    "by_route": dict(sorted(self.org.stats.by_route.items()))}

    def reset_stats(self) -> None:
        with self.org.lock:
            self.org.stats.by_route.clear()
            self.org.stats.used = 0
            self.org.store.set_meta("api_used", 0)

    def reset(self) -> None:
        """Back to the seed: data, sessions, faults and counters."""
        self.faults.clear()
        self.auth.expire_all()
        token = self.admin_token
        apps = self.org.store.meta("connected_apps")
        reset_org(self.org)
        # Keep the credentials clients already hold.
        self.org.store.set_meta("admin_token", token)
        self.org.store.set_meta("connected_apps", apps)

    def set_group_recalculation(self, *, seconds: float | None = None,
                                failing: list[str] | None = None) -> dict[str, Any]:
        """How long permission set groups recalculate, and which end Failed; what is
        set now (nothing given: only read it)."""
        with self.org.lock:
            return set_group_recalculation(self.org, seconds=seconds, failing=failing)

    def set_daily_limit(self, daily_max: int) -> None:
        with self.org.lock:
            self.org.store.set_meta("daily_api_max", daily_max)

    def set_limits(self, *, daily_api_max: int | None = None,
                   query_timeout_seconds: float | None = None) -> None:
        """The daily API call allowance and how long one query may run (seconds)."""
        if daily_api_max is not None:
            self.set_daily_limit(int(daily_api_max))
        if query_timeout_seconds is not None:
            seconds = float(query_timeout_seconds)
            if not seconds >= 0:
                raise ValueError("query_timeout_seconds must be a number of seconds, >= 0")
            with self.org.lock:
                self.org.store.set_meta("query_timeout_seconds", seconds)


class _TLSServer(ThreadingHTTPServer):
    """Threads per connection; the TLS handshake runs in the connection's thread, so a
    slow or broken client never holds up the accept loop."""

    # Connection threads are joined on close, after their sockets are shut: stopping
    # never pulls the store from under a request still being answered.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 context: ssl.SSLContext, idle_timeout: float) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)
        self.context = context
        self.idle_timeout = idle_timeout
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def close_connections(self) -> None:
        """End every open connection (idle keep-alive ones included)."""
        with self._open_lock:
            for sock in list(self._open):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away mid-request is not the server's error: stay quiet."""

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Headers and body go out in separate writes; without NODELAY, Nagle's algorithm
        # and the client's delayed ACK add ~40 ms to every keep-alive request.
        with suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            # A client that never finishes the handshake must not hold a thread forever.
            request.settimeout(HANDSHAKE_TIMEOUT)
            # The TLS socket takes over the connection's file descriptor.
            tls = self.context.wrap_socket(request, server_side=True)
            # Nor may one that connects and then says nothing (or stops half-way): the
            # handler reads the timeout as the end of the connection.
            tls.settimeout(self.idle_timeout)
        except (ssl.SSLError, OSError):
            return
        with self._open_lock:
            self._open.add(tls)
        try:
            super().finish_request(tls, client_address)
        except (ssl.SSLError, OSError):
            return  # the client went away
        finally:
            with self._open_lock:
                self._open.discard(tls)
            with suppress(OSError):
                tls.close()


class _Rollback(Exception):
    """Undo an allOrNone request's writes."""


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


def release_name(major: int) -> str:
    """The release an API version came with, as ``/services/data/`` labels it.

    Three releases a year since Winter '15 (32.0): Winter, Spring, Summer.
    """
    k = major - 32
    return f"{('Winter', 'Spring', 'Summer')[k % 3]} '{15 + k // 3:02d}"


def _route_name(rest: str) -> str:
    parts = rest.split("/")
    if parts[0] in ("query", "queryAll"):
        return parts[0]
    if parts[0] == "sobjects" and len(parts) >= 2:
        return "sobjects/" + parts[1] + ("/" + parts[2] if len(parts) == 2 + 1
                                         and not _looks_like_id(parts[2]) else "")
    return "/".join(parts[:2])


def _looks_like_id(text: str) -> bool:
    return len(text) in (15, 18) and text.isalnum()


def _batch_size(header: str) -> int:
    m = re.search(r"batchSize\s*=\s*(\d+)", header)
    if not m:
        return 2000
    return max(200, min(2000, int(m.group(1))))


def _method_not_allowed(method: str, allowed: str) -> ApiFault:
    return ApiFault(405, "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{method}' not allowed. Allowed are {allowed}")


def _body_length(header: str | None) -> int | None:
    """A request body's length from its Content-Length header (0 without one); None when
    the header is not a decimal number of bytes (negative, empty, words)."""
    if header is None:
        return 0
    text = header.strip()
    if not re.fullmatch(r"[0-9]+", text):
        return None
    digits = text.lstrip("0")
    # More digits than any accepted size has: too large, without converting it.
    return int(digits or "0") if len(digits) <= 12 else MAX_REQUEST_BODY + 1


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    # ValueError: a JSON number longer than Python converts; RecursionError: arrays or
    # objects nested past what the parser follows.
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise bad_request("JSON_PARSER_ERROR", f"Unexpected character in the body: {exc}") \
            from None


def _form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _record_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def _describe_summary(s: Any, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{s.name}"
    return {"name": s.name, "label": s.label, "labelPlural": s.label_plural,
            "keyPrefix": s.key_prefix, "custom": s.custom, "createable": s.createable,
            "updateable": s.updateable, "deletable": s.deletable, "queryable": s.queryable,
            "retrieveable": True, "searchable": not s.setup, "layoutable": not s.setup,
            "urls": {"sobject": base, "describe": base + "/describe",
                     "rowTemplate": base + "/{ID}"}}


def _describe(s: Any, version: str) -> dict[str, Any]:
    out = _describe_summary(s, version)
    out["fields"] = [{
        "name": f.name, "label": f.label or f.name, "type": f.type, "length": f.length,
        "createable": f.createable, "updateable": f.updateable, "nillable": f.nillable,
        "defaultedOnCreate": f.default is not None or not f.createable,
        "custom": f.custom, "permissionable": f.permissionable, "filterable": True,
        "calculated": f.calculated, "autoNumber": f.auto_number,
        "cascadeDelete": f.relationship_order is not None,
        "relationshipOrder": f.relationship_order,
        "sortable": f.type not in ("textarea", "address"),
        "referenceTo": list(f.reference_to), "relationshipName": f.relationship_name,
        "restrictedPicklist": f.restricted_picklist,
        "picklistValues": [{"value": v, "label": v, "active": True,
                            "defaultValue": v == f.default} for v in f.picklist],
    } for f in s]
    out["childRelationships"] = [{"childSObject": c.child_sobject, "field": c.field,
                                  "relationshipName": c.name}
                                 for c in s.child_relationships.values()]
    return out


def _oversized(target: str, request_line: str,
               headers: list[tuple[str, str]]) -> tuple[int, str] | None:
    """The status and reason Salesforce refuses a request with when its URI, or its
    request line and headers together, pass :data:`MAX_REQUEST_HEAD` bytes."""
    if len(target.encode("latin-1", "replace")) > MAX_REQUEST_HEAD:
        return 414, "URI Too Long"
    size = sum(len(line.encode("latin-1", "replace")) for line in
               [request_line + "\r\n", *(f"{k}: {v}\r\n" for k, v in headers)])
    if size > MAX_REQUEST_HEAD:
        return 431, "Request Header Fields Too Large"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _make_handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "reconciler-emulator"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the emulator is a library and a test bed."""

        def _refuse(self, status: int, reason: str) -> None:
            """Refused at the front door, as Salesforce's web tier does: an HTML page, no
            API call counted, and the connection closed (the body is never read)."""
            page = f"<h1>Bad Message {status}</h1><pre>reason: {reason}</pre>".encode()
            self.close_connection = True
            self.send_response(status, reason)
            self.send_header("Content-Type", "text/html;charset=iso-8859-1")
            self.send_header("Content-Length", str(len(page)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(page)

        def _serve(self) -> None:
            refused = _oversized(self.path, self.requestline,
                                 [(k, v) for k, v in self.headers.items()])
            if refused is not None:
                self._refuse(*refused)
                return
            length = _body_length(self.headers.get("Content-Length"))
            if length is None:
                self._refuse(400, "Invalid Content-Length Value")
                return
            if length > MAX_REQUEST_BODY:
                # Answered before reading the body, so the connection can't carry on.
                self.close_connection = True
                reply = Reply(400, ApiFault(
                    400, "JSON_PARSER_ERROR", "Maximum size of request reached. Maximum size "
                    f"of request is {MAX_REQUEST_BODY} bytes.", about_record=False).body(),
                    {"Connection": "close"})
            else:
                body = self.rfile.read(length) if length else b""
                answer = self._answer(body)
                if answer is None:
                    return
                reply = answer
            self._send(reply)

        def _answer(self, body: bytes) -> Reply | None:
            """The reply to the request read; None when the connection is to be dropped."""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                return emulator.handle(self.command, self.path, headers, body)
            except DropConnection:
                self.close_connection = True
                with suppress(OSError):
                    self.connection.shutdown(2)
                return None
            except ApiFault as exc:
                return Reply(exc.status, exc.body())
            except Exception as exc:  # a server answers 500, never dies
                return Reply(500, [{"message": f"internal emulator error: {exc}",
                                    "errorCode": "UNKNOWN_EXCEPTION", "fields": []}])

        def _send(self, reply: Reply) -> None:
            payload = reply.body if isinstance(reply.body, bytes) else (
                b"" if reply.body is None else json.dumps(reply.body).encode())
            self.send_response(reply.status)
            if payload and "Content-Type" not in reply.headers:
                self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            if self.path.startswith("/services/data"):
                self.send_header("Sforce-Limit-Info", emulator.org.limit_info())
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _serve

    return Handler


def write_credentials(path: Path, creds: Mapping[str, str]) -> None:
    """The credentials file, readable by its owner only."""
    write_private(path, json.dumps(dict(creds), indent=2))


def open_emulator(data_dir: Path | None, seed: Path | Mapping[str, Any] | None = None, *,
                  host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False,
                  cert_dir: Path | None = None,
                  idle_timeout: float = IDLE_TIMEOUT) -> Emulator:
    """An Emulator over the org in ``data_dir`` (made from ``seed`` when new), not started."""
    seed_doc = load_seed_file(seed) if isinstance(seed, Path) else seed
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    org = open_org(data_dir, seed_doc)
    if cert_dir is None and data_dir is None:
        raise LocalOrgError("an in-memory org needs a cert_dir for its CA")
    try:
        return Emulator(org, host=host, port=port, cert_dir=cert_dir or data_dir,  # type: ignore[arg-type]
                        allow_remote=allow_remote, idle_timeout=idle_timeout)
    except BaseException:
        org.store.close()  # let the data directory go: nothing serves it
        raise


def serve_forever(*, host: str, port: int, data_dir: Path, seed: Path | None,
                  allow_remote: bool) -> None:
    """``reconciler emulator serve``: run until SIGTERM or Ctrl-C."""
    emulator = open_emulator(data_dir, seed, host=host, port=port, allow_remote=allow_remote)
    creds_file = data_dir / "credentials.json"
    write_credentials(creds_file, emulator.credentials())
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emulator.start()
    emulator.org.store.note_owner(url=emulator.url)
    print(json.dumps({"url": emulator.url, "ca_file": str(emulator.ca_file.resolve()),
                      "credentials_file": str(creds_file.resolve())}), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        print("emulator stopped", file=sys.stderr, flush=True)


"""The emulator's HTTPS server: Salesforce's REST surface over an :class:`Org`.

Routes (under ``/services/data/vXX.X/``): ``query``, ``queryAll``
(with paging), ``sobjects`` (describe global), ``sobjects/X`` (create, info),
``sobjects/X/describe``, ``sobjects/X/Id`` (get, update, delete),
``sobjects/User/Id/password``, ``composite/sobjects`` (collections), ``composite``,
``jobs/ingest`` (Bulk API 2.0 ingest), ``limits``; ``/services/data/`` lists the versions
served (31.0 to 68.0). OAuth at
``/services/oauth2/token`` and ``/revoke``; SOAP ``login()`` at ``/services/Soap/u/XX.0``.
The admin surface for tests is ``/__emulator__/`` (faults, stats, reset, sessions,
limits, settings, groups) behind a bearer token of its own.

Here: routing, login and identity, and starting and stopping. The resources are in
``rest.py`` and ``composite.py``, the admin surface in ``admin.py``, the HTTPS listener
in ``listener.py``.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import time
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from reconciler.emulator.admin import Admin
from reconciler.emulator.apierror import ApiFault, not_found
from reconciler.emulator.auth import OAuthError, SoapFault
from reconciler.emulator.errors import LocalOrgError
from reconciler.emulator.faults import Fault
from reconciler.emulator.listener import (
    IDLE_TIMEOUT,
    DropConnection,
    Reply,
    TLSServer,
    form_body,
    is_loopback,
    json_body,
)
from reconciler.emulator.org import Org
from reconciler.emulator.rest import RestApi
from reconciler.emulator.seed import load_seed_file, open_org
from reconciler.emulator.tls import load_or_create_ca, server_context
from reconciler.emulator.versions import MAX_VERSION, MIN_VERSION, VERSION_RE, release_name
from reconciler.private_files import write_private

_SOAP_RE = re.compile(r"^/services/Soap/u/(\d+)\.0$")


class Emulator(Admin):
    """An org served over HTTPS: the Org, its auth, faults and admin surface
    (:class:`Admin`), its REST resources (:class:`RestApi`) and the listener."""

    def __init__(self, org: Org, *, host: str = "127.0.0.1", port: int = 0,
                 cert_dir: Path, allow_remote: bool = False,
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        if not allow_remote and not is_loopback(host):
            raise LocalOrgError(
                f"refusing to listen on {host}: the local org serves loopback only "
                "(pass --allow-remote to override)")
        super().__init__(org)
        self.rest = RestApi(org, self.faults)
        ca, self.ca_file = load_or_create_ca(cert_dir)
        self.httpd = TLSServer((host, port), self, server_context(ca), idle_timeout)
        bound_host, bound_port = self.httpd.server_address[:2]
        shown = f"[{bound_host!s}]" if ":" in str(bound_host) else str(bound_host)
        self.url = f"https://{shown}:{bound_port}"
        self._thread: threading.Thread | None = None

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
        self.rest.ingest.stop()
        self.org.store.close()

    # -- request handling -------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str],
               body: bytes) -> Reply:
        parts = urlsplit(target)
        path = unquote(parts.path).rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path.startswith("/__emulator__"):
            return self.admin(method, path, headers, body)
        fault = self.faults.take(method, path, body)
        if fault is not None:
            early = self._fault_before(fault)
            if early is not None:
                # A refused call still reached the org: it counts, as a retry would.
                m = VERSION_RE.match(path)
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

    def limit_info(self) -> str:
        """The ``Sforce-Limit-Info`` header of every REST answer."""
        return self.org.limit_info()

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
            form = form_body(body) if method == "POST" else query
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
        m = VERSION_RE.match(path)
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
        # Bulk API 2.0 job data is CSV, passed on as it came.
        csv_data = headers.get("content-type", "").startswith("text/csv")
        return self.rest.api(method, rest, query,
                             body if csv_data else json_body(body) if body else None, actor,
                             version, headers, lock_fault=lock)

    def _token(self, headers: Mapping[str, str], body: bytes) -> Reply:
        try:
            answer = self.auth.token(form_body(body), headers.get("authorization"), self.url)
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


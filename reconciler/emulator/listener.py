"""The emulator's listener: HTTPS on a loopback port, one thread per connection.

It reads a request (refusing oversized ones at the front door, as Salesforce's web tier
does), hands it to an :class:`App` and writes the :class:`Reply`; it knows nothing of
Salesforce's resources.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
from collections.abc import Mapping
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from typing import Any, Protocol
from urllib.parse import parse_qs

from reconciler.emulator.apierror import ApiFault, bad_request

#: Salesforce refuses a request whose request line and headers pass this many bytes.
MAX_REQUEST_HEAD = 16_384
HANDSHAKE_TIMEOUT = 10.0
#: How long a connection may stay silent (before its first request, between keep-alive
#: requests, or mid-request) before the server closes it and frees its thread.
IDLE_TIMEOUT = 30.0
#: The largest request body Salesforce's REST API takes (50 MB); a larger one is refused
#: from its Content-Length, before a byte of it is read.
MAX_REQUEST_BODY = 52_428_800


class DropConnection(Exception):
    """Close the connection without answering (an injected fault)."""


class Reply:
    """An HTTP answer: status, JSON body (or none, or bytes sent as they are) and extra
    headers."""

    def __init__(self, status: int, body: Any = None, headers: Mapping[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class App(Protocol):
    """What the listener serves: an answer per request, and the API usage it reports."""

    def handle(self, method: str, target: str, headers: Mapping[str, str],
               body: bytes) -> Reply: ...

    def limit_info(self) -> str: ...


class TLSServer(ThreadingHTTPServer):
    """Threads per connection; the TLS handshake runs in the connection's thread, so a
    slow or broken client never holds up the accept loop."""

    # Connection threads are joined on close, after their sockets are shut: stopping
    # never pulls the store from under a request still being answered.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], app: App, context: ssl.SSLContext,
                 idle_timeout: float) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        self.app = app
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


class _Handler(BaseHTTPRequestHandler):
    """One connection's requests, answered by the server's :class:`App`."""

    server: TLSServer
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
            return self.server.app.handle(self.command, self.path, headers, body)
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
            self.send_header("Sforce-Limit-Info", self.server.app.limit_info())
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _serve


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


def json_body(body: bytes) -> Any:
    """A request's JSON body, or JSON_PARSER_ERROR."""
    try:
        return json.loads(body.decode("utf-8"))
    # ValueError: a JSON number longer than Python converts; RecursionError: arrays or
    # objects nested past what the parser follows.
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise bad_request("JSON_PARSER_ERROR", f"Unexpected character in the body: {exc}") \
            from None


def form_body(body: bytes) -> dict[str, str]:
    """A form-encoded body (OAuth); empty when it is not UTF-8."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


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


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (the default: no remote clients)."""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


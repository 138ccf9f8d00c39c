"""Limits and malformed requests: what an attacker or a broken client sends the emulator
gets a Salesforce-shaped refusal, quickly, and never freezes, crashes or starves it."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.emulator import Emulator, start_emulator
from reconciler.emulator.ids import is_id
from tests.emulator.helpers import API_VERSION, admin, client, http_session, make_set, token

QUERY = f"/services/data/v{API_VERSION}/query"
# Each extra '%a' doubled a backtracking match: four took 98 s over 255 characters.
EVIL_LIKE = "%a" * 12 + "%b"


def _tls(emu: Emulator) -> ssl.SSLSocket:
    """A raw TLS connection to the emulator, handshake done."""
    context = ssl.create_default_context(cafile=str(emu.ca_file))
    host, port = emu.url.removeprefix("https://").rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=10)
    return context.wrap_socket(raw, server_hostname=host)


def _raw(emu: Emulator, request: bytes) -> tuple[float, bytes]:
    """Send ``request`` as it is; (seconds to the end of the answer, the answer).

    The server closes the connection after each of these refusals, so reading to the end
    also proves the connection was let go.
    """
    with _tls(emu) as conn:
        start = time.monotonic()
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        return time.monotonic() - start, b"".join(chunks)


def _salesforce_error(resp: requests.Response, status: int, code: str) -> str:
    """Assert the REST error body Salesforce sends; its message."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body, list) and len(body) == 1, body
    assert body[0]["errorCode"] == code, body
    return str(body[0]["message"])


def test_like_with_many_wildcards_answers_at_once(emu: Emulator) -> None:
    sf = client(emu)
    make_set(sf, "Long_Description", Description="a" * 255)
    for pattern, found in ((EVIL_LIKE, 0), ("%a" * 12 + "%", 1), ("%A_a%" * 5, 1)):
        start = time.monotonic()
        got = sf.query(f"SELECT Id FROM PermissionSet WHERE Description LIKE '{pattern}'")
        assert time.monotonic() - start < 2, pattern
        assert got["totalSize"] == found, pattern


def test_a_query_past_the_time_bound_is_refused_and_the_org_carries_on(emu: Emulator) -> None:
    session = http_session(emu)
    session.headers["Authorization"] = f"Bearer {token(emu)}"
    soql = {"q": "SELECT Id FROM PermissionSet"}
    assert admin(emu, "POST", "limits", {"query_timeout_seconds": 0}).status_code == 204
    message = _salesforce_error(session.get(emu.url + QUERY, params=soql), 400,
                                "QUERY_TIMEOUT")
    assert message == "Your query request was running for too long."
    assert admin(emu, "POST", "limits", {"query_timeout_seconds": 10}).status_code == 204
    assert session.get(emu.url + QUERY, params=soql).json()["totalSize"] > 0
    refused = admin(emu, "POST", "limits", {"query_timeout_seconds": "soon"})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_SETTING"


def test_one_slow_client_starves_no_other_and_sigterm_stops_the_server(
        tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--data",
         str(tmp_path / "org")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        creds = json.loads(Path(ready["credentials_file"]).read_text())
        session = requests.Session()
        session.trust_env = False
        session.verify = ready["ca_file"]
        tok = session.post(f"{ready['url']}/services/oauth2/token",
                           data={"grant_type": "client_credentials"},
                           auth=(creds["client_id"], creds["client_secret"])).json()
        session.headers["Authorization"] = f"Bearer {tok['access_token']}"
        created = session.post(f"{ready['url']}/services/data/v{API_VERSION}/sobjects/"
                               "PermissionSet", json={"Name": "Long", "Label": "Long",
                                                      "Description": "a" * 255})
        assert created.status_code == 201, created.text
        statuses: list[int] = []

        def attack() -> None:
            statuses.append(session.get(
                ready["url"] + QUERY, params={"q": "SELECT Id FROM PermissionSet WHERE "
                                                   f"Description LIKE '{EVIL_LIKE}'"},
                timeout=30).status_code)

        attackers = [threading.Thread(target=attack) for _ in range(4)]
        for t in attackers:
            t.start()
        start = time.monotonic()
        limits = session.get(f"{ready['url']}/services/data/v{API_VERSION}/limits",
                             timeout=30)
        assert limits.status_code == 200
        assert time.monotonic() - start < 5
        for t in attackers:
            t.join(timeout=30)
        assert statuses == [200] * 4
    finally:
        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        _, err = proc.communicate(timeout=15)
    assert time.monotonic() - start < 5
    assert proc.returncode == 0
    assert "emulator stopped" in err


def test_a_body_past_50_mb_is_refused_before_it_is_read(emu: Emulator) -> None:
    # Only the headers are sent: the answer can't wait for the 60 MB that never come.
    seconds, answer = _raw(emu, (
        f"POST /services/data/v{API_VERSION}/composite/sobjects HTTP/1.1\r\n"
        "Host: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token(emu)}\r\nContent-Length: 60000000\r\n\r\n").encode())
    assert seconds < 5
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body) == [{
        "message": "Maximum size of request reached. Maximum size of request is 52428800 "
                   "bytes.", "errorCode": "JSON_PARSER_ERROR"}]


@pytest.mark.parametrize("length", ["-1", "ten", "", "1e3", "0x10"])
def test_a_malformed_content_length_is_refused_at_once(emu: Emulator, length: str) -> None:
    seconds, answer = _raw(emu, (
        f"POST /services/oauth2/token HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {length}\r\n\r\ngrant_type=client_credentials").encode())
    assert seconds < 5
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"<h1>Bad Message 400</h1><pre>reason: Invalid Content-Length Value</pre>" in answer


def test_a_silent_connection_is_closed(tmp_path: Path) -> None:
    with start_emulator(tmp_path / "org", idle_timeout=0.5) as emu:
        for sent in (b"", b"GET /services/data HTTP/1.1\r\nHost: x\r\n"):
            with _tls(emu) as conn:
                conn.sendall(sent)
                start = time.monotonic()
                assert conn.recv(65536) == b""  # closed by the server, nothing answered
                assert time.monotonic() - start < 5
        # A client that does speak is served as before.
        assert http_session(emu).get(f"{emu.url}/services/data").status_code == 200


def test_deep_nesting_and_huge_numbers_are_refused_not_crashed(emu: Emulator) -> None:
    session = http_session(emu)
    session.headers["Authorization"] = f"Bearer {token(emu)}"
    nested = "SELECT Id FROM User WHERE " + "(" * 1500 + "IsActive = true" + ")" * 1500
    _salesforce_error(session.get(emu.url + QUERY, params={"q": nested}), 400,
                      "MALFORMED_QUERY")
    deep_but_fine = "SELECT Id FROM User WHERE " + "(" * 60 + "IsActive = true" + ")" * 60
    assert session.get(emu.url + QUERY, params={"q": deep_but_fine}).status_code == 200
    collections = f"{emu.url}/services/data/v{API_VERSION}/composite/sobjects"
    for body in ("[" * 100_000 + "]" * 100_000, '{"records": [' + "9" * 5000 + "]}",
                 "\xff{"):
        _salesforce_error(session.post(collections, data=body.encode("latin-1"),
                                       headers={"Content-Type": "application/json"}),
                          400, "JSON_PARSER_ERROR")


def test_a_statement_past_100000_characters_is_refused(emu: Emulator) -> None:
    sf = client(emu)
    soql = "SELECT Id FROM User WHERE Username IN (" + ", ".join(
        f"'u{i}@x.example'" for i in range(8000)) + ")"
    assert len(soql) > 100_000
    # Through composite: a GET this long would pass the 16 KB request-line limit first.
    out = sf.restful("composite", method="POST", json={"compositeRequest": [
        {"method": "GET", "referenceId": "q", "url": f"/services/data/v{API_VERSION}/query?"
         + requests.compat.urlencode({"q": soql})}]})
    answer = out["compositeResponse"][0]
    assert answer["httpStatusCode"] == 400
    assert answer["body"][0]["errorCode"] == "MALFORMED_QUERY"
    assert answer["body"][0]["message"] == (
        "SOQL statements can not be longer than 100000 characters")


@pytest.mark.parametrize("subrequest", [
    5, "GET", None, [], {"method": "GET"}, {"method": 1, "url": "/", "referenceId": "r"},
    {"method": "GET", "url": ["x"], "referenceId": "r"},
])
def test_malformed_composite_subrequests_are_refused(emu: Emulator, subrequest: Any) -> None:
    session = http_session(emu)
    session.headers["Authorization"] = f"Bearer {token(emu)}"
    resp = session.post(f"{emu.url}/services/data/v{API_VERSION}/composite",
                        json={"compositeRequest": [subrequest]})
    _salesforce_error(resp, 400, "JSON_PARSER_ERROR")


def test_malformed_collection_items_fail_one_by_one(emu: Emulator) -> None:
    sf = client(emu)
    items = [5, {"attributes": "Account", "Name": "x"}, {"attributes": {"type": ["Account"]}},
             {"attributes": None, "Name": "y"}, {"attributes": {"type": "Account"}, "Name": "ok"}]
    out = sf.restful("composite/sobjects", method="POST", json={"records": items})
    assert [r["success"] for r in out] == [False, False, False, False, True]
    assert [r["errors"][0]["statusCode"] for r in out[:4]] == [
        "JSON_PARSER_ERROR", "INVALID_TYPE", "INVALID_TYPE", "INVALID_TYPE"]


def test_the_admin_surface_takes_only_its_exact_token(emu: Emulator) -> None:
    good = emu.admin_token
    near = [good[:-1] + ("A" if good[-1] != "A" else "B"), good[:-1], good + "x", "",
            "é" * len(good)]
    for candidate in near:
        resp = http_session(emu).get(f"{emu.url}/__emulator__/stats", headers={
            "Authorization": f"Bearer {candidate}".encode("latin-1")})
        assert resp.status_code == 401, candidate
        assert resp.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert admin(emu, "GET", "stats").status_code == 200


def _org_id(emu: Emulator) -> str:
    return str(client(emu).query("SELECT Id FROM Organization")["records"][0]["Id"])


def test_each_org_has_its_own_id_kept_across_restarts_and_resets(tmp_path: Path) -> None:
    with start_emulator(tmp_path / "a") as a, start_emulator(tmp_path / "b") as b:
        first, other = _org_id(a), _org_id(b)
        assert first != other
        assert client(a).query("SELECT COUNT() FROM Organization")["totalSize"] == 1
        for org_id in (first, other):
            assert is_id(org_id) and len(org_id) == 18 and org_id.startswith("00D")
        assert admin(a, "POST", "reset").status_code == 204
        assert _org_id(a) == first
    with start_emulator(tmp_path / "a") as again:
        assert _org_id(again) == first


def test_a_seed_can_pin_the_org_id() -> None:
    with start_emulator(None, {"org": {"id": "00D000000000042"}}) as emu:
        assert _org_id(emu) == "00D000000000042EAA"

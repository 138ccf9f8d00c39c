"""OrgClient against the emulator over HTTPS: auth flows, paging, retries, refresh, limits.

No patching: faults are injected by the emulator, delays are recorded by a fake sleep.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from reconciler.emulator import Emulator, start_emulator
from reconciler.errors import (
    ApiError,
    AuthError,
    ConnectionFailed,
    RequestLimitError,
    UsageError,
)
from reconciler.org.client import Identity, OrgClient
from reconciler.org.login import Connection, _jwt_audience
from reconciler.org.soql import chunked_in, quote
from tests.orgdir import app_conn


class Sleeps(list[float]):
    """A ``sleep`` that records the delays it was asked for instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(emu: Emulator, sleeps: Sleeps | None = None, **over: Any) -> OrgClient:
    return OrgClient(app_conn(emu, **over), sleep=sleeps if sleeps is not None else Sleeps(),
                     rng=random.Random(7))


def bulk_accounts(emu: Emulator, n: int) -> None:
    org = emu.org
    admin_id = org.where("User", Username=emu.credentials()["username"])[0]["Id"]
    with org.lock, org.store.transaction():
        for i in range(n):
            org.insert_raw("Account", {"Name": f"Acct {i:05d}", "OwnerId": admin_id}, admin_id)


def raw_token(emu: Emulator) -> str:
    creds = emu.credentials()
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emu.ca_file)
    resp = session.post(f"{emu.url}/services/oauth2/token",
                        data={"grant_type": "client_credentials"},
                        auth=(creds["client_id"], creds["client_secret"]))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


# ---------------------------------------------------------------------------
# Auth flows


def test_client_credentials_logs_in_lazily_and_knows_who_it_is(emu: Emulator) -> None:
    with make_client(emu) as client:
        assert client.calls == 0  # nothing sent before the first call
        rows = client.query("SELECT Id FROM Organization")
        assert rows[0]["Id"] == client.org_id == emu.org.org_id
        assert client.username == emu.credentials()["username"]
        assert len(client.user_id) == 18 and client.user_id.startswith("005")
        assert client.instance_url == emu.url
        # The token and identity calls are not API calls.
        assert client.calls == 1
        assert client.api_usage is not None and client.api_usage[1] == 100_000


def test_password_flow_for_a_seeded_user(tmp_path: Path) -> None:
    seed = {"users": [{"username": "ops@acme.example", "last_name": "Ops",
                       "profile": "System Administrator", "password": "s3cret-pass"}]}
    with start_emulator(tmp_path / "org", seed) as emu:
        creds = emu.credentials()
        conn = Connection(login_url=emu.url, flow="password", client_id=creds["client_id"],
                          client_secret=creds["client_secret"], username="ops@acme.example",
                          password="s3cret-pass", ca_bundle=emu.ca_file)
        with OrgClient(conn) as client:
            assert client.username == "ops@acme.example"
            created = client.request("POST", "sobjects/Account", json={"Name": "by ops"})
            row = client.query(f"SELECT CreatedById FROM Account WHERE Id = "
                               f"{quote(created['id'])}")[0]
            assert row["CreatedById"] == client.user_id


def _jwt_seed() -> tuple[dict[str, Any], str]:
    leaf = trustme.CA().issue_cert("integration@acme.example", key_type=trustme.KeyType.RSA)
    seed = {"connected_apps": [{"name": "Jwt App", "client_id": "jwt-client",
                                "certificate": leaf.cert_chain_pems[0].bytes().decode(),
                                "admin_approved_users_only": False}],
            "users": [{"username": "jwt.user@acme.example", "last_name": "Jwt",
                       "profile": "System Administrator"}]}
    return seed, leaf.private_key_pem.bytes().decode()


def test_jwt_flow_with_key_text_and_key_file(tmp_path: Path) -> None:
    seed, key_pem = _jwt_seed()
    key_file = tmp_path / "server.key"
    key_file.write_text(key_pem)
    with start_emulator(tmp_path / "org", seed) as emu:
        base: dict[str, Any] = {"login_url": emu.url, "flow": "jwt", "client_id": "jwt-client",
                "username": "jwt.user@acme.example", "ca_bundle": emu.ca_file}
        for conn in (Connection(**base, private_key=key_pem),
                     Connection(**base, private_key_file=key_file)):
            with OrgClient(conn) as client:
                assert client.username == "jwt.user@acme.example"
        other_key = trustme.CA().issue_cert("x", key_type=trustme.KeyType.RSA)
        forged = Connection(**base, private_key=other_key.private_key_pem.bytes().decode())
        with pytest.raises(AuthError) as err, OrgClient(forged) as client:
            client.connect()
        assert str(err.value) == f"login to {emu.url} failed: invalid_grant: invalid assertion"
        assert "PRIVATE KEY" not in str(err.value)


def test_jwt_audience_follows_the_login_server() -> None:
    assert _jwt_audience("https://login.salesforce.com") == "https://login.salesforce.com"
    assert _jwt_audience("https://acme.my.salesforce.com/") == "https://login.salesforce.com"
    assert _jwt_audience("https://test.salesforce.com") == "https://test.salesforce.com"
    assert _jwt_audience("https://acme--uat.sandbox.my.salesforce.com") == \
        "https://test.salesforce.com"
    assert _jwt_audience("https://127.0.0.1:8443/") == "https://127.0.0.1:8443"


def test_access_token_flow_uses_the_token_and_cannot_renew_it(emu: Emulator) -> None:
    conn = Connection(login_url=emu.url, flow="access_token", instance_url=emu.url,
                      access_token=raw_token(emu), ca_bundle=emu.ca_file)
    with OrgClient(conn) as client:
        assert client.query("SELECT Id FROM Organization")[0]["Id"] == emu.org.org_id
        emu.auth.expire_all()
        with pytest.raises(AuthError) as err:
            client.query("SELECT Id FROM Organization")
        assert "sf org auth show-access-token" in str(err.value)
        assert client.reauthentications == 0
        assert conn.access_token is not None and conn.access_token not in str(err.value)


def test_access_token_flow_identity_comes_from_userinfo(emu: Emulator) -> None:
    conn = Connection(login_url=emu.url, flow="access_token", instance_url=emu.url,
                      access_token=raw_token(emu), ca_bundle=emu.ca_file)
    with OrgClient(conn) as client:
        assert client.username == emu.credentials()["username"]


OPS_SEED = {"users": [{"username": "ops@acme.example", "last_name": "Ops",
                       "profile": "System Administrator", "password": "s3cret-pass"}]}


def test_soap_login_is_called_at_64_whatever_the_rest_version(tmp_path: Path) -> None:
    with start_emulator(tmp_path / "org", OPS_SEED) as emu:
        conn = Connection(login_url=emu.url, flow="password", username="ops@acme.example",
                          password="s3cret-pass", soap_login=True, ca_bundle=emu.ca_file,
                          api_version="68.0")
        with OrgClient(conn) as client, pytest.warns(UserWarning) as warned:
            assert client.query("SELECT Id FROM Organization")[0]["Id"] == emu.org.org_id
            assert client.username == "ops@acme.example"
        assert [str(w.message) for w in warned] == [
            "SOAP login() is being retired by Salesforce (Summer '27; not available from API "
            "65.0, so it is called at 64.0; off by default in orgs created from Winter '26): "
            "switch this org to the client_credentials or jwt flow"]
        routes = emu.stats()["by_route"]
        assert routes == {"GET query": 1}


def test_soap_login_switched_off_names_the_setting(tmp_path: Path) -> None:
    seed = {**OPS_SEED, "org": {"allow_soap_login": False}}
    with start_emulator(tmp_path / "org", seed) as emu:
        conn = Connection(login_url=emu.url, flow="password", username="ops@acme.example",
                          password="s3cret-pass", soap_login=True, ca_bundle=emu.ca_file)
        with OrgClient(conn) as client, pytest.warns(UserWarning), \
                pytest.raises(AuthError) as err:
            client.connect()
    assert str(err.value) == (
        f"login to {emu.url} failed: INVALID_OPERATION: SOAP API login() is disabled by "
        "default in this org. Contact the org administrator to enable SOAP API login().; an "
        'org admin can turn on "Enable SOAP API login()" in Setup > User Interface, but '
        "better switch this org to flow: client_credentials")
    assert "s3cret-pass" not in str(err.value)


def test_a_blocked_password_flow_names_the_setting_even_with_the_right_password(
        tmp_path: Path) -> None:
    seed = {**OPS_SEED, "org": {"allow_oauth_username_password_flows": False}}
    with start_emulator(tmp_path / "org", seed) as emu:
        creds = emu.credentials()
        conn = Connection(login_url=emu.url, flow="password", client_id=creds["client_id"],
                          client_secret=creds["client_secret"], username="ops@acme.example",
                          password="s3cret-pass", ca_bundle=emu.ca_file)
        with pytest.raises(AuthError) as err, OrgClient(conn) as client:
            client.connect()
        assert '"Allow OAuth Username-Password Flows"' in str(err.value)
        # The same org still lets the connected app in by client credentials.
        with make_client(emu) as client:
            assert client.org_id == emu.org.org_id


# ---------------------------------------------------------------------------
# Refusals, secrets and configuration


def test_bad_secret_is_an_auth_error_without_the_secret(emu: Emulator) -> None:
    conn = app_conn(emu, client_secret="wrong-but-secret-value")
    with pytest.raises(AuthError) as err, OrgClient(conn) as client:
        client.query("SELECT Id FROM Organization")
    assert str(err.value) == \
        f"login to {emu.url} failed: invalid_client: invalid client credentials"
    assert "wrong-but-secret-value" not in str(err.value)
    assert "wrong-but-secret-value" not in repr(conn)
    assert emu.credentials()["client_id"] not in repr(conn)


def test_bad_password_is_an_auth_error_without_the_password(emu: Emulator) -> None:
    creds = emu.credentials()
    conn = Connection(login_url=emu.url, flow="password", client_id=creds["client_id"],
                      client_secret=creds["client_secret"], username=creds["username"],
                      password="not-the-password", ca_bundle=emu.ca_file)
    with pytest.raises(AuthError) as err, OrgClient(conn) as client:
        client.connect()
    # A blocked flow answers the same as a wrong password: the error names both causes.
    assert str(err.value).startswith(
        f"login to {emu.url} failed: invalid_grant: authentication failure. If the username "
        "and password")
    assert ('turn on "Allow OAuth Username-Password Flows" in Setup > OAuth and OpenID '
            "Connect Settings, but better switch this org to flow: client_credentials"
            in str(err.value))
    for secret in ("not-the-password", creds["client_secret"]):
        assert secret not in str(err.value) and secret not in repr(conn)


@pytest.mark.parametrize(("fields", "message"), [
    ({"flow": "oauth"}, "unknown auth flow 'oauth'"),
    ({"flow": "client_credentials", "client_id": "x"}, "needs client_secret"),
    ({"flow": "jwt", "client_id": "x", "username": "u"}, "private_key or private_key_file"),
    ({"flow": "access_token", "access_token": "t"}, "needs instance_url"),
    ({"flow": "jwt", "client_id": "x", "username": "u", "private_key": "k",
      "soap_login": True}, "password flow only"),
    ({"flow": "access_token", "access_token": "t", "instance_url": "http://x"}, "https://"),
    ({"flow": "client_credentials", "client_id": "x", "client_secret": "y",
      "api_version": "v62"}, "62.0"),
])
def test_connection_checks_its_fields(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        Connection(login_url="https://login.salesforce.com", **fields)


def test_unreachable_login_url_is_connection_failed_after_retries(emu: Emulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    client = OrgClient(app_conn(emu, login_url=f"https://127.0.0.1:{port}"),
                       max_retries=2, sleep=sleeps)
    with pytest.raises(ConnectionFailed, match=f"could not reach https://127.0.0.1:{port}"):
        client.connect()
    assert client.retries == 2 and len(sleeps) == 2


def test_an_untrusted_certificate_fails_at_once(emu: Emulator) -> None:
    sleeps = Sleeps()
    client = OrgClient(app_conn(emu, ca_bundle=None), sleep=sleeps)
    with pytest.raises(ConnectionFailed, match="certificate that isn't trusted"):
        client.connect()
    assert sleeps == [] and client.retries == 0


# ---------------------------------------------------------------------------
# Queries


def test_query_follows_every_page_one_call_each(emu: Emulator) -> None:
    bulk_accounts(emu, 4500)
    with make_client(emu) as client:
        rows = client.query("SELECT Id, Name FROM Account ORDER BY Name")
        assert [r["Name"] for r in rows] == [f"Acct {i:05d}" for i in range(4500)]
        assert client.calls == 3  # 2000 + 2000 + 500
        sizes = [len(page) for page in client.query_pages("SELECT Id FROM Account")]
        assert sizes == [2000, 2000, 500]
        assert client.calls == 6


def test_chunked_queries_read_everything(emu: Emulator) -> None:
    bulk_accounts(emu, 300)
    names = [f"Acct {i:05d}" for i in range(0, 300, 2)] + ["O'Brien \\ \"x\""]
    queries = chunked_in("SELECT Name FROM Account WHERE Name IN {in}", names,
                         max_uri=1000)
    assert len(queries) > 1
    with make_client(emu) as client:
        got = [r["Name"] for q in queries for r in client.query(q)]
        assert sorted(got) == names[:-1]
        assert client.calls == len(queries)


def test_bad_soql_is_an_api_error(emu: Emulator) -> None:
    with make_client(emu) as client, pytest.raises(ApiError) as err:
        client.query("SELECT Nope FROM Account")
    assert err.value.status == 400 and err.value.error_code == "INVALID_FIELD"
    assert str(err.value).startswith("INVALID_FIELD: ") and "None" not in str(err.value)
    assert client.calls == 1 and client.retries == 0


def test_a_query_error_pointing_at_the_query_is_told_on_one_line(emu: Emulator) -> None:
    with make_client(emu) as client, pytest.raises(ApiError) as err:
        client.query("SELECT Id FROM XYZZY")
    assert str(err.value) == (
        "INVALID_TYPE: sObject type 'XYZZY' is not supported. If you are attempting to use "
        "a custom object, be sure to append the '__c' after the entity name. Please "
        "reference your WSDL or the describe call for the appropriate names. (at "
        "Row:1:Column:16 of: SELECT Id FROM XYZZY)")


# ---------------------------------------------------------------------------
# Retries


def test_503_is_retried_with_jittered_backoff(emu: Emulator) -> None:
    sleeps = Sleeps()
    with make_client(emu, sleeps) as client:
        client.connect()
        emu.faults.add(kind="error", method="GET", path=r"/query$", status=503, times=3)
        assert client.query("SELECT Id FROM Organization")
    assert client.calls == 4 and client.retries == 3
    caps = [0.5, 1.0, 2.0]
    assert len(sleeps) == 3 and all(0 <= s <= cap for s, cap in zip(sleeps, caps, strict=True))
    expected = random.Random(7)
    assert sleeps == [expected.uniform(0, cap) for cap in caps]


def test_retries_give_up_with_the_last_error(emu: Emulator) -> None:
    sleeps = Sleeps()
    client = OrgClient(app_conn(emu), max_retries=2, sleep=sleeps)
    emu.faults.add(kind="error", path="limits", status=503, times=None)
    with pytest.raises(ApiError) as err:
        client.limits()
    assert err.value.status == 503 and err.value.error_code == "SERVER_UNAVAILABLE"
    assert "after 2 retries" in str(err.value)
    assert client.calls == 3 and client.retries == 2


def test_other_errors_are_not_retried(emu: Emulator) -> None:
    client = make_client(emu)
    emu.faults.add(kind="error", path="limits", status=500, error_code="UNKNOWN_EXCEPTION")
    with pytest.raises(ApiError) as err:
        client.limits()
    assert (err.value.status, err.value.error_code) == (500, "UNKNOWN_EXCEPTION")
    assert client.calls == 1 and client.retries == 0


def test_lock_on_a_single_write_is_retried(emu: Emulator) -> None:
    with make_client(emu) as client:
        client.connect()
        emu.faults.add(kind="lock", method="POST", path=r"sobjects/Account$", times=2)
        created = client.request("POST", "sobjects/Account", json={"Name": "locked once"})
        assert created["success"] is True
        assert client.calls == 3 and client.retries == 2
        assert len(client.query("SELECT Id FROM Account")) == 1


def test_lock_per_record_in_collections_is_left_to_the_writer(emu: Emulator) -> None:
    with make_client(emu) as client:
        emu.faults.add(kind="lock", path="composite/sobjects")
        results = client.collection("POST", [{"attributes": {"type": "Account"}, "Name": "a"}])
        assert results[0]["success"] is False
        assert results[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
        assert client.calls == 1 and client.retries == 0


def test_dropped_get_is_retried(emu: Emulator) -> None:
    with make_client(emu) as client:
        emu.faults.add(kind="drop", method="GET", path=r"/query$", times=2)
        assert client.query("SELECT Id FROM Organization")
        assert client.calls == 3 and client.retries == 2


def test_dropped_write_is_not_resent_unless_idempotent(emu: Emulator) -> None:
    with make_client(emu) as client:
        # The org did the work but the answer never came: resending would duplicate it.
        emu.faults.add(kind="drop", method="POST", path=r"sobjects/Account$", when="after")
        with pytest.raises(ConnectionFailed) as err:
            client.request("POST", "sobjects/Account", json={"Name": "maybe"})
        assert "may or may not have been applied" in str(err.value)
        assert client.calls == 1 and client.retries == 0
        assert [r["Name"] for r in client.query("SELECT Name FROM Account")] == ["maybe"]

        rid = client.query("SELECT Id FROM Account")[0]["Id"]
        emu.faults.add(kind="drop", method="PATCH", path="sobjects/Account/", when="after")
        assert client.request("PATCH", f"sobjects/Account/{rid}", json={"Name": "same"},
                              idempotent=True) is None
        assert client.retries == 1
        assert client.query("SELECT Name FROM Account")[0]["Name"] == "same"


def test_dropped_idempotent_collection_delete_is_retried(emu: Emulator) -> None:
    with make_client(emu) as client:
        made = client.collection("POST", [{"attributes": {"type": "Account"}, "Name": n}
                                          for n in ("a", "b")])
        ids = [r["id"] for r in made]
        emu.faults.add(kind="drop", method="DELETE", path="composite/sobjects")
        results = client.collection("DELETE", ids, idempotent=True)
        assert [r["success"] for r in results] == [True, True]
        assert client.retries == 1
        assert client.query("SELECT Id FROM Account") == []


# ---------------------------------------------------------------------------
# Session refresh and limits


def test_expired_session_logs_in_again_once(emu: Emulator) -> None:
    with make_client(emu) as client:
        client.query("SELECT Id FROM Organization")
        emu.auth.expire_all()
        assert client.query("SELECT Id FROM Organization")
        assert client.reauthentications == 1 and client.retries == 0
        assert client.calls == 3  # the refused call counts: it was sent


def test_a_second_401_is_an_auth_error(emu: Emulator) -> None:
    with make_client(emu) as client:
        client.connect()
        emu.faults.add(kind="expire_session", path=r"/query$", times=None)
        with pytest.raises(AuthError, match="refused a fresh session too"):
            client.query("SELECT Id FROM Organization")
        assert client.reauthentications == 1


def test_daily_limit_is_request_limit_error_without_retry(emu: Emulator) -> None:
    sleeps = Sleeps()
    with make_client(emu, sleeps) as client:
        client.query("SELECT Id FROM Organization")
        used = emu.stats()["api_calls"]
        emu.set_daily_limit(used)
        with pytest.raises(RequestLimitError) as err:
            client.query("SELECT Id FROM Organization")
        assert str(err.value) == ("REQUEST_LIMIT_EXCEEDED: the org's daily API request limit "
                                  f"is used up (api-usage={used}/{used}); it frees up over "
                                  "the next 24 hours")
        assert err.value.status == 403
        assert client.calls == 2 and sleeps == []
        assert client.api_usage == (used, used)


def test_limits(emu: Emulator) -> None:
    with make_client(emu) as client:
        limits = client.limits()
        assert limits["DailyApiRequests"]["Max"] == 100_000
        assert client.calls == 1


# ---------------------------------------------------------------------------
# Describe, collections, composite


def test_describe_batches_25_per_composite_call_and_caches(emu: Emulator) -> None:
    with make_client(emu) as client:
        listed = client.request("GET", "sobjects")["sobjects"]
        others = [s["name"] for s in listed if s["name"] != "User"]
        names = [*others[:26], "User", "Nope__c", "Missing", "Gone__c"]
        assert len(names) == 30
        before = client.calls
        got = client.describe(names)
        assert client.calls == before + 2
        assert list(got) == names
        assert got["Nope__c"] is None and got["Missing"] is None
        user = got.get("User")
        assert user is not None and any(f["name"] == "Username" for f in user["fields"])
        # Cached, whatever the spelling.
        again = client.describe(["user", "Nope__c"])
        assert again["user"] == user and again["Nope__c"] is None
        assert client.calls == before + 2
    with pytest.raises(ValueError, match="not an sObject API name"):
        client.describe(["Account/../x"])


def test_collection_returns_per_record_results(emu: Emulator) -> None:
    with make_client(emu) as client:
        records: list[dict[str, Any]] = [
            {"attributes": {"type": "Account"}, "Name": "one"},
            {"attributes": {"type": "Account"}},
            {"attributes": {"type": "Account"}, "Name": "three"},
        ]
        results = client.collection("POST", records)
        assert [r["success"] for r in results] == [True, False, True]
        assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
        one: str = results[0]["id"]
        three: str = results[2]["id"]
        updated = client.collection("PATCH", [
            {"attributes": {"type": "Account"}, "Id": one, "Name": "uno"}])
        assert updated == [{"id": one, "success": True, "errors": []}]
        all_or_none = client.collection("DELETE", [one, "001000000000000AAA"],
                                        all_or_none=True)
        assert [r["success"] for r in all_or_none] == [False, False]
        assert [r["success"] for r in client.collection("DELETE", [one, three])] == [True, True]
        calls = client.calls
        assert client.collection("POST", []) == []
        assert client.calls == calls
        with pytest.raises(ValueError, match="at most 200"):
            client.collection("DELETE", ["001000000000000AAA"] * 201)
        with pytest.raises(ValueError, match="POST, PATCH or DELETE"):
            client.collection("GET", ["001000000000000AAA"])


def test_composite_with_references(emu: Emulator) -> None:
    with make_client(emu) as client:
        answers = client.composite([
            {"method": "POST", "url": "sobjects/Account", "referenceId": "acct",
             "body": {"Name": "parent"}},
            {"method": "GET", "url": "sobjects/Account/@{acct.id}?fields=Name",
             "referenceId": "read"},
        ])
        assert [a["httpStatusCode"] for a in answers] == [201, 200]
        assert answers[1]["body"]["Name"] == "parent"
        assert client.calls == 1
        with pytest.raises(ValueError, match="at most 25"):
            client.composite([{"method": "GET", "url": "limits", "referenceId": f"r{i}"}
                              for i in range(26)])


def test_request_errors_carry_salesforce_codes(emu: Emulator) -> None:
    with make_client(emu) as client:
        with pytest.raises(ApiError) as err:
            client.request("GET", "sobjects/Nope__c/describe")
        assert (err.value.status, err.value.error_code) == (404, "NOT_FOUND")
        with pytest.raises(ApiError) as err:
            client.request("DELETE", "sobjects/User/005000000000000AAA")
        assert err.value.status in (404, 405) and err.value.api_message
        assert client.request("GET", "sobjects/Account")["objectDescribe"]["name"] == "Account"


def test_identity_is_a_frozen_value(emu: Emulator) -> None:
    with make_client(emu) as client:
        me = client.whoami()
        assert isinstance(me, Identity) and client.whoami() is me

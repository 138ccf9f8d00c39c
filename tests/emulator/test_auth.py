"""OAuth against the emulator: each grant, refusals, expiry and revocation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession
from simple_salesforce.login import SalesforceLogin

from reconciler.emulator import start_emulator
from tests.emulator.helpers import admin, client, http_session, token


def test_client_credentials_runs_as_the_app_user(emu):
    resp = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                  data={"grant_type": "client_credentials"},
                                  auth=(emu.credentials()["client_id"],
                                        emu.credentials()["client_secret"])).json()
    bearer = {"Authorization": f"Bearer {resp['access_token']}"}
    ident = http_session(emu).get(resp["id"], headers=bearer).json()
    assert ident["username"] == emu.credentials()["username"]
    info = http_session(emu).get(f"{emu.url}/services/oauth2/userinfo", headers=bearer).json()
    assert info["preferred_username"] == ident["username"]
    assert info["user_id"] == ident["user_id"] and resp["id"].endswith(ident["user_id"])
    # somebody else's identity URL is not yours to read
    other = http_session(emu).get(f"{emu.url}/id/{emu.org.org_id}/005000000000000AAA",
                                  headers=bearer)
    assert other.status_code == 403


def test_client_credentials_in_form_fields_work_too(emu):
    creds = emu.credentials()
    tok = token(emu, grant_type="client_credentials", client_id=creds["client_id"],
                client_secret=creds["client_secret"])
    assert client(emu, tok).query("SELECT COUNT() FROM User")["totalSize"] >= 1


def test_bad_secret_is_invalid_client(emu):
    creds = emu.credentials()
    resp = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                  data={"grant_type": "client_credentials"},
                                  auth=(creds["client_id"], "wrong"))
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_client",
                           "error_description": "invalid client credentials"}


def test_unknown_grant_is_refused(emu):
    resp = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                  data={"grant_type": "authorization_code"})
    assert resp.status_code == 400
    assert resp.json()["error"] == "unsupported_grant_type"


def test_password_grant_for_a_seeded_user(tmp_path):
    seed = {"users": [{"username": "ops@acme.example", "last_name": "Ops",
                       "profile": "System Administrator", "password": "s3cret-pass"}]}
    with start_emulator(tmp_path / "org", seed) as emu:
        creds = emu.credentials()
        form = {"grant_type": "password", "client_id": creds["client_id"],
                "client_secret": creds["client_secret"], "username": "ops@acme.example"}
        tok = token(emu, **form, password="s3cret-pass")
        sf = client(emu, tok)
        me = sf.query("SELECT Id FROM User WHERE Username = 'ops@acme.example'")["records"][0]
        sf.Account.create({"Name": "made by ops"})
        rows = sf.query("SELECT CreatedById FROM Account")["records"]
        assert rows[0]["CreatedById"] == me["Id"]
        bad = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                     data={**form, "password": "wrong"})
        assert bad.status_code == 400
        assert bad.json() == {"error": "invalid_grant",
                              "error_description": "authentication failure"}


def test_password_set_through_the_api_enables_the_password_grant(emu, sf):
    profile = sf.query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]
    user = sf.User.create({"Username": "new@acme.example", "LastName": "New", "Alias": "new",
                           "Email": "new@acme.example", "ProfileId": profile["Id"],
                           "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US",
                           "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US"})
    creds = emu.credentials()
    form = {"grant_type": "password", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"], "username": "new@acme.example",
            "password": "first-password-1"}
    refused = http_session(emu).post(f"{emu.url}/services/oauth2/token", data=form)
    assert refused.status_code == 400
    sf.set_password(user["id"], "first-password-1")
    assert token(emu, **form)
    # DELETE resets it: the old password stops working.
    sf.restful(f"sobjects/User/{user['id']}/password", method="DELETE")
    assert http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                  data=form).status_code == 400


def _jwt_seed(tmp_path: Path) -> tuple[dict, bytes]:
    ca = trustme.CA()
    leaf = ca.issue_cert("integration@acme.example", key_type=trustme.KeyType.RSA)
    key_pem = leaf.private_key_pem.bytes()
    cert_pem = leaf.cert_chain_pems[0].bytes().decode()
    seed = {"connected_apps": [{"name": "Jwt App", "client_id": "jwt-client",
                                "certificate": cert_pem, "admin_approved_users_only": False}],
            "users": [{"username": "jwt.user@acme.example", "last_name": "Jwt",
                       "profile": "System Administrator"}]}
    return seed, key_pem


def _assertion(key_pem: bytes, aud: str, sub: str = "jwt.user@acme.example",
               exp_minutes: int = 3) -> str:
    key = serialization.load_pem_private_key(key_pem, password=None)
    claims = {"iss": "jwt-client", "sub": sub, "aud": aud,
              "exp": datetime.now(UTC) + timedelta(minutes=exp_minutes)}
    return jwt.encode(claims, key, algorithm="RS256")  # type: ignore[arg-type]


def test_jwt_bearer_checked_against_the_registered_certificate(tmp_path):
    seed, key_pem = _jwt_seed(tmp_path)
    with start_emulator(tmp_path / "org", seed) as emu:
        grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
        tok = token(emu, grant_type=grant,
                    assertion=_assertion(key_pem, "https://login.salesforce.com"))
        assert client(emu, tok).query("SELECT COUNT() FROM User")["totalSize"] >= 2
        other_key = trustme.CA().issue_cert("x", key_type=trustme.KeyType.RSA)
        forged = _assertion(other_key.private_key_pem.bytes(), "https://login.salesforce.com")
        resp = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                      data={"grant_type": grant, "assertion": forged})
        assert resp.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
        expired = _assertion(key_pem, "https://login.salesforce.com", exp_minutes=-5)
        resp = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                      data={"grant_type": grant, "assertion": expired})
        assert resp.json()["error"] == "invalid_grant"
        wrong_aud = _assertion(key_pem, "https://example.com")
        resp = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                      data={"grant_type": grant, "assertion": wrong_aud})
        assert resp.json() == {"error": "invalid_grant",
                               "error_description": "audience is invalid"}


def test_expired_token_raises_salesforce_expired_session(tmp_path):
    with start_emulator(tmp_path / "org", {"org": {"token_ttl_seconds": 1}}) as emu:
        sf = client(emu)
        sf.query("SELECT Id FROM Organization")
        time.sleep(1.2)
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Organization")


def test_revoked_token_is_refused(emu, sf):
    resp = http_session(emu).post(f"{emu.url}/services/oauth2/revoke",
                                  data={"token": sf.session_id})
    assert resp.status_code == 200
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Organization")


def test_admin_surface_needs_its_own_token(emu, sf):
    resp = http_session(emu).get(f"{emu.url}/__emulator__/stats",
                                 headers={"Authorization": f"Bearer {sf.session_id}"})
    assert resp.status_code == 401
    assert admin(emu, "GET", "stats").status_code == 200


def test_inactive_user_gets_no_token(tmp_path):
    seed = {"users": [{"username": "gone@acme.example", "last_name": "Gone", "active": False,
                       "profile": "Standard User", "password": "gone-password"}]}
    with start_emulator(tmp_path / "org", seed) as emu:
        creds = emu.credentials()
        resp = http_session(emu).post(f"{emu.url}/services/oauth2/token", data={
            "grant_type": "password", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"], "username": "gone@acme.example",
            "password": "gone-password"})
        assert resp.status_code == 400
        assert resp.json()["error"] == "invalid_grant"


# ---------------------------------------------------------------------------
# Legacy logins as real orgs refuse them

OPS = {"username": "ops@acme.example", "last_name": "Ops", "profile": "System Administrator",
       "password": "s3cret-pass"}


def _password_form(emu):
    creds = emu.credentials()
    return {"grant_type": "password", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"], "username": OPS["username"],
            "password": OPS["password"]}


def test_password_flow_blocked_as_in_orgs_created_since_summer_23(tmp_path):
    seed = {"org": {"allow_oauth_username_password_flows": False}, "users": [OPS]}
    with start_emulator(tmp_path / "org", seed) as emu:
        refused = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                         data=_password_form(emu))
        # The right password, and still the body a wrong one gets.
        assert (refused.status_code, refused.json()) == (
            400, {"error": "invalid_grant", "error_description": "authentication failure"})
        assert client(emu).query("SELECT COUNT() FROM User")["totalSize"] >= 1
        # An admin turns "Allow OAuth Username-Password Flows" back on.
        assert admin(emu, "POST", "settings",
                     {"allow_oauth_username_password_flows": True}).status_code == 204
        assert client(emu, token(emu, **_password_form(emu))).query(
            "SELECT COUNT() FROM User")["totalSize"] >= 1
        assert admin(emu, "POST", "settings",
                     {"allow_oauth_username_password_flows": False}).status_code == 204
        again = http_session(emu).post(f"{emu.url}/services/oauth2/token",
                                       data=_password_form(emu))
        assert again.status_code == 400
        unknown = admin(emu, "POST", "settings", {"allow_everything": True})
        assert unknown.status_code == 400
        assert unknown.json()[0]["fields"] == ["allow_everything"]


def test_soap_login_through_simple_salesforce_gives_a_rest_session(tmp_path):
    with start_emulator(tmp_path / "org", {"users": [OPS]}) as emu:
        session_id, host = SalesforceLogin(username=OPS["username"], password=OPS["password"],
                                           sf_version="64.0", session=http_session(emu),
                                           scratch_url=emu.url)
        assert f"https://{host}" == emu.url
        sf = client(emu, session_id)
        me = sf.query("SELECT Id FROM User WHERE Username = 'ops@acme.example'")["records"]
        assert len(me) == 1
        with pytest.raises(SalesforceAuthenticationFailed) as bad:
            SalesforceLogin(username=OPS["username"], password="wrong", sf_version="64.0",
                            session=http_session(emu), scratch_url=emu.url)
        assert (bad.value.code, bad.value.auth_message) == (
            "INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")


@pytest.mark.parametrize(("version", "code", "message"), [
    ("65.0", "INVALID_OPERATION", "The SOAP Login operation is not available in the API "
     "version specified (65.0). Refer to the documentation for supported versions."),
    ("68.0", "INVALID_OPERATION", "The SOAP Login operation is not available in the API "
     "version specified (68.0). Refer to the documentation for supported versions."),
    ("69.0", "UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL"),
    ("30.0", "UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL"),
])
def test_soap_login_refused_where_real_orgs_refuse_it(tmp_path, version, code, message):
    with start_emulator(tmp_path / "org", {"users": [OPS]}) as emu, \
            pytest.raises(SalesforceAuthenticationFailed) as err:
        SalesforceLogin(username=OPS["username"], password=OPS["password"],
                        sf_version=version, session=http_session(emu), scratch_url=emu.url)
    assert (err.value.code, err.value.auth_message) == (code, message)


def test_soap_login_switched_off_in_the_seed_or_by_the_admin(tmp_path):
    with start_emulator(tmp_path / "org", {"users": [OPS],
                                           "org": {"allow_soap_login": False}}) as emu:
        def login():
            return SalesforceLogin(username=OPS["username"], password=OPS["password"],
                                   sf_version="64.0", session=http_session(emu),
                                   scratch_url=emu.url)

        with pytest.raises(SalesforceAuthenticationFailed) as err:
            login()
        assert (err.value.code, err.value.auth_message) == (
            "INVALID_OPERATION", "SOAP API login() is disabled by default in this org. "
            "Contact the org administrator to enable SOAP API login().")
        assert admin(emu, "POST", "settings", {"allow_soap_login": True}).status_code == 204
        assert login()[0]

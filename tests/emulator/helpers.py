"""Helpers to reach the emulator as a client would: HTTPS, OAuth, simple-salesforce."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from reconciler.emulator import Emulator

API_VERSION = "62.0"


def http_session(emu: Emulator) -> requests.Session:
    """A requests session that trusts the emulator's CA and ignores REQUESTS_CA_BUNDLE."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emu.ca_file)
    return session


def token(emu: Emulator, **form: str) -> str:
    """An access token: client credentials by default, or the grant given in ``form``."""
    creds = emu.credentials()
    if not form:
        resp = http_session(emu).post(
            f"{emu.url}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        )
    else:
        resp = http_session(emu).post(f"{emu.url}/services/oauth2/token", data=form)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def client(emu: Emulator, access_token: str | None = None) -> Salesforce:
    """Unmodified simple-salesforce, pointed at the emulator."""
    return Salesforce(
        instance_url=emu.url,
        session_id=access_token or token(emu),
        session=http_session(emu),
        version=API_VERSION,
    )


def admin(emu: Emulator, method: str, what: str, body: Any = None) -> requests.Response:
    """A call to the emulator's admin surface."""
    return http_session(emu).request(
        method, f"{emu.url}/__emulator__/{what}", json=body,
        headers={"Authorization": f"Bearer {emu.admin_token}"},
    )


def one(sf: Salesforce, soql: str) -> dict[str, Any]:
    """The single record a query must return."""
    records = sf.query(soql)["records"]
    assert len(records) == 1, (soql, records)
    return dict(records[0])


def profile_id(sf: Salesforce, name: str) -> str:
    return str(one(sf, f"SELECT Id FROM Profile WHERE Name = '{name}'")["Id"])


def api_psl_id(sf: Salesforce) -> str:
    return str(one(sf, "SELECT Id FROM PermissionSetLicense "
                       "WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'")["Id"])


def user_license_id(sf: Salesforce, name: str) -> str:
    return str(one(sf, f"SELECT Id FROM UserLicense WHERE Name = '{name}'")["Id"])


INTEGRATION_PROFILE = "Minimum Access - API Only Integrations"


def make_user(sf: Salesforce, username: str, profile: str = INTEGRATION_PROFILE,
              **extra: Any) -> str:
    """Create a user with every required field; returns its Id."""
    values = {"Username": username, "LastName": username.split("@")[0], "Alias": "u",
              "Email": username, "ProfileId": profile_id(sf, profile), "TimeZoneSidKey": "GMT",
              "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
              "LanguageLocaleKey": "en_US", **extra}
    return str(sf.User.create(values)["id"])


def make_set(sf: Salesforce, name: str, license_id: str | None = None, **extra: Any) -> str:
    values = {"Name": name, "Label": name.replace("_", " "), **extra}
    if license_id:
        values["LicenseId"] = license_id
    return str(sf.PermissionSet.create(values)["id"])


def grant(sf: Salesforce, ps_id: str, sobject: str, **perms: bool) -> str:
    values = {"ParentId": ps_id, "SobjectType": sobject,
              **{f"Permissions{k}": v for k, v in perms.items()}}
    return str(sf.ObjectPermissions.create(values)["id"])


def sf_error(exc: BaseException) -> tuple[str, str]:
    """(errorCode, message) of a simple-salesforce exception."""
    content = getattr(exc, "content", None)
    assert isinstance(content, list) and content, content
    return str(content[0]["errorCode"]), str(content[0]["message"])


def error_body(call: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """The whole error body (errorCode, fields, message) of a call the org refuses."""
    with pytest.raises(SalesforceError) as info:
        call(*args, **kwargs)
    return list(info.value.content)

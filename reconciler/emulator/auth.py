"""OAuth for the emulated org: the token endpoint's grants and bearer sessions.

Grants: ``client_credentials`` (HTTP Basic or form fields; the session runs as the
connected app's "Run As" user), ``password`` (a user with a password, from the seed
or set through the API) and the JWT bearer flow (RS256, checked against the
certificate registered for the connected app in the seed). SOAP ``login()`` at
``/services/Soap/u/XX.0`` answers as real orgs do: only up to API 64.0. Sessions live
in memory: a restart ends them, as an expired session would.

Two org settings switch legacy logins off, as orgs created since Summer '23 (the
OAuth username-password flow) and Winter '26 (SOAP ``login()``) have them by default:
``allow_oauth_username_password_flows`` and ``allow_soap_login``, both on unless the
seed's ``org:`` block or ``POST /__emulator__/settings`` turns them off.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

import defusedxml
import defusedxml.ElementTree as SafeET
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from reconciler.emulator.apierror import invalid_session
from reconciler.emulator.seed import LOGIN_SETTINGS, check_password

if TYPE_CHECKING:
    from reconciler.emulator.org import Org

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
#: SOAP login() is not available from API 65.0 (Winter '26) on.
SOAP_LOGIN_MAX_VERSION = 64
_PARTNER_NS = "urn:partner.soap.sforce.com"


class SoapFault(Exception):
    """A SOAP fault: HTTP 500 with Salesforce's ``exceptionCode`` and ``exceptionMessage``."""

    def __init__(self, code: str, message: str, fault_type: str = "UnexpectedErrorFault"):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fault_type = fault_type

    def body(self) -> bytes:
        code, message = escape(self.code), escape(self.message)
        return (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:sf="urn:fault.partner.soap.sforce.com" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
            f"<soapenv:Fault><faultcode>sf:{code}</faultcode>"
            f"<faultstring>{code}: {message}</faultstring><detail>"
            f'<sf:{self.fault_type} xsi:type="sf:{self.fault_type}">'
            f"<sf:exceptionCode>{code}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{message}</sf:exceptionMessage>"
            f"</sf:{self.fault_type}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        ).encode()


class OAuthError(Exception):
    """A token endpoint refusal: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Session:
    token: str
    user_id: str
    expires_at: float


class Auth:
    """Issues, checks, expires and revokes the org's sessions."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _apps(self) -> list[dict[str, Any]]:
        return list(self.org.store.meta("connected_apps") or [])

    def _app(self, client_id: str | None) -> dict[str, Any]:
        for app in self._apps():
            if client_id and secrets.compare_digest(str(app["client_id"]), client_id):
                return app
        raise OAuthError("invalid_client_id", "client identifier invalid")

    def _user(self, username: str) -> dict[str, Any]:
        for user in self.org.where("User"):
            if str(user.get("Username", "")).lower() == username.lower():
                if not user.get("IsActive"):
                    raise OAuthError("invalid_grant", "authentication failure")
                return user
        raise OAuthError("invalid_grant", "authentication failure")

    def token(self, form: Mapping[str, str], authorization: str | None,
              base_url: str) -> dict[str, Any]:
        """Answer ``POST /services/oauth2/token``."""
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            client_id, client_secret = _basic(authorization) or (
                form.get("client_id"), form.get("client_secret"))
            app = self._app(client_id)
            if not client_secret or not secrets.compare_digest(app["client_secret"],
                                                               client_secret):
                raise OAuthError("invalid_client", "invalid client credentials")
            user = self._user(str(app["run_as"]))
        elif grant == "password":
            app = self._app(form.get("client_id"))
            if not self.setting("allow_oauth_username_password_flows"):
                # What a blocked org answers: nothing says the flow is the reason; only
                # the user's Login History does ("Username-Password Flow Disabled").
                raise OAuthError("invalid_grant", "authentication failure")
            secret = form.get("client_secret")
            if secret is not None and not secrets.compare_digest(app["client_secret"], secret):
                raise OAuthError("invalid_client", "invalid client credentials")
            user = self._user(form.get("username", ""))
            stored = (self.org.store.meta("passwords") or {}).get(user["Id"])
            if not stored or not check_password(stored, form.get("password", "")):
                raise OAuthError("invalid_grant", "authentication failure")
        elif grant == JWT_GRANT:
            user = self._jwt_user(form.get("assertion", ""), base_url)
        elif not grant:
            raise OAuthError("invalid_request", "grant type not specified")
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return self.issue(user["Id"], base_url)

    def setting(self, name: str) -> bool:
        """One of the seed's ``LOGIN_SETTINGS``, as the seed or the admin surface left it."""
        value = self.org.store.meta(name)
        return LOGIN_SETTINGS[name] if value is None else bool(value)

    def soap_login(self, body: bytes, major: int, base_url: str) -> bytes:
        """Answer ``POST /services/Soap/u/{major}.0`` with a ``login()`` call in ``body``."""
        if major > SOAP_LOGIN_MAX_VERSION:
            raise SoapFault("INVALID_OPERATION", "The SOAP Login operation is not available "
                            f"in the API version specified ({major}.0). Refer to the "
                            "documentation for supported versions.")
        if not self.setting("allow_soap_login"):
            raise SoapFault("INVALID_OPERATION", "SOAP API login() is disabled by default in "
                            "this org. Contact the org administrator to enable SOAP API "
                            "login().")
        try:
            root = SafeET.fromstring(body, forbid_dtd=True)
        except (ParseError, defusedxml.DefusedXmlException):
            raise SoapFault("INVALID_SOAP", "the request is not a SOAP envelope") from None
        username = root.findtext(f".//{{{_PARTNER_NS}}}username") or ""
        password = root.findtext(f".//{{{_PARTNER_NS}}}password") or ""
        try:
            user = self._user(username)
        except OAuthError:
            user = None
        stored = (self.org.store.meta("passwords") or {}).get(user["Id"]) if user else None
        if user is None or not stored or not check_password(stored, password):
            raise SoapFault("INVALID_LOGIN", "Invalid username, password, security token; "
                            "or user locked out.", "LoginFault")
        session = self.issue(user["Id"], base_url)
        org15 = self.org.org_id[:15]
        return (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns="{_PARTNER_NS}"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{base_url}/services/Soap/m/{major}.0/{org15}"
            "</metadataServerUrl><passwordExpired>false</passwordExpired>"
            f"<sandbox>false</sandbox><serverUrl>{base_url}/services/Soap/u/{major}.0/{org15}"
            f"</serverUrl><sessionId>{session['access_token']}</sessionId>"
            f"<userId>{user['Id']}</userId></result></loginResponse></soapenv:Body>"
            "</soapenv:Envelope>"
        ).encode()

    def _jwt_user(self, assertion: str, base_url: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        app = self._app(str(claims.get("iss", "")))
        cert = app.get("certificate")
        if not cert:
            raise OAuthError("invalid_grant", "invalid assertion: no certificate is "
                             "registered for this connected app")
        key = x509.load_pem_x509_certificate(str(cert).encode()).public_key()
        pem = key.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
        try:
            jwt.decode(assertion, pem, algorithms=["RS256"],
                       audience=[*JWT_AUDIENCES, base_url], options={"require": ["exp"]})
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_grant", "expired access/refresh token") from None
        except jwt.InvalidAudienceError:
            raise OAuthError("invalid_grant", "audience is invalid") from None
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        return self._user(str(claims.get("sub", "")))

    def issue(self, user_id: str, base_url: str) -> dict[str, Any]:
        """A new session for a user, as the token endpoint returns it."""
        token = self.org.org_id[:15] + "!" + secrets.token_urlsafe(48)
        with self._lock:
            self._sessions[token] = Session(token, user_id, time.time() + self.org.token_ttl)
        issued = str(int(time.time() * 1000))
        return {
            "access_token": token,
            "instance_url": base_url,
            "id": f"{base_url}/id/{self.org.org_id}/{user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
        }

    def authenticate(self, authorization: str | None) -> str:
        """The user behind a bearer token, or 401 INVALID_SESSION_ID."""
        token = ""
        if authorization and authorization.lower().startswith(("bearer ", "oauth ")):
            token = authorization.split(None, 1)[1].strip()
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires_at <= time.time():
                del self._sessions[token]
                session = None
        if session is None:
            raise invalid_session()
        got = self.org.get(session.user_id)
        if got is None or not got[1].get("IsActive"):
            raise invalid_session()
        return session.user_id

    def revoke(self, token: str) -> bool:
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def expire_all(self) -> int:
        """End every session now (how tests make a client re-authenticate)."""
        with self._lock:
            n = len(self._sessions)
            self._sessions.clear()
            return n


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(authorization.split(None, 1)[1]).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (client_id, secret) if sep else None

"""How the reconciler logs in to an org: the :class:`Connection` a config describes,
and the flows that turn it into a session (OAuth client credentials, JWT bearer,
username-password, SOAP ``login()``, a given access token, or the Salesforce CLI's
session).

simple-salesforce only builds ``https://{x}.salesforce.com`` login URLs, so the OAuth
token call is made here against the org's own login URL (a My Domain, a sandbox, the
embedded emulator); :class:`~reconciler.org.client.OrgClient` hands the SDK the
resulting instance URL and session id.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from reconciler.config.readfile import read_limited
from reconciler.config.types import DEFAULT_API_VERSION
from reconciler.errors import AuthError, ConnectionFailed, UsageError
from reconciler.org.failures import reason, untrusted
from reconciler.org.sfcli import sf_session

FLOWS = ("client_credentials", "jwt", "password", "access_token", "sf_cli")
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: SOAP login() is not available from API 65.0 on: it is always called at 64.0.
SOAP_LOGIN_VERSION = "64.0"

_API_VERSION_RE = re.compile(r"^\d{2,3}\.\d$")


@dataclass(frozen=True)
class Connection:
    """How to reach and authenticate to one org. Secret fields never appear in repr.

    ``flow`` is one of :data:`FLOWS`:

    - ``client_credentials``: ``client_id`` + ``client_secret`` (the connected app's
      "Run As" user); the recommended flow for integrations.
    - ``jwt``: ``client_id`` + ``username`` + ``private_key`` (PEM text) or
      ``private_key_file``.
    - ``password``: ``client_id`` (+ ``client_secret``) + ``username`` + ``password``
      (with the security token appended when the org wants one); blocked by default in
      orgs created since Summer '23. With ``soap_login=True``, SOAP ``login()`` instead,
      which Salesforce is retiring (always called at API 64.0, the last that has it).
    - ``access_token``: a ready ``access_token`` for ``instance_url`` (e.g. from
      ``sf org auth show-access-token``); no login call, and no renewal when it expires.
    - ``sf_cli``: ``target_org``, an alias the Salesforce CLI has logged in; the CLI
      gives the token and instance URL, and is asked again when the token expires.

    ``ca_bundle`` names the CA to trust instead of the system's (the emulator's CA).
    Invalid combinations raise :class:`~reconciler.errors.UsageError` at construction.
    """

    login_url: str
    flow: str
    instance_url: str | None = None
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    private_key_file: Path | None = None
    access_token: str | None = field(default=None, repr=False)
    ca_bundle: Path | None = None
    api_version: str = DEFAULT_API_VERSION
    soap_login: bool = False
    target_org: str | None = None

    def __post_init__(self) -> None:
        if self.flow not in FLOWS:
            raise UsageError(f"unknown auth flow {self.flow!r}: use one of {', '.join(FLOWS)}")
        if not _API_VERSION_RE.match(self.api_version):
            raise UsageError(f"api_version {self.api_version!r} should look like 62.0")
        for name in ("login_url", "instance_url"):
            url = getattr(self, name)
            if url is not None and urlsplit(url).scheme != "https":
                raise UsageError(f"{name} must be an https:// URL, not {url!r}")
        needs = {
            "client_credentials": ("client_id", "client_secret"),
            "jwt": ("client_id", "username"),
            "password": ("username", "password") if self.soap_login
            else ("client_id", "username", "password"),
            "access_token": ("access_token", "instance_url"),
            "sf_cli": ("target_org",),
        }[self.flow]
        missing = [name for name in needs if not getattr(self, name)]
        if self.flow == "jwt" and not (self.private_key or self.private_key_file):
            missing.append("private_key or private_key_file")
        if missing:
            raise UsageError(f"the {self.flow} flow needs {', '.join(missing)}")
        if self.soap_login and self.flow != "password":
            raise UsageError("soap_login applies to the password flow only")

    def secrets(self) -> tuple[str, ...]:
        """The secret values held, so messages can be scrubbed of them."""
        held = (self.client_secret, self.password, self.private_key, self.access_token)
        return tuple(s for s in held if s)


# The token endpoint of an org that blocks the flow answers exactly as for a wrong
# password, so the error says both.
_BLOCKED_FLOW_HINT = (
    ". If the username and password (with the security token) are right, the org blocks "
    "the OAuth username-password flow, as orgs created since Summer '23 do by default: an "
    'org admin can turn on "Allow OAuth Username-Password Flows" in Setup > OAuth and '
    "OpenID Connect Settings, but better switch this org to flow: client_credentials "
    "(Salesforce is retiring the username-password flow)"
)


class Login:
    """Sessions for one :class:`Connection`: ``session()`` logs in (again) and answers
    (access token, instance URL, identity URL or None).

    ``pause(attempt)`` waits before retry ``attempt`` (the client's backoff, counted
    in its retries); a dropped or 503 token call is retried ``max_retries`` times.
    Messages never carry a secret the connection holds, nor the last session's token.
    """

    def __init__(self, conn: Connection, http: requests.Session, *, max_retries: int,
                 pause: Callable[[int], None]) -> None:
        self.conn = conn
        self.http = http
        self.max_retries = max_retries
        self.pause = pause
        self._token: str | None = None
        self._warned_soap = False

    def session(self) -> tuple[str, str, str | None]:
        """Log in: (access token, instance URL, identity URL or None)."""
        if self.conn.flow == "access_token":
            token, instance_url, identity_url = self.conn.access_token, self.conn.instance_url, None
        elif self.conn.flow == "sf_cli":
            assert self.conn.target_org is not None
            token, instance_url = sf_session(self.conn.target_org, stale=self._token)
            identity_url = None
        elif self.conn.soap_login:
            token, instance_url, identity_url = self._soap_login()
        else:
            token, instance_url, identity_url = self._oauth()
        assert token is not None and instance_url is not None
        self._token = token
        return token, instance_url, identity_url

    def _oauth(self) -> tuple[str, str, str | None]:
        """``POST {login_url}/services/oauth2/token`` for the connection's grant."""
        url = self.conn.login_url.rstrip("/") + "/services/oauth2/token"
        form, auth = self._grant()
        attempt = 0
        while True:
            try:
                resp = self.http.post(url, data=form, auth=auth)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if untrusted(exc):
                    raise ConnectionFailed(
                        f"{self.conn.login_url} presented a certificate that isn't trusted "
                        f"({reason(exc)}); check ca_bundle") from None
                # Asking for a token twice is harmless: retry any drop.
                if attempt < self.max_retries:
                    self.pause(attempt)
                    attempt += 1
                    continue
                raise ConnectionFailed(self._scrub(
                    f"could not reach {self.conn.login_url} to log in "
                    f"({reason(exc)})")) from None
            if resp.status_code == 503 and attempt < self.max_retries:
                self.pause(attempt)
                attempt += 1
                continue
            break
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code != 200:
            if isinstance(body, dict) and body.get("error"):
                detail = f"{body['error']}: {body.get('error_description') or 'no description'}"
                if self.conn.flow == "password" and body["error"] == "invalid_grant":
                    detail += _BLOCKED_FLOW_HINT
            else:
                detail = f"HTTP {resp.status_code} {resp.reason or ''}".rstrip()
            raise AuthError(self._scrub(f"login to {self.conn.login_url} failed: {detail}"))
        if not (isinstance(body, dict) and body.get("access_token")
                and body.get("instance_url")):
            raise AuthError(f"login to {self.conn.login_url} answered without an access "
                            "token and instance URL")
        identity = body.get("id")
        return (str(body["access_token"]), str(body["instance_url"]),
                str(identity) if identity else None)

    def _grant(self) -> tuple[dict[str, str], tuple[str, str] | None]:
        """The token request's form and HTTP Basic credentials for the flow."""
        conn = self.conn
        if conn.flow == "client_credentials":
            assert conn.client_id is not None and conn.client_secret is not None
            return {"grant_type": "client_credentials"}, (conn.client_id, conn.client_secret)
        if conn.flow == "password":
            form = {"grant_type": "password", "client_id": conn.client_id or "",
                    "username": conn.username or "", "password": conn.password or ""}
            if conn.client_secret:
                form["client_secret"] = conn.client_secret
            return form, None
        return {"grant_type": JWT_GRANT, "assertion": self._assertion()}, None

    def _assertion(self) -> str:
        """A JWT bearer assertion: RS256, iss=client_id, sub=username, exp=now+3min."""
        conn = self.conn
        key = conn.private_key
        if key is None and conn.private_key_file is not None:
            try:
                # A PEM key is a few KiB: 64 KiB refuses /dev/zero or a misnamed file.
                key = read_limited(conn.private_key_file, 64 * 1024).decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise AuthError(f"can't read the private key file {conn.private_key_file}: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
        claims = {"iss": conn.client_id, "sub": conn.username,
                  "aud": _jwt_audience(conn.login_url), "exp": int(time.time()) + 180}
        try:
            return jwt.encode(claims, key or "", algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise AuthError(self._scrub(f"the jwt flow's private key can't sign a token: "
                                        f"{type(exc).__name__}: {exc}")) from None

    def _soap_login(self) -> tuple[str, str, None]:
        """SOAP ``login()``: only when asked, with a warning that it is being retired.

        simple-salesforce's ``domain`` can only name ``https://{domain}.salesforce.com``;
        its ``scratch_url`` targets any base URL, which is how the login URL is honoured.
        """
        if not self._warned_soap:
            self._warned_soap = True
            warnings.warn(
                "SOAP login() is being retired by Salesforce (Summer '27; not available from "
                f"API 65.0, so it is called at {SOAP_LOGIN_VERSION}; off by default in orgs "
                "created from Winter '26): switch this org to the client_credentials or jwt "
                "flow", UserWarning, stacklevel=5)
        try:
            # Pinned: login() answers INVALID_OPERATION at 65.0 and later, whatever the
            # REST api_version the session is then used with.
            session_id, host = SalesforceLogin(
                username=self.conn.username, password=self.conn.password,
                sf_version=SOAP_LOGIN_VERSION, session=self.http,
                scratch_url=self.conn.login_url.rstrip("/"))
        except SalesforceAuthenticationFailed as exc:
            code = exc.code
            detail = (f"the SOAP endpoint answered HTTP {code}" if isinstance(code, int)
                      else f"{code}: {exc.auth_message}")
            if code == "INVALID_OPERATION":
                detail += ('; an org admin can turn on "Enable SOAP API login()" in Setup > '
                           "User Interface, but better switch this org to flow: "
                           "client_credentials")
            raise AuthError(self._scrub(f"login to {self.conn.login_url} failed: "
                                        f"{detail}")) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ConnectionFailed(self._scrub(f"could not reach {self.conn.login_url} to log "
                                               f"in ({reason(exc)})")) from None
        return str(session_id), f"https://{host}", None


    def _scrub(self, text: str) -> str:
        """``text`` with every secret the client holds replaced by ``***``."""
        for secret in (*self.conn.secrets(), self._token or ""):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text


def _jwt_audience(login_url: str) -> str:
    """The JWT ``aud`` Salesforce expects for a login URL.

    Salesforce's own hosts (login, test, My Domain) want the generic login server as
    audience, ``test.salesforce.com`` for sandboxes (the Salesforce CLI maps them the
    same way); anything else (Experience Cloud sites, the emulator) wants its own URL.
    """
    host = (urlsplit(login_url).hostname or "").lower()
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return "https://test.salesforce.com"
    if host.endswith(".salesforce.com"):
        return "https://login.salesforce.com"
    return login_url.rstrip("/")

"""The one client of Salesforce: authentication, retries, session refresh, call accounting.

Every HTTP request the reconciler sends to an org goes through :class:`OrgClient`, which
wraps simple-salesforce exactly once (design §9.8). simple-salesforce only builds
``https://{x}.salesforce.com`` login URLs, so the OAuth token call is made here against
the org's own login URL (a My Domain, a sandbox, the embedded emulator) and the SDK is
given the resulting ``instance_url`` and ``session_id``. In that mode the SDK neither
refreshes an expired session nor retries anything, so this module does both.

Policy, in one place:

- **Transient failures are retried** with exponential backoff and full jitter
  (``sleep(uniform(0, backoff * 2**attempt))``, at most ``max_retries`` times): HTTP 503,
  errorCode ``UNABLE_TO_LOCK_ROW`` or ``SERVER_UNAVAILABLE`` on the call itself, and
  dropped connections.
- **A dropped write is not blindly resent.** A connection that drops after a POST, PATCH
  or DELETE was sent may have been applied; it is retried only for calls marked
  ``idempotent=True`` (GETs, queries and all-GET composite calls are). Otherwise
  :class:`~reconciler.errors.ConnectionFailed` says the outcome is unknown: the next plan
  reads the org and shows what happened. A connection that could not even be opened
  carried nothing, so it is always retried.
- **401** (expired or revoked session): log in again once and resend once; a second 401
  is an :class:`~reconciler.errors.AuthError`. A bare access token can't be renewed, so
  that flow raises AuthError at the first 401.
- **REQUEST_LIMIT_EXCEEDED**: :class:`~reconciler.errors.RequestLimitError` at once, never
  retried (retrying would only burn more of tomorrow's allowance).
- Any other error status: :class:`~reconciler.errors.ApiError` with Salesforce's
  errorCode, message and fields.
- Per-record results inside a 200 answer (sObject Collections, composite subrequests)
  are returned as given, failures included: the writer decides what to do with each.

Accounting: :attr:`OrgClient.calls` counts every request sent to ``/services/data``
(each attempt, retries included; the token and identity calls are not API calls), and
:attr:`OrgClient.api_usage` is the last ``Sforce-Limit-Info: api-usage=USED/MAX`` seen.
"""

from __future__ import annotations

import random
import re
import ssl
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jwt
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError
from simple_salesforce.login import SalesforceLogin
from simple_salesforce.util import exception_handler
from urllib3.exceptions import NewConnectionError

from reconciler.actions import COLLECTION_LIMIT
from reconciler.config.readfile import read_limited
from reconciler.config.types import DEFAULT_API_VERSION
from reconciler.errors import (
    ApiError,
    AuthError,
    ConnectionFailed,
    RequestLimitError,
    UsageError,
)

__all__ = [
    "COLLECTION_LIMIT",
    "COMPOSITE_LIMIT",
    "FLOWS",
    "Connection",
    "Identity",
    "OrgClient",
]

FLOWS = ("client_credentials", "jwt", "password", "access_token")
COMPOSITE_LIMIT = 25  # subrequests per composite call
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: SOAP login() is not available from API 65.0 on: it is always called at 64.0.
SOAP_LOGIN_VERSION = "64.0"

_TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
_MAX_PAUSE = 60.0  # seconds; keeps a large max_retries from sleeping for hours
_API_VERSION_RE = re.compile(r"^\d{2,3}\.\d$")
_SOBJECT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_USAGE_RE = re.compile(r"(?<![\w-])api-usage=(\d+)/(\d+)")
_T = TypeVar("_T")


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
      ``sf org display``); no login call, and no renewal when it expires.

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


@dataclass(frozen=True)
class Identity:
    """Who the client is logged in as: the running user and its org (18-char Ids)."""

    user_id: str
    username: str
    org_id: str


class _AccountingSession(requests.Session):
    """A requests session that counts API calls and remembers the API usage header.

    Counting here, at the transport, rather than around SDK calls means every request
    that left for ``/services/data`` is counted exactly once, whoever sent it.
    """

    def __init__(self, ca_bundle: Path | None, timeout: float) -> None:
        super().__init__()
        # REQUESTS_CA_BUNDLE in the environment would otherwise replace `verify`.
        self.trust_env = False
        self.verify = str(ca_bundle) if ca_bundle is not None else True
        self.default_timeout = timeout
        self.calls = 0
        self.limit_info: str | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        is_api = urlsplit(request.url or "").path.startswith("/services/data")
        if is_api:
            self.calls += 1
        if kwargs.get("timeout") is None:
            # simple-salesforce sets no timeout; a hung org must not hang a plan forever.
            kwargs["timeout"] = self.default_timeout
        response = super().send(request, **kwargs)
        header = response.headers.get("Sforce-Limit-Info")
        if is_api and header:
            self.limit_info = header
        return response


class OrgClient:
    """The one wrapper of simple-salesforce: auth, retries, 401 refresh, call accounting.

    The client connects lazily, on the first call that needs the org (or on
    :meth:`connect`), so building one costs nothing. It is not thread-safe: give each
    thread its own. Use it as a context manager, or call :meth:`close`, to release
    its connections.

    ``sleep`` and ``rng`` exist so tests can record backoff delays instead of waiting.
    ``timeout`` bounds each HTTP request, in seconds.
    """

    def __init__(
        self,
        conn: Connection,
        *,
        max_retries: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        timeout: float = 120.0,
    ) -> None:
        if max_retries < 0 or backoff < 0 or timeout <= 0:
            raise ValueError("max_retries and backoff must be >= 0, timeout > 0")
        self.conn = conn
        self.api_version = conn.api_version
        self.max_retries = max_retries
        self.backoff = backoff
        #: Retries after transient failures (the re-sends after a 401 are not counted).
        self.retries = 0
        #: Logins repeated because the org answered 401 to a call.
        self.reauthentications = 0
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._http = _AccountingSession(conn.ca_bundle, timeout)
        self._sf: Salesforce | None = None
        self._token: str | None = None
        self._instance_url: str | None = conn.instance_url
        self._identity_url: str | None = None
        self._identity: Identity | None = None
        self._describes: dict[str, dict[str, Any] | None] = {}
        self._warned_soap = False

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> OrgClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()

    def connect(self) -> None:
        """Log in now rather than at the first call (idempotent)."""
        if self._sf is None:
            self._login()

    # -- accounting and identity -------------------------------------------------

    @property
    def calls(self) -> int:
        """API calls sent to ``/services/data``: every attempt, retries included."""
        return self._http.calls

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, max) from the last ``Sforce-Limit-Info`` header seen, if any."""
        if self._http.limit_info is None:
            return None
        m = _USAGE_RE.search(self._http.limit_info)
        return (int(m.group(1)), int(m.group(2))) if m else None

    @property
    def instance_url(self) -> str:
        """The org's instance URL (from the login answer; logs in if needed)."""
        self.connect()
        assert self._instance_url is not None
        return self._instance_url

    def whoami(self) -> Identity:
        """The running user and org, asked once from Salesforce's identity service.

        OAuth logins answer with an identity URL (``id``), which is read with the
        bearer token. A bare access token or a SOAP login has none; then the OpenID
        Connect ``/services/oauth2/userinfo`` endpoint of the instance answers. Neither
        is a ``/services/data`` call, so neither counts in :attr:`calls`.
        """
        if self._identity is None:
            self.connect()
            body = self._call("GET identity", lambda sf: self._get_identity(), retry_drops=True)
            user_id = body.get("user_id") if isinstance(body, dict) else None
            org_id = body.get("organization_id") if isinstance(body, dict) else None
            username = (body.get("username") or body.get("preferred_username")
                        if isinstance(body, dict) else None)
            if not (user_id and org_id and username):
                raise AuthError(f"the identity service of {self.conn.login_url} did not say "
                                "who is logged in")
            self._identity = Identity(str(user_id), str(username), str(org_id))
        return self._identity

    @property
    def user_id(self) -> str:
        """The running user's 18-character Id (see :meth:`whoami`)."""
        return self.whoami().user_id

    @property
    def username(self) -> str:
        """The running user's username (see :meth:`whoami`)."""
        return self.whoami().username

    @property
    def org_id(self) -> str:
        """The org's 18-character Id (see :meth:`whoami`)."""
        return self.whoami().org_id

    # -- the REST API ------------------------------------------------------------

    def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record of a SOQL query, following ``nextRecordsUrl``; one call per page.

        Records come as Salesforce returns them (with ``attributes``). Build ``soql``
        with :mod:`reconciler.org.soql` so values are escaped.
        """
        return [record for page in self.query_pages(soql) for record in page]

    def query_pages(self, soql: str) -> Iterator[list[dict[str, Any]]]:
        """The records of a SOQL query page by page (up to 2000 each), lazily."""
        page = self._call("GET query", lambda sf: sf.query(soql), retry_drops=True)
        while True:
            yield list(page.get("records") or [])
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call("GET query (next page)", _next_page(str(next_url)),
                              retry_drops=True)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """One REST call; ``path`` is relative to ``/services/data/vXX.X/``.

        Returns the parsed JSON answer, or None for 204 No Content (and, as
        simple-salesforce does, for an empty JSON object or array). ``idempotent``
        says whether a call whose connection dropped may be sent again; it defaults to
        True for GET and HEAD and False otherwise.
        """
        method = method.upper()
        path = path.lstrip("/")
        if idempotent is None:
            idempotent = method in ("GET", "HEAD")
        query = dict(params) if params is not None else None

        def send(sf: Salesforce) -> Any:
            return sf.restful(path, params=query, method=method, json=json)

        return self._call(f"{method} {path}", send, retry_drops=idempotent)

    def collection(
        self,
        method: str,
        records_or_ids: Sequence[Mapping[str, Any]] | Sequence[str],
        *,
        all_or_none: bool = False,
        idempotent: bool = False,
    ) -> list[dict[str, Any]]:
        """One sObject Collections call: POST (create) or PATCH (update) records, or
        DELETE Ids; at most 200 per call (ValueError beyond: batching is the writer's).

        Records carry ``attributes: {"type": ...}`` (and ``Id`` to update). Returns one
        ``{"id", "success", "errors"}`` per item, in order, exactly as Salesforce
        answered: a per-record ``UNABLE_TO_LOCK_ROW`` inside the 200 answer is *not*
        retried here, because only the writer knows which records to send again.
        Pass ``idempotent=True`` only when sending the same call twice is harmless
        (updates to fixed values, deletes), so a dropped connection can be retried.
        """
        method = method.upper()
        if isinstance(records_or_ids, str):
            raise TypeError("pass a sequence of records or Ids, not one string")
        items = list(records_or_ids)
        if len(items) > COLLECTION_LIMIT:
            raise ValueError(f"{len(items)} records: sObject Collections take at most "
                             f"{COLLECTION_LIMIT} per call")
        if not items:
            return []
        if method == "DELETE":
            if not all(isinstance(i, str) for i in items):
                raise TypeError("DELETE takes record Ids")
            answer = self.request(
                "DELETE", "composite/sobjects", idempotent=idempotent,
                params={"ids": ",".join(str(i) for i in items),
                        "allOrNone": "true" if all_or_none else "false"})
        elif method in ("POST", "PATCH"):
            if not all(isinstance(i, Mapping) for i in items):
                raise TypeError(f"{method} takes records (mappings)")
            records = [dict(i) for i in items if isinstance(i, Mapping)]
            answer = self.request(method, "composite/sobjects", idempotent=idempotent,
                                  json={"allOrNone": all_or_none, "records": records})
        else:
            raise ValueError(f"sObject Collections take POST, PATCH or DELETE, not {method}")
        if not isinstance(answer, list) or len(answer) != len(items):
            got = len(answer) if isinstance(answer, list) else type(answer).__name__
            raise ApiError(200, "", f"{method} composite/sobjects answered {got} results "
                           f"for {len(items)} records")
        return [dict(result) for result in answer]

    def composite(
        self,
        subrequests: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        idempotent: bool | None = None,
    ) -> list[dict[str, Any]]:
        """One composite call of at most 25 subrequests; their answers, in order.

        Each subrequest is ``{"method", "url", "referenceId", "body"?}``; a ``url``
        without a leading ``/`` is taken relative to ``/services/data/vXX.X/``.
        Answers are ``{"body", "httpHeaders", "httpStatusCode", "referenceId"}`` as
        given, failures included (not retried). ``idempotent`` defaults to True when
        every subrequest is a GET.
        """
        subs = []
        for sub in subrequests:
            sub = dict(sub)
            url = str(sub.get("url", ""))
            if not url.startswith("/"):
                sub["url"] = f"/services/data/v{self.api_version}/{url}"
            subs.append(sub)
        if len(subs) > COMPOSITE_LIMIT:
            raise ValueError(f"{len(subs)} subrequests: a composite call takes at most "
                             f"{COMPOSITE_LIMIT}")
        if not subs:
            return []
        if idempotent is None:
            idempotent = all(str(s.get("method", "GET")).upper() == "GET" for s in subs)
        answer = self.request("POST", "composite", idempotent=idempotent,
                              json={"allOrNone": all_or_none, "compositeRequest": subs})
        results = answer.get("compositeResponse") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(subs):
            raise ApiError(200, "", f"POST composite answered without one result per "
                           f"subrequest ({len(subs)} sent)")
        return [dict(result) for result in results]

    def describe(self, sobjects: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """The describe of each sObject, None for one the org doesn't have (404).

        Asked through :meth:`composite`, 25 objects per call, and cached for the life
        of the client (names compare case-insensitively). Any other failure of a
        describe raises :class:`~reconciler.errors.ApiError`.
        """
        names = list(dict.fromkeys(sobjects))
        for name in names:
            if not _SOBJECT_NAME_RE.match(name):
                raise ValueError(f"{name!r} is not an sObject API name")
        todo = list(dict.fromkeys(n.lower() for n in names if n.lower() not in self._describes))
        wanted = {n.lower(): n for n in reversed(names)}  # first spelling given
        for start in range(0, len(todo), COMPOSITE_LIMIT):
            batch = todo[start:start + COMPOSITE_LIMIT]
            subs = [{"method": "GET", "url": f"sobjects/{wanted[key]}/describe",
                     "referenceId": f"describe{i}"} for i, key in enumerate(batch)]
            for key, answer in zip(batch, self.composite(subs), strict=True):
                status = int(answer.get("httpStatusCode") or 0)
                if status == 200 and isinstance(answer.get("body"), dict):
                    self._describes[key] = answer["body"]
                elif status == 404:
                    self._describes[key] = None
                else:
                    raise _api_error(status, answer.get("body"),
                                     f"GET sobjects/{wanted[key]}/describe")
        return {name: self._describes[name.lower()] for name in names}

    def limits(self) -> dict[str, Any]:
        """The org's limits (``GET limits``): ``{"DailyApiRequests": {"Max", ...}, ...}``."""
        answer = self.request("GET", "limits")
        return dict(answer) if isinstance(answer, dict) else {}

    def versions(self) -> list[str]:
        """The API versions the org serves (``GET /services/data/``), e.g. ``["64.0"]``.

        The one call outside ``/services/data/vXX.X/``, so it works whatever
        ``api_version`` says.
        """
        def send(sf: Salesforce) -> Any:
            # The SDK builds only versioned URLs; this sends an absolute one with the
            # session's headers and the SDK's error handling.
            url = f"https://{sf.sf_instance}/services/data/"
            return sf._call_salesforce("GET", url, name="services/data").json()

        answer = self._call("GET services/data", send, retry_drops=True)
        items = answer if isinstance(answer, list) else []
        return [str(v["version"]) for v in items if isinstance(v, dict) and v.get("version")]

    # -- the retry loop ----------------------------------------------------------

    def _call(self, what: str, send: Callable[[Salesforce], _T], *, retry_drops: bool) -> _T:
        """Run ``send`` under the policy in the module docstring."""
        attempt = 0
        refreshed = False
        while True:
            self.connect()
            assert self._sf is not None
            try:
                return send(self._sf)
            except SalesforceError as exc:
                status = int(exc.status)
                content: Any = exc.content
                code = _first_code(content)
                if status == 401:
                    if refreshed:
                        raise AuthError(f"{what}: the org refused a fresh session too "
                                        f"({_describe_errors(status, content)})") from exc
                    self._relogin()
                    refreshed = True
                    continue
                if code == "REQUEST_LIMIT_EXCEEDED":
                    usage = self.api_usage
                    shown = f" (api-usage={usage[0]}/{usage[1]})" if usage else ""
                    raise RequestLimitError(
                        status, code, f"the org's daily API request limit is used up{shown}; "
                        "it frees up over the next 24 hours") from exc
                if (status == 503 or code in _TRANSIENT_CODES) and attempt < self.max_retries:
                    self._pause(attempt)
                    attempt += 1
                    continue
                error = _api_error(status, content, what)
                if attempt:
                    error.message += f" (still failing after {attempt} retries)"
                raise error from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                if _untrusted(exc):
                    raise ConnectionFailed(f"{what}: {self._instance_url} presented a "
                                           f"certificate that isn't trusted ({_reason(exc)}); "
                                           "check ca_bundle") from exc
                # A connection that never opened carried nothing: always safe to resend.
                if (retry_drops or _never_sent(exc)) and attempt < self.max_retries:
                    self._pause(attempt)
                    attempt += 1
                    continue
                if not retry_drops and not _never_sent(exc):
                    raise ConnectionFailed(
                        f"{what}: the connection dropped before an answer came "
                        f"({_reason(exc)}); the change may or may not have been applied, "
                        "and the next plan will show which") from exc
                raise ConnectionFailed(f"{what}: the connection failed {attempt + 1} times "
                                       f"({_reason(exc)})") from exc

    def _pause(self, attempt: int) -> None:
        self.retries += 1
        self._sleep(self._rng.uniform(0, min(_MAX_PAUSE, self.backoff * 2**attempt)))

    # -- authentication ----------------------------------------------------------

    def _login(self) -> None:
        if self.conn.flow == "access_token":
            token, instance_url, identity_url = self.conn.access_token, self.conn.instance_url, None
        elif self.conn.soap_login:
            token, instance_url, identity_url = self._soap_login()
        else:
            token, instance_url, identity_url = self._oauth()
        assert token is not None and instance_url is not None
        self._token, self._instance_url, self._identity_url = token, instance_url, identity_url
        self._sf = Salesforce(instance_url=instance_url, session_id=token, session=self._http,
                              version=self.api_version, object_pairs_hook=dict)

    def _relogin(self) -> None:
        if self.conn.flow == "access_token":
            raise AuthError(f"the access token for {self.conn.instance_url} has expired or "
                            "was revoked; get a fresh one (e.g. re-run `sf org display`)")
        self.reauthentications += 1
        self._login()

    def _oauth(self) -> tuple[str, str, str | None]:
        """``POST {login_url}/services/oauth2/token`` for the connection's grant."""
        url = self.conn.login_url.rstrip("/") + "/services/oauth2/token"
        form, auth = self._grant()
        attempt = 0
        while True:
            try:
                resp = self._http.post(url, data=form, auth=auth)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if _untrusted(exc):
                    raise ConnectionFailed(
                        f"{self.conn.login_url} presented a certificate that isn't trusted "
                        f"({_reason(exc)}); check ca_bundle") from None
                # Asking for a token twice is harmless: retry any drop.
                if attempt < self.max_retries:
                    self._pause(attempt)
                    attempt += 1
                    continue
                raise ConnectionFailed(self._scrub(
                    f"could not reach {self.conn.login_url} to log in "
                    f"({_reason(exc)})")) from None
            if resp.status_code == 503 and attempt < self.max_retries:
                self._pause(attempt)
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
                "flow", UserWarning, stacklevel=4)
        try:
            # Pinned: login() answers INVALID_OPERATION at 65.0 and later, whatever the
            # REST api_version the session is then used with.
            session_id, host = SalesforceLogin(
                username=self.conn.username, password=self.conn.password,
                sf_version=SOAP_LOGIN_VERSION, session=self._http,
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
                                               f"in ({_reason(exc)})")) from None
        return str(session_id), f"https://{host}", None

    def _get_identity(self) -> Any:
        """GET the identity URL (or userinfo) with the bearer token; SDK-style errors."""
        url = self._identity_url or f"{self._instance_url}/services/oauth2/userinfo"
        resp = self._http.get(url, headers={"Authorization": f"Bearer {self._token}",
                                            "Accept": "application/json"})
        if resp.status_code >= 300:
            exception_handler(resp, name="identity")
        return resp.json()

    def _scrub(self, text: str) -> str:
        """``text`` with every secret the client holds replaced by ``***``."""
        for secret in (*self.conn.secrets(), self._token or ""):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text


# -- helpers -----------------------------------------------------------------------

# The token endpoint of an org that blocks the flow answers exactly as for a wrong
# password, so the error says both.
_BLOCKED_FLOW_HINT = (
    ". If the username and password (with the security token) are right, the org blocks "
    "the OAuth username-password flow, as orgs created since Summer '23 do by default: an "
    'org admin can turn on "Allow OAuth Username-Password Flows" in Setup > OAuth and '
    "OpenID Connect Settings, but better switch this org to flow: client_credentials "
    "(Salesforce is retiring the username-password flow)"
)


def _next_page(url: str) -> Callable[[Salesforce], Any]:
    def send(sf: Salesforce) -> Any:
        return sf.query_more(url, identifier_is_url=True)

    return send


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


@dataclass(frozen=True)
class _Err:
    code: str
    message: str
    fields: tuple[str, ...]


def _errors(content: Any) -> list[_Err]:
    """Salesforce's error array (or a lone error object) as a list."""
    items = content if isinstance(content, list) else [content]
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        code = item.get("errorCode") or item.get("statusCode") or item.get("error") or ""
        message = item.get("message") or item.get("error_description") or ""
        fields = item.get("fields") or ()
        if code or message:
            out.append(_Err(str(code), _one_line(str(message)),
                            tuple(str(f) for f in fields) if isinstance(fields, list) else ()))
    return out


# A query error points at the spot: "\nSELECT … FROM XYZZY\n   ^\nERROR at Row:1:Column:21\n
# sObject type 'XYZZY' is not supported. …"; an error is reported on one line.
_POINTED_RE = re.compile(r"^\s*(?P<line>[^\n]*)\n[ \t]*\^[ \t]*\n"
                         r"ERROR at (?P<at>Row:\d+:Column:\d+)\n(?P<why>.*)$", re.DOTALL)


def _one_line(message: str) -> str:
    """Salesforce's multi-line query error as ``why (at Row:R:Column:C of: line)``."""
    m = _POINTED_RE.match(message)
    if m is None:
        return message
    why = " ".join(m.group("why").split())
    return f"{why} (at {m.group('at')} of: {m.group('line').strip()})"


def _first_code(content: Any) -> str:
    errors = _errors(content)
    return errors[0].code if errors else ""


def _describe_errors(status: int, content: Any) -> str:
    errors = _errors(content)
    if errors:
        return "; ".join(f"{e.code}: {e.message}" if e.code else e.message for e in errors)
    return f"HTTP {status}"


def _api_error(status: int, content: Any, what: str) -> ApiError:
    """An ApiError from an error answer; never without a message."""
    errors = _errors(content)
    if errors:
        message = "; ".join(e.message for e in errors if e.message)
        return ApiError(status, errors[0].code, message or f"HTTP {status} from {what}",
                        errors[0].fields)
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    text = content.strip() if isinstance(content, str) else ""
    return ApiError(status, "", f"HTTP {status} from {what}" + (f": {text[:200]}" if text else ""))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: urllib3 nests the real reason in args and ``reason``."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo.extend(a for a in cur.args if isinstance(a, BaseException))
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        if cur.__cause__ is not None:
            todo.append(cur.__cause__)


def _never_sent(exc: BaseException) -> bool:
    """Whether the request certainly never reached the server (connect failed)."""
    return any(isinstance(c, requests.ConnectTimeout | NewConnectionError) for c in _causes(exc))


def _untrusted(exc: BaseException) -> bool:
    """Whether TLS failed on certificate verification (permanent: retrying won't help)."""
    return any(isinstance(c, ssl.SSLCertVerificationError) for c in _causes(exc))


def _reason(exc: BaseException) -> str:
    """A short human reason for a transport failure: the innermost cause's text."""
    causes = list(_causes(exc))
    inner = causes[-1]
    text = str(inner) or type(inner).__name__
    # urllib3 prefixes "<urllib3.connection.HTTPSConnection object at 0x…>: ".
    return re.sub(r"^<[^>]*>: ", "", text)


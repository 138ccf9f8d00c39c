"""The one client of Salesforce: authentication, retries, session refresh, call accounting.

Every HTTP request the reconciler sends to an org goes through :class:`OrgClient`, which
wraps simple-salesforce exactly once (design §9.8). Logging in is
:mod:`reconciler.org.login`'s job (simple-salesforce only builds
``https://{x}.salesforce.com`` login URLs, so the token call is made there against the
org's own login URL) and the SDK is given the resulting ``instance_url`` and
``session_id``. In that mode the SDK neither refreshes an expired session nor retries
anything, so this module does both; :mod:`reconciler.org.failures` reads the errors.

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
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.util import exception_handler

from reconciler.actions import COLLECTION_LIMIT, COMPOSITE_RECORDS
from reconciler.errors import ApiError, AuthError, ConnectionFailed, RequestLimitError
from reconciler.org.failures import (
    api_error,
    describe_errors,
    first_code,
    never_sent,
    reason,
    untrusted,
)
from reconciler.org.login import Connection, Login

__all__ = [
    "COLLECTION_LIMIT",
    "COMPOSITE_LIMIT",
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
        self._auth = Login(conn, self._http, max_retries=max_retries, pause=self._pause)

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

    def composite_collections(
        self,
        method: str,
        records_or_ids: Sequence[Mapping[str, Any]] | Sequence[str],
        *,
        idempotent: bool = False,
    ) -> list[dict[str, Any]]:
        """One composite call carrying sObject Collections subrequests of
        :data:`COLLECTION_LIMIT` records each: what :meth:`collection` does for 200
        records, for up to ``actions.COMPOSITE_RECORDS`` (1,000) in one API call.

        Returns one ``{"id", "success", "errors"}`` per item, in order, with
        ``allOrNone=false`` throughout. A subrequest refused as a whole (a non-2xx
        answer) fails each of its records with the subrequest's error, so per-record
        handling sees them like any other failure (``UNABLE_TO_LOCK_ROW`` included).
        """
        method = method.upper()
        if isinstance(records_or_ids, str):
            raise TypeError("pass a sequence of records or Ids, not one string")
        items = list(records_or_ids)
        if len(items) > COMPOSITE_RECORDS:
            raise ValueError(f"{len(items)} records: a composite call carries at most "
                             f"{COMPOSITE_RECORDS}")
        chunks = [items[i:i + COLLECTION_LIMIT] for i in range(0, len(items), COLLECTION_LIMIT)]
        subs = [_collections_subrequest(method, chunk, f"records{n}")
                for n, chunk in enumerate(chunks)]
        if not subs:
            return []
        results: list[dict[str, Any]] = []
        for chunk, answer in zip(chunks, self.composite(subs, idempotent=idempotent),
                                 strict=True):
            status = int(answer.get("httpStatusCode") or 0)
            body = answer.get("body")
            if status < 300 and isinstance(body, list) and len(body) == len(chunk):
                results += [dict(result) for result in body]
                continue
            error = api_error(status, body, f"{method} composite/sobjects (in composite)")
            failed = {"statusCode": error.error_code or f"HTTP_{status}",
                      "message": error.api_message,
                      "fields": list(error.fields)}
            results += [{"id": None, "success": False, "errors": [failed]} for _ in chunk]
        return results

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

    def bulk2(self, sobject: str, what: str, send: Callable[[Any], _T], *,
              idempotent: bool) -> _T:
        """One call of a Bulk API 2.0 ingest job on ``sobject`` under the policy above
        (counted, retried, refreshed after a 401; ``idempotent`` as for :meth:`request`).

        ``send`` gets simple-salesforce's Bulk 2.0 job client for the object
        (``create_job``, ``upload_job_data``, ``close_job``, ``get_job``,
        ``get_ingest_results``, ``abort_job``): one HTTP call each. The SDK's one-shot
        ``insert``/``update``/``delete`` are not used: they poll without bound and abort a
        job whose poll fails, which would throw away work the org is still doing.
        """
        def call(sf: Salesforce) -> _T:
            return send(getattr(sf.bulk2, sobject)._client)

        return self._call(f"{what} ({sobject}, Bulk API 2.0)", call, retry_drops=idempotent)

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
                    raise api_error(status, answer.get("body"),
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
                code = first_code(content)
                if status == 401:
                    if refreshed:
                        raise AuthError(f"{what}: the org refused a fresh session too "
                                        f"({describe_errors(status, content)})") from exc
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
                error = api_error(status, content, what)
                if attempt:
                    error.message += f" (still failing after {attempt} retries)"
                raise error from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                if untrusted(exc):
                    raise ConnectionFailed(f"{what}: {self._instance_url} presented a "
                                           f"certificate that isn't trusted ({reason(exc)}); "
                                           "check ca_bundle") from exc
                # A connection that never opened carried nothing: always safe to resend.
                if (retry_drops or never_sent(exc)) and attempt < self.max_retries:
                    self._pause(attempt)
                    attempt += 1
                    continue
                if not retry_drops and not never_sent(exc):
                    raise ConnectionFailed(
                        f"{what}: the connection dropped before an answer came "
                        f"({reason(exc)}); the change may or may not have been applied, "
                        "and the next plan will show which") from exc
                raise ConnectionFailed(f"{what}: the connection failed {attempt + 1} times "
                                       f"({reason(exc)})") from exc

    def _pause(self, attempt: int) -> None:
        self.retries += 1
        self._sleep(self._rng.uniform(0, min(_MAX_PAUSE, self.backoff * 2**attempt)))

    # -- authentication ----------------------------------------------------------

    def _login(self) -> None:
        token, instance_url, identity_url = self._auth.session()
        self._token, self._instance_url, self._identity_url = token, instance_url, identity_url
        self._sf = Salesforce(instance_url=instance_url, session_id=token, session=self._http,
                              version=self.api_version, object_pairs_hook=dict)

    def _relogin(self) -> None:
        if self.conn.flow == "access_token":
            # Recent sf CLIs hide the token in `sf org display`: name the command that shows it.
            raise AuthError(f"the access token for {self.conn.instance_url} has expired or "
                            "was revoked; get a fresh one (`sf org auth show-access-token`), "
                            "or let the reconciler ask sf itself with `flow: sf_cli`")
        self.reauthentications += 1
        self._login()

    def _get_identity(self) -> Any:
        """GET the identity URL (or userinfo) with the bearer token; SDK-style errors."""
        url = self._identity_url or f"{self._instance_url}/services/oauth2/userinfo"
        resp = self._http.get(url, headers={"Authorization": f"Bearer {self._token}",
                                            "Accept": "application/json"})
        if resp.status_code >= 300:
            exception_handler(resp, name="identity")
        return resp.json()

# -- helpers -----------------------------------------------------------------------

def _collections_subrequest(method: str, items: list[Any], reference: str) -> dict[str, Any]:
    """A composite subrequest: one sObject Collections call of ``items``."""
    if method == "DELETE":
        if not all(isinstance(i, str) for i in items):
            raise TypeError("DELETE takes record Ids")
        return {"method": "DELETE", "referenceId": reference,
                "url": f"composite/sobjects?ids={','.join(items)}&allOrNone=false"}
    if method not in ("POST", "PATCH"):
        raise ValueError(f"sObject Collections take POST, PATCH or DELETE, not {method}")
    if not all(isinstance(i, Mapping) for i in items):
        raise TypeError(f"{method} takes records (mappings)")
    return {"method": method, "url": "composite/sobjects", "referenceId": reference,
            "body": {"allOrNone": False, "records": [dict(i) for i in items]}}


def _next_page(url: str) -> Callable[[Salesforce], Any]:
    def send(sf: Salesforce) -> Any:
        return sf.query_more(url, identifier_is_url=True)

    return send



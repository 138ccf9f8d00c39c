"""What a failed call says: Salesforce's error answers as :class:`ApiError` (on one
line, never without a message), and the causes of a transport failure (was anything
sent? was the certificate refused? a short reason)."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from reconciler.errors import ApiError


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


def first_code(content: Any) -> str:
    """The errorCode of the first error in an answer ("" without one)."""
    errors = _errors(content)
    return errors[0].code if errors else ""


def describe_errors(status: int, content: Any) -> str:
    """Every error of an answer, ``CODE: message; …`` (``HTTP status`` without any)."""
    errors = _errors(content)
    if errors:
        return "; ".join(f"{e.code}: {e.message}" if e.code else e.message for e in errors)
    return f"HTTP {status}"


def api_error(status: int, content: Any, what: str) -> ApiError:
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
        wrapped = getattr(cur, "reason", None)
        if isinstance(wrapped, BaseException):
            todo.append(wrapped)
        if cur.__cause__ is not None:
            todo.append(cur.__cause__)


def never_sent(exc: BaseException) -> bool:
    """Whether the request certainly never reached the server (connect failed)."""
    return any(isinstance(c, requests.ConnectTimeout | NewConnectionError) for c in _causes(exc))


def untrusted(exc: BaseException) -> bool:
    """Whether TLS failed on certificate verification (permanent: retrying won't help)."""
    return any(isinstance(c, ssl.SSLCertVerificationError) for c in _causes(exc))


def reason(exc: BaseException) -> str:
    """A short human reason for a transport failure: the innermost cause's text."""
    causes = list(_causes(exc))
    inner = causes[-1]
    text = str(inner) or type(inner).__name__
    # urllib3 prefixes "<urllib3.connection.HTTPSConnection object at 0x…>: ".
    return re.sub(r"^<[^>]*>: ", "", text)

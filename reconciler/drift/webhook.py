"""Delivering a notification: a webhook URL that takes a JSON POST (Slack's incoming
webhooks, or anything else), retried, and never shown in full.

Webhook URLs carry their secret in the path or query: output shows only scheme and
host (``https://hooks.slack.com/…``), and errors are scrubbed of the rest.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from reconciler.config.interpolate import env_reference
from reconciler.errors import UsageError


def mask_url(url: str) -> str:
    """A webhook URL safe to print: scheme and host only (``https://hooks.slack.com/…``).

    Webhook URLs carry their secret in the path or query, so that is never shown.
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host += f":{parts.port}"
    hidden = "/…" if (parts.path not in ("", "/") or parts.query or parts.fragment) else ""
    return f"{parts.scheme or '?'}://{host}{hidden}"


def _scrub(text: str, url: str) -> str:
    parts = urlsplit(url)
    secret = parts.path + (f"?{parts.query}" if parts.query else "")
    text = text.replace(url, mask_url(url))
    for piece in (secret, parts.path, parts.query):
        if piece and piece != "/":
            text = text.replace(piece, "/…")
    return text


@dataclass(frozen=True)
class Delivery:
    """How a POST went: delivered or not, after how many attempts, and why not."""

    ok: bool
    attempts: int
    error: str = ""


@dataclass(frozen=True)
class Webhook:
    """A URL that takes a JSON POST (Slack's incoming webhooks, or anything else)."""

    url: str
    timeout: float = 10.0
    attempts: int = 3
    backoff: float = 0.5

    def __repr__(self) -> str:
        return f"Webhook({mask_url(self.url)!r})"

    @property
    def shown(self) -> str:
        return mask_url(self.url)

    def post(self, body: Mapping[str, Any]) -> Delivery:
        """POST ``body`` as JSON; retry drops, timeouts, 429 and 5xx with backoff
        (``Retry-After`` honoured up to 30 s). Never raises."""
        error = ""
        for attempt in range(1, self.attempts + 1):
            wait = self.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            try:
                resp = requests.post(self.url, json=body,
                                     timeout=(min(5.0, self.timeout), self.timeout))
            except requests.RequestException as exc:
                error = _scrub(f"{type(exc).__name__}: {_innermost(exc)}", self.url)
            else:
                if resp.status_code < 300:
                    return Delivery(True, attempt)
                error = f"HTTP {resp.status_code} {resp.reason or ''}".rstrip()
                if resp.status_code != 429 and resp.status_code < 500:
                    return Delivery(False, attempt, error)
                after = _retry_after(resp.headers.get("Retry-After"))
                if after is not None:
                    wait = min(after, 30.0)
            if attempt < self.attempts:
                time.sleep(wait)
        return Delivery(False, self.attempts, error)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _innermost(exc: BaseException) -> str:
    seen: BaseException = exc
    while True:
        inner = seen.__cause__ or seen.__context__
        reason = getattr(seen, "reason", None)
        nxt = reason if isinstance(reason, BaseException) else inner
        if nxt is None or nxt is seen:
            break
        seen = nxt
    return re.sub(r"^<[^>]*>: ", "", str(seen) or type(seen).__name__)


def webhook(value: str) -> Webhook:
    """``--notify``: a URL, or ``${env.NAME}`` naming the variable that holds it."""
    name = env_reference(value)
    url = value
    if name is not None:
        url = os.environ.get(name, "")
        if not url:
            raise UsageError(f"--notify: the environment variable {name} is not set")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--notify needs an http(s) URL, got {mask_url(url)!r}")
    return Webhook(url)

"""Faults the emulator injects on request, so tests can see the reconciler cope.

A fault matches a method and a path (a regular expression searched in the path), and
``body`` when given (one searched in the request body, so a composite call carrying
collections can be told from one carrying describes), and fires for its next ``times``
matching calls (``times: null`` for every call):

- ``error``: answer ``status`` with ``[{"errorCode", "message"}]`` and do nothing;
- ``lock``: ``UNABLE_TO_LOCK_ROW``; per record (HTTP 200) on sObject Collections, in a
  composite call per record of its collections subrequests and per other subrequest;
- ``drop``: close the connection without an answer, ``when`` ``before`` the work is
  done or ``after`` it (the write happened but the client never hears);
- ``latency``: wait ``delay`` seconds, then serve normally;
- ``expire_session``: end every session first, so the call gets 401.

Method ``PROCESS`` matches no request: such faults fire while a Bulk API 2.0 ingest job
is processed, once per row, on the path ``/jobs/ingest/<job id>`` (``lock``: that row
fails with UNABLE_TO_LOCK_ROW; ``error``: the job fails there as a whole; ``latency``:
the row waits), as ``bulk.py`` describes.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("error", "lock", "drop", "latency", "expire_session")


@dataclass
class Fault:
    kind: str = "error"
    method: str = "*"
    path: str = ""
    body: str = ""
    status: int = 503
    error_code: str = "SERVER_UNAVAILABLE"
    message: str = "Service unavailable (injected by the emulator)"
    times: int | None = 1
    when: str = "before"
    delay: float = 0.0
    id: int = 0
    fired: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def matches(self, method: str, path: str, body: bytes = b"") -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self._pattern is None:
            self._pattern = re.compile(self.path)
        if not self._pattern.search(path):
            return False
        return not self.body or re.search(self.body, body.decode("utf-8", "replace")) is not None

    def describe(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("_pattern", None)
        return out


class Faults:
    """The org's fault list; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next = 1
        self._lock = threading.Lock()

    def add(self, **spec: Any) -> Fault:
        """Register a fault (keyword names as in :class:`Fault`); ValueError if malformed."""
        allowed = {"kind", "method", "path", "body", "status", "error_code", "message",
                   "times", "when", "delay"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        fault = Fault(**spec)
        if fault.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(KINDS)}")
        if fault.when not in ("before", "after"):
            raise ValueError("fault 'when' must be 'before' or 'after'")
        re.compile(fault.path)
        re.compile(fault.body)
        if fault.kind == "lock":
            fault.status, fault.error_code = 400, "UNABLE_TO_LOCK_ROW"
            if fault.message.startswith("Service unavailable"):
                fault.message = ""  # worded per record, as Salesforce does (apierror)
        with self._lock:
            fault.id = self._next
            self._next += 1
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str, body: bytes = b"") -> Fault | None:
        """The first fault matching this call, counting it as fired."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, body):
                    fault.fired += 1
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]

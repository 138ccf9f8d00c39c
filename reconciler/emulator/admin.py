"""The admin surface tests drive an emulator with, in Python or over HTTPS under
``/__emulator__/`` (faults, stats, reset, sessions, limits, settings, groups) behind a
bearer token of its own."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.auth import Auth
from reconciler.emulator.faults import Faults
from reconciler.emulator.listener import Reply, json_body
from reconciler.emulator.org import Org
from reconciler.emulator.rules.groups import set_group_recalculation
from reconciler.emulator.seed import LOGIN_SETTINGS, reset_org


class Admin:
    """An org's sessions, injected faults, counters and settings, as tests change them."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.auth = Auth(org)
        self.faults = Faults()

    @property
    def admin_token(self) -> str:
        return str(self.org.store.meta("admin_token"))

    def admin(self, method: str, path: str, headers: Mapping[str, str],
              body: bytes) -> Reply:
        """Answer a request under ``/__emulator__/``."""
        auth = headers.get("authorization", "")
        # Constant-time, so the token can't be guessed a character at a time from timings.
        if not hmac.compare_digest(auth.encode("utf-8", "surrogateescape"),
                                   f"Bearer {self.admin_token}".encode()):
            return Reply(401, [{"message": "admin token required", "errorCode":
                                "INVALID_SESSION_ID", "fields": []}])
        what = path[len("/__emulator__"):].strip("/")
        data = json_body(body) if body else {}
        try:
            if what == "faults" and method == "POST":
                return Reply(201, self.faults.add(**(data or {})).describe())
            if what == "faults" and method == "DELETE":
                self.faults.clear()
                return Reply(204)
            if what == "faults" and method == "GET":
                return Reply(200, self.faults.list())
        except (TypeError, ValueError, re.error) as exc:
            return Reply(400, [{"message": str(exc), "errorCode": "INVALID_FAULT",
                                "fields": []}])
        if what == "groups" and method in ("GET", "POST"):
            try:
                return Reply(200, self.set_group_recalculation(**(data or {})))
            except (TypeError, ValueError) as exc:
                return Reply(400, [{"message": str(exc), "errorCode": "INVALID_SETTING",
                                    "fields": []}])
        if what == "stats" and method == "GET":
            return Reply(200, self.stats())
        if what == "stats" and method == "DELETE":
            self.reset_stats()
            return Reply(204)
        if what == "reset" and method == "POST":
            self.reset()
            return Reply(204)
        if what == "sessions" and method == "DELETE":
            return Reply(200, {"expired": self.auth.expire_all()})
        if what == "settings" and method == "POST" and isinstance(data, dict):
            unknown = sorted(set(data) - set(LOGIN_SETTINGS))
            if unknown:
                return Reply(400, [{"message": f"unknown settings {unknown}; known: "
                                    f"{sorted(LOGIN_SETTINGS)}", "errorCode": "INVALID_FIELD",
                                    "fields": unknown}])
            with self.org.lock:
                for name, value in data.items():
                    self.org.store.set_meta(name, bool(value))
            return Reply(204)
        if what == "limits" and method == "POST" and isinstance(data, dict):
            try:
                self.set_limits(**data)
            except (TypeError, ValueError) as exc:
                return Reply(400, [{"message": str(exc), "errorCode": "INVALID_SETTING",
                                    "fields": []}])
            return Reply(204)
        return Reply(404, [{"message": "unknown admin resource", "errorCode": "NOT_FOUND",
                            "fields": []}])

    def stats(self) -> dict[str, Any]:
        """API calls counted today, in total and per route."""
        with self.org.lock:
            return {"api_calls": self.org.stats.used, "daily_api_max": self.org.daily_api_max,
                    "by_route": dict(sorted(self.org.stats.by_route.items()))}

    def reset_stats(self) -> None:
        with self.org.lock:
            self.org.stats.by_route.clear()
            self.org.stats.used = 0
            self.org.store.set_meta("api_used", 0)

    def reset(self) -> None:
        """Back to the seed: data, sessions, faults and counters."""
        self.faults.clear()
        self.auth.expire_all()
        token = self.admin_token
        apps = self.org.store.meta("connected_apps")
        reset_org(self.org)
        # Keep the credentials clients already hold.
        self.org.store.set_meta("admin_token", token)
        self.org.store.set_meta("connected_apps", apps)

    def set_group_recalculation(self, *, seconds: float | None = None,
                                failing: list[str] | None = None) -> dict[str, Any]:
        """How long permission set groups recalculate, and which end Failed; what is
        set now (nothing given: only read it)."""
        with self.org.lock:
            return set_group_recalculation(self.org, seconds=seconds, failing=failing)

    def set_daily_limit(self, daily_max: int) -> None:
        with self.org.lock:
            self.org.store.set_meta("daily_api_max", daily_max)

    def set_limits(self, *, daily_api_max: int | None = None,
                   query_timeout_seconds: float | None = None) -> None:
        """The daily API call allowance and how long one query may run (seconds)."""
        if daily_api_max is not None:
            self.set_daily_limit(int(daily_api_max))
        if query_timeout_seconds is not None:
            seconds = float(query_timeout_seconds)
            if not seconds >= 0:
                raise ValueError("query_timeout_seconds must be a number of seconds, >= 0")
            with self.org.lock:
                self.org.store.set_meta("query_timeout_seconds", seconds)


"""A drift run's memory, per org, under ``.reconciler/<org>/drift/`` beside the config:
the last report, the last notification, and the lock that keeps runs from overlapping.

Files are written atomically and privately. One that can't be read back (damaged, or
of another format) counts as absent: the next run starts afresh, it never fails on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.drift.attribute import Previous
from reconciler.drift.notify import Notified
from reconciler.drift.report import Report, load_report
from reconciler.errors import ReconcilerError
from reconciler.files import FileLock
from reconciler.private_files import private_dir, write_private


class State:
    """The drift state of one org: ``last-report.json``, ``notified.json``, ``lock``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.report_path = path / "last-report.json"
        self.notified_path = path / "notified.json"
        self.lock_path = path / "lock"

    def previous(self) -> Previous | None:
        """What the next run needs of the last report, if there is a readable one."""
        report = load_report(_read_json(self.report_path))
        return Previous.of(report) if report is not None else None

    def save_report(self, report: Report) -> None:
        _write_json(self.report_path, report.model_dump(mode="json"))

    def notified(self, org_id: str) -> Notified | None:
        """The last notification delivered about this org, if any."""
        try:
            notified = Notified.model_validate(_read_json(self.notified_path))
        except ValidationError:
            return None
        return notified if notified.org_id == org_id else None

    def save_notified(self, notified: Notified) -> None:
        _write_json(self.notified_path, notified.model_dump(mode="json"))

    def lock(self, org_name: str) -> FileLock:
        """The org's drift lock, to hold for a run or a schedule; refused if it is held."""
        return FileLock(self.lock_path, f"drift for org {org_name} is already running")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    """Write atomically and privately: a reader (or a killed run) never sees half a file."""
    try:
        private_dir(path.parent)
        write_private(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ReconcilerError(f"can't save drift state to {path}: "
                              f"{exc.strerror or exc}") from None

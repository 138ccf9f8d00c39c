"""The apply journal as a document: what :mod:`reconciler.apply` writes before, during
and after an apply, and what ``rollback`` reads back (docs/plan-format.md).

Reading is checked as a plan file's is: size, JSON, format and version, every key.
Journals of versions 1 and 2 have the same shape and are both read. ``replaced`` holds
the live state of every claimed resource before the apply (:func:`replaced_state` turns
it back into model values).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ValidationError, model_serializer

from reconciler.actions import AnyAction
from reconciler.errors import UsageError
from reconciler.model import (
    FieldAccess,
    FrozenMap,
    ObjectAccess,
    PermissionSet,
    PermissionSetGroup,
    SetupEntity,
    User,
)

JOURNAL_FORMAT: Final = "reconciler-journal"
JOURNAL_VERSION = 2  # 2: the journal is written before any write; the "writing" status
#: Versions :func:`read_journal` reads (1: first written after the first layer).
READABLE_VERSIONS = (1, 2)
#: A journal is about as large as its plan; the same bound applies.
MAX_JOURNAL_BYTES = 64 * 1024 * 1024


class JournalOrg(BaseModel):
    """The org an apply wrote to."""

    name: str
    org_id: str
    instance_url: str


_OUTCOMES = ("applied", "failed", "unknown")


class JournalEntry(BaseModel):
    """One action in the journal: its status, with the outcome once it has one
    (``error``, ``record_id``, ``note``) or, when skipped, the failure it waited on."""

    id: str
    kind: str
    address: str
    #: pending, writing, applied, failed, unknown, skipped or not_attempted.
    status: str
    error: str | None = None
    record_id: str | None = None
    note: str | None = None
    waited_on: str | None = None
    action: AnyAction

    @model_serializer(mode="wrap")
    def _shape(self, handler: Any) -> dict[str, Any]:
        # Keys that belong to another status are left out, not written as null.
        unused = {"waited_on"} if self.status in _OUTCOMES else (
            {"error", "record_id", "note"} | ({"waited_on"} if self.status != "skipped" else set()))
        return {k: v for k, v in handler(self).items() if k not in unused}


class JournalFile(BaseModel):
    """The apply journal's document."""

    format: Literal["reconciler-journal"] = JOURNAL_FORMAT
    version: int = JOURNAL_VERSION
    org: JournalOrg
    plan_created_at: str
    config_digest: str
    started_at: str
    finished_at: str | None
    stopped: str | None
    write_calls: int
    records_written: int
    status_polls: int
    actions: list[JournalEntry]
    replaced: dict[str, Any]


def journal_digest(data: bytes) -> str:
    """The digest a rollback plan keeps of the journal it was made from."""
    return hashlib.sha256(data).hexdigest()


def read_journal(path: Path) -> tuple[JournalFile, str]:
    """The journal at ``path`` and the digest of its bytes; :class:`UsageError` says, in
    one line, what is wrong with a file that is not a readable journal."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_JOURNAL_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such journal") from None
    except OSError as exc:
        raise UsageError(f"{path}: not a readable journal ({exc.strerror or exc})") from None
    if len(raw) > MAX_JOURNAL_BYTES:
        raise UsageError(f"{path}: not a readable journal: larger than "
                         f"{MAX_JOURNAL_BYTES // (1024 * 1024)} MiB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UsageError(f"{path}: not a readable journal: not JSON") from None
    if not isinstance(data, dict) or data.get("format") != JOURNAL_FORMAT:
        raise UsageError(f"{path}: not an apply journal (plans/<org>.apply-<time>.json)")
    if data.get("version") not in READABLE_VERSIONS:
        raise UsageError(f"{path}: journal version {data.get('version')!r} is not supported "
                         f"(this reconciler reads versions "
                         f"{', '.join(map(str, READABLE_VERSIONS))})")
    try:
        return JournalFile.model_validate(data), journal_digest(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(step) for step in error["loc"])
        raise UsageError(f"{path}: malformed journal: {where}: {error['msg']}") from None


def replaced_state(replaced: dict[str, Any], address: str,
                   ) -> PermissionSet | PermissionSetGroup | User | None:
    """The model value ``replaced`` holds for a resource (``permission_sets.X``,
    ``permission_set_groups.X``, ``users:<username>``), None when the org lacked it or
    the apply did not claim it."""
    data = replaced.get(address)
    if not isinstance(data, dict):
        return None
    if address.startswith("users:"):
        lists = ("permission_set_licenses", "permission_sets", "permission_set_groups")
        values: dict[str, Any] = {k: frozenset(v) if k in lists else v for k, v in data.items()}
        return User(**values)
    if address.startswith("permission_sets."):
        return PermissionSet(
            name=data["name"], label=data["label"], description=data.get("description", ""),
            license=data.get("license"),
            system_permissions=frozenset(data.get("system_permissions", ())),
            objects=FrozenMap({o: ObjectAccess.of(w) for o, w in data.get("objects", {}).items()}),
            fields=FrozenMap({f: FieldAccess.of(w) for f, w in data.get("fields", {}).items()}),
            setup_entities=frozenset(SetupEntity(e["type"], e["name"])
                                     for e in data.get("setup_entities", ())))
    return PermissionSetGroup(name=data["name"], label=data["label"],
                              description=data.get("description", ""),
                              permission_sets=frozenset(data.get("permission_sets", ())))

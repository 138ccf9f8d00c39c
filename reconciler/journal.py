"""The apply journal as a document: what :mod:`reconciler.apply` writes before, during
and after an apply, and what ``rollback`` reads back (docs/plan-format.md).

Reading is checked as a plan file's is: size, JSON, format and version, every key.
Journals of versions 1 and 2 have the same shape and are both read. ``replaced`` holds
the live state of every claimed resource before the apply (:func:`replaced_state` turns
it back into model values).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ValidationError, model_serializer
from pydantic_core import to_json

from reconciler.actions import AnyAction
from reconciler.document import read_document
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
#: A journal is read back to roll its apply back, so the bound fits the largest apply:
#: 102,700 actions write 50 MB (an apply without a saved plan has no plan bound).
MAX_JOURNAL_BYTES = 1024 * 1024 * 1024


class JournalOrg(BaseModel):
    """The org an apply wrote to."""

    name: str
    org_id: str
    instance_url: str


_OUTCOMES = ("applied", "failed", "unknown")


def _unused(status: str) -> set[str]:
    """An entry's keys that belong to another status: left out, not written as null."""
    return {"waited_on"} if status in _OUTCOMES else (
        {"error", "record_id", "note"} | ({"waited_on"} if status != "skipped" else set()))


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
        unused = _unused(self.status)
        return {k: v for k, v in handler(self).items() if k not in unused}


def _nested(text: str, depth: int) -> str:
    """Indented JSON ``text`` as it reads ``depth`` levels deep in an indented document
    (a JSON string holds no raw newline)."""
    return text.replace("\n", "\n" + "  " * depth)


class EntryText:
    """One action's :class:`JournalEntry` as one line of the journal: the compact JSON
    ``model_dump_json()`` gives the entry, made again only when its status or outcome
    changes. The action is serialised once: an apply of 100,000 actions rewrites its
    journal at each step."""

    __slots__ = ("_head", "_state", "_tail", "_text")

    def __init__(self, action_id: str, action: AnyAction) -> None:
        named = {"id": action_id, "kind": action.kind, "address": action.address}
        self._head = to_json(named).decode().removesuffix("}")
        self._tail = ',"action":' + action.model_dump_json() + "}"
        self._state: tuple[str | None, ...] = ()
        self._text = ""

    def text(self, status: str, *, error: str | None = None, record_id: str | None = None,
             note: str | None = None, waited_on: str | None = None) -> str:
        """The entry's line."""
        state = (status, error, record_id, note, waited_on)
        if state != self._state:
            before, after = _middle(status, error, note, waited_on)
            self._text = (self._head + before + self._tail if after is None
                          else "".join((self._head, before, _json(record_id), after, self._tail)))
            self._state = state
        return self._text


@functools.lru_cache(maxsize=256)
def _middle(status: str, error: str | None, note: str | None, waited_on: str | None,
            ) -> tuple[str, str | None]:
    """An entry's keys from ``status`` to its action, in the model's order, as two parts
    around its ``record_id`` value (the second None when the status holds none): most
    entries of an apply share them, and only their Ids differ."""
    values = {"error": error, "note": note, "waited_on": waited_on}
    shown = [k for k in ("error", "record_id", "note", "waited_on") if k not in _unused(status)]

    def keys(names: list[str]) -> str:
        return "".join(f',"{k}":{_json(values[k])}' for k in names)

    if "record_id" not in shown:
        return ',"status":' + _json(status) + keys(shown), None
    at = shown.index("record_id")
    return ',"status":' + _json(status) + keys(shown[:at]) + ',"record_id":', keys(shown[at + 1:])


def _json(value: str | None) -> str:
    return "null" if value is None else to_json(value).decode()


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


def journal_text(head: JournalFile, entries: list[str], replaced: str) -> str:
    """The document of ``head`` (its actions and replaced values empty) holding the
    entries of :meth:`EntryText.text` and ``replaced`` (from :func:`replaced_text`): the
    document indented as ``model_dump_json(indent=2)`` gives it, and a newline, but each
    entry on one line (a quarter fewer bytes, and a line per action to search)."""
    empty = ',\n  "actions": [],\n  "replaced": {}\n}'
    text = head.model_dump_json(indent=2).removesuffix(empty)
    # One join: a journal of 102,700 actions is 50 MB of text, copied once.
    if not entries:
        return "".join((text, ',\n  "actions": [],\n  "replaced": ', replaced, "\n}\n"))
    return "".join((text, ',\n  "actions": [\n    ', ",\n    ".join(entries),
                    '\n  ],\n  "replaced": ', replaced, "\n}\n"))


def replaced_text(replaced: dict[str, Any]) -> str:
    """``replaced`` as :func:`journal_text` places it."""
    return _nested(to_json(replaced, indent=2).decode(), 1)


def journal_digest(data: bytes) -> str:
    """The digest a rollback plan keeps of the journal it was made from."""
    return hashlib.sha256(data).hexdigest()


def read_journal(path: Path) -> tuple[JournalFile, str]:
    """The journal at ``path`` and the digest of its bytes; :class:`UsageError` says, in
    one line, what is wrong with a file that is not a readable journal."""
    data, raw = read_document(path, "journal", MAX_JOURNAL_BYTES, UsageError)
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

"""Object and field permission rows, parsed page by page as they arrive.

They are nearly all the rows a large org sends (900,000 field permissions at ten times
the benchmark org), and held raw, with their ``attributes``, until the snapshot was
built they were most of a plan's memory. :func:`read_rows` parses each page as it
comes and keeps what :mod:`reconciler.org.reader` makes the snapshot of: each set's
access by sObject or field, the standard objects each set grants, and (through
``seen``) every row's Id and stamp.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.live import Querier, qualified_name, record_key
from reconciler.model import FieldAccess, ObjectAccess, is_standard_object

Row = dict[str, Any]


@dataclass(frozen=True)
class RowKind:
    """How rows of one sObject are parsed."""

    kind: str  # "object" or "field": the record key's kind
    column: str  # what a row grants access to: SobjectType, Field
    flags: Mapping[str, str]  # permission word → column
    of: Callable[[Iterable[str]], ObjectAccess | FieldAccess]


@dataclass
class PermissionRows:
    """Rows parsed: by casefolded set name, each sObject's (or field's) access; and the
    standard objects each set grants any access to."""

    access: dict[str, dict[str, Any]] = field(default_factory=dict)
    standard: dict[str, set[str]] = field(default_factory=dict)


def read_rows(client: Querier, queries: Iterable[str], wanted: set[str], kind: RowKind,
              seen: Callable[[str, Row], None]) -> PermissionRows:
    """The rows of ``queries`` whose set's casefolded (qualified) name is ``wanted``;
    ``seen`` is told each one's record key."""
    parse = _RowParser(kind)
    out = PermissionRows()
    for soql in queries:
        for page in client.query_pages(soql):
            for row in page:
                parent, name, access = parse(row)
                if parent not in wanted:
                    continue  # another package's set of the same bare Name
                out.access.setdefault(parent, {})[name] = access
                seen(record_key(kind.kind, parent, name), row)
                if kind.kind == "object" and not access.empty and is_standard_object(name):
                    out.standard.setdefault(parent, set()).add(name)
    return out


class _RowParser:
    """A row → (casefolded set name or None, what it grants access to, the access).
    Pure; what it has worked out once (a set's name, a combination of permission flags)
    it reuses, and the names it returns are interned: every set names the same fields,
    and so does the config."""

    def __init__(self, kind: RowKind) -> None:
        self.column, self.of = kind.column, kind.of
        self.words, self.flags = tuple(kind.flags), tuple(kind.flags.values())
        self.accesses: dict[tuple[Any, ...], ObjectAccess | FieldAccess] = {}
        self.parents: dict[tuple[Any, Any], str] = {}

    def __call__(self, r: Row) -> tuple[str | None, str, Any]:
        values = tuple(map(r.get, self.flags))
        access = self.accesses.get(values)
        if access is None:
            access = self.accesses[values] = self.of(
                w for w, v in zip(self.words, values, strict=True) if v)
        return self.parent(r.get("Parent")), sys.intern(str(r[self.column])), access

    def parent(self, parent: Any) -> str | None:
        if not isinstance(parent, dict) or parent.get("Name") is None:
            return None
        key = (parent["Name"], parent.get("NamespacePrefix"))
        name = self.parents.get(key)
        if name is None:
            name = self.parents[key] = qualified_name(str(key[0]), key[1]).casefold()
        return name

"""Object and field permission rows, parsed page by page as they arrive.

They are nearly all the rows a large org sends (900,000 field permissions at ten times
the benchmark org), and held raw, with their ``attributes``, until the snapshot was
built they were most of a plan's memory. :func:`read_rows` parses each page as it
comes and keeps what :mod:`reconciler.org.reader` makes the snapshot of: each set's
access by sObject or field, the standard objects each set grants, and every row's
Id and stamp.
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
              ids: dict[str, str], stamps: dict[str, str]) -> PermissionRows:
    """The rows of ``queries`` whose set's casefolded (qualified) name is ``wanted``;
    each one's Id and SystemModstamp go to ``ids`` and ``stamps`` by record key."""
    parse = _RowParser(kind, wanted)
    for soql in queries:
        for page in client.query_pages(soql):
            parse.page(page, ids, stamps)
    return parse.out


class _Target:
    """What a row grants access to, worked out once per distinct column value."""

    __slots__ = ("folded", "name", "standard")

    def __init__(self, name: str, kind: RowKind) -> None:
        self.name = sys.intern(name)
        self.folded = name.casefold()
        self.standard = kind.kind == "object" and is_standard_object(name)


class _RowParser:
    """Rows → each wanted set's access, and every row's Id and stamp by record key.

    A page holds a hundred thousand rows at ten times the benchmark org, naming a few
    hundred sets, fields and combinations of flags: each of those is worked out once
    (a set's casefolded name and record key prefix, a field's interned name, an
    access) and looked up after. The names are interned: every set names the same
    fields, and so does the config."""

    def __init__(self, kind: RowKind, wanted: set[str]) -> None:
        self.kind, self.wanted = kind, wanted
        self.column, self.of = kind.column, kind.of
        self.words, self.flags = tuple(kind.flags), tuple(kind.flags.values())
        self.accesses: dict[tuple[Any, ...], ObjectAccess | FieldAccess] = {}
        self.out = PermissionRows()
        #: (Name, NamespacePrefix) → (casefolded set name, record key prefix, its access
        #: in ``out``), or None for another package's set of the same bare Name.
        self.parents: dict[tuple[Any, Any], tuple[str, str, dict[str, Any]] | None] = {}
        self.targets: dict[Any, _Target] = {}

    def page(self, page: Iterable[Row], ids: dict[str, str], stamps: dict[str, str]) -> None:
        accesses, parents, targets, flags = self.accesses, self.parents, self.targets, self.flags
        column, standard = self.column, self.out.standard
        for r in page:
            values = tuple(map(r.get, flags))
            access = accesses.get(values)
            if access is None:
                access = accesses[values] = self.of(
                    w for w, v in zip(self.words, values, strict=True) if v)
            raw = r[column]
            target = targets.get(raw)
            if target is None:
                target = targets[raw] = _Target(str(raw), self.kind)
            parent = r.get("Parent")
            if not isinstance(parent, dict) or parent.get("Name") is None:
                continue
            pkey = (parent["Name"], parent.get("NamespacePrefix"))
            known = parents[pkey] if pkey in parents else self.parent(pkey)
            if known is None:
                continue  # another package's set of the same bare Name
            name, prefix, granted = known
            granted[target.name] = access
            key = prefix + target.folded
            ids[key] = str(r["Id"])
            stamp = r.get("SystemModstamp")
            if stamp:
                stamps[key] = str(stamp)
            if target.standard and not access.empty:
                standard.setdefault(name, set()).add(target.name)

    def parent(self, key: tuple[Any, Any]) -> tuple[str, str, dict[str, Any]] | None:
        name = qualified_name(str(key[0]), key[1]).casefold()
        known = self.parents[key] = (
            (name, record_key(self.kind.kind, name, ""), self.out.access.setdefault(name, {}))
            if name in self.wanted else None)
        return known

"""Setup-entity access read from the org: ``SetupEntityAccess`` rows of the managed sets,
and the entities (connected apps, Apex classes, custom permissions, pages, apps) they
and the config name.

The rows come with the managed sets themselves, as a child subquery of the query that
reads them (:data:`ACCESS_COLUMN`: no call of its own); only a set holding more rows
than one nested page is read again here. Entities are then looked up per kind: by name
for the names the config uses (one query per kind used, which also tells which are
missing), by Id for those the sets hold that no config name found (drift: the org grants
more), and, only where a name the config uses is missing, every name of that kind once
(for "did you mean"). Part of :mod:`reconciler.org.reader`; facts one per kind, parses
pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.live import EntityInfo, Querier, qualified_name
from reconciler.model import SETUP_ENTITY_TYPES, SetupEntity
from reconciler.org.soql import chunked_in, in_list

Row = dict[str, Any]

_TYPES = in_list(sorted(SETUP_ENTITY_TYPES.values()))
#: The child subquery a managed set is read with: its access to setup entities of the
#: kinds the config language has (a set holds other kinds too: flows, tabs…).
ACCESS_COLUMN = ("(SELECT Id, SetupEntityId, SetupEntityType FROM SetupEntityAccessItems "
                 f"WHERE SetupEntityType IN {_TYPES})")
_ACCESS_ROWS = ("SELECT Id, ParentId, SetupEntityId, SetupEntityType FROM SetupEntityAccess "
                f"WHERE SetupEntityType IN {_TYPES} AND ParentId IN {{in}}")
#: Names the config uses that aren't found are matched against at most this many names.
_SUGGESTION_ROWS = 2000


@dataclass(frozen=True)
class _Kind:
    """Where the entities of one SetupEntityType are queried, and how they are named."""

    sobject: str
    id_field: str  # the field holding the Id SetupEntityAccess points at
    name_field: str
    namespaced: bool  # a package's entity is ``NamespacePrefix__Name``
    where: str = ""  # a condition every query of the kind carries
    extra: tuple[str, ...] = ()

    def select(self, condition: str) -> str:
        columns = [self.id_field, self.name_field, *(("NamespacePrefix",)
                                                     if self.namespaced else ()), *self.extra]
        conditions = " AND ".join(c for c in (self.where, condition) if c)
        return (f"SELECT {', '.join(columns)} FROM {self.sobject}"
                + (f" WHERE {conditions}" if conditions else ""))


KINDS: dict[str, _Kind] = {
    # The pre-authorization policy is read for the plan's manual steps.
    "ConnectedApplication": _Kind("ConnectedApplication", "Id", "Name", False,
                                  extra=("OptionsAllowAdminApprovedUsersOnly",)),
    "ApexClass": _Kind("ApexClass", "Id", "Name", True),
    "ApexPage": _Kind("ApexPage", "Id", "Name", True),
    "CustomPermission": _Kind("CustomPermission", "Id", "DeveloperName", True),
    # An app (TabSet) isn't queryable itself; its menu item names it and holds its Id.
    "TabSet": _Kind("AppMenuItem", "ApplicationId", "Name", True, where="Type = 'TabSet'"),
}


def access_rows(client: Querier, sets: Iterable[Row]) -> list[Row]:
    """The SetupEntityAccess rows of sets read with :data:`ACCESS_COLUMN`, each with the
    ``ParentId`` of its set; a set whose nested rows didn't fit one page is read again."""
    rows: list[Row] = []
    again: list[str] = []
    for record in sets:
        nested = record.get("SetupEntityAccessItems") or {}
        if not nested.get("done", True):
            again.append(str(record["Id"]))
            continue
        rows += [{**r, "ParentId": record["Id"]} for r in nested.get("records") or ()]
    for soql in chunked_in(_ACCESS_ROWS, sorted(again)):
        rows += client.query(soql)
    return rows


def read_entities(client: Querier, named: Iterable[SetupEntity],
                  held: Iterable[Row]) -> tuple[list[EntityInfo], dict[str, tuple[str, ...]]]:
    """The entities the config names and the access rows ``held`` point at, and for each
    kind where a named one is missing, the org's names of that kind."""
    wanted: dict[str, set[str]] = {}
    for entity in named:
        wanted.setdefault(entity.type, set()).add(entity.name)
    ids: dict[str, set[str]] = {}
    for row in held:
        ids.setdefault(str(row["SetupEntityType"]), set()).add(str(row["SetupEntityId"]))
    found: list[EntityInfo] = []
    suggestions: dict[str, tuple[str, ...]] = {}
    for entity_type in sorted(wanted.keys() | ids.keys()):
        kind = KINDS.get(entity_type)
        if kind is None:
            continue
        names = wanted.get(entity_type, set())
        infos = _by(client, kind, entity_type, kind.name_field,
                    sorted({_bare(kind, n) for n in names}))
        folded = {n.casefold() for n in names}
        infos = [i for i in infos if i.name.casefold() in folded
                 or i.id in ids.get(entity_type, ())]
        unseen = ids.get(entity_type, set()) - {i.id for i in infos}
        infos += _by(client, kind, entity_type, kind.id_field, sorted(unseen))
        found += infos
        if folded - {i.name.casefold() for i in infos}:
            rows = client.query(kind.select("") + f" LIMIT {_SUGGESTION_ROWS}")
            suggestions[entity_type] = tuple(sorted(_parse(kind, entity_type, r).name
                                                    for r in rows))
    return found, suggestions


def _by(client: Querier, kind: _Kind, entity_type: str, field: str,
        values: list[str]) -> list[EntityInfo]:
    out: list[EntityInfo] = []
    for soql in chunked_in(kind.select(f"{field} IN {{in}}"), values):
        out += [_parse(kind, entity_type, r) for r in client.query(soql)]
    return out


def _bare(kind: _Kind, name: str) -> str:
    """The name field's value of ``name`` (``ns__Name`` → ``Name`` for a package's)."""
    return name.rpartition("__")[2] if kind.namespaced else name


def _parse(kind: _Kind, entity_type: str, row: Mapping[str, Any]) -> EntityInfo:
    """One entity row."""
    name = str(row.get(kind.name_field) or "")
    if kind.namespaced:
        name = qualified_name(name, row.get("NamespacePrefix"))
    policy = row.get("OptionsAllowAdminApprovedUsersOnly")
    return EntityInfo(str(row[kind.id_field]), entity_type, name,
                      policy if isinstance(policy, bool) else None)

"""The loaded configuration: desired state plus what only the config knows."""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from reconciler.config.policies import PoliciesBlock
from reconciler.config.suggest import did_you_mean, q
from reconciler.config.types import Lifecycle, Location, OrgConfig, Reference, Settings
from reconciler.config.yamlload import LList, LMap
from reconciler.errors import ConfigError, Problem
from reconciler.model import (
    FrozenMap,
    PermissionSet,
    PermissionSetGroup,
    State,
    User,
    to_jsonable,
)

__all__ = ["RESOURCE_KINDS", "Config", "gc_paused"]

RESOURCE_KINDS = ("permission_sets", "permission_set_groups", "users")
_NO_LIFECYCLE = Lifecycle()
_SEGMENT = re.compile(r'\.?([^.\[\]"]+)|\[(\d+)\]|\["([^"]*)"\]')


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a burst of allocations.

    Loading a large config (or serialising it) allocates hundreds of thousands of
    small objects that stay alive; the collector would scan them again and again
    for nothing, which costs a third of the time. Nothing here makes cycles, so
    reference counting frees everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True, eq=False)
class Config:
    """A validated configuration, as :func:`reconciler.config.load_config` returns it.

    Resources are keyed by natural key: users by lower-case username, sets and
    groups by API name. Addresses (``users.mulesoft``, ``permission_sets.X``) are
    how the config names them; :meth:`address` maps one to the other.
    """

    path: Path
    files: tuple[str, ...]
    settings: Settings
    orgs: FrozenMap[str, OrgConfig]
    permission_sets: FrozenMap[str, PermissionSet]
    permission_set_groups: FrozenMap[str, PermissionSetGroup]
    users: FrozenMap[str, User]
    variables: FrozenMap[str, str]
    #: Where each resource, org, variable and setting is declared, by address.
    locations: FrozenMap[str, Location]
    #: Names only the org can resolve: undeclared sets and groups, profiles, licenses.
    references: tuple[Reference, ...]
    lifecycles: FrozenMap[str, Lifecycle]
    user_addresses: FrozenMap[str, str]
    _tree: Mapping[str, LMap] = field(repr=False)
    #: The ``policies:`` block as written (:mod:`reconciler.policy` reads it), or None.
    policies: PoliciesBlock | None = None

    @property
    def state(self) -> State:
        """The desired users, sets and groups as a :class:`~reconciler.model.State`."""
        return State(users=self.users, permission_sets=self.permission_sets,
                     permission_set_groups=self.permission_set_groups)

    def lifecycle(self, address: str) -> Lifecycle:
        """The lifecycle of the resource at ``address`` (defaults when none is written)."""
        return self.lifecycles.get(address, _NO_LIFECYCLE)

    def address(self, kind: str, key: str) -> str:
        """The address of a resource from its natural key.

        ``kind`` is ``users``, ``permission_sets`` or ``permission_set_groups``; for
        users ``key`` is the username (any case).
        """
        if kind == "users":
            return self.user_addresses.get(key.lower(), f"users.{key}")
        if kind not in RESOURCE_KINDS:
            raise ValueError(f"unknown resource kind {kind!r}")
        return f"{kind}.{key}"

    def org(self, name: str | None = None) -> OrgConfig:
        """The org to work with: ``name``, else ``settings.default_org``, else ``local``.

        ``local`` is the embedded emulator unless the config declares it otherwise.
        Raises :class:`ConfigError` for an unknown org, or when a credential of
        the org needs an environment variable that is not set.
        """
        chosen = name or self.settings.default_org
        org = self.orgs.get(chosen)
        if org is None:
            hint = did_you_mean(chosen, self.orgs)
            known = ", ".join(self.orgs)
            raise ConfigError([Problem(f"no org named {q(chosen)} in the config{hint} "
                                       f"(orgs: {known})")])
        problems: list[Problem] = []
        if org.auth is not None:
            for secret in org.auth.secrets():
                if not secret.is_set:
                    try:
                        secret.reveal()
                    except ConfigError as exc:
                        problems.extend(exc.problems)
        if problems:
            raise ConfigError(problems)
        return org

    @cached_property
    def digest(self) -> str:
        """sha256 of the normalised desired state, for plan staleness checks.

        Independent of how the config is split into files, of key order and of
        spelling that normalises away (implied permissions, username case). Orgs
        and credentials are not part of it.
        """
        with gc_paused():
            data = {
                "api_version": self.settings.api_version,
                "scope": to_jsonable(self.settings.scope),
                "permission_sets": to_jsonable(self.permission_sets),
                "permission_set_groups": to_jsonable(self.permission_set_groups),
                "users": to_jsonable(self.users),
                "lifecycles": to_jsonable(self.lifecycles),
            }
            text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def locate(self, address: str) -> Location | None:
        """Where ``address`` is written, or None.

        Accepts resource addresses (``users.mulesoft``) and attribute paths:
        ``users.mulesoft.permission_sets[1]``, ``users.mulesoft.permission_sets["INT_X"]``
        (a list item by value), ``permission_sets.X.fields["Account.Industry"]`` or
        ``permission_sets.X.fields.Account.Industry``. Mapping entries locate at
        their key, list items at the item.
        """
        segments = _segments(address)
        if not segments or not isinstance(segments[0], str):
            return None
        node: Any = self._tree.get(segments[0])
        if node is None:
            return None
        where = Location(node.file, node.line, node.col)
        rest = segments[1:]
        while rest:
            step = (_map_step(node, rest) if isinstance(node, LMap)
                    else _list_step(node, rest[0]) if isinstance(node, LList) else None)
            if step is None:
                return None
            node, where, used = step
            rest = rest[used:]
        return where

    def __repr__(self) -> str:
        return (f"Config({str(self.path)!r}, {len(self.files)} files, "
                f"{len(self.permission_sets)} permission sets, "
                f"{len(self.permission_set_groups)} groups, {len(self.users)} users, "
                f"orgs={list(self.orgs)})")


def _segments(address: str) -> list[str | int] | None:
    """``a.b[1]["c.d"]`` as ``["a", "b", 1, "c.d"]``; None when it is not an address."""
    segments: list[str | int] = []
    pos = 0
    while pos < len(address):
        match = _SEGMENT.match(address, pos)
        if match is None or match.end() == pos:
            return None
        name, index, quoted = match.groups()
        segments.append(int(index) if index is not None else
                        quoted if quoted is not None else name)
        pos = match.end()
    return segments


def _map_step(node: LMap, rest: list[str | int]) -> tuple[Any, Location, int] | None:
    """The entry the next segments name, where its key is, and how many segments it took."""
    key = str(rest[0])
    used = 1
    # A name with dots ("Account.Industry") arrives as several segments.
    while key not in node and used < len(rest) and isinstance(rest[used], str):
        key = f"{key}.{rest[used]}"
        used += 1
    if key not in node:
        return None
    kline, kcol = node.pos[key][:2]
    return node[key], Location(node.file_of(key), kline, kcol), used


def _list_step(node: LList, segment: str | int) -> tuple[Any, Location, int] | None:
    """The item a segment names (by index, or by value in any case) and where it is."""
    if isinstance(segment, int):
        if segment >= len(node):
            return None
        index = segment
    else:
        folded = segment.casefold()
        index = next((k for k, v in enumerate(node)
                      if isinstance(v, str) and v.casefold() == folded), -1)
        if index < 0:
            return None
    line, col = node.at(index)
    return node[index], Location(node.file, line, col), 1

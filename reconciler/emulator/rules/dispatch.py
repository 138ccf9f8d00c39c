"""The write pipeline's entry to the rules: one call per step, whatever the sObject.

``org.py`` calls ``before_*`` (may refuse with an :class:`ApiFault`) and ``after_*``
(side effects: derived records, seat counts, the audit trail) inside the request's
transaction, so every way in (REST, collections, composite, the Python API) obeys
them. Each family module registers its rules per sObject in its ``HOOKS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from reconciler.emulator.catalog import SObject
from reconciler.emulator.rules import assignments, entities, groups, permsets, users
from reconciler.emulator.rules.groups import group_assignable, recalculate_after
from reconciler.emulator.rules.lookups import Check, Hooks, OrgView, UpdateCheck
from reconciler.emulator.store import Record

_FAMILIES: tuple[Hooks, ...] = (users.HOOKS, permsets.HOOKS, entities.HOOKS, assignments.HOOKS,
                                 groups.HOOKS)
_Rule = TypeVar("_Rule")


def _merged(step: Mapping[str, _Rule], *more: Mapping[str, _Rule]) -> dict[str, _Rule]:
    """One table for a step; an sObject has its rules in one family only."""
    merged: dict[str, _Rule] = {}
    for table in (step, *more):
        assert not merged.keys() & table.keys(), "an sObject's rules live in one family"
        merged.update(table)
    return merged


_BEFORE_CREATE: dict[str, Check] = _merged(*(f.before_create for f in _FAMILIES))
_AFTER_CREATE: dict[str, Check] = _merged(*(f.after_create for f in _FAMILIES))
_BEFORE_UPDATE: dict[str, UpdateCheck] = _merged(*(f.before_update for f in _FAMILIES))
_AFTER_UPDATE: dict[str, UpdateCheck] = _merged(*(f.after_update for f in _FAMILIES))
_BEFORE_DELETE: dict[str, Check] = _merged(*(f.before_delete for f in _FAMILIES))
_AFTER_DELETE: dict[str, Check] = _merged(*(f.after_delete for f in _FAMILIES))


def before_create(org: OrgView, s: SObject, rec: Record, actor_id: str) -> None:
    if s.name == "PermissionSetAssignment" and rec.get("PermissionSetGroupId"):
        group_assignable(org, str(rec["PermissionSetGroupId"]))
    rule = _BEFORE_CREATE.get(s.name)
    if rule is not None:
        rule(org, rec, actor_id)


def after_create(org: OrgView, s: SObject, rec: Record, actor_id: str) -> None:
    rule = _AFTER_CREATE.get(s.name)
    if rule is not None:
        rule(org, rec, actor_id)
    recalculate_after(org, s, rec)


def before_update(org: OrgView, s: SObject, old: Record, changes: Record, actor_id: str) -> None:
    rule = _BEFORE_UPDATE.get(s.name)
    if rule is not None:
        rule(org, old, changes, actor_id)


def after_update(org: OrgView, s: SObject, old: Record, new: Record, actor_id: str) -> None:
    rule = _AFTER_UPDATE.get(s.name)
    if rule is not None:
        rule(org, old, new, actor_id)
    recalculate_after(org, s, new)


def before_delete(org: OrgView, s: SObject, rec: Record, actor_id: str) -> None:
    rule = _BEFORE_DELETE.get(s.name)
    if rule is not None:
        rule(org, rec, actor_id)


def after_delete(org: OrgView, s: SObject, rec: Record, actor_id: str, *, vanished: bool) -> None:
    del vanished  # a vanished row is audited like a removal
    rule = _AFTER_DELETE.get(s.name)
    if rule is not None:
        rule(org, rec, actor_id)
    recalculate_after(org, s, rec)

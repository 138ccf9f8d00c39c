"""The policy a config declares: its ``policies:`` block (:mod:`reconciler.config.policies`)
made into values, the built-in rule sets expanded, each rule and waiver with the config
line it is written at."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from reconciler.config import Config
from reconciler.config.policies import PolicyScope
from reconciler.model import SETUP_ENTITY_TYPES
from reconciler.policy.baseline import baseline
from reconciler.policy.rules import Policy, Rule, Scope, Waiver

__all__ = ["policy_of"]


def policy_of(config: Config) -> Policy:
    """The policy ``config`` declares (empty when it has no ``policies:`` block)."""
    block = config.policies
    if block is None:
        return Policy()
    rules: list[Rule] = []
    for name, options in block.rule_sets.items():
        where = config.locate(f'policies.rule_sets["{name}"]')
        rules += [replace(r, location=where) for r in baseline(
            tuple(options.allow_view_all),
            _scope(options.scope) if options.scope is not None else None)]
    for rule_id, own in block.rules.items():
        rules.append(Rule(
            id=rule_id, title=rule_id, reason=own.reason,
            sources=(own.source,) if own.source else (),
            scope=_scope(own.scope),
            deny_system=tuple(own.deny_system_permissions),
            allow_system=_maybe(own.allow_system_permissions),
            deny_objects=tuple((k, tuple(v)) for k, v in own.deny_objects.items()),
            allow_objects=None if own.allow_objects is None else tuple(
                (k, tuple(v)) for k, v in own.allow_objects.items()),
            deny_field_edit=tuple(own.deny_field_edit),
            deny_setup=_entities(own.deny_setup_entities),
            allow_setup=None if own.allow_setup_entities is None else _entities(
                own.allow_setup_entities),
            max_objects_with_edit=own.max_objects_with_edit,
            require_description=own.require_description,
            location=config.locate(f'policies.rules["{rule_id}"]')))
    waivers = tuple(Waiver(
        rule=w.rule, kind="user" if w.user is not None else "set",
        name=w.user if w.user is not None else str(w.permission_set), reason=w.reason,
        expires=date.fromisoformat(w.expires) if w.expires else None,
        location=config.locate(f"policies.waivers[{index}]"))
        for index, w in enumerate(block.waivers))
    return Policy(tuple(rules), waivers)


def _maybe(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def _scope(scope: PolicyScope | None) -> Scope:
    if scope is None:
        return Scope()
    return Scope(licenses=tuple(scope.licenses), users=tuple(scope.users),
                 permission_sets=tuple(scope.permission_sets))


def _entities(by_kind: Mapping[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Config keys (apex_classes) → SetupEntityType (ApexClass), as access names them."""
    return tuple((SETUP_ENTITY_TYPES[k], tuple(v)) for k, v in by_kind.items())

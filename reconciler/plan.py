"""A plan: ordered actions, manual steps, warnings, costs and a fingerprint of the org.

:func:`plan_from_live` is the pipeline: diff → checks → order, over a snapshot the
shell read for :func:`claims_for` (:func:`reconciler.workflow.make_plan`). A plan is
data: ``plan``, ``show`` and ``apply`` all read the same :class:`Plan`, and it saves as
versioned JSON (no secrets) that :func:`load_plan` reads back exactly.

The fingerprint holds one digest per claimed resource (a permission set with its
access rows, a group with its components, a user with its assignments): ``apply``
reads the org again and refuses the plan when any digest moved, naming the resources.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler import graph
from reconciler.actions import Action, action_from_json, shown
from reconciler.checks import (
    Checker,
    ManualStep,
    group_status_warnings,
    manual_steps,
    standard_access_warning,
)
from reconciler.config import Config
from reconciler.diff import Names, canonical, diff
from reconciler.errors import PlanFileError, PlanRejected, ReconcilerError
from reconciler.files import write_private
from reconciler.live import Claims, Live
from reconciler.model import FrozenMap
from reconciler.org.writes import estimate_calls, write_of

PLAN_FORMAT = "reconciler-plan"
PLAN_VERSION = 1


@dataclass(frozen=True)
class OrgRef:
    """Which org a plan is for."""

    name: str
    org_id: str
    instance_url: str
    running_user: str


@dataclass(frozen=True)
class Plan:
    """Everything ``apply`` needs and everything a reviewer wants to see."""

    org: OrgRef
    api_version: str
    config_digest: str
    actions: tuple[Action, ...]
    depends_on: FrozenMap[str, tuple[str, ...]]
    layers: tuple[tuple[str, ...], ...]
    manual_steps: tuple[ManualStep, ...] = ()
    warnings: tuple[str, ...] = ()
    read_calls: int = 0
    apply_calls: int = 0
    fingerprint: FrozenMap[str, str] = field(default_factory=FrozenMap)
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    created_at: str = ""

    @property
    def empty(self) -> bool:
        return not self.actions

    def counts(self) -> tuple[int, int, int]:
        """(to add, to change, to remove)."""
        add = sum(1 for a in self.actions if a.symbol == "+")
        remove = sum(1 for a in self.actions if a.symbol == "-")
        return add, len(self.actions) - add - remove, remove

    @property
    def destructive(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.destructive)

    def layer_actions(self) -> list[list[Action]]:
        by_id = {a.id: a for a in self.actions}
        return [[by_id[i] for i in layer] for layer in self.layers]

    def to_json(self) -> dict[str, Any]:
        add, change, remove = self.counts()
        return {
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "created_at": self.created_at,
            "org": {"name": self.org.name, "org_id": self.org.org_id,
                    "instance_url": self.org.instance_url,
                    "running_user": self.org.running_user},
            "api_version": self.api_version,
            "config_digest": self.config_digest,
            "targets": list(self.targets),
            "excludes": list(self.excludes),
            "summary": {"add": add, "change": change, "remove": remove,
                        "destructive": len(self.destructive)},
            "api_calls": {"read": self.read_calls, "apply_estimate": self.apply_calls},
            "actions": [{
                "id": a.id, **a.to_json(),
                "writes": {"sobject": write_of(a)[0], "operation": write_of(a)[1]},
                "destructive": a.destructive,
                "depends_on": list(self.depends_on.get(a.id, ())),
            } for a in self.actions],
            "layers": [list(layer) for layer in self.layers],
            "manual_steps": [{"address": s.address, "text": s.text}
                             for s in self.manual_steps],
            "warnings": list(self.warnings),
            "fingerprint": dict(sorted(self.fingerprint.items())),
        }

    def save(self, path: Path) -> None:
        """Write the plan as JSON (parents created; the file replaced atomically, 0600:
        a plan describes access)."""
        try:
            write_private(path, json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise ReconcilerError(f"can't save the plan to {path}: {exc.strerror or exc}") from None


# A plan of thousands of actions is a few MB; reading is bounded well above that so
# a wrong path (/dev/zero, a disk image) fails fast instead of filling memory.
MAX_PLAN_BYTES = 64 * 1024 * 1024
_REPLAN = "run `reconciler plan` again and apply the new plan"


def load_plan(path: Path) -> Plan:
    """Read a saved plan; :class:`PlanFileError` says, in one line, what is wrong.

    The whole document is checked (size, JSON, duplicate keys, every key and type,
    action ids, dependencies and layers) before anything may act on it.
    """
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_PLAN_BYTES + 1)
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file") from None
    except OSError as exc:
        raise PlanFileError(f"{path}: not a readable plan file ({exc.strerror or exc})") from None
    if len(raw) > MAX_PLAN_BYTES:
        raise PlanFileError(f"{path}: not a readable plan file: larger than "
                            f"{MAX_PLAN_BYTES // (1024 * 1024)} MiB")
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
                          parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise PlanFileError(f"{path}: not a readable plan file: not UTF-8 text") from None
    except RecursionError:
        raise PlanFileError(f"{path}: not a readable plan file: JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, a duplicate key, an absurd number
        raise PlanFileError(f"{path}: not a readable plan file: {_first_line(exc)}") from None
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise PlanFileError(f"{path}: not a reconciler plan file")
    if data.get("version") != PLAN_VERSION:
        raise PlanFileError(f"{path}: plan format version {shown(data.get('version'))} is "
                            f"not supported (this reconciler reads version {PLAN_VERSION}); "
                            f"{_REPLAN}")
    try:
        return _plan_of(data)
    except PlanFileError as exc:
        raise PlanFileError(f"{path}: malformed plan file: {exc}; {_REPLAN}") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a repeated key: a reviewer would read one value and
    the loader keep another."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {shown(key)}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


_TOP_KEYS = frozenset({"format", "version", "created_at", "org", "api_version",
                       "config_digest", "targets", "excludes", "summary", "api_calls",
                       "actions", "layers", "manual_steps", "warnings", "fingerprint"})
# Keys of an action entry that belong to the plan, not to the action itself.
_ENTRY_KEYS = frozenset({"id", "writes", "destructive", "depends_on"})


def _plan_of(data: dict[str, Any]) -> Plan:
    """A :class:`Plan` from a parsed document, every part checked."""
    _keys(data, _TOP_KEYS, "the plan")
    org = _keys(data["org"], {"name", "org_id", "instance_url", "running_user"}, "org")
    entries = _list(data["actions"], "actions")
    actions: list[Action] = []
    depends_on: dict[str, tuple[str, ...]] = {}
    for index, entry in enumerate(entries):
        where = f"actions[{index}]"
        fields = _keys(entry, None, where)
        missing = sorted(_ENTRY_KEYS - set(fields))
        if missing:
            raise PlanFileError(f"{where}: missing key {shown(missing[0])}")
        try:
            action = action_from_json({k: v for k, v in fields.items() if k not in _ENTRY_KEYS})
        except PlanFileError as exc:
            raise PlanFileError(f"{where}: {exc}") from None
        if fields["id"] != action.id:
            raise PlanFileError(f"{where}: id {shown(fields['id'])} is not the one its "
                                f"kind and address give ({shown(action.id)})")
        if action.id in depends_on:
            raise PlanFileError(f"{where}: action {shown(action.id)} appears twice")
        sobject, operation = write_of(action)
        if fields["writes"] != {"sobject": sobject, "operation": operation}:
            raise PlanFileError(f"{where}: writes is not what a {action.kind} writes "
                                f"({sobject} {operation})")
        if fields["destructive"] is not action.destructive:
            raise PlanFileError(f"{where}: destructive must be "
                                f"{json.dumps(action.destructive)} for this action")
        depends_on[action.id] = _strings(fields["depends_on"], f"{where}.depends_on")
        actions.append(action)
    for action_id, needs in depends_on.items():
        unknown = [n for n in needs if n not in depends_on or n == action_id]
        if unknown:
            raise PlanFileError(f"{shown(action_id)} depends on {shown(unknown[0])}, which "
                                "is not another action of the plan")
    layers = tuple(_strings(layer, f"layers[{i}]")
                   for i, layer in enumerate(_list(data["layers"], "layers")))
    placed = [action_id for layer in layers for action_id in layer]
    strays = [i for i in placed if i not in depends_on]
    if strays:
        raise PlanFileError(f"layers: {shown(strays[0])} is not an action of the plan")
    if len(placed) != len(set(placed)) or set(placed) != set(depends_on):
        raise PlanFileError("layers must hold every action exactly once")
    steps = []
    for i, step in enumerate(_list(data["manual_steps"], "manual_steps")):
        where = f"manual_steps[{i}]"
        fields = _keys(step, {"address", "text"}, where)
        steps.append(ManualStep(_string(fields["address"], f"{where}.address"),
                                _string(fields["text"], f"{where}.text")))
    fingerprint = _keys(data["fingerprint"], None, "fingerprint")
    for resource, digest in fingerprint.items():
        _string(digest, f"fingerprint[{shown(resource)}]")
    calls = _keys(data["api_calls"], {"read", "apply_estimate"}, "api_calls")
    plan = Plan(
        org=OrgRef(*(_string(org[k], f"org.{k}")
                     for k in ("name", "org_id", "instance_url", "running_user"))),
        api_version=_string(data["api_version"], "api_version"),
        config_digest=_string(data["config_digest"], "config_digest"),
        actions=tuple(actions),
        depends_on=FrozenMap(depends_on),
        layers=layers,
        manual_steps=tuple(steps),
        warnings=_strings(data["warnings"], "warnings"),
        read_calls=_count(calls["read"], "api_calls.read"),
        apply_calls=_count(calls["apply_estimate"], "api_calls.apply_estimate"),
        fingerprint=FrozenMap(fingerprint),
        targets=_strings(data["targets"], "targets"),
        excludes=_strings(data["excludes"], "excludes"),
        created_at=_string(data["created_at"], "created_at"),
    )
    summary = {k: _count(v, f"summary.{k}") for k, v in
               _keys(data["summary"], {"add", "change", "remove", "destructive"},
                     "summary").items()}
    add, change, remove = plan.counts()
    if summary != {"add": add, "change": change, "remove": remove,
                   "destructive": len(plan.destructive)}:
        raise PlanFileError("summary does not count the actions the plan holds")
    return plan


def _keys(value: object, keys: Iterable[str] | None, where: str) -> dict[str, Any]:
    """``value`` as an object with exactly ``keys`` (any keys when None)."""
    if not isinstance(value, dict):
        raise PlanFileError(f"{where} must be an object, not {shown(value)}")
    if keys is not None:
        wanted = set(keys)
        extra, missing = sorted(set(value) - wanted), sorted(wanted - set(value))
        if extra:
            raise PlanFileError(f"{where}: unknown key {shown(extra[0])}")
        if missing:
            raise PlanFileError(f"{where}: missing key {shown(missing[0])}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise PlanFileError(f"{where} must be a list, not {shown(value)}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise PlanFileError(f"{where} must be a string, not {shown(value)}")
    return value


def _strings(value: object, where: str) -> tuple[str, ...]:
    return tuple(_string(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where)))


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PlanFileError(f"{where} must be a whole number, not {shown(value)}")
    return value


# -- making a plan -----------------------------------------------------------------------


def claims_for(config: Config) -> Claims:
    """What the reader must fetch for this config."""
    sets = config.permission_sets.values()
    groups = config.permission_set_groups.values()
    objects: set[str] = set()
    for ps in sets:
        objects.update(ps.objects)
        objects.update(f.partition(".")[0] for f in ps.fields)
    return Claims(
        usernames=tuple(sorted(config.users)),
        permission_sets=tuple(sorted(ps.name for ps in sets if not ps.absent)),
        absent_sets=tuple(sorted(ps.name for ps in sets if ps.absent)),
        referenced_sets=tuple(sorted({r.name for r in config.references
                                      if r.kind == "permission_set"})),
        groups=tuple(sorted(g.name for g in groups if not g.absent)),
        absent_groups=tuple(sorted(g.name for g in groups if g.absent)),
        referenced_groups=tuple(sorted({r.name for r in config.references
                                        if r.kind == "permission_set_group"})),
        set_prefix=config.settings.scope.permission_set_prefix,
        objects=tuple(sorted(objects, key=str.casefold)),
    )


def plan_from_live(config: Config, live: Live, *, org: OrgRef, targets: Sequence[str] = (),
                   excludes: Sequence[str] = (), now: datetime | None = None) -> Plan:
    """A plan from a snapshot already read (see :func:`reconciler.workflow.make_plan`)."""
    changes = diff(config, live)
    actions = [*changes.actions, *changes.kept]
    desired = canonical(config.state, Names(live))
    problems = Checker(config, desired, live, actions, org.running_user).run()
    if problems:
        raise PlanRejected(problems)
    ordered, dag = graph.order(actions)
    if targets or excludes:
        ordered = graph.select(ordered, dag, targets=targets, excludes=excludes)
        ordered, dag = graph.order(ordered)
    layers = graph.layers(dag, ordered)
    warnings = [f"{address}: {message}" for address, message in changes.observed]
    warnings += standard_access_warning(desired)
    warnings += group_status_warnings(desired, live)
    return Plan(
        org=org,
        api_version=config.settings.api_version,
        config_digest=config.digest,
        actions=tuple(ordered),
        depends_on=FrozenMap({a.id: tuple(graph.dependencies(dag, a)) for a in ordered}),
        layers=tuple(tuple(a.id for a in layer) for layer in layers),
        manual_steps=tuple(manual_steps(ordered)),
        warnings=tuple(warnings),
        read_calls=live.api_calls,
        apply_calls=estimate_calls(layers),
        fingerprint=fingerprint(config, live),
        targets=tuple(targets),
        excludes=tuple(excludes),
        created_at=(now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


# Record-key kinds (reader.record_key) → the resource kind they belong to.
_RESOURCE_OF = {"set": "permission_sets", "object": "permission_sets",
                "field": "permission_sets", "group": "permission_set_groups",
                "component": "permission_set_groups", "user": "users",
                "assign-set": "users", "assign-group": "users", "assign-psl": "users",
                "assignments": "users"}


def fingerprint(config: Config, live: Live) -> FrozenMap[str, str]:
    """One digest per claimed resource over its live records' Ids and SystemModstamps.

    A resource the org lacks still gets a digest (of nothing), so somebody creating
    it between plan and apply is noticed too.
    """
    # casefolded "kind.natural key" → the address the config uses for it
    claimed = {f"permission_sets.{n}".casefold(): f"permission_sets.{n}"
               for n in config.permission_sets}
    claimed.update({f"permission_set_groups.{n}".casefold(): f"permission_set_groups.{n}"
                    for n in config.permission_set_groups})
    claimed.update({f"users.{u}".casefold(): config.address("users", u) for u in config.users})
    prefix = config.settings.scope.permission_set_prefix
    if prefix:
        claimed.update({f"permission_sets.{n}".casefold(): f"permission_sets.{n}"
                        for n in live.state.permission_sets if n.startswith(prefix)})
    entries: dict[str, list[str]] = {address: [] for address in claimed.values()}
    stamps = {**{k: "" for k in live.ids}, **live.fingerprint}
    for key, stamp in stamps.items():
        kind, _, rest = key.partition(":")
        owner = rest.split(":", 1)[0]
        address = claimed.get(f"{_RESOURCE_OF.get(kind, kind)}.{owner}")
        if address is not None:
            entries[address].append(f"{key}={live.ids.get(key, '')}@{stamp}")
    return FrozenMap({resource: _digest(sorted(lines)) for resource, lines in entries.items()})


def _digest(lines: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def moved(planned: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """Resources whose digest differs between a plan and a fresh read."""
    return sorted(k for k in set(planned) | set(now) if planned.get(k) != now.get(k))

"""A plan: ordered actions, manual steps, warnings, costs and a fingerprint of the org.

:func:`plan_from_live` is the pipeline: diff → checks → order, over a snapshot the
shell read for :func:`claims_for` (:func:`reconciler.workflow.make_plan`). A plan is
data: ``plan``, ``show`` and ``apply`` all read the same :class:`Plan`, and it saves as
versioned JSON (no secrets) that :func:`load_plan` reads back exactly. The file's
shape is :class:`PlanFile`, a pydantic document (docs/plan-format.md).

The fingerprint holds one digest per claimed resource (a permission set with its
access rows, a group with its components, a user with its assignments): ``apply``
reads the org again and refuses the plan when any digest moved, naming the resources.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictInt,
    ValidationError,
    model_serializer,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from reconciler import graph
from reconciler.actions import (
    KIND_ORDER,
    Action,
    AnyAction,
    Write,
    estimate_calls,
)
from reconciler.checks import (
    Checker,
    ManualStep,
    group_status_warnings,
    manual_steps,
    standard_access_warning,
)
from reconciler.config import Config
from reconciler.diff import diff
from reconciler.document import Text, Texts, read_document, shown
from reconciler.errors import PlanFileError, PlanRejected, ReconcilerError
from reconciler.live import Claims, Live
from reconciler.model import FrozenMap
from reconciler.private_files import write_private

PLAN_FORMAT: Final = "reconciler-plan"
PLAN_VERSION = 1


@dataclass(frozen=True)
class OrgRef:
    """Which org a plan is for."""

    name: str
    org_id: str
    instance_url: str
    running_user: str


@dataclass(frozen=True)
class RollbackSource:
    """The journal a rollback plan was made from (``reconciler rollback``): ``apply``
    derives the plan again from it, and refuses it once the file's bytes changed."""

    journal: str
    digest: str


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
    #: ``apply_calls`` by transport (name, calls), in the order of ``actions.TRANSPORTS``.
    apply_transports: tuple[tuple[str, int], ...] = ()
    fingerprint: FrozenMap[str, str] = field(default_factory=FrozenMap)
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    created_at: str = ""
    #: Set on a rollback plan: the journal whose apply it undoes.
    rollback_of: RollbackSource | None = None

    @property
    def empty(self) -> bool:
        return not self.actions

    def counts(self) -> tuple[int, int, int]:
        """(to add, to change, to remove)."""
        summary = _Summary.of(self.actions)
        return summary.add, summary.change, summary.remove

    @property
    def destructive(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.destructive)

    def layer_actions(self) -> list[list[Action]]:
        by_id = {a.id: a for a in self.actions}
        return [[by_id[i] for i in layer] for layer in self.layers]

    def to_json(self) -> dict[str, Any]:
        """The plan as its file holds it (:class:`PlanFile`)."""
        return PlanFile.of(self).model_dump(mode="json")

    def save(self, path: Path) -> None:
        """Write the plan as JSON (parents created; the file replaced atomically, 0600:
        a plan describes access)."""
        try:
            write_private(path, json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise ReconcilerError(f"can't save the plan to {path}: {exc.strerror or exc}") from None


# -- the plan file -----------------------------------------------------------------------

Count = Annotated[StrictInt, Field(ge=0)]


class _Document(BaseModel):
    """A part of a plan file: every key known, none missing, no value converted."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class _Summary(_Document):
    add: Count
    change: Count
    remove: Count
    destructive: Count

    @classmethod
    def of(cls, actions: Sequence[Action]) -> _Summary:
        add = sum(1 for a in actions if a.symbol == "+")
        remove = sum(1 for a in actions if a.symbol == "-")
        return cls(add=add, change=len(actions) - add - remove, remove=remove,
                   destructive=sum(1 for a in actions if a.destructive))


class _Calls(_Document):
    read: Count
    apply_estimate: Count
    apply_by_transport: dict[Text, Count] = {}

    @model_serializer(mode="wrap")
    def _known_keys(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Left out when empty: a file saved before the key existed prints back unchanged.
        out: dict[str, Any] = handler(self)
        if not out["apply_by_transport"]:
            del out["apply_by_transport"]
        return out


# Keys of an action entry that belong to the plan, not to the action itself.
_ENTRY_KEYS = ("id", "writes", "destructive", "depends_on")


class _Entry(_Document):
    """One action of a plan file: the action's own JSON with, beside it, its
    dependencies and what the plan derives from it (checked against the action)."""

    id: Text
    action: AnyAction
    writes: Write
    destructive: StrictBool
    depends_on: Texts

    @model_validator(mode="before")
    @classmethod
    def _split(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**{k: data[k] for k in _ENTRY_KEYS if k in data},
                "action": {k: v for k, v in data.items() if k not in _ENTRY_KEYS}}

    @model_validator(mode="after")
    def _derived(self) -> Self:
        action = self.action
        if self.id != action.id:
            raise _invalid(f"id {shown(self.id)} is not the one its kind and address give "
                           f"({shown(action.id)})")
        if self.writes != action.writes:
            raise _invalid(f"writes is not what a {action.kind} writes "
                           f"({action.writes.sobject} {action.writes.operation})")
        if self.destructive is not action.destructive:
            raise _invalid(f"destructive must be {json.dumps(action.destructive)} for this "
                           "action")
        return self

    @model_serializer(mode="plain")
    def _flat(self) -> dict[str, Any]:
        return {"id": self.id, **self.action.to_json(), "writes": asdict(self.writes),
                "destructive": self.destructive, "depends_on": list(self.depends_on)}


class PlanFile(_Document):
    """A saved plan, as its file holds it (docs/plan-format.md)."""

    format: Literal["reconciler-plan"]
    version: StrictInt
    created_at: Text
    org: OrgRef
    api_version: Text
    config_digest: Text
    targets: Texts
    excludes: Texts
    summary: _Summary
    api_calls: _Calls
    actions: tuple[_Entry, ...]
    layers: tuple[Texts, ...]
    manual_steps: tuple[ManualStep, ...]
    warnings: Texts
    fingerprint: dict[Text, Text]
    rollback_of: RollbackSource | None = None

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: Any) -> dict[str, Any]:
        # An ordinary plan's file has no rollback_of key at all.
        data: dict[str, Any] = handler(self)
        if data.get("rollback_of") is None:
            data.pop("rollback_of", None)
        return data

    @classmethod
    def of(cls, plan: Plan) -> PlanFile:
        """The file of ``plan``."""
        return cls(
            format=PLAN_FORMAT, version=PLAN_VERSION, created_at=plan.created_at,
            org=plan.org, api_version=plan.api_version, config_digest=plan.config_digest,
            targets=plan.targets, excludes=plan.excludes, summary=_Summary.of(plan.actions),
            api_calls=_Calls(read=plan.read_calls, apply_estimate=plan.apply_calls,
                             apply_by_transport=dict(plan.apply_transports)),
            # Built from a plan, not read: nothing to split or check.
            actions=tuple(_Entry.model_construct(
                id=a.id, action=a, writes=a.writes, destructive=a.destructive,
                depends_on=plan.depends_on.get(a.id, ())) for a in plan.actions),
            layers=plan.layers, manual_steps=plan.manual_steps, warnings=plan.warnings,
            fingerprint=dict(sorted(plan.fingerprint.items())), rollback_of=plan.rollback_of)

    def plan(self) -> Plan:
        """The plan this file holds."""
        return Plan(
            org=self.org, api_version=self.api_version, config_digest=self.config_digest,
            actions=tuple(e.action for e in self.actions),
            depends_on=FrozenMap({e.id: e.depends_on for e in self.actions}),
            layers=self.layers, manual_steps=self.manual_steps, warnings=self.warnings,
            read_calls=self.api_calls.read, apply_calls=self.api_calls.apply_estimate,
            apply_transports=tuple(self.api_calls.apply_by_transport.items()),
            fingerprint=FrozenMap(self.fingerprint), targets=self.targets,
            excludes=self.excludes, created_at=self.created_at, rollback_of=self.rollback_of)

    @model_validator(mode="after")
    def _whole(self) -> Self:
        """The parts agree: each action once, dependencies on other actions of the plan,
        every action in exactly one layer, a summary that counts the actions."""
        ids: set[str] = set()
        for entry in self.actions:
            if entry.id in ids:
                raise _invalid(f"action {shown(entry.id)} appears twice")
            ids.add(entry.id)
        for entry in self.actions:
            unknown = [n for n in entry.depends_on if n not in ids or n == entry.id]
            if unknown:
                raise _invalid(f"{shown(entry.id)} depends on {shown(unknown[0])}, which is "
                               "not another action of the plan")
        placed = [action_id for layer in self.layers for action_id in layer]
        strays = [i for i in placed if i not in ids]
        if strays:
            raise _invalid(f"layers: {shown(strays[0])} is not an action of the plan")
        if len(placed) != len(set(placed)) or set(placed) != ids:
            raise _invalid("layers must hold every action exactly once")
        if self.summary != _Summary.of([e.action for e in self.actions]):
            raise _invalid("summary does not count the actions the plan holds")
        return self


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("plan", message)  # no context: the text is taken as it is


# A plan of thousands of actions is a few MB; reading is bounded well above that so
# a wrong path (/dev/zero, a disk image) fails fast instead of filling memory.
MAX_PLAN_BYTES = 64 * 1024 * 1024
_REPLAN = "run `reconciler plan` again and apply the new plan"


def load_plan(path: Path) -> Plan:
    """Read a saved plan; :class:`PlanFileError` says, in one line, what is wrong.

    The whole document is checked (size, JSON, duplicate keys, every key and type,
    action ids, dependencies and layers) before anything may act on it.
    """
    data, _ = read_document(path, "plan file", MAX_PLAN_BYTES, PlanFileError)
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise PlanFileError(f"{path}: not a reconciler plan file")
    version = data.get("version")
    if type(version) is not int or version != PLAN_VERSION:
        raise PlanFileError(f"{path}: plan format version {shown(version)} is "
                            f"not supported (this reconciler reads version {PLAN_VERSION}); "
                            f"{_REPLAN}")
    try:
        return PlanFile.model_validate(data).plan()
    except ValidationError as exc:
        raise PlanFileError(f"{path}: malformed plan file: {_problem(exc.errors()[0])}; "
                            f"{_REPLAN}") from None


# What a value of the wrong type should have been, by pydantic's error type.
_EXPECTED = {"string_type": "a string", "bool_type": "true or false",
             "int_type": "a whole number", "greater_than_equal": "a whole number",
             "tuple_type": "a list", "list_type": "a list", "dict_type": "an object",
             "model_type": "an object", "model_attributes_type": "an object",
             "dataclass_type": "an object", "literal_error": "one of the documented values"}


def _problem(error: ErrorDetails) -> str:
    """One of pydantic's findings as the one line a reader of the file needs."""
    loc = list(error["loc"])
    if loc[:1] == ["actions"] and loc[2:3] == ["action"]:
        del loc[2:4]  # the entry's action and its kind: the action's keys are the entry's
    kind = error["type"]
    if kind in ("missing", "extra_forbidden", "unexpected_keyword_argument"):
        word = "missing" if kind == "missing" else "unknown"
        return f"{_where(loc[:-1]) or 'the plan'}: {word} key {shown(loc[-1])}"
    if kind == "union_tag_invalid":
        return f"{_where(loc)}: unknown action kind {shown(error['input'].get('kind'))}"
    if kind == "union_tag_not_found":
        return f"{_where(loc)}: missing key \"kind\""
    if kind in _EXPECTED:
        return f"{_where(loc)} must be {_EXPECTED[kind]}, not {shown(error['input'])}"
    where = _where(loc)
    return f"{where}: {error['msg']}" if where else error["msg"]


def _where(loc: Sequence[int | str]) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in loc
                   ).lstrip(".")


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
        setup_entities=tuple(sorted({e for ps in sets if not ps.absent
                                     for e in ps.setup_entities})),
    )


def plan_from_live(config: Config, live: Live, *, org: OrgRef, targets: Sequence[str] = (),
                   excludes: Sequence[str] = (), now: datetime | None = None) -> Plan:
    """A plan from a snapshot already read (see :func:`reconciler.workflow.make_plan`)."""
    changes = diff(config, live)
    actions = [*changes.actions, *changes.kept]
    desired = changes.desired
    problems = Checker(config, desired, live, actions, org.running_user).run()
    if problems:
        raise PlanRejected(problems)
    ordered, dag = graph.order(actions)
    if targets or excludes:
        ordered = graph.select(ordered, dag, targets=targets, excludes=excludes)
        ordered, dag = graph.order(ordered)
    layers = graph.layers(dag, ordered)
    calls = estimate_calls(layers)
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
        manual_steps=tuple(manual_steps(ordered, desired, live)),
        warnings=tuple(warnings),
        read_calls=live.api_calls,
        apply_calls=sum(calls.values()),
        apply_transports=tuple(calls.items()),
        fingerprint=fingerprint(config, live),
        targets=tuple(targets),
        excludes=tuple(excludes),
        created_at=(now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


# Record-key kinds (reader.record_key) → the resource kind they belong to: those the
# actions write, and a user's assignments digested as one.
_RESOURCE_OF = {**{kind.record_kind: kind.resource_kind for kind in KIND_ORDER},
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
    # The keys first, by resource, and each resource's lines only while it is digested:
    # a large org has a million records, and their lines at once would be its largest
    # object.
    keys: dict[str, list[str]] = {address: [] for address in claimed.values()}
    owners: dict[str, str | None] = {}  # "kind:owner" → its address (None: not claimed)
    ids, stamps = live.ids.lookup(), live.fingerprint.lookup()
    for key in (*ids, *(k for k in stamps if k not in ids)):
        kind, _, rest = key.partition(":")
        owner = rest.partition(":")[0]
        prefix = f"{kind}:{owner}"
        if prefix not in owners:
            owners[prefix] = claimed.get(f"{_RESOURCE_OF.get(kind, kind)}.{owner}")
        address = owners[prefix]
        if address is not None:
            keys[address].append(key)
    return FrozenMap({resource: _digest(sorted(
        f"{key}={ids.get(key, '')}@{stamps.get(key, '')}" for key in held))
        for resource, held in keys.items()})


def _digest(lines: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def moved(planned: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """Resources whose digest differs between a plan and a fresh read."""
    return sorted(k for k in set(planned) | set(now) if planned.get(k) != now.get(k))

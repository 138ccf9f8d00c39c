"""A plan: ordered actions, manual steps, warnings, costs and a fingerprint of the org.

:func:`make_plan` is the pipeline: claims → read → diff → checks → order. A plan is
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
from typing import Any, Protocol

from reconciler import graph
from reconciler.actions import Action, action_from_json
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
from reconciler.model import FrozenMap
from reconciler.org.reader import Claims, Live, Querier, read
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


def load_plan(path: Path) -> Plan:
    """Read a saved plan; :class:`PlanFileError` says what is wrong with a bad one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFileError(f"{path}: not a readable plan file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise PlanFileError(f"{path}: not a reconciler plan file")
    if data.get("version") != PLAN_VERSION:
        raise PlanFileError(f"{path}: plan format version {data.get('version')!r} is not "
                            f"supported (this reconciler reads version {PLAN_VERSION})")
    try:
        org = data["org"]
        actions = tuple(action_from_json(a) for a in data["actions"])
        return Plan(
            org=OrgRef(str(org["name"]), str(org["org_id"]), str(org["instance_url"]),
                       str(org["running_user"])),
            api_version=str(data["api_version"]),
            config_digest=str(data["config_digest"]),
            actions=actions,
            depends_on=FrozenMap({a["id"]: tuple(a["depends_on"]) for a in data["actions"]}),
            layers=tuple(tuple(layer) for layer in data["layers"]),
            manual_steps=tuple(ManualStep(s["address"], s["text"])
                               for s in data["manual_steps"]),
            warnings=tuple(data["warnings"]),
            read_calls=int(data["api_calls"]["read"]),
            apply_calls=int(data["api_calls"]["apply_estimate"]),
            fingerprint=FrozenMap(data["fingerprint"]),
            targets=tuple(data.get("targets", ())),
            excludes=tuple(data.get("excludes", ())),
            created_at=str(data.get("created_at", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"{path}: malformed plan file ({exc})") from None


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


class OrgReader(Querier, Protocol):
    """The client surface the plan needs: queries plus who and where it is."""

    @property
    def username(self) -> str: ...

    @property
    def org_id(self) -> str: ...

    @property
    def instance_url(self) -> str: ...


def make_plan(config: Config, client: OrgReader, *, org_name: str,
              targets: Sequence[str] = (), excludes: Sequence[str] = (),
              now: datetime | None = None) -> Plan:
    """Read the org and plan what makes it match the config.

    Raises :class:`PlanRejected` with every problem found (each at its config line),
    or :class:`~reconciler.errors.CycleError`.
    """
    live = read(client, claims_for(config))
    return plan_from_live(config, live, org=OrgRef(org_name, client.org_id,
                                                   client.instance_url, client.username),
                          targets=targets, excludes=excludes, now=now)


def plan_from_live(config: Config, live: Live, *, org: OrgRef, targets: Sequence[str] = (),
                   excludes: Sequence[str] = (), now: datetime | None = None) -> Plan:
    """The pure half of :func:`make_plan`: a plan from a snapshot already read."""
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

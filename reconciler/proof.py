"""A saved plan is a proof, not an instruction.

``apply PLAN_FILE`` derives the plan again from the config and from the org it has
just read (the read that checks the fingerprint, so no extra API calls) and carries
the saved plan out only when it is exactly that plan: the same actions with the same
values, the same dependencies, order and layers, the same manual steps. A plan file
edited after ``plan`` wrote it (more access for a set, another profile, a user the
config does not declare) is refused before anything is written, naming what differs.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.config import Config
from reconciler.document import shown
from reconciler.errors import PlanError
from reconciler.live import Live
from reconciler.plan import OrgRef, Plan, plan_from_live

#: How many differences a refusal names.
SHOWN = 5
_REPLAN = "nothing was written. Run `reconciler plan` again and review the new plan"


def check_proof(saved: Plan, config: Config, live: Live, org: OrgRef) -> None:
    """Refuse ``saved`` unless it is the plan ``config`` and ``live`` give now.

    First any action on a resource outside the config's scope (its users, sets and
    groups, sets under its name prefix, and what the derived plan itself touches),
    then every difference from the derived plan; :class:`PlanError` names the first
    few.
    """
    derived = plan_from_live(config, live, org=org, targets=saved.targets,
                             excludes=saved.excludes)
    # The config's scope: the resources it claims (one fingerprint entry each) and those
    # the derived plan reaches beyond them (an undeclared user losing a deleted set).
    scope = {resource.casefold() for resource in derived.fingerprint}
    scope |= {a.resource.casefold() for a in derived.actions}
    outside = [a.id for a in saved.actions if a.resource.casefold() not in scope]
    if outside:
        raise PlanError("the plan file has actions outside the config's scope (on users, "
                        "permission sets or groups the config does not manage): "
                        + _listed([shown(i) for i in outside]) + f"; {_REPLAN}")
    found = differences(saved, derived)
    if found:
        raise PlanError("the plan file is not the plan the config and the org give now: "
                        + _listed(found) + f"; {_REPLAN}")


def differences(saved: Plan, derived: Plan) -> list[str]:
    """What a saved plan holds that the derived one does not, one phrase each: added,
    missing and changed actions (with the first attribute that differs), then order,
    layers, manual steps and API version."""
    have = {e["id"]: e for e in saved.to_json()["actions"]}
    want = {e["id"]: e for e in derived.to_json()["actions"]}
    out = [f"added {shown(i)}" for i in have if i not in want]
    out += [f"missing {shown(i)}" for i in want if i not in have]
    for action_id, entry in have.items():
        other = want.get(action_id)
        if other is None:
            continue
        changed = [k for k in sorted(set(entry) | set(other))
                   if _canonical(entry.get(k)) != _canonical(other.get(k))]
        if changed:
            key = changed[0]
            out.append(f"changed {shown(action_id)}: {key} is {shown(entry.get(key))} in the "
                       f"file, {shown(other.get(key))} now")
    if not out and list(have) != list(want):
        out.append("the actions are in another order")
    if saved.layers != derived.layers:
        first = next((i for i, (x, y) in enumerate(zip(saved.layers, derived.layers,
                                                       strict=False)) if x != y),
                     min(len(saved.layers), len(derived.layers)))
        out.append(f"the layers differ from layer {first + 1} on")
    if saved.manual_steps != derived.manual_steps:
        out.append("the manual steps differ")
    if saved.api_version != derived.api_version:
        out.append(f"api_version is {shown(saved.api_version)} in the file, "
                   f"{shown(derived.api_version)} now")
    return out


def _canonical(value: Any) -> str:
    # JSON text, not Python equality: true and 1, 1 and 1.0 are different in a file.
    return json.dumps(value, sort_keys=True)


def _listed(items: list[str]) -> str:
    more = len(items) - SHOWN
    return ", ".join(items[:SHOWN]) + (f" and {more} more" if more > 0 else "")

"""Finding drift: every difference between the org and the config, graded.

The org as ``plan`` reads it is diffed against the config, and every action the plan
would take becomes a drift item, graded by :data:`~reconciler.drift.rules.RULES`.
Nothing here ever writes to the org: fixing drift is ``apply``. Pure: the config and
the org's snapshot in, items and notes out.
"""

from __future__ import annotations

from reconciler import trail
from reconciler.actions import Action
from reconciler.checks import Checker, group_status_warnings, license_changes, location_of
from reconciler.config import Config
from reconciler.diff import diff
from reconciler.drift.report import DriftItem
from reconciler.drift.rules import LICENSE_KIND, POLICY_KIND, RULES, SEVERITIES, Labels
from reconciler.errors import PlanRejected
from reconciler.live import Live
from reconciler.policy import Evaluation


def find_drift(config: Config, live: Live, running_user: str) -> tuple[list[DriftItem],
                                                                       list[str]]:
    """Every difference between the org and the config, graded; and notes.

    Raises :class:`PlanRejected` when the config can't be compared with this org (a
    name the org lacks…). A changed set license is drift, not an error; what apply
    would refuse (seats, lifecycle, our own user) becomes a note.
    """
    changes = diff(config, live)
    desired = changes.desired
    checker = Checker(config, desired, live, changes.actions, running_user)
    problems = checker.comparable()
    if problems:
        raise PlanRejected(problems)
    refusals = checker.applicable()
    labels = Labels(config, live)
    items = [_item(config, action, labels) for action in changes.actions]
    for change in license_changes(config, desired, live):
        address = f"permission_sets.{change.name}.license"
        items.append(DriftItem(
            kind=LICENSE_KIND, address=address, resource=f"permission_sets.{change.name}",
            severity="widening",
            summary=(f"license: the org has {change.live or 'none'}, the config "
                     f"{change.wanted or 'none'} (a license is set at creation: apply "
                     "can't change it; delete the set or give the new one another name)"),
            config_location=_where(config, address),
            clue=trail.set_created(labels.set(change.name), change.live)))
    items.sort(key=lambda i: (SEVERITIES.index(i.severity), i.address, i.kind))
    notes = [f"{address}: {message}" for address, message in changes.observed]
    notes += [f"apply would refuse: {problem}" for problem in refusals]
    notes += group_status_warnings(desired, live)
    return items, notes


def _where(config: Config, address: str) -> str | None:
    where = location_of(config, address)
    return str(where) if where is not None else None


def _item(config: Config, action: Action, labels: Labels) -> DriftItem:
    rule = RULES[type(action)]
    return DriftItem(kind=action.kind, address=action.address, resource=action.resource,
                     severity=rule.severity(action), summary=rule.describe(action),
                     config_location=_where(config, action.address), fix=action,
                     clue=rule.clue(action, labels))


def policy_items(checked: Evaluation) -> list[DriftItem]:
    """Each policy violation in the org as a widening drift item."""
    return [DriftItem(kind=POLICY_KIND, address=f"{v.rule}:{v.subject}:{v.right}",
                      resource=v.address or v.subject, severity="widening",
                      summary=v.message,
                      config_location=str(v.location) if v.location is not None else None)
            for v in checked.violations]

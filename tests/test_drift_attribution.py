"""Which Setup Audit Trail rows a drift report shows as who changed an item, and over
which window it looks: the pure attribution step, on rows given as values.

``tests/test_drift.py`` shows attribution end to end; these pin its limits: how many
rows an item keeps, where its history stops, what a quiet window keeps from the last
report, and where the window opens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler import trail
from reconciler.drift.attribute import Previous, attribute, window_start
from reconciler.drift.report import ConfigRef, DriftItem, Evidence, Report
from reconciler.plan import OrgRef

RUNNING_USER = "Reconciler@Acme.Example"
NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)


def _item() -> DriftItem:
    return DriftItem(kind="reactivate_user", address="users.a.active", resource="users.a",
                     severity="narrowing", summary="deactivated in Setup",
                     clue=trail.user_activity(("a@acme.example", "Ann Able"), activated=False))


def _row(minutes_ago: int, by: str = "ops@acme.example") -> trail.AuditEntry:
    return trail.AuditEntry(at=NOW - timedelta(minutes=minutes_ago), by=by,
                            action="deactivateduser", section="Manage Users",
                            display="Deactivated user a@acme.example")


def _who(item: DriftItem) -> list[tuple[str, str, bool]]:
    return [(e.at, e.by, e.by_reconciler) for e in item.attribution]


def test_an_item_keeps_its_three_newest_rows() -> None:
    rows = [_row(m) for m in (1, 2, 3, 4, 5)]
    (found,) = attribute([_item()], rows, running_user=RUNNING_USER)
    assert [e.at for e in found.attribution] == [trail.iso(r.at) for r in rows[:3]]
    assert all(e.source == "audit_trail" for e in found.attribution)


def test_history_stops_at_the_reconcilers_own_row() -> None:
    """The reconciler's row set the item as configured: rows older than it explain
    nothing about today's drift. Its user is matched in any case."""
    ours = "reconciler@acme.example"
    (found,) = attribute([_item()], [_row(1), _row(2, by=ours), _row(3)],
                         running_user=RUNNING_USER)
    assert _who(found) == [(trail.iso(NOW - timedelta(minutes=1)), "ops@acme.example", False)]
    (found,) = attribute([_item()], [_row(2, by=ours), _row(3)], running_user=RUNNING_USER)
    assert _who(found) == [(trail.iso(NOW - timedelta(minutes=2)), ours, True)]


def test_a_row_without_a_user_is_not_the_reconcilers() -> None:
    (found,) = attribute([_item()], [_row(1, by=""), _row(2)], running_user="")
    assert _who(found) == [(trail.iso(NOW - timedelta(minutes=1)), "", False),
                           (trail.iso(NOW - timedelta(minutes=2)), "ops@acme.example", False)]


def test_a_quiet_window_keeps_what_the_last_report_found() -> None:
    item = _item()
    earlier_row = Evidence.of(_row(60 * 24), RUNNING_USER).model_copy(
        update={"source": "previous_report"})
    earlier = {item.key: (earlier_row,)}
    (kept,) = attribute([item], [], running_user=RUNNING_USER, earlier=earlier)
    assert kept.attribution == (earlier_row,)
    (fresh,) = attribute([item], [_row(1)], running_user=RUNNING_USER, earlier=earlier)
    assert [e.source for e in fresh.attribution] == ["audit_trail"]
    # what the last report found about other items explains nothing about this one
    (unknown,) = attribute([item], [], running_user=RUNNING_USER,
                           earlier={"another item": (earlier_row,)})
    assert unknown.model_dump(mode="json")["attribution"] == {"status": "unknown",
                                                              "changes": []}


def test_the_last_report_is_remembered_with_its_evidence_marked_as_earlier() -> None:
    (attributed,) = attribute([_item()], [_row(1)], running_user=RUNNING_USER)
    report = Report(checked_at="2026-01-31T11:00:00Z",
                    org=OrgRef("prod", "00D000000000001", "https://x", RUNNING_USER),
                    config=ConfigRef(path="config", digest="d"),
                    items=(attributed, _item()))
    previous = Previous.of(report)
    assert previous.checked_at == datetime(2026, 1, 31, 11, tzinfo=UTC)
    assert previous.org_id == "00D000000000001"
    assert list(previous.attribution) == [attributed.key]
    assert [e.source for e in previous.attribution[attributed.key]] == ["previous_report"]
    assert [e.at for e in previous.attribution[attributed.key]] == [
        e.at for e in attributed.attribution]


def test_the_window_opens_at_since_else_just_before_the_last_run_else_a_week_ago() -> None:
    last = Previous(checked_at=NOW - timedelta(hours=1), org_id="00D", attribution={})
    assert window_start(NOW, timedelta(hours=3), last) == NOW - timedelta(hours=3)
    assert window_start(NOW, None, last) == NOW - timedelta(hours=1, minutes=5)
    # a last run stamped in the future (a clock ahead) never opens the window later than now
    ahead = Previous(checked_at=NOW + timedelta(hours=1), org_id="00D", attribution={})
    assert window_start(NOW, None, ahead) == NOW
    undated = Previous(checked_at=None, org_id="00D", attribution={})
    assert window_start(NOW, None, undated) == NOW - timedelta(days=7)
    assert window_start(NOW, None, None) == NOW - timedelta(days=7)

"""When apply polls a Bulk API 2.0 job: about when the job's own rate says it ends, so a
job finishing just after a poll is not left waiting out a long backoff, and a long job
costs a few polls, not one per step of the backoff."""

from __future__ import annotations

import pytest

from reconciler.org.bulk import next_poll


def test_a_moving_job_is_polled_when_its_rate_says_it_ends() -> None:
    # 4,000 of 5,000 rows in 2 s: the last 1,000 take about 0.5 s more.
    pause = next_poll(10.0, 5_000, (0.0, 0), (2.0, 4_000))
    assert 0.5 <= pause <= 0.6


def test_a_long_job_is_polled_a_few_times_not_at_every_backoff_step() -> None:
    # 3,000 of 90,000 rows in 1 s: the rest takes half a minute; wait the longest pause.
    assert next_poll(0.375, 90_000, (0.0, 0), (1.0, 3_000)) == 10.0
    # 60,000 in 10 s: 5 s to go, by a rate that may be rough; look again half way.
    assert next_poll(0.844, 90_000, (0.0, 0), (10.0, 60_000)) == 2.5
    # 86,000 in 10 s: under half a second to go; poll just after.
    assert 0.5 <= next_poll(0.844, 90_000, (0.0, 0), (10.0, 86_000)) <= 0.6


@pytest.mark.parametrize(("rows", "before", "now"), [
    (5_000, (0.0, 0), (1.0, 0)),          # queued: nothing processed yet
    (5_000, (0.0, 200), (1.0, 200)),      # stalled between two polls
    (0, (0.0, 0), (1.0, 300)),            # a job whose size the caller doesn't know
])
def test_without_a_rate_the_backoff_decides(rows: int, before: tuple[float, int],
                                            now: tuple[float, int]) -> None:
    assert next_poll(3.375, rows, before, now) == 3.375


def test_a_nearly_done_job_is_not_polled_in_a_tight_loop() -> None:
    # 4,999 of 5,000 rows: the estimate is instant; the pause keeps its floor.
    assert next_poll(10.0, 5_000, (0.0, 0), (1.0, 4_999)) == 0.25

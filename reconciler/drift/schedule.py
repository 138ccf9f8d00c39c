"""Running drift on a schedule: durations, the loop with jitter, and stop signals.

One run at a time, each interval ± :data:`JITTER`; SIGTERM or SIGINT stops it: while
it sleeps, at once; while a run is still reading the org, that run is abandoned
(nothing is sent or saved); once it is reporting, the run finishes first.
"""

from __future__ import annotations

import contextlib
import random
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Protocol

from reconciler.errors import ReconcilerError, UsageError
from reconciler.trail import iso

#: The scheduler waits ``every`` ± this fraction, so many schedulers spread out.
JITTER = 0.1

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(value: str, option: str) -> float:
    """``30s``, ``15m``, ``1h``, ``1h30m``, ``0.5s``, ``7d`` → seconds (> 0)."""
    text = value.strip().lower()
    if not text or _DURATION.sub("", text) != "":
        raise UsageError(f"{option}: {value!r} is not a duration (like 30s, 15m, 1h, 7d)")
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))
    if seconds <= 0:
        raise UsageError(f"{option}: the duration must be more than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """Seconds as people read them: ``4.2s``, ``15m00s``, ``1h30m``."""
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Console(Protocol):
    """Where a run's output goes (the CLI prints; tests may collect)."""

    def out(self, text: str) -> None: ...

    def err(self, text: str) -> None: ...

    def error(self, exc: ReconcilerError) -> None: ...


class RunAbandoned(BaseException):
    """A stop signal arrived while a run was only reading: it is dropped (internal).

    A BaseException, so that no ``except Exception`` on the way swallows it.
    """


class Stopper:
    """SIGTERM/SIGINT for a scheduler: stop between runs; abandon a run that is only
    reading (nothing written, nothing sent); let one that is reporting finish."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._abandonable = False
        self.signal = ""

    @property
    def stopped(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when a stop was asked for."""
        return self._event.wait(max(0.0, seconds))

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.signal = signal.Signals(signum).name
        self._event.set()
        if self._abandonable:
            self._abandonable = False
            raise RunAbandoned(self.signal)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only
            return
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    @contextlib.contextmanager
    def abandonable(self) -> Iterator[Callable[[], None]]:
        """A block a stop signal may cut short; it yields ``settle()``, which ends that."""
        if self.stopped:
            raise RunAbandoned(self.signal)
        self._abandonable = True
        try:
            yield self._settle
        finally:
            self._abandonable = False

    def _settle(self) -> None:
        self._abandonable = False


#: A block a run reads the org in; it yields ``settle()``, which says reading is over.
Reading = Callable[[], contextlib.AbstractContextManager[Callable[[], None]]]


@contextlib.contextmanager
def uninterruptible() -> Iterator[Callable[[], None]]:
    """The :data:`Reading` of a single run: nothing cuts it short."""
    yield lambda: None


def every(seconds: float, runs: int | None, once: Callable[[Reading], int],
          console: Console) -> int:
    """Call ``once`` every ``seconds`` (± :data:`JITTER`) until ``runs`` are done or a
    signal stops it; returns the last run's exit code, or 0 when stopped.

    ``once`` gets the block its reading may be abandoned in. A run's error is reported
    and the schedule goes on.
    """
    stopper = Stopper()
    code, done = 0, 0
    with stopper.installed():
        while True:
            started = time.monotonic()
            try:
                code = once(stopper.abandonable)
            except RunAbandoned:
                console.err(f"Stopped by {stopper.signal}: the run in progress was abandoned "
                            "(it had only been reading; nothing was sent or saved).")
                return 0
            except ReconcilerError as exc:
                console.error(exc)
                code = 1
            done += 1
            if stopper.stopped:
                console.err(f"Stopped by {stopper.signal} after {done} "
                            f"run{'s' if done != 1 else ''}.")
                return 0
            if runs is not None and done >= runs:
                return code
            delay = seconds * random.uniform(1 - JITTER, 1 + JITTER)
            delay = max(0.0, delay - (time.monotonic() - started))
            at = iso(datetime.now(UTC) + timedelta(seconds=delay))
            console.err(f"Next drift run in {format_duration(delay)} (at {at}).")
            if stopper.wait(delay):
                console.err(f"Stopped by {stopper.signal} after {done} "
                            f"run{'s' if done != 1 else ''}.")
                return 0

"""What the terminal gets: colour and live progress on a person's terminal, plain lines
in CI and in pipes.

- ``NO_COLOR`` set to anything but the empty string turns colour off
  (https://no-color.org); rich's Console reads it too, so its bars are plain as well.
- ``CI`` set to anything but ``""``, ``0`` or ``false`` (GitHub Actions, GitLab CI,
  CircleCI… set ``CI=true``) means a log, not a person: no colour, no redrawn bars.
- Otherwise colour and bars only when the stream is a terminal.
"""

from __future__ import annotations

import os
from typing import TextIO


def in_ci() -> bool:
    """True when a CI system runs the command (``CI=true`` and its like)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def color(stream: TextIO, *, allowed: bool = True) -> bool:
    """Whether to colour what goes to ``stream`` (``allowed`` is the --no-color flag's
    opposite)."""
    return (allowed and os.environ.get("NO_COLOR", "") == "" and not in_ci()
            and stream.isatty())


def live(stream: TextIO) -> bool:
    """Whether a redrawn progress bar may go to ``stream``; plain lines otherwise."""
    return not in_ci() and stream.isatty()

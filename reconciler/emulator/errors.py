"""The emulator's own error: the local org could not start or was used wrongly.

The emulator shares no code with the reconciler (it stands in for a real org), so it
has its own error type; the reconciler's shell (``reconciler.org.connect``) turns it
into the reconciler's ``EmulatorError``, message unchanged.
"""

from __future__ import annotations


class LocalOrgError(Exception):
    """The local org could not start (its seed, data directory or address) or was misused."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

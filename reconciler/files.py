"""The reconciler's locks: one apply per org, one drift run per org.

The file rules (owner-only modes, atomic writes, the ``flock`` that names its holder)
live in :mod:`reconciler.private_files`, which the embedded org shares; here its lock
speaks the reconciler's errors, so a second process is told why with exit code 1.
"""

from __future__ import annotations

from reconciler.errors import ReconcilerError, UsageError
from reconciler.private_files import FileLock as _SharedLock
from reconciler.private_files import LockError


class FileLock(_SharedLock):
    """An exclusive, non-blocking ``flock`` on ``path`` (see
    :class:`reconciler.private_files.FileLock`) that raises :class:`UsageError` naming
    who holds it, or :class:`ReconcilerError` when its file can't be opened."""

    def acquire(self) -> None:
        try:
            super().acquire()
        except LockError as exc:
            raise (UsageError if exc.held else ReconcilerError)(exc.message) from None

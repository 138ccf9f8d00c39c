"""Reading a file the user named, within a size limit.

A path in a config or on the command line may name ``/dev/zero``, a FIFO or a
file of gigabytes: reading it whole would never end, block, or exhaust memory.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["read_limited", "size_text"]


def size_text(size: int) -> str:
    """A byte count as people write limits: "5 MiB", "64 KiB", "100 bytes"."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, which must hold at most ``limit`` bytes.

    Raises :class:`OSError` whose ``strerror`` says what is wrong: the usual ones
    (missing, no permission), not a regular file (a device, FIFO or socket), or
    ``"<size> bytes, more than the <limit> limit"`` (``errno.EFBIG``).
    """
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise OSError(errno.EISDIR, "is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a device, FIFO or socket)")
        too_big = f"more than the {size_text(limit)} limit"
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"{info.st_size} bytes, {too_big}")
        data = fh.read(limit + 1)  # the file may have grown since fstat
    if len(data) > limit:
        raise OSError(errno.EFBIG, too_big)
    return data

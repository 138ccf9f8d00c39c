"""Files that describe access or hold secrets, and the locks that keep writers apart.

Plans, journals, drift state and everything the embedded org keeps (its SQLite file,
CA key, credentials) say who may do what in an org, and some hold secrets: they are
written readable by their owner only (0600, directories 0700), whatever the umask.
A file found with a looser mode is tightened when it is opened again, quietly: the
owner asked for nothing else, and a warning on every run would only be noise.

A :class:`FileLock` (``flock``) keeps two processes from writing the same thing at
once; it is let go when its holder exits, even when killed, so it never goes stale.
The lock file names its holder (pid, command, since) for the message a second
process gets.

This is the one module the reconciler and its embedded org (``reconciler.emulator``)
share, so it imports nothing from either: a lock that can't be taken raises
:class:`LockError`, which each side turns into its own error.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) a directory only its owner can enter."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(path, DIR_MODE)
    return path


def tighten(path: Path, mode: int = FILE_MODE) -> None:
    """Take group and other access away from ``path`` if it exists and has any."""
    try:
        current = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return
    if current & 0o077:
        os.chmod(path, current & mode)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically and durably, mode 0600.

    The text goes to a temporary file beside it, is flushed to disk, then renamed
    over ``path``: a reader, or a process killed at any moment, sees the old file or
    the new one, never half of one. Raises OSError.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # a temporary file left by a killed run keeps its mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fd = -1
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        if fd >= 0:
            os.close(fd)
    tmp.replace(path)
    _sync_dir(path.parent)


def _sync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` survive a crash (where the platform allows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems can't sync a directory; the rename is still atomic
    finally:
        os.close(fd)


def _command() -> str:
    """What this process is, for another process's message: the command path when
    run by the CLI (never its arguments, which may name files or values)."""
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        return ctx.command_path
    return Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"


Hint = Callable[[Mapping[str, Any]], str]


class LockError(Exception):
    """A :class:`FileLock` could not be taken: ``held`` when another process holds it,
    else its file could not be opened."""

    def __init__(self, message: str, *, held: bool) -> None:
        super().__init__(message)
        self.message = message
        self.held = held

    def __str__(self) -> str:
        return self.message


class FileLock:
    """An exclusive, non-blocking ``flock`` on ``path``, with its holder written in it.

    ``busy`` starts the message a second process gets (``"apply for org x is already
    running"``); ``hint`` may add what to do, given the holder's note.
    """

    def __init__(self, path: Path, busy: str, hint: Hint | None = None) -> None:
        self.path = path
        self.busy = busy
        self.hint = hint
        self._fd = -1
        self._holder: dict[str, Any] = {}

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockError` naming who holds it."""
        try:
            private_dir(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise LockError(f"can't open the lock {self.path}: {exc.strerror or exc}",
                            held=False) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockError(self._message(holder), held=True) from None
        tighten(self.path)
        self._fd = fd
        self._holder = {"pid": os.getpid(), "command": _command(),
                        "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        self._write_holder()

    def note(self, **extra: Any) -> None:
        """Add to what the lock file says about its holder (a server's URL, say)."""
        self._holder.update(extra)
        self._write_holder()

    def release(self) -> None:
        if self._fd < 0:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def _write_holder(self) -> None:
        if self._fd < 0:
            return
        data = (json.dumps(self._holder) + "\n").encode("utf-8")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def _message(self, holder: Mapping[str, Any]) -> str:
        def shown(key: str) -> str:  # the file may say anything: one printable line
            return "".join(c if c.isprintable() else "?" for c in str(holder.get(key, "")))

        who = f"pid {shown('pid') or '?'}"
        about = [shown("command")] if holder.get("command") else []
        if holder.get("since"):
            about.append(f"since {shown('since')}")
        if holder.get("url"):
            about.append(f"serving {shown('url')}")
        about.append(str(self.path))
        text = f"{self.busy}: the lock is held by {who} ({', '.join(about)})"
        hint = self.hint(holder) if self.hint is not None else ""
        return f"{text}. {hint}" if hint else text


def _read_holder(fd: int) -> dict[str, Any]:
    raw = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data
    return {"pid": raw} if raw else {}

"""Install the Salesforce CLI the sf tests drive, once, into a cache directory.

The CLI comes from npm, pinned by ``package.json`` and ``package-lock.json`` beside this
file, and lands outside the repository: ``$RECONCILER_SF_CLI_DIR``, else
``$XDG_CACHE_HOME/reconciler/sf-cli``, else ``~/.cache/reconciler/sf-cli``. A stamp
(the digest of both files and the Node version) makes a second run a no-op that
takes milliseconds; a changed pin or Node reinstalls.

``python -m tests.sfcli.install`` installs and prints where ``sf`` is, or says why it
could not (exit 0 either way: the sf tests then skip and say so). ``.ci/run`` calls it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PINS = (HERE / "package.json", HERE / "package-lock.json")
INSTALL_TIMEOUT = 900


class Unavailable(Exception):
    """The CLI is not installed and cannot be: the reason says why."""


def cache_dir() -> Path:
    """Where the CLI is installed."""
    override = os.environ.get("RECONCILER_SF_CLI_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reconciler" / "sf-cli"


def sf_bin(root: Path | None = None) -> Path:
    """The ``sf`` launcher inside an installation."""
    return (root or cache_dir()) / "node_modules" / ".bin" / "sf"


def _stamp(node: str) -> str:
    digest = hashlib.sha256()
    for pin in PINS:
        digest.update(pin.read_bytes())
    version = subprocess.run([node, "--version"], capture_output=True, text=True,
                             check=False, timeout=60).stdout.strip()
    digest.update(version.encode())
    return digest.hexdigest()


def ensure_installed(log: bool = False) -> Path:
    """The ``sf`` launcher, installing it first when missing or out of date.

    Raises :class:`Unavailable` when Node or npm is missing or the install fails."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise Unavailable("node and npm are not on PATH")
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    stamp_file = root / ".reconciler-stamp"
    want = _stamp(node)
    # Two runs at once (pytest and .ci/run, two terminals) must not interleave npm ci.
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if sf_bin(root).exists() and stamp_file.exists() and \
                stamp_file.read_text().strip() == want:
            return sf_bin(root)
        if log:
            print(f"installing the Salesforce CLI into {root} (once; about a minute)",
                  flush=True)
        stamp_file.unlink(missing_ok=True)
        for pin in PINS:
            shutil.copyfile(pin, root / pin.name)
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=root, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise Unavailable(f"npm ci did not finish in {INSTALL_TIMEOUT} s") from None
        if done.returncode != 0 or not sf_bin(root).exists():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise Unavailable(f"npm ci failed in {root} (exit {done.returncode}): {tail}")
        stamp_file.write_text(want + "\n")
    return sf_bin(root)


def main() -> int:
    try:
        path = ensure_installed(log=True)
    except Unavailable as exc:
        print(f"SKIPPED: the Salesforce CLI tests will skip: {exc}", flush=True)
        return 0
    print(f"Salesforce CLI ready: {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

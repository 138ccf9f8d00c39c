"""The embedded local org: a Salesforce REST API emulator over HTTPS, backed by SQLite.

Python API (what the tests and the ``--org local`` mode use)::

    with start_emulator(data_dir, seed=...) as emu:
        emu.url, emu.ca_file, emu.credentials      # where and how to connect
        emu.faults.add(kind="error", path="composite", status=503, times=2)
        emu.stats()                                # API calls counted
        emu.reset(); emu.auth.expire_all(); emu.set_daily_limit(100)
        emu.set_group_recalculation(seconds=2, failing=["G"])  # groups stay Updating 2 s
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reconciler.emulator.listener import IDLE_TIMEOUT
from reconciler.emulator.server import Emulator, open_emulator


@contextmanager
def start_emulator(
    data_dir: Path | None = None,
    seed: Path | Mapping[str, Any] | None = None,
    *,
    port: int = 0,
    idle_timeout: float = IDLE_TIMEOUT,
) -> Iterator[Emulator]:
    """Serve an org on ``https://127.0.0.1:<port>`` for the duration of the block.

    ``data_dir`` keeps the org (SQLite), its CA and credentials across runs; without
    it the org lives in memory and its CA in a temporary directory. A connection silent
    for ``idle_timeout`` seconds is closed.
    """
    with tempfile.TemporaryDirectory(prefix="reconciler-emulator-") as tmp:
        cert_dir = data_dir if data_dir is not None else Path(tmp)
        emulator = open_emulator(data_dir, seed, port=port, cert_dir=cert_dir,
                                 idle_timeout=idle_timeout)
        emulator.start()
        try:
            yield emulator
        finally:
            emulator.stop()


__all__ = ["Emulator", "start_emulator"]

"""Fixtures: a fresh emulated org per test, reached over HTTPS like a real org."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from simple_salesforce import Salesforce

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import client


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(tmp_path / "org") as emulator:
        yield emulator


@pytest.fixture
def sf(emu: Emulator) -> Salesforce:
    return client(emu)

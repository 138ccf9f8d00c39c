"""Test-wide settings and fixtures.

Property tests explore at random locally and replay a fixed sequence of examples on CI
(``CI`` set), so a CI run is reproducible. ``emu`` is a fresh emulated org per test,
``sf`` a simple-salesforce client of it over HTTPS, as a real org is reached; a module
that needs a seeded org defines its own ``emu``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from simple_salesforce import Salesforce

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import client

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(tmp_path / "org") as emulator:
        yield emulator


@pytest.fixture
def sf(emu: Emulator) -> Salesforce:
    return client(emu)

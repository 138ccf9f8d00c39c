"""Fixtures for the Salesforce CLI tests: the CLI (installed once into a cache
directory, or the tests skip and say why), a state directory of its own per session,
and one emulator with one login per module, since the CLI starts slowly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from simple_salesforce import Salesforce

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import client
from tests.sfcli.helpers import SfCli
from tests.sfcli.install import Unavailable, ensure_installed


@pytest.fixture(scope="session")
def sf_bin() -> Path:
    try:
        return ensure_installed()
    except Unavailable as exc:
        pytest.skip(f"Salesforce CLI tests skipped: {exc}")


@pytest.fixture(scope="session")
def sf_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HOME for the CLI: its auth files and config never touch the user's own."""
    return tmp_path_factory.mktemp("sf-home")


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with start_emulator(tmp_path_factory.mktemp("sf-org")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def cli(sf_bin: Path, sf_home: Path, emu: Emulator) -> SfCli:
    return SfCli(sf_bin, sf_home, emu)


@pytest.fixture(scope="module")
def sf(emu: Emulator) -> Salesforce:
    return client(emu)

"""Requests that fit: Salesforce refuses a request whose URI and headers pass 16,384
bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from simple_salesforce import Salesforce

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import API_VERSION, client, http_session, token

MAX_REQUEST_BYTES = 16_384


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with start_emulator(tmp_path / "org") as emulator:
        yield emulator


@pytest.fixture
def sf(emu: Emulator) -> Salesforce:
    return client(emu)


def test_a_request_past_16384_bytes_is_refused_as_salesforce_does(emu: Emulator) -> None:
    bearer = token(emu)
    session = http_session(emu)
    base = f"{emu.url}/services/data/v{API_VERSION}/query/"
    before = emu.stats()["api_calls"]
    # The URI alone is too long: 414.
    long_q = "SELECT Id FROM Account WHERE Name = '" + "x" * MAX_REQUEST_BYTES + "'"
    too_long = session.get(base, params={"q": long_q},
                           headers={"Authorization": f"Bearer {bearer}"})
    assert too_long.status_code == 414
    assert "URI Too Long" in too_long.text
    # The URI fits, the URI and headers together don't: 431.
    fits_alone = "SELECT Id FROM Account WHERE Name = '" + "x" * 14_000 + "'"
    crowded = session.get(base, params={"q": fits_alone},
                          headers={"Authorization": f"Bearer {bearer}",
                                   "X-Padding": "p" * 3_000})
    assert crowded.status_code == 431
    assert "Request Header Fields Too Large" in crowded.text
    # Refused before the API: nothing counted against the org's limits.
    assert emu.stats()["api_calls"] == before
    # The same query with ordinary headers goes through.
    ok = session.get(base, params={"q": fits_alone},
                     headers={"Authorization": f"Bearer {bearer}"})
    assert ok.status_code == 200, ok.text

"""Requests that fit: Salesforce refuses a request whose URI and headers pass 16,384
bytes; the reader splits its queries (IN lists and PermissionSet's hundreds of system
permission columns) so that each one fits, and still sees every permission."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from reconciler.emulator import Emulator, start_emulator
from reconciler.org.soql import (
    MAX_QUERY_URI,
    MAX_REQUEST_BYTES,
    in_list,
    query_uri_length,
    split_select,
)
from tests.emulator.helpers import API_VERSION, client, http_session, token
from tests.orgdir import Org

TEMPLATE = "SELECT Id, {columns} FROM PermissionSet WHERE Id IN {in}"


def _system_permissions(sf: Salesforce) -> list[str]:
    return sorted(f["name"] for f in sf.PermissionSet.describe()["fields"]
                  if f["name"].startswith("Permissions") and f["type"] == "boolean"
                  and f["updateable"])


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


def test_one_select_of_every_permission_is_refused_and_the_split_reads_pass(
        sf: Salesforce) -> None:
    columns = _system_permissions(sf)
    first, last = columns[0], columns[-1]
    ids = [str(sf.PermissionSet.create({
        "Name": f"INT_Wide_{i}", "Label": f"Wide {i}", first: True, last: True,
    })["id"]) for i in range(40)]
    whole = f"SELECT Id, {', '.join(columns)} FROM PermissionSet WHERE Id IN {in_list(ids)}"
    assert query_uri_length(whole) > MAX_REQUEST_BYTES
    with pytest.raises(SalesforceError) as refused:
        sf.query(whole)
    assert refused.value.status == 414

    queries = split_select(TEMPLATE, columns, ids)
    assert len(queries) > 1
    assert all(query_uri_length(q) <= MAX_QUERY_URI for q in queries)
    merged: dict[str, dict[str, Any]] = {}
    for soql in queries:
        for row in sf.query(soql)["records"]:
            merged.setdefault(row["Id"], {}).update(row)
    assert sorted(merged) == sorted(ids)
    for row in merged.values():
        assert set(columns) <= set(row)
        assert sorted(c for c in columns if row[c]) == sorted([first, last])


CONFIG = """\
permission_sets:
  INT_Wide:
    label: Integration - Wide
    system_permissions: [ApiEnabled]
"""


@pytest.fixture
def wide_org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(tmp_path / "data") as emu:
        org = Org(emu, tmp_path)
        org.write("sets.yaml", CONFIG)
        yield org


def test_plan_and_drift_see_a_permission_from_every_column_share(wide_org: Org) -> None:
    sf = client(wide_org.emu)
    columns = _system_permissions(sf)
    # Enabled in the org, not in the config: one from the start of the alphabet, one
    # from the end, so they fall in different column shares of the split read.
    extra = [columns[0], columns[-1]]
    sf.PermissionSet.create({"Name": "INT_Wide", "Label": "Integration - Wide",
                             "PermissionsApiEnabled": True, **dict.fromkeys(extra, True)})
    planned = wide_org.run("plan", "--json", "--out", "plans/p.json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.output)
    disabled = [a["disable"] for a in plan["actions"] if a["kind"] == "set_system_permissions"]
    assert disabled == [sorted(p.removeprefix("Permissions") for p in extra)]
    drift = wide_org.run("drift", "--format", "json")
    assert drift.exit_code in (2, 3), drift.output
    assert all(p.removeprefix("Permissions") in drift.output for p in extra)
    applied = wide_org.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    again = wide_org.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output

"""The real Salesforce CLI against the embedded org: what an admin does with the
objects the reconciler manages, each command checked by what it shows and, for
writes, by what the org then holds (read back over simple-salesforce).

Deselect with ``-m "not sfcli"``; without npm the tests skip and say so."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from simple_salesforce import Salesforce

from reconciler.emulator import Emulator
from tests.emulator.helpers import api_psl_id, http_session, make_set, make_user, one
from tests.sfcli.helpers import SfCli

pytestmark = [pytest.mark.sfcli, pytest.mark.slow]

ADMIN = "admin@reconciler.local"


def test_login_access_token_names_the_org_and_its_user(cli: SfCli, emu: Emulator) -> None:
    assert cli.login["username"] == ADMIN
    assert cli.login["orgId"] == emu.org.org_id
    assert cli.login["instanceUrl"].rstrip("/") == emu.url
    # The CLI settles on the newest version the org lists at /services/data/.
    listed = http_session(emu).get(f"{emu.url}/services/data/").json()
    assert cli.login["instanceApiVersion"] == max(
        (v["version"] for v in listed), key=lambda v: float(v))


def test_org_display_shows_a_connected_org(cli: SfCli, emu: Emulator) -> None:
    shown = cli.ok("org", "display")
    assert shown["connectedStatus"] == "Connected"
    assert shown["id"] == emu.org.org_id
    assert shown["username"] == ADMIN
    assert shown["alias"] == "emu"


def test_data_query_prints_records_under_their_columns(cli: SfCli, sf: Salesforce) -> None:
    user = make_user(sf, "query.probe@acme.test")
    ps = make_set(sf, "INT_Query_Probe")
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})

    out = cli.text("data", "query", "--result-format", "csv", "--query",
                   "SELECT Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment "
                   "WHERE PermissionSet.Name = 'INT_Query_Probe'")
    # The header comes from the query's column metadata (columns=true), the rows
    # from the query itself.
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [["Assignee.Username", "PermissionSet.Name"],
                    ["query.probe@acme.test", "INT_Query_Probe"]], out


def test_sobject_describe_lists_the_fields_the_api_describes(
        cli: SfCli, sf: Salesforce) -> None:
    described = cli.ok("sobject", "describe", "--sobject", "PermissionSet")
    assert described["name"] == "PermissionSet"
    names = {f["name"] for f in described["fields"]}
    assert names == {f["name"] for f in sf.PermissionSet.describe()["fields"]}
    assert {"LicenseId", "PermissionsApiEnabled"} <= names


def test_data_create_record_is_readable_over_the_api(cli: SfCli, sf: Salesforce) -> None:
    created = cli.ok("data", "create", "record", "--sobject", "Account",
                     "--values", "Name='Acme Corp' Industry=Energy")
    assert created["success"] is True
    record = sf.Account.get(created["id"])
    assert (record["Name"], record["Industry"]) == ("Acme Corp", "Energy")


def test_data_update_record_by_where_changes_the_record(cli: SfCli, sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Initech", "Industry": "Energy"})["id"]
    cli.ok("data", "update", "record", "--sobject", "Account", "--where", "Name='Initech'",
           "--values", "Industry=Banking")
    assert sf.Account.get(account)["Industry"] == "Banking"


def test_data_delete_record_removes_it(cli: SfCli, sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Hooli"})["id"]
    cli.ok("data", "delete", "record", "--sobject", "Account", "--record-id", account)
    assert sf.query(f"SELECT Id FROM Account WHERE Id = '{account}'")["totalSize"] == 0


def test_org_assign_permset_creates_the_assignment(cli: SfCli, sf: Salesforce) -> None:
    user = make_user(sf, "permset.probe@acme.test")
    ps = make_set(sf, "INT_Assign_Probe")
    result = cli.ok("org", "assign", "permset", "--name", "INT_Assign_Probe",
                    "--on-behalf-of", "permset.probe@acme.test")
    assert result["failures"] == []
    one(sf, f"SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{user}' "
            f"AND PermissionSetId = '{ps}'")


def test_org_assign_permsetlicense_by_label_creates_the_assignment(
        cli: SfCli, sf: Salesforce) -> None:
    user = make_user(sf, "psl.probe@acme.test")
    result = cli.ok("org", "assign", "permsetlicense", "--name", "Salesforce API Integration",
                    "--on-behalf-of", "psl.probe@acme.test")
    assert result["failures"] == []
    one(sf, f"SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '{user}' "
            f"AND PermissionSetLicenseId = '{api_psl_id(sf)}'")
    # A second assignment is refused as a duplicate, which the CLI reports as a warning.
    again = cli.run("org", "assign", "permsetlicense", "--name", "Salesforce API Integration",
                    "--on-behalf-of", "psl.probe@acme.test")
    assert again["status"] == 0, again
    assert any("already has" in w for w in again["warnings"]), again


def test_org_list_users_shows_the_logged_in_user_and_profile(
        cli: SfCli, emu: Emulator) -> None:
    users = cli.ok("org", "list", "users")
    assert [(u["username"], u["profileName"], u["orgId"]) for u in users] == [
        (ADMIN, "System Administrator", emu.org.org_id)]


def test_org_list_limits_shows_the_daily_api_allowance(cli: SfCli, emu: Emulator) -> None:
    emu.set_daily_limit(5000)
    limits = {row["name"]: row for row in cli.ok("org", "list", "limits")}
    daily = limits["DailyApiRequests"]
    assert daily["max"] == 5000
    # The limits call is the command's last: what remains is what the org counted.
    assert daily["remaining"] == 5000 - emu.stats()["api_calls"]


def test_data_export_tree_writes_parents_and_children_with_references(
        cli: SfCli, sf: Salesforce, tmp_path: Path) -> None:
    account = sf.Account.create({"Name": "Globex"})["id"]
    sf.Contact.create({"LastName": "Simpson", "AccountId": account})
    cli.ok("data", "export", "tree", "--plan", "--output-dir", str(tmp_path), "--query",
           "SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account "
           "WHERE Name = 'Globex'")
    accounts = json.loads((tmp_path / "Account.json").read_text())["records"]
    contacts = json.loads((tmp_path / "Contact.json").read_text())["records"]
    assert [(a["attributes"]["referenceId"], a["Name"]) for a in accounts] == [
        ("AccountRef1", "Globex")]
    assert [(c["LastName"], c["AccountId"]) for c in contacts] == [("Simpson", "@AccountRef1")]

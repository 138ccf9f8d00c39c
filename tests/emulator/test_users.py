"""Users as a real org keeps them: usernames, names, the profile's own permission set,
licence seats on a profile change, and the audit rows of each change, read back through
simple-salesforce."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce

from reconciler.emulator import Emulator, start_emulator
from tests.emulator.helpers import client, error_body, make_user, one, profile_id

PLAIN = "Minimum Access - Salesforce"
# Salesforce licence: 3 seats; the admin takes one.
SEED: dict[str, Any] = {"user_licenses": [{"name": "Salesforce", "seats": 3}]}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with start_emulator(None, SEED) as emulator:
        yield emulator


@pytest.fixture
def sf(emu: Emulator) -> Salesforce:
    return client(emu)


def audit(sf: Salesforce, who: str) -> list[tuple[str, str]]:
    rows = sf.query_all("SELECT Action, Section, Display FROM SetupAuditTrail "
                        "ORDER BY CreatedDate")["records"]
    return [(r["Action"], r["Display"]) for r in rows
            if who in r["Display"] and r["Section"] == "Manage Users"]


def test_a_malformed_username_is_refused_on_create_and_on_update(sf: Salesforce) -> None:
    assert error_body(make_user, sf, "not-an-address", Email="ok@acme.example") == [{
        "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Username"],
        "message": "Username: invalid email address: not-an-address"}]
    user = make_user(sf, "good@acme.example")
    assert error_body(sf.User.update, user, {"Username": "still bad"}) == [{
        "errorCode": "INVALID_NEW_USERNAME", "fields": ["Username"],
        "message": "Username: invalid email address: still bad"}]


def test_a_username_is_unique_but_a_user_may_keep_its_own(sf: Salesforce) -> None:
    first = make_user(sf, "taken@acme.example")
    assert sf.User.update(first, {"Username": "TAKEN@acme.example"}) == 204
    [error] = error_body(make_user, sf, "Taken@Acme.example")
    assert (error["errorCode"], error["fields"]) == ("DUPLICATE_USERNAME", ["Username"])
    assert error["message"] == (
        "Duplicate Username.<br>The username already exists in this or another Salesforce "
        "organization. Usernames must be unique across all Salesforce organizations. To "
        "resolve, use a different username (it doesn't need to match the user's email "
        "address). : Taken@Acme.example")


def test_the_name_and_user_type_follow_the_fields(sf: Salesforce) -> None:
    user = make_user(sf, "mary@acme.example", FirstName="Mary", LastName="Major")
    sf.User.update(user, {"LastName": "Minor"})
    row = one(sf, f"SELECT Name, UserType FROM User WHERE Id = '{user}'")
    assert (row["Name"], row["UserType"]) == ("Mary Minor", "Standard")


def test_a_profile_change_swaps_the_profiles_own_set_and_nothing_else(sf: Salesforce) -> None:
    user = make_user(sf, "moved@acme.example", PLAIN)
    other = sf.PermissionSet.create({"Name": "Kept", "Label": "Kept"})["id"]
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": other})
    sf.User.update(user, {"ProfileId": profile_id(sf, "Standard User")})
    held = sf.query("SELECT PermissionSet.Name, PermissionSet.IsOwnedByProfile, "
                    "PermissionSet.ProfileId FROM PermissionSetAssignment "
                    f"WHERE AssigneeId = '{user}'")["records"]
    owned = [r["PermissionSet"]["ProfileId"] for r in held
             if r["PermissionSet"]["IsOwnedByProfile"]]
    assert owned == [profile_id(sf, "Standard User")]
    assert [r["PermissionSet"]["Name"] for r in held
            if not r["PermissionSet"]["IsOwnedByProfile"]] == ["Kept"]


def test_seats_are_checked_only_when_a_user_takes_one(sf: Salesforce) -> None:
    """With the Salesforce licence full, a move between two of its profiles, or of an
    inactive user into it, takes no seat; an active user's move into it is refused,
    naming the licence and its count on the profile field."""
    make_user(sf, "one@acme.example", PLAIN)
    two = make_user(sf, "two@acme.example", PLAIN)
    sf.User.update(two, {"ProfileId": profile_id(sf, "Standard User")})  # same licence
    sleeper = make_user(sf, "sleeper@acme.example")
    sf.User.update(sleeper, {"IsActive": False})
    sf.User.update(sleeper, {"ProfileId": profile_id(sf, PLAIN)})
    mover = make_user(sf, "mover@acme.example")
    assert error_body(sf.User.update, mover, {"ProfileId": profile_id(sf, PLAIN)}) == [{
        "errorCode": "LICENSE_LIMIT_EXCEEDED", "fields": [],
        "message": "License Limit Exceeded: no Salesforce licenses are available "
                   "(3 of 3 in use)"}]
    assert sf.User.update(two, {"IsActive": True}) == 204  # active already: no seat taken
    assert error_body(sf.User.update, sleeper, {"IsActive": True}) == [{
        "errorCode": "LICENSE_LIMIT_EXCEEDED", "fields": [],
        "message": "License Limit Exceeded: no Salesforce licenses are available "
                   "(3 of 3 in use)"}]


def test_a_user_may_not_deactivate_itself(emu: Emulator, sf: Salesforce) -> None:
    me = one(sf, f"SELECT Id FROM User WHERE Username = '{emu.credentials()['username']}'")
    assert error_body(sf.User.update, me["Id"], {"IsActive": False}) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["IsActive"],
        "message": "You can't deactivate your own user."}]


def test_each_change_to_a_user_has_its_audit_row(sf: Salesforce) -> None:
    user = make_user(sf, "audited@acme.example", FirstName="Ann", LastName="Audited")
    sf.User.update(user, {"IsActive": False})
    sf.User.update(user, {"IsActive": True})
    sf.User.update(user, {"Email": "new@acme.example"})
    sf.User.update(user, {"Username": "renamed@acme.example", "Alias": "ren",
                          "Title": "Robot", "EmailEncodingKey": "ISO-8859-1"})
    assert audit(sf, "Ann Audited") == [
        ("createduser", "Created new user Ann Audited"),
        ("deactivateduser", "Deactivated user Ann Audited"),
        ("activateduser", "Activated user Ann Audited"),
        ("changedUserEmail", "Changed Email for user Ann Audited"),
        ("changedUser", "Changed Username, Alias, EmailEncodingKey, Title for user "
                        "Ann Audited"),
    ]


def test_a_licence_change_waits_for_the_sets_of_the_old_licence(sf: Salesforce) -> None:
    user = make_user(sf, "tied@acme.example")
    ps = sf.PermissionSet.create({"Name": "Tied", "Label": "Tied", "LicenseId": one(
        sf, "SELECT Id FROM UserLicense WHERE Name = 'Salesforce Integration'")["Id"]})["id"]
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    assert error_body(sf.User.update, user, {"ProfileId": profile_id(sf, PLAIN)}) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["ProfileId"],
        "message": "Can't change the user license of tied@acme.example: permission sets "
                   "that require the Salesforce Integration license are assigned (Tied). "
                   "Remove those assignments first."}]


def used(sf: Salesforce, licence: str) -> int:
    return int(one(sf, f"SELECT UsedLicenses FROM UserLicense WHERE Name = '{licence}'")[
        "UsedLicenses"])


def test_a_licence_seat_comes_back_when_its_last_user_goes(sf: Salesforce) -> None:
    before = used(sf, "Salesforce Integration")
    user = make_user(sf, "only@acme.example")
    assert used(sf, "Salesforce Integration") == before + 1
    sf.User.update(user, {"IsActive": False})
    assert used(sf, "Salesforce Integration") == before == 0


def test_a_set_may_keep_its_own_name_in_any_case(sf: Salesforce) -> None:
    ps = sf.PermissionSet.create({"Name": "Own_Name", "Label": "Own"})["id"]
    assert sf.PermissionSet.update(ps, {"Name": "OWN_NAME"}) == 204


def test_a_set_the_users_licences_dont_allow_is_refused_naming_both(sf: Salesforce) -> None:
    user = make_user(sf, "plain@acme.example", PLAIN)
    integration_only = sf.PermissionSet.create({
        "Name": "Integration_Only", "Label": "Integration Only", "LicenseId": one(
            sf, "SELECT Id FROM UserLicense WHERE Name = 'Salesforce Integration'")["Id"]})["id"]
    assert error_body(sf.PermissionSetAssignment.create,
                      {"AssigneeId": user, "PermissionSetId": integration_only}) == [{
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [],
        "message": "Can't assign permission set Integration Only to user plain@acme.example. "
                   "The permission set license Salesforce Integration doesn't match the user "
                   "license Salesforce."}]

"""A seeded SOQL fuzz over HTTPS: random WHERE trees, LIKE patterns, nesting and broken
tokens. Every answer is a result or a Salesforce-shaped 400, never a 500, and quick."""

from __future__ import annotations

import random
import time

from reconciler.emulator import Emulator
from tests.emulator.helpers import API_VERSION, client, http_session, make_set, token

QUERIES = 400
SEED = 11
SECONDS_PER_QUERY = 2.0

# Fields of each type on a few objects, and names that exist nowhere.
FIELDS = {
    "User": {"text": ["Username", "LastName", "Email", "Profile.Name", "Alias"],
             "bool": ["IsActive"], "date": ["CreatedDate", "LastLoginDate"],
             "id": ["Id", "ProfileId"]},
    "PermissionSet": {"text": ["Name", "Label", "Description", "License.Name"],
                      "bool": ["IsOwnedByProfile", "PermissionsApiEnabled"],
                      "date": ["CreatedDate"], "id": ["Id", "LicenseId"]},
    "PermissionSetAssignment": {"text": ["Assignee.Username", "PermissionSet.Name"],
                                "bool": ["IsActive"], "date": ["SystemModstamp"],
                                "id": ["AssigneeId", "PermissionSetId"]},
}
BOGUS = ["Nope__c", "Profile.Nope", "Owner.Profile.Name", "1abc", "Name__r.Id", "x.y.z.w.v.u"]
NOISE = ["(", ")", "'", "\\", "AND", "OR", "NOT", ",", "@", "%", "\x00", "\u2028", "=", "IN",
         "LIKE", "SELECT", "FROM", "WHERE", ":", "2026-13-45", "1e400", "--", "ä", '"',
         "LAST_N_DAYS:", "TODAY", "NULL", "LIMIT -1", "OFFSET 99999"]


def _string(rnd: random.Random, *, pattern: bool = False) -> str:
    alphabet = "aAb%_\\'x ü" if pattern else "aAb'\\x @.ü"
    chars = []
    for _ in range(rnd.randint(0, 24)):
        c = rnd.choice(alphabet)
        if c == "\\":
            c += rnd.choice("\\'%_ntq")  # 'q' is not an escape: a malformed literal
        elif c == "'":
            c = "\\'"
        chars.append(c)
    if pattern and rnd.random() < 0.3:
        chars = ["%a"] * rnd.randint(3, 15) + ["%b"]
    return "'" + "".join(chars) + "'"


def _literal(rnd: random.Random, kind: str) -> str:
    options = {
        "text": lambda: _string(rnd),
        "bool": lambda: rnd.choice(["true", "false", "TRUE", "null", "1"]),
        "date": lambda: rnd.choice(["2026-01-01T00:00:00Z", "TODAY", "LAST_N_DAYS:30",
                                    "2026-01-01", "NEXT_N_HOURS:5", "null", "YESTERDAY"]),
        "id": lambda: rnd.choice(["'005000000000001AAA'", "'00e'", "null", "'x'",
                                  "'0PS5g0000000009'"]),
    }
    if rnd.random() < 0.1:
        return options[rnd.choice(list(options))]()  # the wrong type for the field
    return options[kind]()


def _condition(rnd: random.Random, sobject: str, depth: int) -> str:
    fields = FIELDS[sobject]
    if depth > 0 and rnd.random() < 0.45:
        op = rnd.choice([" AND ", " OR "])
        parts = [_condition(rnd, sobject, depth - 1) for _ in range(rnd.randint(2, 4))]
        text = op.join(f"({p})" if rnd.random() < 0.7 else p for p in parts)
        return f"NOT ({text})" if rnd.random() < 0.15 else text
    kind = rnd.choice(list(fields))
    field = rnd.choice(fields[kind]) if rnd.random() < 0.93 else rnd.choice(BOGUS)
    roll = rnd.random()
    if roll < 0.3 and kind == "text":
        return f"{field} LIKE {_string(rnd, pattern=True)}"
    if roll < 0.45:
        values = ", ".join(_literal(rnd, kind) for _ in range(rnd.randint(1, 4)))
        return f"{field} {rnd.choice(['IN', 'NOT IN'])} ({values})"
    if roll < 0.5 and kind == "id":
        return (f"{field} IN (SELECT AssigneeId FROM PermissionSetAssignment WHERE "
                f"{_condition(rnd, 'PermissionSetAssignment', 1)})")
    op = rnd.choice(["=", "!=", "<", "<=", ">", ">=", "<>"])
    return f"{field} {op} {_literal(rnd, kind)}"


def _query(rnd: random.Random) -> str:
    sobject = rnd.choice(list(FIELDS))
    fields = [f for names in FIELDS[sobject].values() for f in names]
    select = ", ".join(rnd.sample(fields, rnd.randint(1, 3)))
    soql = f"SELECT {select} FROM {sobject}"
    if rnd.random() < 0.85:
        where = _condition(rnd, sobject, rnd.randint(0, 4))
        if rnd.random() < 0.1:
            nest = rnd.choice([3, 40, 70, 300])
            where = "(" * nest + where + ")" * nest
        soql += f" WHERE {where}"
    if rnd.random() < 0.3:
        soql += f" ORDER BY {rnd.choice(fields)} {rnd.choice(['', 'DESC', 'NULLS LAST'])}"
    if rnd.random() < 0.3:
        soql += f" LIMIT {rnd.choice([0, 1, 5, 50000, -3])}"
    if rnd.random() < 0.1:
        soql += f" OFFSET {rnd.choice([1, 2000, 2001])}"
    if rnd.random() < 0.25:
        # Break it: drop a slice, or drop in a stray token.
        at = rnd.randrange(len(soql))
        if rnd.random() < 0.5:
            soql = soql[:at] + soql[at + rnd.randint(1, 8):]
        else:
            soql = f"{soql[:at]} {rnd.choice(NOISE)} {soql[at:]}"
    return soql


def test_soql_fuzz_answers_200_or_a_salesforce_400_quickly(emu: Emulator) -> None:
    sf = client(emu)
    make_set(sf, "Long_Description", Description="a" * 255)
    make_set(sf, "Mixed_Case", Description="Ab%_'\\ü " * 20)
    session = http_session(emu)
    session.headers["Authorization"] = f"Bearer {token(emu)}"
    rnd = random.Random(SEED)
    statuses: dict[int, int] = {}
    for _ in range(QUERIES):
        soql = _query(rnd)
        start = time.monotonic()
        resp = session.get(f"{emu.url}/services/data/v{API_VERSION}/query", params={"q": soql})
        assert time.monotonic() - start < SECONDS_PER_QUERY, soql
        statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
        assert resp.status_code in (200, 400), (soql, resp.text)
        body = resp.json()
        if resp.status_code == 200:
            assert body["totalSize"] == len(body["records"]), soql
        else:
            assert isinstance(body, list) and len(body) == 1, (soql, body)
            assert isinstance(body[0]["message"], str) and body[0]["message"], (soql, body)
            assert body[0]["errorCode"] in {"MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE",
                                            "NUMBER_OUTSIDE_VALID_RANGE"}, (soql, body)
    # The generator reaches both sides: answered queries and refused ones.
    assert statuses.get(200, 0) > QUERIES // 5 and statuses.get(400, 0) > QUERIES // 5, statuses


def test_an_ordered_comparison_with_an_empty_string_matches_nothing(emu: Emulator) -> None:
    # Found by the fuzz: '' is null (Salesforce stores no empty strings), and
    # "Username > ''" used to answer 500 comparing text with null.
    sf = client(emu)
    for op in ("<", "<=", ">", ">="):
        assert sf.query(f"SELECT Id FROM User WHERE Username {op} ''")["totalSize"] == 0
    assert sf.query("SELECT Id FROM User WHERE Username != ''")["totalSize"] > 0

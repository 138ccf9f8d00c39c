"""Plan benchmark: 100 users, 300 permission sets, 12,000 object and 90,000 field permissions.

Generates a config and an emulated org holding the same access (with a few
differences so the plan has work to show), then plans through HTTPS and prints the
API calls, the rows read, the wall time, and the time spent outside waiting for the
org. Prints figures; asserts nothing.

    python benchmarks/bench_plan.py [--users 100] [--sets 300] [--objects 40] [--fields 300]
                                    [--access] [--apply]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.config import load_config
from reconciler.emulator import start_emulator
from reconciler.emulator.org import Org
from reconciler.org.client import OrgClient
from reconciler.org.login import Connection
from reconciler.workflow import make_plan

STANDARD = ("Account", "Contact", "Opportunity", "Case", "Lead")
OBJECT_WORDS = (("read",), ("read", "create", "edit"), ("read", "edit", "delete"),
                ("read", "create", "edit", "delete", "view_all", "modify_all"))
_FLAGS = {"read": "PermissionsRead", "create": "PermissionsCreate", "edit": "PermissionsEdit",
          "delete": "PermissionsDelete", "view_all": "PermissionsViewAllRecords",
          "modify_all": "PermissionsModifyAllRecords"}


def object_name(index: int) -> str:
    return STANDARD[index] if index < len(STANDARD) else f"Object_{index}__c"


class Shape:
    def __init__(self, users: int, sets: int, objects: int, fields: int) -> None:
        self.users, self.sets, self.objects, self.fields = users, sets, objects, fields

    def object_words(self, s: int, o: int) -> tuple[str, ...]:
        return OBJECT_WORDS[(s + o) % len(OBJECT_WORDS)]

    def field(self, f: int) -> str:
        return f"{object_name(f % self.objects)}.Field_{f}__c"

    def field_words(self, s: int, f: int) -> tuple[str, ...]:
        return ("read", "edit") if (s + f) % 3 else ("read",)

    def user_sets(self, u: int) -> list[int]:
        return [(u * 3 + k) % self.sets for k in range(3)]


def seed(shape: Shape) -> dict[str, Any]:
    """Custom objects and fields for every name the config uses, and enough seats."""
    fields_by_object: dict[str, dict[str, str]] = {}
    for f in range(shape.fields):
        obj, _, name = shape.field(f).partition(".")
        fields_by_object.setdefault(obj, {})[name] = "text"
    return {
        "user_licenses": [{"name": "Salesforce", "seats": shape.users + 20}],
        "custom_objects": [{"name": object_name(o), "label": f"Object {o}",
                            "fields": fields_by_object.get(object_name(o), {})}
                           for o in range(len(STANDARD), shape.objects)],
        "custom_fields": {obj: fields_by_object.get(obj, {}) for obj in STANDARD},
    }


def write_config(root: Path, shape: Shape) -> None:
    lines = ["settings:", "  default_org: local", "permission_sets:"]
    for s in range(shape.sets):
        lines += [f"  INT_Set_{s}:", f"    label: Integration set {s}",
                  "    system_permissions: [ApiEnabled]", "    objects:"]
        lines += [f"      {object_name(o)}: [{', '.join(shape.object_words(s, o))}]"
                  for o in range(shape.objects)]
        lines.append("    fields:")
        lines += [f"      {shape.field(f)}: [{', '.join(shape.field_words(s, f))}]"
                  for f in range(shape.fields)]
    lines.append("users:")
    for u in range(shape.users):
        lines += [f"  user_{u}:", f"    username: integration{u}@bench.example",
                  f"    first_name: Integration{u}", "    last_name: User",
                  f"    email: integration{u}@bench.example", "    alias: int",
                  "    profile: Standard User",
                  f"    permission_sets: [{', '.join(f'INT_Set_{s}' for s in shape.user_sets(u))}]"]
    (root / "config.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def populate(org: Org, shape: Shape, *, drift: int) -> int:
    """Put the config's access into the org directly (the platform's way, no API calls);
    the first ``drift`` sets get one object permission narrowed. Returns rows written."""
    admin = org.where("User", Username="admin@reconciler.local")[0]["Id"]
    profile = org.where("Profile", Name="Standard User")[0]["Id"]
    rows = 0
    with org.lock, org.store.transaction():
        set_ids = []
        for s in range(shape.sets):
            set_ids.append(org.insert_raw("PermissionSet", {
                "Name": f"INT_Set_{s}", "Label": f"Integration set {s}", "Type": "Regular",
                "IsOwnedByProfile": False, "IsCustom": True, "PermissionsApiEnabled": True,
            }, admin)["Id"])
            for o in range(shape.objects):
                words = shape.object_words(s, o)[:1] if s < drift and o == 0 else \
                    shape.object_words(s, o)
                org.insert_raw("ObjectPermissions", {
                    "ParentId": set_ids[-1], "SobjectType": object_name(o),
                    **{flag: word in words for word, flag in _FLAGS.items()}}, admin)
            for f in range(shape.fields):
                words = shape.field_words(s, f)
                org.insert_raw("FieldPermissions", {
                    "ParentId": set_ids[-1], "SobjectType": object_name(f % shape.objects),
                    "Field": shape.field(f), "PermissionsRead": True,
                    "PermissionsEdit": "edit" in words}, admin)
            rows += 1 + shape.objects + shape.fields
        for u in range(shape.users):
            user = org.insert_raw("User", {
                "Username": f"integration{u}@bench.example", "FirstName": f"Integration{u}",
                "LastName": "User", "Email": f"integration{u}@bench.example", "Alias": "int",
                "ProfileId": profile, "IsActive": True, "TimeZoneSidKey": "GMT",
                "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
                "LanguageLocaleKey": "en_US"}, admin)
            for s in shape.user_sets(u):
                org.insert_raw("PermissionSetAssignment", {
                    "AssigneeId": user["Id"], "PermissionSetId": set_ids[s],
                    "PermissionSetGroupId": None, "IsActive": True}, admin)
            rows += 1 + len(shape.user_sets(u))
    from reconciler.emulator.rules.lookups import recount_licenses

    with org.lock, org.store.transaction():
        recount_licenses(org)
    return rows


class Timed:
    """The client, with the time spent waiting on the org added up."""

    def __init__(self, client: OrgClient) -> None:
        self.client = client
        self.waiting = 0.0
        self.rows = 0

    @property
    def calls(self) -> int:
        return self.client.calls

    @property
    def username(self) -> str:
        return self.client.username

    @property
    def org_id(self) -> str:
        return self.client.org_id

    @property
    def instance_url(self) -> str:
        return self.client.instance_url

    def query(self, soql: str) -> list[dict[str, Any]]:
        start = time.perf_counter()
        try:
            rows = self.client.query(soql)
        finally:
            self.waiting += time.perf_counter() - start
        self.rows += len(rows)
        return rows

    def describe(self, sobjects: Sequence[str]) -> Mapping[str, dict[str, Any] | None]:
        start = time.perf_counter()
        try:
            return self.client.describe(sobjects)
        finally:
            self.waiting += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--sets", type=int, default=300)
    parser.add_argument("--objects", type=int, default=40)
    parser.add_argument("--fields", type=int, default=300)
    parser.add_argument("--drift", type=int, default=5)
    parser.add_argument("--access", action="store_true",
                        help="also time `access`: every user's effective access, and --who")
    parser.add_argument("--apply", action="store_true",
                        help="also apply the config to an empty org and time it")
    args = parser.parse_args()
    shape = Shape(args.users, args.sets, args.objects, args.fields)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        write_config(root / "config", shape)
        t0 = time.perf_counter()
        config = load_config(root / "config")
        print(f"config: {shape.sets} sets × {shape.objects} objects × {shape.fields} fields, "
              f"{shape.users} users; loaded in {time.perf_counter() - t0:.2f} s")
        with start_emulator(root / "org", seed(shape)) as emu:
            t0 = time.perf_counter()
            rows = populate(emu.org, shape, drift=args.drift)
            print(f"org: {rows:,} records written directly in {time.perf_counter() - t0:.1f} s")
            creds = emu.credentials()
            conn = Connection(login_url=emu.url, flow="client_credentials",
                              client_id=creds["client_id"],
                              client_secret=creds["client_secret"], ca_bundle=emu.ca_file)
            with OrgClient(conn) as client:
                client.connect()
                timed = Timed(client)
                t0 = time.perf_counter()
                plan = make_plan(config, timed, org_name="local")  # type: ignore[arg-type]
                wall = time.perf_counter() - t0
                waited, read_rows = timed.waiting, timed.rows
                if args.access:
                    access_figures(config, timed)
        pages = math.ceil(read_rows / 2000)
        add, change, remove = plan.counts()
        print(f"plan: {plan.read_calls} API calls to read (target ≤ 12 + {pages} pages of "
              f"2,000 = {12 + pages}), {read_rows:,} rows read")
        print(f"plan: wall {wall:.2f} s, of which waiting for the org {waited:.2f} s, "
              f"local work {wall - waited:.2f} s (target < 3 s)")
        print(f"plan: {add} to add, {change} to change, {remove} to remove, "
              f"~{plan.apply_calls} write calls to apply")
        if args.apply:
            apply_to_empty_org(root, config, shape)


def access_figures(config: Any, timed: Timed) -> None:
    """Read what effective access needs for every user of the config, then answer for
    each user and one --who."""
    from reconciler.access import effective, holders, parse_right
    from reconciler.org.access_read import read_access
    from reconciler.plan import claims_for

    rows, waiting = timed.rows, timed.waiting
    t0 = time.perf_counter()
    org = read_access(timed, claims_for(config), {u.profile for u in config.users.values()},
                      config.users)
    read_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    rights = sum(len(g) for u in org.scope for g in effective(org, u).objects.values())
    who = holders(org, parse_right("Account:delete"))
    answer = time.perf_counter() - t0
    print(f"access: {org.api_calls} API calls to read, {timed.rows - rows:,} rows, wall "
          f"{read_wall:.2f} s (waiting for the org {timed.waiting - waiting:.2f} s)")
    print(f"access: {len(org.scope)} users' effective access ({rights:,} object rights with "
          f"their paths) and --who Account:delete ({len(who)} holders) in {answer:.2f} s")


def apply_to_empty_org(root: Path, config: Any, shape: Shape) -> None:
    """Apply the whole config to an org holding only its custom objects."""
    from reconciler.apply import apply_plan
    from reconciler.org.reader import read
    from reconciler.org.writer import Writer
    from reconciler.plan import OrgRef, claims_for, plan_from_live

    with start_emulator(root / "empty", seed(shape)) as emu:
        creds = emu.credentials()
        conn = Connection(login_url=emu.url, flow="client_credentials",
                          client_id=creds["client_id"], client_secret=creds["client_secret"],
                          ca_bundle=emu.ca_file)
        with OrgClient(conn) as client:
            client.connect()
            ref = OrgRef("local", client.org_id, client.instance_url, client.username)
            t0 = time.perf_counter()
            live = read(client, claims_for(config))
            plan = plan_from_live(config, live, org=ref)
            planned = time.perf_counter() - t0
            writer = Writer(client, live)
            t0 = time.perf_counter()
            result = apply_plan(plan, writer, live, journal_path=root / "journal.json")
            wall = time.perf_counter() - t0
            bound = plan.apply_calls
            again = plan_from_live(config, read(client, claims_for(config)), org=ref)
        print(f"apply to an empty org: {len(plan.actions):,} actions in {len(plan.layers)} "
              f"layers, planned in {planned:.2f} s")
        print(f"apply: {result.write_calls} write calls (bound Σ ceil(records/200) per layer "
              f"= {bound}), {result.records_written:,} records written, wall {wall:.1f} s, "
              f"ok={result.ok}; the next plan has {len(again.actions)} actions")


if __name__ == "__main__":
    main()

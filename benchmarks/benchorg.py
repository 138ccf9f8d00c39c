"""The benchmark org, shared by the plan benchmark and the ladder.

At scale 1: 100 users, 300 permission sets, 40 objects (5 standard) and 300 fields,
so 12,000 object and 90,000 field permissions. :class:`Shape` says which access each
set holds and each user gets; :func:`write_config` writes it as YAML (split over
files, 25 sets each, as a config that size would be), :func:`seed` and
:func:`populate` put the same access in an emulated org through its raw insert path
(no API calls, no rule checks: the platform's way), and :class:`Timed` wraps the
client to add up the time spent waiting for the org.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.emulator import Emulator
from reconciler.emulator.org import Org
from reconciler.org.client import OrgClient
from reconciler.org.login import Connection

STANDARD = ("Account", "Contact", "Opportunity", "Case", "Lead")
OBJECT_WORDS = (("read",), ("read", "create", "edit"), ("read", "edit", "delete"),
                ("read", "create", "edit", "delete", "view_all", "modify_all"))
_FLAGS = {"read": "PermissionsRead", "create": "PermissionsCreate", "edit": "PermissionsEdit",
          "delete": "PermissionsDelete", "view_all": "PermissionsViewAllRecords",
          "modify_all": "PermissionsModifyAllRecords"}
SETS_PER_FILE = 25


def object_name(index: int) -> str:
    return STANDARD[index] if index < len(STANDARD) else f"Object_{index}__c"


class Shape:
    """Who holds what: sets × objects × fields, and users holding three sets each."""

    def __init__(self, users: int, sets: int, objects: int, fields: int) -> None:
        self.users, self.sets, self.objects, self.fields = users, sets, objects, fields

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """``--users``, ``--sets``, ``--objects`` and ``--fields``, the 1× org's by default."""
        for name, default in (("users", 100), ("sets", 300), ("objects", 40), ("fields", 300)):
            parser.add_argument(f"--{name}", type=int, default=default)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Shape:
        return cls(args.users, args.sets, args.objects, args.fields)

    @classmethod
    def scaled(cls, factor: int) -> Shape:
        """The benchmark org ``factor`` times over: more users and sets, the same
        objects and fields."""
        return cls(100 * factor, 300 * factor, 40, 300)

    def object_words(self, s: int, o: int) -> tuple[str, ...]:
        return OBJECT_WORDS[(s + o) % len(OBJECT_WORDS)]

    def field(self, f: int) -> str:
        return f"{object_name(f % self.objects)}.Field_{f}__c"

    def field_words(self, s: int, f: int) -> tuple[str, ...]:
        return ("read", "edit") if (s + f) % 3 else ("read",)

    def user_sets(self, u: int) -> list[int]:
        return [(u * 3 + k) % self.sets for k in range(3)]

    @property
    def records(self) -> int:
        """Records :func:`populate` writes."""
        return self.sets * (1 + self.objects + self.fields) + self.users * 4


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


def write_config(root: Path, shape: Shape) -> int:
    """The config, ``SETS_PER_FILE`` sets a file and the users in one; returns its
    size in bytes."""
    size = _write(root / "settings.yaml", ["settings:", "  default_org: local"])
    for start in range(0, shape.sets, SETS_PER_FILE):
        lines = ["permission_sets:"]
        for s in range(start, min(start + SETS_PER_FILE, shape.sets)):
            lines += [f"  INT_Set_{s}:", f"    label: Integration set {s}",
                      "    system_permissions: [ApiEnabled]", "    objects:"]
            lines += [f"      {object_name(o)}: [{', '.join(shape.object_words(s, o))}]"
                      for o in range(shape.objects)]
            lines.append("    fields:")
            lines += [f"      {shape.field(f)}: [{', '.join(shape.field_words(s, f))}]"
                      for f in range(shape.fields)]
        size += _write(root / f"sets_{start // SETS_PER_FILE:04d}.yaml", lines)
    lines = ["users:"]
    for u in range(shape.users):
        lines += [f"  user_{u}:", f"    username: integration{u}@bench.example",
                  f"    first_name: Integration{u}", "    last_name: User",
                  f"    email: integration{u}@bench.example", "    alias: int",
                  "    profile: Standard User",
                  f"    permission_sets: [{', '.join(f'INT_Set_{s}' for s in shape.user_sets(u))}]"]
    return size + _write(root / "users.yaml", lines)


def _write(path: Path, lines: list[str]) -> int:
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def populate(org: Org, shape: Shape, *, drift: int) -> int:
    """Put the config's access into the org directly (the platform's way, no API calls);
    the first ``drift`` sets get one object permission narrowed. Returns rows written."""
    from reconciler.emulator.rules.lookups import recount_licenses

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
    with org.lock, org.store.transaction():
        recount_licenses(org)
    return rows


def connection(emu: Emulator) -> Connection:
    """How the reconciler logs in to an emulator served in this process."""
    creds = emu.credentials()
    return Connection(login_url=emu.url, flow="client_credentials",
                      client_id=creds["client_id"], client_secret=creds["client_secret"],
                      ca_bundle=emu.ca_file)


class Timed:
    """The client, with the time spent waiting on the org (wall and this process's
    CPU, which decoding the answers takes) and the rows read added up."""

    def __init__(self, client: OrgClient) -> None:
        self.client = client
        self.waiting = 0.0
        self.waiting_cpu = 0.0
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

    def _timed(self, start: float, cpu: float) -> None:
        self.waiting += time.perf_counter() - start
        self.waiting_cpu += time.process_time() - cpu

    def query(self, soql: str) -> list[dict[str, Any]]:
        return [row for page in self.query_pages(soql) for row in page]

    def query_pages(self, soql: str) -> Iterator[list[dict[str, Any]]]:
        pages = self.client.query_pages(soql)
        while True:
            start, cpu = time.perf_counter(), time.process_time()
            try:
                page = next(pages)
            except StopIteration:
                return
            finally:
                self._timed(start, cpu)
            self.rows += len(page)
            yield page

    def describe(self, sobjects: Sequence[str]) -> Mapping[str, dict[str, Any] | None]:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return self.client.describe(sobjects)
        finally:
            self._timed(start, cpu)

"""Another writer gets there first: rows created between apply's read and its writes.

A killed apply can leave its last write in flight, and two people can run the tool at
once; either way a permission row the plan creates may already exist when the create
arrives, and the org answers DUPLICATE_VALUE. The apply must still leave the org as
the config says, with one row per permission, through HTTPS to the emulator.
"""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.apply import apply_plan
from reconciler.config import load_config
from reconciler.emulator import start_emulator
from reconciler.org.client import OrgClient
from reconciler.org.reader import read
from reconciler.org.writer import Writer
from reconciler.plan import OrgRef, claims_for, plan_from_live
from tests.emulator.helpers import client as sf_client
from tests.orgdir import app_conn

SEED = {
    "custom_objects": [{"name": "Invoice__c", "label": "Invoice",
                        "fields": {"Amount__c": "currency"}}],
    "permission_sets": [{"name": "INT_Invoices", "label": "Invoices"}],
}
CONFIG = """\
permission_sets:
  INT_Invoices:
    label: Invoices
    objects:
      Invoice__c: [read, create, edit]
    fields:
      Invoice__c.Amount__c: [read, edit]
"""


def test_rows_another_writer_created_meanwhile_are_set_as_the_config_says(
        tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(CONFIG)
    config = load_config(tmp_path)
    with start_emulator(None, SEED) as emu:
        with OrgClient(app_conn(emu)) as client:
            ref = OrgRef("local", client.org_id, client.instance_url, client.username)
            live = read(client, claims_for(config))
            plan = plan_from_live(config, live, org=ref)
            assert {a.kind for a in plan.actions} == {"grant_object_access",
                                                      "grant_field_access"}

            # Between the read and the writes, someone else creates both rows, narrower.
            sf = sf_client(emu)
            set_id = sf.query("SELECT Id FROM PermissionSet WHERE Name = 'INT_Invoices'"
                              )["records"][0]["Id"]
            sf.ObjectPermissions.create({"ParentId": set_id, "SobjectType": "Invoice__c",
                                         "PermissionsRead": True})
            sf.FieldPermissions.create({"ParentId": set_id, "SobjectType": "Invoice__c",
                                        "Field": "Invoice__c.Amount__c",
                                        "PermissionsRead": True})

            writer = Writer(client, live)
            result = apply_plan(plan, writer, live, journal_path=tmp_path / "journal.json")
            assert result.ok, result.outcomes

            again = plan_from_live(config, read(client, claims_for(config)), org=ref)
            assert again.empty, [a.id for a in again.actions]

        objects = sf.query("SELECT PermissionsRead, PermissionsCreate, PermissionsEdit "
                           "FROM ObjectPermissions WHERE Parent.Name = 'INT_Invoices'")
        assert [(r["PermissionsRead"], r["PermissionsCreate"], r["PermissionsEdit"])
                for r in objects["records"]] == [(True, True, True)]
        fields = sf.query("SELECT PermissionsRead, PermissionsEdit FROM FieldPermissions "
                          "WHERE Parent.Name = 'INT_Invoices'")
        assert [(r["PermissionsRead"], r["PermissionsEdit"])
                for r in fields["records"]] == [(True, True)]


def test_a_setup_entity_grant_another_writer_made_first_counts_as_done(
        tmp_path: Path) -> None:
    """The org answers DUPLICATE_VALUE for the same class access made twice: the apply
    counts it done, and its journal says the access was already there."""
    (tmp_path / "config.yaml").write_text(
        "permission_sets:\n  INT_Invoices:\n    label: Invoices\n"
        "    apex_classes: [OrderService]\n")
    config = load_config(tmp_path)
    seed = {**SEED, "apex_classes": ["OrderService"]}
    with start_emulator(None, seed) as emu, OrgClient(app_conn(emu)) as client:
        ref = OrgRef("local", client.org_id, client.instance_url, client.username)
        live = read(client, claims_for(config))
        plan = plan_from_live(config, live, org=ref)
        assert [a.kind for a in plan.actions] == ["grant_setup_entity_access"]
        sf = sf_client(emu)
        set_id = sf.query("SELECT Id FROM PermissionSet WHERE Name = 'INT_Invoices'"
                          )["records"][0]["Id"]
        apex = sf.query("SELECT Id FROM ApexClass")["records"][0]["Id"]
        sf.SetupEntityAccess.create({"ParentId": set_id, "SetupEntityId": apex})
        result = apply_plan(plan, Writer(client, live), live,
                            journal_path=tmp_path / "journal.json")
    assert result.ok, result.outcomes
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert [(e["status"], e.get("note")) for e in journal["actions"]] == [
        ("applied", "already there")]

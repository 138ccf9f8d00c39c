"""What a plan says about states a real org can be in and the emulator doesn't make: a
group assignment revoked by a user access policy (``IsRevoked``), a group whose
recalculation Status is Outdated, a connected app whose Permitted Users policy the
org doesn't return. The org is read from the emulator, then given that state as the
reader would have read it, and planned."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import load_config
from reconciler.emulator import start_emulator
from reconciler.errors import PlanRejected
from reconciler.live import Live, entity_key
from reconciler.model import FrozenMap
from reconciler.org.client import OrgClient
from reconciler.org.login import Connection
from reconciler.org.reader import read
from reconciler.plan import OrgRef, Plan, claims_for, plan_from_live
from reconciler.workflow import org_ref
from tests.orgdir import INVOICE_SEED

CONFIG = """\
permission_sets:
  INT_A:
    label: A
    objects:
      Invoice__c: [read]
  INT_B:
    label: B
    objects:
      Invoice__c: [read]
  INT_App:
    label: App
    connected_apps: [Orders Sync]

permission_set_groups:
  INT_All:
    label: All
    permission_sets: [INT_A]

users:
  mulesoft:
    username: mulesoft@acme.example
    last_name: Integration
    email: mulesoft@acme.example
    profile: Minimum Access - API Only Integrations
    permission_sets: [INT_B]
    permission_set_groups: [INT_All]
  newbie:
    username: newbie@acme.example
    last_name: Newbie
    email: newbie@acme.example
    profile: Minimum Access - API Only Integrations
    permission_sets: [INT_App]
"""
# The sets and the group exist; the user holds neither INT_B nor INT_All. INT_App
# gives Orders Sync already.
SEED: dict[str, Any] = {
    **INVOICE_SEED,
    "connected_apps": [{"name": "Orders Sync"}],
    "permission_sets": [{"name": n, "label": n[-1], "objects": {"Invoice__c": ["read"]}}
                        for n in ("INT_A", "INT_B")]
    + [{"name": "INT_App", "label": "App", "connected_apps": ["Orders Sync"]}],
    "permission_set_groups": [{"name": "INT_All", "label": "All", "permission_sets": ["INT_A"]}],
    "users": [{"username": "mulesoft@acme.example", "last_name": "Integration",
               "profile": "Minimum Access - API Only Integrations"}],
}


@pytest.fixture(scope="module")
def read_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Live, OrgRef]:
    config_dir = tmp_path_factory.mktemp("config")
    (config_dir / "main.yaml").write_text(CONFIG)
    with start_emulator(None, SEED) as emu:
        creds = emu.credentials()
        conn = Connection(login_url=emu.url, flow="client_credentials",
                          client_id=creds["client_id"], client_secret=creds["client_secret"],
                          ca_bundle=emu.ca_file)
        with OrgClient(conn) as client:
            live = read(client, claims_for(load_config(config_dir)))
            return config_dir, live, org_ref(client, "local")


def plan(read_org: tuple[Path, Live, OrgRef], **state: Any) -> Plan:
    config_dir, live, org = read_org
    return plan_from_live(load_config(config_dir), replace(live, **state), org=org)


def test_a_revoked_group_assignment_is_refused_as_a_groups(
        read_org: tuple[Path, Live, OrgRef]) -> None:
    with pytest.raises(PlanRejected) as refused:
        plan(read_org, revoked=(("group", "mulesoft@acme.example", "INT_All"),))
    main = read_org[0] / "main.yaml"
    line = main.read_text().splitlines().index("    permission_set_groups: [INT_All]") + 1
    # Only the group is refused: INT_B, a set of the same user, was not revoked.
    assert [str(p) for p in refused.value.problems] == [
        f"{main}:{line}:29: mulesoft@acme.example's assignment of permission set group "
        "INT_All was revoked by a user access policy (PermissionSetAssignment.IsRevoked): "
        "the org keeps the row and won't take the assignment again; restore it through "
        "the policy or in Setup, or remove it from the config"]


def test_an_outdated_group_is_planned_with_a_warning_that_apply_waits(
        read_org: tuple[Path, Live, OrgRef]) -> None:
    made = plan(read_org, group_status=FrozenMap({"int_all": "Outdated"}))
    assert "assign_group:users.mulesoft.permission_set_groups.INT_All" in {
        a.id for a in made.actions}
    assert made.warnings == (
        "permission set group INT_All: the org is still recalculating it (Status "
        "Outdated); apply waits for it before assigning it",)


def test_a_connected_app_whose_policy_is_not_returned_is_a_step_saying_so(
        read_org: tuple[Path, Live, OrgRef]) -> None:
    key = entity_key("ConnectedApplication", "Orders Sync")
    app = read_org[1].setup_entities[key]
    made = plan(read_org, setup_entities=FrozenMap(
        {**read_org[1].setup_entities, key: replace(app, admin_approved_only=None)}))
    steps = {s.address: s.text for s in made.manual_steps}
    assert steps["permission_sets.INT_App.connected_apps.Orders Sync"] == (
        'connected app "Orders Sync": its Permitted Users policy could not be read; set it '
        'to "Admin approved users are pre-authorized" (Setup > App Manager > Orders Sync > '
        "Manage > Edit Policies > OAuth Policies), or the access the permission set gives "
        "has no effect and API-only users can't authorize it themselves.")

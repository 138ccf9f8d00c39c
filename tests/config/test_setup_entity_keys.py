"""A permission set's setup-entity lists (connected_apps, apex_classes,
custom_permissions, visualforce_pages, apps): what they load to, and how a wrong one
is told, at its file:line:col."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.model import SetupEntity
from tests.config.helpers import load, problems, write

SET = """\
permission_sets:
  INT_Api:
    label: Integration - API
    connected_apps: [MuleSoft Orders]
    apex_classes: [OrdersRestResource, acme__InvoiceApi]
    custom_permissions: [Bypass_Validation]
    visualforce_pages: [OrderSummary]
    apps: [Orders_Console]
"""


def test_each_list_becomes_setup_entities_of_its_type(tmp_path: Path) -> None:
    config = load(write(tmp_path, {"sets.yaml": SET}))
    assert config.permission_sets["INT_Api"].setup_entities == {
        SetupEntity("ConnectedApplication", "MuleSoft Orders"),
        SetupEntity("ApexClass", "OrdersRestResource"),
        SetupEntity("ApexClass", "acme__InvoiceApi"),
        SetupEntity("CustomPermission", "Bypass_Validation"),
        SetupEntity("ApexPage", "OrderSummary"),
        SetupEntity("TabSet", "Orders_Console"),
    }


def test_bad_names_duplicates_and_misspelt_keys_are_told_at_their_place(
        tmp_path: Path) -> None:
    text = """\
permission_sets:
  INT_Api:
    label: Integration - API
    connected_apps: [" Orders"]
    apex_classes: [Orders Rest]
    custom_permisions: [Bypass]
    visualforce_pages: [OrderSummary, ordersummary]
"""
    found = problems(write(tmp_path, {"sets.yaml": text}))
    where = str(tmp_path / "sets.yaml")
    assert found == [
        f'{where}:4:22: permission_sets.INT_Api.connected_apps[0]: " Orders" is not a '
        "connected app's name (no spaces before or after it)",
        f'{where}:5:20: permission_sets.INT_Api.apex_classes[0]: "Orders Rest" is not an '
        'API name like "Orders_API" (a managed package\'s: "ns__Name")',
        f'{where}:6:5: permission_sets.INT_Api: unknown key "custom_permisions"; did you mean '
        '"custom_permissions"?',
        f'{where}:7:39: permission_sets.INT_Api.visualforce_pages[1]: "ordersummary" is '
        'listed twice (first as "OrderSummary" at [0])',
    ]


def test_an_absent_set_takes_no_access_lists(tmp_path: Path) -> None:
    text = "permission_sets:\n  INT_Old:\n    absent: true\n    apps: [Orders_Console]\n"
    found = problems(write(tmp_path, {"sets.yaml": text}))
    assert found == [f'{tmp_path / "sets.yaml"}:4:5: permission_sets.INT_Old: "apps" '
                     "cannot be combined with absent: true"]


def test_the_json_schema_lists_the_keys() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    text = json.dumps(schema)
    for key in ("connected_apps", "apex_classes", "custom_permissions", "visualforce_pages",
                "apps"):
        assert f'"{key}"' in text
    assert "Admin approved" not in text  # a policy the config doesn't set

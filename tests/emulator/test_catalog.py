"""The emulator's catalogue against real Salesforce data in ../shared/real-salesforce.

The standard data objects and PermissionSet's system permissions are generated from
real describes; the committed data file must be what the generator makes of them. The
objects written by hand must agree with Salesforce's object reference. Everything is
checked through describe() over HTTPS, as a client sees it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from simple_salesforce import Salesforce

from reconciler.emulator.generate_catalog import OUTPUT, build, render
from tests.paths import SHARED

REAL = SHARED / "real-salesforce"
needs_real = pytest.mark.skipif(
    not (REAL / "describe").is_dir(),
    reason=f"the real Salesforce data {REAL} is absent (it sits beside the repository, in "
           "../shared/real-salesforce)")
DESCRIBED = sorted(p.name.removesuffix(".describe.json")
                   for p in (REAL / "describe").glob("*.describe.json")) if REAL.is_dir() else []
# Objects the emulator writes by hand that Salesforce's object reference documents.
REFERENCED = ("User", "Task", "Profile", "PermissionSet", "PermissionSetGroup",
              "PermissionSetGroupComponent", "PermissionSetAssignment", "PermissionSetLicense",
              "PermissionSetLicenseAssign", "ObjectPermissions", "FieldPermissions",
              "SetupAuditTrail")
# Where a hand-written entry knowingly differs from the reference, and why.
KNOWN_DIFFERENCES = {
    ("User", "CommunityNickname"): "not nullable, but the platform makes one up on create; "
                                   "the emulator leaves it empty rather than require it",
}
# Describe keys a field of a recorded describe must show unchanged.
FLAGS = ("type", "label", "length", "permissionable", "calculated", "autoNumber", "createable",
         "updateable", "nillable", "restrictedPicklist", "relationshipName")


def _real_describe(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REAL / "describe" / f"{name}.describe.json").read_text())
    return data


def _served(sf: Salesforce, name: str) -> dict[str, dict[str, Any]]:
    describe = getattr(sf, name).describe()
    return {f["name"]: f for f in describe["fields"]}


def _system_permissions() -> set[str]:
    return {line.strip() for line in (REAL / "permissionset-fields.txt").read_text().splitlines()
            if line.strip()}


@needs_real
def test_committed_catalogue_is_what_the_generator_makes_of_the_real_data() -> None:
    assert OUTPUT.read_text(encoding="utf-8") == render(build(REAL)), (
        "catalog_data.json is stale: run python -m reconciler.emulator.generate_catalog")


@needs_real
def test_catalogue_names_its_sources() -> None:
    sources = json.loads(OUTPUT.read_text(encoding="utf-8"))["sources"]
    assert {d["object"] for d in sources["describes"]} == set(DESCRIBED)
    assert all(d["repo"] and len(d["commit"]) == 40 for d in sources["describes"])
    upstream = sources["system_permissions"]["upstream"]
    assert {u["repo"] for u in upstream} == {"sf-explorer/sf-doc-to-json", "omarxhanafi/Dentsply"}


@needs_real
@pytest.mark.parametrize("name", DESCRIBED)
def test_describe_serves_the_recorded_fields_and_flags(sf: Salesforce, name: str) -> None:
    served = _served(sf, name)
    real = _real_describe(name)
    standard = [f for f in real["fields"] if not str(f["name"]).endswith("__c")]
    assert standard, name
    for want in standard:
        got = served.get(want["name"])
        assert got is not None, f"{name}.{want['name']} is not served"
        for flag in FLAGS:
            assert got[flag] == want[flag], (name, want["name"], flag, got[flag], want[flag])
        assert sorted(got["referenceTo"]) == sorted(want["referenceTo"])
        assert [p["value"] for p in got["picklistValues"]] == [
            p["value"] for p in want["picklistValues"] if p["active"]]
    # The recording org's own custom fields are not Salesforce's.
    assert not [n for n in served if n.endswith("__c")]


@needs_real
def test_describe_tells_auto_number_and_non_permissionable_fields(sf: Salesforce) -> None:
    case = _served(sf, "Case")
    assert case["CaseNumber"]["autoNumber"] is True
    assert case["CaseNumber"]["calculated"] is False
    # Event's Subject is a combobox the platform doesn't let field permissions touch.
    event = _served(sf, "Event")
    assert event["Subject"]["type"] == "combobox"
    assert event["Subject"]["permissionable"] is False
    assert event["Location"]["permissionable"] is True
    # No recorded standard field is a formula: describe says so for every one of them.
    assert not [f for name in DESCRIBED for f in _served(sf, name).values()
                if f["calculated"]]


@needs_real
def test_permission_set_describe_carries_every_real_system_permission(sf: Salesforce) -> None:
    served = _served(sf, "PermissionSet")
    perms = {n for n, f in served.items() if n.startswith("Permissions")
             and f["type"] == "boolean" and f["updateable"]}
    assert len(perms) >= 628
    assert _system_permissions() <= perms


@needs_real
def test_global_describe_lists_what_the_emulator_serves(sf: Salesforce) -> None:
    served = {s["name"]: s for s in sf.describe()["sobjects"]}
    assert {*DESCRIBED, *REFERENCED} <= set(served)
    for name in sorted(served):
        assert getattr(sf, name).describe()["name"] == name
    # Where a real org's global describe lists the same object, label and prefix agree.
    real = json.loads((REAL / "describe" / "Global.sobjects.json").read_text())["sobjects"]
    for want in real:
        got = served.get(want["name"])
        if got is not None:
            assert got["label"] == want["label"], want["name"]
            assert want["keyPrefix"] in (None, got["keyPrefix"]), want["name"]


def _reference(name: str) -> dict[str, dict[str, Any]]:
    doc = json.loads((REAL / "doc-reference-v65" / f"{name}.json").read_text())[name]
    # Beta fields are listed twice, once as "Name (Beta)".
    return {key.removesuffix(" (Beta)"): value for key, value in doc["properties"].items()}


@needs_real
@pytest.mark.parametrize("name", REFERENCED)
def test_hand_written_objects_agree_with_the_object_reference(sf: Salesforce,
                                                              name: str) -> None:
    reference = _reference(name)
    real_permissions = _system_permissions()
    wrong = []
    for fname, got in _served(sf, name).items():
        if (name, fname) in KNOWN_DIFFERENCES:
            continue
        if name == "PermissionSet" and fname.startswith("Permissions"):
            # The reference lists 438 of them; the real list is the 628.
            if fname not in real_permissions:
                wrong.append(f"{fname}: not a real system permission")
            continue
        ref = reference.get(fname)
        if ref is None:
            wrong.append(f"{fname}: not in the object reference")
            continue
        if ref.get("readOnly") is True and got["updateable"]:
            wrong.append(f"{fname}: read-only, served as updateable")
        if ref.get("nullable") is not None and got["nillable"] != ref["nullable"]:
            wrong.append(f"{fname}: nillable {got['nillable']}, reference nullable "
                         f"{ref['nullable']}")
    assert not wrong, f"{name}: " + "; ".join(wrong)

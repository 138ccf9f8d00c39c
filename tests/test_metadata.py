"""SFDX permission metadata ↔ config: `import --from-metadata` and `export --to-metadata`.

The real files in ../shared/real-metadata (public Salesforce sample apps) are imported,
validated, applied to an emulated org seeded with the custom objects and fields, Apex
classes and apps they name, and planned again: the plan must be empty. They are read in
place, never copied.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.config import Config, load_config
from reconciler.emulator import start_emulator
from reconciler.importer import read_metadata, render
from reconciler.importer.metadata import group_xml, set_xml
from reconciler.importer.yamltext import scalar
from reconciler.model import SETUP_ENTITY_TYPES, ObjectAccess, PermissionSet, SetupEntity
from tests.config.helpers import write
from tests.emulator.helpers import client
from tests.paths import SHARED
from tests.test_import import Org

REAL = SHARED / "real-metadata"
REAL_FILES = sorted(REAL.rglob("*-meta.xml")) if REAL.is_dir() else []
needs_real = pytest.mark.skipif(
    not REAL_FILES, reason=f"the real SFDX metadata folder {REAL} is absent (it sits beside "
                           "the repository, in ../shared/real-metadata)")
NS = "{http://soap.sforce.com/2006/04/metadata}"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def seed_for(config: Config) -> dict[str, Any]:
    """An org with every custom object and custom field, and every Apex class, page,
    custom permission and app the config names (deployed metadata, as in the sample
    apps' orgs).

    Standard objects and fields are the emulator's own: a name it lacks makes the
    plan fail with "does not exist in the org", which is how a gap would show.
    """
    objects: dict[str, dict[str, str]] = {}
    custom_fields: dict[str, dict[str, str]] = {}
    for ps in config.permission_sets.values():
        for obj in ps.objects:
            if obj.endswith("__c"):
                objects.setdefault(obj, {})
        for name in ps.fields:
            obj, _, fname = name.partition(".")
            if obj.endswith("__c"):
                objects.setdefault(obj, {})
            if fname.endswith("__c"):
                (objects[obj] if obj.endswith("__c") else custom_fields.setdefault(obj, {}))[
                    fname] = "text"
    seed: dict[str, Any] = {
        "custom_objects": [{"name": o, "fields": f} for o, f in sorted(objects.items())],
        "custom_fields": custom_fields}
    for config_key, entity_type in SETUP_ENTITY_TYPES.items():
        seed[config_key] = sorted({e.name for ps in config.permission_sets.values()
                                   for e in ps.setup_entities if e.type == entity_type})
    return seed


@needs_real
def test_every_real_file_imports_validates_applies_and_then_plans_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    imported = tmp_path / "imported"
    result = run("import", "--from-metadata", str(REAL), "-o", str(imported))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in imported.iterdir()) == ["permission_set_groups.yaml",
                                                          "permission_sets.yaml"]
    checked = run("-c", str(imported), "validate")
    assert checked.exit_code == 0, checked.output
    config = load_config(imported, environ={})
    assert sorted(config.permission_sets) == [
        "Coral_Cloud_Admin", "Provides_Create_Access_to_Contact_and_Contact_Email_Field",
        "Provides_Edit_Access_to_Accounts_Except_ShippingStreet",
        "Provides_Read_Only_Access_to_Account_and_All_Fields", "ReadAccessToTradeStyle",
        "dreamhouse", "ebikes", "recipes"]
    assert list(config.permission_set_groups) == ["Permission_Set_Group_for_testing"]

    with start_emulator(tmp_path / "data", seed_for(config)) as emu:
        org = Org(emu, tmp_path)
        for path in imported.glob("*.yaml"):
            shutil.copy(path, org.config / path.name)
        applied = org.run("apply", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        assert "Converged: no changes left." in applied.output
        plan = org.run("plan", "--detailed-exitcode")
        assert plan.exit_code == 0, plan.output
        assert "No changes. The org matches the config." in plan.output
        # the access really is in the org, row for row
        sf = client(emu)
        names = ", ".join(f"'{n}'" for n in config.permission_sets)
        for sobject, attr in (("ObjectPermissions", "objects"), ("FieldPermissions", "fields"),
                              ("SetupEntityAccess", "setup_entities")):
            count = sf.query(f"SELECT COUNT() FROM {sobject} WHERE Parent.Name IN ({names})")
            assert count["totalSize"] == sum(len(getattr(ps, attr))
                                             for ps in config.permission_sets.values())


@needs_real
def test_what_the_language_does_not_model_is_listed_per_file_and_element() -> None:
    got = sorted((Path(str(w.file)).name, w.message)
                 for w in read_metadata([REAL]).warnings)
    assert got == sorted([
        ("Coral_Cloud_Admin.permissionset-meta.xml",
         "5 <tabSettings> left out (tab settings: not in the config language yet)"),
        ("dreamhouse.permissionset-meta.xml",
         "5 <tabSettings> left out (tab settings: not in the config language yet)"),
        ("dreamhouse.permissionset-meta.xml",
         "<fieldPermissions> for Property__c.Name left out: Salesforce keeps no field "
         "permissions for it (always readable and writable)"),
        ("ebikes.permissionset-meta.xml",
         "4 <tabSettings> left out (tab settings: not in the config language yet)"),
        ("sfdcInternalInt__sfdc_scrt2.permissionset-meta.xml",
         "permission set sfdcInternalInt__sfdc_scrt2 not imported: it belongs to the package "
         "namespace sfdcInternalInt (as sfdc_scrt2); only the package can change it, and the "
         "config language has no namespaced sets"),
        ("recipes.permissionset-meta.xml",
         "22 <tabSettings> left out (tab settings: not in the config language yet)"),
    ])


def meaning(path: Path) -> dict[str, Any]:
    """What a file grants, computed here independently of the importer (stdlib parser:
    these are trusted test files)."""
    root = ET.parse(path).getroot()  # noqa: S314 - trusted test data

    def text(element: ET.Element, tag: str) -> str:
        found = element.find(NS + tag)
        return (found.text or "").strip() if found is not None else ""

    def true(element: ET.Element, tag: str) -> bool:
        return text(element, tag) == "true"

    objects = {}
    for op in root.findall(NS + "objectPermissions"):
        words = [w for tag, w in (("allowRead", "read"), ("allowCreate", "create"),
                                  ("allowEdit", "edit"), ("allowDelete", "delete"),
                                  ("viewAllRecords", "view_all"),
                                  ("modifyAllRecords", "modify_all")) if true(op, tag)]
        if words:
            objects[text(op, "object")] = ObjectAccess.of(words).words
    fields = {}
    for fp in root.findall(NS + "fieldPermissions"):
        if true(fp, "editable") or true(fp, "readable"):
            fields[text(fp, "field")] = "edit" if true(fp, "editable") else "read"
    entities = sorted(
        (kind, text(e, name)) for element, kind, name, flag in (
            ("applicationVisibilities", "TabSet", "application", "visible"),
            ("classAccesses", "ApexClass", "apexClass", "enabled"),
            ("customPermissions", "CustomPermission", "name", "enabled"),
            ("pageAccesses", "ApexPage", "apexPage", "enabled"))
        for e in root.findall(NS + element) if true(e, flag))
    return {
        "label": text(root, "label"), "description": text(root, "description"),
        "license": text(root, "license"), "entities": entities,
        "system": sorted(text(up, "name") for up in root.findall(NS + "userPermissions")
                         if true(up, "enabled")),
        "objects": objects, "fields": fields,
        "members": sorted((e.text or "").strip() for e in root.findall(NS + "permissionSets")),
    }


@needs_real
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_xml_to_yaml_to_xml_keeps_the_meaning_of_every_modelled_element(
        path: Path, tmp_path: Path) -> None:
    imported = read_metadata([path])
    if imported.empty:  # a namespaced set: not imported, and said so
        assert "not imported" in imported.warnings[0].message
        return
    (tmp_path / "config").mkdir()
    for name, text in render(imported).items():
        (tmp_path / "config" / name).write_text(text)
    config = load_config(tmp_path / "config", environ={})
    # YAML loads back to exactly what was read from the XML
    assert config.permission_sets == imported.permission_sets
    assert config.permission_set_groups == imported.permission_set_groups
    exported = run("-c", str(tmp_path / "config"), "export", "--to-metadata",
                   str(tmp_path / "out"))
    assert exported.exit_code == 0, exported.output
    [again] = list((tmp_path / "out").rglob("*-meta.xml"))
    assert again.name == path.name
    want = meaning(path)
    want["fields"].pop("Property__c.Name", None)  # left out, with a warning
    assert meaning(again) == want
    # and a second trip changes nothing at all
    assert read_metadata([again]).permission_sets == imported.permission_sets
    assert read_metadata([again]).permission_set_groups == imported.permission_set_groups


SET_XML = """<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>{label}</label>
{body}</PermissionSet>
"""


def test_malformed_unknown_root_and_not_xml_are_one_error_each_and_nothing_is_written(
        tmp_path: Path) -> None:
    src = write(tmp_path / "src", {
        "Good.permissionset-meta.xml": SET_XML.format(label="Good", body=""),
        "Broken.permissionset-meta.xml": "<PermissionSet>\n  <label>x</lable>\n</PermissionSet>",
        "Profile.permissionset-meta.xml":
            '<Profile xmlns="http://soap.sforce.com/2006/04/metadata"><custom>false</custom>'
            "</Profile>",
        "Notes.permissionset-meta.xml": "label: this is YAML, not XML\n",
        "Binary.permissionset-meta.xml": b"\x89PNG\r\n\x1a\n\x00\x00",
    })
    out = tmp_path / "out"
    result = run("import", "--from-metadata", str(src), "-o", str(out))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        f"{src}/Binary.permissionset-meta.xml: not an XML file (SFDX permission metadata is "
        "XML)",
        f"{src}/Broken.permissionset-meta.xml:2:13: malformed XML: mismatched tag",
        f"{src}/Notes.permissionset-meta.xml: not an XML file (SFDX permission metadata is "
        "XML)",
        f"{src}/Profile.permissionset-meta.xml: unknown root element <Profile>: expected "
        "<PermissionSet> or <PermissionSetGroup> of the metadata namespace "
        "http://soap.sforce.com/2006/04/metadata",
    ]
    assert not out.exists()


def test_entities_are_refused_never_expanded(tmp_path: Path) -> None:
    laughs = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
              '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
              '<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">'
              "<label>&lol2;</label></PermissionSet>")
    external = ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                "\n<PermissionSet><label>&e;</label></PermissionSet>")
    src = write(tmp_path, {"Lol.permissionset-meta.xml": laughs,
                            "Ext.permissionset-meta.xml": external})
    result = run("import", "--from-metadata", str(src / "Lol.permissionset-meta.xml"),
                 str(src / "Ext.permissionset-meta.xml"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert lines == [
        f"{src}/{name}.permissionset-meta.xml: refused: the file declares a DTD (SFDX files "
        "have none, and entities are never expanded)" for name in ("Ext", "Lol")]
    assert "lollol" not in result.output and "root:" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_missing_path_or_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("import", "--from-metadata", str(tmp_path / "nope"), str(tmp_path / "empty"),
                 "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"{tmp_path}/empty: no *.permissionset-meta.xml or *.permissionsetgroup-meta.xml "
        "files in this directory",
        f"{tmp_path}/nope: no such file or directory",
    ]


def test_a_value_that_is_not_a_boolean_is_an_error(tmp_path: Path) -> None:
    body = ("    <objectPermissions>\n        <allowRead>yes</allowRead>\n"
            "        <object>Account</object>\n    </objectPermissions>\n")
    src = write(tmp_path, {"S.permissionset-meta.xml": SET_XML.format(label="S", body=body)})
    result = run("import", "--from-metadata", str(src), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.strip() == (f"{src}/S.permissionset-meta.xml: <allowRead> must be "
                                     "true or false, not 'yes'")


def test_namespaced_names(tmp_path: Path) -> None:
    body = ("    <objectPermissions>\n        <allowRead>true</allowRead>\n"
            "        <object>acme__Usage__c</object>\n    </objectPermissions>\n"
            "    <fieldPermissions>\n        <editable>true</editable>\n"
            "        <field>acme__Usage__c.acme__Minutes__c</field>\n"
            "        <readable>true</readable>\n    </fieldPermissions>\n")
    group = ('<PermissionSetGroup xmlns="http://soap.sforce.com/2006/04/metadata">'
             "<label>G</label><permissionSets>Local</permissionSets>"
             "<permissionSets>acme__Packaged</permissionSets></PermissionSetGroup>")
    src = write(tmp_path / "src", {
        "Local.permissionset-meta.xml": SET_XML.format(label="Local", body=body),
        "acme__Packaged.permissionset-meta.xml": SET_XML.format(label="P", body=""),
        "G.permissionsetgroup-meta.xml": group,
    })
    imported = read_metadata([src])
    local = imported.permission_sets["Local"]
    assert local.objects["acme__Usage__c"].words == ("read",)
    assert local.fields["acme__Usage__c.acme__Minutes__c"].words == ("read", "edit")
    assert list(imported.permission_sets) == ["Local"]
    assert imported.permission_set_groups["G"].permission_sets == {"Local"}
    assert [w.message for w in imported.warnings] == [
        "<permissionSets> member acme__Packaged left out: it belongs to the package namespace "
        "acme, and the config language has no namespaced sets; a plan would take it out of "
        "the group",
        "permission set acme__Packaged not imported: it belongs to the package namespace acme "
        "(as Packaged); only the package can change it, and the config language has no "
        "namespaced sets",
    ]
    result = run("import", "--from-metadata", str(src), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert load_config(tmp_path / "out", environ={}).permission_sets["Local"] == local


def test_entries_that_grant_nothing_vanish_and_unmodelled_flags_are_warned(
        tmp_path: Path) -> None:
    body = ("    <hasActivationRequired>true</hasActivationRequired>\n"
            "    <objectPermissions>\n        <allowRead>false</allowRead>\n"
            "        <object>Lead</object>\n    </objectPermissions>\n"
            "    <objectPermissions>\n        <allowDelete>true</allowDelete>\n"
            "        <viewAllFields>true</viewAllFields>\n"
            "        <object>Account</object>\n    </objectPermissions>\n"
            "    <fieldPermissions>\n        <editable>false</editable>\n"
            "        <field>Account.Fax</field>\n        <readable>false</readable>\n"
            "    </fieldPermissions>\n"
            "    <userPermissions>\n        <enabled>false</enabled>\n"
            "        <name>ViewSetup</name>\n    </userPermissions>\n"
            "    <userLicense>Salesforce</userLicense>\n"
            "    <recordTypeVisibilities><recordType>Account.X</recordType>"
            "<visible>true</visible></recordTypeVisibilities>\n")
    src = write(tmp_path, {"S.permissionset-meta.xml": SET_XML.format(label="S", body=body)})
    imported = read_metadata([src])
    ps = imported.permission_sets["S"]
    assert dict(ps.objects) == {"Account": ObjectAccess.of(["delete"])}
    assert not ps.fields and not ps.system_permissions
    assert ps.license == "Salesforce"
    assert [w.message for w in imported.warnings] == [
        "<hasActivationRequired> left out (session activation: not in the config language "
        "yet)",
        "<objectPermissions/viewAllFields> left out (viewAllFields: not in the config language "
        "yet)",
        "<recordTypeVisibilities> left out (record type visibility: not in the config "
        "language yet)",
    ]


def test_export_writes_the_sfdx_layout_and_refuses_to_overwrite(tmp_path: Path) -> None:
    config = write(tmp_path / "config", {"main.yaml": """
permission_sets:
  INT_Standard:
    label: Integration & "friends" <standard>
    description: For the sync
    license: Salesforce API Integration
    system_permissions: [ApiEnabled]
    objects:
      Account: [modify_all]
    fields:
      Account.Industry: [edit]
  INT_Gone:
    absent: true
permission_set_groups:
  INT_All:
    label: Everything
    permission_sets: [INT_Standard, Org_Only_Set]
"""})
    out = tmp_path / "force-app"
    result = run("-c", str(config), "export", "--to-metadata", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.xml")) == [
        "permissionsetgroups/INT_All.permissionsetgroup-meta.xml",
        "permissionsets/INT_Standard.permissionset-meta.xml"]
    assert (out / "permissionsets/INT_Standard.permissionset-meta.xml").read_text() == """\
<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">
    <description>For the sync</description>
    <fieldPermissions>
        <editable>true</editable>
        <field>Account.Industry</field>
        <readable>true</readable>
    </fieldPermissions>
    <hasActivationRequired>false</hasActivationRequired>
    <label>Integration &amp; "friends" &lt;standard&gt;</label>
    <license>Salesforce API Integration</license>
    <objectPermissions>
        <allowCreate>false</allowCreate>
        <allowDelete>true</allowDelete>
        <allowEdit>true</allowEdit>
        <allowRead>true</allowRead>
        <modifyAllRecords>true</modifyAllRecords>
        <object>Account</object>
        <viewAllRecords>true</viewAllRecords>
    </objectPermissions>
    <userPermissions>
        <enabled>true</enabled>
        <name>ApiEnabled</name>
    </userPermissions>
</PermissionSet>
"""
    again = run("-c", str(config), "export", "--to-metadata", str(out))
    assert again.exit_code == 1
    assert "refusing to overwrite" in again.output
    assert run("-c", str(config), "export", "--to-metadata", str(out),
               "--force").exit_code == 0
    # and back: the same sets and groups
    loaded = load_config(config, environ={})
    back = read_metadata([out])
    assert back.permission_sets["INT_Standard"] == loaded.permission_sets["INT_Standard"]
    assert back.permission_set_groups["INT_All"] == loaded.permission_set_groups["INT_All"]
    assert not back.warnings


def test_export_and_group_xml_are_plain_sfdx() -> None:
    from reconciler.model import PermissionSetGroup

    text = group_xml(PermissionSetGroup("G", "Label", "", frozenset({"b", "A"})))
    assert "<permissionSets>A</permissionSets>\n    <permissionSets>b</permissionSets>" in text
    assert "<status>" not in text  # the platform's, not ours to write
    assert set_xml.__doc__


@pytest.mark.parametrize("value", [
    "plain text", "Integration: reports", "a # not a comment", "#hash first", "- dash",
    "true", "No", "null", "~", "62.0", "0x1F", "1e3", "0o17", " padded ", "trailing:",
    'quote " inside', "back\\slash", "line\nbreak", "tab\there", "${var.x}", "$${literal",
    "a$$${b", "[not a list]", "{not: a map}", "*alias", "&anchor", "!tag", "%percent",
    "@at", "`tick", "'single'", "é accents ünïcödé", "emoji 🎉", "\u2028sep", "a,b",
    "?question", "|pipe", ">fold", "x" * 80,
])
def test_scalars_read_back_as_the_same_string(tmp_path: Path, value: str) -> None:
    # as a label and as a flow-list item (a PSL name), through the real config loader
    text = (f"permission_sets:\n  S:\n    label: {scalar(value[:80])}\n"
            f"users:\n  u:\n    username: u@x.io\n    last_name: U\n    email: u@x.io\n"
            f"    profile: P\n    permission_set_licenses: [{scalar(value, flow=True)}]\n")
    (tmp_path / "c.yaml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path, environ={})
    assert config.permission_sets["S"].label == value[:80]
    assert config.users["u@x.io"].permission_set_licenses == {value}


def test_a_result_the_language_refuses_names_the_source_file_and_writes_nothing(
        tmp_path: Path) -> None:
    src = write(tmp_path / "src", {
        "Long.permissionset-meta.xml": SET_XML.format(label="L" * 90, body=""),
        "Ok.permissionset-meta.xml": SET_XML.format(label="Fine", body=""),
    })
    out = tmp_path / "out"
    result = run("import", "--from-metadata", str(src), "-o", str(out))
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"{out}/permission_sets.yaml:9:12: the imported config would be invalid: "
        "permission_sets.Long.label: is 90 characters long, more than the 80 allowed "
        "(from Long.permissionset-meta.xml)")
    assert not out.exists()


def test_one_set_in_two_files_is_an_error(tmp_path: Path) -> None:
    src = write(tmp_path / "src", {
        "a/Same.permissionset-meta.xml": SET_XML.format(label="A", body=""),
        "b/same.permissionset-meta.xml": SET_XML.format(label="B", body=""),
    })
    result = run("import", "--from-metadata", str(src), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.strip() == (f"{src}/b/same.permissionset-meta.xml: permission set "
                                     f"same is also defined in {src}/a/Same.permissionset-meta"
                                     ".xml")


@needs_real
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_setup_entity_access_goes_xml_to_model_to_xml_unchanged(path: Path,
                                                                 tmp_path: Path) -> None:
    imported = read_metadata([path])
    for ps in imported.permission_sets.values():
        want = meaning(path)
        assert sorted((e.type, e.name) for e in ps.setup_entities) == want["entities"]
        again = tmp_path / path.name
        again.write_text(set_xml(ps), encoding="utf-8")
        want["fields"].pop("Property__c.Name", None)  # left out, with a warning
        assert meaning(again) == want
        assert read_metadata([again]).permission_sets[ps.name] == ps


@needs_real
def test_the_sample_apps_class_and_app_access_is_imported() -> None:
    imported = read_metadata([REAL])
    got = {name: sorted((e.type, e.name) for e in ps.setup_entities)
           for name, ps in imported.permission_sets.items() if ps.setup_entities}
    assert got == {
        "Coral_Cloud_Admin": [("TabSet", "Coral_Cloud"), ("TabSet", "Sample_Data_Import")],
        "dreamhouse": [("ApexClass", "PagedResult"), ("ApexClass", "PropertyController"),
                       ("ApexClass", "SampleDataController"), ("TabSet", "Dreamhouse")],
        "ebikes": [("TabSet", "EBikes")],
        "recipes": [("ApexClass", "AccountController"), ("ApexClass", "ApexTypesController"),
                    ("ApexClass", "ContactController"), ("ApexClass", "CustomWrapper"),
                    ("ApexClass", "LMSVisualforceController"), ("TabSet", "LWC_Recipes"),
                    ("TabSet", "LWC_Recipes_Console_App")],
    }
    # The YAML the import writes names them under the language's keys.
    text = render(imported)["permission_sets.yaml"]
    assert ("    apex_classes: [PagedResult, PropertyController, SampleDataController]\n"
            "    apps: [Dreamhouse]\n") in text


ENTITY_BODY = """    <pageAccesses>
        <apexPage>acme__Invoice</apexPage>
        <enabled>true</enabled>
    </pageAccesses>
    <pageAccesses>
        <apexPage>Retired</apexPage>
        <enabled>false</enabled>
    </pageAccesses>
    <customPermissions>
        <enabled>true</enabled>
        <name>Bypass_Validation</name>
    </customPermissions>
    <applicationVisibilities>
        <application>Billing</application>
        <default>true</default>
        <visible>true</visible>
    </applicationVisibilities>
    <applicationVisibilities>
        <application>Hidden</application>
        <visible>false</visible>
    </applicationVisibilities>
"""


def test_page_custom_permission_and_app_access_import_and_export(tmp_path: Path) -> None:
    src = write(tmp_path, {"S.permissionset-meta.xml": SET_XML.format(label="S",
                                                                      body=ENTITY_BODY)})
    imported = read_metadata([src])
    ps = imported.permission_sets["S"]
    # What is not granted (enabled or visible false) is not access.
    assert ps.setup_entities == {SetupEntity("ApexPage", "acme__Invoice"),
                                 SetupEntity("CustomPermission", "Bypass_Validation"),
                                 SetupEntity("TabSet", "Billing")}
    assert [w.message for w in imported.warnings] == [
        "<applicationVisibilities/default> left out (the default app, a profile setting: not "
        "in the config language yet)"]
    text = render(imported)["permission_sets.yaml"]
    assert ("    custom_permissions: [Bypass_Validation]\n"
            "    visualforce_pages: [acme__Invoice]\n"
            "    apps: [Billing]\n") in text
    # Written back in the order sf project retrieve uses: elements and their children
    # alphabetical, page access after object permissions.
    assert set_xml(ps) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        "    <applicationVisibilities>\n        <application>Billing</application>\n"
        "        <visible>true</visible>\n    </applicationVisibilities>\n"
        "    <customPermissions>\n        <enabled>true</enabled>\n"
        "        <name>Bypass_Validation</name>\n    </customPermissions>\n"
        "    <hasActivationRequired>false</hasActivationRequired>\n"
        "    <label>S</label>\n"
        "    <pageAccesses>\n        <apexPage>acme__Invoice</apexPage>\n"
        "        <enabled>true</enabled>\n    </pageAccesses>\n"
        "</PermissionSet>\n")


def test_access_without_the_entity_name_is_an_error(tmp_path: Path) -> None:
    body = "    <classAccesses>\n        <enabled>true</enabled>\n    </classAccesses>\n"
    src = write(tmp_path, {"S.permissionset-meta.xml": SET_XML.format(label="S", body=body)})
    result = run("import", "--from-metadata", str(src), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.strip() == (f"{src}/S.permissionset-meta.xml: <classAccesses> "
                                     "without <apexClass>")
    assert not (tmp_path / "out").exists()


def test_connected_app_access_has_no_element_in_a_set_file() -> None:
    ps = PermissionSet("S", "S", setup_entities=frozenset({
        SetupEntity("ConnectedApplication", "Orders Integration"),
        SetupEntity("ApexClass", "OrderService")}))
    text = set_xml(ps)
    assert "Orders Integration" not in text
    assert "<apexClass>OrderService</apexClass>" in text


def test_export_writes_entity_access_and_warns_that_connected_apps_stay_behind(
        tmp_path: Path) -> None:
    config = write(tmp_path / "config", {"main.yaml": """
permission_sets:
  INT_Orders:
    label: Orders
    connected_apps: [Orders Integration]
    apex_classes: [OrderService, acme__Helper]
    custom_permissions: [Bypass_Validation]
    visualforce_pages: [InvoicePdf]
    apps: [Billing]
"""})
    out = tmp_path / "force-app"
    result = run("-c", str(config), "export", "--to-metadata", str(out))
    assert result.exit_code == 0, result.output
    assert ("warning: permission set INT_Orders: connected-app access (Orders Integration) is "
            "not written: SFDX keeps it in each connected app's own metadata "
            "(<permissionSetName> in its .connectedApp-meta.xml)") in result.output
    written = out / "permissionsets" / "INT_Orders.permissionset-meta.xml"
    assert meaning(written)["entities"] == [
        ("ApexClass", "OrderService"), ("ApexClass", "acme__Helper"), ("ApexPage", "InvoicePdf"),
        ("CustomPermission", "Bypass_Validation"), ("TabSet", "Billing")]
    assert "Orders Integration" not in written.read_text()

"""Each invalid config under fixtures/configs/invalid/ and its exact problem lines."""

from __future__ import annotations

from typing import Any

import pytest

from tests.config.helpers import CONFIGS, problems

# name → (extra load_config arguments, expected problem lines, in the order printed).
CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "yaml-syntax": ({}, [
        "invalid/yaml-syntax/main.yaml:4:10: YAML syntax error: did not find expected ',' or "
        "']' (while parsing a flow sequence at line 3, column 22)",
    ]),
    "tab-indent": ({}, [
        "invalid/tab-indent/main.yaml:3:1: tab character: YAML indentation must use spaces",
    ]),
    "duplicate-key": ({}, [
        'invalid/duplicate-key/main.yaml:7:5: duplicate key "email" (first at line 5, column 5)',
    ]),
    "multiple-documents": ({}, [
        "invalid/multiple-documents/main.yaml:3:1: a file may hold only one YAML document; "
        "put the next one in its own file",
    ]),
    "not-utf8": ({}, [
        "invalid/not-utf8/main.yaml:3:20: byte 0xe1 is not valid UTF-8; save the file as UTF-8",
    ]),
    "binary": ({}, [
        "invalid/binary/main.yaml:3:1: NUL byte: this is a binary file or not UTF-8 text "
        "(UTF-16?); config files must be UTF-8 YAML",
    ]),
    "billion-laughs": ({}, [
        "invalid/billion-laughs/main.yaml:5:38: aliases expand to more than 100000 values; "
        'refusing to expand *d (a "billion laughs" document?)',
    ]),
    "unsupported-tag": ({}, [
        "invalid/unsupported-tag/main.yaml:2:13: tag !!python/object:os.system is not supported",
    ]),
    "top-level-list": ({}, [
        "invalid/top-level-list/main.yaml:1:1: the top level must be a mapping of blocks "
        "(settings, variables, orgs, permission_sets, permission_set_groups, users, "
        "policies), not a list",
    ]),
    "no-yaml-files": ({}, [
        'no *.yaml or *.yml files in "invalid/no-yaml-files"',
    ]),
    "unknown-block": ({}, [
        'invalid/unknown-block/main.yaml:1:1: unknown block "permission_set"; '
        'did you mean "permission_sets"?',
    ]),
    "unknown-key": ({}, [
        'invalid/unknown-key/main.yaml:3:5: users.mulesoft: missing required key "email"',
        'invalid/unknown-key/main.yaml:5:5: users.mulesoft: unknown key "emial"; '
        'did you mean "email"?',
    ]),
    "missing-required": ({}, [
        'invalid/missing-required/main.yaml:3:5: users.mulesoft: missing required keys '
        '"last_name", "profile"',
    ]),
    "wrong-type": ({}, [
        'invalid/wrong-type/main.yaml:7:13: users.mulesoft.active: expected true or false, '
        'got "yes"',
    ]),
    "unknown-permission": ({}, [
        "invalid/unknown-permission/main.yaml:4:17: permission_sets.INT_A.objects.Account[0]: "
        'unknown object permission "raed"; did you mean "read"? '
        "(use read, create, edit, delete, view_all, modify_all)",
    ]),
    "bad-api-name": ({}, [
        'invalid/bad-api-name/main.yaml:2:3: permission_sets: "INT__Double" is not a valid API '
        "name: use a letter first, then letters, digits and single underscores, not ending in "
        "an underscore",
        'invalid/bad-api-name/main.yaml:4:3: permission_sets: "9Lives" is not a valid API '
        "name: use a letter first, then letters, digits and single underscores, not ending in "
        "an underscore",
    ]),
    "bad-field-name": ({}, [
        'invalid/bad-field-name/main.yaml:4:7: permission_sets.INT_A.fields: "Account Industry" '
        'is not a field name like "Account.Industry" or "Invoice__c.Amount__c"',
        'invalid/bad-field-name/main.yaml:5:7: permission_sets.INT_A.fields: "Industry" '
        'is not a field name like "Account.Industry" or "Invoice__c.Amount__c"',
    ]),
    "permissions-prefix": ({}, [
        "invalid/permissions-prefix/main.yaml:3:26: "
        'permission_sets.INT_A.system_permissions[0]: write "ApiEnabled", without the '
        '"Permissions" prefix',
    ]),
    "too-long": ({}, [
        "invalid/too-long/main.yaml:3:12: permission_sets.INT_A.label: is 81 characters long, "
        "more than the 80 allowed",
        "invalid/too-long/main.yaml:4:18: permission_sets.INT_A.description: is 256 characters "
        "long, more than the 255 allowed",
        "invalid/too-long/main.yaml:10:12: users.mulesoft.alias: is 11 characters long, more "
        "than the 8 allowed",
    ]),
    "bad-username": ({}, [
        'invalid/bad-username/main.yaml:3:15: users.mulesoft.username: "mulesoft" is not '
        "email-shaped (name@domain)",
    ]),
    "duplicate-address": ({}, [
        "invalid/duplicate-address/b.yaml:3:3: users.mulesoft is already defined at "
        "invalid/duplicate-address/a.yaml:2:3",
    ]),
    "duplicate-username": ({}, [
        'invalid/duplicate-username/main.yaml:8:15: users.mule2: username "mulesoft@acme.com" '
        "is already used by users.mulesoft (invalid/duplicate-username/main.yaml:2:3)",
    ]),
    "duplicate-list-item": ({}, [
        'invalid/duplicate-list-item/main.yaml:7:37: users.mulesoft.permission_sets[2]: '
        '"int_a" is listed twice (first as "INT_A" at [0])',
    ]),
    "case-clash": ({}, [
        'invalid/case-clash/main.yaml:4:3: permission_sets: "int_sales" and "INT_Sales" '
        "(line 2, column 3) are the same permission set: Salesforce ignores case",
    ]),
    "case-mismatch-reference": ({}, [
        "invalid/case-mismatch-reference/main.yaml:10:23: users.mulesoft.permission_sets[0]: "
        '"int_sales" is written "INT_Sales" where it is declared; write it the same way',
    ]),
    "undefined-variable": ({}, [
        "invalid/undefined-variable/main.yaml:5:15: users.mulesoft.username: undefined "
        'variable var.envv; did you mean "var.env"?',
    ]),
    "variable-without-value": ({}, [
        "invalid/variable-without-value/main.yaml:5:15: users.mulesoft.username: variable "
        "var.env has no value; set it with --var env=VALUE, a --var-file, or the environment "
        "variable RECONCILER_VAR_env",
    ]),
    "var-file-undeclared": ({"var_files": [
        CONFIGS / "invalid" / "var-file-undeclared" / "vars" / "prod.yaml"]}, [
        f"{CONFIGS}/invalid/var-file-undeclared/vars/prod.yaml:2:1: "
        'no variable "evn" is declared; did you mean "env"?',
    ]),
    "env-not-set": ({}, [
        "invalid/env-not-set/main.yaml:5:12: users.mulesoft.email: environment variable "
        "RECONCILER_TEST_UNSET_EMAIL is not set",
    ]),
    "bad-interpolation": ({}, [
        'invalid/bad-interpolation/main.yaml:4:16: users.mulesoft.last_name: cannot interpolate '
        '"${integration}": use ${var.NAME} or ${env.NAME} (write $${ for a literal ${)',
        'invalid/bad-interpolation/main.yaml:5:12: users.mulesoft.email: "${" is not closed by '
        '"}" (write $${ for a literal ${)',
    ]),
    "secret-literal": ({}, [
        "invalid/secret-literal/main.yaml:7:22: orgs.prod.auth.client_secret: a secret must "
        "come from the environment: write ${env.NAME} and nothing else",
    ]),
    "auth-flow": ({}, [
        'invalid/auth-flow/main.yaml:5:7: orgs.prod.auth: flow jwt needs "private_key" or '
        '"private_key_file"',
        'invalid/auth-flow/main.yaml:5:7: orgs.prod.auth: flow jwt needs "username"',
        'invalid/auth-flow/main.yaml:7:7: orgs.prod.auth: "password" is not used by flow jwt',
    ]),
    "emulator-with-url": ({}, [
        'invalid/emulator-with-url/main.yaml:4:5: orgs.local: "instance_url" cannot be '
        "combined with emulator: true",
    ]),
    "unknown-default-org": ({}, [
        'invalid/unknown-default-org/main.yaml:2:16: settings.default_org: no org named "prdo" '
        'is declared; did you mean "prod"?',
    ]),
    "unknown-ignore-change": ({}, [
        "invalid/unknown-ignore-change/main.yaml:8:24: "
        'users.mulesoft.lifecycle.ignore_changes[0]: "emial" is not one of first_name, '
        "last_name, email, alias, profile, license, permission_set_licenses, permission_sets, "
        "permission_set_groups, active, time_zone, locale, language, email_encoding; "
        'did you mean "email"?',
    ]),
    "absent-referenced": ({}, [
        "invalid/absent-referenced/main.yaml:6:23: "
        "permission_set_groups.INT_All.permission_sets[0]: permission set INT_Old is declared "
        "absent: true (invalid/absent-referenced/main.yaml:2:3)",
        "invalid/absent-referenced/main.yaml:13:23: users.mulesoft.permission_sets[0]: "
        "permission set INT_Old is declared absent: true (invalid/absent-referenced/main.yaml:2:3)",
    ]),
    "prevent-destroy": ({}, [
        "invalid/prevent-destroy/main.yaml:3:5: permission_sets.INT_Keep: absent: true "
        "contradicts lifecycle.prevent_destroy; remove one of them",
        "invalid/prevent-destroy/main.yaml:11:5: users.mulesoft: active: false contradicts "
        "lifecycle.prevent_destroy; remove one of them",
    ]),
    "psl-set-wrong-license": ({}, [
        "invalid/psl-set-wrong-license/main.yaml:14:23: users.mulesoft.permission_sets[0]: "
        'permission set INT_Standard is licensed "Salesforce API Integration", which only '
        '"Salesforce Integration" users can hold; users.mulesoft has license "Salesforce"',
    ]),
    "missing-psl": ({}, [
        "invalid/missing-psl/main.yaml:6:3: users.mulesoft: needs the permission set license "
        '"Salesforce API Integration" for standard-object access to Account through '
        "INT_Standard; add it: permission_set_licenses: [Salesforce API Integration]",
    ]),
    "salesforce-set-to-integration-user": ({}, [
        "invalid/salesforce-set-to-integration-user/main.yaml:12:23: "
        'users.mulesoft.permission_sets[0]: permission set INT_Full is licensed "Salesforce", '
        'which "Salesforce Integration" users can\'t hold',
    ]),
    "integration-license-standard-objects": ({}, [
        "invalid/integration-license-standard-objects/main.yaml:6:7: permission_sets.INT_Wrong: "
        'a set licensed "Salesforce Integration" can\'t grant access to the standard object '
        'Contact; license it "Salesforce API Integration" instead',
    ]),
    "profile-license-mismatch": ({}, [
        "invalid/profile-license-mismatch/main.yaml:7:14: users.mulesoft.license: profile "
        '"Minimum Access - API Only Integrations" belongs to the "Salesforce Integration" '
        'license, not "Salesforce"',
    ]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_invalid_config_reports_exact_problems(name: str, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    monkeypatch.chdir(CONFIGS)
    kwargs, expected = CASES[name]
    assert problems(f"invalid/{name}", **kwargs) == expected


def test_every_invalid_fixture_has_a_case() -> None:
    on_disk = {p.name for p in (CONFIGS / "invalid").iterdir() if p.is_dir()}
    assert on_disk == set(CASES)

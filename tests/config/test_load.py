"""load_config: normalisation, merging, variables, orgs, secrets and cross-checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.config import Lifecycle, Location, Reference, load_config
from reconciler.errors import ConfigError
from reconciler.model import FieldAccess, ObjectAccess
from tests.config.helpers import load, problems, write

USER = """\
users:
  mulesoft:
    username: MuleSoft@Acme.com
    first_name: MuleSoft
    last_name: Integration
    email: Integrations@Acme.com
    profile: Minimum Access - API Only Integrations
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary config directory that is also the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- normalisation -----------------------------------------------------------------

def test_implied_permissions_are_added_as_setup_adds_them(here: Path) -> None:
    write(here, {"main.yaml": """\
permission_sets:
  INT_A:
    objects:
      Account: [modify_all]
      Contact: [delete]
      Case: [create]
      Lead: [view_all]
      Invoice__c: []
    fields:
      Account.Industry: [edit]
      Account.Name: []
"""})
    pset = load(".").permission_sets["INT_A"]
    assert {k: v.words for k, v in pset.objects.items()} == {
        "Account": ("read", "edit", "delete", "view_all", "modify_all"),
        "Case": ("read", "create"),
        "Contact": ("read", "edit", "delete"),
        "Lead": ("read", "view_all"),
    }
    assert dict(pset.fields) == {"Account.Industry": FieldAccess(read=True, edit=True)}


def test_user_attributes_are_normalised_and_defaulted(here: Path) -> None:
    write(here, {"main.yaml": USER})
    user = load(".").users["mulesoft@acme.com"]
    assert user.username == "mulesoft@acme.com"
    assert user.email == "Integrations@Acme.com"  # only usernames are case-insensitive
    assert user.alias == "minte"
    assert (user.time_zone, user.locale, user.language, user.email_encoding) == (
        "GMT", "en_US", "en_US", "UTF-8")
    assert user.active is True
    assert user.permission_sets == frozenset()


@pytest.mark.parametrize(("first", "last", "alias"), [
    ("Jean-Luc", "O'Brien", "jobri"),
    ("", "Sync", "sync"),
    ("Zoë", "Ünal", "zünal"),
])
def test_alias_is_derived_from_the_name(here: Path, first: str, last: str, alias: str) -> None:
    write(here, {"main.yaml": f"""\
users:
  u:
    username: u@acme.com
    first_name: "{first}"
    last_name: "{last}"
    email: u@acme.com
    profile: Standard User
"""})
    assert load(".").users["u@acme.com"].alias == alias


def test_user_defaults_come_from_settings_and_users_override_them(here: Path) -> None:
    write(here, {"settings.yaml": """\
settings:
  user_defaults: {time_zone: Europe/Paris, locale: fr_FR, language: fr, email_encoding: ISO-8859-1}
""", "users.yaml": USER + "    locale: de_DE\n"})
    user = load(".").users["mulesoft@acme.com"]
    assert (user.time_zone, user.locale, user.language, user.email_encoding) == (
        "Europe/Paris", "de_DE", "fr", "ISO-8859-1")


def test_labels_default_to_the_api_name(here: Path) -> None:
    write(here, {"main.yaml": "permission_sets:\n  INT_A: {}\npermission_set_groups:\n  G1:\n"})
    config = load(".")
    assert config.permission_sets["INT_A"].label == "INT_A"
    assert config.permission_set_groups["G1"].label == "G1"
    assert config.permission_sets["INT_A"].description == ""


def test_settings_defaults_and_api_version_as_number(here: Path) -> None:
    write(here, {"a.yaml": "permission_sets: {}\n"})
    settings = load(".").settings
    assert (settings.api_version, settings.default_org, settings.scope.assignments,
            settings.scope.permission_set_prefix) == ("68.0", "local", "authoritative", None)
    write(here, {"a.yaml": "settings:\n  api_version: 61.0\n"})
    assert load(".").settings.api_version == "61.0"
    write(here, {"a.yaml": "settings:\n  api_version: '61'\n"})
    assert problems(".") == [
        'a.yaml:2:16: settings.api_version: "61" is not an API version like "62.0"']


def test_names_with_namespaces_and_custom_suffixes_are_accepted(here: Path) -> None:
    write(here, {"main.yaml": """\
permission_sets:
  INT_A:
    objects: {acme__Usage__c: [read], Invoice__c: [read], Invoice__History: [read]}
    fields: {acme__Usage__c.acme__Minutes__c: [read], Invoice__c.Total_Amount__c: [edit]}
"""})
    assert len(load(".").permission_sets["INT_A"].fields) == 2


@pytest.mark.parametrize(("key", "shape"), [
    ("objects: {Account__: [read]}", 'is not an object API name like "Account" or "Invoice__c"'),
    ("objects: {_Account: [read]}", 'is not an object API name like "Account" or "Invoice__c"'),
    ("fields: {Account.Industry.x: [read]}", 'is not a field name like "Account.Industry"'),
])
def test_malformed_object_and_field_names_are_errors(here: Path, key: str, shape: str) -> None:
    write(here, {"main.yaml": f"permission_sets:\n  INT_A:\n    {key}\n"})
    [line] = problems(".")
    assert shape in line


def test_api_names_longer_than_80_are_errors(here: Path) -> None:
    name = "A" * 81
    write(here, {"main.yaml": f"permission_sets:\n  {name}: {{}}\n"})
    assert problems(".") == [
        f'main.yaml:2:3: permission_sets: "{name}" is 81 characters long, more than the 80 '
        "allowed"]


def test_a_long_malformed_name_is_told_its_shape(here: Path) -> None:
    name = "A" * 80 + "_"
    write(here, {"main.yaml": f"permission_set_groups:\n  {name}: {{}}\n"})
    assert problems(".") == [
        f'main.yaml:2:3: permission_set_groups: "{name}" is not a valid API name: use a letter '
        "first, then letters, digits and single underscores, not ending in an underscore"]


def test_objects_differing_only_in_case_are_the_same_object(here: Path) -> None:
    write(here, {"main.yaml": "permission_sets:\n  INT_A:\n    objects:\n"
                              "      Account: [read]\n      account: [edit]\n"})
    assert problems(".") == [
        'main.yaml:5:7: permission_sets.INT_A.objects: "account" and "Account" (line 4, '
        "column 7) are the same object: Salesforce ignores case"]


def test_absent_cannot_come_with_access(here: Path) -> None:
    write(here, {"main.yaml": "permission_sets:\n  INT_A:\n    absent: true\n"
                              "    objects: {Account: [read]}\n"
                              "permission_set_groups:\n  G:\n    absent: true\n"
                              "    permission_sets: [INT_B]\n"})
    assert problems(".") == [
        'main.yaml:4:5: permission_sets.INT_A: "objects" cannot be combined with absent: true',
        'main.yaml:8:5: permission_set_groups.G: "permission_sets" cannot be combined with '
        "absent: true"]


def test_absent_on_a_user_explains_deactivation(here: Path) -> None:
    write(here, {"main.yaml": USER + "    absent: true\n"})
    assert problems(".") == [
        'main.yaml:8:5: users.mulesoft: unknown key "absent"; users can\'t be deleted in '
        "Salesforce; write active: false to deactivate"]


def test_unknown_key_without_a_close_match_lists_the_valid_keys(here: Path) -> None:
    write(here, {"main.yaml": "settings:\n  zzz: 1\n"})
    assert problems(".") == [
        'main.yaml:2:3: settings: unknown key "zzz"; valid keys are api_version, default_org, '
        "scope, user_defaults"]


def test_a_string_given_for_a_list_suggests_the_list(here: Path) -> None:
    write(here, {"main.yaml": USER + "    permission_sets: INT_A\n"
                 "permission_sets:\n  INT_B:\n    objects: {Account: read}\n"})
    assert problems(".") == [
        "main.yaml:8:22: users.mulesoft.permission_sets: expected a list, got a string "
        "(write [INT_A])",
        "main.yaml:11:24: permission_sets.INT_B.objects.Account: expected a list of object "
        "permissions, got a string (write [read])",
    ]


def test_a_number_given_for_a_string_says_to_quote_it(here: Path) -> None:
    write(here, {"main.yaml": USER.replace("last_name: Integration", "last_name: 2024")})
    assert problems(".") == [
        'main.yaml:5:16: users.mulesoft.last_name: expected a string, got a number (quote it: '
        '"2024")']


def test_required_key_with_empty_value(here: Path) -> None:
    write(here, {"main.yaml": USER.replace("email: Integrations@Acme.com", "email:")})
    assert problems(".") == ['main.yaml:6:5: users.mulesoft: "email" needs a value']


# --- files and merging -------------------------------------------------------------

def test_blocks_merge_across_files_and_subdirectories_and_dotfiles_are_ignored(
        here: Path) -> None:
    write(here, {
        "sets.yml": "permission_sets:\n  INT_A: {objects: {Invoice__c: [read]}}\n",
        "users.yaml": USER + "    permission_sets: [INT_A]\n",
        "empty.yaml": "",
        "comments.yaml": "# nothing yet\n",
        ".pre-commit-config.yaml": "repos: []\n",
        "env/prod.yaml": "env: prod\n",
        "notes.txt": "not yaml",
    })
    config = load(".")
    assert config.files == ("comments.yaml", "empty.yaml", "sets.yml", "users.yaml")
    assert config.users["mulesoft@acme.com"].permission_sets == {"INT_A"}


def test_a_single_file_is_accepted(here: Path) -> None:
    write(here, {"one.yaml": USER, "other.yaml": "garbage: [\n"})
    assert list(load("one.yaml").users) == ["mulesoft@acme.com"]


def test_settings_may_be_split_but_not_repeated(here: Path) -> None:
    write(here, {"a.yaml": "settings:\n  api_version: '60.0'\n",
                 "b.yaml": "settings:\n  scope: {assignments: observe}\n"})
    settings = load(".").settings
    assert (settings.api_version, settings.scope.assignments) == ("60.0", "observe")
    write(here, {"c.yaml": "settings:\n  api_version: '61.0'\n"})
    assert problems(".") == ["c.yaml:2:3: settings.api_version is already defined at a.yaml:2:3"]


def test_problems_are_sorted_by_file_then_line(here: Path) -> None:
    write(here, {"b.yaml": "users:\n  x: {}\n", "a.yaml": "settings:\n  zz: 1\n  api_version: x\n"})
    lines = problems(".")
    assert [line.split(": ")[0] for line in lines] == ["a.yaml:2:3", "a.yaml:3:16", "b.yaml:2:6"]


def test_missing_path_and_empty_config(here: Path) -> None:
    assert problems("nowhere") == ['config path "nowhere" does not exist']
    write(here, {"empty.yaml": ""})
    config = load(".")
    assert (len(config.users), len(config.permission_sets), list(config.orgs)) == (0, 0,
                                                                                    ["local"])


def test_extension_keys_hold_anchors_and_are_ignored(here: Path) -> None:
    write(here, {"main.yaml": "x-std: &std {Account: [read]}\npermission_sets:\n"
                              "  INT_A: {objects: *std}\n  INT_B: {objects: *std}\n"})
    config = load(".")
    assert config.permission_sets["INT_B"].objects["Account"] == ObjectAccess(read=True)


@pytest.mark.parametrize(("text", "message"), [
    ("users: [a, b]\n", "main.yaml:1:8: users: expected a mapping, got a list"),
    ("users: x\n", "main.yaml:1:8: users: expected a mapping, got a string"),
    ("users:\n  u: [1]\n", "main.yaml:2:6: users.u: expected a mapping, got a list"),
])
def test_wrong_shapes_of_blocks(here: Path, text: str, message: str) -> None:
    write(here, {"main.yaml": text})
    assert problems(".") == [message]


def test_an_empty_block_is_fine(here: Path) -> None:
    write(here, {"main.yaml": "users:\npermission_sets:\n"})
    assert len(load(".").users) == 0


# --- variables ---------------------------------------------------------------------

VARIABLES = """\
variables:
  env: {default: dev}
users:
  mulesoft:
    username: mulesoft@acme.com.${var.env}
    last_name: Integration
    email: integrations@acme.com
    profile: Standard User
"""


def usernames(**kw: object) -> list[str]:
    return list(load(".", **kw).users)  # type: ignore[arg-type]


def test_variable_precedence(here: Path) -> None:
    write(here, {"main.yaml": VARIABLES, "vars/one.yaml": "env: one\n",
                 "vars/two.yaml": "env: two\n"})
    assert usernames() == ["mulesoft@acme.com.dev"]
    env = {"RECONCILER_VAR_env": "fromenv"}
    assert usernames(environ=env) == ["mulesoft@acme.com.fromenv"]
    files = [Path("vars/one.yaml"), Path("vars/two.yaml")]
    assert usernames(environ=env, var_files=files) == ["mulesoft@acme.com.two"]
    assert usernames(environ=env, var_files=files, variables={"env": "cli"}) == [
        "mulesoft@acme.com.cli"]
    assert dict(load(".", variables={"env": "cli"}).variables) == {"env": "cli"}


def test_undeclared_cli_variable_is_an_error(here: Path) -> None:
    write(here, {"main.yaml": VARIABLES})
    assert problems(".", variables={"evn": "x"}) == [
        '--var evn: no variable "evn" is declared; did you mean "env"?']


@pytest.mark.parametrize(("files", "message"), [
    ({}, 'var file "v/vars.yaml" does not exist'),
    ({"v/vars.yaml": "- env\n"}, "v/vars.yaml:1:1: a var file must be a mapping of variable "
                                 "names to values, not a list"),
    ({"v/vars.yaml": "env: [a]\n"}, "v/vars.yaml:1:6: env: expected a string, number or "
                                    "boolean, got a list"),
    ({"v/vars.yaml": "env: [a\n"},
     "v/vars.yaml:2:1: YAML syntax error: did not find expected ',' or ']' (while parsing a "
     "flow sequence at line 1, column 6)"),
])
def test_bad_var_files(here: Path, files: dict[str, str], message: str) -> None:
    write(here, {"main.yaml": VARIABLES, **files})
    assert problems(".", var_files=[Path("v/vars.yaml")]) == [message]


def test_var_file_values_may_be_numbers_or_booleans(here: Path) -> None:
    write(here, {"main.yaml": VARIABLES, "v/vars.yaml": "env: 42\n"})
    assert usernames(var_files=[Path("v/vars.yaml")]) == ["mulesoft@acme.com.42"]


def test_bad_variable_names(here: Path) -> None:
    write(here, {"main.yaml": "variables:\n  9env: {}\n"})
    assert problems(".") == [
        'main.yaml:2:3: variables: "9env" is not a variable name: use letters, digits and '
        "underscores, not starting with a digit"]


# --- orgs and secrets --------------------------------------------------------------

ORGS = """\
settings:
  default_org: prod
orgs:
  prod:
    instance_url: https://acme.my.salesforce.com/
    ca_bundle: certs/ca.pem
    auth:
      flow: jwt
      client_id: ${env.SF_CLIENT_ID}
      username: deploy@acme.com
      private_key_file: keys/deploy.pem
  ci:
    instance_url: https://acme--ci.sandbox.my.salesforce.com
    auth:
      flow: client_credentials
      client_id: 3MVG9-key
      client_secret: ${env.SF_CLIENT_SECRET}
"""


def test_orgs_resolve_paths_and_choose_the_default(here: Path) -> None:
    write(here, {"orgs/../orgs.yaml": ORGS})
    config = load(".", environ={"SF_CLIENT_ID": "cid", "SF_CLIENT_SECRET": "s3cr3t-value"})
    prod = config.org()
    assert prod.name == "prod"
    assert prod.instance_url == "https://acme.my.salesforce.com"
    assert prod.login_url == "https://login.salesforce.com"
    assert prod.ca_bundle == Path("certs/ca.pem")
    assert prod.auth is not None and prod.auth.private_key_file == Path("keys/deploy.pem")
    assert prod.auth.client_id is not None and prod.auth.client_id.reveal() == "cid"
    ci = config.org("ci")
    assert ci.auth is not None and ci.auth.client_secret is not None
    assert ci.auth.client_secret.reveal() == "s3cr3t-value"
    local = config.org("local")
    assert (local.emulator, local.auth) == (True, None)


def test_relative_paths_are_relative_to_the_declaring_file(here: Path) -> None:
    write(here, {"conf/orgs.yaml": ORGS})
    config = load("conf", environ={"SF_CLIENT_ID": "x"})
    assert config.org().ca_bundle == Path("conf/certs/ca.pem")


def test_unknown_org_is_an_error_with_a_suggestion(here: Path) -> None:
    write(here, {"orgs.yaml": ORGS})
    with pytest.raises(ConfigError) as info:
        load(".").org("prd")
    assert [str(p) for p in info.value.problems] == [
        'no org named "prd" in the config; did you mean "prod"? (orgs: ci, local, prod)']


def test_credentials_from_unset_environment_fail_only_for_the_org_used(here: Path) -> None:
    write(here, {"orgs.yaml": ORGS})
    config = load(".", environ={"SF_CLIENT_ID": "cid"})  # validate passes without secrets
    assert config.org("prod").name == "prod"
    with pytest.raises(ConfigError) as info:
        config.org("ci")
    assert [str(p) for p in info.value.problems] == [
        "orgs.yaml:17:22: orgs.ci.auth.client_secret: environment variable SF_CLIENT_SECRET "
        "is not set"]


def test_secrets_never_show_their_value(here: Path) -> None:
    write(here, {"orgs.yaml": ORGS})
    secret_value = "s3cr3t-value"
    config = load(".", environ={"SF_CLIENT_ID": "cid", "SF_CLIENT_SECRET": secret_value})
    org = config.org("ci")
    assert org.auth is not None and org.auth.client_secret is not None
    secret = org.auth.client_secret
    shown = [repr(config), repr(org), repr(org.auth), str(secret), f"{secret}", f"{secret!r}",
             f"{secret:>20}", str(config.orgs)]
    assert not any(secret_value in text for text in shown)
    assert repr(secret) == "Secret(env.SF_CLIENT_SECRET)"
    with pytest.raises(TypeError):
        json.dumps({"secret": secret})
    assert secret_value not in config.digest


@pytest.mark.parametrize("literal", ["pa55word-literal", "98765432123", "x${env.A}"])
def test_secret_literals_are_refused_without_echoing_them(here: Path, literal: str) -> None:
    write(here, {"orgs.yaml": ORGS.replace("${env.SF_CLIENT_SECRET}", literal)})
    [line] = problems(".", environ={"A": "from-env"})
    assert literal not in line and "98765432123" not in line and "from-env" not in line
    assert line == ("orgs.yaml:17:22: orgs.ci.auth.client_secret: a secret must come from the "
                    "environment: write ${env.NAME} and nothing else")


def test_urls_must_be_https(here: Path) -> None:
    write(here, {"orgs.yaml": ORGS.replace("https://acme.my", "http://acme.my")})
    assert problems(".") == [
        'orgs.yaml:5:19: orgs.prod.instance_url: "http://acme.my.salesforce.com/" is not an '
        "https:// URL of a host"]


def test_a_remote_org_needs_a_url_and_auth(here: Path) -> None:
    write(here, {"orgs.yaml": "orgs:\n  prod:\n    login_url: https://login.salesforce.com\n"})
    assert problems(".") == [
        'orgs.yaml:3:5: orgs.prod: missing required keys "instance_url", "auth" (or write '
        "emulator: true)"]


def test_an_org_key_left_empty_is_not_given(here: Path) -> None:
    write(here, {"orgs.yaml": ORGS.replace("client_id: ${env.SF_CLIENT_ID}", "client_id:")
                 .replace("instance_url: https://acme--ci.sandbox.my.salesforce.com",
                          "instance_url: ~")})
    assert problems(".") == [
        'orgs.yaml:8:7: orgs.prod.auth: flow jwt needs "client_id"',
        'orgs.yaml:13:5: orgs.ci: missing required key "instance_url" (or write emulator: true)']


def test_a_credential_is_checked_beside_the_other_problems_of_its_org(here: Path) -> None:
    write(here, {"orgs.yaml": ORGS.replace("username: deploy@acme.com", "username: ${var.who}")
                 .replace("ca_bundle: certs/ca.pem", "ca_bundle: [certs/ca.pem]")})
    assert problems(".", environ={"SF_CLIENT_ID": "x"}) == [
        "orgs.yaml:6:16: orgs.prod.ca_bundle: expected a string, got a list",
        "orgs.yaml:10:17: orgs.prod.auth.username: undefined variable var.who; declare it "
        "under variables:"]


def test_private_key_and_key_file_are_exclusive(here: Path) -> None:
    write(here, {"orgs.yaml": ORGS.replace("      private_key_file: keys/deploy.pem\n",
                                           "      private_key_file: k.pem\n"
                                           "      private_key: ${env.KEY}\n")})
    assert problems(".", environ={"SF_CLIENT_ID": "x"}) == [
        'orgs.yaml:11:7: orgs.prod.auth: give "private_key" or "private_key_file", not both']


# --- references and cross-checks ---------------------------------------------------

def test_undeclared_sets_and_groups_are_left_for_the_plan(here: Path) -> None:
    write(here, {"main.yaml": USER + "    permission_sets: [INT_Standard_Object]\n"
                 "    permission_set_groups: [Org_Group]\n"
                 "permission_sets:\n  INT_Standard_Objects: {}\n"
                 "permission_set_groups:\n  G:\n    permission_sets: [Org_Set]\n"})
    config = load(".")
    refs = {r.address: r for r in config.references if r.kind.startswith("permission_set")}
    assert refs == {
        "users.mulesoft.permission_sets[0]": Reference(
            "permission_set", "INT_Standard_Object", "users.mulesoft.permission_sets[0]",
            Location("main.yaml", 8, 23), suggestion="INT_Standard_Objects"),
        "users.mulesoft.permission_set_groups[0]": Reference(
            "permission_set_group", "Org_Group", "users.mulesoft.permission_set_groups[0]",
            Location("main.yaml", 9, 29)),
        "permission_set_groups.G.permission_sets[0]": Reference(
            "permission_set", "Org_Set", "permission_set_groups.G.permission_sets[0]",
            Location("main.yaml", 14, 23)),
    }
    kinds = {(r.kind, r.name) for r in config.references}
    assert ("profile", "Minimum Access - API Only Integrations") in kinds


def test_psl_licensed_set_through_a_group_to_a_non_integration_user(here: Path) -> None:
    write(here, {"main.yaml": """\
permission_sets:
  INT_Api: {license: SalesforceAPIIntegrationPsl}
permission_set_groups:
  G: {permission_sets: [INT_Api]}
users:
  web:
    username: web@acme.com
    last_name: Web
    email: web@acme.com
    profile: Standard User
    license: Salesforce
    permission_set_groups: [G]
"""})
    assert problems(".") == [
        "main.yaml:12:29: users.web.permission_set_groups[0]: permission set INT_Api (through "
        'group G) is licensed "SalesforceAPIIntegrationPsl", which only "Salesforce '
        'Integration" users can hold; users.web has license "Salesforce"']


STANDARD_SET = "permission_sets:\n  INT_Std: {objects: {Account: [read]}}\n"


def test_integration_license_is_inferred_from_the_profile(here: Path) -> None:
    write(here, {"main.yaml": STANDARD_SET + USER + "    permission_sets: [INT_Std]\n"})
    [line] = problems(".")
    assert "users.mulesoft: needs the permission set license" in line


@pytest.mark.parametrize("extra", [
    "    permission_set_licenses: [salesforce api integration]\n",   # case-insensitive
    "    permission_set_licenses: [SalesforceAPIIntegrationPsl]\n",  # developer name
])
def test_the_psl_by_label_or_developer_name_satisfies_the_check(here: Path, extra: str) -> None:
    write(here, {"main.yaml": STANDARD_SET + USER + "    permission_sets: [INT_Std]\n" + extra})
    assert len(load(".").users) == 1


def test_standard_objects_need_no_psl_for_other_licenses(here: Path) -> None:
    user = USER.replace("Minimum Access - API Only Integrations", "Custom Profile")
    write(here, {"main.yaml": STANDARD_SET + user + "    permission_sets: [INT_Std]\n"})
    assert len(load(".").users) == 1


def test_field_access_on_a_standard_object_counts_as_standard_access(here: Path) -> None:
    write(here, {"main.yaml": "permission_sets:\n  INT_F: {fields: {Case.Subject: [read]}}\n"
                 + USER + "    permission_sets: [INT_F]\n"})
    [line] = problems(".")
    assert "for standard-object access to Case through INT_F" in line


API_SET = "  INT_Api: {license: Salesforce API Integration, objects: {Account: [read]}}\n"


@pytest.mark.parametrize("sets, extra", [
    # the set licensed by the PSL brings it: Salesforce assigns the PSL with the set
    (API_SET, "    permission_sets: [INT_Api]\n"),
    # ... and then an unlicensed set may grant standard objects too
    (API_SET, "    permission_sets: [INT_Api, INT_Std]\n"),
    # an org-only set may be licensed by the PSL: only the plan can tell
    ("", "    permission_sets: [INT_Std, Org_Set]\n"),
    # outside authoritative scope the user may keep a PSL the org already gave it
    ("", "    permission_sets: [INT_Std]\nsettings: {scope: {assignments: additive}}\n"),
], ids=["licensed-set", "licensed-and-unlicensed", "org-set", "additive"])
def test_configs_that_may_hold_the_psl_without_listing_it(here: Path, sets: str,
                                                           extra: str) -> None:
    write(here, {"main.yaml": STANDARD_SET + sets + USER + extra})
    assert len(load(".").users) == 1


# --- locations, lifecycle, addresses, digest ---------------------------------------

def test_locate_addresses_and_attributes(here: Path) -> None:
    write(here, {"sets.yaml": "permission_sets:\n  INT_A:\n    fields:\n"
                              "      Invoice__c.Amount__c: [read]\n",
                 "users.yaml": USER + "    permission_sets: [INT_A, Org_Set]\n"})
    config = load(".")
    assert config.locations["users.mulesoft"] == Location("users.yaml", 2, 3)
    assert config.locations["permission_sets.INT_A"] == Location("sets.yaml", 2, 3)
    assert config.locate("users.mulesoft.permission_sets[1]") == Location("users.yaml", 8, 30)
    assert config.locate('users.mulesoft.permission_sets["org_set"]') == Location(
        "users.yaml", 8, 30)
    assert config.locate("permission_sets.INT_A.fields.Invoice__c.Amount__c") == Location(
        "sets.yaml", 4, 7)
    assert config.locate('permission_sets.INT_A.fields["Invoice__c.Amount__c"]') == Location(
        "sets.yaml", 4, 7)
    assert config.locate("users.mulesoft.email") == Location("users.yaml", 6, 5)
    assert config.locate("users.nobody") is None
    assert config.locate("users.mulesoft.permission_sets[9]") is None
    assert config.locate("nonsense[") is None


def test_lifecycle_and_addresses(here: Path) -> None:
    write(here, {"main.yaml": USER + "    lifecycle: {ignore_changes: [email, alias]}\n"})
    config = load(".")
    assert config.lifecycle("users.mulesoft") == Lifecycle(False, frozenset({"email", "alias"}))
    assert config.lifecycle("users.other") == Lifecycle()
    assert config.address("users", "MULESOFT@acme.com") == "users.mulesoft"
    assert config.address("permission_sets", "INT_A") == "permission_sets.INT_A"
    with pytest.raises(ValueError):
        config.address("widgets", "x")


def test_digest_ignores_layout_and_spelling_but_not_content(here: Path) -> None:
    one = here / "one"
    write(one, {"main.yaml": STANDARD_SET.replace("[read]", "[edit]") + USER})
    two = here / "two"
    write(two, {"b.yaml": USER.replace("MuleSoft@Acme.com", "mulesoft@acme.com"),
                "a.yaml": "# sets\n\n" + STANDARD_SET.replace("[read]", "[read, edit]")})
    three = here / "three"
    write(three, {"main.yaml": STANDARD_SET + USER})
    digest = load(one).digest
    assert len(digest) == 64
    assert load(two).digest == digest
    assert load(three).digest != digest


def test_load_config_accepts_the_real_environment(here: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write(here, {"main.yaml": VARIABLES})
    monkeypatch.setenv("RECONCILER_VAR_env", "qa")
    assert list(load_config(Path(".")).users) == ["mulesoft@acme.com.qa"]


def test_huge_files_are_refused_with_the_others_still_checked(here: Path) -> None:
    with (here / "huge.yaml").open("wb") as f:
        f.truncate(6 * 1024 * 1024)
    write(here, {"users.yaml": USER.replace("profile: Minimum", "profil: Minimum")})
    assert problems(".") == [
        "huge.yaml: file is 6291456 bytes, more than the 5 MiB limit; split it into several "
        "files",
        'users.yaml:3:5: users.mulesoft: missing required key "profile"',
        'users.yaml:7:5: users.mulesoft: unknown key "profil"; did you mean "profile"?',
    ]


def test_windows_line_endings_are_fine(here: Path) -> None:
    write(here, {"main.yaml": USER.replace("\n", "\r\n").encode("utf-8")})
    assert load(".").locate("users.mulesoft.profile") == Location("main.yaml", 7, 5)


def test_every_problem_prints_on_one_line(here: Path) -> None:
    # Found by the fuzz test: a key holding carriage returns split a problem in two.
    write(here, {"main.yaml": 'settings:\n  "a\\r\\nb": 1\nusers:\n  "x\\ty": {}\n'})
    assert problems(".") == [
        'main.yaml:2:3: settings: unknown key "a\\r\\nb"; valid keys are api_version, '
        "default_org, scope, user_defaults",
        'main.yaml:4:3: users: "x\\ty" is not a resource name: use letters, digits, _ and -, '
        "not starting with a digit",
    ]

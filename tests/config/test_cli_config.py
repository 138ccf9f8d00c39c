"""`reconciler validate` and `reconciler schema` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.config.helpers import CONFIGS, EXAMPLES, write


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(CONFIGS)
    for name in ("SF_CLIENT_ID", "SF_PROD_CLIENT_ID", "SF_PROD_CLIENT_SECRET",
                 "RECONCILER_VAR_env"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


@pytest.mark.parametrize("example", EXAMPLES)
def test_validate_examples_prints_one_success_line(runner: CliRunner, example: str) -> None:
    result = runner.invoke(cli, ["-c", example, "validate"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1
    assert result.stdout.startswith("The configuration is valid: ")


def test_validate_counts_what_it_loaded(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["-c", "integration-user", "validate"])
    assert result.stdout == ("The configuration is valid: 2 permission sets, 0 permission set "
                             "groups, 1 user in 1 file.\n")


def test_validate_invalid_prints_every_problem_and_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["-c", "invalid/too-long", "validate"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "invalid/too-long/main.yaml:3:12: permission_sets.INT_A.label: is 81 characters long, "
        "more than the 80 allowed",
        "invalid/too-long/main.yaml:4:18: permission_sets.INT_A.description: is 256 characters "
        "long, more than the 255 allowed",
        "invalid/too-long/main.yaml:10:12: users.mulesoft.alias: is 11 characters long, more "
        "than the 8 allowed",
    ]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fixture", ["binary", "billion-laughs", "not-utf8", "no-yaml-files"])
def test_validate_never_shows_a_traceback(runner: CliRunner, fixture: str) -> None:
    result = runner.invoke(cli, ["-c", f"invalid/{fixture}", "validate"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "Error: None" not in result.output


def test_global_variables_and_var_files_reach_validate(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["-c", "multi-env", "--var-file", "multi-env/env/prod.yaml",
                                 "--var", "org=locl", "validate"])
    assert result.exit_code == 1
    assert result.stderr == ('multi-env/settings.yaml:7:16: settings.default_org: no org named '
                             '"locl" is declared; did you mean "local"?\n')


def test_undeclared_var_on_the_command_line(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["-c", "multi-env", "--var", "evn=prod", "validate"])
    assert result.exit_code == 1
    assert result.stderr == '--var evn: no variable "evn" is declared; did you mean "env"?\n'


def test_validate_with_org_checks_its_credentials(runner: CliRunner) -> None:
    args = ["-c", "multi-env", "--org", "prod", "validate"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "multi-env/orgs.yaml:15:18: orgs.prod.auth.client_id: environment variable "
        "SF_PROD_CLIENT_ID is not set",
        "multi-env/orgs.yaml:16:22: orgs.prod.auth.client_secret: environment variable "
        "SF_PROD_CLIENT_SECRET is not set",
    ]
    secret = "very-secret-value-123"
    result = runner.invoke(cli, args, env={"SF_PROD_CLIENT_ID": "id",
                                           "SF_PROD_CLIENT_SECRET": secret})
    assert result.exit_code == 0, result.output
    assert secret not in result.output


def test_validate_with_unknown_org(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["-c", "integration-user", "--org", "prod", "validate"])
    assert result.exit_code == 1
    assert result.stderr == 'no org named "prod" in the config (orgs: local)\n'


def test_validate_with_a_verbose_flag_still_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["-v", "-c", "invalid/wrong-type", "validate"])
    assert result.exit_code == 1
    assert "users.mulesoft.active: expected true or false" in result.stderr


def test_default_config_directory_is_the_working_directory(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    write(tmp_path, {"main.yaml": "permission_sets:\n  INT_A: {}\n"})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0
    assert "1 permission set," in result.stdout


def test_schema_prints_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {"settings", "variables", "orgs", "permission_sets",
                                         "permission_set_groups", "users", "policies"}

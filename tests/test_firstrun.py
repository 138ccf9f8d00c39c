"""The first-run path through the CLI: `init`, shell completion, an example in every
`--help`, `import --from-sf-project`, and what the sf_cli login says without `sf`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator import Emulator
from tests.paths import SHARED

REAL = SHARED / "real-metadata"
DREAMHOUSE = REAL / "dreamhouse-lwc" / "dreamhouse.permissionset-meta.xml"
needs_real = pytest.mark.skipif(not DREAMHOUSE.is_file(),
                                reason=f"{DREAMHOUSE} is absent (../shared beside the repo)")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


# --- init ---------------------------------------------------------------------------

def test_init_writes_a_config_that_validates_and_plans_against_the_embedded_org(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = run("init", "acme")
    assert made.exit_code == 0, made.output
    assert made.output.splitlines() == [
        "Wrote acme/reconciler.yaml", "Wrote acme/seeds/local-org.yaml",
        "Wrote acme/.gitignore", "Next:", "  cd acme", "  reconciler validate",
        "  reconciler plan", "  reconciler apply plans/local.plan.json"]
    monkeypatch.chdir(tmp_path / "acme")
    assert run("validate").output == ("The configuration is valid: 2 permission sets, "
                                      "0 permission set groups, 1 user in 1 file.\n")
    planned = run("plan")
    assert planned.exit_code == 0, planned.output
    assert "+ permission_sets.INT_Custom_Objects" in planned.output
    assert "+ users.integration" in planned.output
    assert re.search(r"Plan: [1-9][0-9]* to add, 0 to change, 0 to remove", planned.output)
    assert (tmp_path / "acme" / "plans" / "local.plan.json").is_file()


def test_init_starter_is_commented_for_a_first_reader(tmp_path: Path) -> None:
    assert run("init", str(tmp_path)).exit_code == 0
    text = (tmp_path / "reconciler.yaml").read_text()
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 15
    assert "flow: sf_cli" in text and "client_credentials" in text


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_init_gitignore_keeps_plans_journals_and_local_state_out_of_git(
        tmp_path: Path) -> None:
    assert run("init", str(tmp_path)).exit_code == 0
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    paths = ["plans/local.plan.json", "plans/local.apply-20260101T000000Z.json",
             ".reconciler/local/org.sqlite", "reconciler.yaml", "seeds/local-org.yaml"]
    ignored = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", *paths],
                             capture_output=True, text=True, check=False).stdout.split()
    assert ignored == paths[:3]


def test_init_refuses_to_overwrite_and_names_the_files(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n")
    refused = run("init", str(tmp_path))
    assert refused.exit_code == 1
    assert f"refusing to overwrite {tmp_path / '.gitignore'}" in refused.output
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n"
    assert not (tmp_path / "reconciler.yaml").exists()


def test_init_here_prints_no_cd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = run("init")
    assert made.exit_code == 0, made.output
    assert made.output.splitlines()[-4:] == [
        "Next:", "  reconciler validate", "  reconciler plan",
        "  reconciler apply plans/local.plan.json"]


# --- completion and help ------------------------------------------------------------

@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_script_completes_commands_and_options() -> None:
    script = run("completion", "bash")
    assert script.exit_code == 0
    probe = (f"{script.output}\n"
             'COMP_WORDS=(reconciler pl); COMP_CWORD=1; _reconciler_completion reconciler; '
             'echo "${COMPREPLY[@]}"; '
             'COMPREPLY=(); COMP_WORDS=(reconciler plan --for); COMP_CWORD=2; '
             '_reconciler_completion reconciler; '
             'echo "${COMPREPLY[@]}"')
    bindir = str(Path(sys.executable).parent)
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=False,
                          env={**os.environ, "PATH": f"{bindir}{os.pathsep}"
                                                     f"{os.environ.get('PATH', '')}"})
    assert done.stdout.split("\n")[:2] == ["plan", "--format"], done.stderr


@pytest.mark.parametrize(("shell", "marker"), [
    ("zsh", "#compdef reconciler"), ("fish", "complete --no-files --command reconciler")])
def test_zsh_and_fish_scripts_name_the_command(shell: str, marker: str) -> None:
    script = run("completion", shell)
    assert script.exit_code == 0
    assert marker in script.output
    assert f"_RECONCILER_COMPLETE={shell}_complete" in script.output


def test_completion_for_an_unknown_shell_is_a_usage_error() -> None:
    assert run("completion", "tcsh").exit_code == 2


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=" ".join)
def test_every_command_help_shows_one_example(path: tuple[str, ...]) -> None:
    shown = run(*path, "--help")
    assert shown.exit_code == 0
    examples = [line.strip() for line in shown.output.splitlines()
                if line.strip().startswith("Example: ")]
    assert len(examples) == 1, shown.output
    assert "reconciler" in examples[0]


# --- import --from-sf-project -------------------------------------------------------

def _project(root: Path, packages: list[str]) -> Path:
    root.mkdir(parents=True)
    (root / "sfdx-project.json").write_text(json.dumps({
        "packageDirectories": [{"path": p, "default": i == 0} for i, p in enumerate(packages)],
        "sourceApiVersion": "62.0"}))
    for package in packages:
        (root / package).mkdir(parents=True, exist_ok=True)
    return root


@needs_real
def test_sf_project_import_reads_the_package_directories_as_the_folder_import(
        tmp_path: Path) -> None:
    project = _project(tmp_path / "proj", ["force-app", "code-only"])
    target = project / "force-app" / "main" / "default" / "permissionsets"
    target.mkdir(parents=True)
    shutil.copy(DREAMHOUSE, target)
    (project / "code-only" / "Util.cls").write_text("public class Util {}")
    # A permission file outside every package directory is not part of the project.
    shutil.copy(DREAMHOUSE, project / "stray.permissionset-meta.xml")

    from_project = run("import", "--from-sf-project", str(project), "-o", str(tmp_path / "a"))
    assert from_project.exit_code == 0, from_project.output
    from_folder = run("import", "--from-metadata", str(target), "-o", str(tmp_path / "b"))
    assert from_folder.exit_code == 0, from_folder.output
    assert (tmp_path / "a" / "permission_sets.yaml").read_text() == \
        (tmp_path / "b" / "permission_sets.yaml").read_text()
    assert "dreamhouse:" in (tmp_path / "a" / "permission_sets.yaml").read_text()


@pytest.mark.parametrize(("manifest", "message"), [
    (None, "is not an SFDX project: it has no sfdx-project.json"),
    ("{not json", "can't read"),
    ({"packageDirectories": []}, "lists no packageDirectories"),
    ({"packageDirectories": [{"path": "../elsewhere"}]}, "is outside the project"),
    ({"packageDirectories": [{"path": "missing"}]}, "'missing' does not exist"),
    ({"packageDirectories": [{"path": "empty"}]}, "no *.permissionset-meta.xml"),
])
def test_sf_project_problems_are_one_line(tmp_path: Path, manifest: object,
                                          message: str) -> None:
    project = tmp_path / "proj"
    (project / "empty").mkdir(parents=True)
    if manifest is not None:
        (project / "sfdx-project.json").write_text(
            manifest if isinstance(manifest, str) else json.dumps(manifest))
    result = run("import", "--from-sf-project", str(project), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_sf_project_is_one_import_mode_among_others(tmp_path: Path) -> None:
    both = run("import", "--from-sf-project", str(tmp_path), "--from-metadata", str(tmp_path),
               "-o", str(tmp_path / "out"))
    assert both.exit_code == 2
    assert "--from-sf-project DIR" in both.output


# --- the sf_cli flow, without sf ------------------------------------------------------

def _sf_cli_config(tmp_path: Path, auth: str) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "org.yaml").write_text(f"orgs:\n  prod:\n    auth: {auth}\n")
    return config


def test_sf_cli_flow_needs_no_instance_url_and_validates(tmp_path: Path) -> None:
    config = _sf_cli_config(tmp_path, "{flow: sf_cli, target_org: prod}")
    assert run("-c", str(config), "validate").exit_code == 0


@pytest.mark.parametrize(("auth", "message"), [
    ("{flow: sf_cli}", 'flow sf_cli needs "target_org"'),
    ("{flow: sf_cli, target_org: prod, client_id: x}", '"client_id" is not used by flow sf_cli'),
])
def test_sf_cli_flow_keys_are_checked(tmp_path: Path, auth: str, message: str) -> None:
    result = run("-c", str(_sf_cli_config(tmp_path, auth)), "validate")
    assert result.exit_code == 1
    assert message in result.output


def test_sf_cli_flow_without_sf_on_path_says_how_to_get_it(tmp_path: Path) -> None:
    config = _sf_cli_config(tmp_path, "{flow: sf_cli, target_org: prod}")
    result = run("-c", str(config), "--org", "prod", "plan", "--out",
                 str(tmp_path / "p.json"), env={"PATH": str(tmp_path / "nothing-here")})
    assert result.exit_code == 1
    assert "`sf` is not on PATH" in result.output
    assert "npm install --global @salesforce/cli" in result.output
    assert "sf org login web --alias prod" in result.output


def test_doctor_names_the_sf_cli_fix_when_its_login_fails(tmp_path: Path) -> None:
    config = _sf_cli_config(tmp_path, "{flow: sf_cli, target_org: prod}")
    result = run("-c", str(config), "--org", "prod", "doctor",
                 env={"PATH": str(tmp_path / "nothing-here")})
    assert result.exit_code == 1
    assert "fix: log the Salesforce CLI in to the org again" in result.output
    assert "check the org's auth settings" not in result.output


# A stand-in for `sf` that renews the session on every ask, as the real CLI does for a
# web or sfdx-url login (it holds a refresh token; the embedded org issues none, so the
# real CLI can't be shown renewing). Each ask is logged.
FAKE_SF = """\
import json, os, sys
import requests
args = sys.argv[1:]
with open(os.environ["FAKE_SF_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
if args[:2] == ["org", "display"]:
    result = {"instanceUrl": os.environ["FAKE_SF_URL"],
              "accessToken": "[REDACTED] Use 'sf org auth show-access-token' to view"}
else:
    answer = requests.post(os.environ["FAKE_SF_URL"] + "/services/oauth2/token",
                           data={"grant_type": "client_credentials"},
                           auth=(os.environ["FAKE_SF_ID"], os.environ["FAKE_SF_SECRET"]),
                           verify=os.environ["FAKE_SF_CA"])
    result = {"accessToken": answer.json()["access_token"]}
print(json.dumps({"status": 0, "result": result}))
"""


def test_sf_cli_flow_asks_sf_again_when_the_session_expires(tmp_path: Path,
                                                            emu: Emulator) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sf").write_text(f"#!{sys.executable}\n{FAKE_SF}")
    (bindir / "sf").chmod(0o755)
    config = _sf_cli_config(tmp_path, "{flow: sf_cli, target_org: prod}")
    (config / "org.yaml").write_text((config / "org.yaml").read_text()
                                     + f"    ca_bundle: {emu.ca_file}\n")
    creds = emu.credentials()
    log = tmp_path / "sf.log"
    # The first query finds every session ended (as when a token times out).
    emu.faults.add(kind="expire_session", path=r"/query$", times=1)
    result = run("-c", str(config), "--org", "prod", "plan", "--out", str(tmp_path / "p.json"),
                 env={"PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
                      "FAKE_SF_LOG": str(log), "FAKE_SF_URL": emu.url,
                      "FAKE_SF_ID": creds["client_id"], "FAKE_SF_SECRET": creds["client_secret"],
                      "FAKE_SF_CA": str(emu.ca_file)})
    assert result.exit_code == 0, result.output
    assert "No changes. The org matches the config." in result.output
    asks = log.read_text().splitlines()
    assert asks == ["org display --target-org prod --json",
                    "org auth show-access-token --target-org prod --json"] * 2


@pytest.mark.parametrize(("org", "valid"), [
    ({"auth": {"flow": "sf_cli", "target_org": "prod"}}, True),
    ({"auth": {"flow": "sf_cli"}}, False),
    ({"auth": {"flow": "sf_cli", "target_org": "prod", "client_id": "x"}}, False),
    # Only sf_cli learns the instance URL elsewhere.
    ({"auth": {"flow": "access_token", "access_token": "${env.T}"}}, False),
])
def test_the_json_schema_agrees_on_the_sf_cli_flow(org: dict[str, object], valid: bool) -> None:
    import jsonschema

    schema = json.loads(run("schema").output)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors({"orgs": {"prod": org}}))
    assert (errors == []) is valid, [e.message for e in errors]

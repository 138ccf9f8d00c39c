"""The recipes under docs/recipes/ hold: their YAML parses, every `reconciler` command
they run is one the CLI accepts, and the Dockerfile's install works in a plain venv."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "docs" / "recipes"
YAML_FILES = sorted([*RECIPES.rglob("*.yml"), *RECIPES.rglob("*.yaml")])
ALL_FILES = sorted(p for p in RECIPES.rglob("*") if p.is_file() and p.name != "README.md")

# A `reconciler` program name (a bare word or a path's last part) and what follows it.
INVOCATION = re.compile(r"(?:^|[\s/\"'\[])reconciler\s+(-\S.*|[a-z].*)$")


def strings(node: Any) -> Iterator[str]:
    """Every string in a parsed YAML document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def command_lines(path: Path) -> list[str]:
    """The `reconciler …` command lines a recipe file runs (comments left out)."""
    if path.suffix in (".yml", ".yaml"):
        texts = [s for doc in yaml.safe_load_all(path.read_text()) for s in strings(doc)]
    else:
        texts = [path.read_text()]
    found = []
    for text in texts:
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            match = INVOCATION.search(line)
            if match:
                found.append(match.group(1))
    return found


def argv(line: str) -> list[str]:
    """A command line's arguments up to the shell's first operator (`;`, `>`, `|`, `&`),
    with the scheduler's own placeholders (matrix values, systemd's %i and $$) filled."""
    line = re.sub(r"\$\{\{\s*matrix\.org\s*\}\}", "prod", line)
    line = line.replace("%i", "prod").replace("$${", "${")
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    words = []
    for token in lexer:
        if token and set(token) <= set(";&|<>"):
            break
        words.append(token)
    return words


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.name)
def test_yaml_parses(path: Path) -> None:
    docs = list(yaml.safe_load_all(path.read_text()))
    assert docs and all(isinstance(d, dict) for d in docs)


def test_every_recipe_runs_reconciler() -> None:
    # (The Dockerfile's command is checked by running it; a timer starts its service.)
    runs = {p.name: command_lines(p) for p in ALL_FILES
            if p.name != "Dockerfile" and p.suffix != ".timer"}
    assert runs and all(runs.values()), runs


@pytest.mark.parametrize(("path", "line"), [(p, line) for p in ALL_FILES
                                            for line in command_lines(p)],
                         ids=lambda v: v.name if isinstance(v, Path) else None)
def test_each_command_is_accepted(path: Path, line: str) -> None:
    args = argv(line)
    # Parsed as click would before running: an unknown command or option, a bad choice
    # or number, an extra or missing argument is a usage error.
    try:
        group = cli.make_context("reconciler", list(args))
        name, command, rest = cli.resolve_command(group, [*group._protected_args, *group.args])
        assert command is not None and name is not None
        command.make_context(name, rest, parent=group)
    except click.ClickException as exc:
        pytest.fail(f"{path.name}: reconciler {line}: {exc.format_message()}")


def test_the_workflow_plans_applies_behind_approval_and_opens_issues() -> None:
    flow = yaml.safe_load((RECIPES / "github-actions" / "reconciler.yml").read_text())
    jobs = flow["jobs"]
    for name in ("plan", "apply", "drift"):
        assert jobs[name]["strategy"]["matrix"]["org"] == ["dev", "uat", "prod"]
    assert jobs["apply"]["environment"] == "${{ matrix.org }}"
    assert jobs["apply"]["needs"] == "plan"
    plan_script = " ".join(s.get("run", "") for s in jobs["plan"]["steps"])
    assert "--format markdown" in plan_script and "gh pr comment" in plan_script
    drift_script = " ".join(s.get("run", "") for s in jobs["drift"]["steps"])
    assert "gh issue create" in drift_script
    assert "schedule" in flow[True]  # YAML 1.1 reads the key `on` as true


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, (INSTRUCTION, rest)."""
    text = (RECIPES / "kubernetes" / "Dockerfile").read_text().replace("\\\n", " ")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_image_runs_as_nobody_with_no_secret_and_the_jobs_read_only() -> None:
    steps = dockerfile()
    user = [rest for op, rest in steps if op == "USER"][-1]
    assert user.split(":")[0] not in ("0", "root")
    env = " ".join(rest for op, rest in steps if op == "ENV")
    assert "SECRET" not in env and "SF_" not in env
    for job in yaml.safe_load_all((RECIPES / "kubernetes" / "cronjob.yaml").read_text()):
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["envFrom"][0]["secretRef"]["name"].startswith("reconciler-")


@pytest.mark.slow
def test_the_dockerfile_install_and_command_run_in_a_plain_venv(tmp_path: Path) -> None:
    """The build stage's RUN (venv and pip install, /opt/reconciler and /src replaced by
    a temporary venv and this checkout), then ENTRYPOINT + CMD from that venv."""
    steps = dockerfile()
    (install,) = [rest for op, rest in steps if op == "RUN" and "pip install" in rest]
    prefix = tmp_path / "venv"
    script = install.replace("/opt/reconciler", str(prefix)).replace(" /src", f" {ROOT}")
    script = script.replace("python -m venv", f"{sys.executable} -m venv")
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    entry = yaml.safe_load([rest for op, rest in steps if op == "ENTRYPOINT"][-1])
    cmd = yaml.safe_load([rest for op, rest in steps if op == "CMD"][-1])
    program = prefix / "bin" / entry[0]
    ran = subprocess.run([str(program), *entry[1:], *cmd], capture_output=True, text=True,
                         timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("Usage: reconciler")

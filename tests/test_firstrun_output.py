"""Output for pull requests and pipelines, through the CLI: `plan --format markdown`
within GitHub's comment size, `--format json` beside the older `--json`, and colour
only on a terminal, never under NO_COLOR or in CI."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.plan import load_plan
from reconciler.render import GITHUB_COMMENT_LIMIT, markdown

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The init starter, planned once against its embedded org: its saved plan."""
    root = tmp_path_factory.mktemp("starter")
    assert run("init", str(root)).exit_code == 0
    planned = run("-c", str(root), "plan", "--out", str(root / "local.plan.json"))
    assert planned.exit_code == 0, planned.output
    return root


def test_plan_markdown_folds_each_resource_and_keeps_steps_and_cost(starter: Path) -> None:
    result = run("-c", str(starter), "plan", "--format", "markdown", "--out",
                 str(starter / "md.plan.json"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    resources = ["permission_sets.INT_Custom_Objects", "permission_sets.INT_Standard_Objects",
                 "users.integration"]
    summaries = re.findall(r"<details><summary><code>\+ (\S+)</code> \((\d+) changes\)"
                           r"</summary>", out)
    assert [name for name, _ in summaries] == resources
    assert out.count("</details>") == 3
    assert "#### Manual steps (the API can't do these)" in out
    assert re.search(r"\*\*Plan: \d+ to add, 0 to change, 0 to remove · \d+ API calls to "
                     r"read, ~\d+ to apply \(\d+ collections\)\*\*\n$", out)
    # The saved-plan line goes to stderr, so `> plan.md` holds only the comment.
    assert "Saved the plan" not in out
    assert "Saved the plan to" in result.stderr


def test_plan_markdown_too_long_for_a_comment_is_cut_with_a_note(starter: Path) -> None:
    plan = load_plan(starter / "local.plan.json")
    whole = markdown(plan)
    assert len(whole) < GITHUB_COMMENT_LIMIT
    cut = markdown(plan, limit=len(whole) - 1)
    assert len(cut) <= len(whole) - 1
    assert "of 3 resources are not shown" in cut
    assert "GitHub's limit of 65,536 characters" in cut
    assert cut.count("<details>") < 3
    # What a reviewer must see survives the cut: the manual steps and the cost line.
    assert "#### Manual steps" in cut
    assert cut.endswith(whole.splitlines()[-1])


def test_a_plan_bigger_than_a_comment_fits_github(tmp_path: Path) -> None:
    sets = "".join(
        f"  INT_Bulk_{i:03}:\n    label: Bulk {i} {'x' * 60}\n    objects:\n"
        + "".join(f"      {obj}: [read, create, edit]\n"
                  for obj in ("Account", "Contact", "Case", "Lead", "Opportunity"))
        for i in range(180))
    (tmp_path / "sets.yaml").write_text("permission_sets:\n" + sets)
    result = run("-c", str(tmp_path), "plan", "--format", "markdown", "--out",
                 str(tmp_path / "p.json"))
    assert result.exit_code == 0, result.output
    comment = result.stdout
    assert len(comment) <= GITHUB_COMMENT_LIMIT
    assert re.search(r"\*\*\d+ of 180 resources are not shown\*\*", comment)
    assert re.search(r"to apply \(\d+ collections, \d+ composite\)\*\*$", comment.rstrip())


def test_format_json_is_the_json_flag(starter: Path) -> None:
    saved = str(starter / "local.plan.json")
    as_format = run("show", saved, "--format", "json")
    assert as_format.exit_code == 0
    assert as_format.output == run("show", saved, "--json").output
    assert json.loads(as_format.output)["org"]["name"] == "local"


def test_json_flag_and_another_format_contradict(starter: Path) -> None:
    result = run("show", str(starter / "local.plan.json"), "--json", "--format", "markdown")
    assert result.exit_code == 2
    assert "--json contradicts --format markdown" in result.output


def test_show_renders_a_saved_plan_as_markdown(starter: Path) -> None:
    shown = run("show", str(starter / "local.plan.json"), "--format", "markdown")
    assert shown.exit_code == 0
    assert shown.output.startswith("### Plan for org `local`")


def _on_a_terminal(args: list[str], **env: str) -> str:
    """What the CLI writes to a pseudo-terminal, run with ``env`` over a clean one."""
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI")}
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], stdout=child,
                            stderr=child, stdin=subprocess.DEVNULL, env={**base, **env})
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(main)
    return b"".join(chunks).decode()


@pytest.mark.parametrize(("env", "coloured"), [
    ({}, True), ({"NO_COLOR": "1"}, False), ({"CI": "true"}, False),
], ids=["terminal", "NO_COLOR", "CI"])
def test_colour_only_on_a_terminal_outside_ci_without_no_color(
        starter: Path, env: dict[str, str], coloured: bool) -> None:
    out = _on_a_terminal(["show", str(starter / "local.plan.json")], **env)
    assert "permission_sets.INT_Custom_Objects" in out
    assert bool(ANSI.search(out)) is coloured


def test_output_that_is_not_a_terminal_gets_no_colour(starter: Path) -> None:
    shown = run("show", str(starter / "local.plan.json"), env={"NO_COLOR": "", "CI": ""})
    assert "permission_sets.INT_Custom_Objects" in shown.output
    assert not ANSI.search(shown.output)

"""The layers hold (docs/adr/0006-layers.md): every import-linter contract in
pyproject.toml is kept by the tree, and each one breaks when an import that crosses
its line is added (to a copy of the package, first on the path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = "The core never touches the org"
EMULATOR = "The emulator shares nothing with the reconciler"
ACYCLIC = "No import cycles between the reconciler's modules"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the package under ``tree``, with the project's contracts."""
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get(
        "PYTHONPATH", "")])}
    return subprocess.run([Path(sys.executable).parent / "lint-imports", "--no-cache",
                           "--no-logo"], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def verdicts(output: str) -> dict[str, str]:
    """Contract name → KEPT or BROKEN, from the summary lint-imports prints."""
    out = {}
    for line in output.splitlines():
        for name in (CORE, EMULATOR, ACYCLIC):
            if line.startswith(name + " "):
                out[name] = line[len(name) + 1:].split()[0]
    return out


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "reconciler", tmp_path / "reconciler",
                    ignore=shutil.ignore_patterns("__pycache__"))
    run = lint_imports(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert verdicts(run.stdout) == {CORE: "KEPT", EMULATOR: "KEPT", ACYCLIC: "KEPT"}


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("diff.py", "import reconciler.org.reader", CORE),
    ("render.py", "from reconciler.org.client import OrgClient", CORE),
    ("checks.py", "import simple_salesforce", CORE),
    ("live.py", "import requests", CORE),
    ("emulator/soql.py", "from reconciler.model import FrozenMap", EMULATOR),
    ("model.py", "from reconciler import diff", ACYCLIC),
])
def test_a_crossing_import_breaks_its_contract(tmp_path: Path, module: str, line: str,
                                               contract: str) -> None:
    shutil.copytree(ROOT / "reconciler", tmp_path / "reconciler",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with (tmp_path / "reconciler" / module).open("a", encoding="utf-8") as file:
        file.write(f"\n{line}\n")
    run = lint_imports(tmp_path)
    assert run.returncode != 0
    found = verdicts(run.stdout)
    assert found.pop(contract) == "BROKEN", run.stdout
    assert set(found.values()) == {"KEPT"}, run.stdout


def test_the_emulator_contract_forbids_every_module_of_the_reconciler() -> None:
    """A new module of the reconciler is out of the emulator's reach without anyone
    remembering to list it: the contract must name every one but the shared file rules."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    emulator = next(c for c in contracts["tool"]["importlinter"]["contracts"]
                    if c["id"] == "emulator")
    shared = {"emulator", "private_files", "__init__", "__main__"}
    modules = {p.stem if p.is_file() else p.name for p in (ROOT / "reconciler").iterdir()
               if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert {f"reconciler.{m}" for m in modules - shared} == set(emulator["forbidden_modules"])


def test_every_module_is_either_core_or_kept_from_it() -> None:
    """A new module lands on one side of the line on purpose: the core contract lists it
    as core or forbids the core to import it (private_files is shared by all)."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    core = next(c for c in contracts["tool"]["importlinter"]["contracts"] if c["id"] == "core")
    placed = {m.split(".")[1] for m in [*core["source_modules"], *core["forbidden_modules"]]
              if m.startswith("reconciler.")}
    modules = {p.stem if p.is_file() else p.name for p in (ROOT / "reconciler").iterdir()
               if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert modules - placed == {"__init__", "__main__", "private_files"}

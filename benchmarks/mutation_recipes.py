"""What ``benchmarks/mutation.py --all`` runs for each module, the mutants known to be
equivalent, and the table it closes with (docs/testing.md, "Mutation testing").

Nothing here runs a mutant: this is the measurement's plan and its reading, kept apart
from the mutmut plumbing of ``mutation.py``.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = Path(__file__).with_name("equivalent_mutants.toml")
# Statuses that count as the tests noticing the mutant.
KILLED = {"killed", "timeout", "caught by type check"}
# Statuses that say nothing about the tests.
UNCHECKED = {"not checked", "skipped", "check was interrupted by user"}
# The goal of docs/testing.md: this share of the mutants that can be told apart killed.
GOAL = 90.0


@dataclass(frozen=True)
class Recipe:
    """How one module is measured: screened against the golden plan cases first or not
    (``mutation.py --golden``), then the mutants left run ``--against`` these test
    files, all of them or, where ``sampled`` and more are left than the sample's size, a
    random sample (``--sample``)."""

    golden: bool
    tests: tuple[str, ...]
    sampled: bool


# The files of tests/emulator/ that reach no rule: the SOQL fuzzing, the server's
# limits and TLS, the object catalog, OAuth.
EMULATOR_LEFT_OUT = {"test_soql_fuzz.py", "test_limits.py", "test_catalog.py", "test_auth.py"}
EMULATOR = tuple(sorted(
    f"tests/emulator/{p.name}" for p in (ROOT / "tests" / "emulator").glob("test_*.py")
    if p.name not in EMULATOR_LEFT_OUT))
# The stale-plan guard's and the plan file's tests, the bugs once unnoticed, and what
# the golden screening leaves out: rollback plans, what policies make the plan read,
# and what the plan reads at all (the screening reads each case's org once, unmutated;
# the golden cases run as tests read it with the mutant).
PLAN = ("tests/test_stale_plans.py", "tests/test_stale_plan_counts.py",
        "tests/test_plan_file_refusals.py", "tests/test_saved_plans.py",
        "tests/test_plan_saving.py", "tests/test_plan_cli.py", "tests/test_unnoticed_bugs.py",
        "tests/test_rollback.py", "tests/test_policy.py", "tests/test_policy_org.py",
        "tests/test_golden.py", "tests/test_apply_last_steps.py")
DRIFT = ("tests/test_drift.py", "tests/test_drift_attribution.py", "tests/test_drift_names.py",
         "tests/test_drift_items_beyond_the_plan.py", "tests/test_policy_org.py",
         "tests/test_unnoticed_bugs.py")
# Every file of the mutmut selection that applies or writes, with the bulk, rollback
# and policy tests outside it.
SHELL = ("tests/test_apply.py", "tests/test_apply_groups.py", "tests/test_apply_write_failures.py",
         "tests/test_apply_every_write.py", "tests/test_apply_journal_outcomes.py",
         "tests/test_apply_other_org.py", "tests/test_apply_after_a_killed_apply.py",
         "tests/test_apply_settled_group.py", "tests/test_apply_refused_rights.py",
         "tests/test_apply_composite_refused_call.py", "tests/test_apply_assignment_races.py",
         "tests/test_apply_bulk.py", "tests/test_writer_races.py",
         "tests/test_writer_lock_retries.py", "tests/test_saved_plans.py",
         "tests/test_stale_plans.py", "tests/test_stale_plan_counts.py",
         "tests/test_apply_last_steps.py", "tests/test_unnoticed_bugs.py",
         "tests/test_rollback.py", "tests/test_policy.py", "tests/test_policy_org.py")

# Module (dotted under ``reconciler``; a glob) → its recipe; the first match counts.
# The core every plan reaches is screened against the golden cases first (seconds
# where its tests take hours), then run against the fast tests aimed at it. Modules are
# measured in this order: the core first (what most changes touch, and quick once
# screened), the emulator's rules, the costliest per mutant, last.
RECIPES: dict[str, Recipe] = {
    "graph": Recipe(True, ("tests/test_graph.py", "tests/test_unnoticed_bugs.py"), False),
    "checks": Recipe(True, ("tests/test_states_the_emulator_lacks.py",
                            "tests/test_apply_groups.py", "tests/test_unnoticed_bugs.py"), False),
    "diff": Recipe(True, ("tests/test_unnoticed_bugs.py",
                          "tests/test_states_the_emulator_lacks.py"), False),
    "plan": Recipe(True, PLAN, True),
    "config.desired": Recipe(True, ("tests/config/test_load.py", "tests/config/test_org_options.py",
                                    "tests/config/test_token_host.py",
                                    "tests/test_drift_items_beyond_the_plan.py",
                                    "tests/test_unnoticed_bugs.py"), False),
    "actions": Recipe(True, ("tests/test_plan_lines.py", "tests/test_plan_call_estimate.py"),
                      False),
    "drift.*": Recipe(False, DRIFT, False),
    "apply": Recipe(False, SHELL, True),
    "org.writer": Recipe(False, SHELL, True),
    "emulator.rules.*": Recipe(False, EMULATOR, True),
}


def recipe_for(module: str) -> Recipe:
    """The module's recipe."""
    return RECIPES[_pattern_of(module)]


def in_recipe_order(modules: Iterable[str]) -> list[str]:
    """The modules in the order of their recipes in ``RECIPES``."""
    patterns = list(RECIPES)
    return sorted(modules, key=lambda module: patterns.index(_pattern_of(module)))


def _pattern_of(module: str) -> str:
    """The first pattern of ``RECIPES`` the module matches; a module of ``only_mutate``
    matching none is a mistake here."""
    for pattern in RECIPES:
        if fnmatch.fnmatchcase(module, pattern):
            return pattern
    raise SystemExit(f"benchmarks/mutation_recipes.py: no recipe for {module}; add one")


def equivalents() -> dict[str, str]:
    """Each mutant of ``equivalent_mutants.toml`` → why it can't be told apart."""
    entries = tomllib.loads(EQUIVALENTS.read_text())["equivalent"]
    return {name: entry["why"] for entry in entries for name in entry["mutants"]}


def missing_equivalents(names: Iterable[str]) -> list[str]:
    """The equivalents listed that are not among the mutants ``names``: their function
    changed since (or left the mutated modules), so each needs reading again."""
    known = set(names)
    return sorted(n for n in equivalents() if n not in known)


def wilson(killed: int, checked: int) -> tuple[float, float, float]:
    """The share killed and its 95 % Wilson interval."""
    z, p = 1.96, killed / checked
    centre = (p + z * z / (2 * checked)) / (1 + z * z / checked)
    half = z * math.sqrt(p * (1 - p) / checked + z * z / (4 * checked ** 2)) / (
        1 + z * z / checked)
    return p, centre - half, centre + half


def scaled(sample: dict[str, Any], rate: float, of: float) -> float:
    """A sample's rate as a share of ``of`` mutants of its module: those killed before
    the draw plus the draw's population at that rate."""
    return 100 * (int(sample["killed_before"]) + rate * int(sample["population"])) / of


def estimate(sample: dict[str, Any], found: dict[str, str]) -> str:
    """The module's kill rate estimated from a random sample of the mutants not killed
    before it was drawn, with a 95 % Wilson interval."""
    drawn = [found[name] for name in sample["mutants"] if name in found]
    n = sum(status not in UNCHECKED for status in drawn)
    k = sum(status in KILLED for status in drawn)
    if not n:
        return "estimate: no mutant of the sample checked yet"
    p, low, high = (scaled(sample, rate, len(found)) for rate in wilson(k, n))
    return (f"estimate: {p:.1f} % (95 %: {low:.1f}-{high:.1f} %) from {k} killed of a random "
            f"{n} of the {sample['population']} not killed before, "
            f"{sample['killed_before']} killed before")


@dataclass
class Row:
    """One module's figures: its mutants' statuses and, when sampled, the draw."""

    module: str
    found: dict[str, str]
    sample: dict[str, Any] | None

    def checked(self) -> list[str]:
        """The mutants the figure is made of: all checked, or the draw's checked."""
        names = self.sample["mutants"] if self.sample else self.found
        return [n for n in names if n in self.found and self.found[n] not in UNCHECKED]

    def figures(self, same: dict[str, str]) -> tuple[str, str, str, str, str]:
        """checked, killed, raw %, survivors equivalent / not, % of non-equivalent."""
        checked = self.checked()
        killed = sum(self.found[n] in KILLED for n in checked)
        survivors = [n for n in checked if self.found[n] not in KILLED]
        equal = sum(n in same for n in survivors)
        tally = f"{equal} / {len(survivors) - equal}"
        if not checked:
            return "none", "-", "-", tally, "-"
        if not self.sample:
            told = len(checked) - equal
            return (f"{'all' if len(checked) == len(self.found) else len(checked)}",
                    str(killed), f"{100 * killed / len(checked):.1f} %", tally,
                    f"{100 * killed / told:.1f} %" if told else "-")
        return self._sampled(len(checked), killed, equal, tally)

    def _sampled(self, n: int, k: int, equal: int,
                 tally: str) -> tuple[str, str, str, str, str]:
        """A sample's figures scaled to the whole module (:func:`scaled`); the mutants
        that can be told apart likewise: all but the population's share of equivalents."""
        sample = self.sample
        assert sample is not None
        whole, population = len(self.found), int(sample["population"])
        p, low, high = wilson(k, n)
        told = whole - equal / n * population
        drawn = len(sample["mutants"])
        part = f"a random {n}" if n == drawn else f"{n} of a random {drawn}"
        return (f"{part} of {population} left", f"{sample['killed_before']} + {k}",
                f"{scaled(sample, p, whole):.1f} % ({scaled(sample, low, whole):.1f}-"
                f"{scaled(sample, high, whole):.1f})", tally, f"{scaled(sample, p, told):.1f} %")


def table(rows: list[Row]) -> None:
    """The closing table, then the survivors not listed as equivalent, by name."""
    same = equivalents()
    head = ("module", "mutants", "checked", "killed", "raw % (95 %)", "survivors equiv / not",
            "% of non-equiv", f">= {GOAL:.0f} %")
    lines = [head]
    for row in rows:
        figures = row.figures(same)
        rate = figures[4].removesuffix(" %")
        verdict = "-" if rate == "-" else "yes" if float(rate) >= GOAL else "NO"
        lines.append((row.module, str(len(row.found)), *figures, verdict))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    for row in rows:
        others = sorted(n for n in row.checked()
                        if row.found[n] not in KILLED and n not in same)
        if others:
            print(f"\n{row.module}: survivors not known equivalent (mutmut show NAME):")
            print("".join(f"    {row.found[n]}: {n}\n" for n in others), end="")

"""Mutation testing of the core: the share of planted bugs the tests kill, per module.

The whole measurement, from a clone set up as the README says, is one command:

    python benchmarks/mutation.py --all [MODULE ...] [--budget SECONDS] [--children N]
                                        [--sample N | --whole]

It makes mutmut's mutants (mutmut 3, installed with the ``test`` extra, configured
under ``[tool.mutmut]`` in pyproject.toml) of every module ``only_mutate`` lists (or
those named), measures each by its recipe in ``mutation_recipes.py`` (screened against
the golden plan cases or not, run against which test files, whole or a random sample),
at the lowest CPU priority within one time budget, and prints a table: per module the
mutants killed, the survivors known equivalent (``equivalent_mutants.toml``) and the
others by name (``mutmut show NAME`` prints a survivor's diff). Exit code 0 when it ran
to its end, whatever the figures; 3 when the budget ran out first. docs/testing.md says
how to read it. Too slow for ``.ci/run``.

The steps it is made of, for measuring a module by hand or checking new tests against
its survivors (docs/testing.md, "The steps, one at a time"):

    python benchmarks/mutation.py [MODULE ...] [--budget SECONDS] [--children N] [--retest]
                                  [--against TEST ... | --golden] [--mutants PATTERN]

MODULE is a dotted name under ``reconciler``; the default is every module of
``only_mutate``, smallest first. Alone, mutmut's own run tests them, each module within
its budget (``--retest``: its survivors again). ``--against`` runs each mutant not yet
killed (matching ``--mutants``, a glob) against the given test files in one process,
``--sample N`` a random N of them; ``--golden`` screens them against the golden plan
cases in one process. Results are kept in ``mutants/``: a run goes on where the last
stopped.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from mutation_recipes import (
    KILLED,
    ROOT,
    UNCHECKED,
    Row,
    estimate,
    in_recipe_order,
    missing_equivalents,
    recipe_for,
    table,
)
from mutmut.stats import status_by_exit_code
from mutmut.utils.format_utils import mangled_name_from_mutant_name


def configured_modules() -> list[str]:
    """The mutated modules of pyproject's [tool.mutmut], smallest file first."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    files = sorted((ROOT / p for p in config["only_mutate"]), key=lambda p: p.stat().st_size)
    return [".".join(p.relative_to(ROOT / "reconciler").with_suffix("").parts) for p in files]


def run(module: str, budget: float, children: int) -> bool:
    """mutmut on one module's mutants; False when the budget ran out first."""
    mutmut = Path(sys.executable).with_name("mutmut")
    command = ["nice", "-n", "19", str(mutmut), "run", "--max-children", str(children),
               f"reconciler.{module}.*"]
    log = ROOT / "mutants" / f"run-{module}.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as out:
        code = _bounded(command, ROOT, budget, out)
    return code == 0


def _bounded(command: list[str], cwd: Path, budget: float | None,
             out: IO[str] | None = None) -> int | None:
    """``command``'s exit code, or None when ``budget`` seconds ran out first. It runs in
    a session of its own, stopped whole when the budget runs out or on Ctrl-C: mutmut and
    the screening children fork workers of their own."""
    proc = subprocess.Popen(command, cwd=cwd, stdout=out,
                            stderr=subprocess.STDOUT if out else None, start_new_session=True)
    try:
        return proc.wait(timeout=budget)
    except (subprocess.TimeoutExpired, KeyboardInterrupt) as stop:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        if isinstance(stop, KeyboardInterrupt):
            raise
        return None


def make_mutants(children: int, budget: float | None) -> bool:
    """Every module of ``only_mutate`` mutated into ``mutants/``, as ``mutmut run`` does
    before it runs a test (see :func:`make_child`); False when the budget ran out first."""
    (ROOT / "mutants").mkdir(exist_ok=True)
    with (ROOT / "mutants" / "make.log").open("w") as out:
        code = _bounded(["nice", "-n", "19", sys.executable, __file__, "--children",
                         str(children), "--make-child"], ROOT, budget, out)
    if code:
        raise subprocess.CalledProcessError(code, "mutmut's mutant generation (mutants/make.log)")
    return code is not None


def make_child(children: int) -> None:
    """mutmut's own first step: the tree copied into ``mutants/`` and each mutated module
    written there with its mutants and a result file listing them, unchecked (a module
    unchanged since the last time keeps its file and results; a changed function's
    mutants become unchecked). ``mutmut run`` does this too, then runs the whole
    selection twice before the first mutant: minutes, which this leaves out."""
    from mutmut.__main__ import create_mutants, store_lines_covered_by_tests
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir

    set_mutant_under_test("mutant_generation")
    copy_src_dir()
    copy_also_copy_files()
    store_lines_covered_by_tests()
    create_mutants(children)


def _meta(module: str) -> Path:
    return ROOT / "mutants" / "reconciler" / (module.replace(".", "/") + ".py.meta")


def _save(meta: Path, data: dict[str, Any]) -> None:
    """A module's results written whole: another run may read them at any moment."""
    part = meta.with_suffix(".part")
    part.write_text(json.dumps(data, indent=4))
    part.replace(meta)


def statuses(module: str) -> dict[str, str]:
    """Each mutant of the module → its status, from mutmut's result file."""
    if not _meta(module).exists():
        return {}
    codes = json.loads(_meta(module).read_text())["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def forget_survivors(module: str) -> None:
    """Mark the module's surviving mutants unchecked, so the next run tests them."""
    if not _meta(module).exists():
        return
    data = json.loads(_meta(module).read_text())
    codes = data["exit_code_by_key"]
    for name, code in codes.items():
        if status_by_exit_code[code] not in KILLED | UNCHECKED:
            codes[name] = None
    _save(_meta(module), data)


def kill_with(modules: list[str], tests: list[str], pattern: str, sample: int,
              children: int, budget: float | None = None) -> bool:
    """Run each mutant of the modules matching ``pattern`` and not yet killed (or a
    random ``sample`` of each module's, where more are left) against ``tests``, in one
    process (see :func:`against_child`); mark those they fail on killed. False when
    ``budget`` seconds ran out first (the mutants run until then keep their result)."""
    modules = [m for m in modules if _meta(m).exists()]
    if not modules:
        return True
    for test in {t.split("::")[0] for t in tests}:  # mutmut's copy of the tree runs them
        (ROOT / "mutants" / test).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / test, ROOT / "mutants" / test)
    command = ["nice", "-n", "19", sys.executable, __file__, *modules, "--mutants", pattern,
               "--sample", str(sample), "--children", str(children), "--against-child", *tests]
    code = _bounded(command, ROOT / "mutants", budget)
    if code:
        raise subprocess.CalledProcessError(code, command)
    return code is not None


def against_child(modules: list[str], pattern: str, sample: int, children: int,
                  tests: list[str]) -> None:
    """``pytest -x`` of ``tests`` for each mutant, without a start-up per mutant: the
    tests are collected once and each is run once unmutated, noting the functions it
    reaches; then each mutant runs in a fork of this process against the tests that
    reach its function, fastest first, until one fails (killed) or all pass
    (survived). A mutant whose tests run over 10 s plus three times their unmutated
    time is stopped and counted as a timeout (killed), as mutmut counts it. A test
    that fails unmutated tells no mutant apart and is left out. Runs in mutmut's copy
    of the tree, whose functions switch to the mutant named by ``MUTANT_UNDER_TEST``
    at each call."""
    sys.path.insert(0, str(Path.cwd()))
    import pytest
    from _pytest.runner import runtestprotocol
    from mutmut.mutation import trampoline

    results = {m: json.loads(_meta(m).read_text()) for m in modules}
    names: list[str] = []
    for module, data in results.items():
        chosen = [name for name, code in data["exit_code_by_key"].items()
                  if status_by_exit_code[code] not in KILLED
                  and fnmatch.fnmatchcase(name, pattern)]
        if sample:
            chosen = _sampled(module, chosen, data, sample)
        names += chosen

    def record(codes: dict[str, int]) -> None:
        """Each mutant's code into its module's result file, kept if interrupted."""
        for module, data in results.items():
            mine = {n: c for n, c in codes.items() if n in data["exit_code_by_key"]}
            if mine:
                data["exit_code_by_key"].update(mine)
                _save(_meta(module), data)

    def passes(item: Any) -> bool:
        return not any(r.failed for r in runtestprotocol(item, log=False, nextitem=None))

    class Screen:
        @pytest.hookimpl(tryfirst=True)
        def pytest_runtestloop(self, session: Any) -> bool:
            reached: set[str] = set()
            trampoline.record_trampoline_hit = (  # type: ignore[attr-defined]
                lambda name, caller=None: reached.add(name))
            tests_of: dict[str, list[tuple[float, Any]]] = {}
            for item in session.items:
                reached.clear()
                os.environ["MUTANT_UNDER_TEST"] = "stats"
                start = time.monotonic()
                ok = passes(item)
                os.environ["MUTANT_UNDER_TEST"] = ""
                for function in reached if ok else ():
                    tests_of.setdefault(function, []).append((time.monotonic() - start, item))
            _fork_each(names, tests_of, children, session.config._tmp_path_factory,
                       passes, record)
            return True

    pytest.main(["-q", "-p", "no:cacheprovider", *tests], plugins=[Screen()])


def _fork_each(names: list[str], tests_of: dict[str, list[tuple[float, Any]]], children: int,
               factory: Any, passes: Callable[[Any], bool],
               record: Callable[[dict[str, int]], None]) -> None:
    """Each mutant in a fork of this process against the tests that reach its function
    (``tests_of``: function → its tests with their unmutated times), fastest first,
    ``children`` at a time; each result ``record``-ed as it comes."""
    running: dict[int, tuple[str, float, Path]] = {}
    for name in [*names, *[""] * children]:  # then wait for the last ones
        while len(running) >= children or (not name and running):
            record(_reaped(running))
        if not name:
            continue
        reaching = sorted(tests_of.get(mangled_name_from_mutant_name(name), []),
                          key=lambda pair: pair[0])
        if not reaching:
            record({name: 33})  # no test reaches it
            continue
        temp = factory.getbasetemp() / name.rpartition(".")[2]
        temp.mkdir()
        pid = os.fork()
        if pid == 0:
            os.environ["MUTANT_UNDER_TEST"] = name
            factory._basetemp = temp  # the fork's own, removed when it ends
            os._exit(0 if all(passes(item) for _, item in reaching) else 1)
        limit = 10 + 3 * sum(took for took, _ in reaching)
        running[pid] = (name, time.monotonic() + limit, temp)


def _sampled(module: str, chosen: list[str], data: dict[str, Any], size: int) -> list[str]:
    """A random ``size`` of the module's mutants not yet killed, the same each time: the
    first draw is kept beside the results with how many there were to draw from and
    how many were killed before, from which :func:`report` estimates the whole
    module's figure. Later runs check again those of the draw not yet killed. A module
    with no more than ``size`` left and no draw yet is checked whole."""
    path = _meta(module).with_suffix(".sample")
    if path.exists():
        drawn = set(json.loads(path.read_text())["mutants"])
        return [name for name in chosen if name in drawn]
    if len(chosen) <= size:
        return chosen
    picked = sorted(random.Random(module).sample(chosen, size))
    killed = sum(status_by_exit_code[c] in KILLED for c in data["exit_code_by_key"].values())
    _save(path, {"population": len(chosen), "killed_before": killed, "mutants": picked})
    return picked


def _reaped(running: dict[int, tuple[str, float, Path]]) -> dict[str, int]:
    """mutmut's exit codes of the forked mutants that ended or ran out of time (1
    killed, 0 survived, 36 timeout, negative: stopped by a signal from elsewhere); what
    their tests left in their temporary directory is removed."""
    time.sleep(0.02)
    codes = {}
    for pid, (name, deadline, temp) in list(running.items()):
        ended, status = os.waitpid(pid, os.WNOHANG)
        if not ended and time.monotonic() < deadline:
            continue
        if not ended:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            codes[name] = 36
        else:
            # A fork ends with 0 or 1 by itself; one ended by a signal from elsewhere
            # keeps its negative code (mutmut's "segfault" or "suspicious": not a kill).
            codes[name] = os.waitstatus_to_exitcode(status)
        shutil.rmtree(temp, ignore_errors=True)
        del running[pid]
    return codes


def kill_with_golden(modules: list[str], pattern: str, budget: float | None = None) -> bool:
    """Screen the modules' mutants matching ``pattern`` and not yet killed against the
    golden plan cases, in one process of mutmut's copy of the tree (see
    :func:`golden_child`); mark those a case tells apart killed. False when ``budget``
    seconds ran out first (the modules screened until then keep their result)."""
    modules = [m for m in modules if _meta(m).exists()]
    if not modules:
        return True
    for test in ("tests/__init__.py", "tests/test_golden.py"):
        (ROOT / "mutants" / test).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / test, ROOT / "mutants" / test)
    command = ["nice", "-n", "19", sys.executable, __file__, *modules, "--mutants", pattern,
               "--golden-child"]
    code = _bounded(command, ROOT / "mutants", budget)
    if code:
        raise subprocess.CalledProcessError(code, command)
    return code is not None


def golden_child(modules: list[str], pattern: str) -> None:
    """Each golden case's org read once from the emulator (see :func:`_golden_cases`);
    then, mutant by mutant, the plan made from it compared with the case's
    ``expected.json`` as ``tests/test_golden.py`` compares it. A case that differs, fails
    or runs over 10 s kills the mutant: the check of ``--against tests/test_golden.py``
    without an emulator per case and mutant (cases with policies, which planning alone
    doesn't apply, are left to that). Each module's results are saved when it is done.
    Runs in mutmut's copy of the tree, whose functions switch to the mutant named by
    ``MUTANT_UNDER_TEST`` at each call."""
    sys.path.insert(0, str(Path.cwd()))
    os.environ["MUTANT_UNDER_TEST"] = ""
    cases, planned = _golden_cases()

    def on_alarm(*_: Any) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, on_alarm)
    for module in modules:
        data = json.loads(_meta(module).read_text())
        codes = data["exit_code_by_key"]
        for name, code in codes.items():
            if status_by_exit_code[code] in KILLED or not fnmatch.fnmatchcase(name, pattern):
                continue
            os.environ["MUTANT_UNDER_TEST"] = name
            for case, meta, config, live, org, wanted in cases:
                signal.alarm(10)
                try:
                    killed = planned(case, meta, config, live, org) != wanted
                except Exception:  # a mutant that crashes the plan is told apart too
                    killed = True
                finally:
                    signal.alarm(0)
                if killed:
                    codes[name] = 1
                    break
            os.environ["MUTANT_UNDER_TEST"] = ""
        _save(_meta(module), data)


def _golden_cases() -> tuple[list[tuple[Any, ...]], Callable[..., dict[str, Any]]]:
    """The golden cases planning alone decides, each with its org read from the emulator
    and its expected plan, and the function making a case's plan as the test compares
    it; a case it doesn't reproduce unmutated is left out."""
    from reconciler.config import load_config
    from reconciler.emulator import start_emulator
    from reconciler.emulator.seed import load_seed_file
    from reconciler.errors import ConfigError, PlanRejected
    from reconciler.org.client import OrgClient
    from reconciler.org.login import Connection
    from reconciler.org.reader import read
    from reconciler.plan import claims_for, plan_from_live
    from reconciler.workflow import org_ref
    from tests.test_golden import CASES, _relative

    def planned(case: Path, meta: dict[str, Any], config: Any, live: Any,
                org: Any) -> dict[str, Any]:
        try:
            plan = plan_from_live(config, live, org=org, targets=meta.get("targets", ()),
                                  excludes=meta.get("excludes", ()))
        except PlanRejected as exc:
            return _relative({"problems": [str(p) for p in exc.problems]}, case)
        data = plan.to_json()
        return {key: data[key] for key in ("summary", "api_calls", "actions", "layers",
                                           "manual_steps", "warnings")}

    cases: list[tuple[Any, ...]] = []
    for case in sorted(p for p in CASES.iterdir() if p.is_dir()):
        meta = json.loads((case / "case.json").read_text()) if (
            case / "case.json").exists() else {}
        try:
            config = load_config(case / "config")
        except ConfigError:
            continue
        if config.policies is not None:
            continue
        seed = load_seed_file(case / "seed.yaml") if (case / "seed.yaml").exists() else None
        with start_emulator(None, seed) as emu:
            creds = emu.credentials()
            conn = Connection(login_url=emu.url, flow="client_credentials",
                              client_id=creds["client_id"],
                              client_secret=creds["client_secret"], ca_bundle=emu.ca_file)
            with OrgClient(conn) as client:
                live, org = read(client, claims_for(config)), org_ref(client, "local")
        wanted = json.loads((case / "expected.json").read_text())
        if planned(case, meta, config, live, org) == wanted:  # unmutated, it must agree
            cases.append((case, meta, config, live, org, wanted))
    return cases, planned


def report(module: str, found: dict[str, str], seconds: float, finished: bool) -> None:
    counts = Counter(found.values())
    checked = sum(n for s, n in counts.items() if s not in UNCHECKED)
    killed = sum(n for s, n in counts.items() if s in KILLED)
    rate = f"{100 * killed / checked:5.1f} %" if checked else "    - "
    print(f"{module:<18} {rate}  killed {killed}/{checked} checked of {len(found)}"
          f"  ({', '.join(f'{s} {n}' for s, n in sorted(counts.items()))})"
          f"  {seconds:.0f} s{'' if finished else ', budget ran out'}")
    sample = _drawn(module)
    if sample:
        print("    " + estimate(sample, found))
    for name, status in sorted(found.items()):
        if status not in KILLED | UNCHECKED:
            print(f"    {status}: {name}")


def measure(modules: list[str], budget: float, children: int, sample: int) -> bool:
    """The whole measurement (``--all``): the mutants made, then each module by its
    recipe (``mutation_recipes.RECIPES``), then the table; False when ``budget``
    seconds ran out before the end (the table then has what was done)."""
    deadline = time.monotonic() + budget
    modules = in_recipe_order(modules)
    finished = make_mutants(children, budget)
    if finished:
        known = {name for module in configured_modules() for name in statuses(module)}
        for name in missing_equivalents(known):
            print(f"warning: {name} (benchmarks/equivalent_mutants.toml) is no longer a "
                  "mutant: its function changed; read its survivors again", file=sys.stderr)
        finished = _by_recipe(modules, deadline, children, sample)
    print(f"\n{'finished' if finished else 'budget ran out'} after "
          f"{budget - (deadline - time.monotonic()):.0f} s\n")
    table([Row(module, statuses(module), _drawn(module)) for module in modules])
    return finished


def _by_recipe(modules: list[str], deadline: float, children: int, sample: int) -> bool:
    """The golden screening of the modules whose recipe has it, all in one process, then
    each group of modules sharing their test files in one ``--against`` process."""
    def left() -> float:
        return deadline - time.monotonic()

    golden = [m for m in modules if recipe_for(m).golden]
    if golden:
        print(f"golden cases: {' '.join(golden)} ({left():.0f} s left)", flush=True)
        finished = kill_with_golden(golden, "*", left())
        _progress(golden)
        if not finished:
            return False
    groups: dict[tuple[tuple[str, ...], bool], list[str]] = {}
    for module in modules:
        recipe = recipe_for(module)
        groups.setdefault((recipe.tests, recipe.sampled), []).append(module)
    for (tests, sampled), group in groups.items():
        if left() <= 0:
            return False
        print(f"{' '.join(group)} against {len(tests)} test files"
              f"{f', a random {sample} of each where more are left' if sampled else ''}"
              f" ({left():.0f} s left)", flush=True)
        finished = kill_with(group, list(tests), "*", sample if sampled else 0, children, left())
        _progress(group)
        if not finished:
            return False
    return True


def _progress(modules: list[str]) -> None:
    """Where each module stands after a step."""
    for module in modules:
        counts = Counter(statuses(module).values())
        print(f"    {module}: {', '.join(f'{s} {n}' for s, n in sorted(counts.items()))}",
              flush=True)


def _drawn(module: str) -> dict[str, Any] | None:
    """The module's random draw, if it was sampled."""
    path = _meta(module).with_suffix(".sample")
    return json.loads(path.read_text()) if path.exists() else None


def _parser() -> argparse.ArgumentParser:
    """The command line's options (the module's docstring says what they are for)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="dotted names under reconciler")
    parser.add_argument("--all", action="store_true",
                        help="the whole measurement: make the mutants, measure each module by "
                             "its recipe (benchmarks/mutation_recipes.py), print the table; "
                             "exit 3 if the budget ran out first")
    parser.add_argument("--budget", type=float,
                        help="seconds per module for mutmut's own run (default 1800); with "
                             "--all, for the whole measurement (default 21600)")
    parser.add_argument("--children", type=int, default=1,
                        help="mutants tested at once (default 1: the machine is shared)")
    parser.add_argument("--retest", action="store_true",
                        help="test the survivors of earlier runs again")
    parser.add_argument("--against", nargs="+", metavar="TEST", default=[],
                        help="run the mutants not yet killed against these test files")
    parser.add_argument("--golden", action="store_true",
                        help="screen the mutants not yet killed against the golden plan "
                             "cases in one process: seconds per module where every test "
                             "reaches it (checks, diff)")
    parser.add_argument("--golden-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--against-child", nargs="+", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--make-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=int, metavar="N",
                        help="with --against: only a random N of those mutants (the same "
                             "N for the same module each time); with --all, the N for the "
                             "modules its recipes sample (default 100)")
    parser.add_argument("--whole", action="store_true",
                        help="with --all: check every mutant of the modules it would sample")
    parser.add_argument("--mutants", default="*", metavar="PATTERN",
                        help="with --against or --golden: only the mutants whose name "
                             "matches")
    return parser


def main() -> int:
    """The command line; its exit code: 0 when the measurement ran to its end, whatever
    the figures, 3 when ``--all`` ran out of budget first."""
    args = _parser().parse_args()
    if args.make_child:
        make_child(args.children)
        return 0
    if args.golden_child:
        golden_child(args.modules, args.mutants)
        return 0
    if args.against_child:
        against_child(args.modules, args.mutants, args.sample, args.children,
                      args.against_child)
        return 0
    modules = args.modules or configured_modules()
    if args.all:
        sample = 0 if args.whole else args.sample or 100
        finished = measure(modules, args.budget or 21600, args.children, sample)
        return 0 if finished else 3
    if args.against:  # one process for them all: each test is run unmutated once
        start = time.monotonic()
        kill_with(modules, args.against, args.mutants, args.sample or 0, args.children)
        for module in modules:
            report(module, statuses(module), time.monotonic() - start, True)
        return 0
    if args.golden:  # one process for them all: each case's org is read once
        start = time.monotonic()
        kill_with_golden(modules, args.mutants)
        for module in modules:
            report(module, statuses(module), time.monotonic() - start, True)
        return 0
    for module in modules:
        if args.retest:
            forget_survivors(module)
        start = time.monotonic()
        finished = run(module, args.budget or 1800, args.children)
        report(module, statuses(module), time.monotonic() - start, finished)
    return 0


if __name__ == "__main__":
    sys.exit(main())

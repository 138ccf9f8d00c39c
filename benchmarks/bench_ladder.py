"""The ladder: the benchmark org at 1×, 3× and 10× (10×: 1,000 users, 3,000 sets,
120,000 object and 900,000 field permissions), with a config to match.

For each rung, an emulator process serves the org (seeded once through its raw insert
path and kept under ``--work``, so a second run starts at once) and a fresh process
plans against it, so that rungs never share a peak and the emulator's own work and
memory are not counted as ours. Printed per rung: the config's size and load time,
read calls against the floor (12 queries + one call per 2,000 rows), rows read, local
work (wall time outside waiting for the org, and this process's CPU time outside the
calls, of which parsing what was read), peak RSS, and the saved plan's size. Prints
figures; asserts nothing.

    python benchmarks/bench_ladder.py [--rungs 1,3,10] [--work DIR] [--profile N]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchorg import Shape, Timed, connection, populate, seed, write_config

from reconciler.cli import GC_THRESHOLDS

DRIFT = 5  # sets whose first object permission the org narrows: the plan's work


def main() -> None:
    gc.set_threshold(*GC_THRESHOLDS)  # as the command runs
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rungs", default="1,3,10", help="scale factors, comma-separated")
    parser.add_argument("--work", type=Path, help="keep configs and orgs here across runs")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print the N costliest functions of each rung's local work")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # child: the org
    parser.add_argument("--plan", type=int, help=argparse.SUPPRESS)  # child: one plan
    parser.add_argument("--org", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.work, args.serve)
    elif args.plan is not None:
        print(json.dumps(plan(args.work, args.plan, json.loads(args.org), args.profile)))
    elif args.work is not None:
        ladder(args.work, [int(r) for r in args.rungs.split(",")], args.profile)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            ladder(Path(tmp), [int(r) for r in args.rungs.split(",")], args.profile)


def ladder(work: Path, rungs: list[int], profile: int) -> None:
    rows = []
    for factor in rungs:
        server = subprocess.Popen([sys.executable, __file__, "--work", str(work),
                                   "--serve", str(factor)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            org = json.loads(server.stdout.readline())
            if org.get("seeded"):
                print(f"{factor}×: org seeded with {org['seeded']:,} records in "
                      f"{org['seconds']:.0f} s", file=sys.stderr)
            out = subprocess.run([sys.executable, __file__, "--work", str(work),
                                  "--plan", str(factor), "--org", json.dumps(org),
                                  "--profile", str(profile)],
                                 check=True, stdout=subprocess.PIPE, text=True).stdout
        finally:
            server.communicate("")  # stdin closed: the emulator stops
        rows.append(json.loads(out.splitlines()[-1]))
        print(_table(rows[-1:], header=len(rows) == 1), flush=True)


_COLUMNS = (("rung", "{factor}×"), ("sets", "{sets:,}"), ("rows read", "{rows:,}"),
            ("calls", "{calls}"), ("floor", "{floor}"), ("config", "{config_mb:.0f} MB"),
            ("load", "{load:.1f} s"), ("load CPU", "{load_cpu:.1f} s"),
            ("plan wall", "{wall:.1f} s"),
            ("waiting", "{waiting:.1f} s"), ("local", "{local:.2f} s"),
            ("local CPU", "{local_cpu:.2f} s"), ("of it read", "{read_cpu:.2f} s"),
            ("RSS load", "{rss_load:,.0f} MB"),
            ("RSS peak", "{rss:,.0f} MB"), ("plan file", "{plan_kb:,.0f} kB"),
            ("actions", "{actions}"))


def _table(rows: list[dict[str, Any]], *, header: bool) -> str:
    cells = [[fmt.format(**r) for _, fmt in _COLUMNS] for r in rows]
    widths = [max(len(title), 10) for title, _ in _COLUMNS]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    if header:
        lines.insert(0, "  ".join(t.rjust(w) for (t, _), w in zip(_COLUMNS, widths,
                                                                   strict=True)))
    return "\n".join(lines)


def serve(work: Path, factor: int) -> None:
    """Serve the rung's org until stdin closes; first line out: how to reach it."""
    from reconciler.emulator import start_emulator

    shape = Shape.scaled(factor)
    root = work / f"x{factor}"
    done = root / "org" / "populated"
    with start_emulator(root / "org", seed(shape)) as emu:
        # Salesforce lets a query run two minutes; the emulator's own bound is lower,
        # and its engine is no database: at 10× one read needs longer than that bound.
        emu.set_limits(query_timeout_seconds=120)
        answer: dict[str, Any] = {}
        if not done.exists():
            t0 = time.perf_counter()
            answer = {"seeded": populate(emu.org, shape, drift=DRIFT),
                      "seconds": time.perf_counter() - t0}
            done.touch()
        conn = connection(emu)
        answer |= {"url": conn.login_url, "client_id": conn.client_id,
                   "client_secret": conn.client_secret, "ca_file": str(conn.ca_bundle)}
        print(json.dumps(answer), flush=True)
        sys.stdin.read()


def plan(work: Path, factor: int, org: dict[str, Any], profile: int) -> dict[str, Any]:
    """One plan against the rung's org, measured; the figures as a dict."""
    from reconciler.config import load_config
    from reconciler.org.client import OrgClient
    from reconciler.org.login import Connection
    from reconciler.org.reader import read
    from reconciler.plan import claims_for, plan_from_live
    from reconciler.workflow import org_ref

    shape = Shape.scaled(factor)
    config_dir = work / f"x{factor}" / "config"
    if not (config_dir / "users.yaml").exists():
        config_dir.mkdir(parents=True, exist_ok=True)
        write_config(config_dir, shape)
    t0, cpu0 = time.perf_counter(), time.process_time()
    config = load_config(config_dir)
    load, load_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    rss_load = _peak_mb()
    conn = Connection(login_url=org["url"], flow="client_credentials",
                      client_id=org["client_id"], client_secret=org["client_secret"],
                      ca_bundle=Path(org["ca_file"]))
    with OrgClient(conn) as client:
        client.connect()
        timed = Timed(client)
        profiler = _profiler(profile)
        t0, cpu0 = time.perf_counter(), time.process_time()
        live = read(timed, claims_for(config))  # type: ignore[arg-type]
        read_cpu = time.process_time() - cpu0 - timed.waiting_cpu
        result = plan_from_live(config, live, org=org_ref(timed, "local"))  # type: ignore[arg-type]
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if profiler is not None:
            profiler.disable()
            import pstats

            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(
                profile)
    path = work / f"x{factor}" / "local.plan.json"
    result.save(path)
    return {
        "factor": factor, "sets": shape.sets, "rows": timed.rows, "calls": result.read_calls,
        "floor": 12 + math.ceil(timed.rows / 2000),
        "config_mb": sum(p.stat().st_size for p in config_dir.glob("*.yaml")) / 1e6,
        "load": load, "load_cpu": load_cpu, "wall": wall, "waiting": timed.waiting,
        "local": wall - timed.waiting,
        "local_cpu": cpu - timed.waiting_cpu, "read_cpu": read_cpu, "rss_load": rss_load,
        "rss": _peak_mb(),
        "plan_kb": path.stat().st_size / 1e3, "actions": len(result.actions),
    }


def _profiler(top: int) -> Any:
    if not top:
        return None
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


def _peak_mb() -> float:
    """This process's peak resident set so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()

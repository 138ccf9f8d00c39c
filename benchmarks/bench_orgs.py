"""Many orgs on one machine: ``drift --all-orgs`` over 10, 30 and 100 embedded orgs,
each with its own data directory, sequentially and ``--jobs 4``.

The config is small (a few sets, fields and users, from :mod:`benchorg`) and every org
is seeded with the same access plus one object permission the config doesn't grant,
so each run finds drift. A first run creates the orgs (their seed, their CA); the runs
measured come after it. Printed per run: the wall time, the time and API calls per
org, and the slowest org. The time per org should not grow with the number of orgs.
Prints figures; asserts nothing.

    python benchmarks/bench_orgs.py [--orgs 10,30,100] [--jobs 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from benchorg import Shape, object_name, seed, write_config

SHAPE = Shape(users=3, sets=3, objects=6, fields=12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", default="10,30,100", help="org counts, comma-separated")
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    print(f"{'orgs':>5}  {'run':>10}  {'wall':>8}  {'per org':>8}  {'median':>8}  "
          f"{'slowest':>8}  {'calls/org':>9}  exit")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(n) for n in args.orgs.split(",")):
            root = Path(tmp) / f"orgs{count}"
            make_fleet(root, count)
            for label, jobs in (("first", args.jobs), ("sequential", 1),
                                (f"--jobs {args.jobs}", args.jobs)):
                wall, code, runs = drift_all(root, jobs)
                seconds = [r["seconds"] for r in runs]
                calls = sorted({r["api_calls"] for r in runs})
                print(f"{count:>5}  {label:>10}  {wall:>7.1f}s  {wall / count:>7.2f}s  "
                      f"{statistics.median(seconds):>7.2f}s  {max(seconds):>7.2f}s  "
                      f"{'/'.join(map(str, calls)):>9}  {code}", flush=True)


def make_fleet(root: Path, count: int) -> None:
    """A config declaring ``count`` embedded orgs, and the seed they share."""
    config = root / "config"
    config.mkdir(parents=True)
    write_config(config, SHAPE)
    orgs = {f"org{i:03d}": {"emulator": True, "seed": "../seed.yaml"} for i in range(count)}
    (config / "settings.yaml").write_text(yaml.safe_dump(
        {"settings": {"default_org": "org000"}, "orgs": orgs}, sort_keys=False))
    (root / "seed.yaml").write_text(yaml.safe_dump(org_seed(), sort_keys=False))


def org_seed() -> dict[str, Any]:
    """The config's access, plus delete on the first object in the first set: drift."""
    doc = seed(SHAPE)
    doc["permission_sets"] = [{
        "name": f"INT_Set_{s}", "label": f"Integration set {s}",
        "system_permissions": ["ApiEnabled"],
        "objects": {object_name(o): list(SHAPE.object_words(s, o)) + (
            ["delete"] if s == 0 and o == 0 else []) for o in range(SHAPE.objects)},
        "fields": {SHAPE.field(f): list(SHAPE.field_words(s, f)) for f in range(SHAPE.fields)},
    } for s in range(SHAPE.sets)]
    doc["users"] = [{
        "username": f"integration{u}@bench.example", "first_name": f"Integration{u}",
        "last_name": "User", "email": f"integration{u}@bench.example", "alias": "int",
        "profile": "Standard User",
        "permission_sets": [f"INT_Set_{s}" for s in SHAPE.user_sets(u)],
    } for u in range(SHAPE.users)]
    return doc


def drift_all(root: Path, jobs: int) -> tuple[float, int, list[dict[str, Any]]]:
    """``reconciler drift --all-orgs`` in its own process: wall time, exit code, runs."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "reconciler", "-c", str(root / "config"),
                           "--no-color", "drift", "--all-orgs", "--jobs", str(jobs),
                           "--format", "json"], cwd=root, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    try:
        runs = json.loads(done.stdout)["runs"]
    except (ValueError, KeyError):
        sys.exit(f"drift failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                 f"{done.stderr[-2000:]}")
    failed = [r for r in runs if r["error"]]
    if failed:
        sys.exit(f"{len(failed)} orgs failed, first: {failed[0]['org']}: {failed[0]['error']}")
    return wall, done.returncode, runs


if __name__ == "__main__":
    main()

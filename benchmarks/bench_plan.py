"""Plan benchmark: 100 users, 300 permission sets, 12,000 object and 90,000 field permissions.

Generates a config and an emulated org holding the same access (with a few
differences so the plan has work to show), then plans through HTTPS and prints the
API calls, the rows read, the wall time, and the time spent outside waiting for the
org. Prints figures; asserts nothing.

    python benchmarks/bench_plan.py [--users 100] [--sets 300] [--objects 40] [--fields 300]
                                    [--access]
"""

from __future__ import annotations

import argparse
import gc
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from benchorg import Shape, Timed, connection, populate, seed, write_config

from reconciler.cli import GC_THRESHOLDS
from reconciler.config import load_config
from reconciler.emulator import start_emulator
from reconciler.org.client import OrgClient
from reconciler.workflow import make_plan


def main() -> None:
    gc.set_threshold(*GC_THRESHOLDS)  # as the command runs
    parser = argparse.ArgumentParser(description=__doc__)
    Shape.add_arguments(parser)
    parser.add_argument("--drift", type=int, default=5)
    parser.add_argument("--access", action="store_true",
                        help="also time `access`: every user's effective access, and --who")
    args = parser.parse_args()
    shape = Shape.from_args(args)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        write_config(root / "config", shape)
        t0 = time.perf_counter()
        config = load_config(root / "config")
        print(f"config: {shape.sets} sets × {shape.objects} objects × {shape.fields} fields, "
              f"{shape.users} users; loaded in {time.perf_counter() - t0:.2f} s")
        with start_emulator(root / "org", seed(shape)) as emu:
            t0 = time.perf_counter()
            rows = populate(emu.org, shape, drift=args.drift)
            print(f"org: {rows:,} records written directly in {time.perf_counter() - t0:.1f} s")
            with OrgClient(connection(emu)) as client:
                client.connect()
                timed = Timed(client)
                t0 = time.perf_counter()
                plan = make_plan(config, timed, org_name="local")  # type: ignore[arg-type]
                wall = time.perf_counter() - t0
                waited, read_rows = timed.waiting, timed.rows
                if args.access:
                    access_figures(config, timed)
        pages = math.ceil(read_rows / 2000)
        add, change, remove = plan.counts()
        print(f"plan: {plan.read_calls} API calls to read (target ≤ 12 + {pages} pages of "
              f"2,000 = {12 + pages}), {read_rows:,} rows read")
        print(f"plan: wall {wall:.2f} s, of which waiting for the org {waited:.2f} s, "
              f"local work {wall - waited:.2f} s (target < 3 s)")
        print(f"plan: {add} to add, {change} to change, {remove} to remove, "
              f"~{plan.apply_calls} write calls to apply")


def access_figures(config: Any, timed: Timed) -> None:
    """Read what effective access needs for every user of the config, then answer for
    each user and one --who."""
    from reconciler.access import effective, holders, parse_right
    from reconciler.org.access_read import read_access
    from reconciler.plan import claims_for

    rows, waiting = timed.rows, timed.waiting
    t0 = time.perf_counter()
    org = read_access(timed, claims_for(config), {u.profile for u in config.users.values()},
                      config.users)
    read_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    rights = sum(len(g) for u in org.scope for g in effective(org, u).objects.values())
    who = holders(org, parse_right("Account:delete"))
    answer = time.perf_counter() - t0
    print(f"access: {org.api_calls} API calls to read, {timed.rows - rows:,} rows, wall "
          f"{read_wall:.2f} s (waiting for the org {timed.waiting - waiting:.2f} s)")
    print(f"access: {len(org.scope)} users' effective access ({rights:,} object rights with "
          f"their paths) and --who Account:delete ({len(who)} holders) in {answer:.2f} s")


if __name__ == "__main__":
    main()

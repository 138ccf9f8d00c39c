"""Apply benchmark: the benchmark config applied to an empty org, through HTTPS.

The org holds only the config's custom objects and fields; apply creates the 300
permission sets, 12,000 object and 90,000 field permissions, 100 users and their
assignments. Prints the write calls by transport, the records written, the wall time,
the CPU time (the client and the emulator share the process, so on a busy machine CPU
is the steadier figure), and the size of the plan made right after (0 when the org
converged). The client's own CPU time is the main thread's: the emulator serves each
request, and runs its ingest jobs, in threads of its own. With ``--profile`` the
emulator's request handling runs under cProfile, with ``--profile-client`` the client
(the main thread), and the heaviest functions are printed. Prints figures; asserts
nothing.

    python benchmarks/bench_apply.py [--users 100] [--sets 300] [--objects 40]
                                     [--fields 300] [--profile | --profile-client]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchorg import Shape, seed, write_config

from reconciler.apply import apply_plan
from reconciler.config import load_config
from reconciler.emulator import Emulator, start_emulator
from reconciler.org.client import OrgClient
from reconciler.org.login import Connection
from reconciler.org.reader import read
from reconciler.org.writer import Writer
from reconciler.plan import OrgRef, claims_for, plan_from_live


def profiled(emu: Emulator, profile: cProfile.Profile) -> None:
    """Run every request the emulator serves under ``profile`` (apply sends one request
    at a time, so one profile sees them all in turn)."""
    handle: Callable[[str, str, Mapping[str, str], bytes], Any] = emu.handle

    def measured(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Any:
        profile.enable()
        try:
            return handle(method, target, headers, body)
        finally:
            profile.disable()

    emu.handle = measured  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--sets", type=int, default=300)
    parser.add_argument("--objects", type=int, default=40)
    parser.add_argument("--fields", type=int, default=300)
    parser.add_argument("--profile", action="store_true",
                        help="profile the emulator's request handling (slower)")
    parser.add_argument("--profile-client", action="store_true",
                        help="profile the client: apply's own thread (slower)")
    args = parser.parse_args()
    shape = Shape(args.users, args.sets, args.objects, args.fields)
    profile = cProfile.Profile() if args.profile else None
    client_profile = cProfile.Profile() if args.profile_client else None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        write_config(root / "config", shape)
        config = load_config(root / "config")
        with start_emulator(root / "org", seed(shape)) as emu:
            creds = emu.credentials()
            conn = Connection(login_url=emu.url, flow="client_credentials",
                              client_id=creds["client_id"],
                              client_secret=creds["client_secret"], ca_bundle=emu.ca_file)
            with OrgClient(conn) as client:
                client.connect()
                ref = OrgRef("local", client.org_id, client.instance_url, client.username)
                before = client.calls
                live = read(client, claims_for(config))
                reads = client.calls - before
                plan = plan_from_live(config, live, org=ref)
                writer = Writer(client, live)
                if profile is not None:
                    profiled(emu, profile)
                t0, cpu0, own0 = time.perf_counter(), time.process_time(), time.thread_time()
                if client_profile is not None:
                    client_profile.enable()  # this thread only: the emulator's are not
                result = apply_plan(plan, writer, live, journal_path=root / "journal.json")
                if client_profile is not None:
                    client_profile.disable()
                wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                own = time.thread_time() - own0
                if profile is not None:
                    del emu.handle  # the class's own again
                again = plan_from_live(config, read(client, claims_for(config)), org=ref)
    planned = ", ".join(f"{n} {name}" for name, n in plan.apply_transports)
    sent = ", ".join(f"{n} {name}" for name, n in writer.calls_by_transport.items())
    print(f"config: {shape.sets} sets × {shape.objects} objects × {shape.fields} fields, "
          f"{shape.users} users: {len(plan.actions):,} actions in {len(plan.layers)} layers")
    print(f"apply: {result.write_calls} write calls ({sent}); planned ~{plan.apply_calls} "
          f"({planned}); with the {reads} read calls of its plan, "
          f"{reads + result.write_calls} calls")
    print(f"apply: {result.records_written:,} records written, wall {wall:.1f} s, CPU "
          f"{cpu:.1f} s (client and emulator: one process), of it the client {own:.1f} s, "
          f"ok={result.ok}")
    print(f"next plan: {len(again.actions)} actions")
    for measured in (profile, client_profile):
        if measured is not None:
            out = io.StringIO()
            pstats.Stats(measured, stream=out).sort_stats("tottime").print_stats(25)
            print(out.getvalue())


if __name__ == "__main__":
    main()

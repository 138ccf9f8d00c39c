"""Apply benchmark: the benchmark config applied to an empty org, through HTTPS.

The org holds only the config's custom objects and fields; apply creates the 300
permission sets, 12,000 object and 90,000 field permissions, 100 users and their
assignments. Prints the write calls by transport, the records written, the wall time,
the CPU time (the client and the emulator share the process, so on a busy machine CPU
is the steadier figure), and the size of the plan made right after (0 when the org
converged). The client's own CPU time is the main thread's: the emulator serves each
request, and runs its ingest jobs, in threads of its own. With ``--separate`` the
org is served by a process of its own, as a real org is elsewhere: the client's work
and the org's no longer share one interpreter, and each process's CPU is printed. With
``--profile`` the emulator's request handling runs under cProfile, with
``--profile-client`` the client (the main thread), and the heaviest functions are
printed. The garbage collector runs with the command's thresholds
(``cli.GC_THRESHOLDS``), in both processes. Prints figures; asserts nothing.

    python benchmarks/bench_apply.py [--users 100] [--sets 300] [--objects 40]
                                     [--fields 300] [--separate]
                                     [--profile | --profile-client]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchorg import Shape, connection, seed, write_config

from reconciler.apply import apply_plan
from reconciler.cli import GC_THRESHOLDS
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
    gc.set_threshold(*GC_THRESHOLDS)  # as the command runs, and a local org it serves
    parser = argparse.ArgumentParser(description=__doc__)
    Shape.add_arguments(parser)
    parser.add_argument("--separate", action="store_true",
                        help="serve the org from a process of its own")
    parser.add_argument("--profile", action="store_true",
                        help="profile the emulator's request handling (slower)")
    parser.add_argument("--profile-client", action="store_true",
                        help="profile the client: apply's own thread (slower)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # child: the org
    args = parser.parse_args()
    shape = Shape.from_args(args)
    if args.serve is not None:
        serve(args.serve, shape)
        return
    if args.separate and args.profile:
        parser.error("--profile profiles an emulator served in this process")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        write_config(root / "config", shape)
        config = load_config(root / "config")
        server = (separate(root / "org", sys.argv[1:]) if args.separate
                  else in_process(root / "org", shape))
        with server as org:
            run(config, shape, org, root, args)


@contextmanager
def in_process(path: Path, shape: Shape) -> Iterator[dict[str, Any]]:
    with start_emulator(path, seed(shape)) as emu:
        yield {"conn": connection(emu), "emu": emu}


@contextmanager
def separate(path: Path, argv: list[str]) -> Iterator[dict[str, Any]]:
    """The org served by a child process; ``cpu()`` asks it for its CPU time so far."""
    child = subprocess.Popen([sys.executable, __file__, *argv, "--serve", str(path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    stdin, stdout = child.stdin, child.stdout

    def cpu() -> float:
        stdin.write("cpu\n")
        stdin.flush()
        return float(stdout.readline())

    try:
        answer = json.loads(stdout.readline())
        conn = Connection(login_url=answer["url"], flow="client_credentials",
                          client_id=answer["client_id"], client_secret=answer["client_secret"],
                          ca_bundle=answer["ca_file"])
        yield {"conn": conn, "cpu": cpu}
    finally:
        child.communicate("")  # stdin closed: the emulator stops


def serve(path: Path, shape: Shape) -> None:
    """Serve the benchmark's empty org until stdin closes; first line out: how to reach
    it; then this process's CPU time for each line in."""
    with start_emulator(path, seed(shape)) as emu:
        conn = connection(emu)
        print(json.dumps({"url": conn.login_url, "client_id": conn.client_id,
                          "client_secret": conn.client_secret,
                          "ca_file": str(conn.ca_bundle)}), flush=True)
        for _ in sys.stdin:
            print(time.process_time(), flush=True)


# long: one measured apply and the figures it prints, in order
def run(config: Any, shape: Shape, org: dict[str, Any], root: Path,
        args: argparse.Namespace) -> None:
    emu: Emulator | None = org.get("emu")
    profile = cProfile.Profile() if args.profile else None
    client_profile = cProfile.Profile() if args.profile_client else None
    with OrgClient(org["conn"]) as client:
        client.connect()
        ref = OrgRef("local", client.org_id, client.instance_url, client.username)
        before = client.calls
        live = read(client, claims_for(config))
        reads = client.calls - before
        plan_cpu = time.process_time()
        plan = plan_from_live(config, live, org=ref)
        plan_cpu = time.process_time() - plan_cpu
        writer = Writer(client, live)
        if profile is not None and emu is not None:
            profiled(emu, profile)
        org_cpu0 = org["cpu"]() if "cpu" in org else 0.0
        t0, cpu0, own0 = time.perf_counter(), time.process_time(), time.thread_time()
        if client_profile is not None:
            client_profile.enable()  # this thread only: the emulator's are not
        result = apply_plan(plan, writer, live, journal_path=root / "journal.json")
        if client_profile is not None:
            client_profile.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        own = time.thread_time() - own0
        org_cpu = org["cpu"]() - org_cpu0 if "cpu" in org else 0.0
        if profile is not None and emu is not None:
            del emu.handle  # the class's own again
        again = plan_from_live(config, read(client, claims_for(config)), org=ref)
    planned = ", ".join(f"{n} {name}" for name, n in plan.apply_transports)
    sent = ", ".join(f"{n} {name}" for name, n in writer.calls_by_transport.items())
    print(f"config: {shape.sets} sets × {shape.objects} objects × {shape.fields} fields, "
          f"{shape.users} users: {len(plan.actions):,} actions in {len(plan.layers)} layers, "
          f"planned in {plan_cpu:.1f} s of CPU")
    print(f"apply: {result.write_calls} write calls ({sent}); planned ~{plan.apply_calls} "
          f"({planned}); with the {reads} read calls of its plan, "
          f"{reads + result.write_calls} calls")
    where = (f"CPU {cpu:.1f} s in the client's process, {org_cpu:.1f} s in the org's"
             if "cpu" in org else
             f"CPU {cpu:.1f} s (client and emulator: one process), of it the client "
             f"{own:.1f} s")
    print(f"apply: {result.records_written:,} records written, wall {wall:.1f} s, {where}, "
          f"ok={result.ok}")
    print(f"journal: {(root / 'journal.json').stat().st_size / 1e6:.1f} MB; "
          f"next plan: {len(again.actions)} actions")
    for measured in (profile, client_profile):
        if measured is not None:
            out = io.StringIO()
            pstats.Stats(measured, stream=out).sort_stats("tottime").print_stats(25)
            print(out.getvalue())


if __name__ == "__main__":
    main()

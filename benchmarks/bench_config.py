"""How long loading a large config takes.

Generates 300 permission sets × 40 objects × 300 fields, 10 groups and 100 users
(split over several files, as a real config of that size would be), then times
``load_config`` end to end: reading, YAML parsing, validation, model building and
cross-checks. The aim is under 2 s on a 2-core machine.

    /work/venv/bin/python benchmarks/bench_config.py [--sets 300] [--objects 40]
        [--fields 300] [--users 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

from reconciler.cli import GC_THRESHOLDS
from reconciler.config import load_config

_OBJECT_WORDS = ("[read]", "[read, create, edit]", "[read, edit, delete]", "[modify_all]")
_STANDARD = ("Account", "Contact", "Opportunity", "Case", "Lead")


def generate(root: Path, sets: int, objects: int, fields: int, users: int) -> int:
    """Write the config under ``root``; returns its size in bytes."""
    size = 0
    per_file = 25
    for start in range(0, sets, per_file):
        lines = ["permission_sets:"]
        for s in range(start, min(start + per_file, sets)):
            lines.append(f"  INT_Set_{s}:")
            lines.append(f"    label: Integration set {s}")
            lines.append(f"    description: Generated set number {s}")
            lines.append("    system_permissions: [ApiEnabled]")
            lines.append("    objects:")
            names = [_object(o) for o in range(objects)]
            for o, name in enumerate(names):
                lines.append(f"      {name}: {_OBJECT_WORDS[(s + o) % len(_OBJECT_WORDS)]}")
            lines.append("    fields:")
            for f in range(fields):
                obj = names[f % objects]
                words = "[read, edit]" if (s + f) % 3 else "[read]"
                lines.append(f"      {obj}.Field_{f}__c: {words}")
        size += _write(root / f"sets_{start // per_file:02d}.yaml", lines)
    lines = ["permission_set_groups:"]
    for g in range(10):
        members = ", ".join(f"INT_Set_{(g * 7 + k) % sets}" for k in range(5))
        lines.append(f"  INT_Group_{g}:")
        lines.append(f"    label: Group {g}")
        lines.append(f"    permission_sets: [{members}]")
    lines.append("users:")
    for u in range(users):
        assigned = ", ".join(f"INT_Set_{(u * 3 + k) % sets}" for k in range(3))
        lines += [
            f"  user_{u}:",
            f"    username: integration{u}@example.com.${{var.env}}",
            f"    first_name: Integration{u}",
            "    last_name: User",
            f"    email: integration{u}@example.com",
            "    profile: Standard User",
            f"    permission_sets: [{assigned}]",
            f"    permission_set_groups: [INT_Group_{u % 10}]",
        ]
    lines += ["variables:", "  env: {default: dev}"]
    size += _write(root / "users.yaml", lines)
    return size


def _object(index: int) -> str:
    if index < len(_STANDARD):
        return _STANDARD[index]
    return f"Object_{index}__c"


def _write(path: Path, lines: list[str]) -> int:
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    gc.set_threshold(*GC_THRESHOLDS)  # as the command runs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=300)
    parser.add_argument("--objects", type=int, default=40)
    parser.add_argument("--fields", type=int, default=300)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        size = generate(root, args.sets, args.objects, args.fields, args.users)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            config = load_config(root)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        digest = config.digest
        digest_time = time.perf_counter() - start
    fields = sum(len(p.fields) for p in config.permission_sets.values())
    print(f"config: {len(config.permission_sets)} permission sets, {fields} field permissions, "
          f"{len(config.users)} users; {size / 1e6:.1f} MB in {len(config.files)} files")
    print(f"load_config: best {min(times):.2f} s, median {statistics.median(times):.2f} s "
          f"over {args.runs} runs; digest {digest[:12]}… in {digest_time:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

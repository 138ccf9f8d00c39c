"""Emulator benchmark: paging through 100,000 FieldPermissions rows, and create latency.

Prints figures; asserts nothing. Run: python benchmarks/bench_emulator.py [--rows N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import requests
from simple_salesforce import Salesforce

from reconciler.emulator import start_emulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--creates", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, start_emulator(Path(tmp) / "org") as emu:
        org = emu.org
        admin_id = org.where("User", Username=emu.credentials()["username"])[0]["Id"]
        fields = [f"{s.name}.{f.name}" for s in org.catalog for f in s if f.permissionable]
        t0 = time.perf_counter()
        sets = [org.create("PermissionSet", {"Name": f"Bench_{i}", "Label": f"Bench {i}"},
                           admin_id)["Id"] for i in range(args.rows // len(fields) + 1)]
        rows = ({"ParentId": sets[i // len(fields)], "SobjectType": fields[i % len(fields)]
                 .split(".")[0], "Field": fields[i % len(fields)], "PermissionsRead": True,
                 "PermissionsEdit": False} for i in range(args.rows))
        with org.lock, org.store.transaction():
            for row in rows:
                org.insert_raw("FieldPermissions", row, admin_id)
        print(f"seeded {args.rows:,} FieldPermissions in {time.perf_counter() - t0:.2f} s")

        session = requests.Session()
        session.trust_env = False
        session.verify = str(emu.ca_file)
        creds = emu.credentials()
        token = session.post(f"{emu.url}/services/oauth2/token",
                             data={"grant_type": "client_credentials"},
                             auth=(creds["client_id"], creds["client_secret"])).json()
        sf = Salesforce(instance_url=emu.url, session_id=token["access_token"],
                        session=session, version="62.0")

        page_times = []
        t0 = time.perf_counter()
        t_page = time.perf_counter()
        result = sf.query("SELECT Id, ParentId, Field, PermissionsRead, PermissionsEdit, "
                          "Parent.Name FROM FieldPermissions WHERE Parent.IsOwnedByProfile "
                          "= false")
        first = time.perf_counter() - t_page
        seen = len(result["records"])
        while not result["done"]:
            t_page = time.perf_counter()
            result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
            page_times.append(time.perf_counter() - t_page)
            seen += len(result["records"])
        total = time.perf_counter() - t0
        print(f"paged {seen:,} rows in {total:.2f} s "
              f"({len(page_times) + 1} pages; first page incl. query {first * 1000:.0f} ms; "
              f"next pages median {statistics.median(page_times) * 1000:.1f} ms, "
              f"max {max(page_times) * 1000:.1f} ms)")

        latencies = []
        for i in range(args.creates):
            t = time.perf_counter()
            sf.Account.create({"Name": f"Bench Account {i}"})
            latencies.append(time.perf_counter() - t)
        print(f"single-record create: median {statistics.median(latencies) * 1000:.1f} ms, "
              f"p95 {sorted(latencies)[int(len(latencies) * 0.95)] * 1000:.1f} ms "
              f"over {args.creates} creates")
        print(f"API calls counted by the org: {emu.stats()['api_calls']}")


if __name__ == "__main__":
    main()

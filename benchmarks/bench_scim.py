"""SCIM throughput of the emulator through the real SDK: list, get and PATCH requests per second,
and a full listing of 10,000 users with the SDK's default paging.

    python -m benchmarks.bench_scim [--users 10000] [--gets 500] [--patches 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from databricks.sdk.service import iam

from scimkit.emulator import start

from .synthetic_seed import write_users_seed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--patches", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seed = write_users_seed(Path(tmp) / "seed", users=args.users)
        began = time.perf_counter()
        with start(seed_dir=seed) as emu:
            print(f"seeded {args.users} users + 100 groups in {time.perf_counter() - began:.2f} s")
            a = emu.account_client()
            emu.reset()
            emu.app.faults.reset_stats()

            began = time.perf_counter()
            users = list(a.users.list(attributes="id,userName"))
            elapsed = time.perf_counter() - began
            pages = emu.stats()["requests"]["scim-list"]
            print(f"list: {len(users)} users in {pages} pages, {elapsed:.2f} s "
                  f"({pages / elapsed:.0f} list requests/s, {len(users) / elapsed:.0f} users/s)")
            assert len(users) == args.users

            began = time.perf_counter()
            users_v2 = list(a.users_v2.list())
            elapsed = time.perf_counter() - began
            print(f"list (users_v2, all attributes): {len(users_v2)} users in {elapsed:.2f} s")

            ids = [u.id for u in users[: args.gets]]
            began = time.perf_counter()
            for user_id in ids:
                a.users.get(user_id)
            elapsed = time.perf_counter() - began
            print(f"get: {len(ids)} requests in {elapsed:.2f} s ({len(ids) / elapsed:.0f} requests/s)")

            group_ids = [g.id for g in a.groups.list(attributes="id")]
            began = time.perf_counter()
            for i in range(args.patches):
                a.groups.patch(group_ids[i % len(group_ids)], operations=[
                    iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": users[i].id}])])
            elapsed = time.perf_counter() - began
            print(f"patch: {args.patches} requests in {elapsed:.2f} s ({args.patches / elapsed:.0f} requests/s)")


if __name__ == "__main__":
    main()

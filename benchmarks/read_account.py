"""Reading a whole account against the API's rate limits: scimkit's full snapshot, the naive loop a
user would write with the plain SDK, and the floor the rate limits set, in one process and one run.

    python -m benchmarks.read_account --users 300 --groups 100 --securables 400 --latency-ms 20 --speed 1

One emulator (`scimkit.emulator.start(rate_limits=True, speed=S, latency_ms=L)`, in this process)
is seeded with the synthetic account of benchmarks/synthetic_account.py (benchmarks.synthetic_seed
.write_account_seed). Between runs POST /_scimkit/reset reseeds it and zeroes its counters; after each
run GET /_scimkit/stats gives the requests per rate-limit class (429s counted apart).

* scimkit: `scimkit.snapshot(connect(emulator=emu, rate_scale=S), workers=W)`.
* naive: the plain SDK, sequentially: list users, service principals and groups, GET each group,
  list each level of the securable tree (catalogs, schemas, tables, volumes, functions, external
  locations, storage credentials), GET the grants of each securable. The SDK's own retries absorb 429s.
* floor: per rate-limit class, the fewer successful requests of the two runs (both read everything)
  divided by the class's rate (x speed); classes run at once, so the floor is the slowest class.

Peak memory is the process's peak RSS during a run (VmHWM reset before it), the emulator's share
included (it runs in this process). Prints a table and one JSON line; the JSON goes to
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.analysis import load, peak_mb, reset_peak
from benchmarks.synthetic_seed import write_account_seed
from scimkit.emulator.faults import RATE_LIMIT_CLASSES

RESULTS = Path(__file__).resolve().parent / "results"


def _call(emu: Any, method: str, path: str) -> dict[str, Any]:
    request = urllib.request.Request(emu.host + path, method=method,
                                     headers={"Authorization": f"Bearer {emu.token}"})
    if method == "POST":
        request.data = b"{}"
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read() or b"{}")


def naive_read(emu: Any) -> dict[str, int]:
    """What a user writes with the plain SDK: everything, one request after the other."""
    a, w = emu.account_client(retry_timeout_seconds=600), emu.workspace_client(retry_timeout_seconds=600)
    users = list(a.users.list())
    sps = list(a.service_principals.list())
    groups = list(a.groups.list(attributes="id,displayName"))
    members = sum(len(a.groups.get(g.id).members or []) for g in groups)
    summary = w.metastores.summary()
    securables: list[tuple[str, str]] = [("metastore", summary.metastore_id)]
    securables += [("storage_credential", c.name) for c in w.storage_credentials.list()]
    securables += [("external_location", x.name) for x in w.external_locations.list()]
    for c in w.catalogs.list():
        securables.append(("catalog", c.name))
        for s in w.schemas.list(catalog_name=c.name):
            securables.append(("schema", s.full_name))
            securables += [("table", t.full_name) for t in w.tables.list(catalog_name=c.name, schema_name=s.name)]
            securables += [("volume", v.full_name) for v in w.volumes.list(catalog_name=c.name, schema_name=s.name)]
            securables += [("function", f.full_name)
                           for f in w.functions.list(catalog_name=c.name, schema_name=s.name)]
    grants = 0
    for kind, name in securables:
        grants += sum(len(p.privileges or []) for p in (w.grants.get(kind, name).privilege_assignments or []))
    return {"users": len(users), "service_principals": len(sps), "groups": len(groups), "memberships": members,
            "securables": len(securables), "privileges": grants}


def scimkit_read(emu: Any, speed: float, workers: int) -> dict[str, int]:
    from scimkit import connect, snapshot

    snap = snapshot(connect(emulator=emu, rate_scale=speed), workers=workers, progress=False)
    return {"users": len(snap.users), "service_principals": len(snap.service_principals),
            "groups": len(snap.groups), "memberships": len(snap.memberships), "securables": len(snap.securables),
            "privileges": len(snap.grants), "completeness_rows": len(snap.completeness)}


def _timed(emu: Any, name: str, fn: Any) -> dict[str, Any]:
    _call(emu, "POST", "/_scimkit/reset")
    reset_peak()
    load_before = load()
    t0 = time.perf_counter()
    counts = fn()
    seconds = time.perf_counter() - t0
    stats = _call(emu, "GET", "/_scimkit/stats")
    print(f"  {name:8s} {seconds:8.2f} s  (load {load_before} -> {load()})", flush=True)
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb()), "load_before": load_before,
            "load_after": load(), "read": counts, "requests": stats["requests"], "throttled": stats["throttled"],
            "faulted": stats["faulted"], "total_requests": stats["total"]}


def floor(runs: dict[str, dict[str, Any]], speed: float) -> dict[str, Any]:
    """Seconds each rate-limit class needs at its documented rate for the fewer successful requests of
    the runs; the floor is the slowest class (classes overlap)."""
    classes: dict[str, Any] = {}
    for rate_class, (count, per, scope) in RATE_LIMIT_CLASSES.items():
        done = [r["requests"].get(rate_class, 0) - r["throttled"].get(rate_class, 0) - r["faulted"].get(rate_class, 0)
                for r in runs.values()]
        need = min(done)
        if need:
            rate = count / per * speed
            classes[rate_class] = {"requests": need, "rate_per_s": rate, "scope": scope,
                                   "seconds": round(need / rate, 2)}
    slowest = max(classes, key=lambda c: classes[c]["seconds"]) if classes else None
    return {"seconds": classes[slowest]["seconds"] if slowest else 0.0, "bound_by": slowest, "classes": classes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--securables", type=int, default=2_000)
    parser.add_argument("--grants", type=int, default=None, help="default: 2.5 per securable")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--speed", type=float, default=1.0, help="the emulator's rate-limit scale (and the client's)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--skip-naive", action="store_true", help="only scimkit (the naive loop is slow at scale)")
    parser.add_argument("--label", default="")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)

    from scimkit.emulator import start

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        seed = write_account_seed(Path(tmp) / "seed", users=args.users, groups=args.groups,
                                  securables=args.securables, grants=args.grants)
        counts = json.loads((seed / "manifest.json").read_text())["counts"]
        print(f"seed: {counts} ({time.perf_counter() - t0:.1f} s)")
        with start(seed_dir=seed, rate_limits=True, speed=args.speed, latency_ms=args.latency_ms) as emu:
            runs = {"scimkit": _timed(emu, "scimkit", lambda: scimkit_read(emu, args.speed, args.workers))}
            if not args.skip_naive:
                runs["naive"] = _timed(emu, "naive", lambda: naive_read(emu))
    fl = floor(runs, args.speed)
    ratios = {"scimkit_over_floor": round(runs["scimkit"]["seconds"] / fl["seconds"], 2) if fl["seconds"] else None}
    if "naive" in runs:
        ratios["naive_over_scimkit"] = round(runs["naive"]["seconds"] / runs["scimkit"]["seconds"], 2)
    result = {
        "benchmark": "read_account", "label": args.label,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "size": {"users": args.users, "groups": args.groups, "securables": args.securables, "seed": counts},
        "latency_ms": args.latency_ms, "speed": args.speed, "workers": args.workers,
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "runs": runs, "floor": fl, "ratios": ratios,
    }
    classes = sorted(({c for r in runs.values() for c in r["requests"]} | set(fl["classes"])) - {"meta"})
    print()
    head = f"{'':22s}" + "".join(f"{name:>14s}" for name in runs) + f"{'floor':>14s}"
    print(head)
    for c in classes:
        cells = "".join(f"{r['requests'].get(c, 0):>9,d} ({r['throttled'].get(c, 0):>2d})" for r in runs.values())
        f = fl["classes"].get(c)
        need = f"{f['seconds']:.2f} s" if f else ""
        print(f"{'requests ' + c:22s}{cells}{need:>14s}")
    print(f"{'wall s':22s}" + "".join(f"{r['seconds']:>14.2f}" for r in runs.values()) + f"{fl['seconds']:>14.2f}")
    print(f"{'peak RSS MB':22s}" + "".join(f"{r['peak_rss_mb']:>14,d}" for r in runs.values()))
    print(f"{'load before':22s}" + "".join(f"{r['load_before']:>16s}" for r in runs.values()))
    print(f"floor bound by {fl['bound_by']}; ratios: {ratios}  (requests column: total (429s))")
    print(json.dumps(result))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = RESULTS / f"read_account-{stamp}-u{args.users}{'-' + args.label if args.label else ''}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

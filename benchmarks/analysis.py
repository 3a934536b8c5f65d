"""Time and peak memory of the analysis of a large account, step by step, from the read records on:
snapshot build (`scimkit.snapshot.build_snapshot`), effective access (owners and usability), the
permission matrix, `compliance.evaluate` and the HTML report (with the heatmap).

    python -m benchmarks.analysis [--users 10000 --groups 5000 --securables 20000 --grants 50000]
                                  [--profile evaluate|build|all] [--label before]

The synthetic account is benchmarks/synthetic_account.py (10,000 users, 5,000 groups nested 10 deep,
20,000 securables, 50,000 grants by default), turned into the typed records the readers return
(IdentityRead, CatalogRead) before the clock starts. Peak memory is the process's peak resident set
(VmHWM), reset after the records are built, so it counts what the analysis itself adds on top of
the records, as a notebook that has just read the account would see it. Targets (issue 12): build +
effective access + matrix + evaluate under 20 s and 2 GB; the report under 5 s more. The effective
access step asks for the account-wide usability frame with categorical text columns
(`Access.usable(level="schema", categorical=True)`; runs before 2026-12-03T13:40Z asked for object
strings, which cost ~8 s and ~1.5 GB more on this account).
Each run writes a JSON file to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.synthetic_account import ACCOUNT_ID, SNAPSHOT_TIME, synthetic_account
from scimkit.catalog import CatalogRead, GrantRecord, MetastoreRecord, SecurableRecord
from scimkit.identities import (
    GroupRecord,
    IdentityRead,
    MemberRef,
    ServicePrincipalRecord,
    UserRecord,
    WorkspaceRecord,
)

RESULTS = Path(__file__).resolve().parent / "results"
ANALYSIS_STEPS = ("build_snapshot", "effective_access", "matrix", "evaluate")


# -- memory -----------------------------------------------------------------------------------------


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux: clear_refs 5)."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_mb() -> float:
    return _status_mb("VmHWM")


def rss_mb() -> float:
    return _status_mb("VmRSS")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# -- records ------------------------------------------------------------------------------------------


def records(tables: dict[str, pd.DataFrame]) -> tuple[IdentityRead, CatalogRead]:
    """The synthetic tables as the typed records the readers return (not timed)."""
    u, s, g, m = tables["users"], tables["service_principals"], tables["groups"], tables["memberships"]
    users = [
        UserRecord(uid, name, display, bool(active), ext, ("account_admin",) if admin else ())
        for uid, name, display, active, ext, admin in zip(
            u["user_id"], u["user_name"], u["display_name"], u["active"], u["external_id"], u["is_account_admin"], strict=False
        )
    ]
    sps = [
        ServicePrincipalRecord(sid, app, display, bool(active), ext)
        for sid, app, display, active, ext in zip(
            s["sp_id"], s["application_id"], s["display_name"], s["active"], s["external_id"], strict=False
        )
    ]
    ids = {
        **dict(zip(u["user_name"], u["user_id"], strict=False)),
        **dict(zip(s["application_id"], s["sp_id"], strict=False)),
        **dict(zip(g["group_name"], g["group_id"], strict=False)),
    }
    members: dict[str, list[MemberRef]] = {}
    for group, kind, name in zip(m["group_name"], m["member_type"], m["member_name"], strict=False):
        members.setdefault(group, []).append(MemberRef(ids[name], kind, name))
    groups = [
        GroupRecord(gid, name, ext, tuple(members.get(name, ())))
        for gid, name, ext in zip(g["group_id"], g["group_name"], g["external_id"], strict=False)
    ]
    identity = IdentityRead(
        users=users,
        service_principals=sps,
        groups=groups,
        workspaces=[WorkspaceRecord(1001, "bench-workspace", "bench", "RUNNING")],
    )
    sec, gr = tables["securables"], tables["grants"]
    securables = [
        SecurableRecord(*row)
        for row in zip(
            sec["metastore_id"], sec["securable_type"], sec["full_name"], sec["parent_full_name"],
            sec["catalog_name"], sec["schema_name"], sec["owner"], sec["kind"], strict=False,
        )
    ]
    grants = [
        GrantRecord(*row)
        for row in zip(gr["metastore_id"], gr["securable_type"], gr["full_name"], gr["principal"], gr["privilege"], strict=False)
    ]
    metastore = securables[0].metastore_id
    catalog = CatalogRead(
        metastores=[MetastoreRecord(metastore, "bench", None, "us-east-1", (1001,), 1001)],
        securables=securables,
        grants=grants,
    )
    return identity, catalog


# -- steps ---------------------------------------------------------------------------------------------


def run_steps(identity: IdentityRead, catalog: CatalogRead, profile: str | None,
              until: str = "report") -> dict[str, Any]:
    from scimkit import compliance
    from scimkit.access import Access
    from scimkit.matrix import permission_matrix
    from scimkit.report import heatmap_png, render_html
    from scimkit.snapshot import build_snapshot

    out: dict[str, Any] = {}
    state: dict[str, Any] = {}
    profiles: dict[str, str] = {}

    def build() -> None:
        state["snap"] = build_snapshot(identity, catalog, ACCOUNT_ID, SNAPSHOT_TIME)

    def effective_access() -> None:
        acc = Access(state["snap"])
        state["owners"] = acc.owners
        state["usable"] = acc.usable(level="schema", categorical=True)  # account-wide: categoricals

    def matrix() -> None:
        state["matrix"] = permission_matrix(state["snap"], level="catalog", mode="effective")

    def evaluate() -> None:
        state["findings"] = compliance.evaluate(state["snap"])

    def report() -> None:
        snap = state["snap"]
        state["html"] = render_html(
            state["findings"], account_id=snap.account_id, snapshot_time=snap.snapshot_time,
            heatmap_png=heatmap_png(snap), completeness=snap.completeness,
        )

    steps = {"build_snapshot": build, "effective_access": effective_access, "matrix": matrix,
             "evaluate": evaluate, "report": report}
    names = list(steps)
    for name in names[: names.index(until) + 1]:
        fn = steps[name]
        before_mb = rss_mb()
        profiler = cProfile.Profile() if profile in (name, "all") else None
        t0, c0 = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        fn()
        if profiler:
            profiler.disable()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        # CPU seconds beside wall seconds: on a shared machine (load above the core count) the wall
        # time includes waiting for a core; the CPU time is what the step itself costs.
        out[name] = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "rss_before_mb": round(before_mb),
                     "peak_mb": round(peak_mb())}
        if profiler:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
            profiles[name] = text.getvalue()
        print(f"  {name:18s} {seconds:7.2f} s  ({cpu:6.2f} s CPU)   peak RSS so far {peak_mb():7,.0f} MB   "
              f"(load {load()})", flush=True)
    snap = state["snap"]
    if until != "report":  # a partial run (profiling): no row counts of the later steps
        out["rows"], out["profiles"] = {}, profiles
        return out
    out["rows"] = {
        "memberships": len(snap.memberships),
        "transitive_memberships": len(snap.transitive_memberships),
        "effective_grants": len(snap.effective_grants),
        "owners": len(state["owners"]),
        "usability": len(state["usable"]),
        "matrix": list(state["matrix"].shape),
        "findings": len(state["findings"]),
        "findings_by_rule": {str(k): int(v) for k, v in state["findings"]["rule"].value_counts().items()},
        "report_chars": len(state["html"]),
    }
    out["profiles"] = profiles
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=5_000)
    parser.add_argument("--securables", type=int, default=20_000)
    parser.add_argument("--grants", type=int, default=50_000)
    parser.add_argument("--profile", choices=["build_snapshot", "effective_access", "matrix", "evaluate", "report",
                                              "all"], default=None, help="cProfile one step (slower)")
    parser.add_argument("--until", choices=["build_snapshot", "effective_access", "matrix", "evaluate", "report"],
                        default="report", help="stop after this step (for profiling; nothing is saved)")
    parser.add_argument("--label", default="", help="a word for the results file name (before, after, ...)")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    tables = synthetic_account(users=args.users, groups=args.groups, securables=args.securables, grants=args.grants)
    identity, catalog = records(tables)
    del tables
    print(f"records: {len(identity.users):,} users, {len(identity.groups):,} groups, "
          f"{sum(len(g.members) for g in identity.groups):,} memberships, {len(catalog.securables):,} securables, "
          f"{len(catalog.grants):,} grants (built in {time.perf_counter() - t0:.1f} s)")
    reset_peak()
    base = rss_mb()
    load_before = load()
    print(f"RSS with the records: {base:,.0f} MB; load {load_before}")
    steps = run_steps(identity, catalog, args.profile, args.until)
    if args.until != "report":
        for name, text in steps["profiles"].items():
            print(f"\n== profile: {name}\n{text}")
        return 0
    analysis_s = sum(steps[s]["seconds"] for s in ANALYSIS_STEPS)
    analysis_cpu = sum(steps[s]["cpu_seconds"] for s in ANALYSIS_STEPS)
    peak = peak_mb()
    result = {
        "benchmark": "analysis",
        "label": args.label,
        "time": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        "size": {"users": args.users, "groups": args.groups, "securables": args.securables, "grants": args.grants},
        "python": platform.python_version(), "pandas": pd.__version__, "numpy": np.__version__,
        "cpus": os.cpu_count(), "load_before": load_before, "load_after": load(),
        "rss_records_mb": round(base),
        "steps": {k: v for k, v in steps.items() if k in steps and isinstance(v, dict) and "seconds" in v},
        "analysis_seconds": round(analysis_s, 2),
        "analysis_cpu_seconds": round(analysis_cpu, 2),
        "report_seconds": steps["report"]["seconds"],
        "peak_rss_mb": round(peak),
        "peak_above_records_mb": round(peak - base),
        "targets": {"analysis_under_20s": analysis_s < 20, "analysis_peak_under_2gb": peak < 2048,
                    "report_under_5s": steps["report"]["seconds"] < 5},
        "rows": steps["rows"],
    }
    print()
    print(f"{'step':18s} {'seconds':>8s} {'CPU s':>8s} {'peak MB':>9s}")
    for name, v in result["steps"].items():
        print(f"{name:18s} {v['seconds']:8.2f} {v['cpu_seconds']:8.2f} {v['peak_mb']:9,d}")
    print(f"{'analysis (4 steps)':18s} {analysis_s:8.2f} {analysis_cpu:8.2f} {round(peak):9,d}   "
          "target < 20 s, < 2,048 MB")
    print(f"rows: {json.dumps(result['rows'])}")
    print(json.dumps(result))
    if steps["profiles"]:
        for name, text in steps["profiles"].items():
            print(f"\n== profile: {name}\n{text}")
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"analysis-{stamp}{'-' + args.label if args.label else ''}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

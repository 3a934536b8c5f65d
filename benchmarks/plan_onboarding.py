"""Figures for plans (issue 10): a plan's text form; the journal of an apply killed with -9 and
resumed; the requests of an N-joiner onboarding against the floor the rate limits set.

    python -m benchmarks.plan_onboarding --joiners 40

* onboarding: an emulator in this process with its rate limits enforced (`rate_limits=True`, 429 +
  Retry-After), the client at `rate_scale=1`. A synthetic roster of N joiners (each in one or two of
  four groups, assigned to company-dev) is planned and applied; GET /_scimkit/stats gives the
  requests per rate-limit class. Floor per class: its requests / its sustained rate (bursts the
  buckets allow are ignored); the floor of the apply is the largest of them. "unbatched" is the PATCH count
  and floor if every membership were its own PATCH (what batching one PATCH per group saves).
* interrupted: a standalone `python -m scimkit emulator`, `scimkit apply --yes` killed with -9 once
  the journal holds K records, then run again; the journal is printed.

Prints tables and one JSON line (also written to benchmarks/results/).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import requests

RESULTS = Path(__file__).resolve().parent / "results"
TODAY = date(2026, 12, 1)
GROUPS = ("Analysts.NonProd", "QA", "Finance.Readers", "DataEngineers.NonProd")


def joiners_roster(path: Path, n: int) -> Path:
    rows = ["email,display_name,groups,workspaces,start_date,end_date,employee_id"]
    for i in range(n):
        groups = ";".join(dict.fromkeys((GROUPS[i % 4], GROUPS[(i * 7 + 1) % 4])))
        rows.append(f"joiner{i:03d}@company.com,Joiner {i:03d},{groups},company-dev,2026-11-30,,J{i:05d}")
    path.write_text("\n".join(rows) + "\n")
    return path


def onboarding(joiners: int, workdir: Path) -> dict[str, Any]:
    from scimkit import plans
    from scimkit.connect import connect
    from scimkit.emulator import start
    from scimkit.limits import RATE_LIMIT_CLASSES
    from scimkit.sources.roster import read_roster

    with start(rate_limits=True) as emu:
        account = connect(emulator=emu, rate_scale=1)
        state = plans.read_state(account)
        plan = plans.onboarding(read_roster(joiners_roster(workdir / "roster.csv", joiners), snapshot=state,
                                            as_of=TODAY), state, today=TODAY)
        requests.post(f"{emu.host}/_scimkit/reset", headers={"Authorization": f"Bearer {emu.token}"}, timeout=10)
        started = time.perf_counter()
        result = plans.apply(plan, account, journal=workdir / "onboarding.jsonl", dry_run=False)
        elapsed = time.perf_counter() - started
        stats = requests.get(f"{emu.host}/_scimkit/stats", timeout=10).json()
    assert result.ok, result.text()
    counts = stats["requests"]
    throttled = stats.get("throttled", {})
    rows = []
    for cls, count in sorted(counts.items()):
        if cls not in RATE_LIMIT_CLASSES or not count:
            continue
        n, per = RATE_LIMIT_CLASSES[cls]
        rows.append({"class": cls, "requests": count, "throttled_429": throttled.get(cls, 0),
                     "rate_per_s": round(n / per, 3), "floor_s": round(count / (n / per), 2)})
    memberships = sum(c.kind == "add_to_group" for c in plan)
    groups = len({c.group for c in plan if c.kind == "add_to_group"})
    patch_rate = RATE_LIMIT_CLASSES["scim-patch"][0] / RATE_LIMIT_CLASSES["scim-patch"][1]
    return {"joiners": joiners, "changes": len(plan), "summary": plan.summary().to_dict("records"),
            "memberships": memberships, "groups": groups, "elapsed_s": round(elapsed, 2),
            "floor_s": max(r["floor_s"] for r in rows), "classes": rows,
            "patch_requests": counts.get("scim-patch", 0), "patch_floor_s": round(counts.get("scim-patch", 0) / patch_rate, 2),
            "unbatched_patch_requests": memberships, "unbatched_patch_floor_s": round(memberships / patch_rate, 2),
            "outcomes": result.summary().to_dict("records")}


def interrupted(workdir: Path, joiners: int, kill_after: int) -> dict[str, Any]:
    from scimkit import plans
    from scimkit.connect import connect
    from scimkit.sources.roster import read_roster

    env = dict(os.environ, DATABRICKS_TOKEN="dapi-scimkit-admin",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]), *sys.path]))
    server = subprocess.Popen([sys.executable, "-m", "scimkit", "emulator"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        first = server.stdout.readline().split()  # type: ignore[union-attr]
        host, account_id = first[0].removeprefix("host="), first[1].removeprefix("account_id=")
        account = connect(host=host, account_id=account_id, token=env["DATABRICKS_TOKEN"])
        state = plans.read_state(account)
        plan = plans.onboarding(read_roster(joiners_roster(workdir / "small.csv", joiners), snapshot=state,
                                            as_of=TODAY), state, today=TODAY)
        plan_file = plan.save(workdir / "small-plan.json")
        journal = workdir / "small.jsonl"
        argv = [sys.executable, "-m", "scimkit", "apply", str(plan_file), "--yes", "--journal", str(journal),
                "--host", host, "--account-id", account_id, "--no-progress"]
        first_run = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        while first_run.poll() is None and (not journal.exists() or len(journal.read_text().splitlines()) < kill_after):
            time.sleep(0.005)
        os.kill(first_run.pid, signal.SIGKILL)
        first_run.wait()
        second = subprocess.run(argv, capture_output=True, text=True, env=env)
        frame = plans.journal_frame(journal)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {"plan_text": plan.text(), "first_exit": first_run.returncode, "second_exit": second.returncode,
            "journal": frame[["run_id", "phase", "kind", "target", "outcome", "detail"]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joiners", type=int, default=40)
    parser.add_argument("--small", type=int, default=3, help="joiners in the interrupted apply")
    parser.add_argument("--kill-after", type=int, default=5, help="journal records before the kill")
    args = parser.parse_args(argv)
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small = interrupted(work, args.small, args.kill_after)
        print(small["plan_text"])
        print(f"\nfirst apply killed with -9 (exit {small['first_exit']}) after {args.kill_after} journal "
              f"records; second apply exit {small['second_exit']}. Journal:")
        with pd.option_context("display.width", 250, "display.max_colwidth", 70):
            print(small["journal"].to_string(index=False))
        figures = onboarding(args.joiners, work)
    print(f"\n{figures['joiners']}-joiner onboarding: {figures['changes']} changes "
          f"({figures['memberships']} memberships in {figures['groups']} groups), applied in "
          f"{figures['elapsed_s']} s against a floor of {figures['floor_s']} s (rate limits enforced, 429s counted)")
    print(pd.DataFrame(figures["classes"]).to_string(index=False))
    print(f"group PATCHes: {figures['patch_requests']} (floor {figures['patch_floor_s']} s at 2/s); one PATCH per "
          f"membership would be {figures['unbatched_patch_requests']} (floor {figures['unbatched_patch_floor_s']} s)")
    record = {k: v for k, v in figures.items()}
    record["interrupted"] = {"first_exit": small["first_exit"], "second_exit": small["second_exit"],
                             "records": len(small["journal"])}
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (RESULTS / f"plan_onboarding-{stamp}-j{args.joiners}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

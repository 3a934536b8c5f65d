"""An apply killed with a real `kill -9` at random points (seeded), then re-run, ends in exactly the
state of an uninterrupted run: no duplicate users, no lost memberships, and a complete journal (one
outcome per change). The kill lands mid-apply: the test waits until the journal has grown by a
random number of records, then kills the `scimkit apply --yes` subprocess (issue 10)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import requests

from scimkit import plans
from scimkit.connect import connect
from scimkit.plans.journal import DONE
from scimkit.sources.roster import read_roster

from .test_cli import ACCOUNT_ID, TOKEN, _account_flags, _env, standalone  # noqa: F401 - the module fixture

TODAY = date(2026, 12, 1)
GROUPS = ("Analysts.NonProd", "QA", "Finance.Readers", "DataEngineers.NonProd")
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def joiners_roster(path: Path, n: int) -> Path:
    """`n` synthetic joiners, each in one or two of four groups and on company-dev."""
    rows = ["email,display_name,groups,workspaces,start_date,end_date,employee_id"]
    for i in range(n):
        groups = ";".join(dict.fromkeys((GROUPS[i % 4], GROUPS[(i * 7 + 1) % 4])))
        rows.append(f"joiner{i:03d}@company.com,Joiner {i:03d},{groups},company-dev,2026-11-30,,J{i:05d}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _reset(host: str) -> None:
    requests.post(f"{host}/_scimkit/reset", headers=ADMIN, timeout=10).raise_for_status()


def _state(account, plan) -> dict[str, object]:  # noqa: ANN001
    """What the plan is about, by name (ids may differ between runs)."""
    snap = plans.read_state(account, plan)
    users = snap.users[snap.users["user_name"].str.startswith("joiner")]
    members = snap.memberships[snap.memberships["member_name"].str.startswith("joiner")]
    wa = snap.workspace_assignments[snap.workspace_assignments["principal_name"].str.startswith("joiner")]
    return {"users": sorted(map(tuple, users[["user_name", "display_name", "active"]].astype(str).values.tolist())),
            "user_count": len(users),
            "memberships": sorted(map(tuple, members[["group_name", "member_name"]].astype(str).values.tolist())),
            "assignments": sorted(map(tuple, wa[["workspace_id", "principal_name", "permission"]]
                                      .astype(str).values.tolist()))}


def _apply(host: str, plan_file: Path, journal: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scimkit", "apply", str(plan_file), "--yes", "--journal",
                             str(journal), *_account_flags(host).__iter__()], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=_env(DATABRICKS_TOKEN=TOKEN))


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _interrupted_then_resumed(host: str, tmp_path: Path, joiners: int, kills: int, seed: int) -> dict:
    account = connect(host=host, account_id=ACCOUNT_ID, token=TOKEN, rate_scale=20, retry_timeout_seconds=20)
    _reset(host)
    roster = joiners_roster(tmp_path / "roster.csv", joiners)
    state = plans.read_state(account)
    plan = plans.onboarding(read_roster(roster, snapshot=state, as_of=TODAY), state, today=TODAY)
    plan_file = plan.save(tmp_path / "plan.json")
    assert {c.kind for c in plan} == {"create_user", "add_to_group", "assign_workspace"} and len(plan) > joiners * 2

    # the uninterrupted run, through the public API (one CLI start-up fewer)
    reference = plans.apply(plans.Plan.load(plan_file), account, journal=tmp_path / "reference.jsonl", dry_run=False)
    assert reference.ok and reference.changed == len(plan), reference.text()
    expected = _state(account, plan)
    assert expected["user_count"] == joiners

    _reset(host)
    rng = random.Random(seed)
    journal = tmp_path / "journal.jsonl"
    records = 2 * len(plan)
    killed_at = []
    for _ in range(kills):
        start = _lines(journal)
        target = start + rng.randint(1, max(1, (records - start) // 2))
        process = _apply(host, plan_file, journal)
        deadline = time.monotonic() + 120
        while process.poll() is None and _lines(journal) < target and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        killed_at.append((_lines(journal), process.returncode))
    final = _apply(host, plan_file, journal)
    assert final.wait(timeout=300) == 0, final.stderr.read() if final.stderr else ""

    assert _state(account, plan) == expected  # no duplicate users, no lost memberships
    entries = [json.loads(x) for x in journal.read_text().splitlines() if x.strip().startswith("{")]
    afters: dict[str, list[str]] = {}
    for r in entries:
        if r["phase"] == "after":
            afters.setdefault(r["change_id"], []).append(r["outcome"])
    from scimkit.plans.plan import change_id

    assert set(afters) == {change_id(c) for c in plan}  # every change has an outcome
    assert all(len(v) == 1 and v[0] in DONE for v in afters.values()), afters  # exactly one each
    assert any(code == -signal.SIGKILL for _, code in killed_at), killed_at  # the kills were real
    return {"killed_at": killed_at, "records": len(entries), "changes": len(plan), "journal": journal}


def test_an_apply_killed_at_random_points_and_rerun_ends_as_an_uninterrupted_run(standalone: str,  # noqa: F811
                                                                                  tmp_path: Path) -> None:
    _interrupted_then_resumed(standalone, tmp_path, joiners=12, kills=3, seed=10)


@pytest.mark.soak
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_soak_forty_joiners_killed_many_times(standalone: str, tmp_path: Path, seed: int) -> None:  # noqa: F811
    _interrupted_then_resumed(standalone, tmp_path, joiners=40, kills=8, seed=seed)

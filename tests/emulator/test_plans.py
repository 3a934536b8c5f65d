"""Plans against the sample account: the sample roster's onboarding applied twice (the second run
changes nothing), resumed from its journal, and a plan that does not validate writes nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import requests

from scimkit import plans, snapshot
from scimkit.errors import PlanRejected
from scimkit.sources.roster import read_roster

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date.fromisoformat(json.loads((ROOT / "sample_data" / "manifest.json").read_text())["drift"]["roster_as_of"])
WRITE_CLASSES = ("scim-write", "scim-patch", "uc-grants-write")


def _writes(emu) -> int:  # noqa: ANN001 - an Emulator
    counts = requests.get(f"{emu.host}/_scimkit/stats", timeout=10).json()["requests"]
    return sum(counts.get(c, 0) for c in WRITE_CLASSES)


def _roster_plan(account):  # noqa: ANN001, ANN202
    snap = snapshot(account, progress=False)
    source = read_roster(ROOT / "sample_data" / "roster.csv", snapshot=snap, as_of=AS_OF)
    return plans.onboarding(source, snap, today=AS_OF)


def test_sample_roster_onboarding_applies_once_then_changes_nothing(account, tmp_path: Path) -> None:
    plan = _roster_plan(account)
    assert len(plan.changes) > 0
    kinds = set(plan.frame()["kind"])
    assert "create_user" in kinds and "deactivate" in kinds

    dry = plans.apply(plan, account)  # dry run by default
    assert dry.dry_run and dry.changed == 0

    first = plans.apply(plan, account, journal=tmp_path / "one.jsonl", dry_run=False)
    assert first.ok, first.text()
    assert first.changed == len(plan.changes)

    # The same plan, a fresh journal: everything is found in place; nothing is written.
    again = plans.apply(plans.Plan.from_json(plan.to_json()),
                        account, journal=tmp_path / "two.jsonl", dry_run=False)
    assert again.ok and again.changed == 0, again.text()

    # A new plan from the same roster against the changed account is empty.
    assert len(_roster_plan(account).changes) == 0

    # The journal records each change before and after, once.
    lines = [json.loads(line) for line in (tmp_path / "one.jsonl").read_text().splitlines() if line.strip()]
    assert len(lines) >= len(plan.changes)


def test_replaying_the_journal_skips_what_is_done(account, tmp_path: Path) -> None:
    plan = _roster_plan(account)
    journal = tmp_path / "apply.jsonl"
    plans.apply(plan, account, journal=journal, dry_run=False)
    replay = plans.apply(plan, account, journal=journal, dry_run=False)
    assert replay.changed == 0
    assert {o.outcome for o in replay.outcomes} <= {"already_applied", "in_place"}


def test_a_plan_that_does_not_validate_writes_nothing(account, emu, tmp_path: Path) -> None:
    snap = snapshot(account, progress=False)
    # a new user, and a membership in a group the account does not have
    plan = plans.Plan([plans.CreateUser(user_name="new.person@company.com", display_name="New Person"),
                       plans.AddToGroup(member="new.person@company.com", group="No.Such.Group")], source="test")
    requests.post(f"{emu.host}/_scimkit/reset", headers={"Authorization": f"Bearer {emu.token}"}, timeout=10)
    before = _writes(emu)
    with pytest.raises(PlanRejected) as excinfo:
        plans.apply(plan, account, journal=tmp_path / "j.jsonl", dry_run=False, snapshot=snap)
    assert "No.Such.Group" in str(excinfo.value)
    assert _writes(emu) == before == 0
    assert not (tmp_path / "j.jsonl").exists() or not (tmp_path / "j.jsonl").read_text().strip()

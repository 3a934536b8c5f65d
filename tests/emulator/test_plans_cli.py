"""`scimkit plan` and `scimkit apply` against a standalone `scimkit emulator` process, reached only
through --host/--account-id and DATABRICKS_TOKEN (issues 10 and 14): the sample roster's onboarding
applied twice (the second run writes nothing), a roster with errors plans nothing, a plan that does
not validate writes nothing, desired grants never revoke what nobody listed unless --exclusive, and a
failed change is exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from scimkit import plans

from .test_cli import ACCOUNT_ID, TOKEN, _account_flags, _run, standalone  # noqa: F401 - the module fixture

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
AS_OF = json.loads((SAMPLE / "manifest.json").read_text())["drift"]["roster_as_of"]
WRITE_CLASSES = ("scim-write", "scim-patch", "uc-grants-write")
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def host(standalone: str) -> str:  # noqa: F811
    requests.post(f"{standalone}/_scimkit/reset", headers=ADMIN, timeout=10).raise_for_status()
    requests.delete(f"{standalone}/_scimkit/faults", headers=ADMIN, timeout=10).raise_for_status()
    return standalone


def _writes(host: str) -> int:
    counts = requests.get(f"{host}/_scimkit/stats", timeout=10).json()["requests"]
    return sum(counts.get(c, 0) for c in WRITE_CLASSES)


def _cli(host: str, *args: str):  # noqa: ANN202
    return _run(*args, *_account_flags(host), DATABRICKS_TOKEN=TOKEN)


def test_roster_onboarding_through_the_cli_applies_once_then_writes_nothing(host: str, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    made = _cli(host, "plan", "--roster", str(SAMPLE / "roster.csv"), "--today", AS_OF, "--out", str(plan_file))
    assert made.returncode == 0, made.stderr
    plan = plans.Plan.load(plan_file)
    assert {"create_user", "add_to_group", "deactivate"} <= {c.kind for c in plan}
    assert plan.plan_id in made.stdout and "create_user" in made.stdout and "lena.hoffmann" in made.stdout
    assert _writes(host) == 0  # planning reads only
    embedded = _run("plan", "--roster", str(SAMPLE / "roster.csv"), "--today", AS_OF, "--out",
                    str(tmp_path / "embedded.json"), "--emulator", "--no-progress", "--rate-scale", "20")
    assert embedded.returncode == 0, embedded.stderr
    assert plans.Plan.load(tmp_path / "embedded.json").plan_id == plan.plan_id  # the same plan as --emulator

    dry = _cli(host, "apply", str(plan_file))
    assert dry.returncode == 0, dry.stderr
    assert "would_apply" in dry.stdout and "--yes" in dry.stdout
    assert _writes(host) == 0 and not plan_file.with_suffix(".journal.jsonl").exists()

    journal = tmp_path / "one.jsonl"
    first = _cli(host, "apply", str(plan_file), "--yes", "--journal", str(journal))
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count(" applied ") + first.stdout.count("applied    ") >= 1
    outcomes = [json.loads(line) for line in journal.read_text().splitlines()]
    after = [r for r in outcomes if r["phase"] == "after"]
    assert sorted(r["change_id"] for r in after) == sorted({r["change_id"] for r in after})
    assert len(after) == len(plan) and {r["outcome"] for r in after} == {"applied"}
    written = _writes(host)
    assert written > 0

    again = _cli(host, "apply", str(plan_file), "--yes", "--journal", str(tmp_path / "two.jsonl"))
    assert again.returncode == 0, again.stderr
    assert _writes(host) == written  # the second run changes nothing
    assert "in_place" in again.stdout and " applied " not in again.stdout

    replay = _cli(host, "apply", str(plan_file), "--yes", "--journal", str(journal))
    assert replay.returncode == 0 and "already_applied" in replay.stdout
    assert _writes(host) == written

    fresh = _cli(host, "plan", "--roster", str(SAMPLE / "roster.csv"), "--today", AS_OF,
                 "--out", str(tmp_path / "again.json"))
    assert fresh.returncode == 0 and len(plans.Plan.load(tmp_path / "again.json")) == 0, fresh.stdout


def test_a_roster_with_errors_plans_nothing(host: str, tmp_path: Path) -> None:
    bad = tmp_path / "roster.csv"
    lines = (SAMPLE / "roster.csv").read_text().splitlines()
    bad.write_text("\n".join([*lines, "not-an-email,Somebody,No.Such.Group,,2026-11-01,,E99999", ""]))
    out = tmp_path / "plan.json"
    result = _cli(host, "plan", "--roster", str(bad), "--today", AS_OF, "--out", str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not-an-email" in result.stderr or "line" in result.stderr
    assert not out.exists() and _writes(host) == 0


def test_a_plan_that_does_not_validate_writes_nothing(host: str, tmp_path: Path) -> None:
    plan = plans.Plan([plans.CreateUser(user_name="new.person@company.com", display_name="New Person"),
                       plans.AddToGroup(member="new.person@company.com", group="No.Such.Group"),
                       plans.Grant(securable_type="CATALOG", full_name="prod_sales", principal_name="Sales",
                                   privileges=("SELECT", "CREATE SCHEMA"))], source="test")
    path = plan.save(tmp_path / "bad.json")
    state = requests.get(f"{host}/_scimkit/state", headers=ADMIN, timeout=10).json()
    result = _cli(host, "apply", str(path), "--yes", "--journal", str(tmp_path / "j.jsonl"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "No.Such.Group" in result.stderr and "step 2" in result.stderr and "Fix:" in result.stderr
    assert _writes(host) == 0
    assert requests.get(f"{host}/_scimkit/state", headers=ADMIN, timeout=10).json() == state
    assert not (tmp_path / "j.jsonl").exists()

    edited = json.loads(path.read_text())
    edited["changes"][0]["user_name"] = "someone.else@company.com"
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    tampered = _cli(host, "apply", str(tmp_path / "edited.json"), "--yes")
    assert tampered.returncode == 2 and "edited after it was written" in tampered.stderr


def test_desired_grants_report_what_nobody_listed_unless_exclusive(host: str, tmp_path: Path) -> None:
    out = tmp_path / "grants.json"
    made = _cli(host, "plan", "--grants", str(SAMPLE / "desired_grants.json"), "--out", str(out))
    assert made.returncode == 0, made.stderr
    plan = plans.Plan.load(out)
    assert {(c.kind, c.full_name, c.principal_name) for c in plan} == {
        ("grant", "prod_sales.forecasts", "Analysts.Prod"), ("grant", "dev_sandbox.analysts", "Analysts.Prod")}
    assert any(r["topic"] == "grant nobody listed" and "Sales holds" in r["detail"] for r in plan.report)
    assert "grant nobody listed" in made.stdout

    applied = _cli(host, "apply", str(out), "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    exclusive = _cli(host, "plan", "--grants", str(SAMPLE / "desired_grants.json"), "--exclusive",
                     "SCHEMA prod_sales.forecasts", "--out", str(tmp_path / "exclusive.json"))
    assert exclusive.returncode == 0, exclusive.stderr
    again = plans.Plan.load(tmp_path / "exclusive.json")
    assert [(c.kind, c.full_name, c.principal_name) for c in again] == [("revoke", "prod_sales.forecasts", "Sales")]


def test_a_failed_change_is_exit_1_and_stops_only_its_dependents(host: str, tmp_path: Path) -> None:
    plan = plans.Plan([plans.CreateUser(user_name="will.fail@company.com", display_name="Will Fail"),
                       plans.AddToGroup(group="QA", member="will.fail@company.com"),
                       plans.AddToGroup(group="QA", member="jaya@company.com")], source="test")
    path = plan.save(tmp_path / "plan.json")
    requests.post(f"{host}/_scimkit/faults", headers=ADMIN, json={"spec": "POST:.*/scim/v2/Users$:400:*"},
                  timeout=10).raise_for_status()
    result = _cli(host, "apply", str(path), "--yes")
    assert result.returncode == 1, result.stdout + result.stderr
    records = [json.loads(x) for x in path.with_suffix(".journal.jsonl").read_text().splitlines()]
    outcome = {r["target"]: r["outcome"] for r in records if r["phase"] == "after"}
    assert outcome == {"will.fail@company.com": "failed", "will.fail@company.com in QA": "skipped",
                       "jaya@company.com in QA": "applied"}


def test_plan_from_entra_drift_reports_what_the_identity_provider_must_fix(tmp_path: Path) -> None:
    out = tmp_path / "drift.json"
    made = _run("plan", "--drift", "--emulator", "--no-progress", "--rate-scale", "20", "--out", str(out))
    assert made.returncode == 0, made.stderr
    plan = plans.Plan.load(out)
    assert {(c.kind, c.target) for c in plan} >= {("create_user", "marta.lindqvist@company.com"),
                                                   ("deactivate", "aisha.lehmann@company.com")}
    assert not any("oskar.brenner" in c.target for c in plan)  # not assigned to the application: Entra's fix
    assert any("oskar.brenner" in r["subject"] and r["detail"] == "the fix is in the identity provider"
               for r in plan.report)
    assert "Report (not changed by this plan)" in made.stdout
    bad = _run("plan", "--drift", "--emulator", "--kinds", "no_such_kind", "--out", str(tmp_path / "x.json"))
    assert bad.returncode == 2 and "no_such_kind" in bad.stderr and not (tmp_path / "x.json").exists()

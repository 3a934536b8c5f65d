"""The compliance report on the sample account finds exactly the planted problems."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from scimkit import compliance
from scimkit.connect import Account
from scimkit.report import run_report
from scimkit.snapshot import Snapshot, snapshot

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text())
PREVIOUS = SAMPLE / MANIFEST["report"]["previous_snapshot"]
EXPECTED = json.loads((SAMPLE / MANIFEST["report"]["expected_findings"]).read_text())
COLUMNS = ["rule", "severity", "principal", "securable_type", "securable"]
# Which rule must report each kind of planted problem.
RULE_FOR_KIND = {
    "empty_group": "empty_group",
    "group_without_grants": "group_without_grants",
    "deactivated_user_in_groups": "deactivated_principal_access",
    "grant_to_deactivated_user": "deactivated_principal_access",
    "user_in_no_group": "user_in_no_group",
    "direct_user_grant": "direct_user_grant",
    "all_privileges_to_broad_group": "broad_group_privileges",
    "grant_to_missing_principal": "missing_principal",
    "securable_owned_by_user": "securable_owned_by_user",
    "sp_modify_on_production_catalog": "sp_write_on_production",
    "granted_not_usable": "granted_not_usable",
    "too_many_admins": "too_many_admins",
    "access_widened": "access_widened",
}




@pytest.fixture
def findings(account: Account) -> pd.DataFrame:
    return compliance.evaluate(snapshot(account, progress=False), previous=Snapshot.load(PREVIOUS))


def rows(frame: pd.DataFrame) -> list[dict]:
    return frame[COLUMNS].astype(object).where(frame[COLUMNS].notna(), None).to_dict("records")


def test_report_finds_exactly_the_expected_findings(findings: pd.DataFrame) -> None:
    assert rows(findings) == EXPECTED


def test_every_planted_problem_is_found(findings: pd.DataFrame) -> None:
    for planted in MANIFEST["planted"]:
        rule = RULE_FOR_KIND[planted["kind"]]
        hits = findings[findings["rule"] == rule]
        if planted.get("principal"):
            hits = hits[hits["principal"] == planted["principal"]]
        if planted.get("securable"):
            hits = hits[hits["securable"] == planted["securable"]]
        assert len(hits) >= 1, planted


def test_nothing_but_planted_problems_and_the_admin_inventory_is_flagged(findings: pd.DataFrame) -> None:
    planted_rules = {RULE_FOR_KIND[p["kind"]] for p in MANIFEST["planted"]}
    assert set(findings["rule"]) == planted_rules | {"admin_inventory"}
    assert set(findings.loc[findings["rule"] == "admin_inventory", "severity"]) == {"info"}


def test_previous_snapshot_is_current(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_previous_snapshot
    finally:
        sys.path.pop(0)
    fresh = Snapshot.load(make_previous_snapshot.make(tmp_path / "previous"))
    committed = Snapshot.load(PREVIOUS)
    for name, frame in committed.tables().items():
        pd.testing.assert_frame_equal(getattr(fresh, name).drop(columns="account_id"),
                                      frame.drop(columns="account_id"), obj=name)


def test_run_report_writes_html_findings_and_history(account: Account, tmp_path: Path) -> None:
    result = run_report(account, tmp_path / "out", previous=PREVIOUS, progress=False)
    page = result["report"].read_text()
    for section in ("Summary", "Since the previous snapshot", "Trend", "Riskiest principals",
                    "Group permissions by catalog", "Findings by rule", "Informational"):
        assert re.search(rf"<h2[^>]*>{re.escape(section)}", page), section
    assert "data:image/png;base64," in page and "http://" not in page.replace("http://www.w3.org", "")
    stored = list((tmp_path / "out" / "history" / "findings").glob("snapshot_time=*/part-0.parquet"))
    assert len(stored) == 1
    assert (tmp_path / "out" / "findings.csv").read_text().count("\n") == len(result["findings"]) + 1
    # A second run compares with the first one: nothing widened in between.
    again = run_report(account, tmp_path / "out", previous=PREVIOUS, progress=False)
    assert again["previous"] == result["snapshot"].snapshot_time
    assert "access_widened" not in set(again["findings"]["rule"])


def test_cli_exit_status_follows_fail_on(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "scimkit", "report", "--emulator", "--no-progress", "--rate-scale", "20",
               "--out", str(tmp_path / "r"), "--previous", str(PREVIOUS)]
    failing = subprocess.run(command + ["--fail-on", "high"], capture_output=True, text=True, timeout=300)
    assert failing.returncode == 1, failing.stderr
    assert "report:" in failing.stdout and "findings at or above 'high'" in failing.stderr
    passing = subprocess.run(command + ["--fail-on", "critical"], capture_output=True, text=True, timeout=300)
    assert passing.returncode == 0, passing.stderr

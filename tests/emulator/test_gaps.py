"""What a snapshot could not read is unknown, not absent (issue 16).

Each fault kind is injected into the emulator so that the read really fails (every retry faulted);
the snapshot is compared with a fault-free one of the same account. Findings on what was read are
exactly those of the fault-free run, nothing is fixed where the evidence is missing, every rule with
a gap says so once (`could_not_evaluate`), and `diff` calls nothing a leaver, removal or new grant
because of a gap.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pandas as pd
import pytest
import requests

from scimkit import compliance, history, remediation
from scimkit.emulator import Emulator, create
from scimkit.limits import RateLimits
from scimkit.snapshot import Snapshot, snapshot
from scimkit.snapshot import diff as snapshot_diff

from .test_catalog import make_account

# The four fault kinds, and the group listing of the first probe. Each fault fires on
# every matching request ('*'), so the reads' retries cannot recover from it.
FAULTS = {
    "users listing page": "GET:/scim/v2/Users$:500:*",
    "group listing": "GET:/scim/v2/Groups$:500:*",
    "group GET": "GET:/scim/v2/Groups/2000000000000004$:500:*",  # DataEngineers.Prod (nested in others)
    "workspace list": "GET:/workspaces$:500:*",
    "grants GET": r"GET:/permissions/catalog/prod_(finance|sales)$:500:*",
}
EXPECTED_FAILURE = {
    "users listing page": ("users", "*"),
    "group listing": ("groups", "*"),
    "group GET": ("group", "DataEngineers.Prod"),
    "workspace list": ("workspaces", "*"),
    "grants GET": ("grants", "CATALOG prod_finance"),
}
CHANGES = {"joiner", "leaver", "admin_added", "admin_removed", "membership_added", "membership_removed",
           "grant_added", "grant_removed", "owner_changed", "deactivated", "reactivated"}


def _faults(emu: Emulator, spec: str | None) -> None:
    headers = {"Authorization": f"Bearer {emu.token}"}
    requests.delete(f"{emu.host}/_scimkit/faults", headers=headers, timeout=10).raise_for_status()
    if spec:
        r = requests.post(f"{emu.host}/_scimkit/faults", json={"spec": spec}, headers=headers, timeout=10)
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def readings() -> Iterator[dict[str, Snapshot]]:
    """A fault-free snapshot ("none") and one per fault, of one unchanged sample account."""
    emu = create()
    thread = threading.Thread(target=emu.serve_forever, daemon=True)
    emu._thread = thread
    thread.start()
    try:
        out = {}
        for name, spec in {"none": None, **FAULTS}.items():
            _faults(emu, spec)
            out[name] = snapshot(make_account(emu, retry_timeout_seconds=5, limits=RateLimits(scale=50)),
                                 progress=False)
        yield out
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def findings(readings: dict[str, Snapshot]) -> dict[str, pd.DataFrame]:
    return {name: compliance.evaluate(snap) for name, snap in readings.items()}


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in frame.columns if c != "snapshot_time"]
    return frame[columns].astype(object).where(frame[columns].notna(), None).set_index("finding_id").sort_index()


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_fault_is_a_failed_read(readings: dict[str, Snapshot], fault: str) -> None:
    assert readings["none"].is_complete
    comp = readings[fault].completeness
    assert EXPECTED_FAILURE[fault] in set(zip(comp["object_type"], comp["object_name"], strict=True))


@pytest.mark.parametrize("fault", list(FAULTS))
def test_findings_on_what_was_read_are_those_of_the_fault_free_run(findings: dict[str, pd.DataFrame],
                                                                   fault: str) -> None:
    base, got = findings["none"], findings[fault]
    assert base["rule"].ne(compliance.COULD_NOT_EVALUATE).all() and len(base) > 20
    found = got[got["rule"] != compliance.COULD_NOT_EVALUATE]
    assert set(found["finding_id"]) <= set(base["finding_id"]), "a gap produced a finding"
    expected = _comparable(base[base["finding_id"].isin(found["finding_id"])])
    pd.testing.assert_frame_equal(_comparable(found), expected)  # identical, column by column
    # What is not reported is said once per rule, at that rule's severity, with no fix.
    notes = got[got["rule"] == compliance.COULD_NOT_EVALUATE]
    assert notes["withheld_rule"].is_unique
    lost = set(base.loc[~base["finding_id"].isin(found["finding_id"]), "rule"])
    assert lost <= set(notes["withheld_rule"]), f"findings of {lost - set(notes['withheld_rule'])} vanished silently"
    for rule_id, severity, detail, fix in notes[["withheld_rule", "severity", "detail", "remediation"]].itertuples(
            index=False):
        assert severity == compliance.RULES[rule_id].severity
        assert detail.startswith(f"could not evaluate {rule_id} for ")
        assert re.search(r"(were not read|was not read|could not be listed|were not listed)", detail), detail
        assert remediation.split(fix).sql == ()
    assert compliance.withheld(got) == [f"{s}: {d}" for s, d in zip(notes["severity"], notes["detail"], strict=True)]


def _names(snap: Snapshot, table: str, column: str) -> list[str]:
    return [str(n) for n in getattr(snap, table)[column]]


def test_no_remediation_for_an_object_whose_read_failed(readings: dict[str, Snapshot],
                                                        findings: dict[str, pd.DataFrame]) -> None:
    base = readings["none"]

    def acted_on(fault: str) -> pd.DataFrame:
        got = findings[fault]
        return got[got["rule"] != compliance.COULD_NOT_EVALUATE]

    def mentions(frame: pd.DataFrame, names: list[str]) -> list[str]:
        text = " ".join(frame["detail"] + " " + frame["remediation"])
        return [n for n in names if re.search(rf"(?<![\w.@-]){re.escape(n)}(?![\w.@-])", text, re.IGNORECASE)]

    # No user was read: no finding is about a user, and no fix names one.
    users = _names(base, "users", "user_name")
    found = acted_on("users listing page")
    assert not found["principal_type"].isin(["USER", "UNKNOWN"]).any()
    assert mentions(found, users) == []
    # No group was read: nothing is concluded about a group, and no fix names one.
    found = acted_on("group listing")
    assert not found["principal_type"].isin(["GROUP", "UNKNOWN"]).any()
    assert mentions(found, _names(base, "groups", "group_name")) == []
    # One group's members were not read: nothing about it or the groups holding it, no fix names it.
    found = acted_on("group GET")
    tm = base.transitive_memberships
    holding = set(tm.loc[tm["member_name"] == "DataEngineers.Prod", "group_name"]) | {"DataEngineers.Prod"}
    assert not found["principal"].isin(holding).any()
    assert mentions(found, ["DataEngineers.Prod"]) == []
    assert not found["rule"].isin(["user_in_no_group", "direct_user_grant", "granted_not_usable"]).any()
    # No workspace, so nothing of Unity Catalog was read: no SQL at all.
    found = acted_on("workspace list")
    assert not found["securable_type"].isin(["METASTORE", "CATALOG", "SCHEMA", "TABLE", "VOLUME", "FUNCTION",
                                             "EXTERNAL_LOCATION", "STORAGE_CREDENTIAL"]).any()
    assert all(remediation.split(r).sql == () for r in found["remediation"])
    # The grants on two catalogs were not read: no GRANT or REVOKE on them, no conclusion from their grants.
    found = acted_on("grants GET")
    sql = " ".join(s for r in found["remediation"] for s in remediation.split(r).sql)
    assert "ON CATALOG prod_finance" not in sql and "ON CATALOG prod_sales" not in sql
    assert not found.loc[found["rule"].isin(["granted_not_usable", "direct_user_grant", "empty_group",
                                             "group_without_grants"]), "securable"].fillna("").str.startswith(
        ("prod_finance", "prod_sales")).any()


@pytest.mark.parametrize("fault", list(FAULTS))
def test_diff_calls_no_gap_a_leaver_removal_or_widening(readings: dict[str, Snapshot], fault: str) -> None:
    """The account did not change between the two readings: every difference is the gap, so unknown."""
    base, gap = readings["none"], readings[fault]
    for old, new in ((base, gap), (gap, base)):
        changes = history.diff(old, new)
        assert len(changes) > 0 and set(changes["change_kind"]) == {"unknown"}, changes["change_kind"].value_counts()
        assert changes["detail"].str.startswith("looked like ").all()
        assert set(changes["detail"].str.split(",").str[0].str.removeprefix("looked like ")) <= CHANGES
        # access_widened builds on the diff: nothing widened, and it says what it could not compare.
        widened = compliance.evaluate(new, previous=old)
        assert not (widened["rule"] == "access_widened").any()
        assert (widened["withheld_rule"] == "access_widened").sum() == 1
    assert history.diff(base, base).empty
    pd.testing.assert_frame_equal(snapshot_diff(base, gap), history.diff(base, gap))  # Snapshot.diff is the same


def test_fault_counts_beside_the_fault_free_counts(findings: dict[str, pd.DataFrame]) -> None:
    """The closing table of issue 16: finding counts by rule for each injected fault."""
    counts = {}
    for name, frame in findings.items():
        real = frame[frame["rule"] != compliance.COULD_NOT_EVALUATE]
        column = real["rule"].value_counts()
        column["could_not_evaluate (rules)"] = int((frame["rule"] == compliance.COULD_NOT_EVALUATE).sum())
        column["total reported"] = len(real)
        counts["fault-free" if name == "none" else name] = column
    table = pd.DataFrame(counts).fillna(0).astype(int)
    order = sorted(r for r in table.index if r in compliance.RULES) + ["could_not_evaluate (rules)", "total reported"]
    table = table.loc[order]
    print("\nfindings by rule, per injected fault (fault-free first):\n" + table.to_string())
    rules = [r for r in table.index if r in compliance.RULES]
    assert (table.loc[rules].le(table.loc[rules, "fault-free"], axis=0)).all().all()


def test_the_cli_report_and_the_page_say_what_was_not_read_and_what_is_withheld(
        emu: Emulator, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from scimkit.cli import main

    _faults(emu, FAULTS["group GET"])
    monkeypatch.setenv("DATABRICKS_TOKEN", emu.token)
    code = main(["report", "--host", emu.host, "--account-id", emu.account_id, "--out", str(tmp_path / "r"),
                 "--no-progress", "--rate-scale", "50", "--fail-on", "high"])
    out = capsys.readouterr().out.splitlines()
    assert code == 3  # incomplete, whatever the findings
    assert out[0].startswith("INCOMPLETE: account ") and "no conclusion or fix is drawn from it" in out[0]
    assert out[1].startswith("not read: the members of group DataEngineers.Prod were not read (a.groups.get failed")
    withheld = [line for line in out if line.startswith("withheld: ")]
    assert withheld and all(line.startswith(("withheld: low: could not evaluate", "withheld: medium: could not",
                                            "withheld: high: could not", "withheld: info: could not"))
                            for line in withheld)
    assert any("could not evaluate user_in_no_group for the whole account: the members of group "
               "DataEngineers.Prod were not read" in line for line in withheld)
    assert out.index(withheld[-1]) < next(i for i, line in enumerate(out) if line.startswith("report:"))
    page = (tmp_path / "r" / "report.html").read_text()
    banner = page.split('id="incomplete-banner">', 1)[1].split("</div>", 1)[0]
    assert "<b>Not read:</b> The group DataEngineers.Prod could not be read" in banner
    assert "<b>Withheld:</b>" in banner and "user_in_no_group" in banner and "may be missing" not in page
    listed = page.split('id="withheld-list">', 1)[1].split("</ul>", 1)[0]
    assert listed.count("<li>") == len(withheld)
    sql = (tmp_path / "r" / "remediation.sql").read_text()
    assert "DataEngineers.Prod" not in sql


def test_the_comparison_with_the_previous_report_calls_no_withheld_finding_resolved(emu: Emulator, tmp_path) -> None:
    from scimkit.report import run_report

    from .test_report import PREVIOUS

    account = make_account(emu, retry_timeout_seconds=5, limits=RateLimits(scale=50))
    clean = run_report(account, tmp_path / "clean", previous=PREVIOUS, progress=False)["comparison"]
    _faults(emu, FAULTS["group GET"])
    result = run_report(account, tmp_path / "gap", previous=PREVIOUS, progress=False)
    got, findings = result["comparison"], result["findings"]
    withheld = set(findings["withheld_rule"].dropna())
    assert {"user_in_no_group", "direct_user_grant"} <= withheld
    assert not got["resolved"]["rule"].isin(withheld).any()
    assert len(got["unread"]) > 0 and got["unread"]["rule"].isin(withheld).all()
    assert not (got["new"]["rule"] == compliance.COULD_NOT_EVALUATE).any()
    assert set(got["new"]["finding_id"]) <= set(clean["new"]["finding_id"])  # the gap adds nothing new
    assert set(got["resolved"]["finding_id"]) <= set(clean["resolved"]["finding_id"])
    page = result["report"].read_text()
    assert f"<b>{len(got['unread'])}</b> not compared (their rule could not be evaluated" in page

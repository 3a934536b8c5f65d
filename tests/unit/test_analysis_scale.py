"""What makes the analysis of a large account cheap, and must not change its answers: frames derived
once per snapshot (`scimkit.derived`), member counts on integer codes, the report's limits on what it
lists and draws (all findings still go to findings.csv), and the remediation splitter."""

from __future__ import annotations

import gc

import pandas as pd
import pytest

from scimkit import compliance, derived, remediation, report
from scimkit.matrix import permission_matrix

from .test_compliance import build


def test_cached_is_computed_once_per_snapshot_and_again_when_a_table_is_replaced() -> None:
    snap = build(users=["a@x.com"], groups=["G"], members={"G": ["a@x.com"]})
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert derived.cached(snap, "n", compute, ("memberships",)) == 1
    assert derived.cached(snap, "n", compute, ("memberships",)) == 1  # cached
    snap.memberships = snap.memberships.copy()  # a new table: the cached value is stale
    assert derived.cached(snap, "n", compute, ("memberships",)) == 2
    other = build(users=["a@x.com"])
    assert derived.cached(other, "n", compute, ("memberships",)) == 3  # per snapshot
    key = id(other)
    del other
    gc.collect()
    assert key not in derived._STORES  # dropped with its snapshot


def test_cached_without_a_weak_referenceable_snapshot_computes_each_time() -> None:
    tables = {"grants": pd.DataFrame()}
    assert [derived.cached(tables, "n", lambda: 7, ("grants",)) for _ in range(2)] == [7, 7]


def test_member_counts_follow_nesting_ignore_case_and_count_each_person_once() -> None:
    snap = build(
        users=["Ann@x.com", "bob@x.com"], sps={"sp-1": "robot"},
        members={"Outer": ["Inner", "bob@x.com"], "Inner": ["Ann@x.com", "sp-1", "bob@x.com"], "Empty": []},
    )
    counts = compliance._member_counts(snap)
    # The rows as the groupby of lower-cased names gives them (the implementation before integer codes).
    tm = snap.transitive_memberships
    people = tm[tm["member_type"].isin(["USER", "SERVICE_PRINCIPAL"])]
    expected = (people.assign(g=people["group_name"].astype(str).str.lower(),
                              m=people["member_name"].astype(str).str.lower())
                .groupby("g")["m"].nunique())
    pd.testing.assert_series_equal(counts, expected, check_index_type=False)
    assert counts.to_dict() == {"inner": 3, "outer": 3}


def test_permission_matrix_of_a_snapshot_is_cached_but_each_caller_gets_a_copy() -> None:
    snap = build(users=["a@x.com"], members={"G": ["a@x.com"]}, grants=[("CATALOG", "c", "G", "USE_CATALOG")])
    first = permission_matrix(snap, level="catalog", mode="effective")
    first.loc["G", "c"] = "changed by a caller"
    again = permission_matrix(snap, level="catalog", mode="effective")
    assert again.loc["G", "c"] == "USE_CATALOG"
    assert permission_matrix(snap, level="catalog", mode="direct", catalog=iter(["c"])).loc["G", "c"] == "USE_CATALOG"


def _findings(rows_per_rule: dict[str, int]) -> pd.DataFrame:
    rows = []
    for rule, n in rows_per_rule.items():
        for i in range(n):
            rows.append(dict(rule=rule, severity="medium", title=f"title of {rule}", principal=f"u{i}@x.com",
                             principal_type="USER", securable_type="TABLE", securable=f"c.s.t{i}",
                             detail=f"{rule} finding {i}",
                             remediation=f"REVOKE SELECT ON TABLE c.s.t{i} FROM `u{i}@x.com`;"))
    frame = pd.DataFrame(rows)
    frame["finding_id"] = [f"id{i}" for i in range(len(frame))]
    return frame


def test_the_page_lists_at_most_rows_per_rule_and_names_findings_csv(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(report, "ROWS_PER_RULE", 5)
    findings = _findings({"big_rule": 12, "small_rule": 3})
    path = report.write_report(tmp_path / "report.html", findings=findings, account_id="acc",
                               snapshot_time=pd.Timestamp("2026-12-01T00:00:00Z"))
    html = path.read_text()
    assert html.count("big_rule finding") == 5 and "big_rule finding 5" not in html
    assert html.count("small_rule finding") == 3
    assert "Showing the first 5 of 12 findings of this rule" in html
    assert "12 findings" in html  # the rule's heading counts all of them
    written = pd.read_csv(tmp_path / "findings.csv")
    assert len(written) == 15 and set(written["detail"]) == set(findings["detail"])


def test_a_small_report_lists_everything_and_writes_no_extra_file(tmp_path) -> None:
    findings = _findings({"rule_a": 3})
    html = report.render_html(findings, account_id="acc", snapshot_time=pd.Timestamp("2026-12-01T00:00:00Z"))
    assert html.count("rule_a finding") == 3 and "Showing the first" not in html
    assert "(3 statements)" in html
    report.write_report(tmp_path / "r.html", findings=findings, account_id="acc",
                        snapshot_time=pd.Timestamp("2026-12-01T00:00:00Z"))
    assert not (tmp_path / "findings.csv").exists()


def test_the_heatmap_keeps_the_groups_and_securables_holding_the_most() -> None:
    matrix = pd.DataFrame(
        {"c1": ["SELECT", "", "SELECT, MODIFY"], "c2": ["", "", "USE_CATALOG"], "c3": ["", "", ""]},
        index=pd.Index(["g1", "g2", "g3"], name="group_name"),
    )
    top = report._top_of_matrix(matrix, 2)
    assert list(top.index) == ["g3", "g1"] and list(top.columns) == ["c1", "c2"]


@pytest.mark.parametrize("text", [
    "REVOKE SELECT ON TABLE a.b.c FROM `x--y`; -- then grant it to a group",
    "If not intended: REVOKE SELECT ON TABLE a.b.c FROM `a;b`;",
    "Remove `weird`name from group G -- synced",
    "REVOKE MODIFY ON TABLE `c`.`s;t`.x FROM `g`; GRANT SELECT ON TABLE c.s.x TO `g`;",
])
def test_remediation_split_keeps_quoted_dashes_and_semicolons_inside_names(text: str) -> None:
    remedy = remediation.split(text)
    for statement in remedy.sql:
        assert statement.endswith(";")
    if "`x--y`" in text:
        assert remedy.sql == ("REVOKE SELECT ON TABLE a.b.c FROM `x--y`;",)
        assert remedy.advice == "Then grant it to a group"
    if "`a;b`" in text:
        assert remedy.sql == ("REVOKE SELECT ON TABLE a.b.c FROM `a;b`;",) and remedy.condition == "If not intended"
    if "`s;t`" in text:
        assert len(remedy.sql) == 2

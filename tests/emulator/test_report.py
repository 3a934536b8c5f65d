"""The report job on the sample account: history other tools read, remediation.sql, the page's
grouping and names, the comparison with --previous from the first run, and failed readings kept
out of the history."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.dataset as ds
import pytest

from scimkit import compliance, parse_script
from scimkit.connect import connect
from scimkit.emulator import Emulator
from scimkit.errors import InvalidInput
from scimkit.remediation import split
from scimkit.report import run_report
from scimkit.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((ROOT / "sample_data" / "manifest.json").read_text())
PREVIOUS = ROOT / "sample_data" / MANIFEST["report"]["previous_snapshot"]


class Tables(HTMLParser):
    """Every <table id=...> of a page as lists of rows of cell texts; headings' ids in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "table":
            self._table = str(found.get("id") or f"table-{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "span" and self._cell is not None:
            self._cell.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parsed(page: str) -> Tables:
    parser = Tables()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def first(_sample_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The first run into a new folder, compared with the committed previous snapshot."""
    _sample_emulator.reset()
    account = connect(emulator=_sample_emulator, rate_scale=50, retry_timeout_seconds=10)
    return run_report(account, tmp_path_factory.mktemp("report") / "out", previous=PREVIOUS, progress=False)


def test_history_is_read_by_plain_pandas_and_pyarrow_dataset(first: dict[str, Any]) -> None:
    history = first["history"]
    snap = first["snapshot"]
    users = pd.read_parquet(history / "users")
    assert len(users) == len(snap.users) > 0
    assert set(users["snapshot_time"].astype(str)) == {snap.snapshot_time.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert sorted(users["user_name"]) == sorted(snap.users["user_name"])
    findings = ds.dataset(history / "findings", format="parquet", partitioning="hive").to_table().to_pandas()
    assert sorted(findings["finding_id"]) == sorted(first["findings"]["finding_id"])


def test_remediation_sql_parses_back_with_every_statement_of_the_findings(first: dict[str, Any]) -> None:
    path = first["remediation"]
    assert path.name == "remediation.sql" and path.parent == first["report"].parent
    statements = parse_script(path.read_text())
    expected = {" ".join(s.split()) for text in first["findings"]["remediation"] for s in split(text).sql}
    assert {" ".join(s.text.split()).rstrip(";") + ";" for s in statements} == expected
    assert len(statements) == len(expected) > 5  # each once, though two rules ask for one REVOKE
    revokes = [s for s in statements if s.kind == "revoke" and s.full_name == "prod_sales"]
    assert [s.principal for s in revokes] == ["969d34ff-dc75-46cb-8fe0-11b6ffb6ad7c"]
    # The service principal is named in the comments, by name and id.
    assert "-- etl-prod-runner (969d34ff-dc75-46cb-8fe0-11b6ffb6ad7c) on CATALOG prod_sales" in path.read_text()


def test_findings_are_grouped_by_rule_with_names_and_informational_rows_apart(first: dict[str, Any]) -> None:
    findings = first["findings"]
    page = first["report"].read_text()
    tables = parsed(page)
    for rule, rows in findings.groupby("rule"):
        table = tables.tables[f"table-{rule}"]
        assert len(table) - 1 == len(rows), rule  # one heading row
    # Informational rules come after the "Informational" heading, the others before it.
    order = tables.ids
    info = order.index("informational")
    for rule, severity in findings.groupby("rule")["severity"].first().items():
        assert (order.index(f"rule-{rule}") > info) == (severity == "info"), rule
    # A service principal shows by name with its application id beside; SQL and advice apart.
    sp_rows = tables.tables["table-sp_write_on_production"]
    heading = sp_rows[0]
    assert heading[:2] == ["principal", "securable"] and heading[3] == "advice" and heading[4].startswith("SQL")
    principal, _, _, advice, sql = sp_rows[1]
    assert principal == "etl-prod-runner | 969d34ff-dc75-46cb-8fe0-11b6ffb6ad7c"
    assert sql == "REVOKE MODIFY ON CATALOG prod_sales FROM `969d34ff-dc75-46cb-8fe0-11b6ffb6ad7c`;"
    assert advice == "Then grant the narrowest write it needs"
    # Prose-only advice never lands in the SQL column.
    for row in tables.tables["table-user_in_no_group"][1:]:
        assert row[4] == "" and row[3].startswith("Add ")
    riskiest = {row[0] for row in tables.tables["riskiest-table"][1:]}
    assert "etl-prod-runner | 969d34ff-dc75-46cb-8fe0-11b6ffb6ad7c" in riskiest
    assert not any(r.startswith("969d34ff") for r in riskiest)
    assert "sortable" in page and "<script>" in page and "http://" not in page.replace("http://www.w3.org", "")


def test_the_first_run_compares_with_previous(first: dict[str, Any]) -> None:
    earlier = compliance.evaluate(Snapshot.load(PREVIOUS))
    now, then = set(first["findings"]["finding_id"]), set(earlier["finding_id"])
    comparison = first["comparison"]
    assert first["previous"] == Snapshot.load(PREVIOUS).snapshot_time
    assert set(comparison["new"]["finding_id"]) == now - then
    assert set(comparison["resolved"]["finding_id"]) == then - now
    assert comparison["unchanged"] == len(now & then)
    # The planted changes since last week: a new MODIFY grant and a new privileged member.
    assert {"access_widened", "sp_write_on_production"} <= set(comparison["new"]["rule"])
    tables = parsed(first["report"].read_text())
    assert len(tables.tables["comparison-new"]) - 1 == len(now - then)
    page = first["report"].read_text()
    assert "Only one snapshot so far" not in page and "One snapshot so far" not in page
    assert 'alt="findings per severity over time"' in page  # two points: the previous one and this one


def test_bad_previous_is_an_error(account: Any, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a folder"):
        run_report(account, tmp_path / "out", previous=tmp_path / "missing", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="no complete snapshot"):
        run_report(account, tmp_path / "out", previous=tmp_path / "empty", progress=False)


def test_a_failed_run_then_a_good_run_into_the_same_folder(emu: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    wrong = connect(host=emu.host, account_id=emu.account_id, token="wrong-token", retry_timeout_seconds=10)
    failed = run_report(wrong, out, progress=False)
    assert failed["complete"] is False
    page = failed["report"].read_text()
    assert page.splitlines()[0].startswith("<!doctype html><!-- INCOMPLETE: ")
    assert failed["headline"].startswith("INCOMPLETE: ")
    assert 'id="incomplete-banner"' in page and 'id="not-read"' in page
    not_read = parsed(page)
    assert any("The list of users could not be read" in line and "Unauthenticated" in line
               for line in failed["not_read"])
    assert "not-read-list" in not_read.ids
    assert "wrong-token" not in page and "wrong-token" not in failed["remediation"].read_text()
    assert failed["remediation"].read_text().startswith("-- INCOMPLETE snapshot")
    # Kept apart, never in the history.
    assert not (out / "history" / "users").exists()
    assert pd.read_parquet(out / "incomplete" / "completeness")["object_type"].tolist()
    good = connect(emulator=emu, rate_scale=50, retry_timeout_seconds=10)
    second = run_report(good, out, progress=False)
    assert second["complete"] is True and second["previous"] is None and second["comparison"] is None
    assert len(pd.read_parquet(out / "history" / "users")) == len(second["snapshot"].users)
    assert "INCOMPLETE" not in second["report"].read_text().splitlines()[0]


def test_an_empty_failed_snapshot_already_in_history_is_never_the_previous(emu: Emulator, tmp_path: Path) -> None:
    """What the earlier version stored after a failed run: an empty snapshot in history."""
    from scimkit.snapshot import snapshot

    out = tmp_path / "out"
    wrong = connect(host=emu.host, account_id=emu.account_id, token="wrong-token", retry_timeout_seconds=10)
    snapshot(wrong, progress=False).save(out / "history")
    good = connect(emulator=emu, rate_scale=50, retry_timeout_seconds=10)
    result = run_report(good, out, previous=PREVIOUS, progress=False)
    assert result["previous"] == Snapshot.load(PREVIOUS).snapshot_time

"""Drift on the sample tenant and the sample roster finds each planted difference (manifest "drift")
with its cause, and nothing else. Entra is read through msal and the Graph reader only."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from scimkit.connect import connect
from scimkit.drift import drift
from scimkit.snapshot import snapshot
from scimkit.sources.roster import read_roster

from .test_entra_source import _reader
from .test_entra_tenant import TENANT, emu  # noqa: F401 - the module fixture

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
PLANTED = json.loads((SAMPLE / "manifest.json").read_text())["drift"]


@pytest.fixture(scope="module")
def snap(emu):  # noqa: ANN001,ANN201,F811
    return snapshot(connect(emulator=emu), progress=False)


def _by_kind(kind: str) -> list[dict]:
    return [p for p in PLANTED["planted_entra"] if p["kind"] == kind]


def test_entra_drift_is_exactly_the_planted_differences(emu, snap) -> None:  # noqa: ANN001,F811
    reader = _reader(emu)
    frame = drift(reader.read(application_id=TENANT["databricks_application"]["id"]), snap)
    found = {(r.kind, r.subject, r.group, r.cause) for r in frame.itertuples()}
    expected = set()
    for p in _by_kind("disabled_but_active"):
        expected.add(("active_mismatch", p["user"], "", "disabled but still active"))
    for p in _by_kind("renamed_group"):
        expected.add(("renamed_group", p["group"], p["databricks_name"], "renamed"))
    for p in _by_kind("sync_pending_membership"):
        expected |= {("missing_membership", u, p["group"], "sync pending") for u in p["users"]}
    for p in _by_kind("nested_not_flattened"):
        expected |= {("missing_membership", u, p["group"], "nested group not flattened") for u in p["users"]}
    for p in _by_kind("group_never_arrived"):
        expected.add(("missing_group", p["group"], "", "sync pending"))
    for p in _by_kind("deleted_in_console"):
        expected.add(("missing_user", p["user"], "", "deleted in the console"))
    for p in _by_kind("not_assigned"):
        expected.add(("missing_user", p["user"], "", "not assigned to the application"))
    assert found == expected
    assert len(frame) == len(expected) and set(frame["fix_in"]) == {"identity provider", "Databricks"}
    nested = frame[frame.cause == "nested group not flattened"]
    assert set(nested.detail) == {"through nested group Sales.Leads"}


def test_roster_drift_is_exactly_the_planted_changes(snap) -> None:  # noqa: ANN001
    roster = read_roster(SAMPLE / "roster.csv", snapshot=snap, as_of=date.fromisoformat(PLANTED["roster_as_of"]))
    frame = drift(roster, snap)
    found = {(r.kind, r.subject, r.group, r.cause) for r in frame.itertuples()}
    expected = set()
    for p in PLANTED["planted_roster"]:
        if p["kind"] == "joiner":
            expected.add(("missing_user", p["user"], "", "joiner not provisioned"))
        elif p["kind"] == "leaver":
            expected.add(("active_mismatch", p["user"], "", "leaver still active"))
        elif p["kind"] == "workspace_missing":
            expected.add(("missing_assignment", p["user"], p["workspace"], "mover not applied"))
        elif p["kind"] == "workspace_mover":
            expected.add(("missing_assignment", p["user"], p["to"], "mover not applied"))
            expected.add(("extra_assignment", p["user"], p["from"], "mover not applied"))
        else:
            assert p["kind"] == "mover"
            expected.add(("missing_membership", p["user"], p["to"], "mover not applied"))
            expected.add(("extra_membership", p["user"], p["from"], "mover not applied"))
    assert found == expected
    assert len(frame) == len(expected) and set(frame.fix_in) == {"Databricks"}
    extra = frame[frame.kind == "extra_assignment"]
    assert list(extra.detail) == ["direct assignment (USER); not listed in the roster"]


def test_roster_workspaces_count_access_through_groups(snap, tmp_path) -> None:  # noqa: ANN001
    """A workspace reached through a group is not missing; one named by id is the same workspace; an
    empty cell says nothing; a direct assignment the cell does not list is extra."""
    ws = {str(r.workspace_name): int(r.workspace_id) for r in snap.workspaces.itertuples()}
    text = ("email,display_name,groups,workspaces,start_date,end_date\n"
            "aisha.silva@company.com,Aisha Silva,Analysts.NonProd,company-prod;company-analytics,2024-04-02,\n"
            f"david.sorensen@company.com,David Sorensen,,{ws['company-prod']},2021-05-03,\n"
            "javier.muller@company.com,Javier Muller,Legal,,2022-01-10,\n")
    (tmp_path / "r.csv").write_text(text)
    roster = read_roster(tmp_path / "r.csv", snapshot=snap, as_of=date.fromisoformat(PLANTED["roster_as_of"]))
    assert drift(roster, snap).empty
    (tmp_path / "r.csv").write_text(text.replace(f",{ws['company-prod']},", ",company-analytics;company-dev,"))
    roster = read_roster(tmp_path / "r.csv", snapshot=snap, as_of=date.fromisoformat(PLANTED["roster_as_of"]))
    found = {(r.kind, r.subject, r.group) for r in drift(roster, snap).itertuples()}
    assert found == {("missing_assignment", "david.sorensen@company.com", "company-analytics"),
                     ("missing_assignment", "david.sorensen@company.com", "company-dev"),
                     ("extra_assignment", "david.sorensen@company.com", "company-prod")}

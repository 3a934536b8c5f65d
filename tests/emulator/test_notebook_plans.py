"""The onboarding and offboarding notebooks' helpers (scimkit.notebook_plans) on the sample account:
proposals from a roster, Entra groups and leavers, problems as rows instead of tracebacks, and the
interactive apply (button, confirmation) writing to the account only after the confirmation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scimkit import notebook_plans as nbp
from scimkit import plans, snapshot

ROOT = Path(__file__).resolve().parents[2]
ROSTER = ROOT / "sample_data" / "roster.csv"
AS_OF = json.loads((ROOT / "sample_data" / "manifest.json").read_text())["drift"]["roster_as_of"]


@pytest.fixture
def snap(account):  # noqa: ANN001, ANN201 - a Snapshot
    return snapshot(account, progress=False)


def test_the_button_applies_only_after_confirmation(account, snap, tmp_path: Path) -> None:
    proposal = nbp.onboarding_proposal(account, snap, roster=ROSTER, today=AS_OF)
    assert proposal.ok and proposal.size == 17
    journal = nbp.journal_for(tmp_path / "journal.jsonl")
    panel = nbp.ConfirmApply(proposal.plan, account, journal)
    assert panel.apply_button.description == "Apply 17 changes..."

    panel.apply_button.click()  # asks; writes nothing
    assert panel.confirm_box.layout.display == "flex" and panel.apply_button.disabled
    assert account.account_id in panel.question.value
    panel.cancel_button.click()
    assert panel.result is None and not (tmp_path / "journal.jsonl").exists()
    assert plans.apply(proposal.plan, account).outcomes[0].outcome == "would_apply"

    panel.apply_button.click()
    panel.confirm_button.click()
    assert panel.result is not None and panel.result.changed == 17
    assert panel.apply_button.description == "Applied: 17 change(s) written"
    assert len(nbp.journal_table(journal, proposal.plan.plan_id)) == 34  # before and after each change
    # the account changed: the same roster plans nothing now
    assert nbp.onboarding_proposal(account, snapshot(account, progress=False), roster=ROSTER, today=AS_OF).size == 0


def test_bad_input_becomes_rows_naming_the_fix(account, snap, tmp_path: Path) -> None:
    both = nbp.onboarding_proposal(account, snap, roster=ROSTER, entra_groups="Legal")
    assert not both.ok and both.problems["kind"].tolist() == ["source"]

    bad = tmp_path / "roster.csv"
    bad.write_text("email,display_name,groups,workspaces,start_date,end_date\n"
                   "new.person@company,New Person,Analysts.NonProd,,2026-11-30,\n"
                   "other.person@company.com,Other Person,Analysts.NonPrd,company-nowhere,2026-11-30,\n")
    proposal = nbp.onboarding_proposal(account, snap, roster=bad, workspaces="no-such-ws", today=AS_OF)
    assert proposal.plan is None and proposal.size == 0
    rows = proposal.problems
    assert set(rows["kind"]) == {"malformed_email", "unknown_group", "unknown_workspace"}
    assert rows.loc[rows["kind"] == "unknown_group", "problem"].iloc[0].endswith("(did you mean `analysts.nonprod`?).")
    assert "no-such-ws" in set(rows["value"])
    with pytest.raises(Exception, match="problem\\(s\\) in the input; nothing was planned"):
        nbp.finish(proposal, None)


def test_entra_groups_cover_their_members_and_unknown_names_are_rows(account, snap) -> None:
    proposal = nbp.onboarding_proposal(account, snap, entra_groups="Analysts.NonProd; Analysts.NonPord",
                                       workspaces="company-analytics")
    assert proposal.problems["value"].tolist() == ["Analysts.NonPord"]
    assert "did you mean `Analysts.NonProd`" in proposal.problems["problem"].iloc[0]

    proposal = nbp.onboarding_proposal(account, snap, entra_groups="Analysts.NonProd", workspaces="company-analytics")
    assert proposal.ok
    frame = proposal.plan.frame()
    # the sample tenant's pending members (manifest: sync_pending_membership) join the group
    added = set(frame.loc[frame["kind"] == "add_to_group", "target"])
    assert {"alex@company.com in Analysts.NonProd", "jaya@company.com in Analysts.NonProd"} <= added
    ws = snap.workspaces.loc[snap.workspaces["workspace_name"] == "company-analytics", "workspace_id"].iloc[0]
    wa = snap.workspace_assignments
    assigned = set(wa.loc[wa["workspace_id"] == ws, "principal_name"].str.casefold())
    expected = {f"{p} on {ws}" for p in proposal.people if p.casefold() not in assigned}
    assert expected and set(frame.loc[frame["kind"] == "assign_workspace", "target"]) == expected


def test_offboarding_the_roster_leavers_lists_what_they_hold_and_own(account, snap) -> None:
    proposal = nbp.offboarding_proposal(snap, roster=ROSTER, today=AS_OF, fallback_owner="Platform.Admins")
    assert proposal.people == ["adele.fontaine@company.com", "clara.keller@company.com"]
    held = nbp.holdings(snap, proposal.people)
    assert set(held["relation"]) == {"member of", "owns"}
    owned = held.loc[held["relation"] == "owns", "subject"].tolist()
    kinds = proposal.plan.frame()["kind"].tolist()
    assert kinds.count("deactivate") == 2 and kinds.count("transfer_ownership") == len(owned) == 1

    typo = nbp.offboarding_proposal(snap, leavers="clara.keller@company.com, nobody@company.com")
    assert typo.plan is None and typo.problems["value"].tolist() == ["nobody@company.com"]
    assert nbp.offboarding_proposal(snap, roster=ROSTER, today="2026-01-01").problems["kind"].tolist() == ["no_leavers"]


def test_ticking_drift_kinds_replans_and_offers_the_apply(account, snap, tmp_path: Path) -> None:
    from scimkit.drift import drift

    source = nbp.read_source(account, snap)  # the sample Entra tenant the emulator serves
    frame = drift(source, snap)
    by_cause = nbp.drift_by_cause(frame)
    assert by_cause["rows"].sum() == len(frame) and by_cause["rows"].is_monotonic_decreasing
    assert by_cause.iloc[0].to_dict() == {"kind": "missing_membership", "cause": "nested group not flattened",
                                          "fix_in": "identity provider", "rows": 2}
    planner = nbp.DriftPlanner(frame, snap, account, nbp.journal_for(tmp_path / "j.jsonl"), source,
                               kinds="active_mismatch")
    assert planner.kinds == ["active_mismatch"] and planner.proposal.size == 1
    planner.boxes["missing_user"].value = True  # observed: the plan is built again
    assert planner.proposal.size == 2
    assert {c.kind for c in planner.proposal.plan} == {"create_user", "deactivate"}
    for box in planner.boxes.values():
        box.value = False
    assert planner.proposal.size == 0 and planner.kinds == []
    assert nbp.drift_proposal(frame, snap, "missing_usr").problems["kind"].tolist() == ["unknown_kind"]

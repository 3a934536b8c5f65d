"""Offboarding the sample leavers: the plan's report lists what each held directly and owned (with a
proposed new owner), whatever state the plan was built from; after apply, the compliance report on
a fresh snapshot no longer flags them."""

from __future__ import annotations

from pathlib import Path

import pytest

from scimkit import compliance, plans, snapshot
from scimkit.errors import InvalidInput

LEAVER = "clara.keller@company.com"  # the roster's leaver; owns a production table
DEACTIVATED = "aisha.ortiz@company.com"  # deactivated, still granted SELECT and MODIFY directly
OWNED = "TABLE prod_sales.forecasts.q4_pipeline_adhoc"
FALLBACK = "Platform.Admins"


def _flagged(findings, who: str) -> set[str]:  # noqa: ANN001
    return set(findings.loc[findings["principal"].astype(str).str.casefold() == who, "rule"])


def test_read_state_reads_the_catalog_for_anything_but_additions(account) -> None:  # noqa: ANN001
    for plan in (None, plans.Plan([plans.Deactivate(user_name=LEAVER)]),
                 plans.Plan([plans.RemoveFromGroup(group="Sales.Ops", member=LEAVER)])):
        state = plans.read_state(account, plan)
        assert state.is_complete and len(state.securables) > 0
        assert (state.securables["owner"] == LEAVER).any()
    additions = plans.read_state(account, plans.Plan([plans.AddToGroup(group="Sales.Ops", member=LEAVER)]))
    assert additions.securables.empty and not additions.is_complete  # says the catalog was not read
    with pytest.raises(InvalidInput, match="Unity Catalog"):
        plans.offboarding(additions, LEAVER, fallback_owner=FALLBACK)


def test_offboarding_lists_held_and_owned_and_clears_the_findings(account, tmp_path: Path) -> None:  # noqa: ANN001
    before = compliance.evaluate(snapshot(account, progress=False))
    assert "securable_owned_by_user" in _flagged(before, LEAVER)
    assert "deactivated_principal_access" in _flagged(before, DEACTIVATED)
    was = before[before["principal"].astype(str).str.casefold() == DEACTIVATED]
    assert was["detail"].str.contains("SELECT|MODIFY|grant", case=False).any(), was["detail"].tolist()

    state = plans.read_state(account, plans.Plan([plans.Deactivate(user_name=LEAVER)]))
    plan = plans.offboarding(state, LEAVER, fallback_owner=FALLBACK)
    owned = [r for r in plan.report if r["topic"] == "owned"]
    assert [(r["detail"], r["proposal"]) for r in owned] == [(OWNED, f"transfer to {FALLBACK}")]
    transfer = [c for c in plan if isinstance(c, plans.TransferOwnership)]
    assert [(c.full_name, c.new_owner, c.previous_owner) for c in transfer] == [
        ("prod_sales.forecasts.q4_pipeline_adhoc", FALLBACK, LEAVER)]
    assert {c.kind for c in plan} >= {"deactivate", "remove_from_group", "transfer_ownership"}
    assert not any(isinstance(c, plans.Delete) for c in plan)  # deactivate, never delete

    held_plan = plans.offboarding(plans.read_state(account), DEACTIVATED, fallback_owner=FALLBACK)
    held = [r for r in held_plan.report if r["topic"] == "held directly"]
    assert held and all("SELECT" in r["detail"] or "MODIFY" in r["detail"] for r in held)
    assert {c.kind for c in held_plan} >= {"revoke"}

    for p, name in ((plan, "clara"), (held_plan, "aisha")):
        result = plans.apply(p, account, journal=tmp_path / f"{name}.jsonl", dry_run=False)
        assert result.ok, result.text()

    after = compliance.evaluate(snapshot(account, progress=False))
    assert "securable_owned_by_user" not in _flagged(after, LEAVER)
    assert not _flagged(after, LEAVER)
    # what remains for the deactivated user is only the membership the identity provider must remove
    rest = after[after["principal"].astype(str).str.casefold() == DEACTIVATED]
    assert not rest["detail"].str.contains("SELECT|MODIFY|grant", case=False).any(), rest["detail"].tolist()
    assert any("Sales.EMEA" in r["subject"] + r["detail"] for r in held_plan.report
               if r["topic"] == "membership in an IdP group")
    users = snapshot(account, progress=False).users
    assert not users.loc[users["user_name"] == LEAVER, "active"].iloc[0]

""""Make Databricks match the source": a plan from the drift of the sample tenant (Entra, read through
msal and Graph) and of the sample roster, applied; drift again shows none of the chosen kinds left,
except what the plan reported as the identity provider's to fix."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from scimkit import plans
from scimkit.drift import drift
from scimkit.errors import InvalidInput
from scimkit.snapshot import snapshot
from scimkit.sources import entra
from scimkit.sources.roster import read_roster

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
TENANT = json.loads((SAMPLE / "entra_tenant.json").read_text())
AS_OF = date.fromisoformat(json.loads((SAMPLE / "manifest.json").read_text())["drift"]["roster_as_of"])


def _entra(emu):  # noqa: ANN001, ANN202
    client = TENANT["clients"][0]
    creds = entra.EntraCredentials(TENANT["tenant_id"], client["client_id"], client["client_secret"])
    reader = entra.GraphReader(creds, session=entra.redirected_session(emu.host), sleep=lambda s: None)
    return reader.read(application_id=TENANT["databricks_application"]["id"])


def _rows(frame, kinds) -> set[tuple[str, str, str]]:  # noqa: ANN001
    return {(r.kind, r.subject.casefold(), r.group) for r in frame.itertuples()
            if r.kind in kinds and r.fix_in == "Databricks"}


def _reported(plan) -> set[str]:  # noqa: ANN001
    return {item["subject"].casefold() for item in plan.report}


def test_match_entra_then_no_drift_of_the_chosen_kinds(account, emu, tmp_path: Path) -> None:  # noqa: ANN001
    source = _entra(emu)
    snap = snapshot(account, progress=False)
    before = drift(source, snap)
    plan = plans.from_drift(before, snap, source=source)
    kinds = set(plan.frame()["kind"])
    # marta was deleted in the console: re-created; aisha is disabled in Entra: deactivated
    assert {"create_user", "deactivate"} <= kinds, plan.text()
    targets = set(plan.frame()["target"])
    assert "marta.lindqvist@company.com" in targets and "aisha.lehmann@company.com" in targets
    # fixes that belong to the identity provider are reported, not planned
    idp_rows = before[before.fix_in == "identity provider"]
    assert len(idp_rows) > 0
    assert sum(item["detail"] == "the fix is in the identity provider" for item in plan.report) == len(idp_rows)
    assert not any(c.target.startswith("oskar.brenner") for c in plan)  # not assigned: Entra's to fix
    # the renamed group has no change that fixes it through the API: reported
    assert any(item["topic"].startswith("drift: renamed_group") for item in plan.report)

    result = plans.apply(plan, account, journal=tmp_path / "j.jsonl", dry_run=False)
    assert result.ok, result.text()
    after = drift(source, snapshot(account, progress=False))
    left = _rows(after, plans.PLANNABLE_DRIFT)
    assert left <= {(k, s, g) for k, s, g in left if s in _reported(plan) or f"{s} in {g}".casefold()
                    in _reported(plan)}, left
    assert not any(r.kind == "active_mismatch" and r.fix_in == "Databricks" for r in after.itertuples())
    assert not any(r.kind == "missing_user" and r.fix_in == "Databricks" for r in after.itertuples())
    # what Entra must fix is still there, unchanged
    assert set(idp_rows["subject"]) <= set(after["subject"]) | {"marta.lindqvist@company.com"}


def test_match_the_roster_then_no_drift_of_the_chosen_kinds(account, tmp_path: Path) -> None:  # noqa: ANN001
    snap = snapshot(account, progress=False)
    source = read_roster(SAMPLE / "roster.csv", snapshot=snap, as_of=AS_OF)
    before = drift(source, snap)
    chosen = ("missing_user", "missing_membership", "extra_membership", "active_mismatch")
    plan = plans.from_drift(before, snap, kinds=chosen, source=source)
    frame = plan.frame()
    assert {"create_user", "add_to_group", "remove_from_group", "deactivate"} <= set(frame["kind"]), plan.text()
    result = plans.apply(plan, account, journal=tmp_path / "j.jsonl", dry_run=False)
    assert result.ok, result.text()
    after = drift(source, snapshot(account, progress=False))
    left = _rows(after, chosen)
    # only what the plan reported (a membership of a group Entra provisions) is left
    reported = _reported(plan)
    assert all(f"{s} in {g}".casefold() in reported for _, s, g in left), (left, plan.text())
    assert len(left) < len(_rows(before, chosen))
    assert not any(r.kind in ("missing_user", "active_mismatch") for r in after.itertuples())


def test_only_the_chosen_kinds_are_planned(account) -> None:  # noqa: ANN001
    snap = snapshot(account, progress=False)
    source = read_roster(SAMPLE / "roster.csv", snapshot=snap, as_of=AS_OF)
    frame = drift(source, snap)
    plan = plans.from_drift(frame, snap, kinds=["missing_membership"], source=source)
    assert set(plan.frame()["kind"]) == {"add_to_group"}
    assert any(item["detail"] == "kind not chosen" for item in plan.report)
    with pytest.raises(InvalidInput, match="no_such_kind"):
        plans.from_drift(frame, snap, kinds=["no_such_kind"])

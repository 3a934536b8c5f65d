"""scimkit.identities against the emulator, through the real SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from databricks.sdk.errors import NotFound

from scimkit import identities as ids
from scimkit.connect import Account, connect
from scimkit.emulator import start
from scimkit.errors import ConflictError, InvalidInput, ManagedByIdentityProvider, UnknownPrincipal

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"






def seed(name: str) -> list[dict]:
    return json.loads((SAMPLE / f"{name}.json").read_text())


def test_full_read_matches_the_seed(account: Account) -> None:
    read = ids.read_identities(account, progress=False)
    assert read.failures == []
    assert {u.user_name for u in read.users} == {u["userName"] for u in seed("users")}
    assert {g.group_name for g in read.groups} == {g["displayName"] for g in seed("groups")}
    seeded_members = {g["displayName"]: {m["value"] for m in g.get("members", [])} for g in seed("groups")}
    assert {g.group_name: {m.member_id for m in g.members} for g in read.groups} == seeded_members
    member_types = {m.member_type for g in read.groups for m in g.members}
    assert member_types <= {"USER", "GROUP", "SERVICE_PRINCIPAL"} and "GROUP" in member_types
    assert {s.application_id for s in read.service_principals} >= {s["applicationId"] for s in seed("service_principals")}
    assert sorted(u.user_name for u in read.users if u.is_account_admin) == sorted(
        u["userName"] for u in seed("users") if any(r["value"] == "account_admin" for r in u.get("roles", [])))
    assert sum(not u.active for u in read.users) == sum(not u["active"] for u in seed("users"))
    assert [w.workspace_id for w in read.workspaces] == [w["workspace_id"] for w in seed("workspaces")]
    seeded_assignments = sum(len(w["assignments"]) for w in seed("workspaces"))
    # The emulator's admin service principal is ADMIN on every workspace as well.
    assert len(read.assignments) == seeded_assignments + len(read.workspaces) - _admin_already_assigned()


def _admin_already_assigned() -> int:
    return sum(1 for w in seed("workspaces") for x in w["assignments"] if x["principal_id"] == "9000000000000001")


def test_failed_group_reads_are_recorded_not_skipped(emu) -> None:  # noqa: ANN001
    group = next(g for g in seed("groups") if g["displayName"] == "Analysts.NonProd")
    emu.app.faults.add_fault(f"GET:/Groups/{group['id']}$:404:1")
    read = ids.read_identities(connect(emulator=emu, retry_timeout_seconds=10), progress=False)
    assert [(f.object_type, f.object_name, f.operation) for f in read.failures] == [
        ("group", "Analysts.NonProd", "a.groups.get")]
    assert "NotFound" in read.failures[0].error
    assert len(read.groups) == len(seed("groups"))


def test_ensure_user_is_idempotent_and_resolves_conflicts(account: Account) -> None:
    user, change = ids.ensure_user(account, "new.joiner@company.com", "New Joiner")
    assert change.changed and user.id
    again, change = ids.ensure_user(account, "new.joiner@company.com", "New Joiner")
    assert again.id == user.id and not change.changed
    with pytest.raises(ConflictError, match="'New Joiner', not the requested 'Someone Else'"):
        ids.ensure_user(account, "NEW.JOINER@company.com", "Someone Else")
    with pytest.raises(InvalidInput, match="not a valid email"):
        ids.ensure_user(account, "not-an-email")


def test_ensure_group_and_service_principal(account: Account) -> None:
    group, change = ids.ensure_group(account, "Finance.Auditors")
    assert change.changed
    assert not ids.ensure_group(account, "Finance.Auditors")[1].changed
    sp, change = ids.ensure_service_principal(account, "report-bot")
    assert change.changed and sp.application_id
    assert not ids.ensure_service_principal(account, "report-bot", sp.application_id)[1].changed
    with pytest.raises(ConflictError):
        ids.ensure_service_principal(account, "other-name", sp.application_id)


def test_add_and_remove_members_in_one_patch(emu, account: Account) -> None:  # noqa: ANN001
    emu.app.faults.reset_stats()
    change = ids.add_members(account, "Analysts.NonProd", ["alex@company.com", "jaya@company.com"])
    assert change.changed and change.detail == "added alex@company.com, jaya@company.com"
    assert emu.stats()["requests"]["scim-patch"] == 1
    again = ids.add_members(account, "Analysts.NonProd", ["alex@company.com", "jaya@company.com"])
    assert not again.changed and emu.stats()["requests"]["scim-patch"] == 1
    group = ids.find_group(account, "Analysts.NonProd")
    names = {m.display for m in account.a.groups.get(group.id).members}
    assert {"Alex Morgan", "Jaya Raman"} <= names
    removed = ids.remove_members(account, "Analysts.NonProd", ["alex@company.com"])
    assert removed.changed
    assert "Alex Morgan" not in {m.display for m in account.a.groups.get(group.id).members}


def test_unknown_names_are_refused_before_any_write(emu, account: Account) -> None:  # noqa: ANN001
    emu.app.faults.reset_stats()
    with pytest.raises(UnknownPrincipal, match="nobody@company.com"):
        ids.add_members(account, "Analysts.NonProd", ["alex@company.com", "nobody@company.com"])
    with pytest.raises(NotFound):  # UnknownPrincipal is also the SDK's NotFound
        ids.add_members(account, "No.Such.Group", ["alex@company.com"])
    assert "scim-patch" not in emu.stats()["requests"]


def test_identity_provider_groups_say_where_to_change_them(account: Account) -> None:
    synced = next(g["displayName"] for g in seed("groups") if g.get("_provisioned_by_idp"))
    with pytest.raises(ManagedByIdentityProvider, match="Make this change in the identity provider"):
        ids.add_members(account, synced, ["alex@company.com"])


def test_deactivate_and_reactivate(account: Account) -> None:
    assert ids.deactivate_user(account, "alex@company.com").changed
    assert ids.find_user(account, "alex@company.com").active is False
    assert not ids.deactivate_user(account, "alex@company.com").changed
    assert ids.reactivate_user(account, "alex@company.com").changed
    assert ids.find_user(account, "alex@company.com").active is True


def test_workspace_assignment_is_idempotent(emu, account: Account) -> None:  # noqa: ANN001
    workspace_id = seed("workspaces")[1]["workspace_id"]
    assert ids.assign_to_workspace(account, workspace_id, "jaya@company.com").changed
    assert not ids.assign_to_workspace(account, workspace_id, "jaya@company.com").changed
    assert ids.assign_to_workspace(account, workspace_id, "jaya@company.com", "ADMIN").changed
    assert ids.unassign_from_workspace(account, workspace_id, "jaya@company.com").changed
    assert not ids.unassign_from_workspace(account, workspace_id, "jaya@company.com").changed
    with pytest.raises(InvalidInput, match="USER or ADMIN"):
        ids.assign_to_workspace(account, workspace_id, "jaya@company.com", "OWNER")


def test_rate_limited_identity_read_lets_no_429_through() -> None:
    with start(rate_limits=True) as emu:
        account = connect(emulator=emu, retry_timeout_seconds=10)
        read = ids.read_identities(account, progress=False)
        assert read.failures == []
        stats = requests.get(f"{emu.host}/_scimkit/stats", timeout=5).json()
        assert stats["throttled"] == {}, stats
        groups, users = len(seed("groups")), len(seed("users"))
        assert stats["requests"]["scim-get"] == groups  # one GET per group
        pages = (users // 100 + 1) + 1 + 1  # users (+ the SDK's empty page), service principals, groups
        assert stats["requests"]["scim-list"] == pages + 1 + 1


@pytest.mark.parametrize("action", ["lost", "drop"])
def test_creates_whose_answer_was_lost_happen_exactly_once(emu, account: Account, action: str) -> None:  # noqa: ANN001
    emu.app.faults.add_fault(f"POST:/ServicePrincipals$:{action}:1")
    emu.app.faults.add_fault(f"POST:/Users$:{action}:1")
    sp, change = ids.ensure_service_principal(account, "lost-answer-bot")
    assert change.changed and "answer was lost" in change.detail
    found = list(account.a.service_principals.list(filter='displayName eq "lost-answer-bot"'))
    assert [s.id for s in found] == [sp.id]  # one, not two
    user, change = ids.ensure_user(account, "lost.answer@company.com")
    assert change.changed and "answer was lost" in change.detail and user.id
    assert emu.stats()["faults_injected"] == 2


def test_an_unassignment_whose_answer_was_lost_is_reported_as_made(emu, account: Account) -> None:  # noqa: ANN001
    workspace_id = seed("workspaces")[1]["workspace_id"]
    assert ids.assign_to_workspace(account, workspace_id, "jaya@company.com").changed
    emu.app.faults.add_fault("DELETE:/permissionassignments/principals/:lost:1")
    change = ids.unassign_from_workspace(account, workspace_id, "jaya@company.com")
    assert change.changed and change.detail.startswith("removed")
    assert not ids.unassign_from_workspace(account, workspace_id, "jaya@company.com").changed

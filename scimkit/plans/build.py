"""Plans from the places changes come from: a source of identities (HR roster or Entra ID:
joiners, movers and leavers relative to `today`), one leaver (offboarding), a desired-grants file
or a GRANT/REVOKE script. Builders read a snapshot and never write; what they find but do not
change (a grant nobody listed, what a leaver owned) goes into the plan's report."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from ..catalog import normalise_privilege, normalise_securable_type
from ..errors import InvalidInput
from ..sources.records import SourceIdentities, SourcePerson
from ..sql_script import parse_script
from .changes import (
    AddToGroup,
    AssignWorkspace,
    Change,
    CreateUser,
    Deactivate,
    Grant,
    Reactivate,
    RemoveFromGroup,
    Revoke,
    SetDisplayName,
    TransferOwnership,
    UnassignWorkspace,
)
from .plan import Plan
from .validate import IDP_FIX, AccountView


def _item(topic: str, subject: str, detail: str, proposal: str = "") -> dict[str, str]:
    return {"topic": topic, "subject": subject, "detail": detail, "proposal": proposal}


def _needs_catalog(snapshot: Any, what: str) -> None:
    """Refuse a snapshot whose Unity Catalog was not read: it would show a leaver holding nothing."""
    c = snapshot.completeness
    if len(c) and (c["object_type"] == "unity_catalog").any():
        raise InvalidInput(f"{what} needs Unity Catalog (what the leaver holds and owns), and this snapshot of "
                           f"account {snapshot.account_id} has no catalog read.", field="snapshot",
                           fix="pass scimkit.snapshot(account) or plans.read_state(account)")


def _direct_groups(snapshot: Any, name: str) -> list[str]:
    m = snapshot.memberships
    return sorted(m.loc[m["member_name"].str.casefold() == name.casefold(), "group_name"], key=str.casefold)


# -- offboarding ---------------------------------------------------------------------------------

def offboarding(snapshot: Any, leaver: str, fallback_owner: str | None = None, manager: str | None = None,
                revoke_direct_grants: bool = True, reason: str | None = None) -> Plan:
    """Deactivate (never delete) `leaver`, remove their memberships, unassign their workspaces, revoke
    what they hold directly and hand what they own to their manager's group (or `fallback_owner`).
    The report lists what they held and owned, memberships the identity provider must remove, and
    what the API cannot show (service principals they created, their tokens)."""
    view = AccountView.of(snapshot)
    changes, report = _offboard(snapshot, view, leaver, fallback_owner, manager, revoke_direct_grants,
                                reason or f"offboarding {leaver}")
    return Plan(changes, source=f"offboarding {leaver}", report=report)


def _offboard(snapshot: Any, view: AccountView, leaver: str, fallback_owner: str | None, manager: str | None,
              revoke_direct_grants: bool, reason: str) -> tuple[list[Change], list[dict[str, str]]]:
    _needs_catalog(snapshot, "offboarding")
    user = view.users.get(leaver.casefold())
    if user is None:
        raise InvalidInput(f"No user {leaver} in account {snapshot.account_id}.", field="leaver", value=leaver,
                           fix="check the email (the leaver may already have been deleted)")
    name = str(user["user_name"])
    changes: list[Change] = []
    report: list[dict[str, str]] = []
    for group in _direct_groups(snapshot, name):
        if view.idp_owned(group):
            report.append(_item("membership in an IdP group", name, f"member of {group}", IDP_FIX))
        else:
            changes.append(RemoveFromGroup(group=group, member=name, reason=reason))
    wa = snapshot.workspace_assignments
    for row in wa.loc[wa["principal_name"].str.casefold() == name.casefold()].to_dict("records"):
        changes.append(UnassignWorkspace(workspace=str(row["workspace_id"]), principal_name=name,
                                         previous=row["permission"], reason=reason))
    grants = snapshot.grants
    held = grants.loc[grants["principal"].str.casefold() == name.casefold()]
    for (stype, full_name), rows in held.groupby(["securable_type", "full_name"], sort=True):
        privileges = tuple(sorted(rows["privilege"]))
        report.append(_item("held directly", name, f"{', '.join(privileges)} on {stype} {full_name}",
                            "revoke" if revoke_direct_grants else "review"))
        if revoke_direct_grants:
            changes.append(Revoke(securable_type=stype, full_name=full_name, principal_name=name,
                                  privileges=privileges, reason=reason))
    new_owner = _proposed_owner(snapshot, view, manager, fallback_owner)
    sec = snapshot.securables
    for row in sec.loc[sec["owner"].str.casefold() == name.casefold()].to_dict("records"):
        subject = f"{row['securable_type']} {row['full_name']}"
        if new_owner:
            report.append(_item("owned", name, subject, f"transfer to {new_owner}"))
            changes.append(TransferOwnership(securable_type=row["securable_type"], full_name=row["full_name"],
                                             new_owner=new_owner, previous_owner=name, reason=reason))
        else:
            report.append(_item("owned", name, subject,
                                "no new owner: pass manager= (their manager's group) or fallback_owner="))
    report.append(_item("service principals and tokens", name,
                        "the account SCIM API does not record who created a service principal, and personal "
                        "access tokens are per workspace",
                        f"check each workspace: w.token_management.list(created_by_username='{name}')"))
    if user["active"]:
        changes.append(Deactivate(user_name=name, reason=reason))
    return changes, report


def _proposed_owner(snapshot: Any, view: AccountView, manager: str | None, fallback: str | None) -> str | None:
    if manager and manager.casefold() in view.users:
        groups = _direct_groups(snapshot, manager)
        if groups:
            return groups[0]
    return fallback


# -- sources: joiners, movers, leavers -------------------------------------------------------------

def onboarding(source: SourceIdentities, snapshot: Any, today: date | None = None,
               permission: str = "USER", fallback_owner: str | None = None, offboard_leavers: bool = True) -> Plan:
    """Make the account hold the source's people: joiners (started by `today`) are created or
    reactivated, added to their groups and assigned their workspaces; movers join new groups and
    leave groups the source manages (any group the source names) that it no longer lists them in;
    leavers (past their end date, or disabled) are offboarded. Future joiners are reported, not
    created. Changes on identity-provider groups are reported ("make this change in the identity
    provider"), never planned."""
    today = today or date.today()
    view = AccountView.of(snapshot)
    managed = {g.casefold() for p in source.people for g in p.groups} | {g.key for g in source.groups}
    changes: list[Change] = []
    report: list[dict[str, str]] = []
    for person in sorted(source.people, key=lambda p: p.key):
        state = _state(person, today)
        user = view.users.get(person.key)
        if state == "future":
            report.append(_item("future joiner", person.email, f"starts {person.start_date}", "plan again then"))
            continue
        if state == "leaver":
            if user is not None and offboard_leavers:
                manager = person.manager
                found, notes = _offboard(snapshot, view, person.email, fallback_owner, manager, True,
                                         f"leaver ({_why_leaver(person, today)})")
                changes += found
                report += notes
            continue
        reason = "joiner" if user is None else "in the source"
        if user is None:
            changes.append(CreateUser(user_name=person.email, display_name=person.display_name, reason="joiner"))
        else:
            if not user["active"]:
                changes.append(Reactivate(user_name=user["user_name"], reason="active in the source"))
            if person.display_name and user["display_name"] != person.display_name:
                changes.append(SetDisplayName(user_name=user["user_name"], display_name=person.display_name,
                                              previous=user["display_name"], reason="renamed in the source"))
        email = user["user_name"] if user is not None else person.email
        current = {g.casefold() for g in _direct_groups(snapshot, email)}
        wanted = {g.casefold(): g for g in (source.groups_of(person.email) or person.groups)}
        for key, group in sorted(wanted.items()):
            if key in current:
                continue
            if key in view.groups and view.idp_owned(group):
                report.append(_item("membership in an IdP group", email, f"should be in {group}", IDP_FIX))
                continue
            changes.append(AddToGroup(group=view.groups.get(key, {}).get("group_name", group), member=email,
                                      reason=reason if user is None else "mover: new group in the source"))
        for key in sorted(current - set(wanted)):
            if key in managed and not view.idp_owned(key):
                group = view.groups[key]["group_name"]
                changes.append(RemoveFromGroup(group=group, member=email, reason="mover: no longer in the source"))
        for workspace in person.workspaces:
            ws = view.workspace_id(workspace)
            if ws is not None and (ws, email.casefold()) in view.assignments:
                continue
            changes.append(AssignWorkspace(workspace=str(ws if ws is not None else workspace), principal_name=email,
                                           permission=permission, reason=reason))
    return Plan(changes, source=f"{source.kind} {source.origin}".strip(), report=report)


def _state(person: SourcePerson, today: date) -> str:
    if person.end_date is not None and person.end_date < today:
        return "leaver"
    if not person.active and person.start_date is None:
        return "leaver"  # disabled in the identity provider
    if person.start_date is not None and person.start_date > today:
        return "future"
    return "joiner"


def _why_leaver(person: SourcePerson, today: date) -> str:
    if person.end_date is not None and person.end_date < today:
        return f"last day {person.end_date}"
    return "disabled in the identity provider"


# -- grants ------------------------------------------------------------------------------------------

def from_grants(desired: Any, snapshot: Any, exclusive: Iterable[str] = ()) -> Plan:
    """Grants to add so the named principals hold what `desired` lists on the named securables.
    Only named (securable, principal) pairs are touched: a privilege they hold beyond the list, or a
    grant to someone nobody listed, is reported, never revoked, unless the securable is named in
    `exclusive` ("TYPE name" or "name"): then the listed grants become the only ones on it.

    `desired`: a path to a JSON file (a list, or {"grants": [...]}) or the list itself, each entry
    {securable_type, full_name, principal, privileges}."""
    entries = _desired_entries(desired)
    exclusive_keys = {e.casefold() for e in exclusive}
    view = AccountView.of(snapshot)
    changes: list[Change] = []
    report: list[dict[str, str]] = []
    wanted: dict[tuple[str, str], dict[str, set[str]]] = {}
    names: dict[str, str] = {}
    for entry in entries:
        key = (entry["securable_type"], entry["full_name"].casefold())
        names[entry["principal"].casefold()] = entry["principal"]
        wanted.setdefault(key, {}).setdefault(entry["principal"].casefold(), set()).update(entry["privileges"])
        held = view.grants.get(key, {}).get(entry["principal"].casefold(), set())
        missing = tuple(p for p in entry["privileges"] if p not in held)
        if missing:
            changes.append(Grant(securable_type=entry["securable_type"], full_name=entry["full_name"],
                                 principal_name=entry["principal"], privileges=missing, reason="listed in desired grants"))
    for (stype, lowered), principals in sorted(wanted.items()):
        row = view.securables.get((stype, lowered))
        full_name = row["full_name"] if row is not None else lowered
        is_exclusive = f"{stype} {lowered}".casefold() in exclusive_keys or lowered in exclusive_keys
        for principal, held in sorted(view.grants.get((stype, lowered), {}).items()):
            extra = sorted(held - principals.get(principal, set()))
            if not extra:
                continue
            shown = names.get(principal, _grantee(snapshot, stype, lowered, principal))
            if is_exclusive:
                changes.append(Revoke(securable_type=stype, full_name=full_name, principal_name=shown,
                                      privileges=tuple(extra), reason="not listed (exclusive securable)"))
            else:
                report.append(_item("grant nobody listed", f"{stype} {full_name}",
                                    f"{shown} holds {', '.join(extra)}",
                                    "kept; list it, or pass exclusive= for this securable to revoke it"))
    return Plan(changes, source="desired grants", report=report)


def _grantee(snapshot: Any, stype: str, full_name: str, principal: str) -> str:
    g = snapshot.grants
    rows = g.loc[(g["securable_type"] == stype) & (g["full_name"].str.casefold() == full_name)
                 & (g["principal"].str.casefold() == principal), "principal"]
    return str(rows.iloc[0]) if len(rows) else principal


def _desired_entries(desired: Any) -> list[dict[str, Any]]:
    origin = "desired grants"
    if isinstance(desired, (str, Path)):
        path = Path(desired)
        origin = str(path)
        try:
            desired = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInput(f"No desired-grants file at {path}.", field="grants", fix="check the path") from None
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path} is not JSON (line {exc.lineno}: {exc.msg}).", field="grants",
                               fix="write a JSON list of {securable_type, full_name, principal, privileges}") from None
    if isinstance(desired, Mapping):
        desired = desired.get("grants")
    if not isinstance(desired, list):
        raise InvalidInput(f"{origin} holds no list of grants.", field="grants",
                           fix='write [{"securable_type": ..., "full_name": ..., "principal": ..., "privileges": [...]}]')
    problems, out = [], []
    for n, entry in enumerate(desired, start=1):
        try:
            if not isinstance(entry, Mapping):
                raise InvalidInput("is not an object")
            missing = [k for k in ("securable_type", "full_name", "principal", "privileges") if not entry.get(k)]
            if missing:
                raise InvalidInput(f"lacks {', '.join(missing)}")
            privileges = entry["privileges"]
            privileges = [privileges] if isinstance(privileges, str) else list(privileges)
            out.append({"securable_type": normalise_securable_type(entry["securable_type"]),
                        "full_name": str(entry["full_name"]), "principal": str(entry["principal"]),
                        "privileges": tuple(dict.fromkeys(normalise_privilege(p) for p in privileges))})
        except InvalidInput as exc:
            problems.append(f"entry {n} {exc.message}")
    if problems:
        raise InvalidInput(f"{origin} was refused as a whole: " + "; ".join(problems), field="grants",
                           fix="correct the entries named above")
    return out


def from_script(script: str, default_catalog: str | None = None, default_schema: str | None = None) -> Plan:
    """A GRANT / REVOKE / ALTER ... OWNER TO script as a plan (parsed whole; validated by `apply`)."""
    changes: list[Change] = []
    for s in parse_script(script, default_catalog, default_schema):
        why = f"script statement {s.number}"
        if s.kind == "grant":
            changes.append(Grant(securable_type=s.securable_type, full_name=s.full_name, principal_name=s.principal,
                                 privileges=s.privileges, reason=why))
        elif s.kind == "revoke":
            changes.append(Revoke(securable_type=s.securable_type, full_name=s.full_name, principal_name=s.principal,
                                  privileges=s.privileges, reason=why))
        else:
            changes.append(TransferOwnership(securable_type=s.securable_type, full_name=s.full_name,
                                             new_owner=s.principal, reason=why))
    return Plan(changes, source="GRANT/REVOKE script")



# -- drift: "make Databricks match the source" -------------------------------------------------------

PLANNABLE_DRIFT = ("missing_user", "active_mismatch", "missing_membership", "extra_membership")


def from_drift(drift_frame: Any, snapshot: Any, kinds: Iterable[str] | None = None,
               source: SourceIdentities | None = None, fallback_owner: str | None = None) -> Plan:
    """Make Databricks match the source: a plan for the drift rows (`scimkit.drift.drift`) whose fix is
    in Databricks and whose kind is in `kinds` (default: every kind a plan can fix, PLANNABLE_DRIFT).
    Rows whose fix is in the identity provider, kinds not chosen, kinds no change can fix (a missing or
    renamed group) and memberships of groups the identity provider owns go into the report, never the
    plan. `snapshot` is the one the drift was computed on (an `Account` is read afresh). With `source`
    (the roster or Entra read the drift came from) a re-created user also gets the source's groups and
    workspaces; a roster leaver still active is offboarded (deactivated, memberships and workspaces
    removed, direct grants revoked, owned securables handed to `fallback_owner` when given)."""
    if not hasattr(snapshot, "users"):  # an Account
        from ..snapshot import snapshot as take_snapshot

        snapshot = take_snapshot(snapshot, progress=False)
    chosen = set(PLANNABLE_DRIFT if kinds is None else kinds)
    known = {"missing_user", "extra_user", "active_mismatch", "missing_membership", "extra_membership",
             "missing_group", "renamed_group"}
    unknown = sorted(chosen - known)
    if unknown:
        raise InvalidInput(f"Unknown drift kind(s) {', '.join(unknown)}.", field="kinds", value=unknown[0],
                           fix=f"choose from {', '.join(sorted(known))}")
    view = AccountView.of(snapshot)
    changes: list[Change] = []
    report: list[dict[str, str]] = []
    for row in drift_frame.to_dict("records"):
        kind, subject, group = row["kind"], str(row["subject"]), str(row.get("group") or "")
        about = f"{subject} in {group}" if group else subject
        if row["fix_in"] != "Databricks":
            report.append(_item(f"drift: {kind} ({row['cause']})", about, "the fix is in the identity provider",
                                row["fix"]))
            continue
        if kind not in chosen:
            report.append(_item(f"drift: {kind} ({row['cause']})", about, "kind not chosen", row["fix"]))
            continue
        if kind not in PLANNABLE_DRIFT:
            report.append(_item(f"drift: {kind} ({row['cause']})", about, "no plan change makes this fix",
                                row["fix"]))
            continue
        reason = f"drift: {kind} ({row['cause']})"
        if kind == "missing_user":
            changes += _recreate(subject, source, view, reason, report)
        elif kind == "active_mismatch":
            user = view.users.get(subject.casefold())
            if user is None:
                continue
            if row["cause"] == "leaver still active":
                person = source.person(subject) if source is not None else None
                found, notes = _offboard(snapshot, view, str(user["user_name"]), fallback_owner,
                                         person.manager if person else None, True, reason)
                changes += found
                report += notes
            elif user["active"]:
                changes.append(Deactivate(user_name=str(user["user_name"]), reason=reason))
            else:
                changes.append(Reactivate(user_name=str(user["user_name"]), reason=reason))
        else:  # missing_membership / extra_membership
            if view.idp_owned(group):
                report.append(_item(reason, about, f"group {group} is provisioned by the identity provider", IDP_FIX))
                continue
            name = view.groups.get(group.casefold(), {}).get("group_name", group)
            if kind == "missing_membership":
                changes.append(AddToGroup(group=name, member=subject, reason=reason))
            else:
                changes.append(RemoveFromGroup(group=name, member=subject, reason=reason))
    return Plan(changes, source=f"drift ({', '.join(sorted(chosen))})", report=report)


def _recreate(email: str, source: SourceIdentities | None, view: AccountView, reason: str,
              report: list[dict[str, str]]) -> list[Change]:
    person = source.person(email) if source is not None else None
    name = person.email if person is not None else email
    changes: list[Change] = [CreateUser(user_name=name, display_name=person.display_name if person else None,
                                        reason=reason)]
    if person is None:
        report.append(_item(reason, email, "created without memberships or workspaces",
                            "pass source= (the roster or Entra read) to plan them too"))
        return changes
    groups = source.groups_of(person.email) if source.kind == "entra" else list(person.groups)
    for group in sorted(set(groups or person.groups), key=str.casefold):
        row = view.groups.get(group.casefold())
        if row is None:
            report.append(_item(reason, f"{name} in {group}", "no such group in the account", "create the group"))
        elif view.idp_owned(group):
            report.append(_item(reason, f"{name} in {group}", f"group {group} is provisioned by the identity "
                                "provider", IDP_FIX))
        else:
            changes.append(AddToGroup(group=str(row["group_name"]), member=name, reason=reason))
    for workspace in person.workspaces:
        ws = view.workspace_id(workspace)
        changes.append(AssignWorkspace(workspace=str(ws if ws is not None else workspace), principal_name=name,
                                       reason=reason))
    return changes

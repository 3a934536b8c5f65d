"""Whole-plan validation against a snapshot of the account, before the first write. Pure: no API
calls. Every problem is collected (not the first only), each naming the step, the change and the
fix; a plan with any problem is refused as a whole (`PlanRejected`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..catalog import PRIVILEGES, kind_of, normalise_privilege, normalise_securable_type, sql_spelling
from ..errors import InvalidInput, PlanRejected
from ..identities import EMAIL
from ..schema import ACCOUNT_USERS_NAME
from .changes import (
    AddToGroup,
    AssignWorkspace,
    Change,
    CreateUser,
    Deactivate,
    Delete,
    Grant,
    Reactivate,
    RemoveFromGroup,
    Revoke,
    SetDisplayName,
    TransferOwnership,
    UnassignWorkspace,
)
from .plan import Plan

IDP_FIX = "make this change in the identity provider (Entra ID or Okta); SCIM provisioning will sync it"


def _lower(values: pd.Series) -> set[str]:
    return {str(v).casefold() for v in values.dropna()}


@dataclass
class AccountView:
    """What validation and planning need from a snapshot, keyed case-insensitively."""

    users: dict[str, dict] = field(default_factory=dict)  # email -> row
    groups: dict[str, dict] = field(default_factory=dict)  # name -> row
    service_principals: dict[str, dict] = field(default_factory=dict)  # application id and display name -> row
    workspaces: dict[str, int] = field(default_factory=dict)  # name or id -> id
    securables: dict[tuple[str, str], dict] = field(default_factory=dict)  # (type, name) -> row
    grants: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=dict)  # securable -> principal -> privs
    members: dict[str, set[str]] = field(default_factory=dict)  # group -> member names (lower)
    assignments: dict[tuple[int, str], str] = field(default_factory=dict)  # (ws, principal) -> permission

    @classmethod
    def of(cls, snapshot) -> AccountView:  # noqa: ANN001 - a Snapshot
        view = cls()
        for row in snapshot.users.to_dict("records"):
            view.users[str(row["user_name"]).casefold()] = row
        for row in snapshot.groups.to_dict("records"):
            view.groups[str(row["group_name"]).casefold()] = row
        for row in snapshot.service_principals.to_dict("records"):
            view.service_principals[str(row["application_id"]).casefold()] = row
            if row.get("display_name"):
                view.service_principals.setdefault(str(row["display_name"]).casefold(), row)
        for row in snapshot.workspaces.to_dict("records"):
            view.workspaces[str(row["workspace_id"])] = int(row["workspace_id"])
            view.workspaces[str(row["workspace_name"]).casefold()] = int(row["workspace_id"])
        for row in snapshot.securables.to_dict("records"):
            view.securables[(row["securable_type"], str(row["full_name"]).casefold())] = row
        for row in snapshot.grants.to_dict("records"):
            held = view.grants.setdefault((row["securable_type"], str(row["full_name"]).casefold()), {})
            held.setdefault(str(row["principal"]).casefold(), set()).add(row["privilege"])
        for row in snapshot.memberships.to_dict("records"):
            view.members.setdefault(str(row["group_name"]).casefold(), set()).add(str(row["member_name"]).casefold())
        for row in snapshot.workspace_assignments.to_dict("records"):
            view.assignments[(int(row["workspace_id"]), str(row["principal_name"]).casefold())] = row["permission"]
        return view

    def idp_owned(self, group: str) -> bool:
        row = self.groups.get(group.casefold())
        return row is not None and pd.notna(row.get("external_id"))

    def principal_exists(self, name: str) -> bool:
        key = name.casefold()
        return key == ACCOUNT_USERS_NAME or key in self.users or key in self.groups or key in self.service_principals

    def workspace_id(self, workspace: str) -> int | None:
        return self.workspaces.get(str(workspace).strip().casefold())


def validate(plan: Plan, snapshot) -> list[tuple[int, str, str, str]]:  # noqa: ANN001 - a Snapshot
    """Every problem of the plan as (step, change, reason, fix); empty when it may be applied."""
    view = snapshot if isinstance(snapshot, AccountView) else AccountView.of(snapshot)
    problems: list[tuple[int, str, str, str]] = []
    created = {c.user_name.casefold() for c in plan if isinstance(c, CreateUser)}
    by_key: dict[str, tuple[int, Change]] = {}

    def known(name: str) -> bool:
        return view.principal_exists(name) or name.casefold() in created

    for step, change in enumerate(plan, start=1):
        label = f"{change.kind} {change.target}"

        def bad(reason: str, fix: str, step: int = step, label: str = label) -> None:
            problems.append((step, label, reason, fix))

        # conflicting changes: two different changes about one thing
        other = by_key.get(change.key)
        if other is not None and other[1] != change:
            bad(f"conflicts with step {other[0]} ({other[1].kind} {other[1].target}).",
                "keep one of the two changes")
        by_key.setdefault(change.key, (step, change))

        if isinstance(change, CreateUser):
            if not EMAIL.match(change.user_name or ""):
                bad(f"'{change.user_name}' is not a valid email address.", "use the person's work email")
        elif isinstance(change, (Reactivate, Deactivate, Delete, SetDisplayName)):
            if change.user_name.casefold() not in view.users and change.user_name.casefold() not in created:
                bad(f"no user {change.user_name} in the account.", "check the email, or create the user first")
        elif isinstance(change, (AddToGroup, RemoveFromGroup)):
            if change.group.casefold() not in view.groups:
                bad(f"no group '{change.group}' in the account.", "create the group first, or correct its name")
            elif view.idp_owned(change.group):
                bad(f"group '{change.group}' is provisioned by the identity provider; Databricks refuses "
                    "member changes made here.", IDP_FIX)
            if not known(change.member) and isinstance(change, AddToGroup):
                bad(f"no user, group or service principal '{change.member}'.",
                    "add a create_user change for them, or correct the name")
        elif isinstance(change, (AssignWorkspace, UnassignWorkspace)):
            if view.workspace_id(change.workspace) is None:
                bad(f"no workspace '{change.workspace}' in the account.", "name a workspace by its name or id")
            if isinstance(change, AssignWorkspace):
                if change.permission not in ("USER", "ADMIN"):
                    bad(f"workspace permission '{change.permission}' is not valid.", "use USER or ADMIN")
                if not known(change.principal_name):
                    bad(f"no user, group or service principal '{change.principal_name}'.",
                        "create it first, or correct the name")
        elif isinstance(change, (Grant, Revoke, TransferOwnership)):
            problems.extend((step, label, r, f) for r, f in _securable_problems(change, view, known))

    # grant and revoke of one privilege to one principal on one securable
    granted: dict[tuple[str, str, str, str], int] = {}
    for step, change in enumerate(plan, start=1):
        if isinstance(change, Grant):
            for p in change.privileges:
                granted[(change.securable_type, change.full_name.casefold(), change.principal_name.casefold(),
                         p.upper())] = step
    for step, change in enumerate(plan, start=1):
        if isinstance(change, Revoke):
            for p in change.privileges:
                key = (change.securable_type, change.full_name.casefold(), change.principal_name.casefold(), p.upper())
                if key in granted:
                    problems.append((step, f"revoke {change.target}", f"step {granted[key]} grants {p} to the same "
                                     "principal on the same securable.", "keep either the grant or the revoke"))
    return problems


def _securable_problems(change: Grant | Revoke | TransferOwnership, view: AccountView, known) -> list[tuple[str, str]]:  # noqa: ANN001
    out: list[tuple[str, str]] = []
    try:
        securable_type = normalise_securable_type(change.securable_type)
    except InvalidInput as exc:
        return [(exc.message, "use CATALOG, SCHEMA, TABLE, VOLUME, FUNCTION, EXTERNAL_LOCATION, ...")]
    row = view.securables.get((securable_type, change.full_name.casefold()))
    if row is None:
        out.append((f"no {securable_type} {change.full_name} in Unity Catalog.",
                    "check the name (catalog.schema.object)"))
    if isinstance(change, TransferOwnership):
        if not known(change.new_owner) or change.new_owner.casefold() == ACCOUNT_USERS_NAME:
            out.append((f"new owner '{change.new_owner}' is not a user, group or service principal of the account.",
                        "name an existing group (preferred) or service principal"))
        return out
    if isinstance(change, Grant) and not known(change.principal_name):
        out.append((f"no user, group or service principal '{change.principal_name}'.",
                    "create it first, or correct the name"))
    if isinstance(change, Revoke) and not known(change.principal_name) and row is not None:
        held = view.grants.get((securable_type, change.full_name.casefold()), {})
        if change.principal_name.casefold() not in held:
            out.append((f"'{change.principal_name}' is not a principal and holds nothing there.",
                        "correct the name"))
    if not change.privileges:
        out.append(("no privilege named.", "name at least one privilege"))
    names = []
    for p in change.privileges:
        try:
            names.append(normalise_privilege(p))
        except InvalidInput as exc:
            out.append((exc.message, "use a Unity Catalog privilege such as SELECT or USE CATALOG"))
    if row is not None:
        kind = kind_of(securable_type, row.get("kind"))
        wrong = [p for p in names if p not in PRIVILEGES[kind]]
        if wrong:
            out.append((f"{', '.join(sql_spelling(p) for p in wrong)} is not applicable to {kind} "
                        f"{change.full_name}.", f"a {kind} takes {', '.join(sql_spelling(p) for p in PRIVILEGES[kind])}"))
    return out


def check(plan: Plan, snapshot) -> None:  # noqa: ANN001
    """Raise PlanRejected naming every problem; return when the plan may be applied."""
    problems = validate(plan, snapshot)
    if problems:
        raise PlanRejected(problems)

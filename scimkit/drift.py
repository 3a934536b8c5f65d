"""Drift: where Databricks differs from the identity provider (Entra) or HR (the roster), and why.

`drift(source, snapshot)` returns one DataFrame, one row per difference:

    kind     string  missing_user | extra_user | active_mismatch | missing_membership |
                     extra_membership | missing_group | renamed_group | unlisted_members |
                     missing_assignment | extra_assignment
    subject  string  the user's email, or the group's name in the source
    group    string  the group (Databricks name where it exists); the workspace name for
                     missing_assignment / extra_assignment rows; empty for user rows
    cause    string  nested group not flattened | not assigned to the application | renamed |
                     deleted in the console | disabled but still active | sync pending |
                     joiner not provisioned | leaver still active | mover not applied |
                     members not listed by SCIM under automatic identity management
    fix_in   string  identity provider | Databricks
    fix      string  what to do
    detail   string  the evidence (e.g. the nested group the membership comes through)

Entra rules (entra-graph.md 4): only people in scope are expected (assigned to the Databricks
application, or direct members of an assigned group); a disabled person is never created; only
assigned groups are compared; memberships are compared after flattening nesting on both sides,
and a membership that arrives only through a nested group the connector did not provision is
"nested group not flattened". A roster is a change file: only the people it lists are compared.
Its `workspaces` cell, where filled in, lists the workspaces the person should reach: one missing
directly and through every group they are in is `missing_assignment`; a direct assignment of the
person to a workspace the cell does not list is `extra_assignment` (access through a group is the
groups column's business). An empty cell says nothing about workspaces.

Automatic identity management (AIM): an account under AIM resolves a group's members from Entra on
demand, so SCIM may list none of them. No account setting readable through SCIM says whether AIM
is on (the documented signals are in the IAM v2 API: "if automatic identity management is on and
the group has an external_id, its members come from your identity provider"), so this is a
heuristic, kept conservative: a group that came from the IdP (its externalId is the Entra group's
id) with no members at all in SCIM while Entra lists people in it who are in the account gives one
`unlisted_members` row instead of one `missing_membership` row per person.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .sources.records import SourceIdentities

COLUMNS = ["kind", "subject", "group", "cause", "fix_in", "fix", "detail"]
IDP, DATABRICKS = "identity provider", "Databricks"
AIM_CAUSE = "members not listed by SCIM under automatic identity management"


def drift(source: SourceIdentities, snapshot: Any) -> pd.DataFrame:
    """One frame of differences (columns in the module docstring); empty when in sync."""
    rows = _roster(source, snapshot) if source.kind == "roster" else _entra(source, snapshot)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["kind", "group", "subject"], kind="stable").reset_index(drop=True)


def _row(kind: str, subject: str, group: str, cause: str, fix_in: str, fix: str, detail: str = "") -> dict:
    return dict(zip(COLUMNS, (kind, subject, group, cause, fix_in, fix, detail), strict=True))


def _db(snapshot: Any) -> tuple[dict[str, Any], dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
    users = {str(r.user_name).casefold(): r for r in snapshot.users.itertuples()}
    direct_users: dict[str, set[str]] = {}
    direct_groups: dict[str, set[str]] = {}
    for r in snapshot.memberships.itertuples():
        target = direct_users if r.member_type == "USER" else direct_groups if r.member_type == "GROUP" else None
        if target is not None:
            target.setdefault(str(r.group_name).casefold(), set()).add(str(r.member_name).casefold())
    transitive: dict[str, set[str]] = {}
    for r in snapshot.transitive_memberships.itertuples():
        if r.member_type == "USER":
            transitive.setdefault(str(r.group_name).casefold(), set()).add(str(r.member_name).casefold())
    return users, direct_users, direct_groups, transitive


def _entra(source: SourceIdentities, snapshot: Any) -> list[dict]:
    users, _, db_nested, db_transitive = _db(snapshot)
    rows: list[dict] = []
    assigned_groups = [g for g in source.groups if g.assigned_to_app]
    in_scope = {p.key for p in source.people if p.assigned_to_app}
    for g in assigned_groups:
        in_scope.update(m.casefold() for m in g.members)
    for person in source.people:
        db = users.get(person.key)
        if db is None:
            if not person.active:
                continue  # a disabled user is never provisioned
            if person.key in in_scope:
                rows.append(_row("missing_user", person.email, "", "deleted in the console", DATABRICKS,
                                 "re-create the user in Databricks (a user deleted in the account console is not "
                                 "re-synced while assigned), or clear state and restart provisioning",
                                 "assigned to the Databricks application in Entra"))
            else:
                groups = ", ".join(g.name for g in source.groups if person.key in source.transitive_members(g.name)
                                   and g.assigned_to_app)
                rows.append(_row("missing_user", person.email, "", "not assigned to the application", IDP,
                                 "assign the person (or a group they are a direct member of) to the Databricks "
                                 "application", f"in {groups or 'no assigned group'} only through nesting"
                                 if groups else "not in any assigned group"))
        elif bool(db.active) and not person.active:
            rows.append(_row("active_mismatch", person.email, "", "disabled but still active", DATABRICKS,
                             "deactivate the user in Databricks (the connector disables it on its next cycle)",
                             "accountEnabled=false in Entra, active in Databricks"))
        elif not bool(db.active) and person.active and person.key in in_scope:
            rows.append(_row("active_mismatch", person.email, "", "sync pending", IDP,
                             "wait one provisioning cycle, or restart provisioning",
                             "enabled in Entra, inactive in Databricks"))
    db_groups = {str(r.group_name).casefold(): r for r in snapshot.groups.itertuples()}
    by_external = {str(r.external_id): r for r in snapshot.groups.itertuples() if isinstance(r.external_id, str)}
    with_members = {str(r.group_name).casefold() for r in snapshot.memberships.itertuples()}
    matched: dict[str, str] = {}  # source group key -> Databricks group name
    for g in source.groups:
        db = by_external.get(g.external_id or "") or db_groups.get(g.key)
        if db is not None:
            matched[g.key] = str(db.group_name)
    for g in assigned_groups:
        db_name = matched.get(g.key)
        if db_name is None:
            rows.append(_row("missing_group", g.name, "", "sync pending", IDP,
                             "check the provisioning logs and restart provisioning",
                             "assigned to the Databricks application; not in the account"))
            continue
        if db_name != g.name:
            rows.append(_row("renamed_group", g.name, db_name, "renamed", DATABRICKS,
                             f"rename `{db_name}` to `{g.name}` in Databricks (group renames do not sync)",
                             "matched by external id"))
        expected = {m for m in source.transitive_members(g.name) if m in users}
        actual = db_transitive.get(db_name.casefold(), set())
        direct = {m.casefold() for m in g.members}
        from_idp = g.external_id is not None and g.external_id in by_external \
            and str(by_external[g.external_id].group_name) == db_name
        if from_idp and db_name.casefold() not in with_members and expected & direct:
            rows.append(_row("unlisted_members", g.name, db_name, AIM_CAUSE, DATABRICKS,
                             "if the account uses automatic identity management, nothing (members are resolved "
                             "from Entra on demand; see a member's groups with the IAM v2 API); otherwise "
                             "restart provisioning so the members arrive",
                             f"{len(expected & direct)} direct members in Entra, none listed by SCIM "
                             "(heuristic: a group from the IdP with no SCIM members)"))
            continue
        for email in sorted(expected - actual):
            if email in direct:
                rows.append(_row("missing_membership", email, db_name, "sync pending", IDP,
                                 "wait one provisioning cycle, or restart provisioning", "a direct member in Entra"))
                continue
            via = [h for h in g.member_groups if email in source.transitive_members(h)]
            explained = any(h.casefold() in matched and matched[h.casefold()].casefold()
                            in db_nested.get(db_name.casefold(), set()) for h in via)
            if not explained:
                rows.append(_row("missing_membership", email, db_name, "nested group not flattened", IDP,
                                 f"assign {', '.join(via)} to the Databricks application (or add the person to "
                                 f"{g.name} directly); or add the group in Databricks",
                                 f"through nested group {', '.join(via)}"))
        known = {p.key for p in source.people}
        for email in sorted((actual - expected) & known):
            rows.append(_row("extra_membership", email, db_name, "sync pending", IDP,
                             "wait one provisioning cycle (the connector removes it), or remove it in Databricks",
                             "not a member in Entra"))
    return rows


def _roster(source: SourceIdentities, snapshot: Any) -> list[dict]:
    users, direct_users, _, _ = _db(snapshot)
    groups_of: dict[str, set[str]] = {}
    for group, members in direct_users.items():
        for m in members:
            groups_of.setdefault(m, set()).add(group)
    names = {str(g).casefold(): str(g) for g in snapshot.groups["group_name"]}
    workspaces, direct, group_ws = _workspace_access(snapshot)
    via_groups: dict[str, set[int]] = {}
    for r in snapshot.transitive_memberships.itertuples():
        if r.member_type == "USER" and str(r.group_name).casefold() in group_ws:
            via_groups.setdefault(str(r.member_name).casefold(), set()).update(group_ws[str(r.group_name).casefold()])
    rows: list[dict] = []
    for person in source.people:
        db = users.get(person.key)
        if db is None:
            if person.active:
                rows.append(_row("missing_user", person.email, "", "joiner not provisioned", DATABRICKS,
                                 "create the user and add the memberships (an onboarding plan from the roster)",
                                 f"started {person.start_date}"))
            continue
        if not person.active:
            if bool(db.active):
                rows.append(_row("active_mismatch", person.email, "", "leaver still active", DATABRICKS,
                                 "deactivate the user and remove the memberships (offboarding)",
                                 f"left {person.end_date}"))
            continue
        wanted = {g.casefold() for g in person.groups}
        have = groups_of.get(person.key, set())
        for g in sorted(wanted - have):
            rows.append(_row("missing_membership", person.email, names.get(g, g), "mover not applied", DATABRICKS,
                             "add the membership", "listed in the roster"))
        for g in sorted(have - wanted):
            rows.append(_row("extra_membership", person.email, names.get(g, g), "mover not applied", DATABRICKS,
                             "remove the membership", "not listed in the roster"))
        if person.workspaces:
            rows += _roster_workspaces(person, snapshot, workspaces, direct, via_groups)
    return rows


def _workspace_access(snapshot: Any) -> tuple[dict[str, Any], dict[str, dict[int, str]], dict[str, set[int]]]:
    """Workspaces by name and id; each user's direct assignments (id -> permission); each group's."""
    workspaces: dict[str, Any] = {}
    for w in snapshot.workspaces.itertuples():
        workspaces[str(w.workspace_name).casefold()] = w
        workspaces[str(w.workspace_id)] = w
    direct: dict[str, dict[int, str]] = {}
    group_ws: dict[str, set[int]] = {}
    for a in snapshot.workspace_assignments.itertuples():
        if a.principal_type == "USER":
            direct.setdefault(str(a.principal_name).casefold(), {})[int(a.workspace_id)] = str(a.permission)
        elif a.principal_type == "GROUP":
            group_ws.setdefault(str(a.principal_name).casefold(), set()).add(int(a.workspace_id))
    return workspaces, direct, group_ws


def _roster_workspaces(person: Any, snapshot: Any, workspaces: dict[str, Any], direct: dict[str, dict[int, str]],
                       via_groups: dict[str, set[int]]) -> list[dict]:
    rows: list[dict] = []
    mine = direct.get(person.key, {})
    reach = set(mine) | via_groups.get(person.key, set())
    listed: set[int] = set()
    for written in person.workspaces:
        w = workspaces.get(written.casefold())
        if w is None:
            rows.append(_row("missing_assignment", person.email, written, "mover not applied", DATABRICKS,
                             "correct the roster's workspaces cell (the account has no such workspace)",
                             "listed in the roster; not a workspace of the account"))
            continue
        listed.add(int(w.workspace_id))
        if int(w.workspace_id) not in reach:
            rows.append(_row("missing_assignment", person.email, str(w.workspace_name), "mover not applied",
                             DATABRICKS, f"assign the user to {w.workspace_name} (directly, or through a group)",
                             "listed in the roster; no access directly or through a group"))
    for workspace_id, permission in sorted(mine.items()):
        if workspace_id not in listed:
            name = str(workspaces[str(workspace_id)].workspace_name) if str(workspace_id) in workspaces \
                else str(workspace_id)
            rows.append(_row("extra_assignment", person.email, name, "mover not applied", DATABRICKS,
                             f"remove the user's direct assignment to {name}",
                             f"direct assignment ({permission}); not listed in the roster"))
    return rows

"""A one-screen summary of an account, read through the SDK. The README's first job until the
compliance report replaces it."""

from __future__ import annotations

from .connect import Account, connect


def account_summary(account: Account | None = None) -> str:
    account = account or connect()
    a = account.a
    users = list(a.users.list(attributes="id,userName,active,roles"))
    groups = list(a.groups.list(attributes="id,displayName"))
    sps = list(a.service_principals.list(attributes="id,applicationId,displayName,active"))
    workspaces = list(a.workspaces.list())
    inactive = sum(1 for u in users if u.active is False)
    admins = sorted(u.user_name or "" for u in users if any(r.value == "account_admin" for r in u.roles or []))
    lines = [
        f"account {account.account_id} at {account.host}",
        f"users: {len(users)} ({inactive} deactivated), account admins: {', '.join(admins) or 'none'}",
        f"groups: {len(groups)}, service principals: {len(sps)}",
        f"workspaces: {len(workspaces)}",
    ]
    for ws in workspaces:
        assignments = a.workspace_assignment.list(workspace_id=ws.workspace_id)
        admins_ws = sum(1 for x in assignments if any(p.value == "ADMIN" for p in x.permissions or []))
        lines.append(f"  {ws.workspace_name} ({ws.workspace_id}): {len(assignments)} assignments, {admins_ws} ADMIN")
    return "\n".join(lines)

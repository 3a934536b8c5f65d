"""Users, groups, service principals, memberships and workspace assignment: read the whole
account cheaply and completely, and change it idempotently.

Reads use the cheapest requests the API allows: lists ask only for the attributes we keep (lists
carry no members; the users' `groups` are not asked for: memberships, nested ones included, come
from the group GETs), then one GET per group for its members,
concurrently under the `scim-get` limit. Every failed read is recorded, never skipped.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from databricks.sdk.core import ApiClient
from databricks.sdk.errors import NotFound, PermissionDenied
from databricks.sdk.service import iam

from .connect import Account
from .errors import ConflictError, InvalidInput, ManagedByIdentityProvider, UnknownPrincipal
from .exactly_once import LOST_ANSWER, Created, create_once
from .limits import MeteredApiClient
from .parallel import ReadFailure, describe_error, run_concurrently
from .schema import GROUP, SERVICE_PRINCIPAL, USER

PAGE_SIZE = 100  # the server's SCIM page size
MAX_MEMBERS_PER_PATCH = 100  # member changes per PATCH; more are split into several PATCHes
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REF_TYPES = {"Users": USER, "Groups": GROUP, "ServicePrincipals": SERVICE_PRINCIPAL}
PATCH_SCHEMAS = [iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP]


# -- records -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserRecord:
    user_id: str
    user_name: str
    display_name: str | None
    active: bool
    external_id: str | None
    roles: tuple[str, ...] = ()

    @property
    def is_account_admin(self) -> bool:
        return "account_admin" in self.roles


@dataclass(frozen=True)
class ServicePrincipalRecord:
    sp_id: str
    application_id: str
    display_name: str | None
    active: bool
    external_id: str | None
    roles: tuple[str, ...] = ()

    @property
    def is_account_admin(self) -> bool:
        return "account_admin" in self.roles


@dataclass(frozen=True)
class MemberRef:
    member_id: str
    member_type: str  # USER | GROUP | SERVICE_PRINCIPAL
    display: str | None = None


@dataclass(frozen=True)
class GroupRecord:
    group_id: str
    group_name: str
    external_id: str | None
    members: tuple[MemberRef, ...] = ()
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkspaceRecord:
    workspace_id: int
    workspace_name: str
    deployment_name: str | None
    status: str | None


@dataclass(frozen=True)
class AssignmentRecord:
    workspace_id: int
    principal_id: str
    principal_type: str
    principal_name: str
    permissions: tuple[str, ...]


@dataclass
class IdentityRead:
    """Everything read about identities, and what could not be read."""

    users: list[UserRecord] = field(default_factory=list)
    service_principals: list[ServicePrincipalRecord] = field(default_factory=list)
    groups: list[GroupRecord] = field(default_factory=list)
    workspaces: list[WorkspaceRecord] = field(default_factory=list)
    assignments: list[AssignmentRecord] = field(default_factory=list)
    failures: list[ReadFailure] = field(default_factory=list)


# -- reading -------------------------------------------------------------------------------------

class _ScimLists:
    """The SDK's own account SCIM services on a metered client: one `scim-list` token per HTTP
    request, including each page and the empty page the SDK always fetches last."""

    def __init__(self, account: Account) -> None:
        api = MeteredApiClient(account.a.api_client, account.limits, "scim-list")
        self.users = iam.AccountUsersAPI(api)
        self.groups = iam.AccountGroupsAPI(api)
        self.service_principals = iam.AccountServicePrincipalsAPI(api)


def _roles(values: Any) -> tuple[str, ...]:
    return tuple(sorted(r.value for r in values or [] if r.value))


def list_users(account: Account) -> list[UserRecord]:
    pages = _ScimLists(account).users.list(attributes="id,userName,displayName,active,externalId,roles",
                                           count=PAGE_SIZE)
    return [UserRecord(u.id, u.user_name, u.display_name, u.active is not False, u.external_id, _roles(u.roles))
            for u in pages]


def list_service_principals(account: Account) -> list[ServicePrincipalRecord]:
    pages = _ScimLists(account).service_principals.list(
        attributes="id,applicationId,displayName,active,externalId,roles", count=PAGE_SIZE)
    return [ServicePrincipalRecord(s.id, s.application_id, s.display_name, s.active is not False, s.external_id,
                                   _roles(s.roles)) for s in pages]


def list_groups(account: Account) -> list[GroupRecord]:
    """Groups without members (the list never has them); see `read_members`."""
    pages = _ScimLists(account).groups.list(attributes="id,displayName,externalId,roles", count=PAGE_SIZE)
    return [GroupRecord(g.id, g.display_name, g.external_id, (), _roles(g.roles)) for g in pages]


def _member_refs(group: iam.Group) -> tuple[MemberRef, ...]:
    refs = []
    for member in group.members or []:
        kind = REF_TYPES.get((member.ref or "").split("/", 1)[0], "")
        refs.append(MemberRef(member.value, kind, member.display))
    return tuple(refs)


def read_members(account: Account, groups: list[GroupRecord], workers: int = 8,
                 progress: bool = True) -> tuple[list[GroupRecord], list[ReadFailure]]:
    """One GET per group, concurrently; groups whose GET failed keep no members and are reported."""
    outcome = run_concurrently(
        groups, lambda g: account.a.groups.get(g.group_id), limits=account.limits, rate_class="scim-get",
        object_type="group", name=lambda g: g.group_name, operation="a.groups.get", workers=workers,
        desc="group members", progress=progress)
    fetched = {g.group_id: got for g, got in outcome.results}
    out = []
    for group in groups:
        got = fetched.get(group.group_id)
        out.append(GroupRecord(group.group_id, group.group_name, group.external_id,
                               _member_refs(got) if got else (), group.roles))
    return out, outcome.failures


def list_workspaces(account: Account) -> list[WorkspaceRecord]:
    account.limits.acquire("account-read")
    return [WorkspaceRecord(int(ws.workspace_id), ws.workspace_name or str(ws.workspace_id), ws.deployment_name,
                            ws.workspace_status.value if ws.workspace_status else None)
            for ws in account.a.workspaces.list()]


def _principal_of(p: iam.PrincipalOutput) -> tuple[str, str]:
    if p.user_name:
        return USER, p.user_name
    if p.group_name:
        return GROUP, p.group_name
    return SERVICE_PRINCIPAL, p.service_principal_name or str(p.principal_id)


def read_assignments(account: Account, workspaces: list[WorkspaceRecord], workers: int = 4,
                     progress: bool = True) -> tuple[list[AssignmentRecord], list[ReadFailure]]:
    outcome = run_concurrently(
        workspaces, lambda ws: account.a.workspace_assignment.list(workspace_id=ws.workspace_id),
        limits=account.limits, rate_class="account-read", object_type="workspace",
        name=lambda ws: str(ws.workspace_id), operation="a.workspace_assignment.list", workers=workers,
        desc="workspace assignments", progress=progress)
    records = []
    for ws, assignments in outcome.results:
        for item in assignments or []:
            if item.principal is None:
                continue
            kind, name = _principal_of(item.principal)
            records.append(AssignmentRecord(ws.workspace_id, str(item.principal.principal_id), kind, name,
                                            tuple(sorted(p.value for p in item.permissions or []))))
    return records, outcome.failures


def _listed(account: Account, object_type: str, operation: str,
            reader: Callable[[Account], list]) -> tuple[list, list[ReadFailure]]:
    """One whole listing, or none and the failure (recorded as incomplete, never raised)."""
    try:
        return reader(account), []
    except Exception as exc:  # noqa: BLE001 - recorded as incomplete
        return [], [ReadFailure(object_type, "*", operation, describe_error(exc))]


def read_workspaces(account: Account) -> tuple[list[WorkspaceRecord], list[ReadFailure]]:
    """The workspace list, or none and the failure."""
    return _listed(account, "workspaces", "a.workspaces.list", list_workspaces)


def read_identities(account: Account, workers: int = 8, progress: bool = True,
                    workspaces: tuple[list[WorkspaceRecord], list[ReadFailure]] | None = None) -> IdentityRead:
    """Read every user, service principal, group (with members), workspace and assignment.

    The group list comes first; the members (one GET per group, their own rate-limit class) are then
    read while users, service principals and workspace assignments are listed, so no class waits
    for another. `workspaces` is a `read_workspaces` result already in hand (so a caller can start
    reading Unity Catalog in those workspaces at the same time)."""
    read = IdentityRead()
    groups, group_failures = _listed(account, "groups", "a.groups.list", list_groups)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scimkit-members") as pool:
        members = pool.submit(read_members, account, groups, workers, progress)
        read.users, user_failures = _listed(account, "users", "a.users.list", list_users)
        read.service_principals, sp_failures = _listed(account, "service_principals", "a.service_principals.list",
                                                       list_service_principals)
        read.workspaces, workspace_failures = workspaces if workspaces is not None else read_workspaces(account)
        read.assignments, assignment_failures = read_assignments(account, read.workspaces, min(workers, 4), progress)
        read.groups, member_failures = members.result()
    read.failures = (user_failures + sp_failures + group_failures + workspace_failures + member_failures
                     + assignment_failures)
    return read


# -- looking up one principal ------------------------------------------------------------------------

def _quote(value: str) -> str:
    """A SCIM filter value: a JSON string (RFC 7644 3.4.2.2), so `"` and `\\` round-trip."""
    return json.dumps(value, ensure_ascii=False)


def find_user(account: Account, user_name: str) -> iam.User | None:
    found = list(_ScimLists(account).users.list(filter=f"userName eq {_quote(user_name)}", count=PAGE_SIZE))
    return found[0] if found else None


def find_group(account: Account, group_name: str) -> iam.Group | None:
    found = list(_ScimLists(account).groups.list(filter=f"displayName eq {_quote(group_name)}",
                                                 attributes="id,displayName,externalId", count=PAGE_SIZE))
    return found[0] if found else None


def find_service_principal(account: Account, name_or_application_id: str) -> iam.ServicePrincipal | None:
    key = "applicationId" if re.fullmatch(r"[0-9a-fA-F-]{36}", name_or_application_id) else "displayName"
    found = list(_ScimLists(account).service_principals.list(filter=f"{key} eq {_quote(name_or_application_id)}",
                                                             count=PAGE_SIZE))
    return found[0] if found else None


def resolve_member(account: Account, name: str) -> tuple[str, str]:
    """(SCIM id, type) of a user email, group name or service principal (name or application id)."""
    if "@" in name:
        user = find_user(account, name)
        if user is not None:
            return user.id, USER
    group = find_group(account, name)
    if group is not None:
        return group.id, GROUP
    sp = find_service_principal(account, name)
    if sp is not None:
        return sp.id, SERVICE_PRINCIPAL
    raise UnknownPrincipal(f"No user, group or service principal named '{name}' in account {account.account_id}.",
                           field="member", value=name, fix="create it first, or correct the name")


NAMES_PER_FILTER = 50  # names per `attr eq "a" or attr eq "b" ...` filter: 2n-1 nodes, under the documented 200


def _find_many(listing: Any, attribute: str, field_name: str, names: list[str],
               attributes: str | None = None) -> dict[str, Any]:
    """lower-case name -> the first resource whose `attribute` is that name, `NAMES_PER_FILTER` names per
    filtered list (SCIM `eq` compares these attributes case-insensitively, RFC 7643 caseExact false)."""
    found: dict[str, Any] = {}
    for start in range(0, len(names), NAMES_PER_FILTER):
        chunk = names[start:start + NAMES_PER_FILTER]
        options: dict[str, Any] = {"filter": " or ".join(f"{attribute} eq {_quote(n)}" for n in chunk),
                                   "count": PAGE_SIZE}
        if attributes:
            options["attributes"] = attributes
        for item in listing.list(**options):
            value = getattr(item, field_name, None)
            if value:
                found.setdefault(str(value).lower(), item)
    return found


def resolve_members(account: Account, names: Iterable[str]) -> dict[str, tuple[str, str]]:
    """name -> (SCIM id, type) for many names at once, as `resolve_member` resolves each (a name with "@"
    is looked up as a user first, then as a group, then as a service principal by application id or
    display name), in a few combined filtered lists instead of one list per name: adding 250 users to a
    group costs 5 look-ups (plus the SDK's closing empty page each), not 500. Every name is resolved
    before anything is returned; UnknownPrincipal names those that are not principals."""
    wanted = list(dict.fromkeys(names))
    lists = _ScimLists(account)
    out: dict[str, tuple[str, str]] = {}

    def take(found: dict[str, Any], candidates: list[str], kind: str) -> None:
        for name in candidates:
            item = found.get(name.lower())
            if item is not None:
                out[name] = (item.id, kind)

    emails = [n for n in wanted if "@" in n]
    take(_find_many(lists.users, "userName", "user_name", emails), emails, USER)
    rest = [n for n in wanted if n not in out]
    take(_find_many(lists.groups, "displayName", "display_name", rest, "id,displayName,externalId"), rest, GROUP)
    rest = [n for n in wanted if n not in out]
    by_app_id = [n for n in rest if re.fullmatch(r"[0-9a-fA-F-]{36}", n)]
    by_name = [n for n in rest if n not in by_app_id]
    take(_find_many(lists.service_principals, "applicationId", "application_id", by_app_id), by_app_id,
         SERVICE_PRINCIPAL)
    take(_find_many(lists.service_principals, "displayName", "display_name", by_name), by_name, SERVICE_PRINCIPAL)
    missing = [n for n in wanted if n not in out]
    if missing:
        shown = ", ".join(f"'{n}'" for n in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise UnknownPrincipal(f"No user, group or service principal named {shown} in account {account.account_id}.",
                               field="member", value=missing[0], fix="create it first, or correct the name")
    return out


def validate_email(user_name: str) -> None:
    if not isinstance(user_name, str) or not EMAIL.match(user_name):
        raise InvalidInput(f"'{user_name}' is not a valid email address for a user name.", field="user_name",
                           value=user_name, fix="use the person's work email, e.g. alex@company.com")


# -- changes ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """What one operation did; `changed` is False when the account already matched."""

    action: str
    target: str
    detail: str
    changed: bool


def _idp_guard(exc: PermissionDenied, group_name: str) -> ManagedByIdentityProvider:
    return ManagedByIdentityProvider(
        f"Group '{group_name}' is managed by the identity provider (SCIM provisioning), so Databricks refused the "
        f"change ({exc}). Make this change in the identity provider (Entra ID or Okta); it will sync.")


def _find_or_create(account: Account, find: Callable[[], Any],
                    create: Callable[[ApiClient], Any]) -> tuple[Any, Created[Any] | None]:
    """(object, None) when it exists; else (object, how it was created). The create is sent once;
    a lost answer is settled by a lookup before anything is sent again (`exactly_once`)."""
    existing = find()
    if existing is not None:
        return existing, None
    outcome = create_once(account, find, create)
    return outcome.value, (outcome if outcome.created else None)


def _created_detail(outcome: Created[Any], what: str) -> str:
    return f"created {what}" + (f" ({outcome.note})" if outcome.note else "")


def ensure_user(account: Account, user_name: str, display_name: str | None = None) -> tuple[iam.User, Change]:
    """Create the user unless it exists; an existing user with another display name is a conflict."""
    validate_email(user_name)
    user, created = _find_or_create(
        account, lambda: find_user(account, user_name),
        lambda api: iam.AccountUsersAPI(api).create(user_name=user_name, display_name=display_name))
    if created:
        return user, Change("create_user", user_name, _created_detail(created, f"with id {user.id}"), True)
    if display_name and user.display_name and user.display_name != display_name:
        raise ConflictError(f"User {user_name} exists with display name '{user.display_name}', not the requested "
                            f"'{display_name}'. Use the existing name or rename the user first.")
    return user, Change("create_user", user_name, f"exists with id {user.id}", False)


def ensure_group(account: Account, group_name: str, external_id: str | None = None) -> tuple[iam.Group, Change]:
    if not group_name or not group_name.strip():
        raise InvalidInput("A group needs a name.", field="group_name", value=group_name, fix="give a display name")
    group, created = _find_or_create(
        account, lambda: find_group(account, group_name),
        lambda api: iam.AccountGroupsAPI(api).create(display_name=group_name, external_id=external_id))
    if created:
        return group, Change("create_group", group_name, _created_detail(created, f"with id {group.id}"), True)
    if external_id and group.external_id and group.external_id != external_id:
        raise ConflictError(f"Group {group_name} exists with externalId '{group.external_id}', not the requested "
                            f"'{external_id}'.")
    return group, Change("create_group", group_name, f"exists with id {group.id}", False)


def ensure_service_principal(account: Account, display_name: str,
                             application_id: str | None = None) -> tuple[iam.ServicePrincipal, Change]:
    """Create the service principal unless one with this application id (or, without one, this
    display name) exists. A display name is not unique, so the create carries an application id
    made here when none is given (Databricks accepts a client-chosen UUID and keeps it unique): a
    create whose answer was lost is then found by that id, never made twice."""
    if not display_name or not display_name.strip():
        raise InvalidInput("A service principal needs a display name.", field="display_name", value=display_name,
                           fix="give a display name")
    existing = find_service_principal(account, application_id or display_name)
    if existing is not None:
        sp, created = existing, None
    else:
        new_id = application_id or str(uuid.uuid4())
        outcome = create_once(
            account, lambda: find_service_principal(account, new_id),
            lambda api: iam.AccountServicePrincipalsAPI(api).create(display_name=display_name,
                                                                    application_id=new_id))
        sp, created = outcome.value, (outcome if outcome.created else None)
    if created:
        return sp, Change("create_service_principal", display_name,
                          _created_detail(created, f"with application id {sp.application_id}"), True)
    if sp.display_name != display_name:
        raise ConflictError(f"Service principal {sp.application_id} exists as '{sp.display_name}', not "
                            f"the requested '{display_name}'.")
    return sp, Change("create_service_principal", display_name, f"exists ({sp.application_id})", False)


def _group_members(account: Account, group_name: str) -> tuple[iam.Group, set[str]]:
    group = find_group(account, group_name)
    if group is None:
        raise UnknownPrincipal(f"Group '{group_name}' does not exist in account {account.account_id}.",
                               field="group", value=group_name, fix="create the group first, or correct its name")
    account.limits.acquire("scim-get")
    full = account.a.groups.get(group.id)
    return full, {m.value for m in full.members or [] if m.value}


def _patch_members(account: Account, group: iam.Group, op: iam.PatchOp, ids: list[str]) -> None:
    for start in range(0, len(ids), MAX_MEMBERS_PER_PATCH):
        chunk = ids[start:start + MAX_MEMBERS_PER_PATCH]
        if op == iam.PatchOp.ADD:
            operations = [iam.Patch(op=op, path="members", value=[{"value": i} for i in chunk])]
        else:
            operations = [iam.Patch(op=op, path=f'members[value eq "{i}"]') for i in chunk]
        account.limits.acquire("scim-patch")
        try:
            account.a.groups.patch(group.id, operations=operations, schemas=PATCH_SCHEMAS)
        except PermissionDenied as exc:
            raise _idp_guard(exc, group.display_name or group.id) from exc


def _change_members(account: Account, group_name: str, members: Iterable[str], add: bool) -> list[str]:
    """Resolve every name before any write, then PATCH only the members that need the change."""
    group, current = _group_members(account, group_name)
    ids = resolve_members(account, members)  # combined look-ups, all before any write
    resolved = [(name, ids[name][0]) for name in dict.fromkeys(members)]
    todo = [(name, member_id) for name, member_id in resolved if (member_id in current) != add]
    if todo:
        _patch_members(account, group, iam.PatchOp.ADD if add else iam.PatchOp.REMOVE, [i for _, i in todo])
    return [name for name, _ in todo]


def add_members(account: Account, group_name: str, members: Iterable[str]) -> Change:
    """Add members (emails, group names, SP names or application ids) in as few PATCHes as the
    limit allows; members already present are skipped. Every name is resolved before any write."""
    added = _change_members(account, group_name, members, add=True)
    return Change("add_members", group_name, f"added {', '.join(added)}" if added else "all already members",
                  bool(added))


def remove_members(account: Account, group_name: str, members: Iterable[str]) -> Change:
    removed = _change_members(account, group_name, members, add=False)
    return Change("remove_members", group_name, f"removed {', '.join(removed)}" if removed else "none were members",
                  bool(removed))


def set_user_active(account: Account, user_name: str, active: bool) -> Change:
    """Deactivate or reactivate. The value goes as the string "true"/"false": the SDK drops a
    boolean False from a PATCH (`Patch.as_dict` skips falsy values)."""
    user = find_user(account, user_name)
    if user is None:
        raise UnknownPrincipal(f"User '{user_name}' does not exist in account {account.account_id}.",
                               field="user_name", value=user_name, fix="check the email")
    action = "reactivate_user" if active else "deactivate_user"
    if (user.active is not False) == active:
        return Change(action, user_name, "already " + ("active" if active else "deactivated"), False)
    account.limits.acquire("scim-patch")
    account.a.users.patch(user.id, operations=[
        iam.Patch(op=iam.PatchOp.REPLACE, path="active", value="true" if active else "false")], schemas=PATCH_SCHEMAS)
    return Change(action, user_name, "active" if active else "deactivated", True)


def deactivate_user(account: Account, user_name: str) -> Change:
    return set_user_active(account, user_name, False)


def reactivate_user(account: Account, user_name: str) -> Change:
    return set_user_active(account, user_name, True)


def assign_to_workspace(account: Account, workspace_id: int, principal: str, permission: str = "USER") -> Change:
    """Give a principal USER or ADMIN on a workspace; no request when it already has exactly that."""
    if permission not in ("USER", "ADMIN"):
        raise InvalidInput(f"Workspace permission '{permission}' is not valid.", field="permission",
                           value=permission, fix="use USER or ADMIN")
    principal_id, _kind = resolve_member(account, principal)
    account.limits.acquire("account-read")
    current = {str(x.principal.principal_id): tuple(p.value for p in x.permissions or [])
               for x in account.a.workspace_assignment.list(workspace_id=workspace_id) if x.principal}
    if current.get(principal_id) == (permission,):
        return Change("assign_workspace", f"{principal} on {workspace_id}", f"already {permission}", False)
    account.limits.acquire("scim-write")
    account.a.workspace_assignment.update(workspace_id=workspace_id, principal_id=int(principal_id),
                                          permissions=[iam.WorkspacePermission(permission)])
    return Change("assign_workspace", f"{principal} on {workspace_id}", permission, True)


def _assignment_of(account: Account, workspace_id: int, principal_id: str) -> tuple[str, ...] | None:
    account.limits.acquire("account-read")
    for item in account.a.workspace_assignment.list(workspace_id=workspace_id):
        if item.principal and str(item.principal.principal_id) == principal_id:
            return tuple(p.value for p in item.permissions or [])
    return None


def unassign_from_workspace(account: Account, workspace_id: int, principal: str) -> Change:
    """Remove a principal's workspace assignment. The assignment is read first, so "was not
    assigned" is what the account said before any change; a DELETE whose answer was lost (the SDK
    resends it and hears 404) is reported as the removal it was."""
    principal_id, _kind = resolve_member(account, principal)
    target = f"{principal} on {workspace_id}"
    if _assignment_of(account, workspace_id, principal_id) is None:
        return Change("unassign_workspace", target, "was not assigned", False)
    account.limits.acquire("scim-write")
    try:
        account.a.workspace_assignment.delete(workspace_id=workspace_id, principal_id=int(principal_id))
    except NotFound:
        if _assignment_of(account, workspace_id, principal_id) is not None:
            raise
        return Change("unassign_workspace", target, f"removed ({LOST_ANSWER})", True)
    return Change("unassign_workspace", target, "removed", True)

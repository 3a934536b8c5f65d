"""Entra routes: the identity platform's discovery and token endpoints, the Graph v1.0 reads the
Entra source uses (users, groups, members, transitiveMembers, appRoleAssignedTo, users/delta,
groups/delta), with Graph's paging (`$top`, absolute `@odata.nextLink` carrying `$skiptoken`),
`$select`, delta links and error bodies, and the few Graph writes that change the tenant (so a
later delta round has something to return).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from .. import bounds
from ..errors import GraphError, WireError
from ..wire import Ctx, Decision, Reply, Route
from . import delta
from .rules import GROUP_TYPE, Tenant

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_PAGE = 100
MAX_PAGE = 999


@dataclass
class TokenError(WireError):
    status: int
    error: str
    description: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.description)

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


def _tenant(ctx: Ctx) -> Tenant:
    tenant = getattr(ctx.app, "entra", None)
    if tenant is None or not tenant.tenant_id:
        raise GraphError(404, "Request_ResourceNotFound", "This emulator was started without an Entra tenant.")
    return tenant


def _known_tenant(ctx: Ctx, tenant_id: str) -> Tenant:
    tenant = _tenant(ctx)
    if tenant_id != tenant.tenant_id:
        raise TokenError(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant_id}' not found.")
    return tenant


def _openid(ctx: Ctx, tenant_id: str) -> Reply:
    _known_tenant(ctx, tenant_id)
    base = f"{PUBLIC_AUTHORITY}/{tenant_id}"
    return Reply(200, {"issuer": f"{base}/v2.0", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                       "token_endpoint": f"{base}/oauth2/v2.0/token", "token_endpoint_auth_methods_supported":
                       ["client_secret_post", "private_key_jwt", "client_secret_basic"]})


def _token(ctx: Ctx, tenant_id: str) -> Reply:
    tenant = _known_tenant(ctx, tenant_id)
    form = ctx.request.form
    if form.get("grant_type") != "client_credentials":
        raise TokenError(400, "unsupported_grant_type", "AADSTS70003: only client_credentials is emulated.")
    client_id = form.get("client_id", "")
    if client_id not in tenant.clients:
        raise TokenError(400, "unauthorized_client", f"AADSTS700016: Application '{client_id}' was not found.")
    if form.get("client_secret") != tenant.clients[client_id]:
        raise TokenError(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
    scope = form.get("scope", "")
    if not scope.endswith("/.default"):
        raise TokenError(400, "invalid_scope", "AADSTS1002012: client credentials need a '<resource>/.default' scope.")
    return Reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                       "access_token": tenant.issue_token(client_id, scope)})


def _authorized(ctx: Ctx) -> Tenant:
    tenant = _tenant(ctx)
    header = ctx.request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not token:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    if token not in tenant.tokens:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
    return tenant


FORWARDED_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")


def _origin(ctx: Ctx) -> str:
    """Where links point: the public origin a proxy names (X-Forwarded-Proto/-Host, as a client that
    rewrites graph.microsoft.com to this emulator sends), else the emulator's own host."""
    headers = ctx.request.headers
    host, proto = headers.get("X-Forwarded-Host", ""), headers.get("X-Forwarded-Proto", "")
    if FORWARDED_HOST.match(host) and proto in ("http", "https"):
        return f"{proto}://{host}"
    return ctx.request.host_url.rstrip("/")


def _page(ctx: Ctx, items: list[tuple[str, dict[str, Any]]], default_fields: tuple[str, ...]) -> Reply:
    args = ctx.args
    try:
        top = int(args.get("$top", DEFAULT_PAGE))
        offset = int(args.get("$skiptoken", "0") or 0)
    except ValueError:
        raise GraphError(400, "Request_BadRequest", "Invalid value for $top or $skiptoken.") from None
    if not 1 <= top <= MAX_PAGE:
        raise GraphError(400, "Request_BadRequest", f"Invalid page size specified: '{top}'. Must be between 1 and 999.")
    select = [f.strip() for f in args.get("$select", "").split(",") if f.strip()] or list(default_fields)
    page = items[offset:offset + top]
    value = []
    for odata_type, obj in page:
        row = {"@odata.type": odata_type}
        row.update({f: obj.get(f) for f in select if f != "members"})
        row.setdefault("id", obj["id"])
        value.append(row)
    body: dict[str, Any] = {"@odata.context": f"{_origin(ctx)}/v1.0/$metadata", "value": value}
    if offset + top < len(items):
        query = {k: v for k, v in args.items() if k != "$skiptoken"}
        query["$skiptoken"] = str(offset + top)
        body["@odata.nextLink"] = (f"{_origin(ctx)}{ctx.request.path}?"
                                   + urllib.parse.urlencode(query, safe="$,"))
    return Reply(200, body)


USER_FIELDS = ("id", "displayName", "mail", "userPrincipalName")  # accountEnabled only with $select
GROUP_FIELDS = ("id", "displayName")


def _users(ctx: Ctx) -> Reply:
    tenant = _authorized(ctx)
    return _page(ctx, [("#microsoft.graph.user", u) for u in tenant.users], USER_FIELDS)


def _groups(ctx: Ctx) -> Reply:
    tenant = _authorized(ctx)
    return _page(ctx, [("#microsoft.graph.group", g) for g in tenant.groups], GROUP_FIELDS)


def _group_members(ctx: Ctx, group_id: str, transitive: bool) -> Reply:
    tenant = _authorized(ctx)
    if tenant.group(group_id) is None:
        raise GraphError(404, "Request_ResourceNotFound",
                         f"Resource '{group_id}' does not exist or one of its queried reference-property "
                         "objects are not present.")
    return _page(ctx, tenant.members(group_id, transitive), USER_FIELDS)


def _members(ctx: Ctx, id: str) -> Reply:
    return _group_members(ctx, id, False)


def _transitive(ctx: Ctx, id: str) -> Reply:
    return _group_members(ctx, id, True)


def _assigned_to(ctx: Ctx, id: str) -> Reply:
    tenant = _authorized(ctx)
    app = tenant.application
    if id != app.get("id"):
        raise GraphError(404, "Request_ResourceNotFound", f"Resource '{id}' does not exist.")
    rows = [("#microsoft.graph.appRoleAssignment",
             {"id": f"{a['principalId']}-assignment", "resourceId": app["id"],
              "resourceDisplayName": app["displayName"], "appRoleId": "00000000-0000-0000-0000-000000000000",
              **a}) for a in app["assignments"]]
    return _page(ctx, rows, ("id", "principalId", "principalType", "principalDisplayName", "resourceId",
                             "resourceDisplayName", "appRoleId"))


# -- delta ------------------------------------------------------------------------------------------

DELTA_UNSUPPORTED = ("$top", "$orderby", "$count", "$search", "$filter", "$skip")


def _delta(ctx: Ctx, kind: str) -> Reply:
    tenant = _authorized(ctx)
    args = ctx.args
    for name in DELTA_UNSUPPORTED:
        if name in args:
            raise GraphError(400, "Request_BadRequest", f"The query parameter '{name}' is not supported with "
                                                         f"change tracking over the '{kind}' resource.")
    defaults = USER_FIELDS if kind == "users" else GROUP_FIELDS
    select = tuple(f.strip() for f in args.get("$select", "").split(",") if f.strip()) or defaults
    if kind == "groups" and args.get("$expand", "").strip() == "members" and "members" not in select:
        select = (*select, "members")  # the older documented form of the same request
    base = f"{_origin(ctx)}{ctx.request.path}"
    try:
        rnd = delta.resume(args.get("$skiptoken"), args.get("$deltatoken"), select, tenant)
    except delta.BadToken:
        raise GraphError(400, "Request_BadRequest", "The delta or skip token is not valid.") from None
    except delta.StaleToken as stale:
        restart = f"{base}?$select={','.join(stale.select)}"
        raise GraphError(410, "syncStateNotFound", "The sync state of this delta link is no longer available; "
                         "start a full synchronization (Location).", {"Location": restart}) from None
    items = delta.user_items(tenant, rnd) if kind == "users" else delta.group_items(tenant, rnd)
    page = items[rnd.offset:rnd.offset + delta.DELTA_PAGE]
    body: dict[str, Any] = {"@odata.context": f"{_origin(ctx)}/v1.0/$metadata#{kind}", "value": page}
    if rnd.offset + delta.DELTA_PAGE < len(items):
        body["@odata.nextLink"] = f"{base}?$skiptoken={rnd.token(rnd.offset + delta.DELTA_PAGE, tenant.epoch)}"
    else:
        body["@odata.deltaLink"] = f"{base}?$deltatoken={rnd.delta_token(tenant.epoch)}"
    return Reply(200, body)


def _users_delta(ctx: Ctx) -> Reply:
    return _delta(ctx, "users")


def _groups_delta(ctx: Ctx) -> Reply:
    return _delta(ctx, "groups")


# -- writes (Graph's own routes; each one is logged for delta) --------------------------------------

USER_WRITABLE = {"accountEnabled": bool, "displayName": str, "mail": str, "userPrincipalName": str,
                 "employeeId": str, "mailNickname": str, "givenName": str, "surname": str}
USER_CREATE_ONLY = {"passwordProfile": dict}


def _body(ctx: Ctx) -> dict[str, Any]:
    raw = ctx.request.get_data(cache=True)
    body = bounds.loads_body(raw, "entra", GraphError(400, "BadRequest", "Unable to read JSON request payload.")) \
        if raw else {}
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "The request body must be a JSON object.")
    return body


def _checked(body: dict[str, Any], allowed: dict[str, type]) -> dict[str, Any]:
    for name, value in body.items():
        if name not in allowed:
            raise GraphError(400, "Request_BadRequest", f"Property '{name}' is not writable here (or does not "
                                                         "exist on this resource).")
        if not isinstance(value, allowed[name]):
            raise GraphError(400, "Request_BadRequest", f"Invalid value for property '{name}': expected "
                                                         f"{allowed[name].__name__}.")
    return body


def _not_found(object_id: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound", f"Resource '{object_id}' does not exist or one of its "
                                                       "queried reference-property objects are not present.")


def _existing_user(tenant: Tenant, id: str) -> dict[str, Any]:
    user = tenant.user(id)
    if user is None:
        raise _not_found(id)
    return user


def _upn_taken(tenant: Tenant, upn: str, but: str | None = None) -> bool:
    return any(u["id"] != but and str(u.get("userPrincipalName", "")).casefold() == upn.casefold()
               for u in tenant.users)


def _patch_user(ctx: Ctx, id: str) -> Reply:
    tenant = _authorized(ctx)
    with tenant.lock:
        _existing_user(tenant, id)
        values = _checked(_body(ctx), USER_WRITABLE)
        if "userPrincipalName" in values and _upn_taken(tenant, values["userPrincipalName"], but=id):
            raise GraphError(400, "Request_BadRequest", "Another object with the same value for property "
                                                         "userPrincipalName already exists.")
        if values:
            tenant.update_user(id, values)
    return Reply(204)


def _create_user(ctx: Ctx) -> Reply:
    tenant = _authorized(ctx)
    with tenant.lock:
        values = _checked(_body(ctx), {**USER_WRITABLE, **USER_CREATE_ONLY})
        required = ("accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile")
        missing = [name for name in required if name not in values]
        if missing:
            raise GraphError(400, "Request_BadRequest", f"Missing required properties: {', '.join(missing)}.")
        if _upn_taken(tenant, values["userPrincipalName"]):
            raise GraphError(400, "Request_BadRequest", "Another object with the same value for property "
                                                         "userPrincipalName already exists.")
        values.pop("passwordProfile")
        user = tenant.create_user(values)
    return Reply(201, {"@odata.context": f"{_origin(ctx)}/v1.0/$metadata#users/$entity", **user})


def _delete_user(ctx: Ctx, id: str) -> Reply:
    tenant = _authorized(ctx)
    with tenant.lock:
        _existing_user(tenant, id)
        tenant.delete_user(id)
    return Reply(204)


def _existing_group(tenant: Tenant, id: str) -> dict[str, Any]:
    group = tenant.group(id)
    if group is None:
        raise _not_found(id)
    return group


def _patch_group(ctx: Ctx, id: str) -> Reply:
    tenant = _authorized(ctx)
    with tenant.lock:
        _existing_group(tenant, id)
        values = _checked(_body(ctx), {"displayName": str, "description": str})
        if values:
            tenant.update_group(id, values)
    return Reply(204)


def _add_member(ctx: Ctx, id: str) -> Reply:
    tenant = _authorized(ctx)
    with tenant.lock:
        group = _existing_group(tenant, id)
        ref = _body(ctx).get("@odata.id")
        if not isinstance(ref, str) or "/directoryObjects/" not in ref:
            raise GraphError(400, "Request_BadRequest", "The request body must be {\"@odata.id\": "
                             "\"https://graph.microsoft.com/v1.0/directoryObjects/{id}\"}.")
        member_id = ref.rstrip("/").rsplit("/", 1)[1]
        found = tenant.object(member_id)
        if found is None:
            raise _not_found(member_id)
        if member_id in group["members"]:
            raise GraphError(400, "Request_BadRequest", "One or more added object references already exist for "
                                                         "the following modified properties: 'members'.")
        if found[0] == GROUP_TYPE and (member_id == id or any(
                t == GROUP_TYPE and m["id"] == id for t, m in tenant.members(member_id, True))):
            raise GraphError(400, "Request_BadRequest", "A group cannot be a member of itself (a cycle).")
        tenant.add_member(id, member_id)
    return Reply(204)


def _remove_member(ctx: Ctx, id: str, member_id: str) -> Reply:
    tenant = _authorized(ctx)
    with tenant.lock:
        group = _existing_group(tenant, id)
        if member_id not in group["members"]:
            raise _not_found(member_id)
        tenant.remove_member(id, member_id)
    return Reply(204)


ROUTES = [
    Route(("GET",), "/<tenant_id>/v2.0/.well-known/openid-configuration", _openid, "entra-token", "entra",
          "OIDC discovery document; endpoints advertise the real https authority (msal requires https).",
          sdk="msal ConfidentialClientApplication()", auth=False),
    Route(("POST",), "/<tenant_id>/oauth2/v2.0/token", _token, "entra-token", "entra",
          "Client-credentials token for any '<resource>/.default' scope.",
          sdk="msal acquire_token_for_client", auth=False, writes=True),
    Route(("GET",), "/v1.0/users", _users, "graph", "entra", "Users; accountEnabled only when $select names it.",
          sdk="Graph reader", auth=False),
    Route(("GET",), "/v1.0/groups", _groups, "graph", "entra", "Groups.", sdk="Graph reader", auth=False),
    Route(("GET",), "/v1.0/groups/<id>/members", _members, "graph", "entra",
          "Direct members (users and groups, each with @odata.type).", sdk="Graph reader", auth=False),
    Route(("GET",), "/v1.0/groups/<id>/transitiveMembers", _transitive, "graph", "entra",
          "Every nested member, including the nested group objects.", sdk="Graph reader", auth=False),
    Route(("GET",), "/v1.0/servicePrincipals/<id>/appRoleAssignedTo", _assigned_to, "graph", "entra",
          "Users and groups assigned to the Databricks enterprise application.", sdk="Graph reader", auth=False),
    Route(("GET",), "/v1.0/users/delta", _users_delta, "graph", "entra",
          "Users delta: an initial round lists every user; a deltaLink round only users changed since, deleted "
          "ones as @removed (reason changed); $select kept in the opaque tokens.", sdk="Graph reader", auth=False),
    Route(("GET",), "/v1.0/groups/delta", _groups_delta, "graph", "entra",
          "Groups delta; with members in $select each group carries members@delta (added, and removed with "
          "@removed).", sdk="Graph reader", auth=False),
    Route(("POST",), "/v1.0/users", _create_user, "graph-write", "entra",
          "Create a user (accountEnabled, displayName, mailNickname, userPrincipalName, passwordProfile).",
          sdk="tests (a joiner)", auth=False, writes=True),
    Route(("PATCH",), "/v1.0/users/<id>", _patch_user, "graph-write", "entra",
          "Update a user's properties (accountEnabled, displayName, ...); 204.", sdk="tests", auth=False,
          writes=True),
    Route(("DELETE",), "/v1.0/users/<id>", _delete_user, "graph-write", "entra",
          "Soft-delete a user (it leaves its groups); 204.", sdk="tests", auth=False, writes=True),
    Route(("PATCH",), "/v1.0/groups/<id>", _patch_group, "graph-write", "entra",
          "Rename a group (displayName, description); 204.", sdk="tests", auth=False, writes=True),
    Route(("POST",), "/v1.0/groups/<id>/members/$ref", _add_member, "graph-write", "entra",
          "Add a member by {\"@odata.id\": \".../directoryObjects/{id}\"}; 400 if already a member.",
          sdk="tests", auth=False, writes=True),
    Route(("DELETE",), "/v1.0/groups/<id>/members/<member_id>/$ref", _remove_member, "graph-write", "entra",
          "Remove a direct member; 404 if it is not one.", sdk="tests", auth=False, writes=True),
]

DECISIONS = [
    Decision("Entra authority", "The token and discovery routes sit at the real paths under the emulator's host; "
             "tests keep msal's real authority https://login.microsoftonline.com/<tenant> and rewrite that host to "
             "the emulator in a requests HTTPAdapter (instance_discovery=False).", "entra-graph.md 2.3 (C1)"),
    Decision("Graph paging", "$top 1-999 (default 100; outside that range 400 Request_BadRequest); nextLink is "
             "absolute, on the emulator's own host (or on the public origin named by X-Forwarded-Proto and "
             "X-Forwarded-Host, which scimkit's redirected_session sends as a reverse proxy would, so stored delta "
             "links name graph.microsoft.com), and carries $select, $top and an opaque $skiptoken.",
             "entra-graph.md 1.1, 1.2"),
    Decision("Entra tokens for Azure Databricks", "A token the emulated tenant issued for the scope "
             "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default (the Azure Databricks resource) is accepted by the "
             "account and workspace APIs as the account's service principal whose applicationId is the token's "
             "client id: an account admin if it holds the account_admin role, else read-only. A client with no "
             "such service principal is 401. Graph-scoped tokens are not accepted there.",
             "entra-graph.md 3; Azure Databricks docs on Entra service-principal tokens"),
    Decision("Graph tokens", "Only tokens the emulated token endpoint issued are accepted (401 "
             "InvalidAuthenticationToken otherwise); the scope is not checked against the resource.", "our design"),
    Decision("Graph delta", "users/delta and groups/delta keep a change log of the tenant (the seed is version 0, "
             "each write the next). nextLink/deltaLink carry only an opaque $skiptoken/$deltatoken that encodes the "
             "round and its $select (as Graph's do); a group's members@delta holds at most 20 members, a larger "
             "group appears again (consecutively) with the next ones; pages of 100 (Graph chooses delta page sizes; $top, $filter, "
             "$orderby, $count, $search are 400). A later round lists each changed object once with all its "
             "selected properties; a soft-deleted user is {id, @removed: {reason: changed}}; a group carries "
             "members@delta with only the memberships changed (removed ones with @removed: {reason: deleted}). "
             "$deltatoken=latest answers an empty round and a deltaLink. A link from before a reseed is 410 "
             "syncStateNotFound with a Location to restart; a token that does not decode is 400.",
             "entra-graph.md 1.1, 1.2; Graph delta-query-overview, user-delta, group-delta"),
    Decision("Graph throttling", "Switched on by path with the shared fault rules (--fault or POST /_scimkit/faults, "
             "e.g. 'GET:/v1.0/users/delta:429:2'); on Entra paths an injected 429 or 503 carries Retry-After: 1 and "
             "Graph's body {error: {code: TooManyRequests or serviceNotAvailable, message, innerError: {date, "
             "request-id}}}; any other unmatched /v1.0/ path is Graph's 404 Request_ResourceNotFound. No resource-"
             "unit bucket is emulated (--rate-limits does not cover Graph).",
             "entra-graph.md 1.4; Graph throttling and errors docs"),
    Decision("Graph writes", "POST /users, PATCH and DELETE /users/{id}, PATCH /groups/{id}, POST "
             "/groups/{id}/members/$ref and DELETE /groups/{id}/members/{id}/$ref exist so tests change the tenant "
             "the way an admin does; any token the emulated endpoint issued may write (permissions such as "
             "User.ReadWrite.All are not checked); a soft delete removes the user from its groups.",
             "Graph v1.0 user-update, user-delete, group-post-members, group-delete-members; permissions our "
             "simplification"),
]

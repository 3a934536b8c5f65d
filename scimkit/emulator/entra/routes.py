"""Entra routes: the identity platform's discovery and token endpoints, and the Graph v1.0 reads the
Entra source uses (users, groups, members, transitiveMembers, appRoleAssignedTo), with Graph's
paging (`$top`, absolute `@odata.nextLink` carrying `$skiptoken`), `$select` and error bodies.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from ..errors import WireError
from ..wire import Ctx, Decision, Reply, Route
from .rules import Tenant

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_PAGE = 100
MAX_PAGE = 999


@dataclass
class GraphError(WireError):
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "innerError": {}}}


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
                       "access_token": tenant.issue_token()})


def _authorized(ctx: Ctx) -> Tenant:
    tenant = _tenant(ctx)
    header = ctx.request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not token:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    if token not in tenant.tokens:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
    return tenant


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
    body: dict[str, Any] = {"@odata.context": f"{ctx.request.host_url}v1.0/$metadata", "value": value}
    if offset + top < len(items):
        query = {k: v for k, v in args.items() if k != "$skiptoken"}
        query["$skiptoken"] = str(offset + top)
        body["@odata.nextLink"] = (f"{ctx.request.host_url.rstrip('/')}{ctx.request.path}?"
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
]

DECISIONS = [
    Decision("Entra authority", "The token and discovery routes sit at the real paths under the emulator's host; "
             "tests keep msal's real authority https://login.microsoftonline.com/<tenant> and rewrite that host to "
             "the emulator in a requests HTTPAdapter (instance_discovery=False).", "entra-graph.md 2.3 (C1)"),
    Decision("Graph paging", "$top 1-999 (default 100; outside that range 400 Request_BadRequest); nextLink is "
             "absolute, on the emulator's own host, and carries $select, $top and an opaque $skiptoken.",
             "entra-graph.md 1.1, 1.2"),
    Decision("Graph tokens", "Only tokens the emulated token endpoint issued are accepted (401 "
             "InvalidAuthenticationToken otherwise); the scope is not checked against the resource.", "our design"),
    Decision("Not yet emulated", "users/delta and groups/delta, Graph's own 429 throttling (use --fault), and "
             "writes to the tenant are not served (404).", "issue 9, not finished"),
]

"""Account identity routes: SCIM users, groups and service principals (2.0 and 2.1 prefixes),
workspaces, and workspace permission assignments. Wire format only; rules live in
`rules`, filters in `filters`.
"""

from __future__ import annotations

from typing import Any

from .. import bounds
from ..errors import ApiError, ScimError
from ..store import Store, get_meta
from ..wire import DEFAULT_WORKSPACE_ID, Ctx, Decision, Reply, Route
from . import filters as scim_filter
from . import rules

LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def default_workspace_id(store: Store) -> int:
    with store.tx() as db:
        return int(get_meta(db, "default_workspace_id", str(DEFAULT_WORKSPACE_ID)) or DEFAULT_WORKSPACE_ID)


def workspace_exists(store: Store, workspace_id: int) -> bool:
    with store.tx() as db:
        return db.execute("SELECT 1 FROM workspaces WHERE workspace_id=?", (workspace_id,)).fetchone() is not None


# -- SCIM ------------------------------------------------------------------------------------------

def _int_arg(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.args.get(name)
    if raw in (None, ""):
        return default
    return bounds.parse_int(raw, f"Query parameter '{name}'", "scim")


def _scim_list(ctx: Ctx, kind: str) -> Reply:
    limits = ctx.config.limits
    start_index = max(1, _int_arg(ctx, "startIndex", 1))
    count = _int_arg(ctx, "count", limits.scim_page_size)
    count = max(0, min(count, limits.scim_page_size))  # the SDK sends 10000: clamp, never reject
    filter_text = ctx.args.get("filter")
    sort_by = ctx.args.get("sortBy")
    attributes, excluded = ctx.args.get("attributes"), ctx.args.get("excludedAttributes")
    with ctx.store.tx() as db:
        if not filter_text and not sort_by:
            # The common case (a full listing) pages in SQL, so listing 10,000 users stays linear;
            # memberships are read only when the projection keeps `groups`.
            total, principals = rules.page_of_kind(db, kind, start_index - 1, count)
            with_groups = rules.projection_keeps("groups", attributes, excluded)
            page = [rules.render(db, p, with_members=False, with_groups=with_groups) for p in principals]
        else:
            shortcut = scim_filter.simple_equality(filter_text) if filter_text else None
            if shortcut and shortcut[0].lower() == rules.KEY_FIELD[kind].lower():
                principals = rules.by_key(db, kind, shortcut[1])
            else:
                principals = rules.all_of_kind(db, kind)
            resources = [rules.render(db, p, with_members=False) for p in principals]
            if filter_text:
                predicate = scim_filter.parse(filter_text, limits.scim_filter_nodes)
                resources = [r for r in resources if predicate(r)]
            if sort_by:
                descending = (ctx.args.get("sortOrder") or "ascending").lower() == "descending"
                resources.sort(key=rules.sort_key(sort_by), reverse=descending)
            total = len(resources)
            page = resources[start_index - 1:start_index - 1 + count]
    page = [rules.project(r, attributes, excluded) for r in page]
    return Reply(200, {"schemas": [LIST_RESPONSE_URN], "totalResults": total, "startIndex": start_index,
                       "itemsPerPage": len(page), "Resources": page})


def _scim_get(ctx: Ctx, kind: str, id: str) -> Reply:
    with ctx.store.tx() as db:
        resource = rules.render(db, rules.get(db, kind, id), with_members=True)
    return Reply(200, rules.project(resource, ctx.args.get("attributes"), ctx.args.get("excludedAttributes")))


def _scim_create(ctx: Ctx, kind: str) -> Reply:
    body = ctx.json()
    with ctx.store.tx() as db:
        principal = rules.create(db, kind, body, ctx.config.limits, idp_managed=ctx.via_scim_token)
        resource = rules.render(db, principal, with_members=True)
    return Reply(201, resource)


def _scim_replace(ctx: Ctx, kind: str, id: str) -> Reply:
    body = ctx.json()
    if not isinstance(body, dict):
        raise ScimError(400, "Request body must be a JSON object.", "invalidSyntax")
    with ctx.store.tx() as db:
        principal = rules.get(db, kind, id)
        rules.replace(db, principal, body, ctx.config.limits, admin_call=not ctx.via_scim_token,
                      idp_immutable=ctx.config.idp_groups_immutable)
        resource = rules.render(db, principal, with_members=True)
    return Reply(200, resource)


def _scim_patch(ctx: Ctx, kind: str, id: str) -> Reply:
    body = ctx.json()
    with ctx.store.tx() as db:
        principal = rules.get(db, kind, id)
        rules.patch(db, principal, body, ctx.config.limits, admin_call=not ctx.via_scim_token,
                    idp_immutable=ctx.config.idp_groups_immutable)
    return Reply(200, {})


def _scim_delete(ctx: Ctx, kind: str, id: str) -> Reply:
    with ctx.store.tx() as db:
        principal = rules.get(db, kind, id)
        rules.delete(db, principal, admin_call=not ctx.via_scim_token, idp_immutable=ctx.config.idp_groups_immutable)
    return Reply(204)


def _bind(function: Any, kind: str) -> Any:
    def handler(ctx: Ctx, **kwargs: Any) -> Reply:
        return function(ctx, kind, **kwargs)

    handler.__name__ = f"{function.__name__}_{kind}"
    return handler


# -- workspaces and assignments ----------------------------------------------------------------------

def _list_workspaces(ctx: Ctx) -> Reply:
    with ctx.store.tx() as db:
        return Reply(200, rules.workspaces(db, ctx.config.account_id))


def _get_workspace(ctx: Ctx, workspace_id: int) -> Reply:
    with ctx.store.tx() as db:
        return Reply(200, rules.workspace(db, workspace_id, ctx.config.account_id))


def _principal_id(raw: str) -> str:
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"principal_id must be a numeric SCIM id, got {raw[:40]!r}.")
    return str(bounds.parse_int(raw, "principal_id", "api", minimum=0))


def _list_assignments(ctx: Ctx, workspace_id: int) -> Reply:
    with ctx.store.tx() as db:
        rules.workspace(db, workspace_id, ctx.config.account_id)
        return Reply(200, {"permission_assignments": rules.assignments(db, workspace_id)})


def _assignment_permissions(ctx: Ctx, workspace_id: int) -> Reply:
    with ctx.store.tx() as db:
        rules.workspace(db, workspace_id, ctx.config.account_id)
    return Reply(200, {"permissions": [
        {"permission_level": "USER", "description": "Can use the workspace."},
        {"permission_level": "ADMIN", "description": "Can use the workspace and administer it."},
    ]})


def _put_assignment(ctx: Ctx, workspace_id: int, principal_id: str) -> Reply:
    body = ctx.json()
    permissions = body.get("permissions") if isinstance(body, dict) else None
    with ctx.store.tx() as db:
        rules.workspace(db, workspace_id, ctx.config.account_id)
        return Reply(200, rules.assign(db, workspace_id, _principal_id(principal_id), permissions))


def _delete_assignment(ctx: Ctx, workspace_id: int, principal_id: str) -> Reply:
    with ctx.store.tx() as db:
        rules.workspace(db, workspace_id, ctx.config.account_id)
        rules.unassign(db, workspace_id, _principal_id(principal_id))
    return Reply(200, {})


# -- the route table ---------------------------------------------------------------------------------

def _scim_routes() -> list[Route]:
    routes: list[Route] = []
    sdk_attr = {"Users": "users", "Groups": "groups", "ServicePrincipals": "service_principals"}
    for version in ("2.0", "2.1"):
        for resource, kind in rules.KINDS.items():
            base = f"/api/{version}/accounts/<account_id>/scim/v2/{resource}"
            attr = sdk_attr[resource]

            def sdk(call: str, attr: str = attr, version: str = version) -> str:
                if version == "2.0":
                    return f"a.{attr}.{call}, a.{attr}_v2.{call}"
                return "raw HTTP with the SCIM provisioning token"

            note = "" if version == "2.0" else "Same handlers as 2.0 (differences unverified)."
            routes += [
                Route(("GET",), base, _bind(_scim_list, kind), "scim-list", "scim",
                      f"List {resource}: filter, attributes, excludedAttributes, sortBy, startIndex/count paging "
                      "(count clamped to 100; an empty page ends the list)." +
                      (" Groups are listed without members." if kind == "Group" else
                       " Each carries its direct groups unless the projection drops them."), sdk("list()"),
                      notes=note),
                Route(("POST",), base, _bind(_scim_create, kind), "scim-write", "scim",
                      f"Create a {kind}; 409 on a duplicate natural key (case-insensitive).", sdk("create()"),
                      writes=True, notes=note),
                Route(("GET",), f"{base}/<id>", _bind(_scim_get, kind), "scim-get", "scim",
                      f"Get one {kind}" + (" with members ($ref)." if kind == "Group" else
                                           " with its direct groups (display, value, $ref, type)."), sdk("get(id)"),
                      notes=note),
                Route(("PUT",), f"{base}/<id>", _bind(_scim_replace, kind), "scim-write", "scim",
                      f"Replace a {kind} (immutable attributes silently kept).", sdk("update(id, ...)"),
                      writes=True, notes=note),
                Route(("PATCH",), f"{base}/<id>", _bind(_scim_patch, kind), "scim-patch", "scim",
                      f"Patch a {kind}: add/remove/replace, every form in databricks-api.md 1.6; all or nothing.",
                      sdk("patch(id, operations=...)"), writes=True, notes=note),
                Route(("DELETE",), f"{base}/<id>", _bind(_scim_delete, kind), "scim-write", "scim",
                      f"Delete a {kind} with its memberships and assignments.", sdk("delete(id)"), writes=True,
                      notes=note),
            ]
    return routes


def _assignment_routes() -> list[Route]:
    routes = [
        Route(("GET",), "/api/2.0/accounts/<account_id>/workspaces", _list_workspaces, "account-read", "api",
              "List the account's workspaces.", "a.workspaces.list()"),
        Route(("GET",), "/api/2.0/accounts/<account_id>/workspaces/<int:workspace_id>", _get_workspace,
              "account-read", "api", "Get one workspace.", "a.workspaces.get(workspace_id)"),
    ]
    for prefix in ("/api/2.0/accounts", "/api/2.0/preview/accounts"):
        base = f"{prefix}/<account_id>/workspaces/<int:workspace_id>/permissionassignments"
        note = "" if prefix == "/api/2.0/accounts" else "Older preview prefix; same handlers."
        routes += [
            Route(("GET",), base, _list_assignments, "account-read", "api",
                  "List a workspace's permission assignments.", "a.workspace_assignment.list(workspace_id)",
                  notes=note),
            Route(("GET",), f"{base}/permissions", _assignment_permissions, "account-read", "api",
                  "The permission levels a workspace offers (USER, ADMIN).", "a.workspace_assignment.get(workspace_id)",
                  notes=note),
            Route(("PUT",), f"{base}/principals/<principal_id>", _put_assignment, "scim-write", "api",
                  "Create or replace a principal's assignment; ADMIN wins over USER; other values ignored; "
                  "none deletes it.", "a.workspace_assignment.update(workspace_id, principal_id, permissions)",
                  writes=True, notes=note),
            Route(("DELETE",), f"{base}/principals/<principal_id>", _delete_assignment, "scim-write", "api",
                  "Remove a principal's assignment (404 if it has none).",
                  "a.workspace_assignment.delete(workspace_id, principal_id)", writes=True, notes=note),
        ]
    return routes


ROUTES: list[Route] = _scim_routes() + _assignment_routes()

DECISIONS: list[Decision] = [
    Decision("SCIM page size", "count is clamped to 100 (the SDK sends 10000); count=0 returns no resources; "
             "startIndex < 1 counts as 1; past the end Resources is an empty list.",
             "databricks-api.md 1.5 (docs: default 10000, constraint <= 100)"),
    Decision("Group lists", "List responses never carry members; GET by id does, each with value, display and $ref.",
             "databricks-api.md 1.5 (members dropped from list since 2025-08-22)"),
    Decision("Memberships on users and service principals", "Users and service principals carry the read-only "
             "`groups` attribute: their direct parent groups, each {display, value, $ref: Groups/<id>, type: direct} "
             "(left out when there are none), "
             "on GET by id and on lists (kept or dropped by attributes/excludedAttributes like any attribute; "
             "groups inherited through nesting are not listed). Writes of `groups` are ignored. Groups carry no "
             "`groups` of their own (their parents are read from the parents' members).",
             "SDK iam.User/ServicePrincipal.groups (ComplexValue with type); RFC 7643 4.1.2 (groups, type "
             "direct/indirect); issue 13 (user objects carry groups), superseding databricks-api.md 1.3's reading "
             "of terraform-provider-databricks PR 2398"),
    Decision("Filter grammar", "eq, ne, co, sw with and/or; attribute names case-insensitive; string comparison "
             "case-insensitive; 'single', \"double\" and unquoted values; not, parentheses, value paths and other "
             "operators give SCIM 400 invalidFilter ('Given filter operator is not supported'); more than 200 "
             "nodes (comparisons plus and/or) give 400 INVALID_FILTER. A \"double-quoted\" value is decoded as a JSON "
             "string (\\\" a quote, \\\\ a backslash, \\uXXXX); an escape JSON lacks, or an unterminated value, is 400 "
             "invalidFilter; 'single-quoted' and unquoted values are taken as written.",
             "databricks-api.md 1.7; RFC 7644 3.4.2.2 (compValue is a JSON string, RFC 7159); Databricks documents "
             "no other escaping; quoting as Terraform and provisioning clients send it"),
    Decision("Error bodies", "scimType is set only where RFC 7644 defines one (400 invalidFilter/invalidValue/"
             "invalidSyntax/invalidPath/noTarget/mutability, 409 uniqueness); 401/403/404 carry detail and status "
             "only, so the SDK's message starts with 'None'.", "RFC 7644 3.12; databricks-api.md 2.2, 2.3"),
    Decision("Duplicate messages", "409 'User with email <u> already exists in this account', 'Group with name <g> "
             "already exists.', 'Service principal with application ID <a> already exists.'",
             "databricks-api.md 2.2 (Terraform matches the user message)"),
    Decision("PATCH forms", "op in any case; path-less add/replace with an attribute object; members add by list; "
             "remove by members[value eq \"id\"], by value list on path members, or all members with no value; "
             "a value-less add/replace is 400 invalidValue; active accepts true/false and the strings "
             "'true'/'False'; unknown keys in an operation ignored; schemas optional; extension (urn:) paths "
             "ignored; the whole PATCH is applied or nothing; reply 200 {}.",
             "databricks-api.md 1.6 and 6.5; RFC 7644 3.5.2; Entra and Okta request shapes"),
    Decision("Immutable attributes", "userName and emails of users, applicationId of service principals: PUT/PATCH "
             "changes are silently ignored.", "databricks-api.md 1.3, 1.6"),
    Decision("Unknown members", "Adding a member id that does not exist is 400 invalidValue, nothing changed.",
             "RFC 7644 3.5.2 (invalidValue); Databricks silent"),
    Decision("Cycles and depth", "A membership that would create a cycle is 400; nesting deeper than 10 edges is "
             "400; a principal in more than 1500 groups directly is 400 (all configurable).",
             "databricks-api.md 2.1 and 7.2"),
    Decision("Account size", "More than 5000 groups or 10000 users and service principals: 400 invalidValue.",
             "databricks-api.md 2.1 (limits page); status code our choice"),
    Decision("Members per PATCH", "At most 1000 member changes per request (400 beyond; Limits.max_members_per_patch).",
             "Databricks silent; our choice, so clients batch"),
    Decision("Identity-provider groups", "A group created through /api/2.1/.../scim/v2 with the provisioning token "
             "and an externalId refuses name, member changes and deletion from the admin token with 403 "
             "(switch: idp_groups_immutable).", "databricks-api.md 7.2 (terraform-provider-databricks issue 4358)"),
    Decision("Provisioning token", "Valid only under /api/2.1/accounts/{A}/scim/v2/; elsewhere 403.",
             "databricks-api.md 1.8 (Entra provisioning tutorial)"),
    Decision("Reader token", "The reader is a service principal (scimkit-reader) that may GET everything; any write "
             "is 403.", "our choice: an --empty account then has no people"),
    Decision("Unknown account id", "A path with another account id answers 404.", "our choice"),
    Decision("Workspace assignment", "PUT is create-or-replace; only USER and ADMIN count (ADMIN wins, stored "
             "alone); an empty or invalid list deletes; DELETE of a missing assignment is 404; principal ids must "
             "exist (404).", "databricks-api.md 3"),
    Decision("Deleting a principal", "Removes its memberships and workspace assignments; Unity Catalog grants "
             "naming it stay behind.", "Unity Catalog grants are by name; Databricks silent on cleanup"),
]

"""The WSGI application: URL map, authentication, workspace routing, faults, dispatch.

Every request goes through the same steps, in this order:
    route match -> count (stats) -> latency -> authenticate -> injected fault -> rate limit
    -> handler (under the store lock) -> JSON reply
Route modules never see HTTP plumbing beyond `Ctx`; state never sees HTTP at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import socket
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import bounds
from .entra import routes as entra_routes
from .errors import ApiError, ScimError, WireError, family_error
from .faults import FAULT_HELP, RATE_LIMIT_CLASSES, FaultAction, Faults
from .oauth import routes as oauth_routes
from .oauth import rules as oauth_rules
from .scim import routes as scim_routes
from .store import TABLES, Store
from .unity import routes as unity_routes
from .wire import (
    ADMIN_SP_APPLICATION_ID,
    ADMIN_SP_ID,
    READER_SP_APPLICATION_ID,
    READER_SP_ID,
    Caller,
    Ctx,
    EmulatorConfig,
    Reply,
    Route,
)

log = logging.getLogger("scimkit.emulator")

SCIM_21_MARKER = "/api/2.1/accounts/"
ACCOUNT_API_PREFIXES = ("/api/2.0/accounts/", "/api/2.1/accounts/", "/api/2.0/preview/accounts/", "/_scimkit/")


def _meta_routes() -> list[Route]:
    return [
        Route(("GET",), "/.well-known/databricks-config", _well_known, "meta", "api",
              "Host metadata probe the SDK sends on every client construction; no token needed.",
              sdk="Config() construction", auth=False),
        Route(("GET",), "/api/2.0/preview/scim/v2/Me", _me, "meta", "scim",
              "The caller, with the X-Databricks-Org-Id header (workspace id).",
              sdk="w.current_user.me(), w.get_workspace_id()"),
        Route(("GET",), "/_scimkit/stats", _stats, "meta", "api",
              "Request counts per rate-limit class (and throttled / faulted counts).", auth=False),
        Route(("GET",), "/_scimkit/state", _state, "meta", "api",
              "A digest of the whole account state (every table), so a test can see that a refused "
              "request changed nothing."),
        Route(("POST",), "/_scimkit/reset", _reset, "meta", "api",
              "Restore the seed and clear the counters (admin token).", writes=True),
        Route(("POST",), "/_scimkit/faults", _add_fault, "meta", "api",
              'Add a fault rule at run time: {"spec": "METHOD:PATH_REGEX:ACTION:WHEN"} (admin token); '
              "DELETE removes every rule. " + FAULT_HELP,
              writes=True),
        Route(("DELETE",), "/_scimkit/faults", _clear_faults, "meta", "api",
              "Remove every fault rule (admin token).", writes=True),
    ]


def all_routes() -> list[Route]:
    return _meta_routes() + scim_routes.ROUTES + unity_routes.ROUTES + entra_routes.ROUTES + oauth_routes.ROUTES


class EmulatorApp:
    """WSGI callable serving the account API and every workspace's API on one host."""

    def __init__(self, store: Store, config: EmulatorConfig, faults: Faults,
                 reseed: Callable[[], None]) -> None:
        self.store = store
        self.config = config
        self.faults = faults
        self._reseed = reseed
        self.default_workspace_id = scim_routes.default_workspace_id(store)
        self.routes = all_routes()
        rules = []
        for index, route in enumerate(self.routes):
            rules.append(Rule(route.path, methods=list(route.methods), endpoint=index))
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)

    # -- WSGI ---------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        family = "scim" if "/scim/v2" in request.path else "entra" if request.path.startswith("/v1.0/") else "api"
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, path_args = adapter.match()
        except MethodNotAllowed:
            return self._error(family_error(family, 405, f"Method {request.method} is not allowed on {request.path}."))
        except NotFound:
            return self._error(family_error(family, 404, f"No API found for '{request.method} {request.path}'."))
        except HTTPException as exc:  # pragma: no cover - werkzeug redirects etc.
            return self._error(family_error(family, exc.code or 400, str(exc.description)))
        route = self.routes[endpoint]
        family = route.family
        self.faults.count(route.rate_class)
        self.faults.sleep()
        try:
            if request.content_length is not None and request.content_length > bounds.MAX_BODY_BYTES:
                raise bounds.body_too_large(family, request.content_length)
            for name, value in path_args.items():
                if isinstance(value, int):  # <int:...> path parts: SQLite integers are 64-bit
                    bounds.check_int64(value, f"The path's {name}", family)
            caller = self._authenticate(request, route)
            workspace_id = self._workspace_id(request, route)
            if caller.role == "member":
                self._check_member_reach(caller, request, route, workspace_id)
            after_commit: FaultAction | None = None
            for action in self.faults.injected(request.method, request.path, route.rate_class):
                if action.kind == "latency":
                    time.sleep(action.latency_ms / 1000)
                elif action.kind == "status":
                    raise _injected(family, action.status, "")
                else:
                    after_commit = action
            if route.rate_class in RATE_LIMIT_CLASSES:
                scope = RATE_LIMIT_CLASSES[route.rate_class][2]
                scope_key = str(workspace_id) if scope == "workspace" else self.config.account_id
                retry_after = self.faults.throttle(route.rate_class, scope_key)
                if retry_after is not None:
                    raise ApiError(429, "REQUEST_LIMIT_EXCEEDED",
                                   f"Rate limit exceeded for {route.rate_class}; retry after {retry_after} s.",
                                   {"Retry-After": str(retry_after)})
            account_id = path_args.pop("account_id", None)
            if account_id is not None and account_id != self.config.account_id:
                raise family_error(family, 404, f"Account {account_id} does not exist on this host "
                                                f"(the emulator serves account {self.config.account_id}).")
            ctx = Ctx(request=request, store=self.store, config=self.config, caller=caller,
                      family=family, workspace_id=workspace_id, app=self)
            if family == "scim" and account_id is not None:
                ctx.path_prefix = request.path.split("/scim/v2/")[0] + "/scim/v2"
            reply = route.handler(ctx, **path_args)
            if after_commit is not None:  # the change is made; the client never hears of it
                if after_commit.kind == "drop":
                    _drop_connection(request)
                raise _injected(family, after_commit.status or 503, " after the change was committed")
        except WireError as exc:
            return self._error(exc)
        except Exception:  # noqa: BLE001 - the emulator must answer, and say why
            log.error("emulator handler failed:\n%s", traceback.format_exc())
            return self._error(family_error(family, 500, "The emulator failed to handle this request (see its log)."))
        return self._reply(reply)

    def reseed(self) -> None:
        """Restore the seed; the default workspace is read once per seeding, not per request."""
        self._reseed()
        self.default_workspace_id = scim_routes.default_workspace_id(self.store)
        tenant = getattr(self, "entra", None)
        if tenant is not None:  # the Entra tenant too, in a new epoch (earlier delta links are stale)
            self.entra = tenant.reloaded()

    # -- steps --------------------------------------------------------------------------------
    def _authenticate(self, request: Request, route: Route) -> Caller:
        anonymous = Caller("anonymous", "", "", "anonymous")
        if not route.auth:
            return anonymous
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        family = route.family
        if not token:
            raise family_error(family, 401, "No access token: send 'Authorization: Bearer <token>'.")
        cfg = self.config
        if token == cfg.token:
            caller = Caller("admin", ADMIN_SP_ID, ADMIN_SP_APPLICATION_ID, "scimkit-admin")
        elif token == cfg.reader_token:
            caller = Caller("reader", READER_SP_ID, READER_SP_APPLICATION_ID, "scimkit-reader")
        elif token == cfg.scim_token:
            caller = Caller("scim", ADMIN_SP_ID, ADMIN_SP_APPLICATION_ID, "SCIM provisioning")
            if not request.path.startswith(f"{SCIM_21_MARKER}{cfg.account_id}/scim/v2/"):
                raise family_error(family, 403, "This SCIM provisioning token is valid only under "
                                                f"/api/2.1/accounts/{cfg.account_id}/scim/v2/.")
        elif (entra_caller := self._entra_caller(token, family)) is not None:
            caller = entra_caller
        else:
            caller = self._oauth_caller(token, request, family)
        if (route.writes or request.method not in ("GET", "HEAD")) and not caller.can_write:
            raise family_error(family, 403, "The caller may read but not change this account "
                                            "(it is not an account admin).")
        return caller

    def _oauth_caller(self, token: str, request: Request, family: str) -> Caller:
        """A token from the OIDC token endpoints acts as its service principal."""
        with self.store.tx() as db:
            grant = oauth_rules.grant_for(db, token)
        if grant is None:
            raise family_error(family, 401, "Invalid access token.")
        if grant.expired:
            raise family_error(family, 401, "The access token has expired; fetch a new one from the token endpoint.")
        if grant.audience == "workspace" and request.path.startswith(ACCOUNT_API_PREFIXES):
            raise family_error(family, 401, "This token was issued by a workspace token endpoint (/oidc/v1/token) "
                                            "and is not valid on account APIs.")
        role = "admin" if grant.account_admin else "member"
        return Caller(role, grant.sp_id, grant.application_id, grant.display_name)

    def _check_member_reach(self, caller: Caller, request: Request, route: Route, workspace_id: int) -> None:
        """A service principal that is not an account admin reads only workspaces it is assigned to."""
        if request.path.startswith(ACCOUNT_API_PREFIXES):
            raise family_error(route.family, 403, f"Service principal {caller.principal_name} is not an account "
                                                  "admin; account APIs need the account admin role.")
        with self.store.tx() as db:
            assigned = oauth_rules.assigned_to_workspace(db, caller.principal_id, workspace_id)
        if not assigned:
            raise family_error(route.family, 403, f"Service principal {caller.principal_name} is not assigned to "
                                                  f"workspace {workspace_id}.")

    def _entra_caller(self, token: str, family: str) -> Caller | None:
        """An Entra token for Azure Databricks from the emulated tenant acts as the account's service
        principal whose applicationId is the token's client id (entra-graph.md 3)."""
        tenant = getattr(self, "entra", None)
        client_id = tenant.databricks_client(token) if tenant is not None else None
        if client_id is None:
            return None
        with self.store.tx() as db:
            row = db.execute("SELECT id, doc FROM principals WHERE kind = 'ServicePrincipal' AND key_lower = ?",
                             (client_id.lower(),)).fetchone()
        if row is None:
            raise family_error(family, 401, f"The Entra application {client_id} is not a service principal of "
                                            "this account; add it first.")
        doc = json.loads(row["doc"])
        if doc.get("active") is False:
            raise family_error(family, 401, f"The service principal {client_id} is deactivated.")
        admin = any(r.get("value") == "account_admin" for r in doc.get("roles") or [] if isinstance(r, dict))
        return Caller("admin" if admin else "reader", str(row["id"]), client_id,
                      str(doc.get("displayName") or client_id))

    def _workspace_id(self, request: Request, route: Route) -> int:
        header = request.headers.get("X-Databricks-Workspace-Id")
        if not header:
            return self.default_workspace_id
        workspace_id = bounds.parse_int(header, "The X-Databricks-Workspace-Id header", route.family, minimum=0)
        if not scim_routes.workspace_exists(self.store, workspace_id):
            raise family_error(route.family, 404, f"Workspace {workspace_id} does not exist in this account.")
        return workspace_id

    # -- replies ------------------------------------------------------------------------------
    @staticmethod
    def _reply(reply: Reply) -> Response:
        if reply.body is None:
            return Response(status=reply.status, headers=reply.headers)
        return Response(json.dumps(reply.body), status=reply.status, headers=reply.headers,
                        mimetype="application/json")

    @staticmethod
    def _error(exc: WireError) -> Response:
        mimetype = "application/scim+json" if isinstance(exc, ScimError) else "application/json"
        return Response(json.dumps(exc.body()), status=exc.status, headers=exc.headers, mimetype=mimetype)


def _injected(family: str, status: int, when: str) -> WireError:
    headers = {"Retry-After": "1"} if status in (429, 503) else {}
    return family_error(family, status, f"Injected fault: HTTP {status}{when} (emulator --fault rule).", headers)


def _drop_connection(request: Request) -> None:
    """Close the client's socket with no answer (the server's write then fails, which it tolerates)."""
    sock = request.environ.get("werkzeug.socket")
    if sock is None:  # pragma: no cover - another WSGI server
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


# -- meta handlers (reach the app through ctx.app) -------------------------------------------------------

def _well_known(ctx: Ctx) -> Reply:
    app: EmulatorApp = ctx.app
    # As a unified host acting for its account: it names the account (a classic, multi-tenant
    # accounts host cannot) and its cloud, and no workspace_id (the SDK would then send
    # X-Databricks-Workspace-Id on account calls too); workspace clients name their workspace.
    # Its oidc_endpoint sends oauth-m2m logins of both clients to the account's token endpoint.
    return Reply(200, {"account_id": app.config.account_id, "cloud": "AWS",
                       "oidc_endpoint": oauth_routes.account_oidc_base(ctx, app.config.account_id)})


def _me(ctx: Ctx) -> Reply:
    caller = ctx.caller
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": caller.principal_id,
        "userName": caller.principal_name,
        "displayName": caller.display_name,
        "active": True,
    }
    return Reply(200, body, {"X-Databricks-Org-Id": str(ctx.workspace_id)})


def _stats(ctx: Ctx) -> Reply:
    app: EmulatorApp = ctx.app
    return Reply(200, app.faults.stats())


def _state(ctx: Ctx) -> Reply:
    digest = hashlib.sha256()
    rows = 0
    with ctx.store.tx() as db:
        for table in TABLES:
            for row in db.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                digest.update(repr(tuple(row)).encode())
                rows += 1
    return Reply(200, {"sha256": digest.hexdigest(), "rows": rows})


def _reset(ctx: Ctx) -> Reply:
    app: EmulatorApp = ctx.app
    app.reseed()
    app.faults.reset_stats()
    return Reply(200, {"reset": True})


def _add_fault(ctx: Ctx) -> Reply:
    app: EmulatorApp = ctx.app
    spec = (ctx.json() or {}).get("spec", "")
    try:
        app.faults.add_fault(spec)
    except ValueError as exc:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", str(exc)) from None
    return Reply(200, {"added": spec})


def _clear_faults(ctx: Ctx) -> Reply:
    app: EmulatorApp = ctx.app
    app.faults.clear_faults()
    return Reply(200, {"cleared": True})

"""OAuth M2M routes (databricks-api.md section 8): the service principal secrets API, OIDC
discovery for the account and the workspace, and the client-credentials token endpoints.

The emulator is a unified host (one host serves the account and every workspace), so its
`/.well-known/databricks-config` names the account's OIDC endpoint and both SDK clients log in
there; the workspace endpoints are served too, for a client given `discovery_url` explicitly.
"""

from __future__ import annotations

import base64
import binascii
import time
import urllib.parse
from typing import Any

from .. import bounds
from ..errors import ApiError
from ..wire import Ctx, Decision, Reply, Route
from . import rules
from .rules import OAuthError

SECRETS_PAGE_SIZE = 100


def _host(ctx: Ctx) -> str:
    return ctx.request.host_url.rstrip("/")


def account_oidc_base(ctx: Ctx, account_id: str) -> str:
    return f"{_host(ctx)}/oidc/accounts/{account_id}"


def _discovery(base: str) -> dict[str, Any]:
    return {"issuer": base, "authorization_endpoint": f"{base}/v1/authorize", "token_endpoint": f"{base}/v1/token",
            "jwks_uri": f"{base}/jwks.json", "grant_types_supported": ["client_credentials"],
            "response_types_supported": ["code"], "scopes_supported": list(rules.SCOPES),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]}


def _account_discovery(ctx: Ctx) -> Reply:
    return Reply(200, _discovery(account_oidc_base(ctx, ctx.config.account_id)))


def _workspace_discovery(ctx: Ctx) -> Reply:
    return Reply(200, _discovery(f"{_host(ctx)}/oidc"))


def _client_credentials(ctx: Ctx) -> tuple[str, str]:
    """HTTP Basic auth (the SDK's `use_header=True`) or, failing that, the form fields."""
    header = ctx.request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client", "The Basic authorization header is not valid base64 of "
                                                    "'client_id:client_secret'.") from None
        client_id, _, client_secret = decoded.partition(":")
        return urllib.parse.unquote(client_id), urllib.parse.unquote(client_secret)
    form = ctx.request.form
    return form.get("client_id", ""), form.get("client_secret", "")


def _token(ctx: Ctx, audience: str) -> Reply:
    form = ctx.request.form
    if form.get("grant_type") != "client_credentials":
        raise OAuthError(400, "unsupported_grant_type", "Only grant_type=client_credentials is served "
                                                        f"(got {str(form.get('grant_type'))[:40]!r}).")
    client_id, client_secret = _client_credentials(ctx)
    with ctx.store.tx() as db:
        answer = rules.issue_token(db, client_id, client_secret, form.get("scope", ""), audience,
                                   ctx.config.oauth_token_lifetime_s, time.time())
    return Reply(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _account_token(ctx: Ctx) -> Reply:
    return _token(ctx, "account")


def _workspace_token(ctx: Ctx) -> Reply:
    return _token(ctx, "workspace")


def _sp_id(raw: str) -> str:
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"service_principal_id must be the SP's numeric SCIM id, "
                                                       f"got {raw[:40]!r}.")
    return str(bounds.parse_int(raw, "service_principal_id", "api", minimum=0))


def _create_secret(ctx: Ctx, sp_id: str) -> Reply:
    body = ctx.json()
    if not isinstance(body, dict):
        raise ApiError(400, "MALFORMED_REQUEST", "The request body must be a JSON object.")
    lifetime = rules.parse_lifetime(body.get("lifetime"))
    with ctx.store.tx() as db:
        return Reply(200, rules.create_secret(db, _sp_id(sp_id), lifetime, time.time()))


def _list_secrets(ctx: Ctx, sp_id: str) -> Reply:
    raw_size, raw_token = ctx.args.get("page_size"), ctx.args.get("page_token")
    size = SECRETS_PAGE_SIZE if raw_size in (None, "") else bounds.parse_int(raw_size, "page_size", "api", minimum=0)
    size = min(size or SECRETS_PAGE_SIZE, SECRETS_PAGE_SIZE)
    offset = 0 if raw_token in (None, "") else bounds.parse_int(raw_token, "page_token", "api", minimum=0)
    with ctx.store.tx() as db:
        secrets = rules.list_secrets(db, _sp_id(sp_id))
    body: dict[str, Any] = {"secrets": secrets[offset:offset + size]}
    if offset + size < len(secrets):
        body["next_page_token"] = str(offset + size)
    return Reply(200, body)


def _delete_secret(ctx: Ctx, sp_id: str, secret_id: str) -> Reply:
    with ctx.store.tx() as db:
        rules.delete_secret(db, _sp_id(sp_id), secret_id)
    return Reply(200, {})


_SECRETS = "/api/2.0/accounts/<account_id>/servicePrincipals/<sp_id>/credentials/secrets"

ROUTES: list[Route] = [
    Route(("GET",), "/oidc/accounts/<account_id>/.well-known/oauth-authorization-server", _account_discovery,
          "oauth", "oauth", "Account OIDC discovery: issuer, authorization_endpoint, token_endpoint.",
          "Config(auth_type='oauth-m2m') for an AccountClient or WorkspaceClient (discovery_url from "
          "/.well-known/databricks-config)", auth=False),
    Route(("POST",), "/oidc/accounts/<account_id>/v1/token", _account_token, "oauth", "oauth",
          "Client-credentials grant (scope all-apis, client id and secret in Basic auth or the form): a bearer "
          "token acting as the service principal on the account and every workspace API; RFC 6749 errors.",
          "oauth.ClientCredentials.refresh()", auth=False),
    Route(("GET",), "/oidc/.well-known/oauth-authorization-server", _workspace_discovery, "oauth", "oauth",
          "Workspace OIDC discovery.", "Config(discovery_url=<host>/oidc/.well-known/oauth-authorization-server)",
          auth=False),
    Route(("POST",), "/oidc/v1/token", _workspace_token, "oauth", "oauth",
          "Workspace client-credentials grant: a token valid on workspace APIs only (401 on account APIs).",
          "oauth.ClientCredentials.refresh()", auth=False),
    Route(("POST",), _SECRETS, _create_secret, "scim-write", "api",
          "Create an OAuth secret for a service principal (SCIM id); the value is in this answer only.",
          "a.service_principal_secrets.create(service_principal_id)", writes=True),
    Route(("GET",), _SECRETS, _list_secrets, "account-read", "api",
          "List a service principal's secrets without values (page_size <= 100, next_page_token).",
          "a.service_principal_secrets.list(service_principal_id)"),
    Route(("DELETE",), f"{_SECRETS}/<secret_id>", _delete_secret, "scim-write", "api",
          "Revoke a secret: it fetches no new token (tokens already issued live out their lifetime).",
          "a.service_principal_secrets.delete(service_principal_id, secret_id)", writes=True),
]

DECISIONS: list[Decision] = [
    Decision("OIDC on a unified host", "/.well-known/databricks-config names oidc_endpoint "
             "<host>/oidc/accounts/<A>, so AccountClient and WorkspaceClient both log in at the account's token "
             "endpoint; an account token acts on the account and on every workspace API. The workspace "
             "endpoints (/oidc/.well-known/..., /oidc/v1/token) are served for a client given discovery_url; "
             "their tokens are refused (401) on account APIs.",
             "databricks-api.md 5.1 and 8; SDK config.py _resolve_host_metadata (discovery_url from oidc_endpoint)"),
    Decision("Token grant", "POST form grant_type=client_credentials&scope=all-apis; client id (the SP's "
             "applicationId) and secret by HTTP Basic auth or form fields. Answer {access_token, token_type "
             "Bearer, expires_in, scope}, expires_in 3600 by default (create(oauth_token_lifetime_s=...), "
             "`--oauth-token-lifetime`). Unknown client, wrong, expired or revoked secret, deactivated SP: 401 "
             "invalid_client; another grant type: 400 unsupported_grant_type; a scope other than all-apis: 400 "
             "invalid_scope.", "databricks-api.md 8; RFC 6749 4.4 and 5.2; SDK oauth.py retrieve_token"),
    Decision("OAuth tokens on the APIs", "A token acts as its service principal: an account admin SP (roles "
             "account_admin) may do what the admin token may; any other SP gets 403 on account APIs and may "
             "read the APIs of workspaces it (or a group it is directly in) is assigned to, and change nothing. "
             "An expired token: 401 'The access token has expired', in the route's error body, so the SDK "
             "fetches a new one; a deleted or deactivated SP's tokens: 401.",
             "databricks-api.md 8; the per-privilege reach of a non-admin SP is our simplification"),
    Decision("Service principal secrets", "Create answers id, secret (shown once; 'dose' + 64 hex), secret_hash, "
             "status ACTIVE, create/update/expire_time; lifetime in seconds ('3600s' or a number, default and "
             "maximum 730 days); at most 5 secrets per SP (400 INVALID_PARAMETER_VALUE); list has no values; delete "
             "of an unknown secret is 404; deleting the SP deletes its secrets; values and tokens are stored as "
             "SHA-256 digests only.", "SDK service/oauth2.py ServicePrincipalSecretsAPI docs; databricks-api.md 8; "
             "the five-secret limit as recalled from Databricks' OAuth M2M page (unverified here)"),
]

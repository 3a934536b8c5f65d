"""Entra ID as an identity source: msal client credentials and Microsoft Graph v1.0 reads.

    creds = EntraCredentials.from_env()                 # AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
    graph = GraphReader(creds)                          # production: the real authority and Graph URL
    identities = graph.read(application_id="<object id of the Databricks enterprise app>")

The authority stays `https://login.microsoftonline.com/<tenant>` and the Graph base URL
`https://graph.microsoft.com/v1.0`; tests inject a `requests.Session` (entra-graph.md 2.3). The
secret is never printed: reprs and errors mask it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msal
import requests

from ..errors import ConfigurationError, ScimkitError
from .records import SourceGroup, SourceIdentities, SourcePerson

AUTHORITY = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
AZURE_DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"  # ARM_DATABRICKS_RESOURCE_ID
USER_SELECT = "id,userPrincipalName,mail,displayName,accountEnabled,employeeId"
RETRY_STATUSES = (429, 503, 504)


class _Redirect(requests.adapters.HTTPAdapter):
    def __init__(self, public: str, base: str) -> None:
        super().__init__()
        self.public, self.base = public, base

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.url = (request.url or "").replace(self.public, self.base, 1)
        return super().send(request, **kwargs)


def redirected_session(base: str) -> requests.Session:
    """A Session that sends the Microsoft login and Graph hosts to `base` (an offline tenant such as
    the emulator's); msal keeps the real authority (entra-graph.md 2.3)."""
    session = requests.Session()
    for public in (AUTHORITY, GRAPH_URL.rsplit("/", 1)[0]):
        session.mount(public, _Redirect(public, base.rstrip("/")))
    return session


class EntraError(ScimkitError):
    """A token or Graph request failed; the message names the request, never the secret."""


@dataclass(frozen=True)
class EntraCredentials:
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"EntraCredentials(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, client_secret='***')"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> EntraCredentials:
        env = os.environ if environ is None else environ
        values = {k: env.get(f"AZURE_{k.upper()}") or env.get(f"ARM_{k.upper()}") for k in
                  ("tenant_id", "client_id", "client_secret")}
        missing = [f"AZURE_{k.upper()}" for k, v in values.items() if not v]
        if missing:
            raise ConfigurationError(f"Entra credentials are incomplete: set {', '.join(missing)} "
                                     "(or ARM_* equivalents), or read them from a secret scope.")
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_secret_scope(cls, dbutils: Any, scope: str, tenant_key: str = "tenant-id",
                          client_key: str = "client-id", secret_key: str = "client-secret") -> EntraCredentials:
        """From a Databricks secret scope (`dbutils.secrets.get`); values are redacted in notebooks."""
        get = dbutils.secrets.get
        return cls(get(scope, tenant_key), get(scope, client_key), get(scope, secret_key))


class EntraTokens:
    """One msal app per credentials (its in-memory token cache serves repeated calls)."""

    def __init__(self, credentials: EntraCredentials, http_client: requests.Session | None = None,
                 token_cache: msal.TokenCache | None = None) -> None:
        self.credentials = credentials
        self._app = msal.ConfidentialClientApplication(
            credentials.client_id, client_credential=credentials.client_secret,
            authority=f"{AUTHORITY}/{credentials.tenant_id}", http_client=http_client,
            instance_discovery=False, token_cache=token_cache)

    def __repr__(self) -> str:
        return f"EntraTokens({self.credentials!r})"

    def acquire(self, scope: str) -> dict[str, Any]:
        result = self._app.acquire_token_for_client(scopes=[scope])
        if "access_token" not in result:
            raise EntraError(f"Entra refused a token for {scope} (tenant {self.credentials.tenant_id}, client "
                             f"{self.credentials.client_id}): {result.get('error')}: "
                             f"{(result.get('error_description') or '').splitlines()[0]}")
        return result

    def token(self, scope: str = GRAPH_SCOPE) -> str:
        return self.acquire(scope)["access_token"]


def credentials_strategy(tokens: EntraTokens, scope: str = AZURE_DATABRICKS_SCOPE) -> Any:
    """A databricks-sdk CredentialsStrategy giving Entra tokens for Azure Databricks (entra-graph.md 3):
    `connect(host=..., account_id=..., credentials_strategy=credentials_strategy(tokens))`."""
    from databricks.sdk.credentials_provider import CredentialsStrategy, OAuthCredentialsProvider
    from databricks.sdk.oauth import Token

    class MsalCredentialsStrategy(CredentialsStrategy):
        def auth_type(self) -> str:
            return "msal-client-credentials"

        def __call__(self, cfg: Any) -> Any:
            def token() -> Token:
                result = tokens.acquire(scope)
                expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=int(result.get("expires_in", 0)))
                return Token(access_token=result["access_token"], token_type=result.get("token_type", "Bearer"),
                             expiry=expiry)

            return OAuthCredentialsProvider(lambda: {"Authorization": f"Bearer {token().access_token}"}, token)

        def __repr__(self) -> str:
            return f"MsalCredentialsStrategy({tokens.credentials!r})"

    return MsalCredentialsStrategy()


class GraphReader:
    """Microsoft Graph v1.0 reads with paging (`@odata.nextLink` verbatim) and 429/503 Retry-After."""

    def __init__(self, credentials: EntraCredentials, session: requests.Session | None = None,
                 base_url: str = GRAPH_URL, max_retries: int = 5, sleep: Callable[[float], None] = time.sleep,
                 tokens: EntraTokens | None = None) -> None:
        self.session = session or requests.Session()
        self.tokens = tokens or EntraTokens(credentials, http_client=self.session)
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.sleep = sleep
        self.requests = 0  # Graph requests sent by this reader

    def __repr__(self) -> str:
        return f"GraphReader({self.tokens.credentials!r}, base_url={self.base_url!r})"

    def get(self, url: str) -> dict[str, Any]:
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            response = self.session.get(url, headers={"Authorization": f"Bearer {self.tokens.token()}"},
                                        timeout=60)
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                retry_after = response.headers.get("Retry-After")
                self.sleep(float(retry_after) if retry_after else min(2 ** attempt, 30))
                continue
            if response.status_code >= 400:
                try:
                    error = response.json().get("error", {})
                except ValueError:
                    error = {}
                raise EntraError(f"Graph GET {url.split('?')[0]} answered {response.status_code} "
                                 f"{error.get('code', '')}: {error.get('message', response.text[:200])}")
            return response.json()
        raise EntraError(f"Graph GET {url.split('?')[0]} still throttled after {self.max_retries} retries")

    def pages(self, path: str) -> Iterator[dict[str, Any]]:
        url: str | None = f"{self.base_url}{path}"
        while url:
            body = self.get(url)
            yield from body.get("value", [])
            url = body.get("@odata.nextLink")

    def users(self) -> list[dict[str, Any]]:
        return list(self.pages(f"/users?$select={USER_SELECT}&$top=999"))

    def groups(self) -> list[dict[str, Any]]:
        return list(self.pages("/groups?$select=id,displayName&$top=999"))

    def members(self, group_id: str, transitive: bool = False) -> list[dict[str, Any]]:
        kind = "transitiveMembers" if transitive else "members"
        return list(self.pages(f"/groups/{group_id}/{kind}?$select=id,userPrincipalName,mail,displayName&$top=999"))

    def app_assignments(self, application_id: str) -> list[dict[str, Any]]:
        return list(self.pages(f"/servicePrincipals/{application_id}/appRoleAssignedTo"
                               "?$select=principalId,principalType,principalDisplayName&$top=999"))

    def read(self, application_id: str | None = None) -> SourceIdentities:
        """Users, groups with their direct members (nesting kept), and the application's assignments."""
        users = self.users()
        email_of = {u["id"]: (u.get("mail") or u.get("userPrincipalName") or "") for u in users}
        assigned = {a["principalId"] for a in self.app_assignments(application_id)} if application_id else set()
        raw_groups = self.groups()
        name_of = {g["id"]: g.get("displayName") or g["id"] for g in raw_groups}
        groups = []
        for g in raw_groups:
            members = self.members(g["id"])
            people = tuple(email_of[m["id"]] for m in members
                           if m.get("@odata.type") == "#microsoft.graph.user" and m["id"] in email_of)
            nested = tuple(name_of[m["id"]] for m in members
                           if m.get("@odata.type") == "#microsoft.graph.group" and m["id"] in name_of)
            groups.append(SourceGroup(name=name_of[g["id"]], external_id=g["id"], members=people,
                                      member_groups=nested, assigned_to_app=g["id"] in assigned))
        people = tuple(SourcePerson(email=email_of[u["id"]], display_name=u.get("displayName"),
                                    active=bool(u.get("accountEnabled", True)), external_id=u["id"],
                                    assigned_to_app=u["id"] in assigned) for u in users if email_of[u["id"]])
        return SourceIdentities(kind="entra", people=people, groups=tuple(groups),
                                read_at=dt.datetime.now(dt.timezone.utc), origin=self.tokens.credentials.tenant_id)

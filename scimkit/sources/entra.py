"""Entra ID as an identity source: msal client credentials and Microsoft Graph v1.0 reads.

    creds = EntraCredentials.from_env()                 # AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
    graph = GraphReader(creds)                          # production: the real authority and Graph URL
    identities = graph.read(application_id="<object id of the Databricks enterprise app>")
    identities = graph.read(application_id=..., state_dir="/dbfs/scimkit/entra")  # delta: a second run
                                                        # reads only what changed since the first

With `state_dir`, users and groups (with their members) come from Graph delta queries: the first run
is an initial round (every object, members included, so no request per group), it stores the
result and the delta links in `state_dir`; a later run follows the stored links, which return only
the objects changed since, and applies them to the stored result. The application's assignments
have no delta query and are read in full each time (one request per 999).

The authority stays `https://login.microsoftonline.com/<tenant>` and the Graph base URL
`https://graph.microsoft.com/v1.0`; tests inject a `requests.Session` (entra-graph.md 2.3). The
secret is never printed: reprs and errors mask it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msal
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from ..errors import ConfigurationError, ConnectionFailed, ScimkitError
from .records import SourceGroup, SourceIdentities, SourcePerson

AUTHORITY = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
AZURE_DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"  # ARM_DATABRICKS_RESOURCE_ID
USER_SELECT = "id,userPrincipalName,mail,displayName,accountEnabled,employeeId"
GROUP_DELTA_SELECT = "id,displayName,members"
USER_TYPE, GROUP_TYPE = "#microsoft.graph.user", "#microsoft.graph.group"
STATE_FORMAT = "scimkit-entra-delta"
RETRY_STATUSES = (429, 503, 504)
RETRY_BUDGET_S = 300.0  # at most this long waiting on throttling within one read


class _Redirect(HTTPAdapter):
    def __init__(self, public: str, base: str) -> None:
        super().__init__()
        self.public, self.base = public, base

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        # As a reverse proxy does: the tenant learns the public origin, so the links it answers
        # (nextLink, deltaLink) name the public host and stay valid for a later run.
        scheme, _, host = self.public.partition("://")
        request.headers["X-Forwarded-Proto"], request.headers["X-Forwarded-Host"] = scheme, host
        request.url = (request.url or "").replace(self.public, self.base, 1)
        return super().send(request, **kwargs)


def redirected_session(base: str) -> requests.Session:
    """A Session that sends the Microsoft login and Graph hosts to `base` (an offline tenant such as
    the emulator's); msal keeps the real authority (entra-graph.md 2.3)."""
    session = requests.Session()
    for public in (AUTHORITY, GRAPH_URL.rsplit("/", 1)[0]):
        session.mount(public, _Redirect(public, base.rstrip("/")))
    return session


@dataclass
class RetryBudget:
    """Seconds a reader may still spend waiting on 429/503/504 (shared by every request of a read)."""

    total: float
    sleep: Callable[[float], None] = time.sleep
    left: float = -1.0
    waits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.left = self.total
        self.waits = []


class GraphRetry(Retry):
    """urllib3's Retry for Graph GETs (429, 503, 504; `Retry-After` honoured, else exponential
    backoff), bounded by a RetryBudget: a wait beyond what is left ends the retries at once."""

    budget: RetryBudget | None = None

    @classmethod
    def within(cls, budget: RetryBudget, retries: int) -> GraphRetry:
        retry = cls(total=retries, connect=retries, read=retries, status=retries, status_forcelist=RETRY_STATUSES,
                    allowed_methods=frozenset({"GET"}), backoff_factor=1, respect_retry_after_header=True,
                    raise_on_status=False)
        retry.budget = budget
        return retry

    def new(self, **kwargs: Any) -> GraphRetry:
        retry = super().new(**kwargs)
        retry.budget = self.budget
        return retry

    def sleep(self, response: Any = None) -> None:
        wait = self.get_retry_after(response) if response is not None and self.respect_retry_after_header else None
        if wait is None:
            wait = self.get_backoff_time()
        budget = self.budget
        if budget is None:
            time.sleep(wait)
            return
        if wait > budget.left:
            raise MaxRetryError(None, "", ResponseError(  # type: ignore[arg-type]
                f"waiting {wait:g} s more is beyond the retry budget ({budget.left:g} s of {budget.total:g} s left)"))
        budget.left -= wait
        budget.waits.append(wait)
        budget.sleep(wait)


class EntraError(ScimkitError):
    """A token or Graph request failed; the message names the request, never the secret."""


class GraphUnavailable(EntraError, ConnectionFailed):
    """Graph did not answer, or stayed throttled or unavailable past the retries or the budget: the
    read is incomplete (the CLI exits 3), not a configuration problem."""


class DeltaLinkExpired(EntraError):
    """Graph no longer knows a stored delta link (410, or syncStateNotFound): a full round is needed."""


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
    """Microsoft Graph v1.0 reads with paging (`@odata.nextLink` verbatim) and, through urllib3's Retry
    in the session's adapters, 429/503/504 retried after `Retry-After` within `retry_budget_s` seconds
    of waiting per read. The session is the reader's: its adapters get the retry policy."""

    def __init__(self, credentials: EntraCredentials, session: requests.Session | None = None,
                 base_url: str = GRAPH_URL, max_retries: int = 5, sleep: Callable[[float], None] = time.sleep,
                 tokens: EntraTokens | None = None, retry_budget_s: float = RETRY_BUDGET_S) -> None:
        self.session = session or requests.Session()
        self.tokens = tokens or EntraTokens(credentials, http_client=self.session)
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.budget = RetryBudget(retry_budget_s, sleep)
        retry = GraphRetry.within(self.budget, max_retries)
        for adapter in self.session.adapters.values():  # urllib3 retries GETs inside the session's adapters
            if isinstance(adapter, HTTPAdapter):
                adapter.max_retries = retry
        self.requests = 0  # Graph requests sent by this reader, retries included
        self.changes: dict[str, Any] = {}  # objects the last delta read's rounds returned

    def __repr__(self) -> str:
        return f"GraphReader({self.tokens.credentials!r}, base_url={self.base_url!r})"

    def get(self, url: str) -> dict[str, Any]:
        """One Graph GET (retried on 429/503/504 within the budget by the session's GraphRetry)."""
        where = url.split("?")[0]
        waits_before = len(self.budget.waits)
        try:
            response = self.session.get(url, headers={"Authorization": f"Bearer {self.tokens.token()}"},
                                        timeout=60)
        except requests.exceptions.RetryError as exc:
            self.requests += len(self.budget.waits) - waits_before + 1
            reason = getattr(exc.args[0], "reason", exc) if exc.args else exc
            raise GraphUnavailable(f"Graph GET {where} still throttled: {reason}") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise GraphUnavailable(f"Graph GET {where} could not be reached ({type(exc).__name__}). Fix: check "
                                   "the network to graph.microsoft.com from here (proxy, firewall)") from None
        retries = getattr(response.raw, "retries", None)
        retried = len(retries.history) if retries is not None else 0
        self.requests += 1 + retried
        if response.status_code >= 400:
            try:
                error = response.json().get("error", {})
            except ValueError:
                error = {}
            if response.status_code == 410 or error.get("code") in ("syncStateNotFound", "resyncRequired"):
                raise DeltaLinkExpired(f"Graph no longer knows the delta link for {where} "
                                       f"({response.status_code} {error.get('code', '')}); a full read follows")
            after = f" after {retried} retries" if retried else ""
            failure = GraphUnavailable if response.status_code in RETRY_STATUSES else EntraError
            raise failure(f"Graph GET {where} answered {response.status_code} "
                             f"{error.get('code', '')}{after}: {error.get('message', response.text[:200])}")
        return response.json()

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

    def read(self, application_id: str | None = None, state_dir: str | Path | None = None) -> SourceIdentities:
        """Users, groups with their direct members (nesting kept), and the application's assignments.

        With `state_dir`, through Graph delta queries (module docstring): a second run requests only
        what changed since the first (`self.changes` says how many objects each round returned)."""
        self.budget.reset()
        assigned = {a["principalId"] for a in self.app_assignments(application_id)} if application_id else set()
        if state_dir is not None:
            users, groups = self._delta(Path(state_dir))
        else:
            users = {u["id"]: u for u in self.users()}
            groups = {g["id"]: {"displayName": g.get("displayName"),
                                "members": {m["id"]: m.get("@odata.type", USER_TYPE) for m in self.members(g["id"])}}
                      for g in self.groups()}
        return self._identities(users, groups, assigned)

    # -- delta ----------------------------------------------------------------------------------
    def _state_file(self, state_dir: Path) -> Path:
        return state_dir / f"entra-delta-{self.tokens.credentials.tenant_id}.json"

    def _round(self, url: str) -> tuple[list[dict[str, Any]], str]:
        """Follow nextLinks until the page that carries the deltaLink."""
        items: list[dict[str, Any]] = []
        while True:
            body = self.get(url)
            items.extend(body.get("value", []))
            if body.get("@odata.nextLink"):
                url = body["@odata.nextLink"]
                continue
            link = body.get("@odata.deltaLink")
            if not link:
                raise EntraError(f"Graph delta round on {url.split('?')[0]} ended without an @odata.deltaLink")
            return items, link

    def _delta(self, state_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        path = self._state_file(state_dir)
        state = _load_state(path, self.base_url)
        initial = {"users_link": f"{self.base_url}/users/delta?$select={USER_SELECT}",
                   "groups_link": f"{self.base_url}/groups/delta?$select={GROUP_DELTA_SELECT}"}
        try:
            user_items, users_link = self._round(state["users_link"] if state else initial["users_link"])
            group_items, groups_link = self._round(state["groups_link"] if state else initial["groups_link"])
        except DeltaLinkExpired:
            state = None
            user_items, users_link = self._round(initial["users_link"])
            group_items, groups_link = self._round(initial["groups_link"])
        users: dict[str, Any] = state["users"] if state else {}
        groups: dict[str, Any] = state["groups"] if state else {}
        for item in user_items:
            if "@removed" in item:
                users.pop(item["id"], None)
            else:
                users.setdefault(item["id"], {}).update({k: v for k, v in item.items() if not k.startswith("@")})
        for item in group_items:  # the same group may come many times (large members@delta): merge by id
            if "@removed" in item:
                groups.pop(item["id"], None)
                continue
            group = groups.setdefault(item["id"], {"displayName": None, "members": {}})
            if "displayName" in item:
                group["displayName"] = item["displayName"]
            for member in item.get("members@delta", []):
                if "@removed" in member:
                    group["members"].pop(member["id"], None)
                else:
                    group["members"][member["id"]] = member.get("@odata.type", USER_TYPE)
        self.changes = {"users": len(user_items), "groups": len(group_items), "full": state is None}
        _save_state(path, {"format": STATE_FORMAT, "version": 1, "base_url": self.base_url,
                           "users_link": users_link, "groups_link": groups_link, "users": users, "groups": groups})
        return users, groups

    def _identities(self, users: dict[str, Any], groups: dict[str, Any], assigned: set[str]) -> SourceIdentities:
        email_of = {uid: (u.get("mail") or u.get("userPrincipalName") or "") for uid, u in users.items()}
        name_of = {gid: g.get("displayName") or gid for gid, g in groups.items()}
        out = []
        for gid, g in groups.items():
            members = g["members"]
            people = sorted((email_of[m] for m, t in members.items() if t == USER_TYPE and email_of.get(m)),
                            key=str.casefold)
            nested = sorted((name_of[m] for m, t in members.items() if t == GROUP_TYPE and m in name_of),
                            key=str.casefold)
            out.append(SourceGroup(name=name_of[gid], external_id=gid, members=tuple(people),
                                   member_groups=tuple(nested), assigned_to_app=gid in assigned))
        people = [SourcePerson(email=email_of[uid], display_name=u.get("displayName"),
                               active=bool(u.get("accountEnabled", True)), external_id=uid,
                               assigned_to_app=uid in assigned) for uid, u in users.items() if email_of[uid]]
        return SourceIdentities(kind="entra", people=tuple(sorted(people, key=lambda p: p.key)),
                                groups=tuple(sorted(out, key=lambda g: g.key)),
                                read_at=dt.datetime.now(dt.timezone.utc), origin=self.tokens.credentials.tenant_id)


def _load_state(path: Path, base_url: str) -> dict[str, Any] | None:
    """The stored result and links, or None (no file, another format or Graph URL: a full round)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("base_url") != base_url:
        return None
    return state


def _save_state(path: Path, state: dict[str, Any]) -> None:
    """Written whole or not at all (a temporary file, then a rename), so a crash leaves the last state."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
    os.replace(tmp, path)

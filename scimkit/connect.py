"""Connect to an account: one `Account` holding the AccountClient `a` and a WorkspaceClient per
workspace it needs.

Resolution order (the first that applies wins):
1. `emulator=True`: the embedded emulator, seeded from sample_data/ (only when asked, never as a
   fallback); `emulator=<a running Emulator>` uses that one;
2. explicit arguments (`host` + `account_id` with a token, OAuth client or `credentials_strategy`);
3. inside a Databricks notebook: the workspace client from the notebook context, and account
   credentials from the arguments or a secret scope;
4. environment variables (`DATABRICKS_HOST`, `DATABRICKS_ACCOUNT_ID`, ...) or a
   `~/.databrickscfg` profile.
With none of these, `connect()` raises `ConfigurationError` listing the ways to configure it, so a
scheduled job with missing secrets never audits the sample company instead.

How each workspace is reached (`Account.route`), decided once per account from the host's
`/.well-known/databricks-config` metadata (databricks-api.md 5.1) and explicit configuration:
- an explicit map `workspaces={id: URL or ~/.databrickscfg profile}` (`--workspace ID=URL|PROFILE`)
  wins for the workspaces it names;
- a unified host (its metadata names this account, and it is not a classic `accounts.` host)
  serves every workspace itself: `WorkspaceClient(host=<same host>, workspace_id=...)`, sent as
  `X-Databricks-Workspace-Id`, with the account's credentials. The emulator answers as one;
- a classic accounts host (`accounts.cloud.databricks.com`, `accounts.azuredatabricks.net`,
  `accounts.gcp.databricks.com`, ...) cannot name one account: each workspace is reached at its
  deployment URL, as the SDK's `get_workspace_client` builds it for the host's cloud
  (`https://<deployment>.cloud.databricks.com`, `https://adb-<id>.<n>.azuredatabricks.net`,
  `https://<id>.<n>.gcp.databricks.com`).
Every host is probed first with a short connect timeout (`connect_timeout`, seconds; two tries),
so an unreachable one costs seconds, not the SDK's 300 s retry budget (which still applies to 429
and 503 answers). An unreachable workspace raises `WorkspaceUnreachable` naming the URL and the fix;
the snapshot records it in its completeness table and reads the other workspaces.

This is the only module that knows the emulator exists, and the only one that maps a workspace
to a client.
"""

from __future__ import annotations

import atexit
import configparser
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
from databricks.sdk import AccountClient, WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.environments import DatabricksEnvironment, get_environment_for_hostname
from databricks.sdk.service.provisioning import Workspace

from .errors import ConfigurationError, ConnectionFailed, WorkspaceUnreachable, from_sdk_error
from .limits import RateLimits

HOW_TO_CONFIGURE = """No Databricks account is configured. Fix: pass --profile NAME, or --host and --account-id \
with DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET), or --emulator for the sample account. \
Every way:
  - arguments: connect(host="https://accounts.cloud.databricks.com", account_id="...", token=... or
    client_id=..., client_secret=..., or credentials_strategy=...)
  - in a Databricks notebook: account credentials in a secret scope (connect(secret_scope="scimkit") reads
    keys account_host, account_id, client_id, client_secret)
  - environment: DATABRICKS_HOST (the accounts host), DATABRICKS_ACCOUNT_ID and DATABRICKS_TOKEN or
    DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET
  - a ~/.databrickscfg profile with host and account_id: connect(profile="NAME") or DATABRICKS_CONFIG_PROFILE
  - the embedded emulator, for offline use: connect(emulator=True), `--emulator`, or the notebook's
    `use_emulator` parameter"""

SECRET_KEYS = ("account_host", "account_id", "client_id", "client_secret")
DEFAULT_CONNECT_TIMEOUT = 5.0
UNIFIED = "unified"
ACCOUNTS = "accounts"


# -- probing a host --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostProbe:
    """What `GET {url}/.well-known/databricks-config` told about a host (no token is sent)."""

    url: str
    reachable: bool
    metadata: dict[str, Any] | None = None  # the JSON body of a 200 answer
    error: str | None = None  # why it could not be reached
    seconds: float = 0.0


def probe_host(url: str, timeout: float = DEFAULT_CONNECT_TIMEOUT, attempts: int = 2) -> HostProbe:
    """Is the host there? Any HTTP answer means yes (even 404); a refused, reset or silent connection
    is retried once after half a second, so a dead host costs at most about 2 x `timeout` seconds."""
    started = time.monotonic()
    error = ""
    for attempt in range(attempts):
        try:
            response = requests.get(f"{url.rstrip('/')}/.well-known/databricks-config", timeout=(timeout, timeout),
                                    allow_redirects=False, headers={"Accept": "application/json"})
        except requests.exceptions.SSLError as exc:  # retrying does not fix a certificate
            return HostProbe(url, False, error=f"TLS error: {_short(exc)}", seconds=time.monotonic() - started)
        except (requests.ConnectionError, requests.Timeout) as exc:
            what = f"no answer within {timeout:g}s" if isinstance(exc, requests.Timeout) else "cannot connect"
            error = f"{what} ({_short(exc)})"
            if attempt + 1 < attempts:
                time.sleep(0.5)
            continue
        metadata = None
        if response.status_code == 200:
            try:
                body = response.json()
                metadata = body if isinstance(body, dict) else None
            except ValueError:
                metadata = None
        return HostProbe(url, True, metadata=metadata, seconds=time.monotonic() - started)
    return HostProbe(url, False, error=error, seconds=time.monotonic() - started)


def _short(exc: BaseException) -> str:
    text = str(exc)
    reason = re.search(r"\[Errno -?\d+\] [^'\")]+|timed out|Connection refused|Name or service not known", text)
    return reason.group(0) if reason else (text.splitlines()[0][:160] if text else type(exc).__name__)


def host_kind(host: str, metadata: Mapping[str, Any] | None) -> str:
    """UNIFIED when the host serves the account's workspaces itself, else ACCOUNTS (classic).

    A classic accounts host is multi-tenant: it is named `accounts.` / `accounts-dod.` (the SDK's own
    rule for account hosts) and its metadata cannot name one account. A host whose metadata names
    an account (`account_id`, no `workspace_id`: "acting as an account-level endpoint", config.py)
    is a unified host."""
    name = (urlparse(host).hostname or "").lower()
    if name.startswith(("accounts.", "accounts-dod.")):
        return ACCOUNTS
    if metadata and metadata.get("account_id"):
        return UNIFIED
    return ACCOUNTS


def deployment_url(workspace: Workspace, environment: DatabricksEnvironment | str | None = None) -> str | None:
    """The URL of a workspace behind a classic accounts host, as the SDK's `get_workspace_client`
    builds it: `https://<deployment_name><dns zone of the accounts host's cloud>`. `environment` is
    the account's (`a.config.environment`) or its host. None when the workspace has no deployment name."""
    if not workspace.deployment_name:
        return None
    if not isinstance(environment, DatabricksEnvironment):
        environment = get_environment_for_hostname(environment)
    return environment.deployment_url(workspace.deployment_name)


def _azure_resource_id(workspace: Workspace) -> str | None:
    from databricks.sdk import azure

    return azure.get_azure_resource_id(workspace)


# -- the account -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkspaceRoute:
    """How one workspace is reached: the URL, in words, and the profile whose credentials are used
    (None: the account's own credentials)."""

    workspace_id: int
    url: str | None
    how: str
    profile: str | None = None


@dataclass
class Account:
    """An account and the clients to reach it. Its repr never shows a secret."""

    a: AccountClient
    account_id: str
    host: str
    source: str  # how it was resolved: emulator, arguments, notebook, environment, profile
    limits: RateLimits = field(default_factory=RateLimits, repr=False)
    kind: str = ACCOUNTS  # UNIFIED or ACCOUNTS: how workspaces are reached when not named in `workspace_urls`
    workspace_urls: dict[int, str] = field(default_factory=dict)  # explicit: id -> URL or profile name
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    _workspace_factory: Callable[[int], WorkspaceClient] | None = field(default=None, repr=False)
    _clients: dict[int, WorkspaceClient] = field(default_factory=dict, repr=False)
    _workspace_ids: list[int] | None = field(default=None, repr=False)
    _workspaces: dict[int, Workspace] = field(default_factory=dict, repr=False)
    _unreachable: dict[int, WorkspaceUnreachable] = field(default_factory=dict, repr=False)
    _probes: dict[str, HostProbe] = field(default_factory=dict, repr=False)
    _locks: dict[int, threading.Lock] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Account(account_id={self.account_id!r}, host={self.host!r}, source={self.source!r})"

    @property
    def workspace_ids(self) -> list[int]:
        """The account's workspaces, read once."""
        if self._workspace_ids is None:
            self.limits.acquire("account-read")
            listed = [ws for ws in self.a.workspaces.list() if ws.workspace_id]
            self._workspaces.update({int(ws.workspace_id): ws for ws in listed})
            self._workspace_ids = sorted(self._workspaces)
        return self._workspace_ids

    def check(self) -> Account:
        """One account read (the workspace list), so that wrong credentials, a wrong account id or a
        dead host fail here with what to configure, not as a snapshot full of failed reads."""
        try:
            _ = self.workspace_ids
        except Exception as exc:  # noqa: BLE001 - mapped below, or re-raised as it is
            mapped = from_sdk_error(exc, self.host, self.account_id)
            if mapped is None:
                raise
            raise mapped from exc
        unknown = sorted(set(self.workspace_urls) - set(self.workspace_ids))
        if unknown:
            raise ConfigurationError(
                f"workspaces: {', '.join(map(str, unknown))} {'is' if len(unknown) == 1 else 'are'} not a workspace "
                f"of account {self.account_id} (its workspaces: {', '.join(map(str, self.workspace_ids)) or 'none'}). "
                "Fix: correct the id in --workspace ID=URL|PROFILE (or connect(workspaces=...))")
        return self

    def route(self, workspace_id: int) -> WorkspaceRoute:
        """How a workspace is reached (no request is sent, except a workspace look-up on a classic host)."""
        workspace_id = int(workspace_id)
        explicit = self.workspace_urls.get(workspace_id)
        if explicit:
            if _is_url(explicit):
                return WorkspaceRoute(workspace_id, explicit.rstrip("/"), "explicit URL, the account's credentials")
            return WorkspaceRoute(workspace_id, _profile_host(explicit), f"profile {explicit}", profile=explicit)
        if self._workspace_factory is not None:
            return WorkspaceRoute(workspace_id, self.host, "given client factory")
        if self.kind == UNIFIED:
            return WorkspaceRoute(workspace_id, self.host, "unified host, X-Databricks-Workspace-Id")
        workspace = self._workspace(workspace_id)
        environment = self.a.config.environment
        url = deployment_url(workspace, environment)
        return WorkspaceRoute(workspace_id, url, f"deployment URL ({environment.cloud.value})")

    def _workspace(self, workspace_id: int) -> Workspace:
        if workspace_id not in self._workspaces:
            self.limits.acquire("account-read")
            self._workspaces[workspace_id] = self.a.workspaces.get(workspace_id)
        return self._workspaces[workspace_id]

    def workspace(self, workspace_id: int) -> WorkspaceClient:
        """The WorkspaceClient for one workspace of this account (created once, then reused). Raises
        `WorkspaceUnreachable` (at once on later calls) when its URL does not answer."""
        workspace_id = int(workspace_id)
        with self._lock:
            lock = self._locks.setdefault(workspace_id, threading.Lock())
        with lock:
            if workspace_id in self._clients:
                return self._clients[workspace_id]
            if workspace_id in self._unreachable:
                raise self._unreachable[workspace_id]
            if self._workspace_factory is not None and workspace_id not in self.workspace_urls:
                client = self._workspace_factory(workspace_id)
            else:
                client = self._new_client(self.route(workspace_id))
            self._clients[workspace_id] = client
            return client

    def _new_client(self, route: WorkspaceRoute) -> WorkspaceClient:
        if not route.url:
            self._unreachable[route.workspace_id] = WorkspaceUnreachable(
                route.workspace_id, None, "the account API gives it no deployment name", route.how)
            raise self._unreachable[route.workspace_id]
        probe = self._probe(route.url)
        if not probe.reachable:
            self._unreachable[route.workspace_id] = WorkspaceUnreachable(
                route.workspace_id, route.url, f"{probe.error} after {probe.seconds:.1f}s", route.how)
            raise self._unreachable[route.workspace_id]
        if route.profile:
            return WorkspaceClient(config=_config(profile=route.profile,
                                                  retry_timeout_seconds=self.a.config.retry_timeout_seconds))
        config = self.a.config.deep_copy()
        config.host = route.url
        config.workspace_id = str(route.workspace_id)
        if route.url != self.host:  # a workspace host of its own: as the SDK's get_workspace_client
            config.account_id = None
            if route.workspace_id in self._workspaces:
                config.azure_workspace_resource_id = _azure_resource_id(self._workspaces[route.workspace_id])
        config.init_auth()
        return WorkspaceClient(config=config)

    def _probe(self, url: str) -> HostProbe:
        with self._lock:
            known = self._probes.get(url)
        if known is None:
            known = probe_host(url, self.connect_timeout)
            with self._lock:
                self._probes[url] = known
        return known

    def unreachable(self) -> dict[int, WorkspaceUnreachable]:
        """The workspaces found unreachable so far, with the URL tried and the fix."""
        return dict(self._unreachable)

    def describe(self) -> str:
        """Which account, and how each of its workspaces is reached (no secrets)."""
        kind = {UNIFIED: "unified host: workspaces on the same host",
                ACCOUNTS: "accounts host: workspaces at their own URLs"}[self.kind]
        lines = [f"account {self.account_id} at {self.host} ({self.source}; {kind})"]
        for wid in self.workspace_ids:
            try:
                route = self.route(wid)
                text = f"{route.url or '(no URL)'} ({route.how})"
            except Exception as exc:  # noqa: BLE001 - describing must not fail
                text = f"unknown ({type(exc).__name__})"
            if wid in self._unreachable:
                text += f": UNREACHABLE ({self._unreachable[wid].reason})"
            lines.append(f"  workspace {wid}: {text}")
        return "\n".join(lines)

    def close(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def connect(
    host: str | None = None,
    account_id: str | None = None,
    token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    profile: str | None = None,
    credentials_strategy: Any = None,
    secret_scope: str = "scimkit",
    emulator: Any = False,
    emulator_options: dict[str, Any] | None = None,
    rate_scale: float = 1.0,
    retry_timeout_seconds: int = 300,
    workspaces: Mapping[int | str, str] | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Account:
    """Resolve an account (see the module docstring for the order) and return an `Account`.

    `workspaces` maps workspace ids to a URL (reached with the account's credentials) or a
    ~/.databrickscfg profile; it overrides what the host metadata implies. `connect_timeout` is the
    seconds a host may take to answer before it is reported unreachable.

    >>> account = connect(emulator=True)
    >>> account.a.groups.list()  # the SDK's AccountClient
    """
    if not (isinstance(rate_scale, (int, float)) and math.isfinite(rate_scale) and rate_scale > 0):
        raise ConfigurationError(f"rate_scale must be a finite number above 0, not {rate_scale!r}")
    if not (isinstance(connect_timeout, (int, float)) and math.isfinite(connect_timeout) and connect_timeout > 0):
        raise ConfigurationError(f"connect_timeout must be a finite number of seconds above 0, not {connect_timeout!r}")
    options = _Options(RateLimits(scale=rate_scale), retry_timeout_seconds, _workspace_map(workspaces),
                       float(connect_timeout))
    if emulator is True:
        return _connect_emulator(emulator_options or {}, options)
    if emulator:  # an emulator already running (scimkit.emulator.start()), e.g. in tests
        return _emulator_account(emulator, options)
    explicit = any(v is not None for v in (host, account_id, token, client_id, client_secret, credentials_strategy))
    if explicit:
        if not host or not account_id:
            missing = [name for name, value in (("host", host), ("account_id", account_id)) if not value]
            raise ConfigurationError(f"connect() needs {' and '.join(missing)} with explicit credentials "
                                     "(the CLI: --host and --account-id).\n" + HOW_TO_CONFIGURE)
        auth_type = _auth_type(token, client_id, client_secret, credentials_strategy, profile)
        probe = _probe_account_host(host, options)
        config = _config(host=host, account_id=account_id, token=token, client_id=client_id,
                         client_secret=client_secret, credentials_strategy=credentials_strategy,
                         auth_type=auth_type, retry_timeout_seconds=retry_timeout_seconds)
        return _account(config, "arguments", options, probe)
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return _connect_notebook(secret_scope, options)
    config_file = Path(os.environ.get("DATABRICKS_CONFIG_FILE", "~/.databrickscfg")).expanduser()
    if profile or os.environ.get("DATABRICKS_CONFIG_PROFILE"):
        source = "profile"
    elif os.environ.get("DATABRICKS_HOST") or os.environ.get("DATABRICKS_ACCOUNT_ID"):
        source = "environment"
    elif config_file.is_file():
        source = "profile"
    else:
        raise ConfigurationError(HOW_TO_CONFIGURE)
    auth_type = _auth_type(None, None, None, None, profile)
    probe = _probe_account_host(_configured_host(profile), options)
    config = _config(profile=profile, auth_type=auth_type, retry_timeout_seconds=retry_timeout_seconds)
    return _account(config, source, options, probe)


@dataclass(frozen=True)
class _Options:
    limits: RateLimits
    retry_timeout_seconds: int
    workspaces: dict[int, str]
    connect_timeout: float


def _is_url(value: str) -> bool:
    return value.startswith(("https://", "http://"))


def _workspace_map(workspaces: Mapping[int | str, str] | None) -> dict[int, str]:
    out: dict[int, str] = {}
    for key, value in (workspaces or {}).items():
        try:
            wid = int(key)
        except (TypeError, ValueError):
            raise ConfigurationError(f"workspaces: {key!r} is not a workspace id (a number). Fix: map workspace "
                                     "ids to a URL or a profile, e.g. {7000000000000001: 'https://...'}") from None
        value = str(value or "").strip()
        if not value or (_is_url(value) and not urlparse(value).hostname):
            raise ConfigurationError(f"workspaces: workspace {wid} has no usable URL or profile ({value!r}). Fix: "
                                     "give https://HOST or a ~/.databrickscfg profile name")
        out[wid] = value
    return out


def _config_file() -> Path:
    return Path(os.environ.get("DATABRICKS_CONFIG_FILE", "~/.databrickscfg")).expanduser()


def _read_profiles() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    path = _config_file()
    if path.is_file():
        try:
            parser.read(path)
        except configparser.Error as exc:
            raise ConfigurationError(f"{path} cannot be read as a config file: {str(exc).splitlines()[0]}. "
                                     "Fix: correct it (INI sections [NAME] with host = ...)") from None
    return parser


def _profile_host(profile: str) -> str:
    """The host of a ~/.databrickscfg profile; a missing profile is named with the ones that exist."""
    parser = _read_profiles()
    exists = bool(parser.defaults()) if profile == "DEFAULT" else parser.has_section(profile)
    if not exists:
        names = ", ".join(parser.sections() + (["DEFAULT"] if parser.defaults() else [])) or "none"
        raise ConfigurationError(f"profile {profile!r} does not exist in {_config_file()} (profiles there: "
                                 f"{names}). Fix: name an existing profile (--profile), or add [{profile}] with "
                                 "host, account_id and credentials")
    host = parser[profile].get("host", "").strip()
    if not host:
        raise ConfigurationError(f"profile {profile!r} in {_config_file()} has no host. Fix: add host = https://...")
    return host


def _configured_host(profile: str | None) -> str | None:
    """The host the SDK will resolve (kwargs, then environment, then the profile), read ahead so that
    it can be probed with a short timeout before the SDK's own probe (300 s on older SDKs)."""
    name = profile or os.environ.get("DATABRICKS_CONFIG_PROFILE")
    if os.environ.get("DATABRICKS_HOST"):
        if name:
            _profile_host(name)  # still say so when the named profile does not exist
        return os.environ["DATABRICKS_HOST"]
    if name:
        return _profile_host(name)
    parser = _read_profiles()
    return parser.defaults().get("host") if parser.defaults() else None


def _fix_host(host: str) -> str:
    host = host.strip().rstrip("/")
    return host if _is_url(host) else f"https://{host}"


def _probe_account_host(host: str | None, options: _Options) -> HostProbe | None:
    if not host:
        return None
    probe = probe_host(_fix_host(host), options.connect_timeout)
    if not probe.reachable:
        raise ConnectionFailed(
            f"the account host {probe.url} could not be reached: {probe.error} after {probe.seconds:.1f}s. "
            "Fix: check --host (DATABRICKS_HOST, or the profile's host) and the network from here (proxy, "
            "firewall, private link); --connect-timeout SECONDS waits longer", probe.url)
    return probe


def _auth_type(token: str | None, client_id: str | None, client_secret: str | None, credentials_strategy: Any,
               profile: str | None) -> str | None:
    """`oauth-m2m` when the credentials that apply are an OAuth client id and secret, so the SDK logs
    in as that service principal (and a stray token elsewhere does not make two auth methods); None
    leaves the SDK's own choice. Arguments beat the environment, which beats the profile, as in the
    SDK; half a client (an id without its secret) is refused naming what is missing."""
    if credentials_strategy is not None or os.environ.get("DATABRICKS_AUTH_TYPE"):
        return None
    for source, values in (
        ("arguments", {"token": token, "client_id": client_id, "client_secret": client_secret}),
        ("environment", {name: os.environ.get(f"DATABRICKS_{name.upper()}") for name in
                         ("token", "client_id", "client_secret")}),
        ("profile", _profile_credentials(profile)),
    ):
        if not any(values.values()):
            continue
        has_id, has_secret = bool(values["client_id"]), bool(values["client_secret"])
        if has_id != has_secret:
            missing = "client_secret" if has_id else "client_id"
            where = {"arguments": f"connect({missing}=...)", "environment": f"DATABRICKS_{missing.upper()}",
                     "profile": f"{missing} in the profile"}[source]
            raise ConfigurationError(f"OAuth M2M needs a client id and its secret; the {source} give "
                                     f"{'client_id' if has_id else 'client_secret'} without {missing}. "
                                     f"Fix: set {where}, or use a token instead")
        if has_id and values["token"]:
            raise ConfigurationError(f"The {source} give both a token and an OAuth client id and secret. "
                                     "Fix: keep one of them (OAuth M2M is recommended for automation)")
        return "oauth-m2m" if has_id else None
    return None


def _profile_credentials(profile: str | None) -> dict[str, str | None]:
    """token / client_id / client_secret of the profile the SDK would read (named, or DEFAULT)."""
    name = profile or os.environ.get("DATABRICKS_CONFIG_PROFILE")
    parser = _read_profiles()
    if name and name != "DEFAULT" and parser.has_section(name):
        section: Mapping[str, str] = parser[name]
    elif not name or name == "DEFAULT":
        section = parser.defaults()
    else:
        return {}
    if section.get("auth_type"):
        return {}
    return {key: section.get(key) for key in ("token", "client_id", "client_secret")}


def _config(retry_timeout_seconds: int, **kwargs: Any) -> Config:
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    try:
        return Config(retry_timeout_seconds=retry_timeout_seconds, **kwargs)
    except ValueError as exc:  # the SDK's validation errors; never include secrets
        text = _mask(str(exc))
        if "has no" in text and "profile" in text:  # resolve: FILE has no NAME profile configured
            raise ConfigurationError(f"{text}. Fix: name an existing ~/.databrickscfg profile") from None
        raise ConfigurationError(f"The Databricks configuration is not usable: {text}.\n" + HOW_TO_CONFIGURE) from None


def _mask(text: str) -> str:
    """The SDK's messages already mask tokens as ***; mask anything that looks like one anyway."""
    return re.sub(r"(dapi|dsapi|dose)[0-9a-zA-Z-]+", r"\1***", text)


def _account(config: Config, source: str, options: _Options, probe: HostProbe | None = None) -> Account:
    if not config.account_id:
        raise ConfigurationError(f"The {source} configuration has no account_id (DATABRICKS_ACCOUNT_ID); "
                                 "scimkit reads the account API. Fix: pass --account-id or set account_id.\n"
                                 + HOW_TO_CONFIGURE)
    host = str(config.host)
    if probe is None or probe.url != host:  # the SDK resolved a host other than the one read ahead
        probe = _probe_account_host(host, options)
    a = AccountClient(config=config)
    return Account(a=a, account_id=str(config.account_id), host=host, source=source, limits=options.limits,
                   kind=host_kind(host, probe.metadata if probe else None), workspace_urls=dict(options.workspaces),
                   connect_timeout=options.connect_timeout)


def _connect_notebook(secret_scope: str, options: _Options) -> Account:
    """In a notebook the workspace client comes from the context; account credentials from secrets."""
    w = WorkspaceClient()
    values: dict[str, str] = {}
    missing: list[str] = []
    for key in SECRET_KEYS:
        try:
            values[key] = w.dbutils.secrets.get(scope=secret_scope, key=key)
        except Exception:  # noqa: BLE001 - any failure means the secret is not usable
            missing.append(key)
    if missing:
        raise ConfigurationError(
            f"Running in a Databricks notebook, but the account credentials are missing from secret scope "
            f"'{secret_scope}' (keys not found: {', '.join(missing)}). The notebook token is workspace-scoped and "
            "cannot read the account API. Fix: store an account-admin service principal's OAuth credentials there "
            f"(`databricks secrets put-secret {secret_scope} client_secret`), or pass host, account_id and "
            "credentials to connect(), or use_emulator=True for the sample account.")
    probe = _probe_account_host(values["account_host"], options)
    config = _config(host=values["account_host"], account_id=values["account_id"], client_id=values["client_id"],
                     client_secret=values["client_secret"], auth_type="oauth-m2m",
                     retry_timeout_seconds=options.retry_timeout_seconds)
    account = _account(config, "notebook", options, probe)
    current = w.get_workspace_id()
    account._clients[int(current)] = w
    return account


def _connect_emulator(emulator_options: dict[str, Any], options: _Options) -> Account:
    from .emulator import start

    context = start(**emulator_options)
    emu = context.__enter__()

    stopped = []

    def stop() -> None:
        if not stopped:
            stopped.append(True)
            context.__exit__(None, None, None)

    atexit.register(stop)
    account = _emulator_account(emu, options)
    account._stop = stop
    return account


def _emulator_account(emu: Any, options: _Options) -> Account:
    """An emulator is reached like any account: by its host and the admin token. Its host metadata
    says it is a unified host, so every workspace is reached on the same host by workspace id."""
    probe = _probe_account_host(emu.host, options)
    config = _config(host=emu.host, account_id=emu.account_id, token=emu.token, auth_type="pat",
                     retry_timeout_seconds=options.retry_timeout_seconds)
    return _account(config, "emulator", options, probe)

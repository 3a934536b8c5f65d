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

This is the only module that knows the emulator exists, and the only one that maps a workspace
to a client.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from databricks.sdk import AccountClient, WorkspaceClient
from databricks.sdk.config import Config

from .errors import ConfigurationError
from .limits import RateLimits

HOW_TO_CONFIGURE = """No Databricks account is configured. Configure one of:
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


@dataclass
class Account:
    """An account and the clients to reach it. Its repr never shows a secret."""

    a: AccountClient
    account_id: str
    host: str
    source: str  # how it was resolved: emulator, arguments, notebook, environment, profile
    limits: RateLimits = field(default_factory=RateLimits, repr=False)
    _workspace_factory: Callable[[int], WorkspaceClient] | None = field(default=None, repr=False)
    _clients: dict[int, WorkspaceClient] = field(default_factory=dict, repr=False)
    _workspace_ids: list[int] | None = field(default=None, repr=False)
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Account(account_id={self.account_id!r}, host={self.host!r}, source={self.source!r})"

    @property
    def workspace_ids(self) -> list[int]:
        """The account's workspaces, read once."""
        if self._workspace_ids is None:
            self.limits.acquire("account-read")
            self._workspace_ids = sorted(int(ws.workspace_id) for ws in self.a.workspaces.list() if ws.workspace_id)
        return self._workspace_ids

    def workspace(self, workspace_id: int) -> WorkspaceClient:
        """The WorkspaceClient for one workspace of this account (created once, then reused)."""
        workspace_id = int(workspace_id)
        if workspace_id not in self._clients:
            if self._workspace_factory is not None:
                self._clients[workspace_id] = self._workspace_factory(workspace_id)
            else:
                self.limits.acquire("account-read")
                self._clients[workspace_id] = self.a.get_workspace_client(self.a.workspaces.get(workspace_id))
        return self._clients[workspace_id]

    def describe(self) -> str:
        """Which account and workspaces this object uses (no secrets)."""
        return f"account {self.account_id} at {self.host} ({self.source}); workspaces: {self.workspace_ids}"

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
) -> Account:
    """Resolve an account (see the module docstring for the order) and return an `Account`.

    >>> account = connect(emulator=True)
    >>> account.a.groups.list()  # the SDK's AccountClient
    """
    limits = RateLimits(scale=rate_scale)
    if emulator is True:
        return _connect_emulator(emulator_options or {}, limits, retry_timeout_seconds)
    if emulator:  # an emulator already running (scimkit.emulator.start()), e.g. in tests
        return _emulator_account(emulator, limits, retry_timeout_seconds)
    explicit = any(v is not None for v in (host, account_id, token, client_id, client_secret, credentials_strategy))
    if explicit:
        if not host or not account_id:
            missing = [name for name, value in (("host", host), ("account_id", account_id)) if not value]
            raise ConfigurationError(f"connect() needs {' and '.join(missing)} with explicit credentials.\n"
                                     + HOW_TO_CONFIGURE)
        config = _config(host=host, account_id=account_id, token=token, client_id=client_id,
                         client_secret=client_secret, credentials_strategy=credentials_strategy,
                         retry_timeout_seconds=retry_timeout_seconds)
        return _account(config, "arguments", limits)
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return _connect_notebook(secret_scope, limits, retry_timeout_seconds)
    if profile or os.environ.get("DATABRICKS_CONFIG_PROFILE"):
        config = _config(profile=profile, retry_timeout_seconds=retry_timeout_seconds)
        return _account(config, "profile", limits)
    if os.environ.get("DATABRICKS_HOST") or os.environ.get("DATABRICKS_ACCOUNT_ID"):
        config = _config(retry_timeout_seconds=retry_timeout_seconds)
        return _account(config, "environment", limits)
    config_file = Path(os.environ.get("DATABRICKS_CONFIG_FILE", "~/.databrickscfg")).expanduser()
    if config_file.is_file():
        config = _config(retry_timeout_seconds=retry_timeout_seconds)
        return _account(config, "profile", limits)
    raise ConfigurationError(HOW_TO_CONFIGURE)


def _config(retry_timeout_seconds: int, **kwargs: Any) -> Config:
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    try:
        return Config(retry_timeout_seconds=retry_timeout_seconds, **kwargs)
    except ValueError as exc:  # the SDK's validation errors; never include secrets
        raise ConfigurationError(f"The Databricks configuration is not usable: {_mask(str(exc))}\n"
                                 + HOW_TO_CONFIGURE) from None


def _mask(text: str) -> str:
    """The SDK's messages already mask tokens as ***; mask anything that looks like one anyway."""
    import re

    return re.sub(r"(dapi|dsapi|dose)[0-9a-zA-Z-]+", r"\1***", text)


def _account(config: Config, source: str, limits: RateLimits) -> Account:
    if not config.account_id:
        raise ConfigurationError(f"The {source} configuration has no account_id (DATABRICKS_ACCOUNT_ID); "
                                 "scimkit reads the account API.\n" + HOW_TO_CONFIGURE)
    a = AccountClient(config=config)
    return Account(a=a, account_id=str(config.account_id), host=str(config.host), source=source, limits=limits)


def _connect_notebook(secret_scope: str, limits: RateLimits, retry_timeout_seconds: int) -> Account:
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
            "cannot read the account API. Store an account-admin service principal's OAuth credentials there "
            f"(`databricks secrets put-secret {secret_scope} client_secret`), or pass host, account_id and "
            "credentials to connect().")
    config = _config(host=values["account_host"], account_id=values["account_id"], client_id=values["client_id"],
                     client_secret=values["client_secret"], retry_timeout_seconds=retry_timeout_seconds)
    account = _account(config, "notebook", limits)
    current = w.get_workspace_id()
    account._clients[int(current)] = w
    return account


def _connect_emulator(options: dict[str, Any], limits: RateLimits, retry_timeout_seconds: int) -> Account:
    from .emulator import start

    context = start(**options)
    emu = context.__enter__()

    stopped = []

    def stop() -> None:
        if not stopped:
            stopped.append(True)
            context.__exit__(None, None, None)

    atexit.register(stop)
    account = _emulator_account(emu, limits, retry_timeout_seconds)
    account._stop = stop
    return account


def _emulator_account(emu: Any, limits: RateLimits, retry_timeout_seconds: int) -> Account:
    """All workspaces of the emulator share its host; the workspace id header picks one."""
    return Account(
        a=emu.account_client(retry_timeout_seconds=retry_timeout_seconds), account_id=emu.account_id,
        host=emu.host, source="emulator", limits=limits,
        _workspace_factory=lambda wid: emu.workspace_client(workspace_id=wid,
                                                            retry_timeout_seconds=retry_timeout_seconds),
    )

"""Run the emulator: a threaded WSGI server on loopback, in-process or as `scimkit emulator`."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import seed
from .app import EmulatorApp
from .entra.rules import Tenant
from .errors import family_error
from .faults import Faults
from .store import Store
from .wire import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_READER_TOKEN,
    DEFAULT_SCIM_TOKEN,
    DEFAULT_TOKEN,
    EmulatorConfig,
    Limits,
)

if TYPE_CHECKING:
    from databricks.sdk import AccountClient, WorkspaceClient

LOOPBACK = "127.0.0.1"


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to the `scimkit.emulator` logger at DEBUG (paths only, never headers).

    Requests the HTTP layer refuses before the app sees them (a request line over 64 KiB, too many
    or too long headers, bad syntax) get the API's JSON error body, not the stdlib's HTML page.
    """

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        logging.getLogger("scimkit.emulator").debug('"%s" %s', self.requestline, code)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        logging.getLogger("scimkit.emulator").debug("http: " + format, *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # A refusal of what the client sent is a 4xx: 505 (HTTP version) and 501 become 400.
        status = 400 if int(code) >= 500 else int(code)
        line = (getattr(self, "raw_requestline", b"") or b"")[:4096]
        family = "scim" if b"/scim/v2" in line else "api"
        short, long = self.responses.get(int(code), ("Bad request", ""))
        text = f"{message or short}. {explain or long}".strip()
        body = json.dumps(family_error(family, status, f"HTTP {int(code)}: {text}").body()).encode()
        self.log_error("code %d, message %s", int(code), message)
        self.send_response(status)
        self.send_header("Content-Type", "application/scim+json" if family == "scim" else "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.close_connection = True
        if getattr(self, "command", "") != "HEAD":
            self.wfile.write(body)


@dataclass
class Emulator:
    """A running emulator. Tokens are the fixed local defaults unless given; none is secret."""

    host: str
    account_id: str
    token: str
    reader_token: str
    scim_token: str
    default_workspace_id: int
    app: EmulatorApp
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never show tokens
        return f"Emulator(host={self.host!r}, account_id={self.account_id!r})"

    # -- SDK clients ----------------------------------------------------------------------------
    def account_client(self, token: str | None = None, retry_timeout_seconds: int = 30) -> AccountClient:
        from databricks.sdk import AccountClient
        from databricks.sdk.config import Config

        return AccountClient(config=Config(host=self.host, account_id=self.account_id,
                                           token=token or self.token, auth_type="pat",
                                           retry_timeout_seconds=retry_timeout_seconds))

    def workspace_client(self, workspace_id: int | None = None, token: str | None = None,
                         retry_timeout_seconds: int = 30) -> WorkspaceClient:
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config

        return WorkspaceClient(config=Config(host=self.host, token=token or self.token, auth_type="pat",
                                             workspace_id=str(workspace_id or self.default_workspace_id),
                                             retry_timeout_seconds=retry_timeout_seconds))

    # -- control --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Restore the seed, clear the counters and remove every fault rule (a fresh emulator)."""
        self.app.reseed()
        self.app.faults.reset_stats()
        self.app.faults.clear_faults()

    def stats(self) -> dict[str, Any]:
        return self.app.faults.stats()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self.app.store.close()


def create(
    port: int = 0,
    seed_dir: str | Path | None = "default",
    db: str | None = None,
    account_id: str = DEFAULT_ACCOUNT_ID,
    token: str = DEFAULT_TOKEN,
    reader_token: str = DEFAULT_READER_TOKEN,
    scim_token: str = DEFAULT_SCIM_TOKEN,
    latency_ms: float = 0,
    rate_limits: bool = False,
    speed: float = 1.0,
    faults: list[str] | None = None,
    fault_seed: int = 0,
    limits: Limits | None = None,
    idp_groups_immutable: bool = True,
    oauth_token_lifetime_s: int = 3600,
) -> Emulator:
    """Build an emulator bound to a loopback port (0: a free one). `seed_dir=None` is `--empty`."""
    if isinstance(oauth_token_lifetime_s, bool) or not isinstance(oauth_token_lifetime_s, int) \
            or oauth_token_lifetime_s < 1:
        raise ValueError(f"oauth_token_lifetime_s must be a whole number of seconds >= 1, not {oauth_token_lifetime_s!r}")
    config = EmulatorConfig(account_id=account_id, token=token, reader_token=reader_token,
                            scim_token=scim_token, limits=limits or Limits(),
                            idp_groups_immutable=idp_groups_immutable,
                            oauth_token_lifetime_s=oauth_token_lifetime_s)
    resolved_seed = seed.default_seed_dir() if seed_dir == "default" else (Path(seed_dir) if seed_dir else None)
    store = Store(db or ":memory:")

    def reseed() -> None:
        seed.load(store, resolved_seed)

    if db is None or not store.is_seeded():
        reseed()
    app = EmulatorApp(store, config, Faults(latency_ms, rate_limits, speed, faults, seed=fault_seed), reseed)
    app.entra = Tenant.load(resolved_seed)  # the Entra family's tenant (emulator/entra/)
    server = make_server(LOOPBACK, port, app, threaded=True, request_handler=_QuietHandler)
    return Emulator(host=f"http://{LOOPBACK}:{server.server_port}", account_id=account_id, token=token,
                    reader_token=reader_token, scim_token=scim_token,
                    default_workspace_id=app.default_workspace_id, app=app, _server=server)


@contextmanager
def start(**kwargs: Any) -> Iterator[Emulator]:
    """Start an emulator in a background thread; stop it when the block ends.

    >>> with start() as emu:
    ...     a = emu.account_client()
    ...     names = [u.user_name for u in a.users.list(attributes="userName")]
    """
    emulator = create(**kwargs)
    thread = threading.Thread(target=emulator.serve_forever, name="scimkit-emulator", daemon=True)
    emulator._thread = thread
    thread.start()
    try:
        yield emulator
    finally:
        emulator.stop()

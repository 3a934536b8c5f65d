"""Connect to an account: one `Account` holding the AccountClient `a` and WorkspaceClients.

The only module that knows the emulator exists: it starts it when asked (`emulator=True`), and
never as a silent fallback.
"""

from __future__ import annotations

import atexit
from dataclasses import dataclass, field
from typing import Any

from databricks.sdk import AccountClient, WorkspaceClient


@dataclass
class Account:
    """An account and the clients to reach it. Its repr never shows a secret."""

    a: AccountClient
    account_id: str
    host: str
    _workspace_factory: Any = field(repr=False)
    _workspaces: dict[int | None, WorkspaceClient] = field(default_factory=dict, repr=False)

    def workspace(self, workspace_id: int | None = None) -> WorkspaceClient:
        """The WorkspaceClient for `workspace_id` (None: the default workspace)."""
        if workspace_id not in self._workspaces:
            self._workspaces[workspace_id] = self._workspace_factory(workspace_id)
        return self._workspaces[workspace_id]


def connect(emulator: bool = False) -> Account:
    if not emulator:
        raise NotImplementedError("connecting to a real account comes with issue 4; use emulator=True")
    from .emulator import start

    context = start()
    emu = context.__enter__()
    atexit.register(context.__exit__, None, None, None)
    return Account(a=emu.account_client(), account_id=emu.account_id, host=emu.host,
                   _workspace_factory=lambda wid: emu.workspace_client(workspace_id=wid))

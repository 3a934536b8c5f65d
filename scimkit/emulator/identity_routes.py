"""Account identity routes: SCIM users, groups, service principals; workspaces; assignments."""

from __future__ import annotations

from .store import Store, get_meta
from .wire import DEFAULT_WORKSPACE_ID, Route

ROUTES: list[Route] = []


def default_workspace_id(store: Store) -> int:
    with store.tx() as db:
        return int(get_meta(db, "default_workspace_id", str(DEFAULT_WORKSPACE_ID)) or DEFAULT_WORKSPACE_ID)


def workspace_exists(store: Store, workspace_id: int) -> bool:
    with store.tx() as db:
        return db.execute("SELECT 1 FROM workspaces WHERE workspace_id=?", (workspace_id,)).fetchone() is not None

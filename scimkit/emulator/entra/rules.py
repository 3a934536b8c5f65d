"""The emulated Entra tenant: users, groups, the Databricks application's assignments, issued
tokens, and a change log so Graph delta queries can answer "what changed since this link".
In memory, loaded from the seed's `entra_tenant.json`; no HTTP here.

Versions: the seed is version 0; every change (a Graph write) takes the next version and is
logged. A delta link names the version it was issued at, so a later round returns the objects
whose log entries are newer. A reseed starts a new epoch: links from before it are unknown.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TENANT_FILE = "entra_tenant.json"
AZURE_DATABRICKS_RESOURCE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"  # the Azure Databricks first-party app
USER_TYPE, GROUP_TYPE = "#microsoft.graph.user", "#microsoft.graph.group"


@dataclass(frozen=True)
class Change:
    """One logged change: an object's properties, its removal, or one membership of a group."""

    version: int
    kind: str  # "user" | "group"
    object_id: str
    member_id: str | None = None  # a membership change of group `object_id`
    removed: bool = False  # the object (or the membership) was removed


@dataclass
class Tenant:
    tenant_id: str = ""
    clients: dict[str, str] = field(default_factory=dict)  # client_id -> client_secret (local, not secret)
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    application: dict[str, Any] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    grants: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (client id, scope)
    lock: threading.RLock = field(default_factory=threading.RLock)
    seed_dir: Path | None = None
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))
    version: int = 0
    changes: list[Change] = field(default_factory=list)

    @classmethod
    def load(cls, seed_dir: Path | None) -> Tenant:
        path = seed_dir / TENANT_FILE if seed_dir else None
        if path is None or not path.is_file():
            return cls(seed_dir=seed_dir)
        doc = json.loads(path.read_text(encoding="utf-8"))
        return cls(tenant_id=doc["tenant_id"], clients={c["client_id"]: c["client_secret"] for c in doc["clients"]},
                   users=doc["users"], groups=doc["groups"], application=doc["databricks_application"],
                   seed_dir=seed_dir)

    def reloaded(self) -> Tenant:
        """The seed again, in a new epoch; issued tokens stay valid (msal caches them)."""
        fresh = Tenant.load(self.seed_dir)
        fresh.tokens, fresh.grants = self.tokens, self.grants
        return fresh

    def issue_token(self, client_id: str = "", scope: str = "") -> str:
        token = "entra-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens.add(token)
            self.grants[token] = (client_id, scope)
        return token

    def databricks_client(self, token: str) -> str | None:
        """The client id a token was issued to, if it was issued for the Azure Databricks resource."""
        client_id, scope = self.grants.get(token, ("", ""))
        return client_id if scope.split("/")[0] == AZURE_DATABRICKS_RESOURCE else None

    # -- reads ----------------------------------------------------------------------------------
    def object(self, object_id: str) -> tuple[str, dict[str, Any]] | None:
        for user in self.users:
            if user["id"] == object_id:
                return USER_TYPE, user
        for group in self.groups:
            if group["id"] == object_id:
                return GROUP_TYPE, group
        return None

    def user(self, user_id: str) -> dict[str, Any] | None:
        return next((u for u in self.users if u["id"] == user_id), None)

    def group(self, group_id: str) -> dict[str, Any] | None:
        return next((g for g in self.groups if g["id"] == group_id), None)

    def members(self, group_id: str, transitive: bool) -> list[tuple[str, dict[str, Any]]]:
        """Direct members, or every nested member including the nested groups (as Graph lists them)."""
        out: list[tuple[str, dict[str, Any]]] = []
        seen: set[str] = set()
        stack = [group_id]
        while stack:
            group = self.group(stack.pop(0))
            if group is None:
                continue
            for member_id in group["members"]:
                if member_id in seen:
                    continue
                seen.add(member_id)
                found = self.object(member_id)
                if found:
                    out.append(found)
                    if transitive and found[0] == GROUP_TYPE:
                        stack.append(member_id)
            if not transitive:
                break
        return out

    def changed_since(self, kind: str, since: int, upto: int) -> list[Change]:
        with self.lock:
            return [c for c in self.changes if c.kind == kind and since < c.version <= upto]

    # -- writes (each logged) -------------------------------------------------------------------
    def _log(self, kind: str, object_id: str, member_id: str | None = None, removed: bool = False) -> None:
        self.version += 1
        self.changes.append(Change(self.version, kind, object_id, member_id, removed))

    def update_user(self, user_id: str, values: dict[str, Any]) -> None:
        with self.lock:
            user = self.user(user_id)
            assert user is not None
            user.update(values)
            self._log("user", user_id)

    def create_user(self, values: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            user = {"id": str(uuid.uuid4()), **values}
            self.users.append(user)
            self._log("user", user["id"])
            return user

    def delete_user(self, user_id: str) -> None:
        """A soft delete: the user leaves every group (delta says `@removed: changed`)."""
        with self.lock:
            self.users = [u for u in self.users if u["id"] != user_id]
            for group in self.groups:
                if user_id in group["members"]:
                    group["members"] = [m for m in group["members"] if m != user_id]
                    self._log("group", group["id"], user_id, removed=True)
            self._log("user", user_id, removed=True)

    def update_group(self, group_id: str, values: dict[str, Any]) -> None:
        with self.lock:
            group = self.group(group_id)
            assert group is not None
            group.update(values)
            self._log("group", group_id)

    def add_member(self, group_id: str, member_id: str) -> None:
        with self.lock:
            group = self.group(group_id)
            assert group is not None
            group["members"] = [*group["members"], member_id]
            self._log("group", group_id, member_id)

    def remove_member(self, group_id: str, member_id: str) -> None:
        with self.lock:
            group = self.group(group_id)
            assert group is not None
            group["members"] = [m for m in group["members"] if m != member_id]
            self._log("group", group_id, member_id, removed=True)

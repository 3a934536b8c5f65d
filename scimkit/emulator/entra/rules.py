"""The emulated Entra tenant: users, groups, the Databricks application's assignments, issued
tokens. In memory, loaded from the seed's `entra_tenant.json`; no HTTP here."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TENANT_FILE = "entra_tenant.json"


@dataclass
class Tenant:
    tenant_id: str = ""
    clients: dict[str, str] = field(default_factory=dict)  # client_id -> client_secret (local, not secret)
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    application: dict[str, Any] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, seed_dir: Path | None) -> Tenant:
        path = seed_dir / TENANT_FILE if seed_dir else None
        if path is None or not path.is_file():
            return cls()
        doc = json.loads(path.read_text(encoding="utf-8"))
        return cls(tenant_id=doc["tenant_id"], clients={c["client_id"]: c["client_secret"] for c in doc["clients"]},
                   users=doc["users"], groups=doc["groups"], application=doc["databricks_application"])

    def issue_token(self) -> str:
        token = "entra-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens.add(token)
        return token

    def object(self, object_id: str) -> tuple[str, dict[str, Any]] | None:
        for user in self.users:
            if user["id"] == object_id:
                return "#microsoft.graph.user", user
        for group in self.groups:
            if group["id"] == object_id:
                return "#microsoft.graph.group", group
        return None

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
                    if transitive and found[0] == "#microsoft.graph.group":
                        stack.append(member_id)
            if not transitive:
                break
        return out

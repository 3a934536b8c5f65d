"""SQLite state of the emulated account. No HTTP here: routes call rules, rules call the store.

One connection guarded by one lock: requests are applied one at a time, so every write is atomic
and a client that retries never sees half a change. In memory by default; a file keeps state
across restarts (`--db FILE`).

Tables
    principals   users, groups and service principals (kind, natural key, JSON document)
    memberships  direct group membership edges (group_id, member_id)
    workspaces   workspaces of the account, each bound to one metastore
    assignments  workspace permission assignments (USER / ADMIN) per principal
    metastores   Unity Catalog metastores
    securables   catalogs, schemas, tables, volumes, functions, external locations, storage
                 credentials (keyed by metastore, type and lower-cased full name)
    grants       one row per (securable, principal, privilege)
    sp_secrets   OAuth secrets of service principals (SHA-256 digests only, never the value)
    oauth_tokens access tokens issued by the token endpoints (digests), with audience and expiry
    meta         key/value: seed info, id counter
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS principals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,                -- User | Group | ServicePrincipal
    key TEXT NOT NULL,                 -- userName | displayName | applicationId
    key_lower TEXT NOT NULL,
    doc TEXT NOT NULL,                 -- SCIM resource JSON without id, members and meta
    idp_managed INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS principals_key ON principals(kind, key_lower);
CREATE INDEX IF NOT EXISTS principals_seq ON principals(kind, seq);
CREATE TABLE IF NOT EXISTS memberships (
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX IF NOT EXISTS memberships_member ON memberships(member_id);
CREATE TABLE IF NOT EXISTS workspaces (
    workspace_id INTEGER PRIMARY KEY,
    metastore_id TEXT,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assignments (
    workspace_id INTEGER NOT NULL,
    principal_id TEXT NOT NULL,
    permissions TEXT NOT NULL,          -- JSON list, e.g. ["USER"]
    PRIMARY KEY (workspace_id, principal_id)
);
CREATE TABLE IF NOT EXISTS metastores (
    metastore_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS securables (
    metastore_id TEXT NOT NULL,
    securable_type TEXT NOT NULL,      -- CATALOG | SCHEMA | TABLE | VOLUME | FUNCTION | EXTERNAL_LOCATION | STORAGE_CREDENTIAL
    full_name TEXT NOT NULL,
    full_name_lower TEXT NOT NULL,
    parent_lower TEXT,                 -- lower-cased full name of the parent catalog or schema
    owner TEXT NOT NULL,
    doc TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (metastore_id, securable_type, full_name_lower)
);
CREATE INDEX IF NOT EXISTS securables_parent ON securables(metastore_id, securable_type, parent_lower, seq);
CREATE TABLE IF NOT EXISTS grants (
    metastore_id TEXT NOT NULL,
    securable_type TEXT NOT NULL,
    full_name_lower TEXT NOT NULL,
    principal TEXT NOT NULL,
    principal_lower TEXT NOT NULL,
    privilege TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (metastore_id, securable_type, full_name_lower, principal_lower, privilege)
);
CREATE INDEX IF NOT EXISTS grants_principal ON grants(metastore_id, principal_lower);
CREATE TABLE IF NOT EXISTS sp_secrets (
    secret_id TEXT PRIMARY KEY,
    sp_id TEXT NOT NULL,
    secret_hash TEXT NOT NULL,         -- sha256 hex of the secret value
    created REAL NOT NULL,             -- epoch seconds
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sp_secrets_sp ON sp_secrets(sp_id);
CREATE TABLE IF NOT EXISTS oauth_tokens (
    token_hash TEXT PRIMARY KEY,       -- sha256 hex of the access token
    sp_id TEXT NOT NULL,
    audience TEXT NOT NULL,            -- account | workspace (which token endpoint issued it)
    expires REAL NOT NULL
);
"""

TABLES = ("principals", "memberships", "workspaces", "assignments", "metastores", "securables", "grants",
          "sp_secrets", "oauth_tokens", "meta")

# New objects get ids above every seeded id, so ids never collide with a seed.
FIRST_NEW_ID = 9_100_000_000_000_000


class Store:
    """The emulator's state. Use `with store.tx() as db:` for every read or write."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(SCHEMA)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction; rolled back whole if the block raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def is_seeded(self) -> bool:
        with self.tx() as db:
            return db.execute("SELECT 1 FROM meta WHERE key='seeded'").fetchone() is not None

    def clear(self) -> None:
        with self.tx() as db:
            for table in TABLES:
                db.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# -- helpers shared by the rule modules ------------------------------------------------------


def get_meta(db: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row["value"] if row else default


def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


def next_id(db: sqlite3.Connection) -> str:
    """A fresh int64 id rendered as a string, like Databricks SCIM ids."""
    current = int(get_meta(db, "next_id", str(FIRST_NEW_ID)) or FIRST_NEW_ID)
    set_meta(db, "next_id", str(current + 1))
    return str(current)


def next_seq(db: sqlite3.Connection, table: str) -> int:
    row = db.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM {table}").fetchone()
    return int(row["s"])


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def loads(text: str) -> Any:
    return json.loads(text)

"""Unity Catalog rules: securables, privileges, inheritance, effective permissions."""

from __future__ import annotations

import sqlite3
from typing import Any

from .store import dumps


def insert_metastore(db: sqlite3.Connection, metastore: dict[str, Any], default_owner: str) -> None:
    doc = dict(metastore)
    doc.setdefault("owner", default_owner)
    db.execute("INSERT INTO metastores(metastore_id, doc) VALUES (?, ?)", (doc["metastore_id"], dumps(doc)))


def load_seed(db: sqlite3.Connection, unity_catalog: dict[str, Any], grants: list[dict[str, Any]],
              default_metastore_id: str) -> None:
    """Load securables and grants from a seed (issue 3)."""

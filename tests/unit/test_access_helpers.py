"""Builders for small hand-made snapshot tables (shared by the access, matrix and history tests).

Each builder fills the common columns (snapshot_time, account_id, schema_version) and the columns a
test does not care about, and returns a frame with exactly the dtypes of `scimkit.schema`.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import pandas as pd

from scimkit.history import conform, empty_table
from scimkit.schema import TABLES

SNAPSHOT_TIME = pd.Timestamp("2026-11-29T03:41:00Z")
ACCOUNT_ID = "acc-0001"
METASTORE = "ms-1"


def frame(table: str, rows: Iterable[dict[str, Any]], when: pd.Timestamp = SNAPSHOT_TIME) -> pd.DataFrame:
    """A schema-typed frame from row dicts holding the table's own columns."""
    rows = list(rows)
    if not rows:
        return empty_table(table)
    common = {"snapshot_time": when, "account_id": ACCOUNT_ID, "schema_version": 1}
    df = pd.DataFrame([{**common, **r} for r in rows])
    return conform(df[TABLES[table].column_names], table)


def users(*names: str, inactive: Iterable[str] = (), admins: Iterable[str] = ()) -> pd.DataFrame:
    inactive, admins = set(inactive), set(admins)
    return frame(
        "users",
        [
            {
                "user_name": n,
                "user_id": f"u-{n}",
                "display_name": n.split("@")[0].title(),
                "active": n not in inactive,
                "external_id": None,
                "is_account_admin": n in admins,
            }
            for n in names
        ],
    )


def service_principals(*app_ids: str, inactive: Iterable[str] = ()) -> pd.DataFrame:
    inactive = set(inactive)
    return frame(
        "service_principals",
        [
            {
                "application_id": a,
                "sp_id": f"sp-{a}",
                "display_name": None,
                "active": a not in inactive,
                "external_id": None,
                "is_account_admin": False,
            }
            for a in app_ids
        ],
    )


def groups(*names: str) -> pd.DataFrame:
    return frame(
        "groups",
        [
            {"group_name": n, "group_id": f"g-{n}", "external_id": None, "direct_member_count": 0}
            for n in names
        ],
    )


def memberships(*edges: tuple[str, str, str]) -> pd.DataFrame:
    """Edges as (group_name, member_type, member_name)."""
    return frame(
        "memberships",
        [
            {
                "group_name": g,
                "member_type": t,
                "member_name": m,
                "group_id": f"g-{g}",
                "member_id": f"id-{m}",
            }
            for g, t, m in edges
        ],
    )


def nest(**groups_members: Iterable[str]) -> list[tuple[str, str, str]]:
    """Edges from `Group=["user@x", "group:Other", "sp:app-id"]`."""
    edges = []
    for group, members in groups_members.items():
        for m in members:
            kind, _, name = m.partition(":") if ":" in m else ("user", "", m)
            edges.append((group, {"user": "USER", "group": "GROUP", "sp": "SERVICE_PRINCIPAL"}[kind], name))
    return edges


def grants(*rows: tuple[str, str, str, str, str]) -> pd.DataFrame:
    """Rows as (securable_type, full_name, principal, principal_type, privilege)."""
    return frame(
        "grants",
        [
            {
                "metastore_id": METASTORE,
                "securable_type": t,
                "full_name": n,
                "principal": p,
                "principal_type": pt,
                "privilege": priv,
            }
            for t, n, p, pt, priv in rows
        ],
    )


def securables(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """Rows as (securable_type, full_name[, owner, owner_type[, kind]])."""
    out = []
    for row in rows:
        stype, name, owner, owner_type, kind = (tuple(row) + (None, None, None))[:5]
        parts = name.split(".")
        nested = stype in ("SCHEMA", "TABLE", "VOLUME", "FUNCTION")
        out.append(
            {
                "metastore_id": METASTORE,
                "securable_type": stype,
                "full_name": name,
                "parent_full_name": ".".join(parts[:-1]) if nested else None,
                "catalog_name": parts[0] if nested or stype == "CATALOG" else None,
                "schema_name": parts[1] if stype in ("TABLE", "VOLUME", "FUNCTION") else None,
                "owner": owner,
                "owner_type": owner_type or ("USER" if owner else "UNKNOWN"),
                "kind": kind,
            }
        )
    return frame("securables", out)


def admin_roles(*rows: tuple[str, str, str, int]) -> pd.DataFrame:
    return frame(
        "admin_roles",
        [{"principal_type": t, "principal_name": n, "role": r, "workspace_id": w} for t, n, r, w in rows],
    )


def snapshot(**tables: pd.DataFrame) -> SimpleNamespace:
    """A snapshot-like object: every schema table as an attribute (empty unless given)."""
    filled = {name: tables.get(name, empty_table(name)) for name in TABLES}
    filled.pop("transitive_memberships")
    filled.pop("effective_grants")
    for name in ("transitive_memberships", "effective_grants"):
        if name in tables:
            filled[name] = tables[name]
    return SimpleNamespace(**filled)


def seed_snapshot() -> SimpleNamespace:
    """The seed example (databricks-api.md 7.4), as grants the emulator would hold after it."""
    return snapshot(
        users=users("alex@company.com", "jaya@company.com", "sam@company.com"),
        groups=groups("DataEngineers.Prod", "Analysts.NonProd"),
        memberships=memberships(
            *nest(
                **{
                    "Analysts.NonProd": ["alex@company.com", "jaya@company.com"],
                    "DataEngineers.Prod": ["sam@company.com"],
                }
            )
        ),
        securables=securables(
            ("CATALOG", "datalake", "admin@company.com"),
            ("SCHEMA", "datalake.sales_data", "admin@company.com"),
            ("SCHEMA", "datalake.finance", "admin@company.com"),
            ("TABLE", "datalake.finance.transactions", "admin@company.com", "USER", "MANAGED"),
            ("TABLE", "datalake.sales_data.orders", "admin@company.com", "USER", "MANAGED"),
            ("VOLUME", "datalake.sales_data.pipelines", "admin@company.com", "USER", "MANAGED"),
        ),
        grants=grants(
            ("SCHEMA", "datalake.sales_data", "DataEngineers.Prod", "GROUP", "SELECT"),
            ("CATALOG", "datalake", "DataEngineers.Prod", "GROUP", "USE_CATALOG"),
            ("TABLE", "datalake.finance.transactions", "Analysts.NonProd", "GROUP", "SELECT"),
        ),
    )

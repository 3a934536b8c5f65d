"""The snapshot tables: one documented schema that snapshots, findings, reports, notebooks and
history depend on. `docs/snapshot-schema.md` is generated from this module
(`python -m scimkit.schema`).

Every row of every table carries `snapshot_time` (UTC), `account_id` and `schema_version`.
Text columns are `string` (object dtype, None for missing) or, in the two large derived tables
(`transitive_memberships`, `effective_grants`, millions of rows on a large account, few distinct
values), `category`: the same strings as a pandas categorical (stored as strings). Principals are
keyed by natural key (userName, group displayName, service principal
applicationId) with the SCIM id beside it; securables by `metastore_id`, `securable_type`,
`full_name` (with `parent_full_name`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1

# Principal types as they appear in every table.
USER, GROUP, SERVICE_PRINCIPAL, ACCOUNT_USERS, UNKNOWN = "USER", "GROUP", "SERVICE_PRINCIPAL", "ACCOUNT_USERS", "UNKNOWN"
ACCOUNT_USERS_NAME = "account users"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "string", "category", "bool", "int64", "datetime64[ns, UTC]"
    description: str
    nullable: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in COMMON_COLUMNS] + [c.name for c in self.columns]

    @property
    def dtypes(self) -> dict[str, str]:
        return {c.name: c.dtype for c in COMMON_COLUMNS + self.columns}


COMMON_COLUMNS = (
    Column("snapshot_time", "datetime64[ns, UTC]", "when the snapshot was read (one value per snapshot)"),
    Column("account_id", "string", "the Databricks account id"),
    Column("schema_version", "int64", f"this schema's version ({SCHEMA_VERSION})"),
)

_PRINCIPAL_TYPE = "USER, GROUP, SERVICE_PRINCIPAL, ACCOUNT_USERS (the built-in `account users`) or UNKNOWN (no such principal)"

TABLES: dict[str, Table] = {t.name: t for t in [
    Table("users", "Account users.", (
        Column("user_name", "string", "userName (email): the natural key"),
        Column("user_id", "string", "SCIM id"),
        Column("display_name", "string", "displayName", nullable=True),
        Column("active", "bool", "false for a deactivated user"),
        Column("external_id", "string", "externalId (set by identity-provider provisioning)", nullable=True),
        Column("is_account_admin", "bool", "holds the account_admin role"),
    ), ("user_name",)),
    Table("service_principals", "Account service principals.", (
        Column("application_id", "string", "applicationId: the natural key and the Unity Catalog principal name"),
        Column("sp_id", "string", "SCIM id"),
        Column("display_name", "string", "displayName", nullable=True),
        Column("active", "bool", "false for a deactivated service principal"),
        Column("external_id", "string", "externalId", nullable=True),
        Column("is_account_admin", "bool", "holds the account_admin role"),
    ), ("application_id",)),
    Table("groups", "Account groups.", (
        Column("group_name", "string", "displayName: the natural key and the Unity Catalog principal name"),
        Column("group_id", "string", "SCIM id"),
        Column("external_id", "string", "externalId: set when the identity provider syncs the group", nullable=True),
        Column("direct_member_count", "int64", "number of direct members (users, service principals, groups)"),
    ), ("group_name",)),
    Table("admin_roles", "Account admins and workspace admins.", (
        Column("principal_type", "string", _PRINCIPAL_TYPE),
        Column("principal_name", "string", "natural key of the principal"),
        Column("role", "string", "account_admin or workspace_admin"),
        Column("workspace_id", "int64", "the workspace for workspace_admin; 0 for account_admin"),
    ), ("principal_type", "principal_name", "role", "workspace_id")),
    Table("memberships", "Direct group memberships (one row per group and direct member).", (
        Column("group_name", "string", "the group"),
        Column("member_type", "string", "USER, GROUP or SERVICE_PRINCIPAL"),
        Column("member_name", "string", "natural key of the member"),
        Column("group_id", "string", "SCIM id of the group"),
        Column("member_id", "string", "SCIM id of the member"),
    ), ("group_name", "member_type", "member_name")),
    Table("transitive_memberships", "Every group a principal belongs to, directly or through nested groups.", (
        Column("group_name", "category", "the (ancestor) group"),
        Column("member_type", "category", "USER, GROUP or SERVICE_PRINCIPAL"),
        Column("member_name", "category", "natural key of the member"),
        Column("depth", "int64", "length of the shortest chain: 1 for a direct member"),
        Column("via", "category", "the shortest chain of groups from the member's direct group up to `group_name`, "
               "joined by ' > ' (equal to group_name when direct)"),
        Column("path_count", "int64", "number of distinct membership paths from member to group"),
    ), ("group_name", "member_type", "member_name")),
    Table("workspaces", "Workspaces of the account.", (
        Column("workspace_id", "int64", "workspace id"),
        Column("workspace_name", "string", "workspace name"),
        Column("deployment_name", "string", "deployment name (the URL prefix)", nullable=True),
        Column("metastore_id", "string", "the Unity Catalog metastore assigned to it", nullable=True),
        Column("status", "string", "workspace status", nullable=True),
    ), ("workspace_id",)),
    Table("workspace_assignments", "Workspace permission assignments (USER or ADMIN) per principal.", (
        Column("workspace_id", "int64", "workspace id"),
        Column("principal_type", "string", "USER, GROUP or SERVICE_PRINCIPAL"),
        Column("principal_name", "string", "natural key of the principal"),
        Column("principal_id", "string", "SCIM id of the principal"),
        Column("permission", "string", "USER or ADMIN"),
    ), ("workspace_id", "principal_type", "principal_name")),
    Table("securables", "Unity Catalog securables with their owners.", (
        Column("metastore_id", "string", "metastore id"),
        Column("securable_type", "string", "METASTORE, CATALOG, SCHEMA, TABLE, VOLUME, FUNCTION, EXTERNAL_LOCATION or "
               "STORAGE_CREDENTIAL"),
        Column("full_name", "string", "full name (the metastore id for the metastore)"),
        Column("parent_full_name", "string", "the catalog of a schema, the schema of a table, volume or function",
               nullable=True),
        Column("catalog_name", "string", "catalog part of the name", nullable=True),
        Column("schema_name", "string", "schema part of the name", nullable=True),
        Column("owner", "string", "owner principal name", nullable=True),
        Column("owner_type", "string", _PRINCIPAL_TYPE),
        Column("kind", "string", "catalog_type / table_type / volume_type where the API gives one", nullable=True),
    ), ("metastore_id", "securable_type", "full_name")),
    Table("grants", "Direct privilege grants as the permissions API returns them (no inheritance).", (
        Column("metastore_id", "string", "metastore id"),
        Column("securable_type", "string", "type of the securable the grant sits on"),
        Column("full_name", "string", "full name of the securable the grant sits on"),
        Column("principal", "string", "grantee principal name"),
        Column("principal_type", "string", _PRINCIPAL_TYPE),
        Column("privilege", "string", "UPPER_SNAKE privilege, e.g. USE_CATALOG"),
    ), ("metastore_id", "securable_type", "full_name", "principal", "privilege")),
    Table("effective_grants", "Grants expanded to every user, service principal and group that holds them "
          "through group membership, at the securable where the grant sits (children inherit: see "
          "`scimkit.access`).", (
        Column("metastore_id", "category", "metastore id"),
        Column("securable_type", "category", "type of the securable the grant sits on"),
        Column("full_name", "category", "full name of the securable the grant sits on"),
        Column("principal", "category", "the principal who holds the privilege"),
        Column("principal_type", "category", "USER, GROUP or SERVICE_PRINCIPAL"),
        Column("privilege", "category", "UPPER_SNAKE privilege"),
        Column("granted_to", "category", "the grantee of the underlying grant (the principal itself, a group, or "
               "`account users`)"),
        Column("via", "category", "how principal reaches granted_to: '' when direct, the group chain joined by "
               "' > ' (e.g. 'Analysts.NonProd' or 'Marketing > Employees'), or 'account users'"),
    ), ("metastore_id", "securable_type", "full_name", "principal", "privilege", "granted_to")),
    Table("completeness", "What could not be read, and why. Empty when the snapshot is complete.", (
        Column("object_type", "string", "what was being read: group, securable, grants, workspace, ..."),
        Column("object_name", "string", "which one"),
        Column("operation", "string", "the SDK call that failed"),
        Column("error", "string", "the error after retries"),
    ), ("object_type", "object_name", "operation")),
]}

# Tables derived from snapshots and stored in the same layout (ROOT/<table>/snapshot_time=...).
FINDINGS = Table(
    "findings",
    "Compliance findings (`scimkit.compliance.evaluate`), one row per problem found in a snapshot.",
    (
        Column(
            "finding_id",
            "string",
            "stable id: a hash of rule, principal, securable and the rule's key, so the same "
            "problem keeps its id from one snapshot to the next",
        ),
        Column("rule", "string", "id of the rule that found it"),
        Column("severity", "string", "critical, high, medium, low or info"),
        Column("title", "string", "the rule's title"),
        Column("principal", "string", "the user, group or service principal concerned", nullable=True),
        Column(
            "principal_type",
            "string",
            "USER, GROUP, SERVICE_PRINCIPAL, ACCOUNT_USERS or UNKNOWN",
            nullable=True,
        ),
        Column(
            "securable_type",
            "string",
            "CATALOG, SCHEMA, TABLE, ... or ACCOUNT / WORKSPACE for admin findings",
            nullable=True,
        ),
        Column(
            "securable",
            "string",
            "full name of the securable (account id or workspace name for admin findings)",
            nullable=True,
        ),
        Column("detail", "string", "what was found"),
        Column(
            "remediation",
            "string",
            "the SQL GRANT / REVOKE / ALTER ... OWNER or the identity change that fixes it",
        ),
        Column(
            "withheld_rule",
            "string",
            "on a `could_not_evaluate` row: the rule whose conclusions are withheld because the snapshot "
            "could not read their evidence (null on every other row)",
            nullable=True,
        ),
    ),
    ("finding_id",),
)

ALL_TABLES: dict[str, Table] = {**TABLES, FINDINGS.name: FINDINGS}


def render_markdown() -> str:
    lines = [
        "# Snapshot schema",
        "",
        f"Schema version {SCHEMA_VERSION}. Generated by `python -m scimkit.schema` from `scimkit/schema.py`.",
        "",
        "Every table has these columns first:",
        "",
        "| column | dtype | description |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{c.name}` | {c.dtype} | {c.description} |" for c in COMMON_COLUMNS]
    lines += ["", "Storage: one layout, shared by snapshots, findings and journals: hive-style partitions "
              "`ROOT/<table>/snapshot_time=<ISO time>/part-0.parquet`, e.g. "
              "`ROOT/users/snapshot_time=2026-11-29T03%3A41%3A00Z/` (':' escaped as `%3A`, as Hive and Spark "
              "write it). The partition column is in the folder name, not in the files, so pandas "
              "(`pd.read_parquet(\"ROOT/users\")`), pyarrow.dataset, DuckDB and Spark read a table folder as it "
              "is and see `snapshot_time` as the text `2026-11-29T03:41:00Z`; `scimkit.history.load_tables` "
              "gives it back as a UTC timestamp. Parquet locally; Delta tables through Spark on Databricks.", "",
              "A report run stores a snapshot under `OUT/history/` only when it was read completely; an "
              "incomplete reading (rows in `completeness`) goes to `OUT/incomplete/` in the same layout and is "
              "never compared with.", ""]
    for table in ALL_TABLES.values():
        lines += [f"## `{table.name}`", "", table.description, "",
                  f"Key: ({', '.join(f'`{k}`' for k in table.key)})", "",
                  "| column | dtype | nullable | description |", "| --- | --- | --- | --- |"]
        lines += [f"| `{c.name}` | {c.dtype} | {'yes' if c.nullable else 'no'} | {c.description} |"
                  for c in table.columns]
        lines.append("")
    return "\n".join(lines)


def doc_path() -> Path:
    return Path(__file__).resolve().parents[1] / "docs" / "snapshot-schema.md"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else doc_path()
    target.write_text(render_markdown())
    print(f"wrote {target}")


def _strings(column: pd.Series) -> pd.Series:
    """Text as object with None for missing (a column already so is returned as it is)."""
    if column.dtype == object and not column.hasnans:
        return column
    return column.astype(object).where(column.notna(), None)


def _coerced(column: pd.Series, dtype: str) -> pd.Series:
    import pandas as pd

    if dtype == "string":
        return _strings(column)
    if dtype == "category":
        if isinstance(column.dtype, pd.CategoricalDtype) and not column.cat.ordered:
            return column
        return _strings(column).astype("category")
    if dtype == "datetime64[ns, UTC]":
        if str(column.dtype) == dtype:
            return column
        return pd.to_datetime(column, utc=True).astype("datetime64[ns, UTC]")
    return column if str(column.dtype) == dtype else column.astype(dtype)


def coerce(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Put a table's columns in schema order with schema dtypes (strings as object, None for null;
    category columns as unordered categoricals). Columns that already conform are not copied."""
    import pandas as pd

    spec = ALL_TABLES[table]
    frame = frame.reset_index(drop=True) if not isinstance(frame.index, pd.RangeIndex) or frame.index.start else frame
    n = len(frame)
    columns = {name: _coerced(frame[name] if name in frame.columns else pd.Series([None] * n, dtype=object), dtype)
               for name, dtype in spec.dtypes.items()}
    return pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False)


def to_frame(table: str, rows: list[dict[str, object]], snapshot_time: pd.Timestamp, account_id: str) -> pd.DataFrame:
    """Rows (dicts keyed by the table's own columns) -> a schema-conformant DataFrame."""
    import pandas as pd

    spec = ALL_TABLES[table]
    own = [c.name for c in spec.columns]
    frame = pd.DataFrame(rows, columns=own) if rows else pd.DataFrame({c: pd.Series([], dtype=object) for c in own})
    frame.insert(0, "schema_version", SCHEMA_VERSION)
    frame.insert(0, "account_id", account_id)
    frame.insert(0, "snapshot_time", pd.Timestamp(snapshot_time))
    return coerce(table, frame)

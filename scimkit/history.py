"""Snapshot storage and diff, independent of how a snapshot is read.

Layout (one for snapshots, findings and journals): hive-style partitions, so pandas, pyarrow,
DuckDB and Spark read a table folder as it is (`pd.read_parquet("ROOT/users")`)::

    ROOT/<table>/snapshot_time=2026-11-29T03%3A41%3A00Z/part-0.parquet

The folder holds the partition value, an ISO 8601 UTC time with ':' escaped as %3A (as Hive and
Spark escape it; the name stays valid on Windows); readers decode it to `2026-11-29T03:41:00Z`.
As in any hive layout, the partition column is not repeated inside the files. Folders of the
earlier layout (`snapshot_time=2026-11-29T03-41-00Z`, the column also inside the file) are still
read; `upgrade_layout(root)` rewrites them.

`save_tables` / `load_tables` / `list_snapshot_times` take a folder (local Parquet through
pyarrow, the default) or a backend: `ParquetBackend(root)`, `SparkBackend(spark, "main.scimkit")`
(Delta tables partitioned by `snapshot_time`, on Databricks) or `DeltaLakeBackend(root)` (the
`deltalake` package, when installed). Tables named in `scimkit.schema` come back with exactly the
schema's dtypes; other tables (findings, journals) as stored.

`diff(old, new)` lists what changed between two snapshots, one row per change.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import schema as _schema
from .errors import ConflictError, InvalidInput
from .schema import coerce

# The snapshot tables, and the derived tables stored in the same layout (findings) when the schema
# defines them.
SPECS = getattr(_schema, "ALL_TABLES", _schema.TABLES)

__all__ = [
    "Backend",
    "DeltaLakeBackend",
    "ParquetBackend",
    "SparkBackend",
    "CHANGE_KINDS",
    "conform",
    "diff",
    "empty_table",
    "list_snapshot_times",
    "load_tables",
    "partition_name",
    "partition_value",
    "save_tables",
    "upgrade_layout",
]

PART_FILE = "part-0.parquet"
PARTITION_COLUMN = "snapshot_time"
# The partition folder, decoded: ISO 8601 UTC (2026-11-29T03:41:00Z), or the earlier layout's
# 2026-11-29T03-41-00Z.
_PARTITION = re.compile(r"^snapshot_time=(\d{4}-\d{2}-\d{2})T(\d{2})[:-](\d{2})[:-](\d{2})(\.\d+)?Z$")
_COLUMN_ORDER = b"scimkit.columns"  # file metadata: the frame's column order, partition column included

# -- dtypes --------------------------------------------------------------------------------------


def conform(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """`df` with the columns and dtypes `scimkit.schema` gives `table` (through `schema.coerce`:
    strings as object with None for missing), in the schema's order, with a fresh RangeIndex.
    Extra columns are kept after the schema's. Tables the schema does not name are returned as
    they are (with a RangeIndex)."""
    spec = SPECS.get(table)
    if spec is None:
        return df.reset_index(drop=True)
    missing = [c for c in spec.column_names if c not in df.columns]
    if missing:
        raise InvalidInput(
            f"Table {table!r} lacks column(s) {', '.join(missing)}.",
            field=table,
            fix="build the frame with every column listed in scimkit.schema",
        )
    for name, dtype in spec.dtypes.items():
        if dtype in ("bool", "int64") and df[name].isna().any():
            raise InvalidInput(
                f"Column {name!r} of {table!r} has missing values but is a non-nullable {dtype}.",
                field=name,
                fix="fill the missing values first",
            )
    out = coerce(table, df.reset_index(drop=True))
    for column in df.columns:
        if column not in spec.dtypes:
            out[column] = df[column].to_numpy()
    return out


def empty_table(table: str) -> pd.DataFrame:
    """An empty frame with `table`'s columns and dtypes."""
    return coerce(table, pd.DataFrame({c: pd.Series([], dtype=object) for c in SPECS[table].column_names}))


# -- snapshot times ------------------------------------------------------------------------------


def _utc(value: Any) -> pd.Timestamp:
    if isinstance(value, str):
        text = unquote(value)
        m = _PARTITION.match(text if text.startswith("snapshot_time=") else f"snapshot_time={text}")
        if m:
            value = f"{m.group(1)}T{m.group(2)}:{m.group(3)}:{m.group(4)}{m.group(5) or ''}Z"
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"Not a snapshot time: {value!r}.",
            field="snapshot_time",
            fix="give an ISO 8601 time, a datetime or a pandas Timestamp",
        ) from exc
    if ts is pd.NaT:
        raise InvalidInput("The snapshot time is missing.", field="snapshot_time", fix="give a time")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def partition_value(snapshot_time: Any) -> str:
    """`2026-11-29T03:41:00Z`: the snapshot time as ISO 8601 in UTC, fractional seconds only when
    present. This is the value every reader of the history sees in the `snapshot_time` column."""
    ts = _utc(snapshot_time)
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    frac = ts.microsecond * 1000 + ts.nanosecond
    if frac:
        text += ("." + f"{frac:09d}").rstrip("0")
    return text + "Z"


def partition_name(snapshot_time: Any) -> str:
    """`snapshot_time=2026-11-29T03%3A41%3A00Z`: the hive partition folder of a snapshot time, the
    value URI-escaped as Hive and Spark write it (':' is not allowed in Windows file names)."""
    return f"{PARTITION_COLUMN}={quote(partition_value(snapshot_time), safe='')}"


def _legacy_partition_name(snapshot_time: Any) -> str:
    """The earlier layout's folder, `snapshot_time=2026-11-29T03-41-00Z`."""
    return f"{PARTITION_COLUMN}={partition_value(snapshot_time).replace(':', '-')}"


def _times_of(df: pd.DataFrame) -> pd.Timestamp | None:
    if "snapshot_time" not in df.columns or df.empty:
        return None
    values = pd.to_datetime(df["snapshot_time"], utc=True).dropna().unique()
    if len(values) > 1:
        raise InvalidInput(
            "A table holds more than one snapshot_time.",
            field="snapshot_time",
            fix="save one snapshot at a time",
        )
    return _utc(values[0]) if len(values) else None


# -- backends ------------------------------------------------------------------------------------


@runtime_checkable
class Backend(Protocol):
    """Where snapshot tables live. One partition per (table, snapshot_time)."""

    def write(self, table: str, df: pd.DataFrame, snapshot_time: pd.Timestamp) -> None: ...

    def read(self, table: str, snapshot_time: pd.Timestamp) -> pd.DataFrame | None: ...

    def tables(self) -> list[str]: ...

    def snapshot_times(self, table: str) -> list[pd.Timestamp]: ...


_ARROW_TYPES = {
    "string": pa.string(),
    "category": pa.string(),  # stored as strings; read back as categoricals by `conform`
    "bool": pa.bool_(),
    "int64": pa.int64(),
    "datetime64[ns, UTC]": pa.timestamp("ns", tz="UTC"),
}


def _arrow(table: str, df: pd.DataFrame, override: Mapping[str, pa.DataType] | None = None) -> pa.Table:
    """`df` as an Arrow table, typed by the schema for the schema's tables (so an empty or all-None
    column keeps its type), inferred otherwise."""
    spec = SPECS.get(table)
    if spec is None:
        return pa.Table.from_pandas(df, preserve_index=False)
    types = {**{n: _ARROW_TYPES[d] for n, d in spec.dtypes.items()}, **(override or {})}
    categorical = [c for c in df.columns if c in types and isinstance(df[c].dtype, pd.CategoricalDtype)]
    if categorical:  # strings in the file, whatever pandas dtype holds them
        df = df.assign(**{c: df[c].astype(object).where(df[c].notna(), None) for c in categorical})
    fields = [
        pa.field(c, types[c])
        if c in types
        else pa.field(c, pa.Table.from_pandas(df[[c]]).schema.field(c).type)
        for c in df.columns
    ]
    return pa.Table.from_pandas(df, schema=pa.schema(fields), preserve_index=False)


def _partition_time(folder: str) -> pd.Timestamp | None:
    """The snapshot time a partition folder names (either layout), None for anything else."""
    return _utc(folder) if _PARTITION.match(unquote(folder)) else None


class ParquetBackend:
    """Local (or mounted) Parquet files in hive partitions,
    `ROOT/<table>/snapshot_time=<escaped ISO time>/part-0.parquet`, the partition column only in
    the folder name. Reads the earlier layout too (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, table: str, snapshot_time: pd.Timestamp) -> Path:
        return self.root / table / partition_name(snapshot_time) / PART_FILE

    def _existing(self, table: str, snapshot_time: pd.Timestamp) -> Path | None:
        for name in (partition_name(snapshot_time), _legacy_partition_name(snapshot_time)):
            target = self.root / table / name / PART_FILE
            if target.exists():
                return target
        return None

    def write(self, table: str, df: pd.DataFrame, snapshot_time: pd.Timestamp) -> None:
        target = self.path(table, snapshot_time)
        target.parent.mkdir(parents=True, exist_ok=True)
        arrow = _arrow(table, df.drop(columns=[PARTITION_COLUMN], errors="ignore"))
        order = json.dumps([str(c) for c in df.columns]).encode("utf-8")
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), _COLUMN_ORDER: order})
        # Dot-prefixed while written: pyarrow, Spark and DuckDB skip hidden files, and the rename
        # means a reader never sees half a file.
        tmp = target.with_name("." + target.name + ".tmp")
        pq.write_table(arrow, tmp)
        os.replace(tmp, target)
        legacy = self.root / table / _legacy_partition_name(snapshot_time)
        if legacy.is_dir() and legacy != target.parent:  # the same snapshot saved again: one copy
            for leftover in legacy.iterdir():
                leftover.unlink()
            legacy.rmdir()

    def read(self, table: str, snapshot_time: pd.Timestamp) -> pd.DataFrame | None:
        target = self._existing(table, snapshot_time)
        if target is None:
            return None
        arrow = pq.read_table(target)
        order = (arrow.schema.metadata or {}).get(_COLUMN_ORDER)
        df = arrow.to_pandas()
        # The folder is the truth for the partition column (the earlier layout also kept it inside).
        stamp = pd.Series([snapshot_time] * len(df), index=df.index, dtype="datetime64[ns, UTC]")
        df[PARTITION_COLUMN] = stamp
        columns = json.loads(order) if order else [PARTITION_COLUMN, *df.columns.drop(PARTITION_COLUMN)]
        return df[[c for c in columns if c in df.columns] + [c for c in df.columns if c not in columns]]

    def tables(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.snapshot_times(p.name))

    def snapshot_times(self, table: str) -> list[pd.Timestamp]:
        folder = self.root / table
        if not folder.is_dir():
            return []
        found = {_partition_time(p.parent.name) for p in folder.glob(f"{PARTITION_COLUMN}=*/{PART_FILE}")}
        return sorted(t for t in found if t is not None)


def upgrade_layout(root: str | os.PathLike[str]) -> int:
    """Rewrite every partition of the earlier layout under `root` (`snapshot_time=...T03-41-00Z`,
    the column inside the files) into the hive layout other tools read. Returns the number of
    partitions rewritten; running it again rewrites none."""
    backend = ParquetBackend(root)
    moved = 0
    for table in backend.tables():
        for ts in backend.snapshot_times(table):
            legacy = backend.root / table / _legacy_partition_name(ts) / PART_FILE
            if legacy.exists() and not backend.path(table, ts).exists():
                backend.write(table, backend.read(table, ts), ts)
                moved += 1
    return moved


_SPARK_TYPES = {"string": "STRING", "category": "STRING", "bool": "BOOLEAN", "int64": "BIGINT", "datetime64[ns, UTC]": "TIMESTAMP"}


def _spark_literal(ts: pd.Timestamp) -> str:
    return "TIMESTAMP '" + ts.strftime("%Y-%m-%d %H:%M:%S.%f") + "Z'"


class SparkBackend:
    """Delta tables `<catalog_schema>.<table>` partitioned by `snapshot_time`, through a Spark
    session (a Databricks notebook or job). Saving a snapshot time that a table already holds is
    refused (ConflictError): partitions are written once, by append. `table_format` is the data
    source of new tables: "delta" (Databricks), or e.g. "parquet" for a plain Spark without the
    Delta jars."""

    def __init__(self, spark: Any, catalog_schema: str, table_format: str = "delta") -> None:
        self.spark = spark
        self.catalog_schema = catalog_schema.strip().strip(".")
        self.table_format = table_format

    def name(self, table: str) -> str:
        return f"{self.catalog_schema}.{table}"

    def _exists(self, table: str) -> bool:
        return bool(self.spark.catalog.tableExists(self.name(table)))

    def write(self, table: str, df: pd.DataFrame, snapshot_time: pd.Timestamp) -> None:
        where = f"snapshot_time = {_spark_literal(snapshot_time)}"
        if self._exists(table) and self.spark.table(self.name(table)).where(where).limit(1).count():
            raise ConflictError(
                f"{self.name(table)} already holds snapshot {snapshot_time.isoformat()}; "
                "delete that partition first to save it again."
            )
        pdf = df.copy()
        for column in pdf.columns:  # Spark takes None for missing strings, not pd.NA
            if (pdf[column].dtype == object or pdf[column].dtype == "string"
                    or isinstance(pdf[column].dtype, pd.CategoricalDtype)):
                pdf[column] = pdf[column].astype(object).where(pdf[column].notna(), None)
        spec = SPECS.get(table)
        schema = None
        if spec is not None:
            schema = ", ".join(f"`{name}` {_SPARK_TYPES[dtype]}" for name, dtype in spec.dtypes.items())
            schema += "".join(f", `{c}` STRING" for c in pdf.columns if c not in spec.dtypes)
        sdf = self.spark.createDataFrame(pdf, schema=schema) if schema else self.spark.createDataFrame(pdf)
        sdf.write.format(self.table_format).mode("append").partitionBy("snapshot_time").saveAsTable(self.name(table))

    def _to_utc(self, pdf: pd.DataFrame) -> pd.DataFrame:
        # toPandas() gives naive timestamps in the session time zone.
        column = pdf.get("snapshot_time")
        if column is not None and not isinstance(column.dtype, pd.DatetimeTZDtype):
            tz = self.spark.conf.get("spark.sql.session.timeZone", "UTC") or "UTC"
            pdf = pdf.assign(snapshot_time=pd.to_datetime(column).dt.tz_localize(tz).dt.tz_convert("UTC"))
        return pdf

    def read(self, table: str, snapshot_time: pd.Timestamp) -> pd.DataFrame | None:
        if not self._exists(table):
            return None
        where = f"snapshot_time = {_spark_literal(snapshot_time)}"
        return self._to_utc(self.spark.table(self.name(table)).where(where).toPandas())

    def tables(self) -> list[str]:
        rows = self.spark.catalog.listTables(self.catalog_schema)
        return sorted(getattr(r, "name", r) for r in rows)

    def snapshot_times(self, table: str) -> list[pd.Timestamp]:
        if not self._exists(table):
            return []
        pdf = self._to_utc(self.spark.table(self.name(table)).select("snapshot_time").distinct().toPandas())
        return sorted(_utc(t) for t in pdf["snapshot_time"].dropna())


class DeltaLakeBackend:
    """Delta tables in `ROOT/<table>` through the `deltalake` package (no Spark). The partition
    column `snapshot_time` holds the folder text (e.g. 2026-11-29T03-41-00Z), so the files sit in
    the same `ROOT/<table>/snapshot_time=.../` layout; it is read back as a UTC Timestamp."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        try:
            import deltalake  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise InvalidInput(
                "DeltaLakeBackend needs the deltalake package.",
                field="backend",
                fix="pip install deltalake, or use ParquetBackend / SparkBackend",
            ) from exc
        self.root = Path(root)

    @staticmethod
    def _key(ts: pd.Timestamp) -> str:
        return _legacy_partition_name(ts).split("=", 1)[1]

    def _table(self, table: str) -> Any:
        from deltalake import DeltaTable

        path = self.root / table
        return DeltaTable(str(path)) if (path / "_delta_log").is_dir() else None

    def write(self, table: str, df: pd.DataFrame, snapshot_time: pd.Timestamp) -> None:
        from deltalake import write_deltalake

        if snapshot_time in self.snapshot_times(table):
            raise ConflictError(
                f"{self.root / table} already holds snapshot {snapshot_time.isoformat()}; "
                "delete that partition first to save it again."
            )
        pdf = df.assign(snapshot_time=self._key(snapshot_time))
        arrow = _arrow(table, pdf, {"snapshot_time": pa.string()})
        write_deltalake(str(self.root / table), arrow, partition_by=["snapshot_time"], mode="append")

    def read(self, table: str, snapshot_time: pd.Timestamp) -> pd.DataFrame | None:
        # The files the Delta log holds for that partition, read with pyarrow.parquet: deltalake's
        # own to_pandas needs pyarrow >= 16 in deltalake 1.x, Runtime 15.4 LTS has 14.0.1.
        delta = self._table(table)
        if delta is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # partition_filters: 1.x renames it
            files = delta.file_uris(partition_filters=[("snapshot_time", "=", self._key(snapshot_time))])
        if not files:
            return None
        pdf = pq.read_table(files, partitioning=None).to_pandas()
        times = pd.Series(snapshot_time, index=pdf.index).astype("datetime64[ns, UTC]")
        return pdf.assign(snapshot_time=times)

    def tables(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "_delta_log").is_dir())

    def snapshot_times(self, table: str) -> list[pd.Timestamp]:
        delta = self._table(table)
        if delta is None:
            return []
        keys = {p.get("snapshot_time") for p in delta.partitions()}
        return sorted(_utc(str(k)) for k in keys if k)


Root = str | os.PathLike[str] | Backend


def _backend(root: Root | None, backend: Backend | None = None) -> Backend:
    """The explicit backend, else `root` when it is one, else local Parquet under `root`."""
    if backend is not None:
        return backend
    if root is None:
        raise InvalidInput(
            "No place to store snapshots was given.", field="root", fix="pass a folder or a backend"
        )
    return root if isinstance(root, Backend) else ParquetBackend(root)


# -- save and load -------------------------------------------------------------------------------


def save_tables(
    tables: Mapping[str, pd.DataFrame],
    root: Root | None,
    snapshot_time: Any = None,
    backend: Backend | None = None,
) -> Path:
    """Write each table under `ROOT/<table>/snapshot_time=<UTC time>/part-0.parquet` (or through
    `backend`, or the backend given as `root`) and return the root (for Spark, the catalog.schema
    as a Path-like name). Tables named in `scimkit.schema` are checked and cast to its dtypes
    first. `snapshot_time` defaults to the tables' own `snapshot_time`."""
    if snapshot_time is None:
        found = {t for t in (_times_of(df) for df in tables.values()) if t is not None}
        if len(found) != 1:
            raise InvalidInput(
                f"Cannot tell the snapshot time: the tables hold {len(found)} distinct values.",
                field="snapshot_time",
                fix="pass snapshot_time=",
            )
        snapshot_time = found.pop()
    ts = _utc(snapshot_time)
    backend = _backend(root, backend)
    for name, df in tables.items():
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise InvalidInput(
                f"Table name {name!r} is not a plain identifier.",
                field="tables",
                fix="use letters, digits and underscores",
            )
        backend.write(name, conform(df, name), ts)
    return (
        Path(backend.catalog_schema)
        if isinstance(backend, SparkBackend)
        else Path(getattr(backend, "root", root))
    )


def list_snapshot_times(
    root: Root | None, table: str = "users", backend: Backend | None = None
) -> list[pd.Timestamp]:
    """The snapshot times stored for `table`, oldest first (UTC Timestamps)."""
    return _backend(root, backend).snapshot_times(table)


def load_tables(
    root: Root | None,
    snapshot_time: Any = None,
    tables: Iterable[str] | None = None,
    backend: Backend | None = None,
) -> dict[str, pd.DataFrame]:
    """The tables of one snapshot: `snapshot_time` None or "latest" for the newest time any table
    holds, else that time (any ISO text, datetime or Timestamp; naive means UTC). Tables the schema
    names come back with its dtypes; tables absent at that time are left out."""
    backend = _backend(root, backend)
    names = list(tables) if tables is not None else backend.tables()
    if snapshot_time is None or (isinstance(snapshot_time, str) and snapshot_time.lower() == "latest"):
        every = sorted({t for name in names for t in backend.snapshot_times(name)})
        if not every:
            raise InvalidInput(
                f"No snapshot is stored under {root}.",
                field="root",
                fix="save one with save_tables, or check the path",
            )
        ts = every[-1]
    else:
        ts = _utc(snapshot_time)
    out: dict[str, pd.DataFrame] = {}
    for name in names:
        df = backend.read(name, ts)
        if df is not None:
            out[name] = conform(df, name)
    if not out:
        known = sorted({t for name in names for t in backend.snapshot_times(name)})
        raise InvalidInput(
            f"No table holds snapshot {ts.isoformat()}.",
            field="snapshot_time",
            value=ts,
            fix="pick one of: " + ", ".join(t.isoformat() for t in known[-10:]),
        )
    return out


# -- diff ----------------------------------------------------------------------------------------

_LIST_OF_TYPE = {"USER": "users", "SERVICE_PRINCIPAL": "service_principals", "GROUP": "groups"}


def _unknown_where_unread(changes: pd.DataFrame, old: Any, new: Any) -> pd.DataFrame:
    """`changes` with every change that a failed read of either snapshot could explain turned into
    `unknown` (what it looked like, and the read, in `detail`)."""
    from .gaps import Gaps, Scope

    gaps = Gaps.of(old).union(Gaps.of(new))
    if gaps.complete or changes.empty:
        return changes
    kind = changes["change_kind"].astype(object)
    ptype = changes["principal_type"].astype(object).fillna("").astype(str)
    detail = changes["detail"].astype(object).fillna("").astype(str)
    why = pd.Series([None] * len(changes), index=changes.index, dtype=object)

    def mark(mask: pd.Series, scope: Scope) -> None:
        if scope.empty:
            return
        fresh = mask & why.isna()
        why[fresh] = "; ".join(scope.reads[:2]) + (f"; and {len(scope.reads) - 2} more" if len(scope.reads) > 2 else "")

    people = kind.isin(["joiner", "leaver"])
    account_admin = kind.isin(["admin_added", "admin_removed"]) & detail.str.startswith("account_admin")
    for principal_type, fact in _LIST_OF_TYPE.items():
        mark((people | account_admin) & (ptype == principal_type) & gaps.scope(fact).everything, gaps.scope(fact))
    workspace_admin = kind.isin(["admin_added", "admin_removed"]) & ~account_admin
    where = detail.str.rsplit(" ", n=1).str[-1]
    assignments = gaps.scope("assignments")
    mark(workspace_admin & assignments.covers(pd.Series([None] * len(changes), index=changes.index),
                                              pd.Series("WORKSPACE", index=changes.index), where), assignments)
    members = gaps.scope("members")
    unread_groups = {str(n).lower() for t, n in zip(gaps.failures["object_type"], gaps.failures["object_name"],
                                                    strict=True) if t == "group"}
    group = changes["group_name"].astype(object).fillna("").astype(str).str.lower()
    mark(kind.isin(["membership_added", "membership_removed"]) & (members.everything | group.isin(unread_groups)),
         members)
    grants = gaps.scope("grants")
    mark(kind.isin(["grant_added", "grant_removed"])
         & grants.covers(changes["principal"], changes["securable_type"], changes["full_name"]), grants)
    if why.isna().all():
        return changes
    hit = why.notna()
    changes = changes.copy()
    changes.loc[hit, "detail"] = ("looked like " + kind[hit] + ", but " + why[hit]).to_numpy()
    changes.loc[hit, "change_kind"] = "unknown"
    return changes


CHANGE_KINDS = (
    "joiner",
    "leaver",
    "deactivated",
    "reactivated",
    "admin_added",
    "admin_removed",
    "membership_added",
    "membership_removed",
    "grant_added",
    "grant_removed",
    "owner_changed",
    "unknown",
)
DIFF_COLUMNS = [
    "change_kind",
    "principal_type",
    "principal",
    "securable_type",
    "full_name",
    "privilege",
    "group_name",
    "detail",
]


def _table(snapshot: Any, name: str) -> pd.DataFrame | None:
    if isinstance(snapshot, Mapping):
        return snapshot.get(name)
    return getattr(snapshot, name, None)


def _keyed(
    old: pd.DataFrame | None, new: pd.DataFrame | None, key: list[str], extra: list[str]
) -> pd.DataFrame:
    """Outer merge of the two tables on `key` with an indicator (`_merge`). Text keys are compared
    as object, numeric keys as they are; a missing table is an empty copy of the other."""
    cols = key + [c for c in extra if c not in key]
    present = old if old is not None else new
    assert present is not None
    frames = []
    for side in (old, new):
        df = present.iloc[:0] if side is None else side
        df = df[[c for c in cols if c in df.columns]]
        text = {c: object for c in key if not pd.api.types.is_numeric_dtype(df[c].dtype)}
        frames.append(df.drop_duplicates(key).astype(text))
    return frames[0].merge(frames[1], on=key, how="outer", suffixes=("_old", "_new"), indicator=True)


def _rows(kind: str, data: Mapping[str, Any], n: int) -> pd.DataFrame:
    cols = {c: data.get(c, pd.Series([None] * n, dtype=object)) for c in DIFF_COLUMNS[1:]}
    return pd.DataFrame(
        {"change_kind": [kind] * n, **{c: np.asarray(v, dtype=object) for c, v in cols.items()}}
    )


def _principals(snapshot: Any) -> pd.DataFrame | None:
    parts = []
    users, sps = _table(snapshot, "users"), _table(snapshot, "service_principals")
    if users is not None:
        parts.append(
            pd.DataFrame(
                {
                    "principal_type": "USER",
                    "principal": users["user_name"].astype(object),
                    "active": users["active"].astype(bool),
                    "display_name": users["display_name"].astype(object),
                }
            )
        )
    if sps is not None:
        parts.append(
            pd.DataFrame(
                {
                    "principal_type": "SERVICE_PRINCIPAL",
                    "principal": sps["application_id"].astype(object),
                    "active": sps["active"].astype(bool),
                    "display_name": sps["display_name"].astype(object),
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else None


def diff(old: Any, new: Any) -> pd.DataFrame:
    """What changed from `old` to `new` (dicts of tables or snapshot-like objects), one row per
    change. `change_kind` is one of CHANGE_KINDS; unused columns are missing (NA).

    A change on something either snapshot could not read (its `completeness` table) is `unknown`,
    never a leaver, joiner, added or removed membership, admin role or grant: `detail` says which
    change it looked like and which read failed (`scimkit.gaps`)."""
    out: list[pd.DataFrame] = []

    def take(frame: pd.DataFrame, column: str) -> pd.Series:
        return frame[column] if column in frame.columns else pd.Series([None] * len(frame), index=frame.index)

    p_old, p_new = _principals(old), _principals(new)
    if p_old is not None or p_new is not None:
        m = _keyed(p_old, p_new, ["principal_type", "principal"], ["active", "display_name"])
        for kind, mask, side in (
            ("joiner", m["_merge"] == "right_only", "_new"),
            ("leaver", m["_merge"] == "left_only", "_old"),
        ):
            sel = m[mask]
            out.append(
                _rows(
                    kind,
                    {
                        "principal_type": sel["principal_type"],
                        "principal": sel["principal"],
                        "detail": take(sel, "display_name" + side),
                    },
                    len(sel),
                )
            )
        both = m[m["_merge"] == "both"]
        was, now = both["active_old"].astype(bool), both["active_new"].astype(bool)
        for kind, mask in (("deactivated", was & ~now), ("reactivated", ~was & now)):
            sel = both[mask.to_numpy()]
            out.append(
                _rows(
                    kind,
                    {
                        "principal_type": sel["principal_type"],
                        "principal": sel["principal"],
                        "detail": take(sel, "display_name_new"),
                    },
                    len(sel),
                )
            )

    admins_old, admins_new = _table(old, "admin_roles"), _table(new, "admin_roles")
    if admins_old is not None or admins_new is not None:
        key = ["principal_type", "principal_name", "role", "workspace_id"]
        m = _keyed(admins_old, admins_new, key, [])
        for kind, flag in (("admin_added", "right_only"), ("admin_removed", "left_only")):
            sel = m[m["_merge"] == flag]
            ws = sel["workspace_id"].astype("int64")
            detail = np.where(
                ws.to_numpy() == 0,
                sel["role"].astype(str),
                sel["role"].astype(str) + " on workspace " + ws.astype(str),
            )
            out.append(
                _rows(
                    kind,
                    {
                        "principal_type": sel["principal_type"],
                        "principal": sel["principal_name"],
                        "detail": detail,
                    },
                    len(sel),
                )
            )

    mem_old, mem_new = _table(old, "memberships"), _table(new, "memberships")
    if mem_old is not None or mem_new is not None:
        m = _keyed(mem_old, mem_new, ["group_name", "member_type", "member_name"], [])
        for kind, flag in (("membership_added", "right_only"), ("membership_removed", "left_only")):
            sel = m[m["_merge"] == flag]
            out.append(
                _rows(
                    kind,
                    {
                        "principal_type": sel["member_type"],
                        "principal": sel["member_name"],
                        "group_name": sel["group_name"],
                    },
                    len(sel),
                )
            )

    gr_old, gr_new = _table(old, "grants"), _table(new, "grants")
    if gr_old is not None or gr_new is not None:
        key = ["metastore_id", "securable_type", "full_name", "principal", "privilege"]
        m = _keyed(gr_old, gr_new, key, ["principal_type"])
        for kind, flag, side in (
            ("grant_added", "right_only", "_new"),
            ("grant_removed", "left_only", "_old"),
        ):
            sel = m[m["_merge"] == flag]
            out.append(
                _rows(
                    kind,
                    {
                        "principal_type": take(sel, "principal_type" + side),
                        "principal": sel["principal"],
                        "securable_type": sel["securable_type"],
                        "full_name": sel["full_name"],
                        "privilege": sel["privilege"],
                    },
                    len(sel),
                )
            )

    sec_old, sec_new = _table(old, "securables"), _table(new, "securables")
    if sec_old is not None and sec_new is not None:
        m = _keyed(sec_old, sec_new, ["metastore_id", "securable_type", "full_name"], ["owner", "owner_type"])
        both = m[m["_merge"] == "both"]
        before = both["owner_old"].astype(object).where(both["owner_old"].notna(), None)
        after = both["owner_new"].astype(object).where(both["owner_new"].notna(), None)
        changed = (before.fillna("\0") != after.fillna("\0")).to_numpy()
        sel = both[changed]
        detail = (
            before[changed].fillna("(none)").astype(str)
            + " -> "
            + after[changed].fillna("(none)").astype(str)
        )
        out.append(
            _rows(
                "owner_changed",
                {
                    "principal_type": sel["owner_type_new"],
                    "principal": sel["owner_new"],
                    "securable_type": sel["securable_type"],
                    "full_name": sel["full_name"],
                    "detail": detail,
                },
                len(sel),
            )
        )

    result = pd.concat(out, ignore_index=True) if out else _rows("joiner", {}, 0)
    result = _unknown_where_unread(result, old, new)
    order = {k: i for i, k in enumerate(CHANGE_KINDS)}
    result = (
        result.assign(_k=result["change_kind"].map(order))
        .sort_values(
            ["_k", "principal_type", "principal", "securable_type", "full_name", "privilege", "group_name"],
            na_position="first",
            kind="stable",
        )
        .drop(columns="_k")
        .reset_index(drop=True)
    )
    return result.astype(object).where(result.notna(), None)

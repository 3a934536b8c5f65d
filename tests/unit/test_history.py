"""Snapshot storage (Parquet layout, Spark and deltalake backends) and snapshot diff."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from scimkit.access import effective_grants, transitive_memberships
from scimkit.errors import ConflictError, InvalidInput
from scimkit.history import (
    CHANGE_KINDS,
    SparkBackend,
    conform,
    diff,
    empty_table,
    list_snapshot_times,
    load_tables,
    partition_name,
    partition_value,
    save_tables,
    upgrade_layout,
)
from scimkit.schema import TABLES, coerce
from tests.unit.test_access_helpers import (
    SNAPSHOT_TIME,
    admin_roles,
    frame,
    grants,
    groups,
    memberships,
    nest,
    securables,
    service_principals,
    users,
)

LATER = pd.Timestamp("2026-12-06T03:41:00.250Z")


def every_table(when: pd.Timestamp = SNAPSHOT_TIME) -> dict[str, pd.DataFrame]:
    """One frame per schema table, with None in nullable columns, both bools and real datetimes."""
    m = memberships(*nest(Analysts=["alex@company.com", "group:Interns"], Interns=["jaya@company.com"]))
    t = transitive_memberships(m)
    g = grants(
        ("TABLE", "c.s.t", "Analysts", "GROUP", "SELECT"), ("CATALOG", "c", "ghost", "UNKNOWN", "BROWSE")
    )
    tables = {
        "users": users(
            "alex@company.com", "jaya@company.com", inactive=["jaya@company.com"], admins=["alex@company.com"]
        ),
        "service_principals": service_principals("app-1"),
        "groups": groups("Analysts", "Interns"),
        "admin_roles": admin_roles(
            ("USER", "alex@company.com", "account_admin", 0), ("GROUP", "Analysts", "workspace_admin", 42)
        ),
        "memberships": m,
        "transitive_memberships": t,
        "workspaces": frame(
            "workspaces",
            [
                {
                    "workspace_id": 42,
                    "workspace_name": "prod",
                    "deployment_name": None,
                    "metastore_id": "ms-1",
                    "status": "RUNNING",
                }
            ],
        ),
        "workspace_assignments": frame(
            "workspace_assignments",
            [
                {
                    "workspace_id": 42,
                    "principal_type": "GROUP",
                    "principal_name": "Analysts",
                    "principal_id": "g-1",
                    "permission": "USER",
                }
            ],
        ),
        "securables": securables(
            ("CATALOG", "c", "alex@company.com"),
            ("SCHEMA", "c.s"),
            ("TABLE", "c.s.t", "Analysts", "GROUP", "MANAGED"),
        ),
        "grants": g,
        "effective_grants": effective_grants(g, t),
        "completeness": empty_table("completeness"),
    }
    assert set(tables) == set(TABLES)
    return {k: conform(v.assign(snapshot_time=when), k) for k, v in tables.items()}


def test_every_table_round_trips_exactly(tmp_path: Path) -> None:
    tables = every_table()
    save_tables(tables, tmp_path)
    loaded = load_tables(tmp_path)
    assert set(loaded) == set(TABLES)
    for name, df in tables.items():
        pd.testing.assert_frame_equal(loaded[name], df, check_exact=True, obj=name)
    assert loaded["service_principals"]["display_name"].iloc[0] is None
    assert loaded["users"]["active"].tolist() == [True, False]
    assert str(loaded["users"]["snapshot_time"].dtype) == "datetime64[ns, UTC]"


def test_empty_tables_round_trip_with_their_dtypes(tmp_path: Path) -> None:
    tables = {name: empty_table(name) for name in TABLES}
    save_tables(tables, tmp_path, snapshot_time="2026-11-29T03:41:00Z")
    loaded = load_tables(tmp_path, "2026-11-29T03:41:00Z")
    for name in TABLES:
        pd.testing.assert_frame_equal(loaded[name], coerce(name, tables[name]), obj=name)


def test_layout_is_table_then_filesystem_safe_utc_partition(tmp_path: Path) -> None:
    save_tables({"users": users("a@x.com")}, tmp_path)
    assert (tmp_path / "users" / "snapshot_time=2026-11-29T03%3A41%3A00Z" / "part-0.parquet").is_file()
    assert partition_name(pd.Timestamp("2026-11-29T04:41:00+01:00")) == "snapshot_time=2026-11-29T03%3A41%3A00Z"
    assert partition_name(LATER) == "snapshot_time=2026-12-06T03%3A41%3A00.25Z"
    assert partition_value(LATER) == "2026-12-06T03:41:00.25Z"
    assert not any(":" in p.name for p in tmp_path.rglob("*"))  # Windows-safe names
    # The partition column lives in the folder name only, as in any hive layout.
    assert "snapshot_time" not in pq.read_schema(next((tmp_path / "users").rglob("part-0.parquet"))).names


def _two_snapshots(root: Path) -> None:
    save_tables({"users": users("a@x.com"), "groups": groups("G")}, root)
    save_tables({"users": users("a@x.com", "b@x.com").assign(snapshot_time=LATER)}, root)


def test_plain_pandas_reads_a_table_folder_of_the_history(tmp_path: Path) -> None:
    _two_snapshots(tmp_path)
    df = pd.read_parquet(tmp_path / "users")  # no scimkit, no options
    assert len(df) == 3
    times = df["snapshot_time"].astype(str).map(pd.Timestamp)
    assert sorted(times.value_counts().items()) == [(SNAPSHOT_TIME, 1), (LATER, 2)]
    assert sorted(df.loc[times == LATER, "user_name"]) == ["a@x.com", "b@x.com"]
    assert df["active"].dtype == bool


def test_pyarrow_dataset_reads_the_history_with_hive_partitioning(tmp_path: Path) -> None:
    _two_snapshots(tmp_path)
    dataset = ds.dataset(tmp_path / "users", format="parquet", partitioning="hive")
    assert dataset.schema.field("snapshot_time").type == pa.string()
    latest = dataset.to_table(filter=ds.field("snapshot_time") == "2026-12-06T03:41:00.25Z")
    assert sorted(latest.column("user_name").to_pylist()) == ["a@x.com", "b@x.com"]


def test_duckdb_reads_the_history_with_hive_partitioning(tmp_path: Path) -> None:
    import duckdb

    _two_snapshots(tmp_path)
    glob = str(tmp_path / "users" / "*" / "*.parquet")
    rows = duckdb.sql(
        f"SELECT CAST(snapshot_time AS TIMESTAMPTZ) AS t, count(*) AS n FROM read_parquet('{glob}', "
        "hive_partitioning = true) GROUP BY t ORDER BY t"
    ).fetchall()
    assert [(pd.Timestamp(t).tz_convert("UTC"), n) for t, n in rows] == [(SNAPSHOT_TIME, 1), (LATER, 2)]


def test_the_earlier_layout_is_still_read_and_can_be_upgraded(tmp_path: Path) -> None:
    # The earlier layout: dashes in the folder's time, the column repeated inside the file.
    old = tmp_path / "users" / "snapshot_time=2026-11-29T03-41-00Z"
    old.mkdir(parents=True)
    expected = conform(users("a@x.com"), "users")
    expected.to_parquet(old / "part-0.parquet", index=False)
    assert list_snapshot_times(tmp_path) == [SNAPSHOT_TIME]
    pd.testing.assert_frame_equal(load_tables(tmp_path)["users"], expected)
    assert upgrade_layout(tmp_path) == 1
    assert upgrade_layout(tmp_path) == 0
    assert not old.exists()
    pd.testing.assert_frame_equal(load_tables(tmp_path)["users"], expected)
    assert len(pd.read_parquet(tmp_path / "users")) == 1


def test_snapshot_times_are_listed_and_any_can_be_loaded(tmp_path: Path) -> None:
    save_tables({"users": users("a@x.com")}, tmp_path)
    save_tables({"users": users("a@x.com", "b@x.com").assign(snapshot_time=LATER)}, tmp_path)  # cast on save
    assert list_snapshot_times(tmp_path) == [SNAPSHOT_TIME, LATER]
    assert len(load_tables(tmp_path)["users"]) == 2
    assert len(load_tables(tmp_path, "latest")["users"]) == 2
    assert len(load_tables(tmp_path, dt.datetime(2026, 11, 29, 3, 41, tzinfo=dt.timezone.utc))["users"]) == 1
    assert len(load_tables(tmp_path, "2026-11-29T03-41-00Z")["users"]) == 1
    with pytest.raises(InvalidInput, match="No table holds snapshot"):
        load_tables(tmp_path, "2020-01-01")
    with pytest.raises(InvalidInput, match="No snapshot is stored"):
        load_tables(tmp_path / "nowhere")


def test_saving_checks_the_snapshot_time_and_the_columns(tmp_path: Path) -> None:
    mixed = {"users": users("a@x.com"), "groups": groups("G").assign(snapshot_time=LATER)}
    with pytest.raises(InvalidInput, match="snapshot time"):
        save_tables(mixed, tmp_path)
    with pytest.raises(InvalidInput, match="lacks column"):
        save_tables({"users": users("a@x.com").drop(columns="active")}, tmp_path)
    with pytest.raises(InvalidInput, match="non-nullable bool"):
        conform(users("a@x.com").assign(active=None), "users")


def test_tables_outside_the_schema_are_stored_as_they_are(tmp_path: Path) -> None:
    journal = pd.DataFrame(
        {
            "step": ["create", "assign"],
            "attempts": [3, 1],
            "snapshot_time": pd.Series([SNAPSHOT_TIME] * 2, dtype="datetime64[ns, UTC]"),
        }
    )
    save_tables({"journal": journal}, tmp_path)
    loaded = load_tables(tmp_path, tables=["journal"])["journal"]
    pd.testing.assert_frame_equal(loaded.astype({"step": object}), journal.astype({"step": object}))


# -- Spark ---------------------------------------------------------------------------------------


class FakeSpark:
    """Just enough of a SparkSession for SparkBackend, recording every call. Like Spark, toPandas()
    returns naive timestamps in the session time zone."""

    def __init__(self, tz: str = "America/New_York") -> None:
        self.saved: dict[str, pd.DataFrame] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.conf = self
        self.catalog = self
        self.tz = tz

    # spark.conf
    def get(self, key: str, default: str | None = None) -> str | None:
        return self.tz if key == "spark.sql.session.timeZone" else default

    # spark.catalog
    def tableExists(self, name: str) -> bool:  # noqa: N802 - Spark's name
        return name in self.saved

    def listTables(self, db: str) -> list[Any]:  # noqa: N802 - Spark's name
        return [type("T", (), {"name": n.split(".")[-1]})() for n in self.saved if n.startswith(db + ".")]

    def createDataFrame(self, pdf: pd.DataFrame, schema: str | None = None) -> FakeFrame:  # noqa: N802
        self.calls.append(("createDataFrame", tuple(pdf.columns), schema))
        assert all(v is None or not pd.isna(v) for c in pdf.columns if pdf[c].dtype == object for v in pdf[c])
        return FakeFrame(self, pdf.copy())

    def table(self, name: str) -> FakeFrame:
        self.calls.append(("table", name))
        return FakeFrame(self, self.saved[name])


class FakeFrame:
    def __init__(self, spark: FakeSpark, pdf: pd.DataFrame) -> None:
        self.spark, self.pdf, self.options = spark, pdf, {}

    def where(self, condition: str) -> FakeFrame:
        self.spark.calls.append(("where", condition))
        m = re.fullmatch(r"snapshot_time = TIMESTAMP '([^']+)'", condition)
        assert m, condition
        return FakeFrame(self.spark, self.pdf[self.pdf["snapshot_time"] == pd.Timestamp(m.group(1))])

    def select(self, *cols: str) -> FakeFrame:
        return FakeFrame(self.spark, self.pdf[list(cols)])

    def distinct(self) -> FakeFrame:
        return FakeFrame(self.spark, self.pdf.drop_duplicates())

    def limit(self, n: int) -> FakeFrame:
        return FakeFrame(self.spark, self.pdf.head(n))

    def count(self) -> int:
        return len(self.pdf)

    def toPandas(self) -> pd.DataFrame:  # noqa: N802 - Spark's name
        out = self.pdf.copy()
        out["snapshot_time"] = out["snapshot_time"].dt.tz_convert(self.spark.tz).dt.tz_localize(None)
        return out

    @property
    def write(self) -> FakeFrame:
        return self

    def format(self, fmt: str) -> FakeFrame:
        self.options["format"] = fmt
        return self

    def mode(self, mode: str) -> FakeFrame:
        self.options["mode"] = mode
        return self

    def partitionBy(self, *cols: str) -> FakeFrame:  # noqa: N802 - Spark's name
        self.options["partitionBy"] = cols
        return self

    def saveAsTable(self, name: str) -> None:  # noqa: N802 - Spark's name
        self.spark.calls.append(("saveAsTable", name, dict(self.options)))
        old = self.spark.saved.get(name)
        self.spark.saved[name] = self.pdf if old is None else pd.concat([old, self.pdf], ignore_index=True)


def test_spark_backend_writes_partitioned_delta_tables_and_reads_them_back() -> None:
    spark = FakeSpark()
    backend = SparkBackend(spark, "main.scimkit")
    tables = every_table()
    save_tables(tables, backend)
    save_tables({"users": users("a@x.com").assign(snapshot_time=LATER)}, backend)
    saves = [c for c in spark.calls if c[0] == "saveAsTable"]
    assert saves[0] == (
        "saveAsTable",
        "main.scimkit.users",
        {"format": "delta", "mode": "append", "partitionBy": ("snapshot_time",)},
    )
    created = next(c for c in spark.calls if c[0] == "createDataFrame")
    assert created[2].startswith("`snapshot_time` TIMESTAMP, `account_id` STRING, `schema_version` BIGINT")
    assert list_snapshot_times(backend) == [SNAPSHOT_TIME, LATER]
    loaded = load_tables(backend, SNAPSHOT_TIME)
    for name, df in tables.items():
        pd.testing.assert_frame_equal(loaded[name], df, obj=name)
    assert ("where", "snapshot_time = TIMESTAMP '2026-11-29 03:41:00.000000Z'") in spark.calls
    assert len(load_tables(backend)["users"]) == 1  # latest


def test_backend_can_be_passed_by_keyword(tmp_path: Path) -> None:
    spark = FakeSpark()
    save_tables({"users": users("a@x.com")}, None, SNAPSHOT_TIME, backend=SparkBackend(spark, "main.scimkit"))
    assert list(spark.saved) == ["main.scimkit.users"]
    loaded = load_tables(tmp_path, "latest", backend=SparkBackend(spark, "main.scimkit"))
    pd.testing.assert_frame_equal(loaded["users"], users("a@x.com"))
    assert list_snapshot_times(None, backend=SparkBackend(spark, "main.scimkit")) == [SNAPSHOT_TIME]
    assert not (tmp_path / "users").exists()


def test_spark_backend_refuses_to_save_a_snapshot_twice() -> None:
    backend = SparkBackend(FakeSpark(), "main.scimkit")
    save_tables({"users": users("a@x.com")}, backend)
    with pytest.raises(ConflictError, match="already holds snapshot"):
        save_tables({"users": users("a@x.com")}, backend)


def test_deltalake_backend_round_trips(tmp_path: Path) -> None:
    from scimkit.history import DeltaLakeBackend

    backend = DeltaLakeBackend(tmp_path)
    tables = every_table()
    save_tables(tables, backend)
    assert list_snapshot_times(backend) == [SNAPSHOT_TIME]
    loaded = load_tables(backend)
    for name, df in tables.items():
        if len(df):  # Delta keeps no partition for an empty table
            pd.testing.assert_frame_equal(loaded[name], df, obj=name)


# -- diff ----------------------------------------------------------------------------------------


def test_diff_names_every_kind_of_change() -> None:
    old = {
        "users": users(
            "alex@company.com",
            "jaya@company.com",
            "gone@company.com",
            "back@company.com",
            inactive=["back@company.com"],
        ),
        "service_principals": service_principals("app-1"),
        "admin_roles": admin_roles(("USER", "alex@company.com", "account_admin", 0)),
        "memberships": memberships(*nest(Analysts=["alex@company.com", "jaya@company.com"])),
        "grants": grants(
            ("TABLE", "c.s.t", "Analysts", "GROUP", "SELECT"),
            ("CATALOG", "c", "Analysts", "GROUP", "USE_CATALOG"),
        ),
        "securables": securables(
            ("CATALOG", "c", "alex@company.com"), ("TABLE", "c.s.t", "alex@company.com")
        ),
    }
    new = {
        "users": users(
            "alex@company.com",
            "jaya@company.com",
            "back@company.com",
            "new@company.com",
            inactive=["jaya@company.com"],
        ),
        "service_principals": service_principals("app-1", "app-2"),
        "admin_roles": admin_roles(("USER", "jaya@company.com", "workspace_admin", 42)),
        "memberships": memberships(*nest(Analysts=["alex@company.com"], Engineers=["jaya@company.com"])),
        "grants": grants(
            ("TABLE", "c.s.t", "Analysts", "GROUP", "SELECT"),
            ("TABLE", "c.s.t", "Engineers", "GROUP", "MODIFY"),
        ),
        "securables": securables(
            ("CATALOG", "c", "alex@company.com"), ("TABLE", "c.s.t", "Engineers", "GROUP")
        ),
    }
    changes = diff(old, new)
    assert list(changes.columns) == [
        "change_kind",
        "principal_type",
        "principal",
        "securable_type",
        "full_name",
        "privilege",
        "group_name",
        "detail",
    ]
    assert [tuple(r) for r in changes.itertuples(index=False)] == [
        ("joiner", "SERVICE_PRINCIPAL", "app-2", None, None, None, None, None),
        ("joiner", "USER", "new@company.com", None, None, None, None, "New"),
        ("leaver", "USER", "gone@company.com", None, None, None, None, "Gone"),
        ("deactivated", "USER", "jaya@company.com", None, None, None, None, "Jaya"),
        ("reactivated", "USER", "back@company.com", None, None, None, None, "Back"),
        (
            "admin_added",
            "USER",
            "jaya@company.com",
            None,
            None,
            None,
            None,
            "workspace_admin on workspace 42",
        ),
        ("admin_removed", "USER", "alex@company.com", None, None, None, None, "account_admin"),
        ("membership_added", "USER", "jaya@company.com", None, None, None, "Engineers", None),
        ("membership_removed", "USER", "jaya@company.com", None, None, None, "Analysts", None),
        ("grant_added", "GROUP", "Engineers", "TABLE", "c.s.t", "MODIFY", None, None),
        ("grant_removed", "GROUP", "Analysts", "CATALOG", "c", "USE_CATALOG", None, None),
        (
            "owner_changed",
            "GROUP",
            "Engineers",
            "TABLE",
            "c.s.t",
            None,
            None,
            "alex@company.com -> Engineers",
        ),
    ]
    assert set(changes["change_kind"]) == set(CHANGE_KINDS) - {"unknown"}  # complete snapshots: nothing unknown


def test_diff_of_identical_snapshots_is_empty_and_accepts_snapshot_objects() -> None:
    tables = every_table()
    snap = type("Snap", (), tables)()
    assert diff(snap, tables).empty
    assert diff({}, {}).empty


def test_diff_calls_a_change_a_failed_read_explains_unknown_and_keeps_the_rest() -> None:
    def completeness(*rows: tuple[str, str, str]) -> pd.DataFrame:
        return pd.DataFrame([dict(object_type=t, object_name=n, operation=o, error="HTTP 500") for t, n, o in rows])

    old = {
        "memberships": memberships(*nest(Analysts=["alex@company.com"], Engineers=["jaya@company.com"])),
        "grants": grants(("TABLE", "c.s.t", "Analysts", "GROUP", "SELECT"),
                         ("TABLE", "c.s.u", "Analysts", "GROUP", "SELECT")),
    }
    new = {  # Engineers' members and the grants on c.s.t were not read; Analysts really lost alex and c.s.u
        "memberships": memberships(*nest(Analysts=["jaya@company.com"])),
        "grants": grants(("TABLE", "c.s.v", "Analysts", "GROUP", "SELECT")),
        "completeness": completeness(("group", "Engineers", "a.groups.get"), ("grants", "TABLE c.s.t", "w.grants.get")),
    }
    changes = diff(old, new)
    rows = {(k, p, g or f) for k, p, g, f in changes[["change_kind", "principal", "group_name", "full_name"]].itertuples(
        index=False)}
    assert rows == {
        ("unknown", "jaya@company.com", "Engineers"), ("unknown", "Analysts", "c.s.t"),
        ("membership_added", "jaya@company.com", "Analysts"), ("membership_removed", "alex@company.com", "Analysts"),
        ("grant_added", "Analysts", "c.s.v"), ("grant_removed", "Analysts", "c.s.u"),
    }
    unknown = changes[changes["change_kind"] == "unknown"].set_index("principal")["detail"]
    assert unknown["jaya@company.com"].startswith("looked like membership_removed, but the members of group "
                                                  "Engineers were not read (a.groups.get: HTTP 500)")
    assert unknown["Analysts"].startswith("looked like grant_removed, but the grants on TABLE c.s.t were not read")
    assert set(diff(new, old)["change_kind"]) >= {"unknown"}  # either side's gaps count

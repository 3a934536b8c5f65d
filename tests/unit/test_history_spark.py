"""SparkBackend against a real local PySpark session (a JVM on this machine, no cluster).

What a Databricks job runs: createDataFrame with the schema's Spark types, an append partitioned by
`snapshot_time` through saveAsTable, the catalog's tableExists / listTables, the TIMESTAMP literal
in the partition filter, and toPandas in a session time zone that is not UTC. The tables are plain
Parquet data-source tables here, not Delta: the Delta data source for Spark is a set of jars that
Spark fetches from Maven, which this project's machines cannot reach. The Delta format itself is
exercised by the `deltalake` round trip in test_history.py.

One session for the whole module (starting a JVM takes seconds): keep the number of Spark jobs
small, the machine is shared.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from scimkit.errors import ConflictError
from scimkit.history import SparkBackend, list_snapshot_times, load_tables, save_tables
from tests.unit.test_access_helpers import SNAPSHOT_TIME, users
from tests.unit.test_history import LATER, every_table

SCHEMA = "scimkit_test"
SESSION_TZ = "America/New_York"  # toPandas() hands back naive times in this zone
ROUND_TRIP = ("users", "service_principals", "grants", "memberships", "securables", "workspaces")


def _java_or_fail() -> None:
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return
    pytest.fail("PySpark needs Java: install it (apt-get install -y default-jre-headless; .ci/run does) "
                "or set JAVA_HOME")


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _java_or_fail()
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("scimkit-tests")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", SESSION_TZ)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sql(f"CREATE DATABASE IF NOT EXISTS {SCHEMA}")
    yield session
    session.stop()


def test_spark_backend_round_trips_snapshots_through_a_real_session(spark: Any) -> None:
    backend = SparkBackend(spark, SCHEMA, table_format="parquet")
    first = {name: df for name, df in every_table().items() if name in ROUND_TRIP}
    later_users = users("alex@company.com", "new@company.com").assign(snapshot_time=LATER)
    assert save_tables(first, backend) == Path(SCHEMA)
    save_tables({"users": later_users}, backend)

    assert backend.tables() == sorted(ROUND_TRIP)
    assert list_snapshot_times(backend) == [SNAPSHOT_TIME, LATER]  # UTC, though the session is not

    loaded = load_tables(backend, SNAPSHOT_TIME)
    assert set(loaded) == set(ROUND_TRIP)
    for name, df in first.items():
        pd.testing.assert_frame_equal(loaded[name], df, obj=name)
    assert loaded["users"]["active"].tolist() == [True, False]
    assert loaded["service_principals"]["display_name"].iloc[0] is None

    latest = load_tables(backend, tables=["users"])["users"]  # the newest time, read back from Spark
    assert latest["user_name"].tolist() == ["alex@company.com", "new@company.com"]
    assert latest["snapshot_time"].unique().tolist() == [LATER]

    with pytest.raises(ConflictError, match="already holds snapshot"):
        save_tables({"users": later_users}, backend)
    rows = spark.table(f"{SCHEMA}.users").count()
    assert rows == 4  # 2 + 2: the refused save appended nothing


def test_notebook_journal_and_report_tables_go_to_a_catalog_schema(spark: Any) -> None:
    """What the notebooks' output_schema does on Databricks: journal records appended as rows of
    catalog.schema.plan_journal and read back in order (the resume of an apply reads them)."""
    from scimkit import notebook
    from scimkit.errors import ConfigurationError
    from scimkit.plans import TableJournal

    with pytest.raises(ConfigurationError, match="is not catalog.schema"):
        notebook.schema_backend("scimkit_test", spark=spark)
    assert notebook.schema_backend("", spark=spark) is None
    backend = notebook.schema_backend(f"spark_catalog.{SCHEMA}", spark=spark, table_format="parquet")
    journal = TableJournal(backend)
    journal.append({"plan_id": "p1", "change_id": "create_user|a", "phase": "before", "kind": "create_user",
                    "target": "a@company.com", "state_before": {"exists": False}, "change": {"kind": "create_user"}})
    journal.append({"plan_id": "p1", "change_id": "create_user|a", "phase": "after", "outcome": "applied",
                    "kind": "create_user", "target": "a@company.com", "state_before": {"exists": False}})
    records = TableJournal(notebook.schema_backend(f"spark_catalog.{SCHEMA}", spark=spark,
                                                   table_format="parquet")).records()
    assert [(r["phase"], r["outcome"]) for r in records] == [("before", None), ("after", "applied")]
    assert records[0]["state_before"] == {"exists": False}
    assert spark.table(f"spark_catalog.{SCHEMA}.plan_journal").count() == 2

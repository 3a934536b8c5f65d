"""Snapshots of the sample account: every table's columns and keys, the round trip, the diff after
scripted changes, and the seed example (granted, not usable)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from scimkit import identities as ids
from scimkit.access import Access
from scimkit.catalog import grant
from scimkit.connect import Account
from scimkit.schema import TABLES
from scimkit.snapshot import Snapshot, diff, snapshot

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"






@pytest.fixture
def snap(account: Account) -> Snapshot:
    return snapshot(account, progress=False)


def seed(name: str):  # noqa: ANN201
    return json.loads((SAMPLE / f"{name}.json").read_text())


def test_every_table_has_the_schema_columns_dtypes_and_unique_keys(snap: Snapshot) -> None:
    tables = snap.tables()
    assert set(tables) == set(TABLES)
    for name, spec in TABLES.items():
        frame = tables[name]
        assert list(frame.columns) == spec.column_names, name
        for column, dtype in spec.dtypes.items():
            expected = "object" if dtype == "string" else dtype
            assert str(frame[column].dtype) == expected, (name, column, frame[column].dtype)
        if len(frame):
            assert not frame.duplicated(list(spec.key)).any(), f"{name} has duplicate keys"
            assert frame["snapshot_time"].nunique() == 1 and frame["account_id"].iloc[0] == snap.account_id
            for column in spec.columns:
                if not column.nullable:
                    assert frame[column.name].notna().all(), (name, column.name)
    assert snap.is_complete


def test_tables_match_the_seed(snap: Snapshot) -> None:
    assert len(snap.users) == len(seed("users"))
    assert len(snap.groups) == len(seed("groups"))
    assert len(snap.memberships) == sum(len(g.get("members", [])) for g in seed("groups"))
    uc = seed("unity_catalog")
    counts = snap.securables["securable_type"].value_counts()
    for key, kind in (("catalogs", "CATALOG"), ("schemas", "SCHEMA"), ("tables", "TABLE"), ("volumes", "VOLUME"),
                      ("functions", "FUNCTION"), ("external_locations", "EXTERNAL_LOCATION"),
                      ("storage_credentials", "STORAGE_CREDENTIAL")):
        assert counts[kind] == len(uc[key]), kind
    assert counts["METASTORE"] == 1
    assert len(snap.grants) == sum(len(g["privileges"]) for g in seed("grants"))
    missing = snap.grants[snap.grants["principal_type"] == "UNKNOWN"]["principal"]
    assert set(missing) == {"old.contractor@company.com", "BI.Legacy"}
    admins = snap.admin_roles[snap.admin_roles["role"] == "account_admin"]
    assert set(admins["principal_name"]) >= {"ana.dahl@company.com", "hana.bergstrom@company.com"}


def test_transitive_memberships_follow_nesting(snap: Snapshot) -> None:
    chain = snap.transitive_memberships.set_index(["group_name", "member_type", "member_name"])
    jaya = chain.loc[("Employees", "USER", "jaya@company.com")]
    assert jaya["depth"] == 3 and jaya["via"] == "Marketing.Analytics > Marketing > Employees"


def test_round_trip_is_unchanged(snap: Snapshot, tmp_path: Path) -> None:
    snap.save(tmp_path / "snapshots")
    loaded = Snapshot.load(tmp_path / "snapshots")
    assert loaded.snapshot_time == snap.snapshot_time
    for name, frame in snap.tables().items():
        pd.testing.assert_frame_equal(getattr(loaded, name), frame, check_like=False, obj=name)


def test_seed_example_granted_but_not_usable(account: Account) -> None:
    ids.add_members(account, "Analysts.NonProd", ["alex@company.com", "jaya@company.com"])
    access = Access(snapshot(account, progress=False))
    for user in ("alex@company.com", "jaya@company.com"):
        why = access.why(user, "SELECT", "TABLE", "datalake.finance.transactions")
        assert len(why) == 1
        assert why.iloc[0]["granted_to"] == "Analysts.NonProd" and why.iloc[0]["via"] == "Analysts.NonProd"
        usable = access.usable(user)
        row = usable[(usable["full_name"] == "datalake.finance.transactions") & (usable["privilege"] == "SELECT")]
        assert len(row) == 1 and not row.iloc[0]["usable"]
        assert row.iloc[0]["missing"] == "USE CATALOG on datalake; USE SCHEMA on datalake.finance"


def test_diff_after_scripted_changes(account: Account) -> None:
    before = snapshot(account, progress=False)
    ids.ensure_user(account, "new.joiner@company.com", "New Joiner")
    ids.add_members(account, "Analysts.NonProd", ["new.joiner@company.com"])
    ids.deactivate_user(account, "alex@company.com")
    grant(account, "CATALOG", "datalake", "Analysts.NonProd", ["USE CATALOG"])
    after = snapshot(account, progress=False, snapshot_time=before.snapshot_time + pd.Timedelta(minutes=1))
    changes = diff(before, after)
    kinds = set(zip(changes["change_kind"], changes["principal"], strict=True))
    assert ("joiner", "new.joiner@company.com") in kinds
    assert ("deactivated", "alex@company.com") in kinds
    assert ("membership_added", "new.joiner@company.com") in kinds
    added = changes[changes["change_kind"] == "grant_added"]
    assert list(zip(added["principal"], added["full_name"], added["privilege"], strict=True)) == [
        ("Analysts.NonProd", "datalake", "USE_CATALOG")]
    assert not (changes["change_kind"] == "leaver").any()


def test_cli_snapshot_writes_every_table(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "scimkit", "snapshot", "--emulator", "--no-progress",
                           "--rate-scale", "20", "--out", str(tmp_path / "snaps")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "written under" in done.stdout
    loaded = Snapshot.load(tmp_path / "snaps")
    assert len(loaded.users) == len(seed("users")) and loaded.is_complete
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == sorted(TABLES)

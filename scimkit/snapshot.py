"""Account -> a `Snapshot` of pandas DataFrames, one row per fact, in the documented schema
(`scimkit/schema.py`, `docs/snapshot-schema.md`). Read once, reuse for every report.

    snap = snapshot(connect(emulator=True))
    snap.effective_grants.query("principal == 'alex@company.com'")
    snap.save("out/snapshots");  Snapshot.load("out/snapshots")
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import access, history
from .catalog import CatalogRead, read_catalog
from .connect import Account
from .errors import InvalidInput
from .identities import IdentityRead, read_identities, read_workspaces
from .schema import (
    ACCOUNT_USERS,
    ACCOUNT_USERS_NAME,
    GROUP,
    SCHEMA_VERSION,
    SERVICE_PRINCIPAL,
    TABLES,
    UNKNOWN,
    USER,
    coerce,
    to_frame,
)


@dataclass
class Snapshot:
    """One reading of an account. Every attribute but the first two is a DataFrame named like its table."""

    snapshot_time: pd.Timestamp
    account_id: str
    users: pd.DataFrame
    service_principals: pd.DataFrame
    groups: pd.DataFrame
    admin_roles: pd.DataFrame
    memberships: pd.DataFrame
    transitive_memberships: pd.DataFrame
    workspaces: pd.DataFrame
    workspace_assignments: pd.DataFrame
    securables: pd.DataFrame
    grants: pd.DataFrame
    effective_grants: pd.DataFrame
    completeness: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in TABLES}

    @property
    def is_complete(self) -> bool:
        return self.completeness.empty

    def summary(self) -> pd.DataFrame:
        """Row counts per table."""
        return pd.DataFrame({"table": list(self.tables()), "rows": [len(t) for t in self.tables().values()]})

    def save(self, root: str | Path, backend: Any = None) -> Path:
        """Write every table under `ROOT/<table>/snapshot_time=.../` (Parquet, or a backend's format)."""
        return history.save_tables(self.tables(), root, self.snapshot_time, backend=backend)

    @classmethod
    def load(cls, root: str | Path, snapshot_time: Any = "latest", backend: Any = None) -> Snapshot:
        tables = history.load_tables(root, snapshot_time, backend=backend)
        when = None if isinstance(snapshot_time, str) and snapshot_time.lower() == "latest" else snapshot_time
        return cls.from_tables(tables, snapshot_time=when)

    @classmethod
    def from_tables(cls, tables: dict[str, pd.DataFrame], snapshot_time: Any = None,
                    account_id: str | None = None) -> Snapshot:
        """A Snapshot from its tables. The time and account come from the first table with rows (a
        failed reading may have rows only in `completeness`), else from the arguments."""
        missing = [name for name in TABLES if name not in tables]
        if missing:
            raise InvalidInput(f"The snapshot lacks the table(s) {', '.join(missing)}.", field="tables",
                               fix="save every table of scimkit.schema.TABLES (Snapshot.save does)")
        filled = next((tables[name] for name in TABLES if len(tables[name])), None)
        if filled is not None:
            snapshot_time, account_id = filled["snapshot_time"].iloc[0], filled["account_id"].iloc[0]
        if snapshot_time is None or account_id is None:
            raise InvalidInput("The snapshot holds no rows, so its time and account are unknown.", field="tables",
                               fix="pass snapshot_time= and account_id=")
        return cls(snapshot_time=history._utc(snapshot_time), account_id=str(account_id),
                   **{name: tables[name] for name in TABLES})


def snapshot(account: Account, workers: int = 8, progress: bool = True,
             snapshot_time: pd.Timestamp | None = None) -> Snapshot:
    """Read the whole account once and build every table. Identities and Unity Catalog are read at
    the same time: they are separate rate-limit classes, so neither waits for the other (only the
    workspace list, which tells where the catalogs are, comes first)."""
    stamp = snapshot_time or pd.Timestamp.now(tz="UTC").floor("s")
    workspaces = read_workspaces(account)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scimkit-identities") as pool:
        identity_read = pool.submit(read_identities, account, workers, progress, workspaces)
        catalog = read_catalog(account, workers=workers, progress=progress,
                               workspace_ids=[w.workspace_id for w in workspaces[0]])
        identity = identity_read.result()
    return build_snapshot(identity, catalog, account.account_id, stamp)


def principal_types(identity: IdentityRead) -> dict[str, str]:
    """Unity Catalog principal name -> USER / GROUP / SERVICE_PRINCIPAL (names are case-insensitive)."""
    types = {u.user_name.lower(): USER for u in identity.users}
    types.update({s.application_id.lower(): SERVICE_PRINCIPAL for s in identity.service_principals})
    types.update({g.group_name.lower(): GROUP for g in identity.groups})
    types[ACCOUNT_USERS_NAME] = ACCOUNT_USERS
    return types


def build_snapshot(identity: IdentityRead, catalog: CatalogRead, account_id: str,
                   snapshot_time: pd.Timestamp) -> Snapshot:
    """Typed records -> DataFrames. Pure: no API calls."""
    def frame(table: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
        return to_frame(table, rows, snapshot_time, account_id)

    member_counts = {g.group_id: len(g.members) for g in identity.groups}
    types = principal_types(identity)

    users = frame("users", [dict(user_name=u.user_name, user_id=u.user_id, display_name=u.display_name,
                                 active=u.active, external_id=u.external_id, is_account_admin=u.is_account_admin)
                            for u in identity.users])
    sps = frame("service_principals", [dict(application_id=s.application_id, sp_id=s.sp_id,
                                            display_name=s.display_name, active=s.active,
                                            external_id=s.external_id, is_account_admin=s.is_account_admin)
                                       for s in identity.service_principals])
    groups = frame("groups", [dict(group_name=g.group_name, group_id=g.group_id, external_id=g.external_id,
                                   direct_member_count=member_counts[g.group_id]) for g in identity.groups])
    memberships = _memberships(identity, snapshot_time, account_id)
    transitive = _stamp("transitive_memberships",
                        access.transitive_memberships(memberships, categorical=True), snapshot_time, account_id)

    admin_rows = [dict(principal_type=USER, principal_name=u.user_name, role="account_admin", workspace_id=0)
                  for u in identity.users if u.is_account_admin]
    admin_rows += [dict(principal_type=SERVICE_PRINCIPAL, principal_name=s.application_id, role="account_admin",
                        workspace_id=0) for s in identity.service_principals if s.is_account_admin]
    admin_rows += [dict(principal_type=x.principal_type, principal_name=x.principal_name, role="workspace_admin",
                        workspace_id=x.workspace_id) for x in identity.assignments if "ADMIN" in x.permissions]
    admin_roles = frame("admin_roles", admin_rows)

    metastore_of = catalog.workspace_metastores
    workspaces = frame("workspaces", [dict(workspace_id=w.workspace_id, workspace_name=w.workspace_name,
                                           deployment_name=w.deployment_name,
                                           metastore_id=metastore_of.get(w.workspace_id), status=w.status)
                                      for w in identity.workspaces])
    assignments = frame("workspace_assignments", [
        dict(workspace_id=x.workspace_id, principal_type=x.principal_type, principal_name=x.principal_name,
             principal_id=x.principal_id, permission="ADMIN" if "ADMIN" in x.permissions else "USER")
        for x in identity.assignments if x.permissions])

    securables = frame("securables", [
        dict(metastore_id=s.metastore_id, securable_type=s.securable_type, full_name=s.full_name,
             parent_full_name=s.parent_full_name, catalog_name=s.catalog_name, schema_name=s.schema_name,
             owner=s.owner, owner_type=types.get((s.owner or "").lower(), UNKNOWN), kind=s.kind)
        for s in catalog.securables])
    grants = frame("grants", [
        dict(metastore_id=g.metastore_id, securable_type=g.securable_type, full_name=g.full_name,
             principal=g.principal, principal_type=types.get(g.principal.lower(), UNKNOWN), privilege=g.privilege)
        for g in catalog.grants])
    effective = _stamp("effective_grants",
                       access.effective_grants(grants, transitive, users, sps, categorical=True),
                       snapshot_time, account_id)
    completeness = frame("completeness", [dict(object_type=f.object_type, object_name=f.object_name,
                                               operation=f.operation, error=f.error)
                                          for f in identity.failures + catalog.failures])
    return Snapshot(snapshot_time=pd.Timestamp(snapshot_time), account_id=account_id, users=users,
                    service_principals=sps, groups=groups, admin_roles=admin_roles, memberships=memberships,
                    transitive_memberships=transitive, workspaces=workspaces, workspace_assignments=assignments,
                    securables=securables, grants=grants, effective_grants=effective, completeness=completeness)


def _memberships(identity: IdentityRead, snapshot_time: pd.Timestamp, account_id: str) -> pd.DataFrame:
    """The memberships table, column by column: member ids resolved to (type, natural key) by one
    index look-up, not a dict look-up per member."""
    ids = pd.Index([u.user_id for u in identity.users] + [s.sp_id for s in identity.service_principals]
                   + [g.group_id for g in identity.groups])
    known_type = np.array([USER] * len(identity.users) + [SERVICE_PRINCIPAL] * len(identity.service_principals)
                          + [GROUP] * len(identity.groups), dtype=object)
    known_name = np.array([u.user_name for u in identity.users]
                          + [s.application_id for s in identity.service_principals]
                          + [g.group_name for g in identity.groups], dtype=object)
    counts = np.array([len(g.members) for g in identity.groups], dtype=np.int64)
    group = np.repeat(np.arange(len(identity.groups)), counts)
    refs = [m for g in identity.groups for m in g.members]
    member_id = np.array([m.member_id for m in refs], dtype=object)
    # A member the listings did not return keeps what the group said of it (its type, display name or id).
    said_type = np.array([m.member_type or UNKNOWN for m in refs], dtype=object)
    said_name = np.array([m.display or m.member_id for m in refs], dtype=object)
    del refs
    at = ids.get_indexer(member_id) if not ids.has_duplicates else _last_position(ids, member_id)
    found = at >= 0
    group_names = np.array([g.group_name for g in identity.groups], dtype=object)
    group_ids = np.array([g.group_id for g in identity.groups], dtype=object)
    def text(values: np.ndarray) -> pd.Series:  # object, not the string dtype pandas 3 would infer
        return pd.Series(values, dtype=object)

    data = {
        "snapshot_time": pd.Series(pd.Timestamp(snapshot_time), index=pd.RangeIndex(len(group)),
                                   dtype="datetime64[ns, UTC]"),
        "account_id": text(access.constant_objects(len(group), account_id)),
        "schema_version": np.full(len(group), SCHEMA_VERSION, dtype=np.int64),
        "group_name": text(group_names[group]),
        "member_type": text(np.where(found, known_type[at], said_type)),
        "member_name": text(np.where(found, known_name[at], said_name)),
        "group_id": text(group_ids[group]),
        "member_id": text(member_id),
    }
    return coerce("memberships", pd.DataFrame(data, index=pd.RangeIndex(len(group))))


def _last_position(ids: pd.Index, wanted: np.ndarray) -> np.ndarray:
    """Position of each wanted id in `ids` (the last when an id repeats, as a dict built in order has it)."""
    last = pd.Series(np.arange(len(ids)), index=ids).groupby(level=0).last()
    return np.asarray(pd.Series(wanted, dtype=object).map(last).fillna(-1), dtype=np.int64)


def _stamp(table: str, computed: pd.DataFrame, snapshot_time: pd.Timestamp, account_id: str) -> pd.DataFrame:
    """A computed table with the common columns set and the schema's column order and dtypes. The
    frame is fresh (built for this snapshot), so its columns are set in place, not copied."""
    n = len(computed)
    when = pd.Timestamp(snapshot_time)
    stamped = (n and {"snapshot_time", "account_id", "schema_version"} <= set(computed.columns)
               and when.tzinfo is not None and str(computed["snapshot_time"].dtype) == "datetime64[ns, UTC]"
               and computed["snapshot_time"].iloc[0] == when and computed["account_id"].iloc[0] == account_id
               and computed["schema_version"].iloc[0] == SCHEMA_VERSION)
    if not stamped:  # (access._frame stamps one constant per column, from the first row of its input)
        computed["snapshot_time"] = pd.Series(when, index=computed.index, dtype="datetime64[ns, UTC]")
        computed["account_id"] = pd.Series(access.constant_objects(n, account_id), index=computed.index,
                                           dtype=object)
        computed["schema_version"] = np.full(n, SCHEMA_VERSION, dtype=np.int64)
    return coerce(table, computed)


def diff(old: Snapshot, new: Snapshot) -> pd.DataFrame:
    """What changed between two snapshots, one row per change with a `change_kind` column."""
    return history.diff(old.tables(), new.tables())

"""A synthetic account as snapshot-shaped DataFrames (scimkit.schema), for access benchmarks.

Defaults: 10,000 users, 50 service principals, 5,000 groups nested 10 levels deep (every group
below the top has a parent one level up, one in ten a second parent: diamonds), group sizes
heavy-tailed up to 5,000 direct members, 20,000 securables (1 metastore, 20 catalogs, 400 schemas,
tables, views, volumes, functions, external locations), 50,000 grants of which a fifth sit on
catalogs and schemas, and `account users` granted USE CATALOG, USE SCHEMA and SELECT on one catalog.
Fixed seed; generated with numpy, no per-row Python loops.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scimkit.history import conform

SNAPSHOT_TIME = pd.Timestamp("2026-11-29T03:41:00Z")
ACCOUNT_ID = "bench-account"
METASTORE_ID = "bench-metastore"


def _names(prefix: str, n: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)).astype(object)


def _table(name: str, data: dict[str, object]) -> pd.DataFrame:
    n = len(next(iter(data.values())))  # type: ignore[arg-type]
    common = {
        "snapshot_time": pd.Series(SNAPSHOT_TIME, index=pd.RangeIndex(n)),
        "account_id": np.full(n, ACCOUNT_ID, dtype=object),
        "schema_version": np.ones(n, dtype=np.int64),
    }
    return conform(pd.DataFrame({**common, **data}), name)


def _pick(rng: np.random.Generator, options: list[str], weights: list[float], n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p / p.sum())]


def synthetic_account(
    users: int = 10_000,
    service_principals: int = 50,
    groups: int = 5_000,
    levels: int = 10,
    max_members: int = 5_000,
    securables: int = 20_000,
    catalogs: int = 20,
    schemas_per_catalog: int = 20,
    grants: int = 50_000,
    seed: int = 20261129,
) -> dict[str, pd.DataFrame]:
    """The tables users, service_principals, groups, memberships, securables and grants."""
    rng = np.random.default_rng(seed)

    # -- principals
    user_names = np.char.add(_names("user", users, 5).astype(str), "@bench.example").astype(object)
    active = rng.random(users) > 0.02
    sp_names = _names("app-", service_principals, 8)
    group_names = _names("group.", groups, 4)
    users_df = _table(
        "users",
        {
            "user_name": user_names,
            "user_id": _names("u", users, 8),
            "display_name": _names("User ", users, 5),
            "active": active,
            "external_id": np.full(users, None, dtype=object),
            "is_account_admin": np.arange(users) < 3,
        },
    )
    sps_df = _table(
        "service_principals",
        {
            "application_id": sp_names,
            "sp_id": _names("s", service_principals, 8),
            "display_name": sp_names,
            "active": np.ones(service_principals, bool),
            "external_id": np.full(service_principals, None, dtype=object),
            "is_account_admin": np.zeros(service_principals, bool),
        },
    )

    # -- nesting: level of each group, a parent one level up, a second parent for one in ten
    level = np.sort(rng.integers(0, levels, groups))
    level[:levels] = np.arange(levels)  # every level is populated
    level = np.sort(level)
    starts = np.searchsorted(level, np.arange(levels))
    ends = np.searchsorted(level, np.arange(levels), side="right")
    child = np.flatnonzero(level > 0)
    lo, hi = starts[level[child] - 1], ends[level[child] - 1]
    parent = lo + (rng.random(len(child)) * (hi - lo)).astype(np.int64)
    second = child[rng.random(len(child)) < 0.10]
    lo2, hi2 = starts[level[second] - 1], ends[level[second] - 1]
    parent2 = lo2 + (rng.random(len(second)) * (hi2 - lo2)).astype(np.int64)
    nest = pd.DataFrame({"g": np.concatenate([parent, parent2]), "m": np.concatenate([child, second])})
    nest = nest.drop_duplicates()

    # -- users in groups: heavy-tailed sizes, three groups at the maximum
    sizes = np.clip(np.rint(rng.lognormal(2.5, 1.2, groups)), 1, max_members).astype(np.int64)
    sizes[rng.choice(groups, 3, replace=False)] = max_members
    g_of = np.repeat(np.arange(groups), sizes)
    u_of = rng.integers(0, users, len(g_of))
    members = pd.DataFrame({"g": g_of, "m": u_of}).drop_duplicates()
    sp_members = pd.DataFrame(
        {
            "g": rng.integers(0, groups, service_principals * 2),
            "m": rng.integers(0, service_principals, service_principals * 2),
        }
    ).drop_duplicates()
    member_type = np.concatenate(
        [
            np.full(len(members), "USER", dtype=object),
            np.full(len(sp_members), "SERVICE_PRINCIPAL", dtype=object),
            np.full(len(nest), "GROUP", dtype=object),
        ]
    )
    member_name = np.concatenate(
        [user_names[members["m"]], sp_names[sp_members["m"]], group_names[nest["m"]]]
    )
    member_group = np.concatenate([members["g"], sp_members["g"], nest["g"]])
    memberships_df = _table(
        "memberships",
        {
            "group_name": group_names[member_group],
            "member_type": member_type,
            "member_name": member_name,
            "group_id": _names("g", groups, 8)[member_group],
            "member_id": np.char.add("id-", member_name.astype(str)),
        },
    )
    counts = np.bincount(member_group, minlength=groups)
    groups_df = _table(
        "groups",
        {
            "group_name": group_names,
            "group_id": _names("g", groups, 8),
            "external_id": np.where(rng.random(groups) < 0.4, group_names, None),
            "direct_member_count": counts.astype(np.int64),
        },
    )

    # -- securables: metastore, catalogs, schemas, objects, external locations and credentials
    cat_names = _names("cat", catalogs, 2)
    n_schemas = catalogs * schemas_per_catalog
    schema_cat = np.repeat(np.arange(catalogs), schemas_per_catalog)
    schema_names = np.char.add(
        np.char.add(cat_names[schema_cat].astype(str), ".schema"),
        np.char.zfill((np.arange(n_schemas) % schemas_per_catalog).astype(str), 2),
    ).astype(object)
    n_ext = 60
    n_objects = securables - 1 - catalogs - n_schemas - n_ext
    obj_schema = rng.integers(0, n_schemas, n_objects)
    obj_type = _pick(rng, ["TABLE", "VOLUME", "FUNCTION"], [0.80, 0.12, 0.08], n_objects)
    obj_kind = np.where(
        obj_type == "TABLE",
        _pick(rng, ["MANAGED", "EXTERNAL", "VIEW"], [0.6, 0.25, 0.15], n_objects),
        np.where(obj_type == "VOLUME", "MANAGED", None),
    ).astype(object)
    obj_names = np.char.add(
        np.char.add(schema_names[obj_schema].astype(str), ".obj"),
        np.char.zfill(np.arange(n_objects).astype(str), 5),
    ).astype(object)
    ext_type = np.where(np.arange(n_ext) < n_ext // 2, "EXTERNAL_LOCATION", "STORAGE_CREDENTIAL").astype(
        object
    )
    ext_names = _names("ext-", n_ext, 3)
    sec_type = np.concatenate(
        [
            ["METASTORE"],
            np.full(catalogs, "CATALOG", object),
            np.full(n_schemas, "SCHEMA", object),
            obj_type,
            ext_type,
        ]
    ).astype(object)
    full = np.concatenate([[METASTORE_ID], cat_names, schema_names, obj_names, ext_names]).astype(object)
    parent_name = np.concatenate(
        [
            [None],
            np.full(catalogs, None, object),
            cat_names[schema_cat],
            schema_names[obj_schema],
            np.full(n_ext, None, object),
        ]
    ).astype(object)
    catalog_name = np.concatenate(
        [
            [None],
            cat_names,
            cat_names[schema_cat],
            cat_names[schema_cat[obj_schema]],
            np.full(n_ext, None, object),
        ]
    ).astype(object)
    schema_part = np.concatenate(
        [
            [None],
            np.full(catalogs + n_schemas, None, object),
            np.char.partition(schema_names[obj_schema].astype(str), ".")[:, 2].astype(object),
            np.full(n_ext, None, object),
        ]
    ).astype(object)
    n_sec = len(full)
    owner_is_group = rng.random(n_sec) < 0.5
    owner = np.where(
        owner_is_group, group_names[rng.integers(0, groups, n_sec)], user_names[rng.integers(0, users, n_sec)]
    ).astype(object)
    securables_df = _table(
        "securables",
        {
            "metastore_id": np.full(n_sec, METASTORE_ID, object),
            "securable_type": sec_type,
            "full_name": full,
            "parent_full_name": parent_name,
            "catalog_name": catalog_name,
            "schema_name": schema_part,
            "owner": owner,
            "owner_type": np.where(owner_is_group, "GROUP", "USER").astype(object),
            "kind": np.concatenate(
                [
                    [None],
                    np.full(catalogs, "MANAGED_CATALOG", object),
                    np.full(n_schemas, None, object),
                    obj_kind,
                    np.full(n_ext, None, object),
                ]
            ).astype(object),
        },
    )

    # -- grants: a fifth on catalogs and schemas, the rest on objects; mostly to groups
    draw = int(grants * 1.15)
    on_container = rng.random(draw) < 0.20
    on_catalog = on_container & (rng.random(draw) < 0.2)
    target = np.where(
        on_catalog,
        1 + rng.integers(0, catalogs, draw),
        np.where(
            on_container,
            1 + catalogs + rng.integers(0, n_schemas, draw),
            1 + catalogs + n_schemas + rng.integers(0, n_objects, draw),
        ),
    )
    t_type = sec_type[target]
    privilege = np.empty(draw, dtype=object)
    for stype, options, weights in (
        (
            "CATALOG",
            ["USE_CATALOG", "USE_SCHEMA", "SELECT", "BROWSE", "ALL_PRIVILEGES", "CREATE_SCHEMA"],
            [50, 15, 15, 10, 5, 5],
        ),
        (
            "SCHEMA",
            ["USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE", "ALL_PRIVILEGES", "EXECUTE", "READ_VOLUME"],
            [45, 25, 5, 10, 5, 5, 5],
        ),
        ("TABLE", ["SELECT", "MODIFY", "ALL_PRIVILEGES"], [70, 20, 10]),
        ("VOLUME", ["READ_VOLUME", "WRITE_VOLUME"], [70, 30]),
        ("FUNCTION", ["EXECUTE"], [1]),
    ):  # a loop over five securable types, not over grants
        mask = t_type == stype
        privilege[mask] = _pick(rng, options, weights, int(mask.sum()))
    kind = rng.random(draw)
    p_type = np.where(kind < 0.85, "GROUP", np.where(kind < 0.97, "USER", "SERVICE_PRINCIPAL")).astype(object)
    principal = np.where(
        p_type == "GROUP",
        group_names[rng.integers(0, groups, draw)],
        np.where(
            p_type == "USER",
            user_names[rng.integers(0, users, draw)],
            sp_names[rng.integers(0, service_principals, draw)],
        ),
    ).astype(object)
    g = pd.DataFrame(
        {
            "securable_type": t_type,
            "full_name": full[target],
            "principal": principal,
            "principal_type": p_type,
            "privilege": privilege,
        }
    )
    g = g.drop_duplicates(["securable_type", "full_name", "principal", "privilege"]).head(grants - 3)
    public = pd.DataFrame(
        {
            "securable_type": "CATALOG",
            "full_name": cat_names[0],
            "principal": "account users",
            "principal_type": "ACCOUNT_USERS",
            "privilege": ["USE_CATALOG", "USE_SCHEMA", "SELECT"],
        }
    )
    g = pd.concat([g, public], ignore_index=True)
    grants_df = _table(
        "grants",
        {
            "metastore_id": np.full(len(g), METASTORE_ID, object),
            **{c: g[c].to_numpy(dtype=object) for c in g.columns},
        },
    )
    return {
        "users": users_df,
        "service_principals": sps_df,
        "groups": groups_df,
        "memberships": memberships_df,
        "securables": securables_df,
        "grants": grants_df,
    }


if __name__ == "__main__":
    for name, df in synthetic_account().items():
        print(f"{name:20s} {len(df):>9,d} rows")

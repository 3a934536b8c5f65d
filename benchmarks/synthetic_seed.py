"""Synthetic seeds for scale tests and benchmarks (not the sample company)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def write_users_seed(root: Path, users: int = 10_000, groups: int = 100) -> Path:
    """`users` users and `groups` groups of 50 members each, in the seed format."""
    root.mkdir(parents=True, exist_ok=True)
    user_docs = [{"id": str(1_000_000_000_000_000 + i), "userName": f"user{i:05d}@bench.example",
                  "displayName": f"User {i:05d}", "active": True} for i in range(1, users + 1)]
    group_docs = [{"id": str(2_000_000_000_000_000 + g), "displayName": f"Group {g:04d}",
                   "members": [{"value": str(1_000_000_000_000_000 + 1 + (g * 50 + k) % users)} for k in range(50)]}
                  for g in range(1, groups + 1)]
    (root / "users.json").write_text(json.dumps(user_docs))
    (root / "groups.json").write_text(json.dumps(group_docs))
    (root / "manifest.json").write_text(json.dumps({"format": "scimkit-seed", "version": 1, "name": "bench",
                                                    "files": {"users": "users.json", "groups": "groups.json"}}))
    return root


def write_account_seed(root: Path, users: int = 1_000, groups: int = 500, securables: int = 2_000,
                       grants: int | None = None, seed: int = 20261129) -> Path:
    """The synthetic account of `benchmarks.synthetic_account` (nested groups, a catalog tree, grants) as a
    full seed: users, service principals, groups with members, one metastore, one workspace, Unity Catalog
    objects and grants. Sizes below the defaults scale the catalog tree and the group sizes down."""
    from .synthetic_account import synthetic_account

    catalogs = max(2, min(20, securables // 1_000))
    per_catalog = max(2, min(20, (securables - 61) // (catalogs * 50)))
    t = synthetic_account(users=users, groups=groups, securables=securables, grants=grants or securables * 5 // 2,
                          catalogs=catalogs, schemas_per_catalog=per_catalog,
                          max_members=max(1, min(5_000, users // 2)), seed=seed)
    root.mkdir(parents=True, exist_ok=True)
    u, s, g, m = t["users"], t["service_principals"], t["groups"], t["memberships"]
    uid = {n: str(1_000_000_000_000_000 + i) for i, n in enumerate(u["user_name"], 1)}
    sid = {n: str(3_000_000_000_000_000 + i) for i, n in enumerate(s["application_id"], 1)}
    gid = {n: str(2_000_000_000_000_000 + i) for i, n in enumerate(g["group_name"], 1)}
    ids = {**uid, **sid, **gid}
    members: dict[str, list[dict[str, str]]] = {}
    for group, name in zip(m["group_name"], m["member_name"], strict=True):
        members.setdefault(group, []).append({"value": ids[name]})
    docs = {
        "users": [{"id": uid[n], "userName": n, "displayName": d, "active": bool(a)}
                  for n, d, a in zip(u["user_name"], u["display_name"], u["active"], strict=True)],
        "service_principals": [{"id": sid[n], "applicationId": n, "displayName": n, "active": True}
                               for n in s["application_id"]],
        "groups": [{"id": gid[n], "displayName": n, "members": members.get(n, [])} for n in g["group_name"]],
    }
    sec = t["securables"]
    metastore_id = "11111111-2222-3333-4444-555555555555"
    workspace_id = 7_100_000_000_000_001
    docs["metastores"] = [{"metastore_id": metastore_id, "name": "bench-metastore", "region": "westeurope",
                           "owner": g["group_name"].iloc[0], "storage_root": "abfss://bench@bench.dfs.core.windows.net/"}]
    docs["workspaces"] = [{"workspace_id": workspace_id, "workspace_name": "bench", "deployment_name": "adb-bench",
                           "metastore_id": metastore_id,
                           "assignments": [{"principal_id": gid[n], "permissions": ["USER"]} for n in g["group_name"][:5]]}]

    def of(kind: str) -> pd.DataFrame:
        return sec[sec["securable_type"] == kind]

    creds = of("STORAGE_CREDENTIAL")
    uc = {
        "storage_credentials": [{"name": n, "owner": o} for n, o in zip(creds["full_name"], creds["owner"], strict=True)],
        "external_locations": [{"name": n, "url": f"abfss://{n}@bench.dfs.core.windows.net/",
                                "credential_name": creds["full_name"].iloc[0], "owner": o}
                               for n, o in zip(of("EXTERNAL_LOCATION")["full_name"], of("EXTERNAL_LOCATION")["owner"],
                                               strict=True)],
        "catalogs": [{"name": n, "catalog_type": "MANAGED_CATALOG", "owner": o}
                     for n, o in zip(of("CATALOG")["full_name"], of("CATALOG")["owner"], strict=True)],
        "schemas": [{"full_name": n, "owner": o} for n, o in zip(of("SCHEMA")["full_name"], of("SCHEMA")["owner"],
                                                                 strict=True)],
        "tables": [{"full_name": n, "table_type": k, "owner": o}
                   for n, k, o in zip(of("TABLE")["full_name"], of("TABLE")["kind"], of("TABLE")["owner"], strict=True)],
        "volumes": [{"full_name": n, "volume_type": "MANAGED", "owner": o}
                    for n, o in zip(of("VOLUME")["full_name"], of("VOLUME")["owner"], strict=True)],
        "functions": [{"full_name": n, "owner": o}
                      for n, o in zip(of("FUNCTION")["full_name"], of("FUNCTION")["owner"], strict=True)],
    }
    gr = t["grants"]
    gr = gr[gr["securable_type"] != "METASTORE"]
    views = set(sec.loc[sec["kind"] == "VIEW", "full_name"])
    gr = gr[~(gr["full_name"].isin(views) & (gr["privilege"] == "MODIFY"))]  # a view takes SELECT, not MODIFY
    per = gr.groupby(["securable_type", "full_name", "principal"], sort=True)["privilege"].agg(sorted).reset_index()
    docs["grants"] = [{"securable_type": st, "full_name": fn, "principal": p, "privileges": list(pr)}
                      for st, fn, p, pr in per.itertuples(index=False)]
    docs["unity_catalog"] = uc
    for name, doc in docs.items():
        (root / f"{name}.json").write_text(json.dumps(doc))
    (root / "manifest.json").write_text(json.dumps({
        "format": "scimkit-seed", "version": 1, "name": "bench",
        "files": {name: f"{name}.json" for name in docs},
        "counts": {"users": len(u), "groups": len(g), "memberships": len(m), "securables": len(sec),
                   "grants": len(docs["grants"])},
    }))
    return root

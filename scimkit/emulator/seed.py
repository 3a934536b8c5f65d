"""Load a seed directory (see `docs/seed-format.md`) into an empty store.

Whatever the seed, the account always holds the built-ins: the admin service principal behind
`--token` (an account admin that owns the metastore), the reader service principal behind
`--reader-token`, at least one metastore and the default workspace.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from .store import Store, dumps, next_seq, set_meta
from .unity import rules as unity_rules
from .wire import (
    ADMIN_SP_APPLICATION_ID,
    ADMIN_SP_ID,
    DEFAULT_METASTORE_ID,
    DEFAULT_WORKSPACE_ID,
    READER_SP_APPLICATION_ID,
    READER_SP_ID,
)

SEED_FORMAT = "scimkit-seed"
SEED_VERSIONS = (1,)
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
SP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


class SeedError(ValueError):
    """The seed directory is malformed; the message names the file and field."""


def default_seed_dir() -> Path:
    """`sample_data/` of a checkout, else the copy shipped in the package."""
    checkout = Path(__file__).resolve().parents[2] / "sample_data"
    if (checkout / "manifest.json").is_file():
        return checkout
    from importlib.resources import files

    return Path(str(files("scimkit.sample_data")))


def read_manifest(seed_dir: Path) -> dict[str, Any]:
    path = seed_dir / "manifest.json"
    if not path.is_file():
        raise SeedError(f"{seed_dir} is not a seed directory: it has no manifest.json")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != SEED_FORMAT or manifest.get("version") not in SEED_VERSIONS:
        raise SeedError(f"{path}: expected format {SEED_FORMAT!r} with version in {SEED_VERSIONS}, "
                        f"got {manifest.get('format')!r} version {manifest.get('version')!r}")
    return manifest


def _read(seed_dir: Path, manifest: dict[str, Any], name: str, default: Any) -> Any:
    file_name = manifest.get("files", {}).get(name)
    if not file_name:
        return default
    path = seed_dir / file_name
    if not path.is_file():
        raise SeedError(f"{seed_dir / 'manifest.json'}: files.{name} names {file_name}, which does not exist")
    return json.loads(path.read_text())


def load(store: Store, seed_dir: Path | None) -> dict[str, Any]:
    """Clear the store and load `seed_dir` (None: the `--empty` account). Returns the manifest."""
    manifest: dict[str, Any] = {"format": SEED_FORMAT, "version": 1, "name": "empty"}
    data: dict[str, Any] = {}
    if seed_dir is not None:
        manifest = read_manifest(seed_dir)
        for name, default in (("users", []), ("service_principals", []), ("groups", []),
                              ("workspaces", []), ("metastores", []), ("unity_catalog", {}),
                              ("grants", [])):
            data[name] = _read(seed_dir, manifest, name, default)
    store.clear()
    with store.tx() as db:
        _load_builtins(db)
        _load_identities(db, data)
        metastores = data.get("metastores") or [{"metastore_id": DEFAULT_METASTORE_ID, "name": "scimkit-metastore",
                                                 "region": "local"}]
        for metastore in metastores:
            unity_rules.insert_metastore(db, metastore, default_owner=ADMIN_SP_APPLICATION_ID)
        workspaces = data.get("workspaces") or [{"workspace_id": DEFAULT_WORKSPACE_ID,
                                                 "workspace_name": "scimkit-default",
                                                 "metastore_id": metastores[0]["metastore_id"]}]
        _load_workspaces(db, workspaces, metastores[0]["metastore_id"])
        unity_rules.load_seed(db, data.get("unity_catalog") or {}, data.get("grants") or [],
                              default_metastore_id=metastores[0]["metastore_id"])
        set_meta(db, "seeded", dumps({"name": manifest.get("name"), "version": manifest.get("version")}))
        set_meta(db, "default_workspace_id", str(workspaces[0]["workspace_id"]))
    return manifest


def _insert_principal(db: sqlite3.Connection, kind: str, doc: dict[str, Any], idp_managed: bool = False) -> None:
    doc = dict(doc)
    principal_id = str(doc.pop("id"))
    members = doc.pop("members", None) or []
    doc.pop("meta", None)
    doc.pop("groups", None)
    key_field = {"User": "userName", "Group": "displayName", "ServicePrincipal": "applicationId"}[kind]
    key = doc.get(key_field)
    if not key:
        raise SeedError(f"{kind} {principal_id} has no {key_field}")
    doc.setdefault("schemas", [{"User": USER_SCHEMA, "Group": GROUP_SCHEMA, "ServicePrincipal": SP_SCHEMA}[kind]])
    try:
        db.execute(
            "INSERT INTO principals(id, kind, key, key_lower, doc, idp_managed, seq) VALUES (?,?,?,?,?,?,?)",
            (principal_id, kind, key, key.lower(), dumps(doc), int(idp_managed), next_seq(db, "principals")),
        )
    except sqlite3.IntegrityError as exc:
        raise SeedError(f"{kind} {principal_id} ({key}) duplicates an id or {key_field}: {exc}") from None
    for member in members:
        db.execute("INSERT INTO memberships(group_id, member_id) VALUES (?, ?)", (principal_id, str(member["value"])))


def _load_builtins(db: sqlite3.Connection) -> None:
    _insert_principal(db, "ServicePrincipal", {
        "id": ADMIN_SP_ID, "applicationId": ADMIN_SP_APPLICATION_ID, "displayName": "scimkit-admin",
        "active": True, "roles": [{"value": "account_admin"}]})
    _insert_principal(db, "ServicePrincipal", {
        "id": READER_SP_ID, "applicationId": READER_SP_APPLICATION_ID, "displayName": "scimkit-reader",
        "active": True})


def _load_identities(db: sqlite3.Connection, data: dict[str, Any]) -> None:
    for user in data.get("users", []):
        _insert_principal(db, "User", user)
    for sp in data.get("service_principals", []):
        _insert_principal(db, "ServicePrincipal", sp)
    for group in data.get("groups", []):
        group = dict(group)
        idp = bool(group.pop("_provisioned_by_idp", False))
        _insert_principal(db, "Group", group, idp_managed=idp)
    known = {row[0] for row in db.execute("SELECT id FROM principals")}
    for row in db.execute("SELECT group_id, member_id FROM memberships").fetchall():
        if row["member_id"] not in known:
            raise SeedError(f"group {row['group_id']} lists member {row['member_id']}, which is not in the seed")


def _load_workspaces(db: sqlite3.Connection, workspaces: list[dict[str, Any]], default_metastore: str) -> None:
    for ws in workspaces:
        ws = dict(ws)
        assignments = ws.pop("assignments", [])
        workspace_id = int(ws["workspace_id"])
        metastore_id = ws.get("metastore_id") or default_metastore
        ws.setdefault("workspace_name", f"workspace-{workspace_id}")
        ws.setdefault("deployment_name", ws["workspace_name"])
        ws.setdefault("workspace_status", "RUNNING")
        ws.setdefault("pricing_tier", "PREMIUM")
        ws.setdefault("creation_time", 1735689600000)
        ws["metastore_id"] = metastore_id
        db.execute("INSERT INTO workspaces(workspace_id, metastore_id, doc) VALUES (?,?,?)",
                   (workspace_id, metastore_id, dumps(ws)))
        for assignment in assignments:
            db.execute("INSERT INTO assignments(workspace_id, principal_id, permissions) VALUES (?,?,?)",
                       (workspace_id, str(assignment["principal_id"]), dumps(assignment["permissions"])))
    # The admin principal administers every workspace.
    for ws in workspaces:
        db.execute("INSERT OR REPLACE INTO assignments(workspace_id, principal_id, permissions) VALUES (?,?,?)",
                   (int(ws["workspace_id"]), ADMIN_SP_ID, dumps(["ADMIN"])))

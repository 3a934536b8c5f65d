"""Unity Catalog rules: securables, privileges, inheritance, grant changes, effective permissions.

No HTTP here: `unity.routes` parses the wire and calls these functions inside one transaction.
Errors are raised as `ApiError` (the `{"error_code", "message"}` family every UC route uses).

Model (see `docs/privileges.md` for the privilege table and its sources):

    METASTORE                        grants here are NOT inherited
      CATALOG                        inheritance source
        SCHEMA                       inheritance source
          TABLE | VOLUME | FUNCTION
    EXTERNAL_LOCATION, STORAGE_CREDENTIAL   (metastore-level, no parent, nothing inherited)

Principals are names: a user's userName, a group's displayName, a service principal's
applicationId, or the built-in `account users` (every user and service principal of the account).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ApiError, bad_request, not_found, permission_denied
from ..store import dumps, loads

ACCOUNT_USERS = "account users"

# -- privileges --------------------------------------------------------------------------------

# Every privilege the SDK knows (`catalog.Privilege`, databricks-sdk 0.162.0). A name outside this
# set is refused as unknown: the SDK would silently drop it from a response.
KNOWN_PRIVILEGES: frozenset[str] = frozenset(
    [
        "ACCESS",
        "ALL_PRIVILEGES",
        "APPLY_TAG",
        "BROWSE",
        "CREATE",
        "CREATE_CATALOG",
        "CREATE_CLEAN_ROOM",
        "CREATE_CONNECTION",
        "CREATE_EXTERNAL_LOCATION",
        "CREATE_EXTERNAL_TABLE",
        "CREATE_EXTERNAL_VOLUME",
        "CREATE_FEATURE",
        "CREATE_FOREIGN_CATALOG",
        "CREATE_FOREIGN_SECURABLE",
        "CREATE_FUNCTION",
        "CREATE_MANAGED_STORAGE",
        "CREATE_MATERIALIZED_VIEW",
        "CREATE_MODEL",
        "CREATE_PROVIDER",
        "CREATE_RECIPIENT",
        "CREATE_SCHEMA",
        "CREATE_SERVICE_CREDENTIAL",
        "CREATE_SHARE",
        "CREATE_STORAGE_CREDENTIAL",
        "CREATE_TABLE",
        "CREATE_VIEW",
        "CREATE_VOLUME",
        "EXECUTE",
        "EXECUTE_CLEAN_ROOM_TASK",
        "EXTERNAL_USE_LOCATION",
        "EXTERNAL_USE_SCHEMA",
        "MANAGE",
        "MANAGE_ALLOWLIST",
        "MODIFY",
        "MODIFY_CLEAN_ROOM",
        "READ_FEATURE",
        "READ_FILES",
        "READ_METADATA",
        "READ_PRIVATE_FILES",
        "READ_VOLUME",
        "REFRESH",
        "SELECT",
        "SET_SHARE_PERMISSION",
        "USAGE",
        "USE_CATALOG",
        "USE_CONNECTION",
        "USE_MARKETPLACE_ASSETS",
        "USE_PROVIDER",
        "USE_RECIPIENT",
        "USE_SCHEMA",
        "USE_SHARE",
        "WRITE_FILES",
        "WRITE_PRIVATE_FILES",
        "WRITE_VOLUME",
    ]
)

# Privileges a securable takes for itself.
_TABLE_OWN = ("ALL_PRIVILEGES", "APPLY_TAG", "MANAGE", "MODIFY", "SELECT")
_VIEW_OWN = ("ALL_PRIVILEGES", "APPLY_TAG", "MANAGE", "SELECT")
_MATERIALIZED_OWN = ("ALL_PRIVILEGES", "APPLY_TAG", "MANAGE", "REFRESH", "SELECT")
_VOLUME_OWN = ("ALL_PRIVILEGES", "APPLY_TAG", "MANAGE", "READ_VOLUME", "WRITE_VOLUME")
_FUNCTION_OWN = ("ALL_PRIVILEGES", "EXECUTE", "MANAGE")
_SCHEMA_OWN = (
    "ALL_PRIVILEGES",
    "APPLY_TAG",
    "CREATE_FUNCTION",
    "CREATE_MATERIALIZED_VIEW",
    "CREATE_MODEL",
    "CREATE_TABLE",
    "CREATE_VOLUME",
    "EXTERNAL_USE_SCHEMA",
    "MANAGE",
    "USE_SCHEMA",
)
_CATALOG_OWN = ("ALL_PRIVILEGES", "APPLY_TAG", "BROWSE", "CREATE_SCHEMA", "MANAGE", "USE_CATALOG")
# A parent also takes every privilege of the objects it contains (granted there, inherited below).
_OBJECT_PRIVILEGES = tuple(sorted(set(_TABLE_OWN + _MATERIALIZED_OWN + _VOLUME_OWN + _FUNCTION_OWN)))
_SCHEMA_ALL = tuple(sorted(set(_SCHEMA_OWN + _OBJECT_PRIVILEGES)))
_CATALOG_ALL = tuple(sorted(set(_CATALOG_OWN + _SCHEMA_ALL)))

# kind -> privileges it takes. A kind is a securable type, except that TABLE is refined by
# `table_type` (VIEW, MATERIALIZED_VIEW, STREAMING_TABLE take fewer or other privileges).
PRIVILEGES: dict[str, tuple[str, ...]] = {
    "METASTORE": (
        "CREATE_CATALOG",
        "CREATE_CLEAN_ROOM",
        "CREATE_CONNECTION",
        "CREATE_EXTERNAL_LOCATION",
        "CREATE_PROVIDER",
        "CREATE_RECIPIENT",
        "CREATE_SERVICE_CREDENTIAL",
        "CREATE_SHARE",
        "CREATE_STORAGE_CREDENTIAL",
        "MANAGE_ALLOWLIST",
        "SET_SHARE_PERMISSION",
        "USE_MARKETPLACE_ASSETS",
        "USE_PROVIDER",
        "USE_RECIPIENT",
        "USE_SHARE",
    ),
    "CATALOG": _CATALOG_ALL,
    "SCHEMA": _SCHEMA_ALL,
    "TABLE": _TABLE_OWN,
    "VIEW": _VIEW_OWN,
    "MATERIALIZED_VIEW": _MATERIALIZED_OWN,
    "STREAMING_TABLE": _MATERIALIZED_OWN,
    "VOLUME": _VOLUME_OWN,
    "FUNCTION": _FUNCTION_OWN,
    "EXTERNAL_LOCATION": (
        "ALL_PRIVILEGES",
        "BROWSE",
        "CREATE_EXTERNAL_TABLE",
        "CREATE_EXTERNAL_VOLUME",
        "CREATE_MANAGED_STORAGE",
        "EXTERNAL_USE_LOCATION",
        "MANAGE",
        "READ_FILES",
        "WRITE_FILES",
    ),
    "STORAGE_CREDENTIAL": (
        "ALL_PRIVILEGES",
        "CREATE_EXTERNAL_LOCATION",
        "CREATE_EXTERNAL_TABLE",
        "MANAGE",
        "READ_FILES",
        "WRITE_FILES",
    ),
}

# Where each row of PRIVILEGES comes from (also in docs/privileges.md and the ledger).
PRIVILEGE_SOURCES: dict[str, str] = {
    "METASTORE": "DOC https://docs.databricks.com/data-governance/unity-catalog/access-control/privileges-reference "
    "(metastore privileges: CREATE CATALOG, CREATE EXTERNAL LOCATION, ...); ALL PRIVILEGES and MANAGE "
    "are not metastore privileges (inferred)",
    "CATALOG": "DOC privileges-reference + databricks-api.md 4.1 (catalog: USE CATALOG, CREATE SCHEMA, BROWSE, "
    "MANAGE, ALL PRIVILEGES, plus every child privilege, which is inherited)",
    "SCHEMA": "DOC privileges-reference + databricks-api.md 4.1 (schema: USE SCHEMA, CREATE TABLE/VOLUME/"
    "FUNCTION/MODEL/MATERIALIZED VIEW, plus child privileges)",
    "TABLE": "DOC https://docs.databricks.com/sql/language-manual/sql-ref-privileges.html + databricks-api.md 4.1 "
    "(table: SELECT, MODIFY, MANAGE, ALL PRIVILEGES; APPLY TAG)",
    "VIEW": "DOC sql-ref-privileges (a view takes SELECT, not MODIFY) (inferred for APPLY TAG, MANAGE)",
    "MATERIALIZED_VIEW": "DOC sql-ref-privileges (REFRESH applies to materialized views and streaming tables) "
    "(inferred)",
    "STREAMING_TABLE": "same as MATERIALIZED_VIEW (inferred)",
    "VOLUME": "DOC https://docs.databricks.com/volumes/privileges.html (READ VOLUME, WRITE VOLUME; owners and "
    "MANAGE holders manage privileges) + databricks-api.md 4.1",
    "FUNCTION": "DOC sql-ref-privileges (EXECUTE) + databricks-api.md 4.1 (a registered model uses FUNCTION)",
    "EXTERNAL_LOCATION": "DOC privileges-reference (CREATE EXTERNAL TABLE/VOLUME, CREATE MANAGED STORAGE, READ FILES, "
    "WRITE FILES, BROWSE, EXTERNAL USE LOCATION, MANAGE, ALL PRIVILEGES)",
    "STORAGE_CREDENTIAL": "DOC privileges-reference (CREATE EXTERNAL LOCATION, CREATE EXTERNAL TABLE, READ FILES, "
    "WRITE FILES, MANAGE, ALL PRIVILEGES)",
}

# -- securable types ---------------------------------------------------------------------------

SECURABLE_TYPES = (
    "METASTORE",
    "CATALOG",
    "SCHEMA",
    "TABLE",
    "VOLUME",
    "FUNCTION",
    "EXTERNAL_LOCATION",
    "STORAGE_CREDENTIAL",
)
OBJECT_TYPES = ("TABLE", "VOLUME", "FUNCTION")  # the three-part names, children of a schema
# Accepted spellings in the permissions path besides the canonical one (lower case works too).
_TYPE_ALIASES = {
    "EXTERNAL-LOCATION": "EXTERNAL_LOCATION",
    "STORAGE-CREDENTIAL": "STORAGE_CREDENTIAL",
    "VIEW": "TABLE",
    "MATERIALIZED_VIEW": "TABLE",
}

DEFAULT_CREATED_AT = 1735689600000  # 2025-01-01T00:00:00Z, epoch ms, for seeded objects without one


def normalise_securable_type(raw: str) -> str:
    """`catalog`, `Catalog`, `external_location`, `external-location` -> canonical UPPER_SNAKE."""
    value = raw.strip().upper().replace(" ", "_")
    value = _TYPE_ALIASES.get(value, value)
    if value not in SECURABLE_TYPES:
        raise bad_request(
            f"Unsupported securable type '{raw}'. The emulator serves: "
            f"{', '.join(t.lower() for t in SECURABLE_TYPES)}."
        )
    return value


def normalise_privilege(raw: Any) -> str:
    """`select`, `USE CATALOG`, `all privileges` -> UPPER_SNAKE; unknown names are refused (400)."""
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request(f"Privilege {raw!r} is not a privilege name.")
    value = "_".join(raw.strip().upper().replace("-", " ").replace("_", " ").split())
    if value not in KNOWN_PRIVILEGES:
        raise bad_request(
            f"Unknown privilege '{raw}'. Privileges are UPPER_SNAKE names such as SELECT, "
            "USE_CATALOG, READ_VOLUME (spaces are accepted: 'USE CATALOG')."
        )
    return value


def kind_of(securable_type: str, doc: dict[str, Any] | None) -> str:
    """The row of PRIVILEGES that applies: the type, refined by `table_type` for tables."""
    if securable_type == "TABLE" and doc:
        table_type = str(doc.get("table_type") or "").upper()
        if table_type in ("VIEW", "METRIC_VIEW"):
            return "VIEW"
        if table_type in ("MATERIALIZED_VIEW", "STREAMING_TABLE"):
            return table_type
    return securable_type


def check_applicable(privilege: str, kind: str, full_name: str) -> None:
    takes = PRIVILEGES[kind]
    if privilege not in takes:
        raise bad_request(
            f"Privilege {privilege} is not applicable to {kind} {full_name}. "
            f"A {kind} takes: {', '.join(takes)}"
        )


# -- securables ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Securable:
    """One securable as the rules see it (a metastore too)."""

    metastore_id: str
    securable_type: str
    full_name: str  # as stored
    owner: str
    doc: dict[str, Any]

    @property
    def key(self) -> str:
        return self.full_name.lower()

    @property
    def kind(self) -> str:
        return kind_of(self.securable_type, self.doc)


def parent_of(securable_type: str, full_name_lower: str) -> tuple[str, str] | None:
    """(type, lower full name) of the securable that passes grants down to this one."""
    parts = full_name_lower.split(".")
    if securable_type == "SCHEMA" and len(parts) == 2:
        return "CATALOG", parts[0]
    if securable_type in OBJECT_TYPES and len(parts) == 3:
        return "SCHEMA", f"{parts[0]}.{parts[1]}"
    return None


def workspace_metastore(db: sqlite3.Connection, workspace_id: int) -> str:
    row = db.execute("SELECT metastore_id FROM workspaces WHERE workspace_id=?", (workspace_id,)).fetchone()
    if row is None or not row["metastore_id"]:
        raise not_found(f"No metastore is assigned to workspace {workspace_id}.", "METASTORE_DOES_NOT_EXIST")
    return str(row["metastore_id"])


def metastore_doc(db: sqlite3.Connection, metastore_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT doc FROM metastores WHERE metastore_id=?", (metastore_id,)).fetchone()
    return loads(row["doc"]) if row else None


_NOT_FOUND_CODES = {
    "METASTORE": "METASTORE_DOES_NOT_EXIST",
    "CATALOG": "CATALOG_DOES_NOT_EXIST",
    "SCHEMA": "SCHEMA_DOES_NOT_EXIST",
    "TABLE": "TABLE_DOES_NOT_EXIST",
    "VOLUME": "VOLUME_DOES_NOT_EXIST",
    "FUNCTION": "FUNCTION_DOES_NOT_EXIST",
    "EXTERNAL_LOCATION": "EXTERNAL_LOCATION_DOES_NOT_EXIST",
    "STORAGE_CREDENTIAL": "STORAGE_CREDENTIAL_DOES_NOT_EXIST",
}
_LABELS = {"EXTERNAL_LOCATION": "External location", "STORAGE_CREDENTIAL": "Storage credential"}


def not_found_error(securable_type: str, full_name: str) -> ApiError:
    label = _LABELS.get(securable_type, securable_type.capitalize())
    return not_found(f"{label} '{full_name}' does not exist.", _NOT_FOUND_CODES[securable_type])


def find(db: sqlite3.Connection, metastore_id: str, securable_type: str, full_name: str) -> Securable | None:
    if securable_type == "METASTORE":
        if full_name.lower() != metastore_id.lower():
            return None
        doc = metastore_doc(db, metastore_id) or {}
        return Securable(metastore_id, "METASTORE", metastore_id, str(doc.get("owner") or ""), doc)
    row = db.execute(
        "SELECT full_name, owner, doc FROM securables WHERE metastore_id=? AND securable_type=? AND full_name_lower=?",
        (metastore_id, securable_type, full_name.lower()),
    ).fetchone()
    if row is None:
        return None
    return Securable(metastore_id, securable_type, row["full_name"], row["owner"], loads(row["doc"]))


def get(db: sqlite3.Connection, metastore_id: str, securable_type: str, full_name: str) -> Securable:
    securable = find(db, metastore_id, securable_type, full_name)
    if securable is None:
        raise not_found_error(securable_type, full_name)
    return securable


def ancestors(db: sqlite3.Connection, securable: Securable) -> list[Securable]:
    """Parent schema then catalog (those that pass grants down); the metastore is never one."""
    chain: list[Securable] = []
    parent = parent_of(securable.securable_type, securable.key)
    while parent is not None:
        found = find(db, securable.metastore_id, parent[0], parent[1])
        if found is None:  # a seed or a race left an orphan; stop rather than fail
            break
        chain.append(found)
        parent = parent_of(found.securable_type, found.key)
    return chain


def info(securable: Securable) -> dict[str, Any]:
    """The wire representation (CatalogInfo, SchemaInfo, TableInfo, ...)."""
    body = dict(securable.doc)
    body["owner"] = securable.owner
    body["metastore_id"] = securable.metastore_id
    return body


def list_children(
    db: sqlite3.Connection,
    metastore_id: str,
    securable_type: str,
    parent_lower: str,
    offset: int,
    limit: int | None,
) -> list[Securable]:
    """Securables of one type under one parent ('' for top-level types), in seed/creation order."""
    sql = (
        "SELECT full_name, owner, doc FROM securables WHERE metastore_id=? AND securable_type=? "
        "AND parent_lower=? ORDER BY seq"
    )
    params: list[Any] = [metastore_id, securable_type, parent_lower]
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    elif offset:
        sql += " LIMIT -1 OFFSET ?"
        params.append(offset)
    return [
        Securable(metastore_id, securable_type, r["full_name"], r["owner"], loads(r["doc"]))
        for r in db.execute(sql, params)
    ]


def set_owner(
    db: sqlite3.Connection, securable: Securable, owner: str, actor: str, comment: str | None = None
) -> Securable:
    principal = resolve_principal(db, owner)
    if principal is None:
        raise unknown_principal(owner)
    if principal.kind == "builtin":
        raise bad_request(
            f"'{ACCOUNT_USERS}' cannot own a securable: an owner is a user (userName), a group "
            "(displayName) or a service principal (applicationId)."
        )
    doc = dict(securable.doc)
    doc["updated_at"] = int(time.time() * 1000)
    doc["updated_by"] = actor
    if comment is not None:
        doc["comment"] = comment
    db.execute(
        "UPDATE securables SET owner=?, doc=? WHERE metastore_id=? AND securable_type=? AND full_name_lower=?",
        (principal.name, dumps(doc), securable.metastore_id, securable.securable_type, securable.key),
    )
    return Securable(
        securable.metastore_id, securable.securable_type, securable.full_name, principal.name, doc
    )


# -- principals and groups -----------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    kind: str  # User | Group | ServicePrincipal | builtin (`account users`)
    id: str
    name: str  # as stored: userName, displayName or applicationId


_KIND_ORDER = {"User": 0, "ServicePrincipal": 1, "Group": 2}


def unknown_principal(name: str) -> ApiError:
    return not_found(
        f"Could not find principal with name {name}. A principal is a user's userName, a group's "
        f"displayName, a service principal's applicationId, or '{ACCOUNT_USERS}'.",
        "PRINCIPAL_DOES_NOT_EXIST",
    )


def resolve_principal(db: sqlite3.Connection, name: str) -> Principal | None:
    """A UC principal name -> the account principal (case-insensitive); None if there is none."""
    lower = name.strip().lower()
    if lower == ACCOUNT_USERS:
        return Principal("builtin", "", ACCOUNT_USERS)
    rows = db.execute("SELECT id, kind, key FROM principals WHERE key_lower=?", (lower,)).fetchall()
    if not rows:
        return None
    row = min(rows, key=lambda r: _KIND_ORDER.get(r["kind"], 9))
    return Principal(row["kind"], row["id"], row["key"])


def group_closure(db: sqlite3.Connection, principal_id: str) -> set[str]:
    """Ids of every group the principal belongs to, directly or through nested groups."""
    seen: set[str] = set()
    frontier = [principal_id]
    while frontier:
        marks = ",".join("?" * len(frontier))
        rows = db.execute(
            f"SELECT DISTINCT group_id FROM memberships WHERE member_id IN ({marks})", frontier
        ).fetchall()
        frontier = [r["group_id"] for r in rows if r["group_id"] not in seen]
        seen.update(frontier)
    return seen


def names_acting_as(db: sqlite3.Connection, name: str) -> set[str]:
    """Lower-cased principal names whose grants apply to `name`: itself, its groups (transitively)
    and, for users and service principals of the account, `account users`."""
    principal = resolve_principal(db, name)
    names = {name.strip().lower()}
    if principal is None or principal.kind == "builtin":
        return names
    names.add(principal.name.lower())
    groups = group_closure(db, principal.id)
    if groups:
        marks = ",".join("?" * len(groups))
        for row in db.execute(
            f"SELECT key_lower FROM principals WHERE kind='Group' AND id IN ({marks})", sorted(groups)
        ):
            names.add(row["key_lower"])
    if principal.kind in ("User", "ServicePrincipal"):
        names.add(ACCOUNT_USERS)
    return names


# -- grants --------------------------------------------------------------------------------------


def _grant_rows(db: sqlite3.Connection, securable: Securable) -> list[sqlite3.Row]:
    return db.execute(
        "SELECT principal, principal_lower, privilege FROM grants "
        "WHERE metastore_id=? AND securable_type=? AND full_name_lower=? ORDER BY seq",
        (securable.metastore_id, securable.securable_type, securable.key),
    ).fetchall()


def _sort_key(name: str) -> tuple[str, str]:
    return name.lower(), name


def assignments(
    db: sqlite3.Connection, securable: Securable, principal: str | None = None
) -> list[dict[str, Any]]:
    """Direct grants on the securable: [{"principal", "privileges": [sorted]}], sorted by principal."""
    wanted = principal.strip().lower() if principal is not None else None
    by_principal: dict[str, tuple[str, set[str]]] = {}
    for row in _grant_rows(db, securable):
        if wanted is not None and row["principal_lower"] != wanted:
            continue
        shown, privileges = by_principal.setdefault(row["principal_lower"], (row["principal"], set()))
        privileges.add(row["privilege"])
    if principal is not None and not by_principal and resolve_principal(db, principal) is None:
        raise unknown_principal(principal)
    return [
        {"principal": shown, "privileges": sorted(privileges)}
        for shown, privileges in sorted(by_principal.values(), key=lambda item: _sort_key(item[0]))
    ]


@dataclass(frozen=True)
class Change:
    principal: str
    add: tuple[str, ...]
    remove: tuple[str, ...]


def parse_changes(raw: Any) -> list[Change]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request("'changes' must be a list of {principal, add, remove} objects.")
    changes = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise bad_request(f"changes[{index}] must be an object with principal, add and remove.")
        principal = item.get("principal")
        if not isinstance(principal, str) or not principal.strip():
            raise bad_request(f"changes[{index}].principal is required.")
        lists = {}
        for field in ("add", "remove"):
            value = item.get(field) or []
            if not isinstance(value, list):
                raise bad_request(f"changes[{index}].{field} must be a list of privileges.")
            lists[field] = tuple(dict.fromkeys(normalise_privilege(p) for p in value))
        both = sorted(set(lists["add"]) & set(lists["remove"]))
        if both:
            raise bad_request(f"changes[{index}] both adds and removes {', '.join(both)} for {principal}.")
        changes.append(Change(principal.strip(), lists["add"], lists["remove"]))
    return changes


def update_grants(db: sqlite3.Connection, securable: Securable, changes: list[Change]) -> None:
    """Validate every change, then apply them all (all or nothing)."""
    plan: list[tuple[str, str, Change]] = []  # (stored name, lower name, change)
    for change in changes:
        for privilege in change.add:
            check_applicable(privilege, securable.kind, securable.full_name)
        principal = resolve_principal(db, change.principal)
        if principal is None:
            if change.add:
                raise unknown_principal(change.principal)
            # Removing from a principal the account no longer knows is allowed: that is how grants
            # to deleted principals are cleaned up. Nothing held, nothing removed.
            plan.append((change.principal, change.principal.lower(), change))
        else:
            plan.append((principal.name, principal.name.lower(), change))
    seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) AS s FROM grants").fetchone()["s"])
    key = (securable.metastore_id, securable.securable_type, securable.key)
    for name, lower, change in plan:
        for privilege in change.add:
            seq += 1
            db.execute(
                "INSERT OR IGNORE INTO grants(metastore_id, securable_type, full_name_lower, principal, "
                "principal_lower, privilege, seq) VALUES (?,?,?,?,?,?,?)",
                (*key, name, lower, privilege, seq),
            )
        for privilege in change.remove:
            db.execute(
                "DELETE FROM grants WHERE metastore_id=? AND securable_type=? AND full_name_lower=? "
                "AND principal_lower=? AND privilege=?",
                (*key, lower, privilege),
            )


def can_manage_grants(db: sqlite3.Connection, securable: Securable, caller_name: str, is_admin: bool) -> bool:
    """Metastore admin (or account admin), the owner, a parent's owner, or a MANAGE holder on the
    securable or a parent, directly or through groups [DOC manage-privileges; volumes/privileges]."""
    if is_admin:
        return True
    names = names_acting_as(db, caller_name)
    metastore = metastore_doc(db, securable.metastore_id) or {}
    if str(metastore.get("owner") or "").lower() in names:
        return True
    chain = [securable, *ancestors(db, securable)]
    if any(s.owner.lower() in names for s in chain):
        return True
    for item in chain:
        for row in _grant_rows(db, item):
            if row["privilege"] == "MANAGE" and row["principal_lower"] in names:
                return True
    return False


def require_manage(
    db: sqlite3.Connection,
    securable: Securable,
    caller_name: str,
    is_admin: bool,
    what: str = "change the grants on",
) -> None:
    if not can_manage_grants(db, securable, caller_name, is_admin):
        raise permission_denied(
            f"User does not have permission to {what} {securable.securable_type} "
            f"{securable.full_name}: only a metastore admin, the owner, the owner of a "
            "parent catalog or schema, or a MANAGE holder may."
        )


# -- effective permissions ---------------------------------------------------------------------


def effective(
    db: sqlite3.Connection, securable: Securable, principal: str | None = None
) -> list[dict[str, Any]]:
    """Effective privileges per principal (databricks-api.md section 7.3).

    With `principal`: one entry, merged from grants to it, to its groups (transitively) and, for a
    user or service principal, to `account users`; on the securable and inherited from its schema
    and catalog. Without: one entry per principal named in a grant on the securable or an ancestor
    (groups are not expanded into their members), each computed as with `principal`.
    """
    chain = [securable, *ancestors(db, securable)]
    sources: list[tuple[Securable, list[sqlite3.Row]]] = [(s, _grant_rows(db, s)) for s in chain]
    resolved = resolve_principal(db, principal) if principal is not None else None
    if principal is not None:
        subjects = [resolved.name if resolved is not None else principal.strip()]
    else:
        seen: dict[str, str] = {}
        for _, rows in sources:
            for row in rows:
                seen.setdefault(row["principal_lower"], row["principal"])
        subjects = list(seen.values())
    result = []
    for subject in subjects:
        names = names_acting_as(db, subject)
        privileges: set[tuple[str, int, str]] = set()
        for depth, (source, rows) in enumerate(sources):
            for row in rows:
                if row["principal_lower"] in names:
                    privileges.add((row["privilege"], depth, source.full_name))
        if not privileges:
            continue
        entries = []
        for privilege, depth, source_name in sorted(privileges):
            entry: dict[str, Any] = {"privilege": privilege}
            if depth:
                entry["inherited_from_type"] = sources[depth][0].securable_type
                entry["inherited_from_name"] = source_name
            entries.append(entry)
        result.append({"principal": subject, "privileges": entries})
    if principal is not None and resolved is None and not result:
        raise unknown_principal(principal)
    result.sort(key=lambda a: _sort_key(a["principal"]))
    return result


# -- metastores and seed -------------------------------------------------------------------------


def insert_metastore(db: sqlite3.Connection, metastore: dict[str, Any], default_owner: str) -> None:
    doc = dict(metastore)
    doc.setdefault("owner", default_owner)
    db.execute("INSERT INTO metastores(metastore_id, doc) VALUES (?, ?)", (doc["metastore_id"], dumps(doc)))


def metastore_info(doc: dict[str, Any]) -> dict[str, Any]:
    """MetastoreInfo / GetMetastoreSummaryResponse for a stored metastore document."""
    body = dict(doc)
    body.setdefault("name", body["metastore_id"])
    body.setdefault("region", "local")
    body.setdefault("cloud", "azure")
    body.setdefault("created_at", DEFAULT_CREATED_AT)
    body.setdefault("created_by", body.get("owner"))
    body.setdefault("updated_at", body["created_at"])
    body.setdefault("updated_by", body.get("created_by"))
    body.setdefault("privilege_model_version", "1.0")
    body.setdefault("delta_sharing_scope", "INTERNAL")
    body.setdefault("global_metastore_id", f"{body['cloud']}:{body['region']}:{body['metastore_id']}")
    return body


_SEED_KEYS = {
    "storage_credentials": "STORAGE_CREDENTIAL",
    "external_locations": "EXTERNAL_LOCATION",
    "catalogs": "CATALOG",
    "schemas": "SCHEMA",
    "tables": "TABLE",
    "volumes": "VOLUME",
    "functions": "FUNCTION",
}
_PARTS = {
    "CATALOG": 1,
    "SCHEMA": 2,
    "TABLE": 3,
    "VOLUME": 3,
    "FUNCTION": 3,
    "EXTERNAL_LOCATION": 1,
    "STORAGE_CREDENTIAL": 1,
}


def stable_id(metastore_id: str, securable_type: str, full_name: str) -> str:
    """A deterministic UUID for a seeded securable (schema_id, table_id, ...)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"scimkit:{metastore_id}:{securable_type}:{full_name.lower()}"))


def build_doc(
    metastore_id: str,
    securable_type: str,
    item: dict[str, Any],
    owner: str,
    credential_ids: dict[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Complete a seed entry into its stored wire document. Returns (full_name, doc)."""
    doc = {k: v for k, v in item.items() if not k.startswith("_")}
    doc.pop("metastore_id", None)
    doc.pop("owner", None)
    full_name = str(doc.get("full_name") or doc.get("name") or "")
    parts = full_name.split(".")
    if not full_name or len(parts) != _PARTS[securable_type] or not all(parts):
        raise ValueError(
            f"{securable_type.lower()} {full_name!r} needs a "
            f"{'name' if _PARTS[securable_type] == 1 else 'full_name with ' + str(_PARTS[securable_type]) + ' parts'}"
        )
    doc["name"] = parts[-1]
    doc.setdefault("created_at", DEFAULT_CREATED_AT)
    doc.setdefault("created_by", owner)
    doc.setdefault("updated_at", doc["created_at"])
    doc.setdefault("updated_by", doc["created_by"])
    if securable_type in ("CATALOG", "SCHEMA", "TABLE", "VOLUME", "FUNCTION"):
        doc["full_name"] = full_name
    if securable_type == "CATALOG":
        doc.setdefault("catalog_type", "MANAGED_CATALOG")
        doc.setdefault("isolation_mode", "OPEN")
        doc.setdefault("securable_type", "CATALOG")
    elif securable_type == "SCHEMA":
        doc["catalog_name"] = parts[0]
        doc.setdefault("schema_id", stable_id(metastore_id, securable_type, full_name))
    elif securable_type in OBJECT_TYPES:
        doc["catalog_name"], doc["schema_name"] = parts[0], parts[1]
        if securable_type == "TABLE":
            doc.setdefault("table_type", "MANAGED")
            doc["table_type"] = str(doc["table_type"]).upper()
            if doc["table_type"] not in ("VIEW", "METRIC_VIEW"):
                doc.setdefault("data_source_format", "DELTA")
            doc.setdefault("table_id", stable_id(metastore_id, securable_type, full_name))
            doc["columns"] = [_column(c, i) for i, c in enumerate(doc.get("columns") or [])]
        elif securable_type == "VOLUME":
            doc.setdefault("volume_type", "MANAGED")
            doc.setdefault("volume_id", stable_id(metastore_id, securable_type, full_name))
        else:
            doc.setdefault("function_id", stable_id(metastore_id, securable_type, full_name))
            doc.setdefault("data_type", "STRING")
            doc.setdefault("full_data_type", "STRING")
            doc.setdefault("routine_body", "SQL")
            doc.setdefault("security_type", "DEFINER")
            doc.setdefault("sql_data_access", "CONTAINS_SQL")
            doc.setdefault("parameter_style", "S")
            doc.setdefault("is_deterministic", True)
            doc.setdefault("is_null_call", False)
            doc.setdefault("specific_name", parts[-1])
    elif securable_type == "STORAGE_CREDENTIAL":
        doc.setdefault("id", stable_id(metastore_id, securable_type, full_name))
        doc.setdefault("full_name", full_name)
        doc.setdefault("read_only", False)
    elif securable_type == "EXTERNAL_LOCATION":
        doc.setdefault("read_only", False)
        credential = doc.get("credential_name")
        if credential and credential_ids and str(credential).lower() in credential_ids:
            doc.setdefault("credential_id", credential_ids[str(credential).lower()])
    return full_name, doc


# SQL type names -> the SDK's ColumnTypeName values (which spell some of them differently).
_SQL_TYPE_NAMES = {
    "BIGINT": "LONG",
    "INTEGER": "INT",
    "SMALLINT": "SHORT",
    "TINYINT": "BYTE",
    "VARCHAR": "STRING",
    "DEC": "DECIMAL",
    "NUMERIC": "DECIMAL",
    "REAL": "FLOAT",
}


def _column(column: Any, index: int) -> dict[str, Any]:
    if isinstance(column, str):
        column = {"name": column}
    col = dict(column)
    type_text = str(col.pop("type", None) or col.get("type_text") or col.get("type_name") or "string")
    col.setdefault("type_text", type_text.lower())
    base = type_text.split("(")[0].split("<")[0].strip().upper()
    col.setdefault("type_name", _SQL_TYPE_NAMES.get(base, base))
    col.setdefault("position", index)
    col.setdefault("nullable", True)
    return col


def insert_securable(
    db: sqlite3.Connection,
    metastore_id: str,
    securable_type: str,
    full_name: str,
    owner: str,
    doc: dict[str, Any],
    seq: int,
) -> None:
    parent = parent_of(securable_type, full_name.lower())
    db.execute(
        "INSERT INTO securables(metastore_id, securable_type, full_name, full_name_lower, parent_lower, owner, "
        "doc, seq) VALUES (?,?,?,?,?,?,?,?)",
        (
            metastore_id,
            securable_type,
            full_name,
            full_name.lower(),
            parent[1] if parent else "",
            owner,
            dumps(doc),
            seq,
        ),
    )


def load_seed(
    db: sqlite3.Connection,
    unity_catalog: dict[str, Any],
    grants: list[dict[str, Any]],
    default_metastore_id: str,
) -> None:
    """Load securables and grants from a seed (`docs/seed-format.md`).

    Securables must name existing metastores and parents; grant privileges must apply to their
    securable. Grants to principals the account does not know are kept as written: a seed may
    plant a grant to a deleted principal on purpose.
    """
    from ..seed import SeedError  # seed imports this module

    metastores = {
        r["metastore_id"].lower(): r["metastore_id"]
        for r in db.execute("SELECT metastore_id FROM metastores")
    }

    def metastore_of(item: dict[str, Any], where: str) -> str:
        wanted = str(item.get("metastore_id") or default_metastore_id)
        if wanted.lower() not in metastores:
            raise SeedError(f"{where}: metastore_id {wanted} is not in metastores.json")
        return metastores[wanted.lower()]

    if not isinstance(unity_catalog, dict):
        raise SeedError("unity_catalog.json must be an object of securable lists")
    unknown = sorted(set(unity_catalog) - set(_SEED_KEYS))
    if unknown:
        raise SeedError(f"unity_catalog.json: unknown keys {unknown}; expected {sorted(_SEED_KEYS)}")
    seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) AS s FROM securables").fetchone()["s"])
    credential_ids: dict[str, dict[str, str]] = {}
    for seed_key, securable_type in _SEED_KEYS.items():  # dict order puts parents before children
        for index, item in enumerate(unity_catalog.get(seed_key) or []):
            where = f"unity_catalog.json {seed_key}[{index}]"
            if not isinstance(item, dict):
                raise SeedError(f"{where} must be an object")
            metastore_id = metastore_of(item, where)
            owner = str(item.get("owner") or (metastore_doc(db, metastore_id) or {}).get("owner") or "")
            try:
                full_name, doc = build_doc(
                    metastore_id, securable_type, item, owner, credential_ids.get(metastore_id)
                )
            except ValueError as exc:
                raise SeedError(f"{where}: {exc}") from None
            parent = parent_of(securable_type, full_name.lower())
            if parent and find(db, metastore_id, *parent) is None:
                raise SeedError(
                    f"{where}: {securable_type.lower()} {full_name} has no parent "
                    f"{parent[0].lower()} {parent[1]} in metastore {metastore_id}"
                )
            seq += 1
            try:
                insert_securable(db, metastore_id, securable_type, full_name, owner, doc, seq)
            except sqlite3.IntegrityError:
                raise SeedError(f"{where}: {securable_type.lower()} {full_name} is listed twice") from None
            if securable_type == "STORAGE_CREDENTIAL":
                credential_ids.setdefault(metastore_id, {})[full_name.lower()] = doc["id"]
    _load_grants(db, grants, metastore_of, SeedError)


def _load_grants(
    db: sqlite3.Connection, grants: Iterable[dict[str, Any]], metastore_of: Any, seed_error: type[Exception]
) -> None:
    seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) AS s FROM grants").fetchone()["s"])
    for index, grant in enumerate(grants or []):
        where = f"grants.json [{index}]"
        try:
            if not isinstance(grant, dict):
                raise bad_request("a grant must be an object")
            metastore_id = metastore_of(grant, where)
            securable_type = normalise_securable_type(str(grant.get("securable_type") or ""))
            full_name = str(grant.get("full_name") or "")
            if securable_type == "METASTORE" and not full_name:
                full_name = metastore_id
            securable = find(db, metastore_id, securable_type, full_name)
            if securable is None:
                raise bad_request(
                    f"{securable_type.lower()} {full_name} is not in unity_catalog.json "
                    f"(metastore {metastore_id})"
                )
            principal_name = str(grant.get("principal") or "").strip()
            if not principal_name:
                raise bad_request("principal is required")
            resolved = resolve_principal(db, principal_name)
            stored = resolved.name if resolved is not None else principal_name
            privileges = [normalise_privilege(p) for p in grant.get("privileges") or []]
            for privilege in privileges:
                check_applicable(privilege, securable.kind, securable.full_name)
        except ApiError as exc:
            raise seed_error(f"{where}: {exc.message}") from None
        for privilege in privileges:
            seq += 1
            db.execute(
                "INSERT OR IGNORE INTO grants(metastore_id, securable_type, full_name_lower, principal, "
                "principal_lower, privilege, seq) VALUES (?,?,?,?,?,?,?)",
                (metastore_id, securable_type, securable.key, stored, stored.lower(), privilege, seq),
            )

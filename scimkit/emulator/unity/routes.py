"""Unity Catalog routes, per workspace (`X-Databricks-Workspace-Id`; the default workspace without it).

Every route answers for the metastore bound to the routed workspace (`workspaces.metastore_id`):
securables of other metastores do not exist there. Wire facts: `databricks-api.md` sections 4 and
6; the choices taken where Databricks is silent are in `DECISIONS` (the ledger lists them).

    GET   metastore_summary | current-metastore-assignment | metastores | metastores/{id}
    GET   catalogs | schemas | tables | volumes | functions | external-locations | storage-credentials
    GET   <those>/{name}            PATCH <those>/{name}  (owner change; comment too)
    GET   permissions/{type}/{full_name}            PATCH the same (grant changes)
    GET   effective-permissions/{type}/{full_name}
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
from collections.abc import Callable
from typing import Any

from .. import bounds
from ..errors import ApiError, bad_request, not_found
from ..store import loads
from ..wire import Ctx, Decision, Reply, Route
from . import rules

UC = "/api/2.1/unity-catalog"

# -- paging ----------------------------------------------------------------------------------------


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"scimkit:{offset}".encode()).decode().rstrip("=")


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if not (number.isascii() and number.isdigit()) or len(number) > 18:
            raise ValueError(raw)  # also keeps the offset inside 64 bits (SQLite's integers)
        offset = int(number)
        if prefix != "scimkit" or offset < 0:
            raise ValueError(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request(
            f"Invalid page_token '{token}': pass the next_page_token of the previous page unchanged."
        ) from None
    return offset


def _max_results(ctx: Ctx) -> int | None:
    raw = ctx.args.get("max_results")
    if raw is None or raw == "":
        return None
    return bounds.parse_int(raw, "max_results", "api")


def list_page_size(ctx: Ctx) -> int | None:
    """Securable lists: unset -> everything; 0 -> server page size; >0 -> clamped; <0 -> 400."""
    value = _max_results(ctx)
    server = ctx.config.limits.uc_page_size
    if value is None:
        return None
    if value < 0:
        raise bad_request(f"max_results must be 0 (server page size) or positive, got {value}.")
    return server if value == 0 else min(value, server)


def grants_page_size(ctx: Ctx) -> int | None:
    """Grants get / get-effective: unset -> everything; 0 -> server page size; 1-149 and <0 -> 400;
    >=150 -> min(value, server page size). A page counts privileges, and never splits a principal."""
    value = _max_results(ctx)
    server = ctx.config.limits.grants_page_size
    if value is None:
        return None
    if value < 0 or 0 < value < 150:
        raise bad_request(
            f"max_results must be 0 (server page size) or at least 150, got {value}; a smaller "
            "page could not hold one principal's complete privilege assignment."
        )
    return server if value == 0 else min(value, server)


def page_of_assignments(
    items: list[dict[str, Any]], offset: int, size: int | None, key: str = "privilege_assignments"
) -> dict[str, Any]:
    """Slice whole assignments so that a page holds at most `size` privileges (at least one assignment)."""
    if size is None:
        return {key: items[offset:]}
    page: list[dict[str, Any]] = []
    count = 0
    index = offset
    while index < len(items):
        weight = max(1, len(items[index]["privileges"]))
        if page and count + weight > size:
            break
        page.append(items[index])
        count += weight
        index += 1
    body: dict[str, Any] = {key: page}
    if index < len(items):
        body["next_page_token"] = encode_token(index)
    return body


# -- helpers ---------------------------------------------------------------------------------------


def _metastore(ctx: Ctx, db: sqlite3.Connection) -> str:
    return rules.workspace_metastore(db, ctx.workspace_id)


def _flag(ctx: Ctx, name: str) -> bool:
    return str(ctx.args.get(name, "")).strip().lower() in ("true", "1")


def _required(ctx: Ctx, name: str) -> str:
    value = ctx.args.get(name, "").strip()
    if not value:
        raise bad_request(f"Missing required query parameter '{name}'.")
    return value


def _body(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _is_admin(ctx: Ctx) -> bool:
    return ctx.caller.role == "admin"


# -- metastores ------------------------------------------------------------------------------------


def _metastore_summary(ctx: Ctx) -> Reply:
    with ctx.store.tx() as db:
        metastore_id = _metastore(ctx, db)
        doc = rules.metastore_doc(db, metastore_id)
    if doc is None:
        raise not_found(f"Metastore '{metastore_id}' does not exist.", "METASTORE_DOES_NOT_EXIST")
    return Reply(200, rules.metastore_info(doc))


def _current_assignment(ctx: Ctx) -> Reply:
    with ctx.store.tx() as db:
        metastore_id = _metastore(ctx, db)
        row = db.execute("SELECT doc FROM workspaces WHERE workspace_id=?", (ctx.workspace_id,)).fetchone()
    workspace = loads(row["doc"]) if row else {}
    return Reply(
        200,
        {
            "workspace_id": ctx.workspace_id,
            "metastore_id": metastore_id,
            "default_catalog_name": workspace.get("default_catalog_name") or "hive_metastore",
        },
    )


def _list_metastores(ctx: Ctx) -> Reply:
    size = list_page_size(ctx)
    offset = decode_token(ctx.args.get("page_token"))
    with ctx.store.tx() as db:
        rows = db.execute("SELECT doc FROM metastores ORDER BY rowid").fetchall()
    items = [rules.metastore_info(loads(r["doc"])) for r in rows]
    end = len(items) if size is None else offset + size
    body: dict[str, Any] = {"metastores": items[offset:end]}
    if end < len(items):
        body["next_page_token"] = encode_token(end)
    return Reply(200, body)


def _get_metastore(ctx: Ctx, id: str) -> Reply:  # noqa: A002 - the SDK's name for it
    with ctx.store.tx() as db:
        row = db.execute("SELECT doc FROM metastores WHERE lower(metastore_id)=lower(?)", (id,)).fetchone()
    if row is None:
        raise not_found(f"Metastore '{id}' does not exist.", "METASTORE_DOES_NOT_EXIST")
    return Reply(200, rules.metastore_info(loads(row["doc"])))


# -- securables ------------------------------------------------------------------------------------

# url segment, securable type, list key, required list parameters (parent path), SDK attribute
SECURABLE_KINDS: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    ("catalogs", "CATALOG", "catalogs", (), "w.catalogs"),
    ("schemas", "SCHEMA", "schemas", ("catalog_name",), "w.schemas"),
    ("tables", "TABLE", "tables", ("catalog_name", "schema_name"), "w.tables"),
    ("volumes", "VOLUME", "volumes", ("catalog_name", "schema_name"), "w.volumes"),
    ("functions", "FUNCTION", "functions", ("catalog_name", "schema_name"), "w.functions"),
    ("external-locations", "EXTERNAL_LOCATION", "external_locations", (), "w.external_locations"),
    ("storage-credentials", "STORAGE_CREDENTIAL", "storage_credentials", (), "w.storage_credentials"),
)


def _shape(ctx: Ctx, securable: rules.Securable) -> dict[str, Any]:
    body = rules.info(securable)
    if securable.securable_type == "TABLE":
        if _flag(ctx, "omit_columns"):
            body.pop("columns", None)
        if _flag(ctx, "omit_properties"):
            body.pop("properties", None)
        if _flag(ctx, "omit_username"):
            for key in ("owner", "created_by", "updated_by"):
                body.pop(key, None)
    return body


def _make_list(securable_type: str, key: str, parents: tuple[str, ...]) -> Callable[..., Reply]:
    def handler(ctx: Ctx) -> Reply:
        names = [_required(ctx, name) for name in parents]
        size = list_page_size(ctx)
        offset = decode_token(ctx.args.get("page_token"))
        with ctx.store.tx() as db:
            metastore_id = _metastore(ctx, db)
            parent_lower = ""
            if names:
                rules.get(db, metastore_id, "CATALOG", names[0])
                parent_lower = names[0].lower()
            if len(names) == 2:
                rules.get(db, metastore_id, "SCHEMA", f"{names[0]}.{names[1]}")
                parent_lower = f"{names[0]}.{names[1]}".lower()
            limit = None if size is None else size + 1
            found = rules.list_children(db, metastore_id, securable_type, parent_lower, offset, limit)
        body: dict[str, Any] = {key: [_shape(ctx, s) for s in found[:size]]}
        if size is not None and len(found) > size:
            body["next_page_token"] = encode_token(offset + size)
        return Reply(200, body)

    return handler


def _make_get(securable_type: str) -> Callable[..., Reply]:
    def handler(ctx: Ctx, name: str) -> Reply:
        with ctx.store.tx() as db:
            securable = rules.get(db, _metastore(ctx, db), securable_type, name)
        return Reply(200, _shape(ctx, securable))

    return handler


def _make_update(securable_type: str) -> Callable[..., Reply]:
    def handler(ctx: Ctx, name: str) -> Reply:
        body = _body(ctx)
        with ctx.store.tx() as db:
            securable = rules.get(db, _metastore(ctx, db), securable_type, name)
            new_name = body.get("new_name")
            if new_name and str(new_name).lower() != securable.full_name.split(".")[-1].lower():
                raise ApiError(
                    501,
                    "NOT_IMPLEMENTED",
                    "The emulator does not rename securables; it changes owner and comment only.",
                )
            owner = body.get("owner")
            comment = body.get("comment")
            if owner is None and comment is None:
                return Reply(200, rules.info(securable))
            if owner is not None and (not isinstance(owner, str) or not owner.strip()):
                raise bad_request("owner must be a principal name.")
            rules.require_manage(db, securable, ctx.caller.principal_name, _is_admin(ctx), "change")
            updated = rules.set_owner(
                db,
                securable,
                (owner or securable.owner).strip(),
                ctx.caller.principal_name,
                comment if isinstance(comment, str) else None,
            )
        return Reply(200, rules.info(updated))

    return handler


# -- grants ----------------------------------------------------------------------------------------


def _securable_for_grants(
    ctx: Ctx, db: sqlite3.Connection, securable_type: str, full_name: str
) -> rules.Securable:
    stype = rules.normalise_securable_type(securable_type)
    return rules.get(db, _metastore(ctx, db), stype, full_name)


def _get_permissions(ctx: Ctx, securable_type: str, full_name: str) -> Reply:
    size = grants_page_size(ctx)
    offset = decode_token(ctx.args.get("page_token"))
    principal = ctx.args.get("principal") or None
    with ctx.store.tx() as db:
        securable = _securable_for_grants(ctx, db, securable_type, full_name)
        items = rules.assignments(db, securable, principal)
    return Reply(200, page_of_assignments(items, offset, size))


def _update_permissions(ctx: Ctx, securable_type: str, full_name: str) -> Reply:
    body = _body(ctx)
    with ctx.store.tx() as db:
        securable = _securable_for_grants(ctx, db, securable_type, full_name)
        rules.require_manage(db, securable, ctx.caller.principal_name, _is_admin(ctx))
        changes = rules.parse_changes(body.get("changes"))
        rules.update_grants(db, securable, changes)
        items = rules.assignments(db, securable)
    if body.get("omit_permissions_in_response") is True:
        return Reply(200, {})
    return Reply(200, {"privilege_assignments": items})


def _get_effective(ctx: Ctx, securable_type: str, full_name: str) -> Reply:
    size = grants_page_size(ctx)
    offset = decode_token(ctx.args.get("page_token"))
    principal = ctx.args.get("principal") or None
    with ctx.store.tx() as db:
        securable = _securable_for_grants(ctx, db, securable_type, full_name)
        items = rules.effective(db, securable, principal)
    return Reply(200, page_of_assignments(items, offset, size))


# -- route table -----------------------------------------------------------------------------------


def _routes() -> list[Route]:
    routes = [
        Route(
            ("GET",),
            f"{UC}/metastore_summary",
            _metastore_summary,
            "uc-list",
            "api",
            "Summary of the metastore bound to the routed workspace.",
            sdk="w.metastores.summary()",
        ),
        Route(
            ("GET",),
            f"{UC}/current-metastore-assignment",
            _current_assignment,
            "uc-list",
            "api",
            "The routed workspace's metastore assignment {workspace_id, metastore_id, default_catalog_name}.",
            sdk="w.metastores.current()",
        ),
        Route(
            ("GET",),
            f"{UC}/metastores",
            _list_metastores,
            "uc-list",
            "api",
            "Every metastore of the account (max_results/page_token paging).",
            sdk="w.metastores.list()",
        ),
        Route(
            ("GET",),
            f"{UC}/metastores/<id>",
            _get_metastore,
            "uc-list",
            "api",
            "One metastore by id.",
            sdk="w.metastores.get(id)",
        ),
    ]
    for segment, securable_type, key, parents, sdk in SECURABLE_KINDS:
        noun = securable_type.lower().replace("_", " ")
        required = ", ".join(parents)
        get_name = "read" if securable_type == "VOLUME" else "get"
        routes += [
            Route(
                ("GET",),
                f"{UC}/{segment}",
                _make_list(securable_type, key, parents),
                "uc-list",
                "api",
                f"List {noun}s of the routed workspace's metastore"
                + (f" (required: {required})" if parents else "")
                + f"; items under '{key}'.",
                sdk=f"{sdk}.list({required})",
                notes="max_results: unset = all, 0 = server page size, >0 clamped, <0 = 400; "
                "the end is a missing next_page_token."
                + (" omit_columns / omit_properties / omit_username honoured." if key == "tables" else ""),
            ),
            Route(
                ("GET",),
                f"{UC}/{segment}/<name>",
                _make_get(securable_type),
                "uc-list",
                "api",
                f"One {noun} by (full) name, case-insensitive.",
                sdk=f"{sdk}.{get_name}(name)",
            ),
            Route(
                ("PATCH",),
                f"{UC}/{segment}/<name>",
                _make_update(securable_type),
                "uc-grants-write",
                "api",
                f"Change a {noun}'s owner (and comment); the owner must be an existing principal.",
                sdk=f"{sdk}.update(name, owner=...)",
                writes=True,
                notes="new_name (rename) answers 501; other fields are ignored.",
            ),
        ]
    routes += [
        Route(
            ("GET",),
            f"{UC}/permissions/<securable_type>/<path:full_name>",
            _get_permissions,
            "uc-grants-read",
            "api",
            "Direct grants on a securable (or the metastore), optional principal=.",
            sdk="w.grants.get(securable_type, full_name)",
            notes="securable_type case-insensitive; max_results unset = all, 0 = server page, 1-149 = 400.",
        ),
        Route(
            ("PATCH",),
            f"{UC}/permissions/<securable_type>/<path:full_name>",
            _update_permissions,
            "uc-grants-write",
            "api",
            "Add and remove privileges, validated whole, then applied all or nothing.",
            sdk="w.grants.update(securable_type, full_name, changes=[...])",
            writes=True,
            notes="Only a metastore admin, the owner, a parent's owner or a MANAGE holder (403 otherwise).",
        ),
        Route(
            ("GET",),
            f"{UC}/effective-permissions/<securable_type>/<path:full_name>",
            _get_effective,
            "uc-grants-read",
            "api",
            "Effective privileges: through groups, account users and inheritance.",
            sdk="w.grants.get_effective(securable_type, full_name)",
            notes="inherited_from_type/name only for privileges from a parent catalog or schema.",
        ),
    ]
    return routes


ROUTES: list[Route] = _routes()


def privilege_table_markdown() -> str:
    """The privilege table as a markdown table, for the ledger (`docs/privileges.md` has the prose)."""
    lines = ["| securable (kind) | privileges it takes | source |", "| --- | --- | --- |"]
    for kind, privileges in rules.PRIVILEGES.items():
        lines.append(f"| {kind} | {', '.join(privileges)} | {rules.PRIVILEGE_SOURCES[kind]} |")
    return "\n".join(lines)


DECISIONS: list[Decision] = [
    Decision(
        "UC privilege table",
        "Each securable type takes the privileges in 'Privileges per securable type' below; a catalog or schema "
        "also takes its children's (granted there, inherited below); a TABLE is refined by table_type (a VIEW "
        "takes no MODIFY, a MATERIALIZED_VIEW/STREAMING_TABLE takes REFRESH). Anything else is 400 "
        "INVALID_PARAMETER_VALUE naming the securable and listing what it takes. Prose: docs/privileges.md.",
        "per-row sources in the table below; databricks-api.md 4.1",
    ),
    Decision(
        "UC privilege spelling",
        "Privileges are accepted in any case with spaces, underscores or hyphens ('use catalog', "
        "'ALL PRIVILEGES') and stored and returned UPPER_SNAKE; names outside the SDK's Privilege enum are "
        "400 (the SDK would silently drop them from responses).",
        "databricks-api.md 4.1 (terraform NormalizePrivilege; SDK _repeated_enum)",
    ),
    Decision(
        "UC securable type in the path",
        "Case-insensitive; external-location/storage-credential hyphen spellings and view/materialized_view "
        "(as table) accepted; anything else 400.",
        "databricks-api.md 4.1 and 6.9 (described as case-insensitive)",
    ),
    Decision(
        "UC grant changes are atomic",
        "A PATCH is validated whole (privilege names, applicability, principals) before any change is "
        "applied; one bad change refuses the request. The same privilege in add and remove of one change is "
        "400. Removing a privilege not held is a no-op. The response lists all assignments after the change, "
        "sorted by principal, privileges sorted; omit_permissions_in_response=true answers {}.",
        "issue 3; databricks-api.md 7.4 (the seed script is refused as a whole)",
    ),
    Decision(
        "UC principals",
        "Matched case-insensitively against users (userName), service principals (applicationId), groups "
        "(displayName) and 'account users'; stored and returned with the account's spelling. Granting to an "
        "unknown principal is 404 PRINCIPAL_DOES_NOT_EXIST; removing from one is accepted, so grants to "
        "deleted principals can be revoked. principal= naming an unknown principal that holds nothing is 404.",
        "databricks-api.md 4.1 (principal kinds); error code and status unverified",
    ),
    Decision(
        "UC who may change grants and owners",
        "The admin token (account admin / metastore admin), the metastore owner, the securable's owner, the "
        "owner of its parent schema or catalog, or a MANAGE holder on it or a parent; ownership and MANAGE "
        "count through groups. Otherwise 403 PERMISSION_DENIED. Owner changes use the same rule.",
        "DOC https://docs.databricks.com/volumes/privileges.html; databricks-api.md 4.2",
    ),
    Decision(
        "UC effective permissions",
        "With principal=: that principal's privileges from grants to it, to its groups (transitive) and, for "
        "users and service principals, to 'account users'; on the securable (no inherited_from_*) and from its "
        "schema and catalog (inherited_from_type SCHEMA/CATALOG, inherited_from_name the parent's full name). "
        "The same privilege from two sources appears once per source. Metastore grants are not inherited; "
        "ownership is not a privilege; ALL_PRIVILEGES is returned as granted. Inherited privileges are not "
        "filtered by what the child takes (USE_CATALOG from the catalog shows on a table). Without "
        "principal=: one entry per principal named in a grant on the securable or an ancestor, each computed "
        "as with principal= (groups are not expanded into members). Principals with nothing are omitted.",
        "databricks-api.md 7.3 (our reading; verify against a real account)",
    ),
    Decision(
        "UC paging",
        "Lists: unset max_results = everything; 0 = limits.uc_page_size; >0 = min(value, uc_page_size); "
        "<0 = 400. Grants and effective grants: unset = everything; 0 = limits.grants_page_size; 1-149 and <0 = "
        "400; >=150 = min(value, grants_page_size), counted in privileges without splitting a principal. "
        "page_token is an opaque base64 offset; the last page has no next_page_token.",
        "databricks-api.md 4.1 (SDK docstrings)",
    ),
    Decision(
        "UC owner change and renames",
        "PATCH {owner} on any securable sets an existing principal as owner (not 'account users'); comment "
        "is applied too; new_name (rename) answers 501 NOT_IMPLEMENTED; other fields are ignored.",
        "issue 3; databricks-api.md 4.2",
    ),
    Decision(
        "UC metastore reads",
        "metastores list/get are served to every token (Databricks documents them as admin-only); "
        "current-metastore-assignment reports default_catalog_name from the workspace seed, else "
        "'hive_metastore'. A workspace without a metastore gets 404 METASTORE_DOES_NOT_EXIST.",
        "SDK catalog.py MetastoresAPI docstrings; default catalog (inferred)",
    ),
    Decision(
        "UC unknown objects",
        "404 with CATALOG_DOES_NOT_EXIST, SCHEMA_DOES_NOT_EXIST, TABLE_DOES_NOT_EXIST, VOLUME_DOES_NOT_EXIST, "
        "FUNCTION_DOES_NOT_EXIST, EXTERNAL_LOCATION_DOES_NOT_EXIST, STORAGE_CREDENTIAL_DOES_NOT_EXIST or "
        "METASTORE_DOES_NOT_EXIST (the SDK maps them to NotFound by status). Missing required query "
        "parameters are 400 INVALID_PARAMETER_VALUE. Names are matched case-insensitively.",
        "databricks-api.md 2.2 (UC codes unverified)",
    ),
]

"""Unity Catalog: read every metastore's securables, owners and grants completely, and change grants
and owners idempotently.

Reading (`read_catalog`) finds each metastore once (one `w.metastores.summary()` per workspace,
grouped by metastore id; the lowest workspace id of a metastore reads it), then walks it:

    metastore -> catalogs, external locations, storage credentials -> schemas -> tables, volumes,
    functions;   then one grants GET per securable (the metastore included)

concurrently, every request under a client-side token bucket (`uc-list` for lists, gets and
metastore reads, `uc-grants-read` for grants). One token is taken per HTTP request, pages
included: the SDK's own service classes send the requests through `limits.MeteredApiClient`, which stands in for
the SDK's ApiClient and takes the token before each one. Every failed read (after the SDK's
retries) is a `ReadFailure` in `CatalogRead.failures`, never skipped. Skipped on purpose:
catalogs of type INTERNAL_CATALOG and `hive_metastore` (the permissions API does not serve them)
and each catalog's `information_schema` (read-only views). SYSTEM_CATALOG catalogs are read: grants
on `system` tables matter to auditors.

Grants are read from the raw response body, not the SDK's typed result: the SDK silently drops
privilege names its enum does not know (`databricks-api.md` 4.1), and an audit must not.

Changing (`grant`, `revoke`, `set_owner`; SQL scripts in `scimkit.sql_script`) validates
everything before any write: privilege names (`USE CATALOG` -> USE_CATALOG), privileges the
securable takes (the table below), the principal (a user's email, a group's name, a service
principal's applicationId or `account users`, looked up over SCIM), and the securable (one GET).
Then it reads the current grants or owner and sends only what differs, so a second run sends no
write and returns `Change(changed=False)`. A 403 from the API is raised as the SDK's
`PermissionDenied`, never retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from databricks.sdk.errors import NotFound
from databricks.sdk.service import catalog

from .connect import Account
from .errors import InapplicablePrivilege, InvalidInput, UnknownPrincipal, UnknownSecurable
from .identities import EMAIL, Change, find_group, find_service_principal, find_user
from .limits import MeteredApiClient
from .parallel import ReadFailure, describe_error, run_concurrently
from .schema import ACCOUNT_USERS_NAME

# -- privileges ------------------------------------------------------------------------------------
# The toolkit's own copy of the privilege table (the emulator's is the same: a unit test checks it).
# Sources: docs/privileges.md.

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
# A catalog or schema also takes every privilege of what it contains (granted there, inherited below).
_OBJECT_PRIVILEGES = tuple(sorted(set(_TABLE_OWN + _MATERIALIZED_OWN + _VOLUME_OWN + _FUNCTION_OWN)))
_SCHEMA_ALL = tuple(sorted(set(_SCHEMA_OWN + _OBJECT_PRIVILEGES)))
_CATALOG_ALL = tuple(sorted(set(_CATALOG_OWN + _SCHEMA_ALL)))

# kind -> the privileges it takes. A kind is a securable type, except that a TABLE is refined by its
# `table_type` (a VIEW takes no MODIFY; a MATERIALIZED_VIEW or STREAMING_TABLE takes REFRESH).
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
PRIVILEGE_NAMES: frozenset[str] = frozenset(p for privileges in PRIVILEGES.values() for p in privileges)

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
_TYPE_ALIASES = {
    "DATABASE": "SCHEMA",
    "VIEW": "TABLE",
    "MATERIALIZED_VIEW": "TABLE",
    "STREAMING_TABLE": "TABLE",
}
OBJECT_TYPES = ("TABLE", "VOLUME", "FUNCTION")
SKIPPED_CATALOG_TYPES = frozenset({"INTERNAL_CATALOG"})
SKIPPED_CATALOGS = frozenset({"hive_metastore", "__databricks_internal"})
SKIPPED_SCHEMAS = frozenset({"information_schema"})


def sql_spelling(privilege: str) -> str:
    """USE_CATALOG -> USE CATALOG (how SQL writes it)."""
    return privilege.replace("_", " ")


def normalise_privilege(raw: str) -> str:
    """`use catalog`, `USE_CATALOG`, `All Privileges` -> UPPER_SNAKE; unknown names are InvalidInput."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput(
            f"{raw!r} is not a privilege name.",
            field="privileges",
            value=raw,
            fix="use names such as SELECT, USE CATALOG, READ VOLUME",
        )
    value = "_".join(raw.strip().upper().replace("-", " ").replace("_", " ").split())
    if value not in PRIVILEGE_NAMES:
        raise InvalidInput(
            f"Unknown privilege '{raw}'.",
            field="privileges",
            value=raw,
            fix="use a Unity Catalog privilege such as SELECT, MODIFY, USE CATALOG, USE SCHEMA, "
            "READ VOLUME, WRITE VOLUME, EXECUTE or ALL PRIVILEGES",
        )
    return value


def normalise_securable_type(raw: str) -> str:
    """`catalog`, `external location`, `DATABASE`, `view` -> METASTORE, CATALOG, SCHEMA, TABLE, ..."""
    value = "_".join(str(raw or "").strip().upper().replace("-", " ").replace("_", " ").split())
    value = _TYPE_ALIASES.get(value, value)
    if value not in SECURABLE_TYPES:
        raise InvalidInput(
            f"Unknown securable type '{raw}'.",
            field="securable_type",
            value=raw,
            fix=f"use one of {', '.join(SECURABLE_TYPES)}",
        )
    return value


def kind_of(securable_type: str, table_type: str | None = None) -> str:
    """The row of PRIVILEGES that applies: the type, refined by `table_type` for tables."""
    if securable_type == "TABLE" and table_type:
        table_type = table_type.upper()
        if table_type in ("VIEW", "METRIC_VIEW"):
            return "VIEW"
        if table_type in ("MATERIALIZED_VIEW", "STREAMING_TABLE"):
            return table_type
    return securable_type


def check_applicable(privileges: Iterable[str], kind: str, full_name: str) -> None:
    """Raise InapplicablePrivilege naming every privilege `kind` does not take, and what it takes."""
    takes = PRIVILEGES[kind]
    wrong = [p for p in privileges if p not in takes]
    if wrong:
        names = ", ".join(sql_spelling(p) for p in wrong)
        verb = "is" if len(wrong) == 1 else "are"
        raise InapplicablePrivilege(
            f"{names} {verb} not applicable to {kind} {full_name}; a {kind} takes "
            f"{', '.join(sql_spelling(p) for p in takes)}.",
            field="privileges",
            value=wrong,
            fix="grant a privilege the securable takes (for files in a volume: READ VOLUME or WRITE VOLUME)",
        )


class _UnlistedPrivilege:
    """A privilege the installed SDK's enum does not know (older SDKs lack e.g. EXTERNAL_USE_LOCATION):
    `PermissionsChange.as_dict` only reads `.value`, so this goes on the wire unchanged."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Privilege({self.value!r})"


def privilege_enum(name: str) -> Any:
    """`catalog.Privilege` for a name (strings crash `PermissionsChange.as_dict`)."""
    try:
        return catalog.Privilege(name)
    except ValueError:
        return _UnlistedPrivilege(name)


# -- metered requests ------------------------------------------------------------------------------


def _metered(account: Account, w: Any, rate_class: str, prepaid: int = 0) -> MeteredApiClient:
    return MeteredApiClient(w.api_client, account.limits, rate_class, prepaid)


# -- records ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetastoreRecord:
    metastore_id: str
    name: str | None
    owner: str | None
    region: str | None
    workspace_ids: tuple[int, ...]  # the workspaces attached to it (that were read)
    read_through: int  # the workspace whose client read it


@dataclass(frozen=True)
class SecurableRecord:
    """One securable (the metastore too: `full_name` is then the metastore id)."""

    metastore_id: str
    securable_type: str  # METASTORE, CATALOG, SCHEMA, TABLE, VOLUME, FUNCTION, EXTERNAL_LOCATION, ...
    full_name: str
    parent_full_name: str | None
    catalog_name: str | None
    schema_name: str | None
    owner: str | None
    kind: str | None  # catalog_type, table_type or volume_type where the API gives one


@dataclass(frozen=True)
class GrantRecord:
    """One privilege granted directly on a securable (no inheritance), as the permissions API says."""

    metastore_id: str
    securable_type: str
    full_name: str
    principal: str
    privilege: str


@dataclass
class CatalogRead:
    """Everything read about Unity Catalog, and what could not be read."""

    metastores: list[MetastoreRecord] = field(default_factory=list)
    securables: list[SecurableRecord] = field(default_factory=list)
    grants: list[GrantRecord] = field(default_factory=list)
    failures: list[ReadFailure] = field(default_factory=list)
    workspaces_without_metastore: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failures

    @property
    def workspace_metastores(self) -> dict[int, str]:
        """workspace id -> the metastore attached to it (workspaces without one are absent)."""
        return {wid: m.metastore_id for m in self.metastores for wid in m.workspace_ids}

    def securable(
        self, securable_type: str, full_name: str, metastore_id: str | None = None
    ) -> SecurableRecord | None:
        wanted = (normalise_securable_type(securable_type), full_name.lower())
        for s in self.securables:
            if (s.securable_type, s.full_name.lower()) == wanted and metastore_id in (None, s.metastore_id):
                return s
        return None

    def grants_on(
        self, securable_type: str, full_name: str, metastore_id: str | None = None
    ) -> dict[str, set[str]]:
        """principal -> privileges granted directly on one securable."""
        wanted = (normalise_securable_type(securable_type), full_name.lower())
        out: dict[str, set[str]] = {}
        for g in self.grants:
            if (g.securable_type, g.full_name.lower()) == wanted and metastore_id in (None, g.metastore_id):
                out.setdefault(g.principal, set()).add(g.privilege)
        return out


# -- reading ---------------------------------------------------------------------------------------


def _value(enum_value: Any) -> str | None:
    if enum_value is None:
        return None
    return str(getattr(enum_value, "value", enum_value))


def _summary(account: Account, workspace_id: int) -> catalog.GetMetastoreSummaryResponse | None:
    """The workspace's metastore (None when none is assigned). The caller took the token."""
    api = _metered(account, account.workspace(workspace_id), "uc-list", prepaid=1)
    try:
        return catalog.MetastoresAPI(api).summary()
    except NotFound:
        return None


def _list_top(account: Account, metastore: MetastoreRecord, securable_type: str) -> list[SecurableRecord]:
    api = _metered(account, account.workspace(metastore.read_through), "uc-list", prepaid=1)
    ms = metastore.metastore_id
    if securable_type == "CATALOG":
        out = []
        for c in catalog.CatalogsAPI(api).list(max_results=0):
            kind = _value(c.catalog_type)
            if kind in SKIPPED_CATALOG_TYPES or (c.name or "").lower() in SKIPPED_CATALOGS:
                continue
            out.append(SecurableRecord(ms, "CATALOG", c.name, None, c.name, None, c.owner, kind))
        return out
    if securable_type == "EXTERNAL_LOCATION":
        return [
            SecurableRecord(ms, "EXTERNAL_LOCATION", x.name, None, None, None, x.owner, None)
            for x in catalog.ExternalLocationsAPI(api).list(max_results=0)
        ]
    return [
        SecurableRecord(ms, "STORAGE_CREDENTIAL", x.name, None, None, None, x.owner, None)
        for x in catalog.StorageCredentialsAPI(api).list(max_results=0)
    ]


def _list_schemas(
    account: Account, metastore: MetastoreRecord, parent: SecurableRecord
) -> list[SecurableRecord]:
    api = _metered(account, account.workspace(metastore.read_through), "uc-list", prepaid=1)
    out = []
    for s in catalog.SchemasAPI(api).list(catalog_name=parent.full_name, max_results=0):
        if (s.name or "").lower() in SKIPPED_SCHEMAS:
            continue
        full_name = s.full_name or f"{parent.full_name}.{s.name}"
        out.append(
            SecurableRecord(
                metastore.metastore_id,
                "SCHEMA",
                full_name,
                parent.full_name,
                parent.full_name,
                s.name,
                s.owner,
                None,
            )
        )
    return out


def _list_objects(
    account: Account, metastore: MetastoreRecord, parent: SecurableRecord, securable_type: str
) -> list[SecurableRecord]:
    api = _metered(account, account.workspace(metastore.read_through), "uc-list", prepaid=1)
    cat, sch = parent.catalog_name or "", parent.schema_name or ""
    items: Iterable[Any]
    if securable_type == "TABLE":
        items = catalog.TablesAPI(api).list(
            catalog_name=cat, schema_name=sch, max_results=0, omit_columns=True, omit_properties=True
        )
    elif securable_type == "VOLUME":
        items = catalog.VolumesAPI(api).list(catalog_name=cat, schema_name=sch, max_results=0)
    else:
        items = catalog.FunctionsAPI(api).list(catalog_name=cat, schema_name=sch, max_results=0)
    out = []
    for item in items:
        kind = _value(getattr(item, "table_type", None) or getattr(item, "volume_type", None))
        full_name = item.full_name or f"{parent.full_name}.{item.name}"
        out.append(
            SecurableRecord(
                metastore.metastore_id,
                securable_type,
                full_name,
                parent.full_name,
                cat,
                sch,
                item.owner,
                kind,
            )
        )
    return out


def read_grants(
    account: Account, w: Any, securable_type: str, full_name: str, prepaid: int = 0
) -> list[tuple[str, str]]:
    """(principal, privilege) pairs granted directly on one securable, every page, from the raw body
    (privileges the installed SDK does not know are kept)."""
    api = _metered(account, w, "uc-grants-read", prepaid)
    grants_api = catalog.GrantsAPI(api)
    out: list[tuple[str, str]] = []
    token: str | None = None
    while True:
        grants_api.get(securable_type.lower(), full_name, max_results=0, page_token=token)
        body = api.last if isinstance(api.last, dict) else {}
        for assignment in body.get("privilege_assignments") or []:
            principal = assignment.get("principal")
            for privilege in assignment.get("privileges") or []:
                if principal and isinstance(privilege, str):
                    out.append((principal, "_".join(privilege.upper().split())))
        token = body.get("next_page_token")
        if not token:
            return out


def _securable_label(s: SecurableRecord) -> str:
    return f"{s.securable_type} {s.full_name}"


def read_catalog(
    account: Account, workers: int = 8, progress: bool = True, workspace_ids: Iterable[int] | None = None
) -> CatalogRead:
    """Read every metastore of the account: securables with owners, and the direct grants on each.

    `workspace_ids` saves the workspace list request when the caller already has it (a snapshot
    that read identities first). Failures are recorded in `CatalogRead.failures`, never raised."""
    read = CatalogRead()
    if workspace_ids is None:
        try:
            workspace_ids = account.workspace_ids
        except Exception as exc:  # noqa: BLE001 - recorded as incomplete
            read.failures.append(ReadFailure("workspaces", "*", "a.workspaces.list", describe_error(exc)))
            return read
    ids = sorted({int(i) for i in workspace_ids})

    def run(
        items: Sequence[Any],
        call: Callable[[Any], Any],
        rate_class: str,
        object_type: str,
        name: Callable[[Any], str],
        operation: str,
        desc: str,
    ) -> list[tuple[Any, Any]]:
        outcome = run_concurrently(
            items,
            call,
            limits=account.limits,
            rate_class=rate_class,
            object_type=object_type,
            name=name,
            operation=operation,
            workers=workers,
            desc=desc,
            progress=progress,
        )
        read.failures.extend(outcome.failures)
        return outcome.results

    # 1. each workspace's metastore, grouped: every metastore is read once, through one workspace.
    summaries = run(
        ids,
        lambda wid: _summary(account, wid),
        "uc-list",
        "metastore",
        lambda wid: f"workspace {wid}",
        "w.metastores.summary",
        "metastores",
    )
    by_metastore: dict[str, list[tuple[int, catalog.GetMetastoreSummaryResponse]]] = {}
    for wid, summary in summaries:
        if summary is None or not summary.metastore_id:
            read.workspaces_without_metastore.append(wid)
        else:
            by_metastore.setdefault(summary.metastore_id, []).append((wid, summary))
    for metastore_id, attached in sorted(by_metastore.items()):
        wid, summary = min(attached, key=lambda pair: pair[0])
        read.metastores.append(
            MetastoreRecord(
                metastore_id,
                summary.name,
                summary.owner,
                summary.region,
                tuple(sorted(w for w, _ in attached)),
                wid,
            )
        )
    metastores = {m.metastore_id: m for m in read.metastores}
    securables = [
        SecurableRecord(m.metastore_id, "METASTORE", m.metastore_id, None, None, None, m.owner, None)
        for m in read.metastores
    ]

    # 2. catalogs, external locations, storage credentials of each metastore.
    for t, operation, desc in (
        ("CATALOG", "w.catalogs.list", "catalogs"),
        ("EXTERNAL_LOCATION", "w.external_locations.list", "external locations"),
        ("STORAGE_CREDENTIAL", "w.storage_credentials.list", "storage credentials"),
    ):
        for _, found in run(
            read.metastores,
            lambda m, t=t: _list_top(account, m, t),
            "uc-list",
            "securable",
            lambda m: m.metastore_id,
            operation,
            desc,
        ):
            securables.extend(found)
    catalogs = [s for s in securables if s.securable_type == "CATALOG"]

    # 3. schemas of each catalog.
    schemas: list[SecurableRecord] = []
    for _, found in run(
        catalogs,
        lambda c: _list_schemas(account, metastores[c.metastore_id], c),
        "uc-list",
        "securable",
        lambda c: c.full_name,
        "w.schemas.list",
        "schemas",
    ):
        schemas.extend(found)
    securables.extend(schemas)

    # 4. tables, volumes and functions of each schema.
    for t, operation, desc in (
        ("TABLE", "w.tables.list", "tables"),
        ("VOLUME", "w.volumes.list", "volumes"),
        ("FUNCTION", "w.functions.list", "functions"),
    ):
        for _, found in run(
            schemas,
            lambda s, t=t: _list_objects(account, metastores[s.metastore_id], s, t),
            "uc-list",
            "securable",
            lambda s: s.full_name,
            operation,
            desc,
        ):
            securables.extend(found)
    read.securables = securables

    # 5. the grants on every securable.
    def grants_of(s: SecurableRecord) -> list[tuple[str, str]]:
        w = account.workspace(metastores[s.metastore_id].read_through)
        return read_grants(account, w, s.securable_type, s.full_name, prepaid=1)

    for s, pairs in run(
        securables, grants_of, "uc-grants-read", "grants", _securable_label, "w.grants.get", "grants"
    ):
        read.grants.extend(
            GrantRecord(s.metastore_id, s.securable_type, s.full_name, principal, privilege)
            for principal, privilege in pairs
        )
    return read


# -- changes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One change to Unity Catalog: `kind` grant, revoke or owner. `full_name` is ignored (may be
    empty) for the METASTORE: it is the metastore of the workspace the change goes through."""

    kind: str
    securable_type: str
    full_name: str
    principal: str
    privileges: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedChange:
    operation: Operation
    securable_type: str
    full_name: str  # as the API spells it
    principal: str  # as the account spells it
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    owner: str | None = None  # the new owner when it differs
    change: Change | None = None


@dataclass
class _Target:
    securable_type: str
    full_name: str
    kind: str
    owner: str | None


_GET_OPERATIONS = {
    "CATALOG": (catalog.CatalogsAPI, "get"),
    "SCHEMA": (catalog.SchemasAPI, "get"),
    "TABLE": (catalog.TablesAPI, "get"),
    "VOLUME": (catalog.VolumesAPI, "read"),
    "FUNCTION": (catalog.FunctionsAPI, "get"),
    "EXTERNAL_LOCATION": (catalog.ExternalLocationsAPI, "get"),
    "STORAGE_CREDENTIAL": (catalog.StorageCredentialsAPI, "get"),
}


class CatalogEditor:
    """Validates and applies grant and owner operations through one workspace (and so on its
    metastore). Lookups are cached for the editor's life: make one per script or call."""

    def __init__(self, account: Account, workspace_id: int | None = None) -> None:
        self.account = account
        if workspace_id is None:
            ids = account.workspace_ids
            if not ids:
                raise InvalidInput(
                    f"Account {account.account_id} has no workspace to reach Unity Catalog through.",
                    field="workspace_id",
                    fix="create a workspace with a metastore assigned",
                )
            workspace_id = ids[0]
        self.workspace_id = int(workspace_id)
        self.w = account.workspace(self.workspace_id)
        self._metastore_id: str | None = None
        self._metastore_owner: str | None = None
        self._targets: dict[tuple[str, str], _Target] = {}
        self._principals: dict[str, str | InvalidInput] = {}
        self._grants: dict[tuple[str, str], dict[str, tuple[str, set[str]]]] = {}

    # -- lookups -----------------------------------------------------------------------------------
    def metastore_id(self) -> str:
        if self._metastore_id is None:
            api = _metered(self.account, self.w, "uc-list")
            try:
                summary = catalog.MetastoresAPI(api).summary()
            except NotFound as exc:
                raise UnknownSecurable(
                    f"Workspace {self.workspace_id} has no Unity Catalog metastore ({exc}).",
                    field="workspace_id",
                    value=self.workspace_id,
                    fix="pass workspace_id= of a workspace with a metastore",
                ) from exc
            self._metastore_id = str(summary.metastore_id)
            self._metastore_owner = summary.owner
        return self._metastore_id

    def target(self, securable_type: str, full_name: str) -> _Target:
        """The securable as the API knows it (one GET), or UnknownSecurable."""
        securable_type = normalise_securable_type(securable_type)
        key = (securable_type, (full_name or "").lower())
        if key in self._targets:
            return self._targets[key]
        if securable_type == "METASTORE":
            metastore_id = self.metastore_id()
            if full_name and full_name.lower() != metastore_id.lower():
                raise UnknownSecurable(
                    f"METASTORE {full_name} is not the metastore of workspace {self.workspace_id} "
                    f"(that is {metastore_id}).",
                    field="full_name",
                    value=full_name,
                    fix="pass workspace_id= of a workspace attached to that metastore",
                )
            target = _Target("METASTORE", metastore_id, "METASTORE", self._metastore_owner)
            self._targets[("METASTORE", "")] = target
        else:
            if not full_name or not full_name.strip():
                raise InvalidInput(f"A {securable_type} needs a name.", field="full_name", value=full_name)
            cls, method = _GET_OPERATIONS[securable_type]
            api = _metered(self.account, self.w, "uc-list")
            try:
                info = getattr(cls(api), method)(full_name)
            except NotFound as exc:
                raise UnknownSecurable(
                    f"{securable_type} {full_name} does not exist in metastore {self.metastore_id()} "
                    f"(read through workspace {self.workspace_id}).",
                    field="full_name",
                    value=full_name,
                    fix="check the name (catalog.schema.object); for another metastore pass workspace_id=",
                ) from exc
            name = getattr(info, "full_name", None) or getattr(info, "name", None) or full_name
            target = _Target(
                securable_type,
                name,
                kind_of(securable_type, _value(getattr(info, "table_type", None))),
                info.owner,
            )
        self._targets[key] = target
        self._targets[(securable_type, target.full_name.lower())] = target
        return target

    def principal(self, name: str) -> str:
        """The account's spelling of a Unity Catalog principal, or UnknownPrincipal / InvalidInput."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(
                "A principal is required.",
                field="principal",
                value=name,
                fix="name a user's email, a group's name or a service principal's applicationId",
            )
        name = name.strip()
        key = name.lower()
        if key not in self._principals:
            try:
                self._principals[key] = self._lookup(name)
            except InvalidInput as exc:
                self._principals[key] = exc
        found = self._principals[key]
        if isinstance(found, InvalidInput):
            raise found
        return found

    def _lookup(self, name: str) -> str:
        if name.lower() == ACCOUNT_USERS_NAME:
            return ACCOUNT_USERS_NAME
        account = self.account
        if "@" in name:
            if not EMAIL.match(name):
                raise InvalidInput(
                    f"'{name}' looks like an email address but is not a valid one.",
                    field="principal",
                    value=name,
                    fix="write the user's email in full, e.g. alex@company.com",
                )
            user = find_user(account, name)
            if user is not None:
                return str(user.user_name)
        elif _is_uuid(name):
            sp = find_service_principal(account, name)
            if sp is not None:
                return str(sp.application_id)
        group = find_group(account, name)
        if group is not None:
            return str(group.display_name)
        if "@" not in name and not _is_uuid(name):
            sp = find_service_principal(account, name)
            if sp is not None:
                raise InvalidInput(
                    f"'{name}' is a service principal's display name; Unity Catalog names a service principal by "
                    f"its applicationId.",
                    field="principal",
                    value=name,
                    fix=f"use `{sp.application_id}`",
                )
        raise UnknownPrincipal(
            f"No user, group or service principal named '{name}' in account {account.account_id}.",
            field="principal",
            value=name,
            fix="create it first (scimkit.identities), or correct the name: a user's email, a group's display "
            "name, a service principal's applicationId, or `account users`",
        )

    def grants(self, target: _Target) -> dict[str, tuple[str, set[str]]]:
        """principal (lower case) -> (principal as the API spells it, privileges), cached; the plan
        updates this view as it goes, so later operations see earlier ones."""
        key = (target.securable_type, target.full_name.lower())
        if key not in self._grants:
            current: dict[str, tuple[str, set[str]]] = {}
            for principal, privilege in read_grants(
                self.account, self.w, target.securable_type, target.full_name
            ):
                current.setdefault(principal.lower(), (principal, set()))[1].add(privilege)
            self._grants[key] = current
        return self._grants[key]

    # -- plan --------------------------------------------------------------------------------------
    def validate(
        self, operation: Operation
    ) -> tuple[_Target | None, str | None, tuple[str, ...], list[InvalidInput]]:
        """Check one operation without writing: (target, principal, privileges, problems)."""
        problems: list[InvalidInput] = []
        target: _Target | None = None
        principal: str | None = None
        privileges: tuple[str, ...] = ()
        kind = operation.kind
        if kind not in ("grant", "revoke", "owner"):
            return (
                None,
                None,
                (),
                [
                    InvalidInput(
                        f"Unknown operation '{kind}'.",
                        field="kind",
                        value=kind,
                        fix="use grant, revoke or owner",
                    )
                ],
            )
        try:
            target = self.target(operation.securable_type, operation.full_name)
        except InvalidInput as exc:
            problems.append(exc)
        if kind in ("grant", "revoke"):
            try:
                if not operation.privileges:
                    raise InvalidInput(f"A {kind} needs at least one privilege.", field="privileges")
                privileges = tuple(dict.fromkeys(normalise_privilege(p) for p in operation.privileges))
                if target is not None:
                    check_applicable(privileges, target.kind, target.full_name)
            except InvalidInput as exc:
                problems.append(exc)
        elif target is not None and target.securable_type == "METASTORE":
            problems.append(
                InvalidInput(
                    "scimkit does not change the metastore owner (the metastore admin).",
                    field="securable_type",
                    value="METASTORE",
                    fix="change it in the account console, or with a.metastores.update",
                )
            )
        try:
            principal = self.principal(operation.principal)
            if kind == "owner" and principal == ACCOUNT_USERS_NAME:
                raise InvalidInput(
                    f"`{ACCOUNT_USERS_NAME}` cannot own a securable.",
                    field="principal",
                    value=operation.principal,
                    fix="name a user, a group or a service principal",
                )
        except UnknownPrincipal as exc:
            # A grant to a principal that has since been deleted can still be revoked.
            held = (
                self.grants(target).get(operation.principal.strip().lower())
                if (kind == "revoke" and target is not None)
                else None
            )
            if held is None:
                problems.append(exc)
            else:
                principal = held[0]
        except InvalidInput as exc:
            problems.append(exc)
        return target, principal, privileges, problems

    def plan(
        self, operations: Sequence[Operation]
    ) -> tuple[list[PlannedChange], list[tuple[int, InvalidInput]]]:
        """Validate every operation (all problems, by index), and work out what each would change
        given the ones before it. Nothing is written."""
        planned: list[PlannedChange] = []
        problems: list[tuple[int, InvalidInput]] = []
        for index, operation in enumerate(operations):
            target, principal, privileges, found = self.validate(operation)
            if found:
                problems.extend((index, p) for p in found)
                continue
            assert target is not None and principal is not None
            planned.append(self._diff(operation, target, principal, privileges))
        return planned, problems

    def _diff(
        self, op: Operation, target: _Target, principal: str, privileges: tuple[str, ...]
    ) -> PlannedChange:
        label = f"{target.securable_type} {target.full_name}"
        if op.kind == "owner":
            if (target.owner or "").lower() == principal.lower():
                change = Change("set_owner", label, f"already owned by {principal}", False)
                return PlannedChange(op, target.securable_type, target.full_name, principal, change=change)
            change = Change("set_owner", label, f"owner {target.owner} -> {principal}", True)
            target.owner = principal
            return PlannedChange(
                op, target.securable_type, target.full_name, principal, owner=principal, change=change
            )
        current = self.grants(target)
        shown, held = current.get(principal.lower(), (principal, set()))
        if op.kind == "grant":
            add = tuple(p for p in privileges if p not in held)
            if not add:
                change = Change("grant", label, f"{principal} already holds {', '.join(privileges)}", False)
            else:
                change = Change("grant", label, f"{', '.join(add)} to {principal}", True)
                current[principal.lower()] = (shown, held | set(add))
            return PlannedChange(op, target.securable_type, target.full_name, shown, add=add, change=change)
        remove = tuple(p for p in privileges if p in held)
        if not remove:
            change = Change("revoke", label, f"{shown} holds none of {', '.join(privileges)}", False)
        else:
            change = Change("revoke", label, f"{', '.join(remove)} from {shown}", True)
            current[principal.lower()] = (shown, held - set(remove))
        return PlannedChange(op, target.securable_type, target.full_name, shown, remove=remove, change=change)

    # -- apply -------------------------------------------------------------------------------------
    def apply(self, planned: Sequence[PlannedChange], dry_run: bool = False) -> list[Change]:
        """Send what each planned change needs (nothing when it needs nothing). On a failure the
        exception carries a note naming the changes already applied."""
        done: list[Change] = []
        for step in planned:
            change = step.change
            assert change is not None
            if dry_run:
                done.append(replace(change, detail=("would: " if change.changed else "") + change.detail))
                continue
            try:
                self._send(step)
            except Exception as exc:
                applied = [f"{c.action} {c.target}: {c.detail}" for c in done if c.changed]
                if hasattr(exc, "add_note"):  # Python 3.11+
                    exc.add_note(
                        "Applied before this failure: " + ("; ".join(applied) if applied else "nothing")
                    )
                raise
            done.append(change)
        return done

    def _send(self, step: PlannedChange) -> None:
        if step.owner is not None:
            api = _metered(self.account, self.w, "uc-grants-write")
            cls, _ = _GET_OPERATIONS[step.securable_type]
            cls(api).update(step.full_name, owner=step.owner)
        elif step.add or step.remove:
            api = _metered(self.account, self.w, "uc-grants-write")
            change = catalog.PermissionsChange(
                principal=step.principal,
                add=[privilege_enum(p) for p in step.add] or None,
                remove=[privilege_enum(p) for p in step.remove] or None,
            )
            catalog.GrantsAPI(api).update(step.securable_type.lower(), step.full_name, changes=[change])


def _is_uuid(value: str) -> bool:
    import re

    return bool(
        re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", value)
    )


def _one(account: Account, operation: Operation, workspace_id: int | None, dry_run: bool) -> Change:
    editor = CatalogEditor(account, workspace_id)
    planned, problems = editor.plan([operation])
    if problems:
        raise problems[0][1]
    return editor.apply(planned, dry_run)[0]


def _privilege_list(privileges: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(privileges, str):
        return tuple(p for p in (x.strip() for x in privileges.split(",")) if p)
    return tuple(privileges)


def grant(
    account: Account,
    securable_type: str,
    full_name: str,
    principal: str,
    privileges: str | Iterable[str],
    workspace_id: int | None = None,
    dry_run: bool = False,
) -> Change:
    """Grant privileges (`"SELECT"`, `["USE CATALOG", "USE SCHEMA"]`, `"READ VOLUME, WRITE VOLUME"`)
    on a securable to a principal; only those not already held are sent.

    >>> grant(account, "TABLE", "datalake.finance.transactions", "Analysts.NonProd", "SELECT")
    """
    return _one(
        account,
        Operation("grant", securable_type, full_name or "", principal, _privilege_list(privileges)),
        workspace_id,
        dry_run,
    )


def revoke(
    account: Account,
    securable_type: str,
    full_name: str,
    principal: str,
    privileges: str | Iterable[str],
    workspace_id: int | None = None,
    dry_run: bool = False,
) -> Change:
    """Revoke privileges; only those held are sent. A principal deleted from the account can still
    lose the grants it holds. `ALL PRIVILEGES` revokes the ALL_PRIVILEGES grant itself, nothing else."""
    return _one(
        account,
        Operation("revoke", securable_type, full_name or "", principal, _privilege_list(privileges)),
        workspace_id,
        dry_run,
    )


def set_owner(
    account: Account,
    securable_type: str,
    full_name: str,
    owner: str,
    workspace_id: int | None = None,
    dry_run: bool = False,
) -> Change:
    """Make `owner` (a user, group or service principal) the owner; nothing is sent when it already is."""
    return _one(account, Operation("owner", securable_type, full_name or "", owner), workspace_id, dry_run)

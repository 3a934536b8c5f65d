"""Unity Catalog in the emulator, driven only through the unmodified SDK clients and plain HTTP.

The tests use their own small seed (written below per `docs/seed-format.md`), so that they do not
depend on the generated `sample_data/`: a company with nested groups, two metastores and three
workspaces (two on the first metastore, one on the second).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from databricks.sdk import errors
from databricks.sdk.service import catalog, iam

from scimkit.emulator import Emulator, Limits, create

# -- the seed ----------------------------------------------------------------------------------------

MS1 = "11111111-aaaa-4000-8000-000000000001"
MS2 = "22222222-bbbb-4000-8000-000000000002"
WS1, WS2, WS3 = 7100000000000001, 7100000000000002, 7100000000000003
ETL = "5e7b0000-e71b-4000-8000-0000000000e7"  # the ETL service principal's applicationId
ALEX_ID, JAYA_ID = "1000000000000001", "1000000000000002"
ANALYSTS_ID = "3000000000000002"


def _user(uid: str, email: str) -> dict[str, Any]:
    given = email.split("@")[0].capitalize()
    return {
        "id": uid,
        "userName": email,
        "displayName": f"{given} Company",
        "active": True,
        "name": {"givenName": given, "familyName": "Company"},
        "emails": [{"value": email, "primary": True, "type": "work"}],
    }


def _members(*ids: str) -> list[dict[str, str]]:
    return [{"value": i} for i in ids]


SEED: dict[str, Any] = {
    "users": [
        _user(ALEX_ID, "alex@company.com"),
        _user(JAYA_ID, "jaya@company.com"),
        _user("1000000000000003", "maria@company.com"),
        _user("1000000000000004", "sam@company.com"),
        _user("1000000000000005", "lee@company.com"),
        _user("1000000000000006", "olga@company.com"),
    ],
    "service_principals": [
        {"id": "2000000000000001", "applicationId": ETL, "displayName": "etl-bot", "active": True},
    ],
    "groups": [
        # DataEngineers.Prod is inside Engineering; Interns inside Analysts.NonProd inside Analytics.
        {
            "id": "3000000000000001",
            "displayName": "DataEngineers.Prod",
            "members": _members("1000000000000003", "2000000000000001"),
        },
        {
            "id": ANALYSTS_ID,
            "displayName": "Analysts.NonProd",
            "members": _members("1000000000000004", "3000000000000003"),
        },
        {"id": "3000000000000003", "displayName": "Interns", "members": _members("1000000000000005")},
        {"id": "3000000000000004", "displayName": "Engineering", "members": _members("3000000000000001")},
        {"id": "3000000000000005", "displayName": "Analytics", "members": _members(ANALYSTS_ID)},
    ],
    "metastores": [
        {"metastore_id": MS1, "name": "metastore-westeurope", "region": "westeurope"},
        {"metastore_id": MS2, "name": "metastore-eastus", "region": "eastus"},
    ],
    "workspaces": [
        {
            "workspace_id": WS1,
            "workspace_name": "prod",
            "deployment_name": "prod",
            "metastore_id": MS1,
            "default_catalog_name": "datalake",
        },
        {"workspace_id": WS2, "workspace_name": "nonprod", "deployment_name": "nonprod", "metastore_id": MS1},
        {"workspace_id": WS3, "workspace_name": "us", "deployment_name": "us", "metastore_id": MS2},
    ],
    "unity_catalog": {
        "storage_credentials": [
            {
                "name": "lake_cred",
                "owner": "DataEngineers.Prod",
                "azure_managed_identity": {"access_connector_id": "/subscriptions/x/accessConnectors/lake"},
            },
        ],
        "external_locations": [
            {
                "name": "landing",
                "owner": "DataEngineers.Prod",
                "credential_name": "lake_cred",
                "url": "abfss://landing@lake.dfs.core.windows.net/",
            },
        ],
        "catalogs": [
            {"name": "datalake", "owner": "DataEngineers.Prod", "comment": "the lake"},
            {"name": "shared", "owner": "maria@company.com"},
            {"name": "eu_lake", "owner": "Analysts.NonProd", "metastore_id": MS2},
        ],
        "schemas": [
            {"full_name": "datalake.sales_data", "owner": "DataEngineers.Prod"},
            {"full_name": "datalake.finance", "owner": "Engineering"},
            {"full_name": "shared.reference", "owner": "maria@company.com"},
            {"full_name": "eu_lake.core", "owner": "Analysts.NonProd", "metastore_id": MS2},
        ],
        "tables": [
            {
                "full_name": "datalake.finance.transactions",
                "owner": "Engineering",
                "table_type": "MANAGED",
                "columns": [{"name": "id", "type": "bigint"}, {"name": "amount", "type": "decimal(18,2)"}],
            },
            {
                "full_name": "datalake.finance.transactions_v",
                "owner": "Engineering",
                "table_type": "VIEW",
                "view_definition": "SELECT * FROM datalake.finance.transactions",
            },
            {"full_name": "datalake.sales_data.orders", "owner": "DataEngineers.Prod"},
            {"full_name": "datalake.sales_data.customers", "owner": "DataEngineers.Prod"},
            {"full_name": "shared.reference.countries", "owner": "maria@company.com"},
            {"full_name": "eu_lake.core.events", "owner": "Analysts.NonProd", "metastore_id": MS2},
        ],
        "volumes": [
            {
                "full_name": "datalake.sales_data.pipelines",
                "owner": "DataEngineers.Prod",
                "volume_type": "MANAGED",
            },
        ],
        "functions": [
            {"full_name": "datalake.sales_data.mask_email", "owner": "DataEngineers.Prod"},
        ],
    },
    "grants": [
        {
            "securable_type": "METASTORE",
            "full_name": MS1,
            "principal": "DataEngineers.Prod",
            "privileges": ["CREATE_CATALOG"],
        },
        {
            "securable_type": "CATALOG",
            "full_name": "datalake",
            "principal": "DataEngineers.Prod",
            "privileges": ["USE_CATALOG"],
        },
        {
            "securable_type": "CATALOG",
            "full_name": "datalake",
            "principal": "Engineering",
            "privileges": ["BROWSE"],
        },
        {
            "securable_type": "SCHEMA",
            "full_name": "datalake.sales_data",
            "principal": "DataEngineers.Prod",
            "privileges": ["SELECT"],
        },
        {
            "securable_type": "SCHEMA",
            "full_name": "datalake.finance",
            "principal": "Interns",
            "privileges": ["USE_SCHEMA"],
        },
        {
            "securable_type": "SCHEMA",
            "full_name": "datalake.finance",
            "principal": "Analytics",
            "privileges": ["SELECT"],
        },
        {
            "securable_type": "SCHEMA",
            "full_name": "datalake.finance",
            "principal": "olga@company.com",
            "privileges": ["ALL_PRIVILEGES"],
        },
        {
            "securable_type": "TABLE",
            "full_name": "datalake.finance.transactions",
            "principal": "Analysts.NonProd",
            "privileges": ["SELECT"],
        },
        {
            "securable_type": "TABLE",
            "full_name": "datalake.finance.transactions",
            "principal": "maria@company.com",
            "privileges": ["MODIFY"],
        },
        # A grant to a principal that no longer exists, planted on purpose.
        {
            "securable_type": "TABLE",
            "full_name": "datalake.finance.transactions",
            "principal": "ghost@company.com",
            "privileges": ["SELECT"],
        },
        {
            "securable_type": "TABLE",
            "full_name": "datalake.sales_data.orders",
            "principal": "jaya@company.com",
            "privileges": ["MANAGE"],
        },
        {
            "securable_type": "CATALOG",
            "full_name": "shared",
            "principal": "account users",
            "privileges": ["USE_CATALOG", "SELECT"],
        },
        {
            "securable_type": "VOLUME",
            "full_name": "datalake.sales_data.pipelines",
            "principal": ETL,
            "privileges": ["READ_VOLUME", "WRITE_VOLUME"],
        },
        {
            "securable_type": "FUNCTION",
            "full_name": "datalake.sales_data.mask_email",
            "principal": "Analytics",
            "privileges": ["EXECUTE"],
        },
        {
            "securable_type": "EXTERNAL_LOCATION",
            "full_name": "landing",
            "principal": "DataEngineers.Prod",
            "privileges": ["READ_FILES"],
        },
        {
            "securable_type": "STORAGE_CREDENTIAL",
            "full_name": "lake_cred",
            "principal": "Engineering",
            "privileges": ["CREATE_EXTERNAL_LOCATION"],
        },
        {
            "securable_type": "CATALOG",
            "full_name": "eu_lake",
            "principal": "Analysts.NonProd",
            "privileges": ["USE_CATALOG"],
            "metastore_id": MS2,
        },
        {
            "securable_type": "TABLE",
            "full_name": "eu_lake.core.events",
            "principal": "alex@company.com",
            "privileges": ["SELECT"],
            "metastore_id": MS2,
        },
    ],
}


def write_seed(root: Path) -> Path:
    files = {name: f"{name}.json" for name in SEED}
    (root / "manifest.json").write_text(
        json.dumps(
            {
                "format": "scimkit-seed",
                "version": 1,
                "name": "uc-tests",
                "description": "Unity Catalog test account",
                "files": files,
                "planted": [
                    {
                        "kind": "grant_to_deleted_principal",
                        "principal": "ghost@company.com",
                        "securable": "datalake.finance.transactions",
                        "detail": "left behind",
                    }
                ],
            },
            indent=2,
        )
    )
    for name, content in SEED.items():
        (root / files[name]).write_text(json.dumps(content, indent=2))
    return root


def _serve(emulator: Emulator) -> Iterator[Emulator]:
    import threading

    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    emulator._thread = thread
    thread.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def uc_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seed(tmp_path_factory.mktemp("uc_seed"))


@pytest.fixture(scope="module")
def _uc_emulator(uc_seed: Path) -> Iterator[Emulator]:
    yield from _serve(create(seed_dir=uc_seed))


@pytest.fixture(scope="module")
def _small_pages_emulator(uc_seed: Path) -> Iterator[Emulator]:
    yield from _serve(create(seed_dir=uc_seed, limits=Limits(uc_page_size=2, grants_page_size=2)))


@pytest.fixture
def uc(_uc_emulator: Emulator) -> Emulator:
    _uc_emulator.reset()
    return _uc_emulator


@pytest.fixture
def w1(uc: Emulator):  # noqa: ANN201 - WorkspaceClient
    return uc.workspace_client(workspace_id=WS1, retry_timeout_seconds=5)


@pytest.fixture
def w2(uc: Emulator):  # noqa: ANN201
    return uc.workspace_client(workspace_id=WS2, retry_timeout_seconds=5)


@pytest.fixture
def w3(uc: Emulator):  # noqa: ANN201
    return uc.workspace_client(workspace_id=WS3, retry_timeout_seconds=5)


@pytest.fixture
def reader(uc: Emulator):  # noqa: ANN201
    return uc.workspace_client(workspace_id=WS1, token=uc.reader_token, retry_timeout_seconds=5)


def http(
    emu: Emulator,
    method: str,
    path: str,
    workspace_id: int | None = WS1,
    token: str | None = None,
    **kwargs: Any,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or emu.token}"}
    if workspace_id is not None:
        headers["X-Databricks-Workspace-Id"] = str(workspace_id)
    return requests.request(
        method, f"{emu.host}/api/2.1/unity-catalog/{path}", headers=headers, timeout=10, **kwargs
    )


# -- metastores ----------------------------------------------------------------------------------------


def test_each_workspace_discovers_its_own_metastore(w1, w2, w3) -> None:
    assert w1.metastores.current().metastore_id == MS1
    assert w2.metastores.current().metastore_id == MS1
    assert w3.metastores.current().metastore_id == MS2
    assert w1.metastores.current().workspace_id == WS1
    assert w1.metastores.current().default_catalog_name == "datalake"
    summary = w3.metastores.summary()
    assert (summary.metastore_id, summary.name, summary.region) == (MS2, "metastore-eastus", "eastus")
    assert summary.owner  # the emulator's admin service principal owns seeded metastores


def test_metastores_list_and_get(w1) -> None:
    assert {m.metastore_id for m in w1.metastores.list()} == {MS1, MS2}
    assert w1.metastores.get(MS2).name == "metastore-eastus"
    with pytest.raises(errors.NotFound):
        w1.metastores.get("00000000-0000-4000-8000-000000000000")


def test_default_workspace_without_header_is_the_first_seeded(uc: Emulator) -> None:
    response = http(uc, "GET", "metastore_summary", workspace_id=None)
    assert response.status_code == 200
    assert response.json()["metastore_id"] == MS1


# -- securables ----------------------------------------------------------------------------------------


def test_catalogs_are_those_of_the_workspace_metastore(w1, w2, w3) -> None:
    assert [c.name for c in w1.catalogs.list()] == ["datalake", "shared"]
    assert [c.name for c in w2.catalogs.list()] == ["datalake", "shared"]
    assert [c.name for c in w3.catalogs.list()] == ["eu_lake"]
    with pytest.raises(errors.NotFound):
        w3.catalogs.get("datalake")
    datalake = w1.catalogs.get("DataLake")  # names are case-insensitive
    assert (datalake.name, datalake.full_name, datalake.owner, datalake.metastore_id) == (
        "datalake",
        "datalake",
        "DataEngineers.Prod",
        MS1,
    )
    assert datalake.catalog_type == catalog.CatalogType.MANAGED_CATALOG
    assert datalake.comment == "the lake"
    assert isinstance(datalake.created_at, int) and datalake.created_at > 1_600_000_000_000  # epoch ms


def test_schemas_tables_volumes_functions_list_and_get(w1) -> None:
    schemas = list(w1.schemas.list(catalog_name="datalake"))
    assert [(s.full_name, s.owner, s.catalog_name) for s in schemas] == [
        ("datalake.sales_data", "DataEngineers.Prod", "datalake"),
        ("datalake.finance", "Engineering", "datalake"),
    ]
    assert schemas[0].schema_id and schemas[0].metastore_id == MS1

    tables = {t.full_name: t for t in w1.tables.list(catalog_name="datalake", schema_name="finance")}
    assert set(tables) == {"datalake.finance.transactions", "datalake.finance.transactions_v"}
    assert tables["datalake.finance.transactions_v"].table_type == catalog.TableType.VIEW
    transactions = w1.tables.get("datalake.finance.transactions")
    assert (transactions.name, transactions.schema_name, transactions.catalog_name) == (
        "transactions",
        "finance",
        "datalake",
    )
    assert transactions.table_type == catalog.TableType.MANAGED
    assert transactions.data_source_format == catalog.DataSourceFormat.DELTA
    assert [(c.name, c.type_name, c.type_text, c.position) for c in transactions.columns] == [
        ("id", catalog.ColumnTypeName.LONG, "bigint", 0),
        ("amount", catalog.ColumnTypeName.DECIMAL, "decimal(18,2)", 1),
    ]
    assert transactions.owner == "Engineering" and transactions.table_id

    (volume,) = w1.volumes.list(catalog_name="datalake", schema_name="sales_data")
    assert (volume.full_name, volume.owner, volume.volume_type) == (
        "datalake.sales_data.pipelines",
        "DataEngineers.Prod",
        catalog.VolumeType.MANAGED,
    )
    assert w1.volumes.read("datalake.sales_data.pipelines").volume_id == volume.volume_id

    (function,) = w1.functions.list(catalog_name="datalake", schema_name="sales_data")
    assert function.full_name == "datalake.sales_data.mask_email"
    assert w1.functions.get("datalake.sales_data.mask_email").owner == "DataEngineers.Prod"


def test_tables_list_omits_columns_when_asked(uc: Emulator, w1) -> None:
    (transactions, _) = w1.tables.list(catalog_name="datalake", schema_name="finance")
    assert transactions.columns and transactions.columns[1].type_text == "decimal(18,2)"
    (transactions, _) = w1.tables.list(catalog_name="datalake", schema_name="finance", omit_columns=True)
    assert not transactions.columns  # the SDK turns a missing list into []
    body = http(
        uc, "GET", "tables?catalog_name=datalake&schema_name=finance&omit_columns=true&omit_username=true"
    ).json()
    assert all("columns" not in t and "owner" not in t for t in body["tables"])


def test_external_locations_and_storage_credentials(w1, w3) -> None:
    (location,) = w1.external_locations.list()
    credential = w1.storage_credentials.get("lake_cred")
    assert (location.name, location.owner, location.credential_name) == (
        "landing",
        "DataEngineers.Prod",
        "lake_cred",
    )
    assert location.url.startswith("abfss://") and location.credential_id == credential.id
    assert [c.name for c in w1.storage_credentials.list()] == ["lake_cred"]
    assert credential.azure_managed_identity.access_connector_id.endswith("/lake")
    assert w1.external_locations.get("landing").metastore_id == MS1
    assert list(w3.external_locations.list()) == [] and list(w3.storage_credentials.list()) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.catalogs.get("nope"),
        lambda w: w.schemas.get("datalake.nope"),
        lambda w: w.tables.get("datalake.finance.nope"),
        lambda w: w.volumes.read("datalake.sales_data.nope"),
        lambda w: w.functions.get("datalake.sales_data.nope"),
        lambda w: w.external_locations.get("nope"),
        lambda w: w.storage_credentials.get("nope"),
        lambda w: list(w.schemas.list(catalog_name="nope")),
        lambda w: list(w.tables.list(catalog_name="datalake", schema_name="nope")),
        lambda w: w.grants.get("table", "datalake.finance.nope"),
        lambda w: w.grants.get_effective("catalog", "nope"),
        lambda w: w.grants.get("metastore", MS2),  # not the routed workspace's metastore
    ],
    ids=[
        "catalog",
        "schema",
        "table",
        "volume",
        "function",
        "location",
        "credential",
        "schemas-of",
        "tables-of",
        "grants",
        "effective",
        "other-metastore",
    ],
)
def test_unknown_objects_are_not_found(w1, call) -> None:
    with pytest.raises(errors.NotFound):
        call(w1)


def test_not_found_codes_name_the_kind(uc: Emulator) -> None:
    for path, code in [
        ("catalogs/nope", "CATALOG_DOES_NOT_EXIST"),
        ("schemas/datalake.nope", "SCHEMA_DOES_NOT_EXIST"),
        ("tables/a.b.c", "TABLE_DOES_NOT_EXIST"),
        ("volumes/a.b.c", "VOLUME_DOES_NOT_EXIST"),
    ]:
        response = http(uc, "GET", path)
        assert response.status_code == 404
        assert response.json()["error_code"] == code and "message" in response.json()


@pytest.mark.parametrize(
    "path", ["schemas", "tables?catalog_name=datalake", "volumes?schema_name=finance", "functions"]
)
def test_missing_required_query_parameters_are_400(uc: Emulator, path: str) -> None:
    response = http(uc, "GET", path)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# -- list paging ---------------------------------------------------------------------------------------


@pytest.fixture
def small(_small_pages_emulator: Emulator) -> Emulator:
    _small_pages_emulator.reset()
    return _small_pages_emulator


def test_list_paging_rules(small: Emulator) -> None:
    assert http(small, "GET", "catalogs?max_results=-1").status_code == 400
    assert http(small, "GET", "catalogs?max_results=x").status_code == 400
    everything = http(small, "GET", "tables?catalog_name=datalake&schema_name=finance").json()
    assert len(everything["tables"]) == 2 and "next_page_token" not in everything
    # 0 means the server page size (2 here); a larger max_results is clamped to it
    first = http(small, "GET", "tables?catalog_name=datalake&schema_name=sales_data&max_results=0").json()
    assert len(first["tables"]) == 2 and "next_page_token" not in first
    clamped = http(small, "GET", "metastores?max_results=100").json()
    assert len(clamped["metastores"]) == 2
    one = http(small, "GET", "metastores?max_results=1").json()
    assert len(one["metastores"]) == 1 and one["next_page_token"]
    last = http(small, "GET", f"metastores?max_results=1&page_token={one['next_page_token']}").json()
    assert len(last["metastores"]) == 1 and "next_page_token" not in last
    assert http(small, "GET", "catalogs?max_results=0&page_token=garbage!").status_code == 400


def test_sdk_lists_walk_every_page(small: Emulator) -> None:
    w = small.workspace_client(workspace_id=WS1, retry_timeout_seconds=5)
    stats_before = small.stats()
    assert len(list(w.tables.list(catalog_name="datalake", schema_name="finance"))) == 2
    assert [c.name for c in w.catalogs.list()] == ["datalake", "shared"]
    assert len(list(w.metastores.list())) == 2
    # volumes.list sends no max_results (everything at once); with max_results it pages too
    assert len(list(w.volumes.list(catalog_name="datalake", schema_name="sales_data", max_results=1))) == 1
    assert small.stats() != stats_before


# -- owner changes -------------------------------------------------------------------------------------


def test_owner_change_through_every_sdk_update(w1) -> None:
    w1.catalogs.update("datalake", owner="jaya@company.com")
    w1.schemas.update("datalake.finance", owner="Analysts.NonProd")
    w1.tables.update("datalake.finance.transactions", owner=ETL)
    w1.volumes.update("datalake.sales_data.pipelines", owner="alex@company.com")
    w1.functions.update("datalake.sales_data.mask_email", owner="analysts.nonprod")
    w1.external_locations.update("landing", owner="Engineering")
    w1.storage_credentials.update("lake_cred", owner="maria@company.com", comment="rotated")
    assert w1.catalogs.get("datalake").owner == "jaya@company.com"
    assert w1.schemas.get("datalake.finance").owner == "Analysts.NonProd"
    assert w1.tables.get("datalake.finance.transactions").owner == ETL
    assert w1.volumes.read("datalake.sales_data.pipelines").owner == "alex@company.com"
    assert w1.functions.get("datalake.sales_data.mask_email").owner == "Analysts.NonProd"  # account spelling
    assert w1.external_locations.get("landing").owner == "Engineering"
    credential = w1.storage_credentials.get("lake_cred")
    assert (credential.owner, credential.comment) == ("maria@company.com", "rotated")


def test_owner_change_is_seen_from_the_other_workspace_of_the_metastore(w1, w2) -> None:
    w1.catalogs.update("shared", owner="Analytics")
    assert w2.catalogs.get("shared").owner == "Analytics"


def test_owner_must_exist(w1) -> None:
    with pytest.raises(errors.NotFound):
        w1.catalogs.update("datalake", owner="nobody@company.com")
    with pytest.raises(errors.BadRequest):
        w1.schemas.update("datalake.finance", owner="account users")
    assert w1.catalogs.get("datalake").owner == "DataEngineers.Prod"


def test_reader_token_cannot_change_owner_or_grants(reader) -> None:
    with pytest.raises(errors.PermissionDenied):
        reader.catalogs.update("datalake", owner="jaya@company.com")
    with pytest.raises(errors.PermissionDenied):
        reader.grants.update(
            "catalog",
            "datalake",
            changes=[
                catalog.PermissionsChange(principal="jaya@company.com", add=[catalog.Privilege.USE_CATALOG])
            ],
        )
    # but may read both
    assert reader.catalogs.get("datalake").owner == "DataEngineers.Prod"
    assert reader.grants.get("catalog", "datalake").privilege_assignments


def test_rename_is_not_emulated(w1) -> None:
    with pytest.raises(errors.NotImplemented):
        w1.volumes.update("datalake.sales_data.pipelines", new_name="renamed")


# -- grants: read and change ------------------------------------------------------------------------


def _direct(response: Any) -> dict[str, list[str]]:
    return {a.principal: [p.value for p in a.privileges] for a in response.privilege_assignments or []}


def test_grants_get_lists_direct_grants_only(w1) -> None:
    got = w1.grants.get("table", "datalake.finance.transactions")
    assert [a.principal for a in got.privilege_assignments] == [
        "Analysts.NonProd",
        "ghost@company.com",
        "maria@company.com",
    ]  # sorted by principal
    assert _direct(got) == {
        "Analysts.NonProd": ["SELECT"],
        "ghost@company.com": ["SELECT"],
        "maria@company.com": ["MODIFY"],
    }
    assert got.next_page_token is None
    assert _direct(w1.grants.get("metastore", MS1)) == {"DataEngineers.Prod": ["CREATE_CATALOG"]}
    assert _direct(w1.grants.get("catalog", "shared")) == {"account users": ["SELECT", "USE_CATALOG"]}
    only = w1.grants.get("table", "datalake.finance.transactions", principal="ANALYSTS.NONPROD")
    assert _direct(only) == {"Analysts.NonProd": ["SELECT"]}


@pytest.mark.parametrize("securable_type", ["table", "TABLE", "Table"])
def test_securable_type_is_case_insensitive(uc: Emulator, securable_type: str) -> None:
    response = http(uc, "GET", f"permissions/{securable_type}/datalake.finance.transactions")
    assert response.status_code == 200
    assert len(response.json()["privilege_assignments"]) == 3


def test_every_securable_type_has_grants(w1) -> None:
    for securable_type, full_name, principal in [
        ("metastore", MS1, "DataEngineers.Prod"),
        ("catalog", "datalake", "Engineering"),
        ("schema", "datalake.finance", "Interns"),
        ("table", "datalake.sales_data.orders", "jaya@company.com"),
        ("volume", "datalake.sales_data.pipelines", ETL),
        ("function", "datalake.sales_data.mask_email", "Analytics"),
        ("external_location", "landing", "DataEngineers.Prod"),
        ("storage_credential", "lake_cred", "Engineering"),
    ]:
        assert principal in _direct(w1.grants.get(securable_type, full_name)), securable_type


def test_update_adds_and_removes_and_answers_every_assignment(w1) -> None:
    answer = w1.grants.update(
        "table",
        "datalake.finance.transactions",
        changes=[
            catalog.PermissionsChange(
                principal="JAYA@company.com", add=[catalog.Privilege.SELECT, catalog.Privilege.MODIFY]
            ),
            catalog.PermissionsChange(principal="maria@company.com", remove=[catalog.Privilege.MODIFY]),
            catalog.PermissionsChange(
                principal="Analysts.NonProd", remove=[catalog.Privilege.MODIFY]
            ),  # not held: no-op
        ],
    )
    expected = {
        "Analysts.NonProd": ["SELECT"],
        "ghost@company.com": ["SELECT"],
        "jaya@company.com": ["MODIFY", "SELECT"],
    }
    assert _direct(answer) == expected
    assert _direct(w1.grants.get("table", "datalake.finance.transactions")) == expected


def test_grants_to_builtin_and_service_principals_and_metastore(w1) -> None:
    w1.grants.update(
        "metastore",
        MS1,
        changes=[
            catalog.PermissionsChange(principal=ETL.upper(), add=[catalog.Privilege.CREATE_EXTERNAL_LOCATION])
        ],
    )
    w1.grants.update(
        "schema",
        "shared.reference",
        changes=[catalog.PermissionsChange(principal="Account Users", add=[catalog.Privilege.USE_SCHEMA])],
    )
    assert _direct(w1.grants.get("metastore", MS1))[ETL] == ["CREATE_EXTERNAL_LOCATION"]
    assert _direct(w1.grants.get("schema", "shared.reference")) == {"account users": ["USE_SCHEMA"]}


def test_privileges_are_accepted_with_spaces_and_any_case(uc: Emulator) -> None:
    body = {
        "changes": [{"principal": "jaya@company.com", "add": ["USE CATALOG", "all privileges", "use_schema"]}]
    }
    response = http(uc, "PATCH", "permissions/catalog/datalake", json=body)
    assert response.status_code == 200, response.text
    (jaya,) = [a for a in response.json()["privilege_assignments"] if a["principal"] == "jaya@company.com"]
    assert jaya["privileges"] == ["ALL_PRIVILEGES", "USE_CATALOG", "USE_SCHEMA"]


def test_unknown_privilege_is_refused_by_name(uc: Emulator) -> None:
    body = {"changes": [{"principal": "jaya@company.com", "add": ["READ_EVERYTHING"]}]}
    response = http(uc, "PATCH", "permissions/catalog/datalake", json=body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "READ_EVERYTHING" in response.json()["message"]


def test_execute_on_a_volume_is_refused_naming_what_a_volume_takes(w1) -> None:
    with pytest.raises(errors.InvalidParameterValue) as caught:
        w1.grants.update(
            "volume",
            "datalake.sales_data.pipelines",
            changes=[
                catalog.PermissionsChange(principal="DataEngineers.Prod", add=[catalog.Privilege.EXECUTE])
            ],
        )
    message = str(caught.value)
    assert "EXECUTE" in message and "VOLUME datalake.sales_data.pipelines" in message
    assert "ALL_PRIVILEGES, APPLY_TAG, MANAGE, READ_VOLUME, WRITE_VOLUME" in message


def test_a_refused_change_leaves_every_other_change_unapplied(w1) -> None:
    """The seed document's first script, sent as one request, is refused as a whole."""
    before = _direct(w1.grants.get("volume", "datalake.sales_data.pipelines"))
    with pytest.raises(errors.BadRequest):
        w1.grants.update(
            "volume",
            "datalake.sales_data.pipelines",
            changes=[
                catalog.PermissionsChange(
                    principal="DataEngineers.Prod", add=[catalog.Privilege.READ_VOLUME]
                ),
                catalog.PermissionsChange(principal=ETL, remove=[catalog.Privilege.WRITE_VOLUME]),
                catalog.PermissionsChange(principal="DataEngineers.Prod", add=[catalog.Privilege.EXECUTE]),
            ],
        )
    assert _direct(w1.grants.get("volume", "datalake.sales_data.pipelines")) == before


@pytest.mark.parametrize(
    "securable_type, full_name, privilege",
    [
        ("table", "datalake.finance.transactions_v", "MODIFY"),  # a view takes SELECT, not MODIFY
        ("table", "datalake.finance.transactions", "READ_VOLUME"),
        ("function", "datalake.sales_data.mask_email", "SELECT"),
        ("catalog", "datalake", "CREATE_CATALOG"),
        ("metastore", MS1, "SELECT"),  # metastore grants are not inherited, so no child privileges
        ("external_location", "landing", "SELECT"),
        ("storage_credential", "lake_cred", "USE_CATALOG"),
    ],
)
def test_inapplicable_privileges_are_refused(w1, securable_type: str, full_name: str, privilege: str) -> None:
    with pytest.raises(errors.InvalidParameterValue, match="takes:"):
        w1.grants.update(
            securable_type,
            full_name,
            changes=[
                catalog.PermissionsChange(principal="jaya@company.com", add=[catalog.Privilege(privilege)])
            ],
        )


def test_child_privileges_are_grantable_on_parents(w1) -> None:
    w1.grants.update(
        "catalog",
        "datalake",
        changes=[
            catalog.PermissionsChange(
                principal="jaya@company.com",
                add=[
                    catalog.Privilege.READ_VOLUME,
                    catalog.Privilege.EXECUTE,
                    catalog.Privilege.SELECT,
                    catalog.Privilege.USE_SCHEMA,
                ],
            )
        ],
    )
    w1.grants.update(
        "schema",
        "datalake.sales_data",
        changes=[
            catalog.PermissionsChange(
                principal="jaya@company.com",
                add=[catalog.Privilege.WRITE_VOLUME, catalog.Privilege.CREATE_TABLE],
            )
        ],
    )
    assert _direct(w1.grants.get("catalog", "datalake"))["jaya@company.com"] == [
        "EXECUTE",
        "READ_VOLUME",
        "SELECT",
        "USE_SCHEMA",
    ]


def test_principals_must_exist_but_grants_of_deleted_ones_can_be_revoked(w1) -> None:
    with pytest.raises(errors.NotFound):
        w1.grants.update(
            "catalog",
            "datalake",
            changes=[
                catalog.PermissionsChange(principal="nobody@company.com", add=[catalog.Privilege.USE_CATALOG])
            ],
        )
    answer = w1.grants.update(
        "table",
        "datalake.finance.transactions",
        changes=[catalog.PermissionsChange(principal="ghost@company.com", remove=[catalog.Privilege.SELECT])],
    )
    assert "ghost@company.com" not in _direct(answer)


def test_omit_permissions_in_response(uc, w1) -> None:
    # Plain HTTP: older SDKs (0.113) cannot send omit_permissions_in_response.
    answer = http(uc, "PATCH", "permissions/catalog/datalake", json={
        "omit_permissions_in_response": True,
        "changes": [{"principal": "jaya@company.com", "add": ["USE_CATALOG"]}]})
    assert answer.status_code == 200 and answer.json() == {}
    assert "jaya@company.com" in _direct(w1.grants.get("catalog", "datalake"))


def test_grants_are_per_metastore_not_per_workspace(w1, w2, w3) -> None:
    w1.grants.update(
        "catalog",
        "shared",
        changes=[catalog.PermissionsChange(principal="Interns", add=[catalog.Privilege.BROWSE])],
    )
    assert _direct(w2.grants.get("catalog", "shared"))["Interns"] == ["BROWSE"]
    with pytest.raises(errors.NotFound):
        w3.grants.get("catalog", "shared")
    assert _direct(w3.grants.get("table", "eu_lake.core.events")) == {"alex@company.com": ["SELECT"]}
    w3.grants.update(
        "metastore",
        MS2,
        changes=[catalog.PermissionsChange(principal="Analytics", add=[catalog.Privilege.CREATE_CATALOG])],
    )
    assert _direct(w3.grants.get("metastore", MS2)) == {"Analytics": ["CREATE_CATALOG"]}
    assert "Analytics" not in _direct(w1.grants.get("metastore", MS1))


# -- grants paging ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["permissions", "effective-permissions"])
def test_grants_paging_rules(small: Emulator, kind: str) -> None:
    path = f"{kind}/table/datalake.finance.transactions"
    for bad in ("-1", "1", "10", "149"):
        response = http(small, "GET", f"{path}?max_results={bad}")
        assert response.status_code == 400, bad
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert http(small, "GET", f"{path}?max_results=150").status_code == 200
    unpaged = http(small, "GET", path).json()
    assert "next_page_token" not in unpaged
    pages, token = [], None
    while True:  # 0 = the server page size (2 privileges here): several pages, the end has no token
        query = f"{path}?max_results=0" + (f"&page_token={token}" if token else "")
        body = http(small, "GET", query).json()
        pages.append(body["privilege_assignments"])
        token = body.get("next_page_token")
        if not token:
            break
    assert len(pages) > 1
    assert [a for page in pages for a in page] == unpaged["privilege_assignments"]


def test_sdk_reads_a_page_with_its_token(small: Emulator) -> None:
    w = small.workspace_client(workspace_id=WS1, retry_timeout_seconds=5)
    first = w.grants.get("table", "datalake.finance.transactions", max_results=0)
    assert first.next_page_token
    second = w.grants.get(
        "table", "datalake.finance.transactions", max_results=0, page_token=first.next_page_token
    )
    assert {a.principal for a in first.privilege_assignments}.isdisjoint(
        {a.principal for a in second.privilege_assignments}
    )


# -- effective permissions ---------------------------------------------------------------------------

# (principal, securable type, full name, expected {(privilege, inherited_from_type, inherited_from_name)})
# Groups: maria, etl-bot in DataEngineers.Prod in Engineering; sam and Interns in Analysts.NonProd in
# Analytics; lee in Interns. `account users` = every user and service principal.
C, S = "CATALOG", "SCHEMA"
TX = "datalake.finance.transactions"
EFFECTIVE_CASES: list[tuple[str, str, str, set[tuple[str, str | None, str | None]]]] = [
    # direct to the user, plus the catalog grants of both its groups (nesting)
    (
        "maria@company.com",
        "table",
        TX,
        {("MODIFY", None, None), ("USE_CATALOG", C, "datalake"), ("BROWSE", C, "datalake")},
    ),
    # through a group, the same privilege directly on the table and inherited from the schema
    ("sam@company.com", "table", TX, {("SELECT", None, None), ("SELECT", S, "datalake.finance")}),
    # two levels of nesting (lee -> Interns -> Analysts.NonProd -> Analytics)
    (
        "lee@company.com",
        "table",
        TX,
        {("SELECT", None, None), ("SELECT", S, "datalake.finance"), ("USE_SCHEMA", S, "datalake.finance")},
    ),
    ("Analysts.NonProd", "table", TX, {("SELECT", None, None), ("SELECT", S, "datalake.finance")}),
    (
        "interns",
        "table",
        TX,
        {("SELECT", None, None), ("SELECT", S, "datalake.finance"), ("USE_SCHEMA", S, "datalake.finance")},
    ),
    # ALL_PRIVILEGES is returned as granted, not expanded
    ("olga@company.com", "table", TX, {("ALL_PRIVILEGES", S, "datalake.finance")}),
    ("olga@company.com", "schema", "datalake.finance", {("ALL_PRIVILEGES", None, None)}),
    ("alex@company.com", "table", TX, set()),
    ("sam@company.com", "catalog", "datalake", set()),
    # a deleted principal still shows what it was granted
    ("ghost@company.com", "table", TX, {("SELECT", None, None)}),
    # a service principal by applicationId, through its group and the catalog
    (
        ETL,
        "volume",
        "datalake.sales_data.pipelines",
        {
            ("READ_VOLUME", None, None),
            ("WRITE_VOLUME", None, None),
            ("SELECT", S, "datalake.sales_data"),
            ("USE_CATALOG", C, "datalake"),
            ("BROWSE", C, "datalake"),
        },
    ),
    (
        "maria@company.com",
        "volume",
        "datalake.sales_data.pipelines",
        {("SELECT", S, "datalake.sales_data"), ("USE_CATALOG", C, "datalake"), ("BROWSE", C, "datalake")},
    ),
    # a group holds what its parent groups hold, not what its members' other groups hold
    ("DataEngineers.Prod", "catalog", "datalake", {("USE_CATALOG", None, None), ("BROWSE", None, None)}),
    ("Engineering", "catalog", "datalake", {("BROWSE", None, None)}),
    # metastore grants apply to the metastore only
    ("maria@company.com", "metastore", MS1, {("CREATE_CATALOG", None, None)}),
    ("maria@company.com", "catalog", "datalake", {("USE_CATALOG", None, None), ("BROWSE", None, None)}),
    # `account users` covers users and service principals, not groups
    ("alex@company.com", "catalog", "shared", {("USE_CATALOG", None, None), ("SELECT", None, None)}),
    (
        "alex@company.com",
        "table",
        "shared.reference.countries",
        {("USE_CATALOG", C, "shared"), ("SELECT", C, "shared")},
    ),
    (
        "account users",
        "table",
        "shared.reference.countries",
        {("USE_CATALOG", C, "shared"), ("SELECT", C, "shared")},
    ),
    (ETL, "table", "shared.reference.countries", {("USE_CATALOG", C, "shared"), ("SELECT", C, "shared")}),
    ("Analytics", "table", "shared.reference.countries", set()),
    ("Analytics", "function", "datalake.sales_data.mask_email", {("EXECUTE", None, None)}),
    ("lee@company.com", "function", "datalake.sales_data.mask_email", {("EXECUTE", None, None)}),
    (
        "maria@company.com",
        "function",
        "datalake.sales_data.mask_email",
        {("SELECT", S, "datalake.sales_data"), ("USE_CATALOG", C, "datalake"), ("BROWSE", C, "datalake")},
    ),
    # metastore-level securables have no parent to inherit from
    ("maria@company.com", "external_location", "landing", {("READ_FILES", None, None)}),
    (ETL, "storage_credential", "lake_cred", {("CREATE_EXTERNAL_LOCATION", None, None)}),
    ("jaya@company.com", "table", "datalake.sales_data.orders", {("MANAGE", None, None)}),
    ("jaya@company.com", "table", "datalake.sales_data.customers", set()),
]


def _effective(response: Any) -> dict[str, set[tuple[str, str | None, str | None]]]:
    return {
        a.principal: {
            (
                p.privilege.value,
                p.inherited_from_type.value if p.inherited_from_type else None,
                p.inherited_from_name,
            )
            for p in a.privileges or []
        }
        for a in response.privilege_assignments or []
    }


@pytest.mark.parametrize(
    "principal, securable_type, full_name, expected",
    EFFECTIVE_CASES,
    ids=[f"{c[0].split('@')[0]}-{c[1]}-{c[2]}" for c in EFFECTIVE_CASES],
)
def test_effective_permissions(
    w1, principal: str, securable_type: str, full_name: str, expected: set[tuple[str, str | None, str | None]]
) -> None:
    got = _effective(w1.grants.get_effective(securable_type, full_name, principal=principal))
    assert len(got) <= 1
    assert (set().union(*got.values()) if got else set()) == expected


def test_effective_permissions_wire_shape(uc: Emulator) -> None:
    body = http(uc, "GET", f"effective-permissions/table/{TX}?principal=maria@company.com").json()
    (maria,) = body["privilege_assignments"]
    assert maria["principal"] == "maria@company.com"
    assert maria["privileges"] == [
        {"privilege": "BROWSE", "inherited_from_type": "CATALOG", "inherited_from_name": "datalake"},
        {"privilege": "MODIFY"},
        {"privilege": "USE_CATALOG", "inherited_from_type": "CATALOG", "inherited_from_name": "datalake"},
    ]


def test_effective_permissions_without_principal_list_each_grantee(w1) -> None:
    got = _effective(w1.grants.get_effective("table", TX))
    assert set(got) == {
        "Analysts.NonProd",
        "ghost@company.com",
        "maria@company.com",
        "Interns",
        "Analytics",
        "olga@company.com",
        "DataEngineers.Prod",
        "Engineering",
    }
    assert got["Interns"] == {
        ("SELECT", None, None),
        ("SELECT", S, "datalake.finance"),
        ("USE_SCHEMA", S, "datalake.finance"),
    }
    assert got["Engineering"] == {("BROWSE", C, "datalake")}


def test_effective_permissions_for_an_unknown_principal_are_not_found(w1) -> None:
    with pytest.raises(errors.NotFound):
        w1.grants.get_effective("table", TX, principal="nobody@company.com")


def test_effective_permissions_in_the_second_metastore(w3) -> None:
    got = _effective(w3.grants.get_effective("table", "eu_lake.core.events", principal="sam@company.com"))
    assert got == {"sam@company.com": {("USE_CATALOG", C, "eu_lake")}}
    got = _effective(w3.grants.get_effective("table", "eu_lake.core.events", principal="alex@company.com"))
    assert got == {"alex@company.com": {("SELECT", None, None)}}


def test_granting_to_a_group_reaches_its_members_at_once(w1, w2) -> None:
    w1.grants.update(
        "catalog",
        "datalake",
        changes=[catalog.PermissionsChange(principal="Analytics", add=[catalog.Privilege.USE_CATALOG])],
    )
    got = _effective(w2.grants.get_effective("table", TX, principal="lee@company.com"))
    assert ("USE_CATALOG", C, "datalake") in got["lee@company.com"]


def test_alex_and_jaya_joining_analysts_can_select_transactions(uc: Emulator, w1) -> None:
    """Grant once to the group; membership decides the rest (SCIM PATCH through the AccountClient)."""
    a = uc.account_client(retry_timeout_seconds=5)
    a.groups.patch(
        ANALYSTS_ID,
        schemas=[iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP],
        operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": ALEX_ID}, {"value": JAYA_ID}])],
    )
    for user in ("alex@company.com", "jaya@company.com"):
        got = _effective(w1.grants.get_effective("table", TX, principal=user))
        assert ("SELECT", None, None) in got[user], user
        assert ("SELECT", S, "datalake.finance") in got[user], user

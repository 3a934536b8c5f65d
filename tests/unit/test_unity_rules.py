"""Unity Catalog rules on their own: privilege table, normalisation, paging, who may manage grants,
and the seed loader's checks (an in-memory store, no server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk.service import catalog

from scimkit.emulator import seed
from scimkit.emulator.errors import ApiError
from scimkit.emulator.store import Store
from scimkit.emulator.unity import routes as unity_routes
from scimkit.emulator.unity import rules

# -- privilege table ---------------------------------------------------------------------------------


def test_known_privileges_cover_the_sdk_enum() -> None:
    # The emulator knows every privilege of the newest SDK it was written against (0.162); older
    # SDKs know fewer, never more.
    assert {p.value for p in catalog.Privilege} <= rules.KNOWN_PRIVILEGES
    assert "EXTERNAL_USE_LOCATION" in rules.KNOWN_PRIVILEGES and "READ_VOLUME" in rules.KNOWN_PRIVILEGES


def test_every_listed_privilege_is_known_and_sourced() -> None:
    assert set(rules.PRIVILEGES) == set(rules.PRIVILEGE_SOURCES)
    for kind, privileges in rules.PRIVILEGES.items():
        assert set(privileges) <= rules.KNOWN_PRIVILEGES, kind
        assert list(privileges) == sorted(set(privileges)), kind


@pytest.mark.parametrize("child", ["TABLE", "VIEW", "MATERIALIZED_VIEW", "VOLUME", "FUNCTION"])
def test_parents_take_their_childrens_privileges(child: str) -> None:
    assert set(rules.PRIVILEGES[child]) <= set(rules.PRIVILEGES["SCHEMA"]) <= set(rules.PRIVILEGES["CATALOG"])


def test_metastore_takes_no_child_or_blanket_privileges() -> None:
    assert not {"SELECT", "USE_CATALOG", "ALL_PRIVILEGES", "MANAGE"} & set(rules.PRIVILEGES["METASTORE"])


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("SELECT", "SELECT"),
        ("select", "SELECT"),
        ("USE CATALOG", "USE_CATALOG"),
        ("use  schema", "USE_SCHEMA"),
        ("ALL PRIVILEGES", "ALL_PRIVILEGES"),
        ("all_privileges", "ALL_PRIVILEGES"),
        (" read volume ", "READ_VOLUME"),
    ],
)
def test_privilege_names_are_normalised(raw: str, expected: str) -> None:
    assert rules.normalise_privilege(raw) == expected


@pytest.mark.parametrize("raw", ["READ_EVERYTHING", "", None, 3])
def test_unknown_privileges_are_refused(raw: Any) -> None:
    with pytest.raises(ApiError) as caught:
        rules.normalise_privilege(raw)
    assert caught.value.status == 400 and caught.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("table", "TABLE"),
        ("Catalog", "CATALOG"),
        ("external_location", "EXTERNAL_LOCATION"),
        ("external-location", "EXTERNAL_LOCATION"),
        ("STORAGE_CREDENTIAL", "STORAGE_CREDENTIAL"),
        ("metastore", "METASTORE"),
        ("view", "TABLE"),
    ],
)
def test_securable_types_are_case_insensitive(raw: str, expected: str) -> None:
    assert rules.normalise_securable_type(raw) == expected


def test_unknown_securable_type_is_refused() -> None:
    with pytest.raises(ApiError, match="Unsupported securable type"):
        rules.normalise_securable_type("share")


def test_the_volume_message_names_what_a_volume_takes() -> None:
    with pytest.raises(ApiError) as caught:
        rules.check_applicable("EXECUTE", "VOLUME", "datalake.sales_data.pipelines")
    assert caught.value.message == (
        "Privilege EXECUTE is not applicable to VOLUME datalake.sales_data.pipelines. "
        "A VOLUME takes: ALL_PRIVILEGES, APPLY_TAG, MANAGE, READ_VOLUME, WRITE_VOLUME"
    )


@pytest.mark.parametrize(
    "table_type, kind",
    [
        (None, "TABLE"),
        ("MANAGED", "TABLE"),
        ("EXTERNAL", "TABLE"),
        ("VIEW", "VIEW"),
        ("METRIC_VIEW", "VIEW"),
        ("MATERIALIZED_VIEW", "MATERIALIZED_VIEW"),
        ("STREAMING_TABLE", "STREAMING_TABLE"),
    ],
)
def test_table_kind_follows_table_type(table_type: str | None, kind: str) -> None:
    assert rules.kind_of("TABLE", {"table_type": table_type} if table_type else {}) == kind


def test_parse_changes_refuses_the_same_privilege_added_and_removed() -> None:
    with pytest.raises(ApiError, match="both adds and removes SELECT"):
        rules.parse_changes([{"principal": "a", "add": ["select"], "remove": ["SELECT"]}])
    with pytest.raises(ApiError, match="principal is required"):
        rules.parse_changes([{"add": ["SELECT"]}])
    assert rules.parse_changes([{"principal": " x ", "add": ["SELECT", "select"]}]) == [
        rules.Change("x", ("SELECT",), ())
    ]


# -- paging ----------------------------------------------------------------------------------------


def _assignments(*sizes: int) -> list[dict[str, Any]]:
    return [{"principal": f"p{i}", "privileges": [f"X{j}" for j in range(n)]} for i, n in enumerate(sizes)]


def test_tokens_round_trip_and_garbage_is_refused() -> None:
    for offset in (0, 1, 149, 10_000):
        assert unity_routes.decode_token(unity_routes.encode_token(offset)) == offset
    for bad in ("garbage", "c2NpbWtpdDotMQ", "!!"):
        with pytest.raises(ApiError):
            unity_routes.decode_token(bad)


def test_a_grants_page_counts_privileges_and_never_splits_a_principal() -> None:
    items = _assignments(2, 2, 3, 1)
    first = unity_routes.page_of_assignments(items, 0, 4)
    assert [a["principal"] for a in first["privilege_assignments"]] == ["p0", "p1"]
    offset = unity_routes.decode_token(first["next_page_token"])
    second = unity_routes.page_of_assignments(items, offset, 4)
    assert [a["principal"] for a in second["privilege_assignments"]] == ["p2", "p3"]
    assert "next_page_token" not in second
    # an assignment larger than the page still goes out whole
    assert (
        unity_routes.page_of_assignments(_assignments(5), 0, 2)["privilege_assignments"][0]["principal"]
        == "p0"
    )
    assert unity_routes.page_of_assignments(items, 0, None) == {"privilege_assignments": items}


# -- rules on a store ------------------------------------------------------------------------------

MS = "33333333-cccc-4000-8000-000000000003"


def _write(root: Path, files: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (root / f"{name}.json").write_text(json.dumps(content))
    (root / "manifest.json").write_text(
        json.dumps(
            {"format": "scimkit-seed", "version": 1, "name": "unit", "files": {n: f"{n}.json" for n in files}}
        )
    )
    return root


def _seed(**overrides: Any) -> dict[str, Any]:
    files: dict[str, Any] = {
        "users": [
            {"id": "1000000000000001", "userName": "owner@company.com", "active": True},
            {"id": "1000000000000002", "userName": "manager@company.com", "active": True},
            {"id": "1000000000000003", "userName": "nobody@company.com", "active": True},
        ],
        "groups": [
            {"id": "3000000000000001", "displayName": "Owners", "members": [{"value": "1000000000000001"}]},
            {"id": "3000000000000002", "displayName": "Managers", "members": [{"value": "1000000000000002"}]},
        ],
        "metastores": [{"metastore_id": MS, "name": "m", "region": "r", "owner": "metastore-admins"}],
        "workspaces": [{"workspace_id": 7200000000000001, "metastore_id": MS}],
        "unity_catalog": {
            "catalogs": [{"name": "cat", "owner": "Owners"}],
            "schemas": [{"full_name": "cat.sch", "owner": "someone@company.com"}],
            "tables": [{"full_name": "cat.sch.t", "owner": "someone@company.com"}],
        },
        "grants": [
            {
                "securable_type": "SCHEMA",
                "full_name": "cat.sch",
                "principal": "Managers",
                "privileges": ["MANAGE"],
            },
            {
                "securable_type": "TABLE",
                "full_name": "cat.sch.t",
                "principal": "gone@company.com",
                "privileges": ["select"],
            },
        ],
    }
    files.update(overrides)
    return files


@pytest.fixture
def store(tmp_path: Path) -> Store:
    result = Store()
    seed.load(result, _write(tmp_path / "seed", _seed()))
    return result


def test_who_may_manage_grants(store: Store) -> None:
    with store.tx() as db:
        table = rules.get(db, MS, "TABLE", "CAT.SCH.T")
        assert rules.can_manage_grants(db, table, "owner@company.com", False)  # owns the catalog via Owners
        assert rules.can_manage_grants(
            db, table, "manager@company.com", False
        )  # MANAGE on the schema via Managers
        assert rules.can_manage_grants(
            db, table, "someone@company.com", False
        )  # owner (not even an account user)
        assert rules.can_manage_grants(db, table, "metastore-admins", False)  # metastore owner
        assert not rules.can_manage_grants(db, table, "nobody@company.com", False)
        assert rules.can_manage_grants(db, table, "nobody@company.com", True)  # admin token
        catalog_ = rules.get(db, MS, "CATALOG", "cat")
        assert not rules.can_manage_grants(
            db, catalog_, "manager@company.com", False
        )  # MANAGE is not inherited up


def test_seed_keeps_grants_to_unknown_principals(store: Store) -> None:
    with store.tx() as db:
        table = rules.get(db, MS, "TABLE", "cat.sch.t")
        assert rules.assignments(db, table) == [{"principal": "gone@company.com", "privileges": ["SELECT"]}]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {
                "grants": [
                    {
                        "securable_type": "TABLE",
                        "full_name": "cat.sch.t",
                        "principal": "Owners",
                        "privileges": ["EXECUTE"],
                    }
                ]
            },
            "not applicable to TABLE cat.sch.t",
        ),
        (
            {
                "grants": [
                    {
                        "securable_type": "TABLE",
                        "full_name": "cat.sch.nope",
                        "principal": "Owners",
                        "privileges": ["SELECT"],
                    }
                ]
            },
            "not in unity_catalog.json",
        ),
        (
            {"unity_catalog": {"schemas": [{"full_name": "nope.sch", "owner": "Owners"}]}},
            "has no parent catalog nope",
        ),
        ({"unity_catalog": {"catalogs": [{"name": "a"}, {"name": "A"}]}}, "listed twice"),
        ({"unity_catalog": {"tables": [{"full_name": "two.parts"}]}}, "full_name with 3 parts"),
        (
            {"unity_catalog": {"catalogs": [{"name": "c", "metastore_id": "elsewhere"}]}},
            "not in metastores.json",
        ),
        ({"unity_catalog": {"shares": []}}, "unknown keys"),
    ],
)
def test_seed_refuses_what_the_api_would(tmp_path: Path, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(seed.SeedError, match=message):
        seed.load(Store(), _write(tmp_path / "seed", _seed(**overrides)))

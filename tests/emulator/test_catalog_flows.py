"""End-to-end flows through the real SDK: the seed document's flow on an account holding only the
`datalake` securables; a full read of the sample account under the emulator's rate limits; paging
and metastores; reads that fail after the SDK's retries."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from scimkit import identities
from scimkit.catalog import read_catalog
from scimkit.emulator import Emulator, Limits, start
from scimkit.errors import ScriptRejected, UnknownSecurable
from scimkit.limits import RateLimits
from scimkit.sql_script import apply_script

from .test_catalog import SAMPLE, make_account

SEED_SCRIPT_1 = (
    "GRANT SELECT ON SCHEMA sales_data TO `DataEngineers.Prod`; GRANT USE CATALOG datalake TO "
    "`DataEngineers.Prod`; GRANT EXECUTE ON VOLUME pipelines TO `DataEngineers.Prod`;"
)
SEED_SCRIPT_2 = "GRANT SELECT ON TABLE finance.transactions TO `Analysts.NonProd`;"
DEFAULTS = {"default_catalog": "datalake", "default_schema": "sales_data"}


def write_seed(root: Path, files: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / f"{name}.json").write_text(json.dumps(data, indent=2))
    (root / "manifest.json").write_text(
        json.dumps(
            {
                "format": "scimkit-seed",
                "version": 1,
                "name": root.name,
                "files": {n: f"{n}.json" for n in files},
            }
        )
    )
    return root


def stats(emu: Emulator) -> dict[str, Any]:
    return requests.get(f"{emu.host}/_scimkit/stats", timeout=10).json()


class CountingLimits(RateLimits):
    """The client's limiter, counting the tokens it hands out per class."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__(scale=scale)
        self.taken: Counter[str] = Counter()

    def acquire(self, rate_class: str) -> None:
        self.taken[rate_class] += 1
        super().acquire(rate_class)


# -- the seed document's flow ----------------------------------------------------------------------------

DATALAKE_ONLY = {
    "groups": [
        {"id": "2000000000000001", "displayName": "DataEngineers.Prod", "members": []},
        {"id": "2000000000000002", "displayName": "Analysts.NonProd", "members": []},
    ],
    "unity_catalog": {
        "catalogs": [{"name": "datalake", "owner": "DataEngineers.Prod"}],
        "schemas": [
            {"full_name": "datalake.sales_data", "owner": "DataEngineers.Prod"},
            {"full_name": "datalake.finance", "owner": "DataEngineers.Prod"},
        ],
        "tables": [
            {
                "full_name": "datalake.finance.transactions",
                "owner": "DataEngineers.Prod",
                "columns": [{"name": "id", "type": "bigint"}, {"name": "amount", "type": "decimal(18,2)"}],
            }
        ],
        "volumes": [{"full_name": "datalake.sales_data.pipelines", "owner": "DataEngineers.Prod"}],
    },
}


def test_seed_flow_on_an_account_holding_only_datalake(tmp_path: Path) -> None:
    seed = write_seed(tmp_path / "datalake-only", DATALAKE_ONLY)
    with start(seed_dir=seed) as emu:
        account = make_account(emu)
        w = emu.workspace_client(retry_timeout_seconds=10)

        def grants(securable_type: str, full_name: str) -> dict[str, set[str]]:
            got = w.grants.get(securable_type, full_name)
            return {
                a.principal: {p.value for p in a.privileges or []} for a in got.privilege_assignments or []
            }

        # before: the datalake securables, no grants, no alex or jaya
        before = read_catalog(account, progress=False)
        assert before.failures == []
        assert {
            (s.securable_type, s.full_name) for s in before.securables if s.securable_type != "METASTORE"
        } == {
            ("CATALOG", "datalake"),
            ("SCHEMA", "datalake.sales_data"),
            ("SCHEMA", "datalake.finance"),
            ("TABLE", "datalake.finance.transactions"),
            ("VOLUME", "datalake.sales_data.pipelines"),
        }
        assert before.grants == []
        assert identities.find_user(account, "alex@company.com") is None
        assert identities.find_user(account, "jaya@company.com") is None

        # create alex and jaya and add them to Analysts.NonProd
        for email in ("alex@company.com", "jaya@company.com"):
            _, created = identities.ensure_user(account, email)
            assert created.changed
        joined = identities.add_members(account, "Analysts.NonProd", ["alex@company.com", "jaya@company.com"])
        assert joined.changed

        # the first script is refused as a whole, naming statement 3 and what a volume takes
        with pytest.raises(ScriptRejected) as info:
            apply_script(account, SEED_SCRIPT_1, **DEFAULTS)
        [(number, text, reason)] = info.value.problems
        assert number == 3
        assert text == "GRANT EXECUTE ON VOLUME pipelines TO `DataEngineers.Prod`"
        assert reason.startswith(
            "EXECUTE is not applicable to VOLUME datalake.sales_data.pipelines; a VOLUME takes "
            "ALL PRIVILEGES, APPLY TAG, MANAGE, READ VOLUME, WRITE VOLUME."
        )
        assert "statement 3 `GRANT EXECUTE ON VOLUME pipelines" in str(info.value)
        assert "nothing was applied" in str(info.value)
        assert read_catalog(account, progress=False).grants == []  # nothing applied
        assert stats(emu)["requests"].get("uc-grants-write", 0) == 0

        # corrected, it applies; each change is read back
        corrected = SEED_SCRIPT_1.replace("GRANT EXECUTE", "GRANT READ VOLUME")
        changes = apply_script(account, corrected, **DEFAULTS)
        assert [(c.target, c.detail, c.changed) for c in changes] == [
            ("SCHEMA datalake.sales_data", "SELECT to DataEngineers.Prod", True),
            ("CATALOG datalake", "USE_CATALOG to DataEngineers.Prod", True),
            ("VOLUME datalake.sales_data.pipelines", "READ_VOLUME to DataEngineers.Prod", True),
        ]
        assert grants("schema", "datalake.sales_data") == {"DataEngineers.Prod": {"SELECT"}}
        assert grants("catalog", "datalake") == {"DataEngineers.Prod": {"USE_CATALOG"}}
        assert grants("volume", "datalake.sales_data.pipelines") == {"DataEngineers.Prod": {"READ_VOLUME"}}

        # the second script applies
        [change] = apply_script(account, SEED_SCRIPT_2, **DEFAULTS)
        assert (change.target, change.detail, change.changed) == (
            "TABLE datalake.finance.transactions",
            "SELECT to Analysts.NonProd",
            True,
        )
        assert grants("table", "datalake.finance.transactions") == {"Analysts.NonProd": {"SELECT"}}

        # running both again changes nothing and sends no PATCH
        patches = stats(emu)["requests"]["uc-grants-write"]
        assert patches == 4
        again = apply_script(account, corrected, **DEFAULTS) + apply_script(
            account, SEED_SCRIPT_2, **DEFAULTS
        )
        assert [c.changed for c in again] == [False, False, False, False]
        assert stats(emu)["requests"]["uc-grants-write"] == patches

        # alex can SELECT the table through Analysts.NonProd, but has neither USE CATALOG nor USE SCHEMA:
        # the privilege is granted but not usable (databricks-api.md 7.4)
        effective = w.grants.get_effective(
            "table", "datalake.finance.transactions", principal="alex@company.com"
        )
        [entry] = effective.privilege_assignments
        held = {p.privilege.value: p.inherited_from_name for p in entry.privileges}
        assert held == {"SELECT": None}
        # DataEngineers.Prod reaches the volume's schema and catalog
        effective = w.grants.get_effective(
            "volume", "datalake.sales_data.pipelines", principal="DataEngineers.Prod"
        )
        [entry] = effective.privilege_assignments
        held = {p.privilege.value: p.inherited_from_name for p in entry.privileges}
        assert held == {"READ_VOLUME": None, "SELECT": "datalake.sales_data", "USE_CATALOG": "datalake"}

        # the final read holds exactly the four grants
        after = read_catalog(account, progress=False)
        assert {(g.securable_type, g.full_name, g.principal, g.privilege) for g in after.grants} == {
            ("SCHEMA", "datalake.sales_data", "DataEngineers.Prod", "SELECT"),
            ("CATALOG", "datalake", "DataEngineers.Prod", "USE_CATALOG"),
            ("VOLUME", "datalake.sales_data.pipelines", "DataEngineers.Prod", "READ_VOLUME"),
            ("TABLE", "datalake.finance.transactions", "Analysts.NonProd", "SELECT"),
        }


# -- a full read under the emulator's rate limits ----------------------------------------------------------

BUILTIN_SERVICE_PRINCIPALS = 2  # scimkit-admin and scimkit-reader (docs/seed-format.md)
SCIM_PAGE = 100  # the server's SCIM page size (emulator Limits.scim_page_size)
UC_PAGE = Limits().uc_page_size


def _scim_requests(n: int) -> int:
    """The SDK reads SCIM pages until one comes back empty: one more request than full pages."""
    return math.ceil(n / SCIM_PAGE) + 1


def _pages(n: int, size: int) -> int:
    return max(1, math.ceil(n / size))


def minimum_requests(seed: Path, uc_page: int = UC_PAGE) -> dict[str, int]:
    """The fewest requests per rate-limit class that read the seed's whole account."""

    def load(name: str) -> Any:
        path = seed / f"{name}.json"
        return json.loads(path.read_text()) if path.is_file() else ({} if name == "unity_catalog" else [])

    users, sps, groups = load("users"), load("service_principals"), load("groups")
    workspaces, metastores, uc = load("workspaces"), load("metastores"), load("unity_catalog")
    default_ms = metastores[0]["metastore_id"]

    def ms(item: dict[str, Any]) -> str:
        return item.get("metastore_id") or default_ms

    def children(key: str, parent_parts: int) -> Counter[tuple[str, str]]:
        return Counter(
            (ms(i), ".".join(i["full_name"].split(".")[:parent_parts]).lower()) for i in uc.get(key, [])
        )

    catalogs = [(ms(c), c["name"].lower()) for c in uc.get("catalogs", [])]
    schemas = [
        (ms(s), s["full_name"].lower())
        for s in uc.get("schemas", [])
        if not s["full_name"].lower().endswith(".information_schema")
    ]  # not walked into
    uc_list = len(workspaces)  # one metastore summary per workspace
    for m in metastores:  # catalogs, external locations, storage credentials: one list each
        for key in ("catalogs", "external_locations", "storage_credentials"):
            uc_list += _pages(sum(1 for i in uc.get(key, []) if ms(i) == m["metastore_id"]), uc_page)
    per_catalog = children("schemas", 1)
    uc_list += sum(_pages(per_catalog[c], uc_page) for c in catalogs)
    for key in ("tables", "volumes", "functions"):
        per_schema = children(key, 2)
        uc_list += sum(_pages(per_schema[s], uc_page) for s in schemas)
    securables = len(metastores) + sum(
        len(uc.get(k, []))
        for k in (
            "catalogs",
            "schemas",
            "tables",
            "volumes",
            "functions",
            "external_locations",
            "storage_credentials",
        )
    )
    return {
        "scim-list": _scim_requests(len(users))
        + _scim_requests(len(sps) + BUILTIN_SERVICE_PRINCIPALS)
        + _scim_requests(len(groups)),
        "scim-get": len(groups),  # one GET per group, for its members
        "account-read": 1 + len(workspaces),  # the workspace list, then assignments per workspace
        "uc-list": uc_list,
        "uc-grants-read": securables,  # one grants GET per securable (each fits one page)
    }


def test_rate_limited_full_read_lets_no_429_through_and_sends_the_minimum() -> None:
    with start(rate_limits=True) as emu:
        limits = CountingLimits()
        account = make_account(emu, retry_timeout_seconds=60, limits=limits)
        started = time.monotonic()
        people = identities.read_identities(account, progress=False)
        uc = read_catalog(
            account, progress=False, workspace_ids=[ws.workspace_id for ws in people.workspaces]
        )
        elapsed = time.monotonic() - started
        figures = stats(emu)

    assert people.failures == [] and uc.failures == []
    assert len(uc.securables) == minimum_requests(SAMPLE)["uc-grants-read"]
    assert figures["rate_limits"] is True
    assert figures["throttled"] == {}, figures  # not one 429, so none reached the SDK
    expected = minimum_requests(SAMPLE)
    assert {k: v for k, v in figures["requests"].items() if k != "meta"} == expected
    # the client never sent a request without a token; the catalog read took exactly one per request
    assert all(limits.taken[k] >= n for k, n in expected.items()), limits.taken
    assert limits.taken["uc-list"] == expected["uc-list"]
    assert limits.taken["uc-grants-read"] == expected["uc-grants-read"]
    print(
        f"\nrate-limited full read of the sample account: {elapsed:.1f} s, requests {figures['requests']}, "
        f"throttled {figures['throttled']}, client waits { ({k: round(v, 1) for k, v in limits.waited.items()}) }"
    )


# -- paging and metastores -------------------------------------------------------------------------------------

MS1, MS2 = "11111111-aaaa-4000-8000-000000000001", "22222222-bbbb-4000-8000-000000000002"
WS1, WS2, WS3 = 7100000000000001, 7100000000000002, 7100000000000003

TWO_METASTORES = {
    "users": [{"id": "1000000000000001", "userName": "maria@company.com", "active": True}],
    "groups": [
        {"id": "2000000000000001", "displayName": "Engineering", "members": []},
        {"id": "2000000000000002", "displayName": "Analysts", "members": []},
    ],
    "metastores": [
        {"metastore_id": MS1, "name": "west", "region": "westeurope", "owner": "Engineering"},
        {"metastore_id": MS2, "name": "east", "region": "eastus"},
    ],
    "workspaces": [
        {"workspace_id": WS1, "workspace_name": "prod", "metastore_id": MS1},
        {"workspace_id": WS2, "workspace_name": "dev", "metastore_id": MS1},
        {"workspace_id": WS3, "workspace_name": "us", "metastore_id": MS2},
    ],
    "unity_catalog": {
        "storage_credentials": [
            {"name": "cred_a", "owner": "Engineering"},
            {"name": "cred_b", "owner": "Engineering"},
            {"name": "cred_c", "owner": "Engineering"},
        ],
        "catalogs": [
            {"name": "lake", "owner": "Engineering"},
            {"name": "sandbox", "owner": "maria@company.com"},
            {"name": "archive", "owner": "Engineering"},
            {"name": "us_lake", "owner": "Analysts", "metastore_id": MS2},
        ],
        "schemas": [
            {"full_name": "lake.core", "owner": "Engineering"},
            {"full_name": "lake.information_schema", "owner": "Engineering"},
            {"full_name": "lake.extra", "owner": "Engineering"},
            {"full_name": "lake.more", "owner": "Engineering"},
            {"full_name": "us_lake.core", "owner": "Analysts", "metastore_id": MS2},
        ],
        "tables": [{"full_name": f"lake.core.t{i}", "owner": "Engineering"} for i in range(5)]
        + [
            {"full_name": "lake.core.v", "owner": "Engineering", "table_type": "VIEW"},
            {"full_name": "us_lake.core.orders", "owner": "Analysts", "metastore_id": MS2},
        ],
        "volumes": [{"full_name": "lake.core.files", "owner": "Engineering", "volume_type": "EXTERNAL"}],
        "functions": [
            {"full_name": "lake.core.f1", "owner": "Engineering"},
            {"full_name": "lake.core.f2", "owner": "Engineering"},
        ],
    },
    "grants": [
        {
            "securable_type": "CATALOG",
            "full_name": "lake",
            "principal": "Analysts",
            "privileges": ["USE_CATALOG", "BROWSE", "SELECT"],
        },
        {
            "securable_type": "CATALOG",
            "full_name": "lake",
            "principal": "maria@company.com",
            "privileges": ["USE_CATALOG"],
        },
        {
            "securable_type": "CATALOG",
            "full_name": "lake",
            "principal": "account users",
            "privileges": ["BROWSE"],
        },
        {
            "securable_type": "TABLE",
            "full_name": "us_lake.core.orders",
            "principal": "Engineering",
            "privileges": ["SELECT", "MODIFY"],
            "metastore_id": MS2,
        },
        {
            "securable_type": "METASTORE",
            "full_name": MS2,
            "principal": "Analysts",
            "privileges": ["CREATE_CATALOG"],
            "metastore_id": MS2,
        },
    ],
}


@pytest.fixture(scope="module")
def two_metastores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seed(tmp_path_factory.mktemp("two-metastores"), TWO_METASTORES)


def test_every_page_and_every_metastore_is_read_with_one_token_per_request(two_metastores: Path) -> None:
    with start(seed_dir=two_metastores, limits=Limits(uc_page_size=2, grants_page_size=2)) as emu:
        limits = CountingLimits(scale=20)
        account = make_account(emu, limits=limits)
        read = read_catalog(account, progress=False)
        figures = stats(emu)["requests"]

    assert read.failures == []
    assert [(m.metastore_id, m.name, m.owner, m.workspace_ids, m.read_through) for m in read.metastores] == [
        (MS1, "west", "Engineering", (WS1, WS2), WS1),
        (MS2, "east", read.metastores[1].owner, (WS3,), WS3),
    ]
    found = {(s.metastore_id, s.securable_type, s.full_name) for s in read.securables}
    uc = TWO_METASTORES["unity_catalog"]
    expected = {(MS1, "METASTORE", MS1), (MS2, "METASTORE", MS2)}
    for key, securable_type in (
        ("storage_credentials", "STORAGE_CREDENTIAL"),
        ("catalogs", "CATALOG"),
        ("schemas", "SCHEMA"),
        ("tables", "TABLE"),
        ("volumes", "VOLUME"),
        ("functions", "FUNCTION"),
    ):
        for item in uc[key]:
            name = item.get("full_name") or item["name"]
            if not name.endswith(".information_schema"):  # skipped: read-only views of the catalog
                expected.add((item.get("metastore_id", MS1), securable_type, name))
    assert found == expected
    assert read.workspace_metastores == {WS1: MS1, WS2: MS1, WS3: MS2}
    assert next(s for s in read.securables if s.full_name == "lake.core.v").kind == "VIEW"
    assert next(s for s in read.securables if s.full_name == "lake.core.files").kind == "EXTERNAL"

    # grants over several pages (two privileges a page) and in both metastores
    assert {
        (g.metastore_id, g.securable_type, g.full_name, g.principal, g.privilege) for g in read.grants
    } == {
        (g.get("metastore_id", MS1), g["securable_type"], g["full_name"], g["principal"], p)
        for g in TWO_METASTORES["grants"]
        for p in g["privileges"]
    }

    # the minimum requests (page size 2), and one client token per request
    seed_min = minimum_requests(two_metastores, uc_page=2)
    assert figures["uc-list"] == seed_min["uc-list"]
    # lake's grants take three pages of at most two privileges, a principal never split:
    # [account users (1)] [Analysts (3)] [maria (1)]; every other securable one page
    grants_pages = len(read.securables) + 2
    assert figures["uc-grants-read"] == grants_pages
    assert limits.taken["uc-list"] == figures["uc-list"]
    assert limits.taken["uc-grants-read"] == figures["uc-grants-read"]
    assert limits.taken["account-read"] == figures["account-read"] == 1


def test_changes_go_through_the_workspace_of_the_securables_metastore(two_metastores: Path) -> None:
    from scimkit import catalog

    with start(seed_dir=two_metastores) as emu:
        account = make_account(emu, limits=RateLimits(scale=20))
        with pytest.raises(UnknownSecurable, match="pass workspace_id="):
            catalog.grant(account, "TABLE", "us_lake.core.orders", "maria@company.com", "SELECT")
        change = catalog.grant(
            account, "TABLE", "us_lake.core.orders", "maria@company.com", "SELECT", workspace_id=WS3
        )
        assert change.changed
        w3 = emu.workspace_client(workspace_id=WS3)
        got = w3.grants.get("table", "us_lake.core.orders", principal="maria@company.com")
        assert {p.value for p in got.privilege_assignments[0].privileges} == {"SELECT"}
        [metastore_change] = apply_script(
            account, "GRANT CREATE EXTERNAL LOCATION ON METASTORE TO Engineering", workspace_id=WS3
        )
        assert metastore_change.target == f"METASTORE {MS2}" and metastore_change.changed


def test_reads_that_fail_after_the_sdks_retries_are_recorded(two_metastores: Path) -> None:
    faults = [
        r"GET:/permissions/schema/:503:100000",  # every schema's grants: 503, retried, then given up
        r"GET:/unity-catalog/functions$:500:100000",
    ]  # every function list: 500, not retried
    with start(seed_dir=two_metastores, faults=faults) as emu:
        account = make_account(emu, retry_timeout_seconds=2, limits=RateLimits(scale=20))
        read = read_catalog(account, progress=False)

    schemas = sorted(
        s["full_name"]
        for s in TWO_METASTORES["unity_catalog"]["schemas"]
        if not s["full_name"].endswith("information_schema")
    )
    by_kind = Counter((f.object_type, f.operation) for f in read.failures)
    assert by_kind == {
        ("grants", "w.grants.get"): len(schemas),
        ("securable", "w.functions.list"): len(schemas),
    }
    grant_failures = [f for f in read.failures if f.object_type == "grants"]
    assert sorted(f.object_name for f in grant_failures) == [f"SCHEMA {s}" for s in schemas]
    # reads in flight wait out the SDK's retries; any not yet started are skipped, naming that failure
    assert all("TimeoutError after retries: TemporarilyUnavailable" in f.error for f in grant_failures)
    # everything else was read: the catalog grants, the tables and their grants
    assert {(g.full_name, g.principal) for g in read.grants} >= {
        ("lake", "Analysts"),
        ("us_lake.core.orders", "Engineering"),
    }
    assert not [s for s in read.securables if s.securable_type == "FUNCTION"]
    assert len([s for s in read.securables if s.securable_type == "TABLE"]) == 7

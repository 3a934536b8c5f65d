"""sample_data/ is what scripts/generate_sample_data.py writes, loads into the emulator's store, and
holds exactly the structure and the planted problems its manifest claims."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from scimkit.emulator import seed, store

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
SCRIPT = ROOT / "scripts" / "generate_sample_data.py"

# Privileges that may be granted on each securable type (a catalog or schema also takes the
# privileges of its children, which they inherit).
TABLE_PRIVS = {"SELECT", "MODIFY", "MANAGE", "ALL_PRIVILEGES"}
VOLUME_PRIVS = {"READ_VOLUME", "WRITE_VOLUME", "MANAGE", "ALL_PRIVILEGES"}
FUNCTION_PRIVS = {"EXECUTE", "MANAGE", "ALL_PRIVILEGES"}
SCHEMA_PRIVS = {
    "USE_SCHEMA",
    "CREATE_TABLE",
    "CREATE_VOLUME",
    "CREATE_FUNCTION",
    "MANAGE",
    "ALL_PRIVILEGES",
    "SELECT",
    "MODIFY",
    "READ_VOLUME",
    "WRITE_VOLUME",
    "EXECUTE",
}
VALID_PRIVILEGES = {
    "METASTORE": {
        "CREATE_CATALOG",
        "CREATE_EXTERNAL_LOCATION",
        "CREATE_STORAGE_CREDENTIAL",
        "CREATE_CONNECTION",
        "CREATE_SHARE",
        "CREATE_RECIPIENT",
        "CREATE_PROVIDER",
        "USE_MARKETPLACE_ASSETS",
        "MANAGE_ALLOWLIST",
    },
    "CATALOG": {"USE_CATALOG", "CREATE_SCHEMA", "BROWSE"} | SCHEMA_PRIVS,
    "SCHEMA": SCHEMA_PRIVS,
    "TABLE": TABLE_PRIVS,
    "VOLUME": VOLUME_PRIVS,
    "FUNCTION": FUNCTION_PRIVS,
    "EXTERNAL_LOCATION": {
        "READ_FILES",
        "WRITE_FILES",
        "CREATE_EXTERNAL_TABLE",
        "CREATE_EXTERNAL_VOLUME",
        "CREATE_MANAGED_STORAGE",
        "BROWSE",
        "MANAGE",
        "ALL_PRIVILEGES",
    },
    "STORAGE_CREDENTIAL": {
        "CREATE_EXTERNAL_LOCATION",
        "CREATE_EXTERNAL_TABLE",
        "READ_FILES",
        "WRITE_FILES",
        "MANAGE",
        "ALL_PRIVILEGES",
    },
}
ACCOUNT_USERS = "account users"


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_sample_data", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _data() -> dict[str, Any]:
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    data = {name: json.loads((SAMPLE / file).read_text()) for name, file in manifest["files"].items()}
    data["manifest"] = manifest
    return data


class Account:
    """The seed as principals, memberships, securables and grants, with the closure helpers."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.users = {u["userName"]: u for u in data["users"]}
        self.sps = {s["applicationId"]: s for s in data["service_principals"]}
        self.groups = {g["displayName"]: g for g in data["groups"]}
        self.by_id = {u["id"]: u["userName"] for u in data["users"]}
        self.by_id |= {s["id"]: s["applicationId"] for s in data["service_principals"]}
        self.by_id |= {g["id"]: g["displayName"] for g in data["groups"]}
        # name -> groups it is a direct member of
        self.parents: dict[str, set[str]] = {name: set() for name in self.by_id.values()}
        for g in data["groups"]:
            for m in g["members"]:
                self.parents[self.by_id[m["value"]]].add(g["displayName"])
        uc = data["unity_catalog"]
        self.owner: dict[tuple[str, str], str] = {}
        for key, stype, field in (
            ("catalogs", "CATALOG", "name"),
            ("schemas", "SCHEMA", "full_name"),
            ("tables", "TABLE", "full_name"),
            ("volumes", "VOLUME", "full_name"),
            ("functions", "FUNCTION", "full_name"),
            ("external_locations", "EXTERNAL_LOCATION", "name"),
            ("storage_credentials", "STORAGE_CREDENTIAL", "name"),
        ):
            for s in uc[key]:
                self.owner[(stype, s[field])] = s["owner"]
        self.grants = data["grants"]
        self.granted: dict[tuple[str, str, str], set[str]] = {}
        for g in self.grants:
            self.granted.setdefault((g["securable_type"], g["full_name"], g["principal"]), set()).update(
                g["privileges"]
            )

    def exists(self, principal: str) -> bool:
        return principal in self.users or principal in self.groups or principal in self.sps

    def ancestors(self, name: str) -> set[str]:
        """Groups `name` is in, directly or through nesting."""
        seen: set[str] = set()
        todo = list(self.parents.get(name, ()))
        while todo:
            group = todo.pop()
            if group not in seen:
                seen.add(group)
                todo.extend(self.parents[group])
        return seen

    def identities(self, principal: str) -> set[str]:
        """Every principal whose grants reach `principal`: itself, its groups, account users."""
        return {principal, ACCOUNT_USERS} | self.ancestors(principal)

    @staticmethod
    def lineage(stype: str, full_name: str) -> list[tuple[str, str]]:
        """The securable and its catalog-tree ancestors, nearest first."""
        parts = full_name.split(".")
        if stype in ("TABLE", "VOLUME", "FUNCTION"):
            return [(stype, full_name), ("SCHEMA", ".".join(parts[:2])), ("CATALOG", parts[0])]
        if stype == "SCHEMA":
            return [(stype, full_name), ("CATALOG", parts[0])]
        return [(stype, full_name)]

    def holds(self, principal: str, privilege: str, stype: str, full_name: str) -> bool:
        """Effective privilege: granted on the securable or a parent to any identity, or ownership."""
        who = self.identities(principal)
        for securable in self.lineage(stype, full_name):
            if self.owner.get(securable) in who:
                return True
            for identity in who:
                privs = self.granted.get((*securable, identity), set())
                if privilege in privs or (privilege != "MANAGE" and "ALL_PRIVILEGES" in privs):
                    return True
        return False

    def usable(self, grant: dict[str, Any]) -> bool:
        """Whether the grant's privileges can be used (USE_CATALOG and USE_SCHEMA on the path)."""
        stype, full_name, principal = grant["securable_type"], grant["full_name"], grant["principal"]
        privs = set(grant["privileges"])
        if stype not in ("CATALOG", "SCHEMA", "TABLE", "VOLUME", "FUNCTION") or privs <= {"BROWSE"}:
            return True
        catalog = full_name.split(".")[0]
        if not self.holds(principal, "USE_CATALOG", "CATALOG", catalog):
            return False
        if stype == "CATALOG":
            needs_schema = bool(privs - {"USE_CATALOG", "BROWSE", "USE_SCHEMA", "CREATE_SCHEMA", "MANAGE"})
            return not needs_schema or self.holds(principal, "USE_SCHEMA", "CATALOG", catalog)
        if stype == "SCHEMA" and privs <= {"USE_SCHEMA", "BROWSE"}:
            return True
        schema = ".".join(full_name.split(".")[:2])
        return self.holds(principal, "USE_SCHEMA", "SCHEMA", schema)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return _data()


@pytest.fixture(scope="module")
def account(data: dict[str, Any]) -> Account:
    return Account(data)


def _planted(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [p for p in data["manifest"]["planted"] if p["kind"] == kind]


def _principals(entries: Iterable[dict[str, Any]]) -> set[str]:
    return {p["principal"] for p in entries}


def _securables(entries: Iterable[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(p["securable_type"], p["securable"], p["principal"]) for p in entries}


# -- generation ----------------------------------------------------------------------------------


def test_regenerating_gives_identical_bytes(tmp_path: Path) -> None:
    _load_generator().generate(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    # expected_findings.json and previous_snapshot/ come from scripts/make_previous_snapshot.py.
    committed = sorted(p.name for p in SAMPLE.iterdir()
                       if p.is_file() and p.name not in ("__init__.py", "expected_findings.json"))
    assert written == committed
    for name in written:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), (
            f"{name} differs: rerun {SCRIPT}"
        )


def test_manifest(data: dict[str, Any]) -> None:
    manifest = data["manifest"]
    assert manifest["format"] == "scimkit-seed" and manifest["version"] == 1
    assert manifest["name"] == "company.com"
    assert "account_id" not in manifest
    assert manifest["generator"] == "scripts/generate_sample_data.py"
    assert manifest["random_seed"] == _load_generator().RANDOM_SEED
    for file in manifest["files"].values():
        assert (SAMPLE / file).is_file()
    counts = manifest["counts"]
    uc = data["unity_catalog"]
    assert counts["users"] == len(data["users"])
    assert counts["groups"] == len(data["groups"])
    assert counts["service_principals"] == len(data["service_principals"])
    assert counts["tables"] == len(uc["tables"])
    assert counts["grants"] == len(data["grants"])
    assert sum(p.stat().st_size for p in SAMPLE.iterdir() if p.is_file()) < 2_000_000


def test_seed_loads_into_the_store() -> None:
    s = store.Store()
    manifest = seed.load(s, SAMPLE)
    assert manifest["name"] == "company.com"
    with s.tx() as db:
        kinds = dict(db.execute("SELECT kind, count(*) FROM principals GROUP BY kind").fetchall())
        assert kinds["User"] == len(_data()["users"])
        assert kinds["Group"] == len(_data()["groups"])
        workspaces = [
            row[0] for row in db.execute("SELECT workspace_id FROM workspaces ORDER BY workspace_id")
        ]
        assert workspaces == [7000000000000001, 7000000000000002, 7000000000000003]


# -- identities ----------------------------------------------------------------------------------


def test_identity_shapes(data: dict[str, Any]) -> None:
    users, sps, groups = data["users"], data["service_principals"], data["groups"]
    assert 200 <= len(users) <= 400
    assert 30 <= len(groups) <= 60
    assert 5 <= len(sps) <= 6
    ids = [x["id"] for x in users + sps + groups]
    assert len(ids) == len(set(ids))
    assert all(len(i) == 16 and i.isdigit() and int(i) < 9_100_000_000_000_000 for i in ids)
    for u in users:
        assert u["userName"].endswith("@company.com") and u["emails"][0]["value"] == u["userName"]
        assert u["displayName"] == f"{u['name']['givenName']} {u['name']['familyName']}"
    assert 10 <= sum(not u["active"] for u in users) <= 15
    assert sum(1 for u in users if {"value": "account_admin"} in u.get("roles", [])) == 3
    assert {s["displayName"] for s in sps} >= {
        "etl-prod-runner",
        "bi-refresh",
        "ml-training",
        "terraform-deployer",
    }
    idp = [g for g in groups if g.get("_provisioned_by_idp")]
    assert idp and len(idp) < len(groups)
    assert all(g.get("externalId") for g in idp)
    assert not any(g.get("externalId") for g in groups if not g.get("_provisioned_by_idp"))


def test_seed_example_principals(account: Account) -> None:
    assert account.users["alex@company.com"]["displayName"] == "Alex Morgan"
    assert account.users["jaya@company.com"]["displayName"] == "Jaya Raman"
    # The seed example adds members to these groups with an admin token: they are not IdP-managed.
    for name in ("DataEngineers.Prod", "Analysts.NonProd"):
        assert not account.groups[name].get("_provisioned_by_idp")
    assert account.groups["Analysts.NonProd"]["members"], "Analysts.NonProd should have other members"
    for user in ("alex@company.com", "jaya@company.com"):
        assert account.users[user]["active"]
        groups = account.ancestors(user)
        assert groups, f"{user} should be in some group"
        assert "Analysts.NonProd" not in groups  # neither directly nor through a nested group


def test_members_exist_and_nesting_is_a_dag_of_depth_4(data: dict[str, Any], account: Account) -> None:
    group_ids = {g["id"] for g in data["groups"]}
    children: dict[str, list[str]] = {}
    for g in data["groups"]:
        for m in g["members"]:
            assert m["value"] in account.by_id, f"{g['displayName']} lists unknown member {m['value']}"
        children[g["id"]] = [m["value"] for m in g["members"] if m["value"] in group_ids]

    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def longest(gid: str) -> int:
        if gid in depth:
            return depth[gid]
        assert gid not in visiting, f"cycle through group {account.by_id[gid]}"
        visiting.add(gid)
        depth[gid] = max((1 + longest(c) for c in children[gid]), default=0)
        visiting.discard(gid)
        return depth[gid]

    assert max(longest(g) for g in group_ids) == 4
    assert data["manifest"]["counts"]["max_group_depth"] == 4


def test_workspaces(data: dict[str, Any], account: Account) -> None:
    workspaces = data["workspaces"]
    assert [w["workspace_name"] for w in workspaces] == ["company-prod", "company-dev", "company-analytics"]
    assert workspaces[0]["workspace_id"] == 7000000000000001
    metastore = data["metastores"][0]
    assert len(data["metastores"]) == 1 and metastore["name"] == "company-metastore"
    assert metastore["region"] == "westeurope" and metastore["owner"] == "Platform.Admins"
    for w in workspaces:
        assert w["metastore_id"] == metastore["metastore_id"]
        for a in w["assignments"]:
            assert a["principal_id"] in account.by_id
            assert a["permissions"] in (["USER"], ["ADMIN"])
        assert any(a["permissions"] == ["ADMIN"] for a in w["assignments"])


# -- Unity Catalog -------------------------------------------------------------------------------


def test_securables(data: dict[str, Any], account: Account) -> None:
    uc = data["unity_catalog"]
    catalogs = {c["name"] for c in uc["catalogs"]}
    assert 4 <= len(catalogs) <= 6 and "datalake" in catalogs
    assert any("prod" in c for c in catalogs) and any("dev" in c for c in catalogs)
    schemas = {s["full_name"] for s in uc["schemas"]}
    assert {"datalake.sales_data", "datalake.finance"} <= schemas and 20 <= len(schemas) <= 30
    assert all(s.split(".")[0] in catalogs for s in schemas)
    tables = {t["full_name"]: t for t in uc["tables"]}
    assert 250 <= len(tables) <= 350
    assert tables["datalake.finance.transactions"]["table_type"] == "MANAGED"
    assert any(t["table_type"] == "VIEW" for t in tables.values())
    volumes = {v["full_name"]: v for v in uc["volumes"]}
    assert volumes["datalake.sales_data.pipelines"]["volume_type"] == "MANAGED" and 15 <= len(volumes) <= 25
    assert 10 <= len(uc["functions"]) <= 20
    for full_name in [*tables, *volumes, *(f["full_name"] for f in uc["functions"])]:
        assert full_name.rsplit(".", 1)[0] in schemas
    credentials = {c["name"] for c in uc["storage_credentials"]}
    assert all(
        loc["credential_name"] in credentials and loc["url"].startswith("abfss://")
        for loc in uc["external_locations"]
    )
    assert account.owner[("CATALOG", "datalake")] == "DataEngineers.Prod"
    owned_by_user = {
        (stype, name, owner) for (stype, name), owner in account.owner.items() if owner in account.users
    }
    for (stype, name), owner in account.owner.items():
        assert account.exists(owner), f"owner {owner} of {stype} {name} does not exist"
    assert owned_by_user == _securables(_planted(data, "securable_owned_by_user"))
    assert all(account.users[o]["active"] for _, _, o in owned_by_user)


def test_grants_are_valid(data: dict[str, Any], account: Account) -> None:
    grants = data["grants"]
    assert 150 <= len(grants) <= 300
    missing = _principals(_planted(data, "grant_to_missing_principal"))
    assert missing and not any(account.exists(p) for p in missing)
    metastore_id = data["metastores"][0]["metastore_id"]
    keys = set()
    for g in grants:
        stype, full_name, principal = g["securable_type"], g["full_name"], g["principal"]
        assert (stype, full_name, principal) not in keys, f"duplicate grant row {g}"
        keys.add((stype, full_name, principal))
        assert g["privileges"] and set(g["privileges"]) <= VALID_PRIVILEGES[stype], g
        assert principal == ACCOUNT_USERS or account.exists(principal) or principal in missing, g
        if stype == "METASTORE":
            assert full_name == metastore_id
        else:
            assert (stype, full_name) in account.owner, f"grant on unknown securable {stype} {full_name}"
    assert any(g["principal"] == ACCOUNT_USERS for g in grants)
    assert any(g["securable_type"] == "METASTORE" for g in grants)


def test_seed_example_grants(account: Account) -> None:
    assert "USE_CATALOG" in account.granted[("CATALOG", "datalake", "DataEngineers.Prod")]
    assert "SELECT" in account.granted[("SCHEMA", "datalake.sales_data", "DataEngineers.Prod")]
    assert account.granted[("TABLE", "datalake.finance.transactions", "Analysts.NonProd")] == {"SELECT"}
    assert ("VOLUME", "datalake.sales_data.pipelines", "DataEngineers.Prod") not in account.granted
    # Granted but not usable, whichever way the privileges could reach Analysts.NonProd.
    assert not account.holds("Analysts.NonProd", "USE_CATALOG", "CATALOG", "datalake")
    assert not account.holds("Analysts.NonProd", "USE_SCHEMA", "SCHEMA", "datalake.finance")
    # alex and jaya can do nothing in datalake before the seed example adds them to Analysts.NonProd.
    for user in ("alex@company.com", "jaya@company.com"):
        for privilege in ("USE_CATALOG", "USE_SCHEMA", "SELECT", "BROWSE"):
            assert not account.holds(user, privilege, "TABLE", "datalake.finance.transactions")
        assert not account.holds(user, "USE_CATALOG", "CATALOG", "datalake")


# -- planted problems ----------------------------------------------------------------------------


def test_planted_identity_problems(data: dict[str, Any], account: Account) -> None:
    planted = data["manifest"]["planted"]
    assert all(p["kind"] and p["detail"] for p in planted)
    member_of = {name: account.parents[name] for name in account.users}

    empty = {g for g, doc in account.groups.items() if not doc["members"]}
    assert empty and empty == _principals(_planted(data, "empty_group"))

    deactivated_in_groups = {u for u, doc in account.users.items() if not doc["active"] and member_of[u]}
    assert deactivated_in_groups and deactivated_in_groups == _principals(
        _planted(data, "deactivated_user_in_groups")
    )

    lonely = {u for u, doc in account.users.items() if doc["active"] and not member_of[u]}
    assert lonely and lonely == _principals(_planted(data, "user_in_no_group"))

    holders = {g["principal"] for g in data["grants"]} | set(account.owner.values())
    without = {g for g in account.groups if g not in holders}
    assert without == _principals(_planted(data, "group_without_grants"))
    assert "Marketing.Interns" in without


def test_planted_grant_problems(data: dict[str, Any], account: Account) -> None:
    grants = data["grants"]

    def rows(predicate: Any) -> set[tuple[str, str, str]]:
        return {(g["securable_type"], g["full_name"], g["principal"]) for g in grants if predicate(g)}

    users = account.users
    direct = rows(lambda g: g["principal"] in users and users[g["principal"]]["active"])
    assert direct and direct == _securables(_planted(data, "direct_user_grant"))

    to_deactivated = rows(lambda g: g["principal"] in users and not users[g["principal"]]["active"])
    assert to_deactivated and to_deactivated == _securables(_planted(data, "grant_to_deactivated_user"))

    to_missing = rows(lambda g: g["principal"] != ACCOUNT_USERS and not account.exists(g["principal"]))
    assert to_missing and to_missing == _securables(_planted(data, "grant_to_missing_principal"))

    all_privileges = rows(lambda g: "ALL_PRIVILEGES" in g["privileges"])
    assert all_privileges and all_privileges == _securables(_planted(data, "all_privileges_to_broad_group"))
    for _, _, group in all_privileges:
        assert len(account.groups[group]["members"]) >= 5

    prod_modify = rows(
        lambda g: (
            g["securable_type"] == "CATALOG"
            and "prod" in g["full_name"]
            and g["principal"] in account.sps
            and "MODIFY" in g["privileges"]
        )
    )
    assert prod_modify and prod_modify == _securables(_planted(data, "sp_modify_on_production_catalog"))

    not_usable = rows(lambda g: account.exists(g["principal"]) and not account.usable(g))
    assert not_usable == _securables(_planted(data, "granted_not_usable"))
    assert not_usable == {("TABLE", "datalake.finance.transactions", "Analysts.NonProd")}

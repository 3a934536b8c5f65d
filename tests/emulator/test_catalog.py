"""scimkit.catalog against the emulator seeded from sample_data/, through the real SDK: the full
read, failures recorded not skipped, and grant / revoke / owner changes (validated first, idempotent).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from databricks.sdk.errors import PermissionDenied

from scimkit import catalog
from scimkit.catalog import GrantRecord, SecurableRecord, read_catalog
from scimkit.connect import Account
from scimkit.emulator import Emulator
from scimkit.errors import (
    InapplicablePrivilege,
    InvalidInput,
    ScriptRejected,
    UnknownPrincipal,
    UnknownSecurable,
)
from scimkit.limits import RateLimits
from scimkit.parallel import ReadFailure
from scimkit.sql_script import apply_script

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
SEED_TYPES = {
    "storage_credentials": "STORAGE_CREDENTIAL",
    "external_locations": "EXTERNAL_LOCATION",
    "catalogs": "CATALOG",
    "schemas": "SCHEMA",
    "tables": "TABLE",
    "volumes": "VOLUME",
    "functions": "FUNCTION",
}


def _load(name: str) -> Any:
    return json.loads((SAMPLE / name).read_text())


def make_account(
    emu: Emulator, token: str | None = None, retry_timeout_seconds: int = 10, limits: RateLimits | None = None
) -> Account:
    """An Account on an emulator, as connect(emulator=True) builds it, without starting another one."""
    return Account(
        a=emu.account_client(token=token, retry_timeout_seconds=retry_timeout_seconds),
        account_id=emu.account_id,
        host=emu.host,
        source="emulator",
        limits=limits or RateLimits(),
        _workspace_factory=lambda wid: emu.workspace_client(
            workspace_id=wid, token=token, retry_timeout_seconds=retry_timeout_seconds
        ),
    )


@pytest.fixture
def account(emu: Emulator) -> Account:
    return make_account(emu, limits=RateLimits(scale=20))  # the client-side limiter is tested elsewhere


def add_fault(emu: Emulator, spec: str) -> None:
    """Through the emulator's HTTP control endpoint (tests never reach into its internals)."""
    reply = requests.post(
        f"{emu.host}/_scimkit/faults",
        json={"spec": spec},
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text


def stats(emu: Emulator) -> dict[str, Any]:
    return requests.get(f"{emu.host}/_scimkit/stats", timeout=10).json()


def writes(emu: Emulator) -> int:
    return stats(emu)["requests"].get("uc-grants-write", 0)


def expected_securables() -> set[tuple[str, str, str | None]]:
    """(type, full name, owner) of every securable in the seed, the metastore included."""
    [metastore] = _load("metastores.json")
    uc = _load("unity_catalog.json")
    out = {("METASTORE", metastore["metastore_id"], metastore["owner"])}
    for key, securable_type in SEED_TYPES.items():
        for item in uc[key]:
            out.add(
                (
                    securable_type,
                    item.get("full_name") or item["name"],
                    item.get("owner") or metastore["owner"],
                )
            )
    return out


def expected_grants() -> set[tuple[str, str, str, str]]:
    return {
        (g["securable_type"], g["full_name"].lower(), g["principal"].lower(), p)
        for g in _load("grants.json")
        for p in g["privileges"]
    }


def grant_keys(grants: list[GrantRecord]) -> set[tuple[str, str, str, str]]:
    return {(g.securable_type, g.full_name.lower(), g.principal.lower(), g.privilege) for g in grants}


def direct(w: Any, securable_type: str, full_name: str) -> dict[str, set[str]]:
    """The grants as the SDK reads them back."""
    got = w.grants.get(securable_type.lower(), full_name)
    return {a.principal: {p.value for p in a.privileges or []} for a in got.privilege_assignments or []}


# -- the full read ---------------------------------------------------------------------------------------


def test_full_read_of_the_sample_account(emu: Emulator, account: Account) -> None:
    read = read_catalog(account, progress=False)

    assert read.failures == [] and read.complete
    [metastore] = _load("metastores.json")
    workspaces = _load("workspaces.json")
    [record] = read.metastores
    assert (record.metastore_id, record.name, record.owner, record.region) == (
        metastore["metastore_id"],
        metastore["name"],
        metastore["owner"],
        metastore["region"],
    )
    assert record.workspace_ids == tuple(sorted(w["workspace_id"] for w in workspaces))
    assert read.workspaces_without_metastore == []

    # every securable of every type, with its owner, once
    assert {(s.securable_type, s.full_name, s.owner) for s in read.securables} == expected_securables()
    assert len(read.securables) == len(expected_securables())
    counts = Counter(s.securable_type for s in read.securables)
    manifest = _load("manifest.json")["counts"]
    assert counts == {
        "METASTORE": 1,
        "CATALOG": manifest["catalogs"],
        "SCHEMA": manifest["schemas"],
        "TABLE": manifest["tables"],
        "VOLUME": manifest["volumes"],
        "FUNCTION": manifest["functions"],
        "EXTERNAL_LOCATION": manifest["external_locations"],
        "STORAGE_CREDENTIAL": manifest["storage_credentials"],
    }
    assert all(s.owner for s in read.securables)
    assert all(s.metastore_id == metastore["metastore_id"] for s in read.securables)

    # the snapshot's columns can be filled
    volume = read.securable("VOLUME", "datalake.sales_data.pipelines")
    assert volume == SecurableRecord(
        metastore["metastore_id"],
        "VOLUME",
        "datalake.sales_data.pipelines",
        "datalake.sales_data",
        "datalake",
        "sales_data",
        "DataEngineers.Prod",
        "MANAGED",
    )
    assert read.securable("SCHEMA", "datalake.finance").parent_full_name == "datalake"
    assert read.securable("CATALOG", "datalake").kind == "MANAGED_CATALOG"
    assert read.securable("TABLE", "datalake.finance.v_fx_rates_snapshot").kind == "VIEW"
    assert read.securable("METASTORE", metastore["metastore_id"]).parent_full_name is None

    # every direct grant of the seed, and nothing else
    assert grant_keys(read.grants) == expected_grants()
    assert len(read.grants) == manifest["privileges_granted"]
    assert "SELECT" in read.grants_on("TABLE", "datalake.finance.transactions")["Analysts.NonProd"]
    assert "USE_CATALOG" in read.grants_on("CATALOG", "datalake")["DataEngineers.Prod"]
    assert "SELECT" in read.grants_on("SCHEMA", "datalake.sales_data")["DataEngineers.Prod"]
    assert read.grants_on("METASTORE", metastore["metastore_id"])["account users"] == {
        "USE_MARKETPLACE_ASSETS"
    }


def test_a_failed_grants_read_is_recorded_and_everything_else_is_read(
    emu: Emulator, account: Account
) -> None:
    add_fault(emu, r"GET:/permissions/table/datalake\.finance\.transactions$:500:3")  # every attempt fails
    read = read_catalog(account, progress=False)

    [failure] = read.failures
    assert failure.object_type == "grants"
    assert failure.object_name == "TABLE datalake.finance.transactions"
    assert failure.operation == "w.grants.get"
    assert "InternalError" in failure.error and "500" in failure.error
    assert not read.complete
    # the securable itself was read; only its grants are missing, and every other grant is there
    assert read.securable("TABLE", "datalake.finance.transactions") is not None
    missing = {k for k in expected_grants() if k[1] == "datalake.finance.transactions"}
    assert missing and grant_keys(read.grants) == expected_grants() - missing


def test_failed_lists_are_recorded_per_parent(emu: Emulator, account: Account) -> None:
    schemas = [s["full_name"] for s in _load("unity_catalog.json")["schemas"]]
    add_fault(emu, "GET:/unity-catalog/volumes$:500:*")  # every volume list fails, retries included
    read = read_catalog(account, progress=False)

    assert sorted(f.object_name for f in read.failures) == sorted(schemas)
    assert {(f.object_type, f.operation) for f in read.failures} == {("securable", "w.volumes.list")}
    assert not [s for s in read.securables if s.securable_type == "VOLUME"]
    assert Counter(s.securable_type for s in read.securables)["TABLE"] == len(
        _load("unity_catalog.json")["tables"]
    )


# -- grant, revoke, owner ------------------------------------------------------------------------------------


def test_grant_is_idempotent(emu: Emulator, account: Account, w: Any) -> None:
    first = catalog.grant(
        account, "TABLE", "datalake.finance.transactions", "jaya@company.com", ["SELECT", "MODIFY"]
    )
    assert first.changed and first.target == "TABLE datalake.finance.transactions"
    assert direct(w, "TABLE", "datalake.finance.transactions")["jaya@company.com"] == {"SELECT", "MODIFY"}
    patches = writes(emu)

    again = catalog.grant(
        account, "table", "datalake.finance.transactions", "JAYA@company.com", "select, modify"
    )
    assert not again.changed
    assert writes(emu) == patches  # no PATCH the second time

    partly = catalog.grant(
        account, "TABLE", "datalake.finance.transactions", "jaya@company.com", ["SELECT", "APPLY TAG"]
    )
    assert partly.changed and partly.detail == "APPLY_TAG to jaya@company.com"


def test_revoke_is_idempotent(emu: Emulator, account: Account, w: Any) -> None:
    change = catalog.revoke(account, "CATALOG", "datalake", "DataEngineers.Prod", "USE CATALOG")
    assert change.changed
    assert "DataEngineers.Prod" not in direct(w, "CATALOG", "datalake")
    patches = writes(emu)
    assert not catalog.revoke(account, "CATALOG", "datalake", "DataEngineers.Prod", "USE CATALOG").changed
    assert writes(emu) == patches


def test_grants_of_a_deleted_principal_can_be_revoked(account: Account, w: Any) -> None:
    before = direct(w, "SCHEMA", "prod_sales.crm")
    assert "old.contractor@company.com" in before  # planted: the user is no longer in the account
    change = catalog.revoke(
        account,
        "SCHEMA",
        "prod_sales.crm",
        "old.contractor@company.com",
        sorted(before["old.contractor@company.com"]),
    )
    assert change.changed
    assert "old.contractor@company.com" not in direct(w, "SCHEMA", "prod_sales.crm")
    with pytest.raises(UnknownPrincipal):  # and now it holds nothing, it is unknown
        catalog.revoke(account, "SCHEMA", "prod_sales.crm", "old.contractor@company.com", "SELECT")


def test_grants_to_service_principals_account_users_and_the_metastore(account: Account, w: Any) -> None:
    sp = _load("service_principals.json")[1]["applicationId"]
    assert catalog.grant(account, "FUNCTION", "datalake.curated.mask_email", sp, "EXECUTE").changed
    assert "EXECUTE" in direct(w, "FUNCTION", "datalake.curated.mask_email")[sp]
    assert catalog.grant(
        account, "VOLUME", "datalake.sales_data.pipelines", "account users", "READ VOLUME"
    ).changed
    assert direct(w, "VOLUME", "datalake.sales_data.pipelines")["account users"] == {"READ_VOLUME"}
    metastore_id = _load("metastores.json")[0]["metastore_id"]
    assert catalog.grant(account, "METASTORE", "", "Data.Stewards", "CREATE CATALOG").changed
    assert "CREATE_CATALOG" in direct(w, "METASTORE", metastore_id)["Data.Stewards"]
    assert not catalog.grant(account, "METASTORE", metastore_id, "Data.Stewards", "CREATE_CATALOG").changed


def test_privileges_the_installed_sdk_may_not_know_are_written_and_read(account: Account, w: Any) -> None:
    """EXTERNAL_USE_LOCATION is missing from databricks-sdk 0.113's Privilege enum."""
    change = catalog.grant(
        account, "EXTERNAL_LOCATION", "raw-landing", "DataEngineers.Prod", "EXTERNAL USE LOCATION"
    )
    assert change.changed
    read = read_catalog(account, progress=False)
    assert "EXTERNAL_USE_LOCATION" in read.grants_on("EXTERNAL_LOCATION", "raw-landing")["DataEngineers.Prod"]
    assert not catalog.grant(
        account, "EXTERNAL_LOCATION", "raw-landing", "DataEngineers.Prod", "EXTERNAL_USE_LOCATION"
    ).changed


def test_set_owner_is_idempotent(emu: Emulator, account: Account, w: Any) -> None:
    change = catalog.set_owner(account, "TABLE", "datalake.finance.transactions", "Finance.Controllers")
    assert change.changed and change.detail == "owner DataEngineers.Prod -> Finance.Controllers"
    assert w.tables.get("datalake.finance.transactions").owner == "Finance.Controllers"
    patches = writes(emu)
    assert not catalog.set_owner(
        account, "TABLE", "datalake.finance.transactions", "finance.controllers"
    ).changed
    assert writes(emu) == patches
    for securable_type, name, getter in (
        ("CATALOG", "datalake", w.catalogs.get),
        ("SCHEMA", "datalake.finance", w.schemas.get),
        ("VOLUME", "datalake.sales_data.pipelines", w.volumes.read),
        ("FUNCTION", "datalake.curated.mask_email", w.functions.get),
        ("EXTERNAL_LOCATION", "raw-landing", w.external_locations.get),
        ("STORAGE_CREDENTIAL", "company-adls-mi", w.storage_credentials.get),
    ):
        assert catalog.set_owner(account, securable_type, name, "jaya@company.com").changed
        assert getter(name).owner == "jaya@company.com"


def test_dry_run_writes_nothing(emu: Emulator, account: Account, w: Any) -> None:
    change = catalog.grant(
        account, "TABLE", "datalake.finance.transactions", "jaya@company.com", "SELECT", dry_run=True
    )
    assert change.changed and change.detail.startswith("would: ")
    assert "jaya@company.com" not in direct(w, "TABLE", "datalake.finance.transactions")
    assert writes(emu) == 0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda acc: catalog.grant(
                acc, "TABLE", "datalake.finance.transactions", "No.Such.Group", "SELECT"
            ),
            UnknownPrincipal,
            "No user, group or service principal named 'No.Such.Group'",
        ),
        (
            lambda acc: catalog.grant(
                acc, "TABLE", "datalake.finance.transactions", "nobody@company.com", "SELECT"
            ),
            UnknownPrincipal,
            "nobody@company.com",
        ),
        (
            lambda acc: catalog.grant(
                acc, "TABLE", "datalake.finance.transactions", "alex@company", "SELECT"
            ),
            InvalidInput,
            "looks like an email address but is not a valid one",
        ),
        (
            lambda acc: catalog.grant(
                acc, "TABLE", "datalake.finance.transactions", "etl-prod-runner", "SELECT"
            ),
            InvalidInput,
            "use `969d34ff-dc75-46cb-8fe0-11b6ffb6ad7c`",
        ),
        (
            lambda acc: catalog.grant(
                acc, "VOLUME", "datalake.sales_data.pipelines", "DataEngineers.Prod", "EXECUTE"
            ),
            InapplicablePrivilege,
            "EXECUTE is not applicable to VOLUME datalake.sales_data.pipelines; a VOLUME takes "
            "ALL PRIVILEGES, APPLY TAG, MANAGE, READ VOLUME, WRITE VOLUME",
        ),
        (
            lambda acc: catalog.grant(
                acc, "TABLE", "datalake.finance.v_fx_rates_snapshot", "Analysts.Prod", "MODIFY"
            ),
            InapplicablePrivilege,
            "MODIFY is not applicable to VIEW datalake.finance.v_fx_rates_snapshot",
        ),
        (
            lambda acc: catalog.grant(acc, "METASTORE", "", "Data.Stewards", "SELECT"),
            InapplicablePrivilege,
            "a METASTORE takes CREATE CATALOG",
        ),
        (
            lambda acc: catalog.grant(acc, "TABLE", "datalake.finance.nope", "Analysts.NonProd", "SELECT"),
            UnknownSecurable,
            "TABLE datalake.finance.nope does not exist",
        ),
        (
            lambda acc: catalog.grant(
                acc, "METASTORE", "00000000-0000-0000-0000-000000000000", "Data.Stewards", "CREATE CATALOG"
            ),
            UnknownSecurable,
            "is not the metastore of workspace",
        ),
        (
            lambda acc: catalog.grant(
                acc, "TABLE", "datalake.finance.transactions", "Analysts.NonProd", "SELEKT"
            ),
            InvalidInput,
            "Unknown privilege 'SELEKT'",
        ),
        (
            lambda acc: catalog.grant(acc, "TABLE", "datalake.finance.transactions", "Analysts.NonProd", []),
            InvalidInput,
            "needs at least one privilege",
        ),
        (
            lambda acc: catalog.grant(acc, "SHARE", "s", "Analysts.NonProd", "SELECT"),
            InvalidInput,
            "Unknown securable type 'SHARE'",
        ),
        (
            lambda acc: catalog.set_owner(acc, "TABLE", "datalake.finance.transactions", "account users"),
            InvalidInput,
            "cannot own a securable",
        ),
        (
            lambda acc: catalog.set_owner(acc, "METASTORE", "", "Platform.Admins"),
            InvalidInput,
            "does not change the metastore owner",
        ),
    ],
)
def test_invalid_input_is_refused_before_any_write(
    emu: Emulator, account: Account, call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        call(account)
    assert message in str(info.value)
    assert writes(emu) == 0


def test_permission_denied_is_raised_not_retried(emu: Emulator) -> None:
    reader = make_account(emu, token=emu.reader_token, retry_timeout_seconds=60)
    with pytest.raises(PermissionDenied):
        catalog.grant(reader, "TABLE", "datalake.finance.transactions", "jaya@company.com", "SELECT")
    assert stats(emu)["requests"]["uc-grants-write"] == 1  # one PATCH, refused, not re-sent


# -- scripts on the sample account ----------------------------------------------------------------------------


def test_a_script_with_several_invalid_statements_names_each_and_applies_nothing(
    emu: Emulator, account: Account
) -> None:
    script = """
    GRANT SELECT ON TABLE finance.transactions TO `jaya@company.com`;
    GRANT SELECT ON TABLE finance.no_such_table TO `jaya@company.com`;
    GRANT SELECT ON TABLE finance.transactions TO `No.Such.Group`;
    GRANT WRITE VOLUME ON TABLE finance.transactions TO `jaya@company.com`;
    ALTER TABLE finance.transactions OWNER TO `account users`;
    """
    with pytest.raises(ScriptRejected) as info:
        apply_script(account, script, default_catalog="datalake", default_schema="sales_data")
    problems = info.value.problems
    assert [n for n, _, _ in problems] == [2, 3, 4, 5]
    assert "does not exist" in problems[0][2]
    assert "No.Such.Group" in problems[1][2]
    assert "WRITE VOLUME is not applicable to TABLE datalake.finance.transactions" in problems[2][2]
    assert "cannot own" in problems[3][2]
    assert writes(emu) == 0


def test_a_script_of_grants_revokes_and_owners_applies_in_order(
    emu: Emulator, account: Account, w: Any
) -> None:
    script = """
    GRANT USE SCHEMA, SELECT ON SCHEMA finance TO `jaya@company.com`;
    REVOKE SELECT ON SCHEMA finance FROM `jaya@company.com`;
    ALTER SCHEMA finance OWNER TO `Finance.Controllers`;
    GRANT CREATE CATALOG ON METASTORE TO `jaya@company.com`
    """
    planned = apply_script(account, script, default_catalog="datalake", dry_run=True)
    assert [c.changed for c in planned] == [True, True, True, True]
    assert writes(emu) == 0
    changes = apply_script(account, script, default_catalog="datalake")
    assert [(c.action, c.detail) for c in changes] == [
        ("grant", "USE_SCHEMA, SELECT to jaya@company.com"),
        ("revoke", "SELECT from jaya@company.com"),
        ("set_owner", "owner DataEngineers.Prod -> Finance.Controllers"),
        ("grant", "CREATE_CATALOG to jaya@company.com"),
    ]
    assert direct(w, "SCHEMA", "datalake.finance")["jaya@company.com"] == {"USE_SCHEMA"}
    assert w.schemas.get("datalake.finance").owner == "Finance.Controllers"
    again = apply_script(account, script, default_catalog="datalake")
    # the grant and revoke cancel out, so both apply again: the script's outcome is the same
    assert [c.changed for c in again] == [True, True, False, False]
    assert direct(w, "SCHEMA", "datalake.finance")["jaya@company.com"] == {"USE_SCHEMA"}


def test_read_failures_are_read_failure_records(emu: Emulator, account: Account) -> None:
    add_fault(emu, r"GET:/permissions/metastore/:500:3")
    read = read_catalog(account, progress=False)
    assert all(isinstance(f, ReadFailure) for f in read.failures)
    [failure] = read.failures
    assert failure.object_name.startswith("METASTORE ")

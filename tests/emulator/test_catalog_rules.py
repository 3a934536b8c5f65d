"""The toolkit's own privilege table and rules (no server): the same as the emulator's, which the
toolkit must not import."""

from __future__ import annotations

from typing import Any

import pytest
from databricks.sdk.service import catalog as sdk_catalog

from scimkit import catalog
from scimkit.emulator.unity import rules as unity_rules
from scimkit.errors import InapplicablePrivilege, InvalidInput
from scimkit.limits import MeteredApiClient, RateLimits


def test_privilege_table_is_the_emulators() -> None:
    assert catalog.PRIVILEGES == unity_rules.PRIVILEGES
    assert set(catalog.SECURABLE_TYPES) == set(unity_rules.SECURABLE_TYPES)
    assert catalog.PRIVILEGE_NAMES <= unity_rules.KNOWN_PRIVILEGES


@pytest.mark.parametrize(
    "table_type",
    [None, "MANAGED", "EXTERNAL", "VIEW", "METRIC_VIEW", "MATERIALIZED_VIEW", "STREAMING_TABLE", "view"],
)
def test_kind_of_a_table_is_the_emulators(table_type: str | None) -> None:
    assert catalog.kind_of("TABLE", table_type) == unity_rules.kind_of("TABLE", {"table_type": table_type})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SELECT", "SELECT"),
        ("select", "SELECT"),
        ("USE CATALOG", "USE_CATALOG"),
        ("use_catalog", "USE_CATALOG"),
        ("All Privileges", "ALL_PRIVILEGES"),
        ("  read   volume ", "READ_VOLUME"),
        ("external-use-location", "EXTERNAL_USE_LOCATION"),
    ],
)
def test_privileges_are_normalised(raw: str, expected: str) -> None:
    assert catalog.normalise_privilege(raw) == expected


@pytest.mark.parametrize("raw", ["", "  ", "SELEKT", "USAGE", "READ DATA", None])
def test_unknown_privileges_are_invalid_input(raw: Any) -> None:
    with pytest.raises(InvalidInput):
        catalog.normalise_privilege(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("catalog", "CATALOG"),
        ("External Location", "EXTERNAL_LOCATION"),
        ("storage-credential", "STORAGE_CREDENTIAL"),
        ("DATABASE", "SCHEMA"),
        ("view", "TABLE"),
        ("metastore", "METASTORE"),
    ],
)
def test_securable_types_are_normalised(raw: str, expected: str) -> None:
    assert catalog.normalise_securable_type(raw) == expected


def test_inapplicable_privileges_name_what_the_securable_takes() -> None:
    with pytest.raises(InapplicablePrivilege) as info:
        catalog.check_applicable(["EXECUTE"], "VOLUME", "datalake.sales_data.pipelines")
    assert str(info.value).startswith(
        "EXECUTE is not applicable to VOLUME datalake.sales_data.pipelines; a VOLUME takes ALL PRIVILEGES, "
        "APPLY TAG, MANAGE, READ VOLUME, WRITE VOLUME."
    )
    with pytest.raises(InapplicablePrivilege, match="MODIFY, REFRESH are not applicable to VIEW v"):
        catalog.check_applicable(["SELECT", "MODIFY", "REFRESH"], "VIEW", "v")
    catalog.check_applicable(
        ["SELECT", "USE_SCHEMA", "READ_VOLUME", "EXECUTE"], "CATALOG", "c"
    )  # inherited below


def test_privileges_go_to_the_sdk_as_enums_even_when_it_does_not_know_them() -> None:
    change = sdk_catalog.PermissionsChange(
        principal="x", add=[catalog.privilege_enum("SELECT"), catalog.privilege_enum("NOT_IN_ANY_SDK_YET")]
    )
    assert change.as_dict() == {"principal": "x", "add": ["SELECT", "NOT_IN_ANY_SDK_YET"]}
    assert catalog.privilege_enum("SELECT") is sdk_catalog.Privilege.SELECT


class _FakeApi:
    def __init__(self) -> None:
        self.calls = 0
        self._cfg = "config"

    def do(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        return {"n": self.calls}


class _Counting(RateLimits):
    def __init__(self) -> None:
        super().__init__(scale=1000)
        self.taken = 0

    def acquire(self, rate_class: str) -> None:
        self.taken += 1


def test_metered_api_takes_one_token_per_request_after_the_prepaid_ones() -> None:
    limits = _Counting()
    api = MeteredApiClient(_FakeApi(), limits, "uc-list", prepaid=1)
    assert api._cfg == "config"  # the SDK's service classes read it for the workspace header
    for _ in range(3):
        api.do("GET", "/x")
    assert (api.requests, limits.taken, api.last) == (3, 2, {"n": 3})

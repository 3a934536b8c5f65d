"""The Entra source (msal + Graph reader) against the emulated tenant, through real msal and HTTP."""

from __future__ import annotations

import requests

from scimkit.sources.entra import EntraCredentials, GraphReader, credentials_strategy

from .test_entra_tenant import PUBLIC, TENANT, ToLoopback, emu  # noqa: F401 - the module fixture


def _reader(emulator, sleeps=None) -> GraphReader:  # noqa: ANN001
    session = requests.Session()
    for host in PUBLIC:
        session.mount(host, ToLoopback(emulator.host))
    client = TENANT["clients"][0]
    creds = EntraCredentials(TENANT["tenant_id"], client["client_id"], client["client_secret"])
    return GraphReader(creds, session=session, sleep=(sleeps.append if sleeps is not None else lambda s: None))


def test_read_yields_the_tenant_with_nesting_and_assignments(emu) -> None:  # noqa: ANN001,F811
    reader = _reader(emu)
    identities = reader.read(application_id=TENANT["databricks_application"]["id"])
    assert len(identities.people) == len(TENANT["users"]) and len(identities.groups) == len(TENANT["groups"])
    assert identities.person("oskar.brenner@company.com").assigned_to_app is False
    assert identities.person("marta.lindqvist@company.com").assigned_to_app is True
    emea = identities.group("Sales.EMEA")
    assert emea.member_groups == ("Sales.Leads",) and emea.assigned_to_app
    assert {"ana.moreau@company.com", "bruno.novak@company.com"} <= identities.transitive_members("Sales.EMEA")
    assert {"alex@company.com", "jaya@company.com"} <= set(identities.group("Analysts.NonProd").members)
    # users (1 page of 999), assignments (1), groups (1), one members read per group
    assert reader.requests == 3 + len(TENANT["groups"])
    assert "entra-scimkit-local" not in repr(reader) and "***" in repr(reader.tokens.credentials)


def test_throttling_is_retried_after_retry_after(emu) -> None:  # noqa: ANN001,F811
    response = requests.post(f"{emu.host}/_scimkit/faults", json={"spec": "GET:/v1.0/groups$:429:1"},
                             headers={"Authorization": f"Bearer {emu.token}"})
    assert response.status_code == 200
    sleeps: list[float] = []
    reader = _reader(emu, sleeps)
    assert len(reader.groups()) == len(TENANT["groups"])
    assert sleeps == [1.0] and reader.requests == 2


def test_credentials_strategy_gives_databricks_an_entra_token(emu) -> None:  # noqa: ANN001,F811
    reader = _reader(emu)
    provider = credentials_strategy(reader.tokens)(None)
    header = provider()["Authorization"]
    assert header.startswith("Bearer entra-")
    assert provider() == {"Authorization": header}  # the msal cache serves the second call

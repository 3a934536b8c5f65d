"""The emulated Entra tenant, reached only through the real msal client and plain Graph HTTP (the
offline technique of entra-graph.md 2.3: the real authority, a Session whose adapter rewrites the
Microsoft hosts to the loopback emulator, instance_discovery=False)."""

from __future__ import annotations

import json
from pathlib import Path

import msal
import pytest
import requests
from requests.adapters import HTTPAdapter

from scimkit.emulator import start

TENANT = json.loads((Path(__file__).resolve().parents[2] / "sample_data" / "entra_tenant.json").read_text())
PUBLIC = ("https://login.microsoftonline.com", "https://graph.microsoft.com")
GRAPH = "https://graph.microsoft.com/v1.0"


class ToLoopback(HTTPAdapter):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request, **kwargs):  # noqa: ANN001, ANN201
        for host in PUBLIC:
            request.url = request.url.replace(host, self.base, 1)
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def emu():
    with start() as emulator:
        yield emulator


def _session(emu) -> requests.Session:  # noqa: ANN001
    session = requests.Session()
    for host in PUBLIC:
        session.mount(host, ToLoopback(emu.host))
    return session


def _app(emu, secret: str | None = None) -> msal.ConfidentialClientApplication:  # noqa: ANN001
    client = TENANT["clients"][0]
    return msal.ConfidentialClientApplication(
        client["client_id"], client_credential=secret or client["client_secret"],
        authority=f"https://login.microsoftonline.com/{TENANT['tenant_id']}",
        http_client=_session(emu), instance_discovery=False)


def test_msal_gets_a_token_and_caches_it(emu) -> None:  # noqa: ANN001
    app = _app(emu)
    first = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert first["token_source"] == "identity_provider" and first["access_token"].startswith("entra-")
    again = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert again["token_source"] == "cache"
    bad = _app(emu, secret="wrong").acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert bad["error"] == "invalid_client" and "AADSTS7000215" in bad["error_description"]


def test_graph_pages_selects_and_refuses_unknown_tokens(emu) -> None:  # noqa: ANN001
    token = _app(emu).acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])["access_token"]
    session = _session(emu)
    headers = {"Authorization": f"Bearer {token}"}
    url, users, pages = f"{GRAPH}/users?$select=id,userPrincipalName,accountEnabled&$top=120", [], 0
    while url:
        body = session.get(url, headers=headers).json()
        users += body["value"]
        pages += 1
        url = body.get("@odata.nextLink")
    assert len(users) == len(TENANT["users"]) and pages == -(-len(users) // 120)
    assert {"id", "userPrincipalName", "accountEnabled"} <= set(users[0])
    assert "accountEnabled" not in session.get(f"{GRAPH}/users", headers=headers).json()["value"][0]
    refused = session.get(f"{GRAPH}/users", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert session.get(f"{GRAPH}/users?$top=1000", headers=headers).status_code == 400
    sales = next(g for g in TENANT["groups"] if g["displayName"] == "Sales.EMEA")
    direct = session.get(f"{GRAPH}/groups/{sales['id']}/members?$top=999", headers=headers).json()["value"]
    nested = [m for m in direct if m["@odata.type"] == "#microsoft.graph.group"]
    assert [m["id"] for m in nested] == [g["id"] for g in TENANT["groups"] if g["displayName"] == "Sales.Leads"]
    flat = session.get(f"{GRAPH}/groups/{sales['id']}/transitiveMembers?$top=999", headers=headers).json()["value"]
    assert len(flat) == len(direct) + 2  # the two members of Sales.Leads
    app_id = TENANT["databricks_application"]["id"]
    assigned = session.get(f"{GRAPH}/servicePrincipals/{app_id}/appRoleAssignedTo?$top=999", headers=headers).json()
    assert len(assigned["value"]) == len(TENANT["databricks_application"]["assignments"])
    assert emu.stats()["requests"]["graph"] == pages + 6  # every Graph request counted, refused ones too

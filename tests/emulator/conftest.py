"""A small hand-written seed for identity tests, so expected answers are obvious from this file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from scimkit.emulator import Emulator, create

WS_PROD = 7000000000000001
WS_DEV = 7000000000000002


def write_identity_seed(root: Path) -> Path:
    users = [
        {"id": str(1000000000000000 + i), "userName": f"user{i:03d}@company.com", "displayName": f"User {i:03d}",
         "name": {"givenName": "User", "familyName": f"{i:03d}"}, "active": i % 50 != 7,
         "emails": [{"value": f"user{i:03d}@company.com", "primary": True, "type": "work"}]}
        for i in range(1, 251)
    ]
    users += [
        {"id": "1000000000000901", "userName": "alex@company.com", "displayName": "Alex Morgan", "active": True,
         "roles": [{"value": "account_admin"}]},
        {"id": "1000000000000902", "userName": "jaya@company.com", "displayName": "Jaya Raman", "active": True},
    ]
    sps = [{"id": "3000000000000001", "applicationId": "11111111-2222-4333-8444-555555555555",
            "displayName": "etl-prod-runner", "active": True}]
    groups = [
        {"id": "2000000000000001", "displayName": "Engineering", "members": [{"value": "2000000000000002"}]},
        {"id": "2000000000000002", "displayName": "DataEngineers.Prod",
         "members": [{"value": "1000000000000001"}, {"value": "3000000000000001"}]},
        {"id": "2000000000000003", "displayName": "Analysts.NonProd", "members": [{"value": "1000000000000002"}]},
        {"id": "2000000000000004", "displayName": "Entra.Synced", "externalId": "f648f8d5-ea4e-4cd3-8e9c",
         "_provisioned_by_idp": True, "members": [{"value": "1000000000000003"}]},
        {"id": "2000000000000005", "displayName": "Empty.Group", "members": []},
    ]
    workspaces = [
        {"workspace_id": WS_PROD, "workspace_name": "company-prod",
         "assignments": [{"principal_id": "2000000000000001", "permissions": ["USER"]},
                         {"principal_id": "1000000000000901", "permissions": ["ADMIN"]}]},
        {"workspace_id": WS_DEV, "workspace_name": "company-dev", "assignments": []},
    ]
    files = {"users": users, "service_principals": sps, "groups": groups, "workspaces": workspaces}
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / f"{name}.json").write_text(json.dumps(data, indent=2))
    (root / "manifest.json").write_text(json.dumps({
        "format": "scimkit-seed", "version": 1, "name": "identity-test",
        "files": {name: f"{name}.json" for name in files}}))
    return root


@pytest.fixture(scope="session")
def identity_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_identity_seed(tmp_path_factory.mktemp("identity-seed"))


@pytest.fixture(scope="session")
def _identity_emulator(identity_seed: Path) -> Iterator[Emulator]:
    import threading

    emulator = create(seed_dir=identity_seed)
    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    emulator._thread = thread
    thread.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def ie(_identity_emulator: Emulator) -> Emulator:
    """The identity-test emulator, restored to its seed before each test."""
    _identity_emulator.reset()
    return _identity_emulator


@pytest.fixture
def ia(ie: Emulator):  # noqa: ANN201 - AccountClient
    return ie.account_client(retry_timeout_seconds=10)


class Http:
    """Plain HTTP against the emulator, for what the SDK cannot send."""

    def __init__(self, emu: Emulator, token: str | None = None, version: str = "2.0") -> None:
        self.emu = emu
        self.base = f"{emu.host}/api/{version}/accounts/{emu.account_id}/scim/v2"
        self.headers = {"Authorization": f"Bearer {token or emu.token}", "Content-Type": "application/json"}

    def get(self, path: str, **params: object) -> requests.Response:
        return requests.get(f"{self.base}/{path}", params=params, headers=self.headers, timeout=10)

    def post(self, path: str, body: object) -> requests.Response:
        return requests.post(f"{self.base}/{path}", json=body, headers=self.headers, timeout=10)

    def put(self, path: str, body: object) -> requests.Response:
        return requests.put(f"{self.base}/{path}", json=body, headers=self.headers, timeout=10)

    def patch(self, path: str, body: object) -> requests.Response:
        return requests.patch(f"{self.base}/{path}", json=body, headers=self.headers, timeout=10)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(f"{self.base}/{path}", headers=self.headers, timeout=10)


@pytest.fixture
def http(ie: Emulator) -> Http:
    return Http(ie)

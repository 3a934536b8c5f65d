"""Graph-style throttling: the emulator's Entra family answers injected 429/503 with Retry-After and
Graph's error body (faults by path, `--fault`), and the Graph reader (urllib3's Retry in its
session) waits as told, within a total budget, and still returns the complete result."""

from __future__ import annotations

import pytest
import requests

from scimkit.errors import ConnectionFailed
from scimkit.sources.entra import GraphUnavailable

from .test_entra_source import _reader
from .test_entra_tenant import GRAPH, TENANT, _app, _session, emu  # noqa: F401 - the module fixture

APP_ID = TENANT["databricks_application"]["id"]


@pytest.fixture
def fresh(emu):  # noqa: ANN001,ANN201,F811
    emu.reset()
    return emu


def _fault(emu, spec: str) -> None:  # noqa: ANN001,F811
    response = requests.post(f"{emu.host}/_scimkit/faults", json={"spec": spec},
                             headers={"Authorization": f"Bearer {emu.token}"}, timeout=10)
    assert response.status_code == 200


def _graph_requests(emu) -> int:  # noqa: ANN001,F811
    return emu.stats()["requests"].get("graph", 0)


def test_throttled_graph_answers_like_graph(fresh) -> None:  # noqa: ANN001
    _fault(fresh, "GET:/v1.0/users$:429:1")
    _fault(fresh, "GET:/v1.0/groups$:503:1")
    token = _app(fresh).acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])["access_token"]
    session, headers = _session(fresh), {"Authorization": f"Bearer {token}"}
    throttled = session.get(f"{GRAPH}/users", headers=headers)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    error = throttled.json()["error"]
    assert error["code"] == "TooManyRequests" and {"date", "request-id"} <= set(error["innerError"])
    busy = session.get(f"{GRAPH}/groups", headers=headers)
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "serviceNotAvailable"
    assert busy.headers["Retry-After"] == "1"
    assert session.get(f"{GRAPH}/users", headers=headers).status_code == 200  # the rules were for once


def test_reader_waits_as_told_and_the_result_is_complete(fresh, tmp_path) -> None:  # noqa: ANN001
    calm = _reader(fresh).read(application_id=APP_ID, state_dir=tmp_path / "calm")
    calm_requests = _graph_requests(fresh)
    _fault(fresh, "GET:/v1.0/users/delta:429:2")
    _fault(fresh, "GET:/v1.0/groups/delta:503:1")
    _fault(fresh, "GET:/appRoleAssignedTo:429:1")
    sleeps: list[float] = []
    reader = _reader(fresh, sleeps)
    before = _graph_requests(fresh)
    result = reader.read(application_id=APP_ID, state_dir=tmp_path / "throttled")
    assert sleeps == [1.0, 1.0, 1.0, 1.0]  # Retry-After: 1 each time, honoured
    assert _graph_requests(fresh) - before == calm_requests + 4 == reader.requests
    assert result.people == calm.people and result.groups == calm.groups
    assert fresh.stats()["faults_injected"] == 4


def test_the_retry_budget_bounds_the_waiting(fresh) -> None:  # noqa: ANN001
    _fault(fresh, "GET:/v1.0/groups$:429:*")  # a storm
    sleeps: list[float] = []
    reader = _reader(fresh, sleeps)
    reader.budget.total = 3.0
    with pytest.raises(GraphUnavailable) as raised:
        reader.read()
    assert sleeps == [1.0, 1.0, 1.0] and "retry budget" in str(raised.value) and "/v1.0/groups" in str(raised.value)
    assert reader.requests == 1 + 4  # users, then the groups request and its three retries
    assert isinstance(raised.value, ConnectionFailed)  # an incomplete read (exit 3), not bad input


def test_retries_are_bounded_in_number_too(fresh) -> None:  # noqa: ANN001
    _fault(fresh, "GET:/v1.0/groups$:503:*")
    sleeps: list[float] = []
    reader = _reader(fresh, sleeps)
    reader.session.adapters["https://graph.microsoft.com"].max_retries = \
        reader.session.adapters["https://graph.microsoft.com"].max_retries.new(total=2, status=2)
    before = _graph_requests(fresh)
    with pytest.raises(GraphUnavailable) as raised:
        reader.groups()
    assert "503 serviceNotAvailable after 2 retries" in str(raised.value) and len(sleeps) == 2
    assert _graph_requests(fresh) - before == 3 == reader.requests

"""Fault injection: statuses, storms, rates (seeded for replay), windows, latency, and answers lost
after the change was committed (connection dropped, or the answer replaced)."""

from __future__ import annotations

import time

import pytest
import requests

from scimkit.emulator import Emulator, start
from scimkit.emulator.faults import FaultRule


def _sps(emu: Emulator, name: str) -> list[dict]:
    r = requests.get(f"{emu.host}/api/2.0/accounts/{emu.account_id}/scim/v2/ServicePrincipals",
                     params={"filter": f'displayName eq "{name}"'},
                     headers={"Authorization": f"Bearer {emu.token}"}, timeout=10)
    assert r.status_code == 200
    return r.json()["Resources"]


def _post_sp(emu: Emulator, name: str) -> requests.Response:
    return requests.post(f"{emu.host}/api/2.0/accounts/{emu.account_id}/scim/v2/ServicePrincipals",
                         json={"displayName": name}, headers={"Authorization": f"Bearer {emu.token}"}, timeout=10)


def _statuses(emu: Emulator, n: int) -> list[int]:
    url = f"{emu.host}/api/2.0/accounts/{emu.account_id}/scim/v2/Groups"
    return [requests.get(url, params={"count": 1}, headers={"Authorization": f"Bearer {emu.token}"},
                         timeout=10).status_code for _ in range(n)]


@pytest.mark.parametrize("spec", ["GET:/Groups/:500:2", "get:/x:y:z:503:1", "*:.*:429:*", "GET:/a:latency-50:10%",
                                  "POST:/ServicePrincipals$:lost:1", "POST:/x:lost-500:2s", "DELETE:/x:drop:1"])
def test_good_specs_parse(spec: str) -> None:
    rule = FaultRule.parse(spec)
    assert rule.spec == spec


@pytest.mark.parametrize("spec", ["GET:/x:500", "GET:/x:200:1", "GET:/x:latency-abc:1", "GET:/x:500:150%",
                                  "GET:[:500:1", "GET:/x:boom:1", "GET:/x:500:-1", "GET:/x:500:0s"])
def test_bad_specs_are_refused_naming_the_spec(spec: str) -> None:
    with pytest.raises(ValueError, match="bad --fault") as info:
        FaultRule.parse(spec)
    assert repr(spec) in str(info.value)


def test_a_status_rule_answers_the_next_n_and_then_stops() -> None:
    with start(seed_dir=None, faults=["GET:/Groups$:503:2"]) as emu:
        assert _statuses(emu, 4) == [503, 503, 200, 200]
        assert emu.stats()["faults_injected"] == 2


def test_a_429_storm_lasts_until_the_rules_are_cleared() -> None:
    with start(seed_dir=None, faults=["GET:/Groups$:429:*"]) as emu:
        assert _statuses(emu, 5) == [429] * 5
        r = requests.delete(f"{emu.host}/_scimkit/faults", headers={"Authorization": f"Bearer {emu.token}"},
                            timeout=5)
        assert r.status_code == 200
        assert _statuses(emu, 2) == [200, 200]


def test_a_window_faults_every_match_for_its_duration() -> None:
    with start(seed_dir=None, faults=["GET:/Groups$:500:0.5s"]) as emu:
        assert _statuses(emu, 2) == [500, 500]
        time.sleep(0.7)
        assert _statuses(emu, 2) == [200, 200]


def test_a_rate_is_seeded_so_a_run_replays_exactly() -> None:
    runs = []
    for seed in (7, 7, 8):
        with start(seed_dir=None, faults=["GET:/Groups$:500:30%"], fault_seed=seed) as emu:
            runs.append(_statuses(emu, 40))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert 4 <= runs[0].count(500) <= 24  # about 30% of 40


def test_latency_is_added_and_the_request_then_served() -> None:
    with start(seed_dir=None, faults=["GET:/Groups$:latency-300:1"]) as emu:
        began = time.monotonic()
        assert _statuses(emu, 1) == [200]
        assert time.monotonic() - began >= 0.3


def test_a_lost_answer_commits_the_change_then_answers_503() -> None:
    with start(seed_dir=None, faults=["POST:/ServicePrincipals$:lost:1"]) as emu:
        response = _post_sp(emu, "lost-one")
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert "after the change was committed" in response.json()["detail"]
        assert len(_sps(emu, "lost-one")) == 1  # it was made


def test_a_dropped_connection_commits_the_change_and_answers_nothing() -> None:
    with start(seed_dir=None, faults=["POST:/ServicePrincipals$:drop:1"]) as emu:
        with pytest.raises(requests.ConnectionError):
            _post_sp(emu, "dropped-one")
        assert len(_sps(emu, "dropped-one")) == 1
        assert _post_sp(emu, "after-drop").status_code == 201  # the server keeps serving


def test_a_refused_handler_is_not_turned_into_a_lost_answer() -> None:
    with start(seed_dir=None, faults=["POST:/ServicePrincipals$:lost:*"]) as emu:
        response = requests.post(f"{emu.host}/api/2.0/accounts/{emu.account_id}/scim/v2/ServicePrincipals",
                                 data="{", headers={"Authorization": f"Bearer {emu.token}"}, timeout=10)
        assert response.status_code == 400  # nothing was committed, so the real answer is given


def test_a_rule_added_at_run_time_with_a_bad_spec_is_400() -> None:
    with start(seed_dir=None) as emu:
        r = requests.post(f"{emu.host}/_scimkit/faults", json={"spec": "GET:/x:nope:1"},
                          headers={"Authorization": f"Bearer {emu.token}"}, timeout=5)
        assert r.status_code == 400 and "bad --fault 'GET:/x:nope:1'" in r.json()["message"]

"""Tokens, workspaces, assignments, the meta endpoints and the fault switches."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests
from databricks.sdk.errors import InternalError, NotFound, PermissionDenied, Unauthenticated
from databricks.sdk.service import iam

from scimkit.emulator import start

from .conftest import WS_DEV, WS_PROD, Http


def test_well_known_needs_no_token_and_names_the_account(ie) -> None:
    response = requests.get(f"{ie.host}/.well-known/databricks-config", timeout=5)
    assert response.status_code == 200
    # A unified host: names its account, and the account's OIDC endpoint for oauth-m2m logins.
    assert response.json() == {"account_id": ie.account_id, "cloud": "AWS",
                               "oidc_endpoint": f"{ie.host}/oidc/accounts/{ie.account_id}"}


def test_me_answers_with_the_workspace_id_header(ie) -> None:
    w = ie.workspace_client(workspace_id=WS_DEV)
    assert w.current_user.me().display_name == "scimkit-admin"
    assert w.get_workspace_id() == WS_DEV
    assert ie.workspace_client().get_workspace_id() == WS_PROD


def test_unknown_workspace_header_is_404(ie) -> None:
    with pytest.raises(NotFound, match="Workspace 123"):
        ie.workspace_client(workspace_id=123, retry_timeout_seconds=5).current_user.me()


def test_missing_and_wrong_tokens_are_401(ie) -> None:
    assert requests.get(f"{ie.host}/api/2.0/accounts/{ie.account_id}/scim/v2/Users", timeout=5).status_code == 401
    with pytest.raises(Unauthenticated):
        list(ie.account_client(token="dapi-wrong", retry_timeout_seconds=5).users.list())


def test_reader_reads_but_cannot_write(ie) -> None:
    reader = ie.account_client(token=ie.reader_token, retry_timeout_seconds=5)
    assert len(list(reader.groups.list())) == 5
    with pytest.raises(PermissionDenied):
        reader.users.create(user_name="nope@company.com")
    with pytest.raises(PermissionDenied):
        reader.groups.patch("2000000000000003", operations=[iam.Patch(op=iam.PatchOp.REMOVE, path="members")])
    with pytest.raises(PermissionDenied):
        reader.workspace_assignment.update(workspace_id=WS_PROD, principal_id=1000000000000002,
                                           permissions=[iam.WorkspacePermission.USER])
    reset = requests.post(f"{ie.host}/_scimkit/reset", headers={"Authorization": f"Bearer {ie.reader_token}"},
                          timeout=5)
    assert reset.status_code == 403 and reset.json()["error_code"] == "PERMISSION_DENIED"


def test_scim_token_works_only_under_the_2_1_prefix(ie) -> None:
    assert Http(ie, token=ie.scim_token, version="2.1").get("Users", count=1).status_code == 200
    assert Http(ie, token=ie.scim_token, version="2.0").get("Users", count=1).status_code == 403
    with pytest.raises(PermissionDenied):
        ie.account_client(token=ie.scim_token, retry_timeout_seconds=5).workspaces.list()


def test_unknown_account_id_is_404(ie) -> None:
    response = requests.get(f"{ie.host}/api/2.0/accounts/other/scim/v2/Users",
                            headers={"Authorization": f"Bearer {ie.token}"}, timeout=5)
    assert response.status_code == 404


def test_workspaces(ia) -> None:
    workspaces = {w.workspace_id: w for w in ia.workspaces.list()}
    assert set(workspaces) == {WS_PROD, WS_DEV}
    assert workspaces[WS_PROD].workspace_name == "company-prod"
    assert ia.workspaces.get(WS_DEV).workspace_name == "company-dev"
    with pytest.raises(NotFound):
        ia.workspaces.get(123)


def test_workspace_assignment_create_or_replace(ia) -> None:
    listed = {x.principal.principal_id: x for x in ia.workspace_assignment.list(workspace_id=WS_PROD)}
    assert listed[2000000000000001].principal.group_name == "Engineering"
    assert [p.value for p in listed[1000000000000901].permissions] == ["ADMIN"]
    jaya = 1000000000000902
    created = ia.workspace_assignment.update(workspace_id=WS_DEV, principal_id=jaya,
                                             permissions=[iam.WorkspacePermission.USER])
    assert created.principal.user_name == "jaya@company.com"
    ia.workspace_assignment.update(workspace_id=WS_DEV, principal_id=jaya,
                                   permissions=[iam.WorkspacePermission.USER, iam.WorkspacePermission.ADMIN])
    dev = {x.principal.principal_id: x for x in ia.workspace_assignment.list(workspace_id=WS_DEV)}
    assert [p.value for p in dev[jaya].permissions] == ["ADMIN"]
    ia.workspace_assignment.delete(workspace_id=WS_DEV, principal_id=jaya)
    assert jaya not in {x.principal.principal_id for x in ia.workspace_assignment.list(workspace_id=WS_DEV)}
    with pytest.raises(NotFound):
        ia.workspace_assignment.delete(workspace_id=WS_DEV, principal_id=jaya)
    levels = ia.workspace_assignment.get(workspace_id=WS_DEV)
    assert {p.permission_level.value for p in levels.permissions} == {"USER", "ADMIN"}


def test_assignment_with_no_valid_permission_deletes_it(ie, ia) -> None:
    url = f"{ie.host}/api/2.0/accounts/{ie.account_id}/workspaces/{WS_PROD}/permissionassignments/principals/2000000000000001"
    response = requests.put(url, json={"permissions": ["user"]}, headers={"Authorization": f"Bearer {ie.token}"},
                            timeout=5)
    assert response.status_code == 200 and response.json()["permissions"] == []
    assert 2000000000000001 not in {x.principal.principal_id for x in ia.workspace_assignment.list(workspace_id=WS_PROD)}


def test_assignment_to_unknown_principal_or_workspace_is_404(ia) -> None:
    with pytest.raises(NotFound):
        ia.workspace_assignment.update(workspace_id=WS_PROD, principal_id=42, permissions=[iam.WorkspacePermission.USER])
    with pytest.raises(NotFound):
        ia.workspace_assignment.list(workspace_id=42)


def test_injected_faults_reach_the_sdk_then_stop(identity_seed) -> None:
    with start(seed_dir=identity_seed, faults=["GET:/Groups/:500:1"]) as emu:
        a = emu.account_client(retry_timeout_seconds=5)
        with pytest.raises(InternalError, match="Injected fault"):
            a.groups.get("2000000000000001")
        assert a.groups.get("2000000000000001").display_name == "Engineering"
        assert emu.stats()["faulted"] == {"scim-get": 1}


def test_injected_429_is_retried_by_the_sdk(identity_seed) -> None:
    with start(seed_dir=identity_seed, faults=["GET:/Users$:429:1"]) as emu:
        a = emu.account_client(retry_timeout_seconds=20)
        assert len(list(a.users.list(attributes="id"))) == 252
        assert emu.stats()["faulted"] == {"scim-list": 1}


def test_rate_limits_answer_429_with_integer_retry_after(identity_seed) -> None:
    with start(seed_dir=identity_seed, rate_limits=True) as emu:
        http = Http(emu)
        codes = [http.get("Groups/2000000000000001") for _ in range(30)]
        throttled = [r for r in codes if r.status_code == 429]
        assert throttled, "30 GETs at once exceed 20/s"
        assert throttled[0].headers["Retry-After"].isdigit()
        assert throttled[0].json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        stats = requests.get(f"{emu.host}/_scimkit/stats", timeout=5).json()
        assert stats["requests"]["scim-get"] == 30 and stats["throttled"]["scim-get"] == len(throttled)


def test_speed_scales_the_limits(identity_seed) -> None:
    with start(seed_dir=identity_seed, rate_limits=True, speed=10) as emu:
        http = Http(emu)
        assert all(http.get("Groups/2000000000000001").status_code == 200 for _ in range(150))


def test_latency_is_added_per_request(identity_seed) -> None:
    with start(seed_dir=identity_seed, latency_ms=200) as emu:
        began = time.monotonic()
        Http(emu).get("Users", count=1)
        assert time.monotonic() - began >= 0.2


def test_reset_restores_the_seed(ie, ia) -> None:
    ia.users.delete("1000000000000901")
    response = requests.post(f"{ie.host}/_scimkit/reset", headers={"Authorization": f"Bearer {ie.token}"}, timeout=5)
    assert response.status_code == 200
    assert ia.users.get("1000000000000901").user_name == "alex@company.com"


def test_db_file_keeps_state_and_is_seeded_only_when_new(identity_seed, tmp_path) -> None:
    db = str(tmp_path / "state.db")
    with start(seed_dir=identity_seed, db=db) as emu:
        emu.account_client(retry_timeout_seconds=5).users.delete("1000000000000901")
    with start(seed_dir=identity_seed, db=db) as emu, pytest.raises(NotFound):
        emu.account_client(retry_timeout_seconds=5).users.get("1000000000000901")


def test_cli_prints_host_and_account_first(identity_seed) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "scimkit.cli", "emulator", "--seed", str(identity_seed), "--account-id", "acc-1",
         "--token", "t-admin"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline().strip()
        assert first.startswith("host=http://127.0.0.1:") and first.endswith(" account_id=acc-1")
        host = first.split()[0].removeprefix("host=")
        response = requests.get(f"{host}/api/2.0/accounts/acc-1/scim/v2/Users", params={"count": 1},
                                headers={"Authorization": "Bearer t-admin"}, timeout=5)
        assert response.json()["totalResults"] == 252
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "t-admin" not in stderr

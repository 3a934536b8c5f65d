"""OAuth M2M (databricks-api.md section 8): service principal secrets, discovery, the token
endpoints and tokens acting as their service principal, through the unmodified SDK and plain HTTP."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests
from databricks.sdk import AccountClient, WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import BadRequest, NotFound, PermissionDenied
from databricks.sdk.service import catalog as catalog_service
from databricks.sdk.service import iam
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimkit.emulator import Emulator, create

ADMIN_ROLE = [iam.ComplexValue(value="account_admin")]


def _sp_with_secret(a: AccountClient, name: str, admin: bool = True) -> tuple[iam.ServicePrincipal, str]:
    sp = a.service_principals.create(display_name=name, roles=ADMIN_ROLE if admin else None)
    return sp, a.service_principal_secrets.create(service_principal_id=sp.id).secret


def _m2m_account(emu: Emulator, client_id: str, secret: str) -> AccountClient:
    return AccountClient(config=Config(host=emu.host, account_id=emu.account_id, client_id=client_id,
                                       client_secret=secret, auth_type="oauth-m2m", retry_timeout_seconds=10))


def _m2m_workspace(emu: Emulator, client_id: str, secret: str, workspace_id: int | None = None,
                   **extra: str) -> WorkspaceClient:
    return WorkspaceClient(config=Config(host=emu.host, workspace_id=str(workspace_id or emu.default_workspace_id),
                                         client_id=client_id, client_secret=secret, auth_type="oauth-m2m",
                                         retry_timeout_seconds=10, **extra))


def _token(emu: Emulator, client_id: str, secret: str, path: str | None = None, **form: str) -> requests.Response:
    url = emu.host + (path or f"/oidc/accounts/{emu.account_id}/v1/token")
    data = {"grant_type": "client_credentials", "scope": "all-apis", **form}
    return requests.post(url, data=data, auth=(client_id, secret), timeout=10)


def _oauth_requests(emu: Emulator) -> int:
    return int(emu.stats()["requests"].get("oauth", 0))


# -- the secrets API --------------------------------------------------------------------------------

def test_secret_value_only_in_the_create_answer(a: AccountClient) -> None:
    sp = a.service_principals.create(display_name="secret-holder")
    created = a.service_principal_secrets.create(service_principal_id=sp.id, lifetime="3600s")
    assert created.secret.startswith("dose") and len(created.secret) == 68
    assert created.status == "ACTIVE" and created.id and created.secret_hash
    assert created.create_time < created.expire_time
    listed = list(a.service_principal_secrets.list(service_principal_id=sp.id))
    assert [s.id for s in listed] == [created.id]
    assert created.secret not in repr(listed) and "secret" not in listed[0].as_dict()
    a.service_principal_secrets.delete(service_principal_id=sp.id, secret_id=created.id)
    assert list(a.service_principal_secrets.list(service_principal_id=sp.id)) == []


def test_secrets_list_pages_and_limits(a: AccountClient, emu: Emulator) -> None:
    sp = a.service_principals.create(display_name="many-secrets")
    ids = [a.service_principal_secrets.create(service_principal_id=sp.id).id for _ in range(5)]
    assert [s.id for s in a.service_principal_secrets.list(service_principal_id=sp.id, page_size=2)] == ids
    page = requests.get(f"{emu.host}/api/2.0/accounts/{emu.account_id}/servicePrincipals/{sp.id}/credentials/"
                        "secrets", params={"page_size": 2}, headers={"Authorization": f"Bearer {emu.token}"},
                        timeout=10).json()
    assert len(page["secrets"]) == 2 and page["next_page_token"]
    with pytest.raises(BadRequest, match="limit is 5"):
        a.service_principal_secrets.create(service_principal_id=sp.id)


def test_secrets_api_refusals(a: AccountClient, emu: Emulator) -> None:
    sp = a.service_principals.create(display_name="refusals")
    with pytest.raises(NotFound):
        a.service_principal_secrets.create(service_principal_id="9999999999999999")
    with pytest.raises(NotFound):
        a.service_principal_secrets.delete(service_principal_id=sp.id, secret_id="0" * 32)
    with pytest.raises(BadRequest, match="lifetime"):
        a.service_principal_secrets.create(service_principal_id=sp.id, lifetime="forever")
    with pytest.raises(BadRequest, match="numeric SCIM id"):
        list(a.service_principal_secrets.list(service_principal_id=sp.application_id))
    reader = emu.account_client(token=emu.reader_token, retry_timeout_seconds=10)
    with pytest.raises(PermissionDenied):
        reader.service_principal_secrets.create(service_principal_id=sp.id)
    assert list(a.service_principal_secrets.list(service_principal_id=sp.id)) == []


def test_deleting_the_sp_revokes_its_secrets(a: AccountClient, emu: Emulator) -> None:
    sp, secret = _sp_with_secret(a, "short-lived")
    token = _token(emu, sp.application_id, secret).json()["access_token"]
    a.service_principals.delete(sp.id)
    assert _token(emu, sp.application_id, secret).status_code == 401
    me = requests.get(f"{emu.host}/api/2.0/preview/scim/v2/Me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 401


# -- discovery and the token endpoints -------------------------------------------------------------

def test_discovery_documents_name_the_token_endpoints(emu: Emulator) -> None:
    meta = requests.get(f"{emu.host}/.well-known/databricks-config", timeout=10).json()
    assert meta["oidc_endpoint"] == f"{emu.host}/oidc/accounts/{emu.account_id}"
    account = requests.get(f"{meta['oidc_endpoint']}/.well-known/oauth-authorization-server", timeout=10).json()
    assert account["token_endpoint"] == f"{emu.host}/oidc/accounts/{emu.account_id}/v1/token"
    assert account["issuer"] == meta["oidc_endpoint"]
    workspace = requests.get(f"{emu.host}/oidc/.well-known/oauth-authorization-server", timeout=10).json()
    assert workspace["token_endpoint"] == f"{emu.host}/oidc/v1/token"


def test_token_grant_and_its_errors(a: AccountClient, emu: Emulator) -> None:
    sp, secret = _sp_with_secret(a, "grant-errors")
    good = _token(emu, sp.application_id, secret)
    assert good.status_code == 200 and good.headers["Cache-Control"] == "no-store"
    body = good.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "all-apis")
    form_auth = requests.post(f"{emu.host}/oidc/v1/token", timeout=10, data={
        "grant_type": "client_credentials", "scope": "all-apis", "client_id": sp.application_id,
        "client_secret": secret})
    assert form_auth.status_code == 200
    cases = [
        (_token(emu, sp.application_id, secret[:-1] + "x"), 401, "invalid_client"),
        (_token(emu, "00000000-0000-0000-0000-000000000000", secret), 401, "invalid_client"),
        (_token(emu, sp.application_id, secret, grant_type="password"), 400, "unsupported_grant_type"),
        (_token(emu, sp.application_id, secret, scope="sql offline_access"), 400, "invalid_scope"),
        (requests.post(f"{emu.host}/oidc/v1/token", data={"grant_type": "client_credentials"}, timeout=10),
         401, "invalid_client"),
        (requests.post(f"{emu.host}/oidc/v1/token", data={"grant_type": "client_credentials"}, timeout=10,
                       headers={"Authorization": "Basic %%%"}), 401, "invalid_client"),
    ]
    for response, status, error in cases:
        assert (response.status_code, response.json()["error"]) == (status, error), response.text
        assert response.headers["Content-Type"].startswith("application/json")
        assert secret not in response.text


def test_revoked_secret_fetches_no_token(a: AccountClient, emu: Emulator) -> None:
    sp = a.service_principals.create(display_name="revoked")
    created = a.service_principal_secrets.create(service_principal_id=sp.id)
    assert _token(emu, sp.application_id, created.secret).status_code == 200
    a.service_principal_secrets.delete(service_principal_id=sp.id, secret_id=created.id)
    refused = _token(emu, sp.application_id, created.secret)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")


# -- the SDK's oauth-m2m login ------------------------------------------------------------------------

def test_sdk_oauth_m2m_account_and_workspace_clients(a: AccountClient, emu: Emulator) -> None:
    sp, secret = _sp_with_secret(a, "automation")
    before = _oauth_requests(emu)
    account = _m2m_account(emu, sp.application_id, secret)
    users = list(account.users.list(attributes="id,userName"))
    assert len(users) == len(list(a.users.list(attributes="id")))
    created = account.groups.create(display_name="Made.By.M2M")  # an account admin SP may write
    assert a.groups.get(created.id).display_name == "Made.By.M2M"
    workspace = _m2m_workspace(emu, sp.application_id, secret)
    assert workspace.current_user.me().user_name == sp.application_id  # the token acts as the SP
    catalogs = [c.name for c in workspace.catalogs.list()]
    assert catalogs == [c.name for c in emu.workspace_client().catalogs.list()] and catalogs
    assert _oauth_requests(emu) - before >= 2  # discovery and a token for each client


def test_sdk_workspace_client_with_the_workspace_discovery_url(a: AccountClient, emu: Emulator) -> None:
    sp, secret = _sp_with_secret(a, "ws-endpoint")
    workspace = _m2m_workspace(emu, sp.application_id, secret,
                               discovery_url=f"{emu.host}/oidc/.well-known/oauth-authorization-server")
    assert [c.name for c in workspace.catalogs.list()]
    workspace_token = _token(emu, sp.application_id, secret, path="/oidc/v1/token").json()["access_token"]
    refused = requests.get(f"{emu.host}/api/2.0/accounts/{emu.account_id}/scim/v2/Users",
                           headers={"Authorization": f"Bearer {workspace_token}"}, timeout=10)
    assert refused.status_code == 401 and "workspace token endpoint" in refused.json()["detail"]


def test_non_admin_sp_reads_only_its_workspaces(a: AccountClient, emu: Emulator) -> None:
    sp, secret = _sp_with_secret(a, "reporting-job", admin=False)
    with pytest.raises(PermissionDenied, match="not an account admin"):
        list(_m2m_account(emu, sp.application_id, secret).users.list())
    workspace = _m2m_workspace(emu, sp.application_id, secret)
    with pytest.raises(PermissionDenied, match="not assigned"):
        list(workspace.catalogs.list())
    a.workspace_assignment.update(emu.default_workspace_id, int(sp.id), permissions=[iam.WorkspacePermission.USER])
    catalog = next(iter(workspace.catalogs.list())).name
    with pytest.raises(PermissionDenied):
        workspace.grants.update("catalog", catalog, changes=[
            catalog_service.PermissionsChange(principal="someone@company.com",
                                              add=[catalog_service.Privilege.USE_CATALOG])])


@pytest.fixture
def short_lived() -> Iterator[Emulator]:
    emulator = create(oauth_token_lifetime_s=2)
    import threading

    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    emulator._thread = thread
    thread.start()
    yield emulator
    emulator.stop()


def test_expired_token_is_refused_with_the_api_401(short_lived: Emulator) -> None:
    a = short_lived.account_client(retry_timeout_seconds=10)
    sp, secret = _sp_with_secret(a, "expiring")
    token = _token(short_lived, sp.application_id, secret).json()["access_token"]
    url = f"{short_lived.host}/api/2.0/accounts/{short_lived.account_id}/workspaces"
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    time.sleep(2.2)
    expired = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert expired.status_code == 401
    assert expired.json() == {"error_code": "UNAUTHENTICATED",
                              "message": "The access token has expired; fetch a new one from the token endpoint."}


def test_sdk_refreshes_a_token_that_expires_mid_run(tmp_path) -> None:
    # The SDK treats a token as expired 40 s before its expiry, so a 42 s lifetime lapses, for the SDK,
    # 2 s after it was issued; the emulator's own expiry is tested above.
    emulator = create(oauth_token_lifetime_s=42)
    import threading

    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    thread.start()
    try:
        a = emulator.account_client(retry_timeout_seconds=10)
        sp, secret = _sp_with_secret(a, "long-job")
        account = _m2m_account(emulator, sp.application_id, secret)
        assert list(account.workspaces.list())
        first = _oauth_requests(emulator)
        assert list(account.workspaces.list())
        assert _oauth_requests(emulator) == first  # still fresh: no new token
        time.sleep(2.5)
        assert list(account.workspaces.list())
        assert _oauth_requests(emulator) == first + 1  # one new token, fetched by the SDK on its own
    finally:
        emulator.stop()


# -- hostile input on the OAuth endpoints -------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(form=st.dictionaries(st.sampled_from(["grant_type", "scope", "client_id", "client_secret", "x"]), _text,
                            max_size=5),
       basic=st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60), st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())),
       workspace=st.booleans())
def test_token_endpoints_never_answer_5xx(emu: Emulator, form: dict[str, str], basic: str | None,
                                          workspace: bool) -> None:
    path = "/oidc/v1/token" if workspace else f"/oidc/accounts/{emu.account_id}/v1/token"
    headers = {} if basic is None else {"Authorization": f"Basic {basic}"}
    answer = requests.post(emu.host + path, data=form, headers=headers, timeout=10)
    assert answer.status_code in (400, 401), answer.text
    assert set(answer.json()) == {"error", "error_description"}


@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sp_id=st.one_of(_text.filter(lambda s: "/" not in s and s.strip() not in ("", ".", "..")),
                       st.integers(min_value=-(2**70), max_value=2**70).map(str)),
       body=st.one_of(st.none(), st.integers(), _text, st.dictionaries(_text, st.one_of(_text, st.integers()),
                                                                        max_size=3)),
       page_token=st.one_of(st.none(), _text, st.integers(min_value=-(2**70), max_value=2**70).map(str)))
def test_secrets_api_never_answers_5xx_and_refusals_change_nothing(emu: Emulator, sp_id: str, body: object,
                                                                   page_token: str | None) -> None:
    base = f"{emu.host}/api/2.0/accounts/{emu.account_id}/servicePrincipals/{quote(sp_id, safe='')}/credentials/secrets"
    headers = {"Authorization": f"Bearer {emu.token}"}
    state = requests.get(f"{emu.host}/_scimkit/state", headers=headers, timeout=10).json()["sha256"]
    answers = [requests.post(base, json=body, headers=headers, timeout=10),
               requests.get(base, params={"page_token": page_token, "page_size": page_token}, headers=headers,
                            timeout=10),
               requests.delete(f"{base}/{quote(sp_id, safe='')}", headers=headers, timeout=10)]
    for answer in answers:
        assert answer.status_code < 500, answer.text
        if answer.status_code >= 400:
            assert set(answer.json()) == {"error_code", "message"}, answer.text
    if all(a.status_code >= 400 for a in answers):
        assert requests.get(f"{emu.host}/_scimkit/state", headers=headers, timeout=10).json()["sha256"] == state

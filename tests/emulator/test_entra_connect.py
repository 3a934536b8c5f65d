"""An Entra token for Azure Databricks through scimkit.connect(credentials_strategy=...): msal gets
the token from the emulated tenant, and the SDK's account and workspace clients send it to the
emulated account, which accepts it as the service principal of the Entra application."""

from __future__ import annotations

import pytest
from databricks.sdk.errors import PermissionDenied

from scimkit.connect import connect
from scimkit.errors import AuthenticationFailed
from scimkit.snapshot import snapshot
from scimkit.sources.entra import EntraCredentials, EntraTokens, credentials_strategy, redirected_session

from .test_entra_tenant import TENANT, emu  # noqa: F401 - the module fixture

CLIENT = TENANT["clients"][0]


def _strategy(emu):  # noqa: ANN001,ANN202,F811
    creds = EntraCredentials(TENANT["tenant_id"], CLIENT["client_id"], CLIENT["client_secret"])
    return credentials_strategy(EntraTokens(creds, http_client=redirected_session(emu.host)))


def _token_requests(emu) -> int:  # noqa: ANN001,F811
    return emu.stats()["requests"].get("entra-token", 0)


def test_connect_with_an_entra_token_reads_the_account(emu) -> None:  # noqa: ANN001,F811
    emu.reset()
    emu.account_client().service_principals.create(application_id=CLIENT["client_id"],
                                                   display_name="scimkit reader (Entra)")
    account = connect(host=emu.host, account_id=emu.account_id, credentials_strategy=_strategy(emu),
                      retry_timeout_seconds=10)
    assert account.a.config.auth_type == "msal-client-credentials"
    account.check()
    tokens_after_first = _token_requests(emu)
    me = account.workspace(emu.default_workspace_id).current_user.me()
    assert me.user_name == CLIENT["client_id"]  # the emulator saw the service principal, not the admin token
    via_entra = snapshot(account, progress=False)
    via_admin = snapshot(connect(emulator=emu), progress=False)
    assert len(via_entra.users) == len(via_admin.users) > 0
    assert len(via_entra.memberships) == len(via_admin.memberships)
    assert _token_requests(emu) == tokens_after_first  # msal's cache served every later request
    with pytest.raises(PermissionDenied):  # not an account admin: read-only
        account.a.groups.create(display_name="Made.With.Entra")
    assert "entra-scimkit-local" not in repr(account.a.config) and CLIENT["client_secret"] not in repr(_strategy(emu))


def test_an_entra_application_not_in_the_account_is_refused(emu) -> None:  # noqa: ANN001,F811
    emu.reset()
    with pytest.raises(AuthenticationFailed) as raised:
        connect(host=emu.host, account_id=emu.account_id, credentials_strategy=_strategy(emu),
                retry_timeout_seconds=5).check()
    assert "not a service principal of this account" in str(raised.value)

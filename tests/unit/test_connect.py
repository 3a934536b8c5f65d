"""How connect() resolves an account, and that it never shows a secret or falls back silently."""

from __future__ import annotations

import pytest

from scimkit.connect import HOW_TO_CONFIGURE, connect
from scimkit.errors import ConfigurationError


def test_nothing_configured_is_an_error_that_lists_the_ways() -> None:
    with pytest.raises(ConfigurationError) as caught:
        connect()
    message = str(caught.value)
    assert message == HOW_TO_CONFIGURE
    for way in ("arguments", "secret scope", "DATABRICKS_ACCOUNT_ID", "~/.databrickscfg", "connect(emulator=True)"):
        assert way in message


def test_explicit_arguments_need_host_and_account_id() -> None:
    with pytest.raises(ConfigurationError, match="needs host"):
        connect(account_id="abc", token="dapi-secret-value")


@pytest.fixture
def host(empty_emu) -> str:  # noqa: ANN001
    """A live loopback host, so the SDK's host-metadata probe answers at once (older SDKs retry a
    dead host for minutes whatever the retry timeout)."""
    return empty_emu.host


def test_explicit_arguments_build_an_account_client_without_showing_the_token(host: str) -> None:
    account = connect(host=host, account_id="acc-1", token="dapi-secret-value", retry_timeout_seconds=1)
    assert account.source == "arguments" and account.account_id == "acc-1"
    assert "dapi-secret-value" not in repr(account)
    assert "dapi-secret-value" not in repr(account.a.config)


def test_environment_is_used(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", host)
    monkeypatch.setenv("DATABRICKS_ACCOUNT_ID", "acc-env")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-env-secret")
    account = connect(retry_timeout_seconds=1)
    assert (account.source, account.account_id) == ("environment", "acc-env")


@pytest.fixture
def blank_host():  # noqa: ANN201
    """A loopback host whose host metadata names no account (the emulator's names one, which the
    SDK would adopt)."""
    import threading

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    server = make_server("127.0.0.1", 0, lambda environ, start: Response("{}", mimetype="application/json")(
        environ, start))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_environment_without_account_id_is_refused(monkeypatch: pytest.MonkeyPatch, blank_host: str) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", blank_host)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-env-secret")
    with pytest.raises(ConfigurationError, match="no account_id") as caught:
        connect(retry_timeout_seconds=1)
    assert "dapi-env-secret" not in str(caught.value)


def test_profile_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path, host: str) -> None:  # noqa: ANN001
    config = tmp_path / "databrickscfg"
    config.write_text(f"[acct]\nhost = {host}\naccount_id = acc-profile\ntoken = dapi-profile-secret\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    account = connect(profile="acct", retry_timeout_seconds=1)
    assert (account.source, account.account_id) == ("profile", "acc-profile")
    with pytest.raises(ConfigurationError):
        connect(profile="missing", retry_timeout_seconds=1)


def test_notebook_without_account_secrets_says_which_are_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    module = sys.modules["scimkit.connect"]

    class Secrets:
        def get(self, scope: str, key: str) -> str:
            raise KeyError(key)

    class FakeWorkspaceClient:
        dbutils = type("D", (), {"secrets": Secrets()})()

    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")
    monkeypatch.setattr(module, "WorkspaceClient", FakeWorkspaceClient)
    with pytest.raises(ConfigurationError, match="secret scope 'scimkit'.*account_host, account_id, client_id"):
        connect()


def test_emulator_only_when_asked() -> None:
    account = connect(emulator=True, emulator_options={"seed_dir": None})
    try:
        assert account.source == "emulator"
        assert account.workspace_ids == [7000000000000001]
        assert account.workspace(7000000000000001).get_workspace_id() == 7000000000000001
        assert "dapi" not in repr(account)
    finally:
        account.close()


def test_a_credentials_strategy_is_used_for_every_request(empty_emu) -> None:  # noqa: ANN001
    from databricks.sdk.credentials_provider import CredentialsStrategy

    class TokenFromVault(CredentialsStrategy):
        """Stands in for an msal token cache: a header function called on every request."""

        calls = 0

        def auth_type(self) -> str:
            return "vault"

        def __call__(self, cfg):  # noqa: ANN001, ANN204
            def headers() -> dict[str, str]:
                TokenFromVault.calls += 1
                return {"Authorization": f"Bearer {empty_emu.token}"}

            return headers

    account = connect(host=empty_emu.host, account_id=empty_emu.account_id, credentials_strategy=TokenFromVault(),
                      retry_timeout_seconds=5)
    names = [sp.display_name for sp in account.a.service_principals.list()]
    assert "scimkit-admin" in names and TokenFromVault.calls >= 1
    assert "dapi-scimkit-admin" not in repr(account)


# -- how each workspace is reached (issue 14) ----------------------------------------------------------

def _workspace(wid: int, deployment: str | None, azure: bool = False):  # noqa: ANN202 - a Workspace
    from databricks.sdk.service.provisioning import AzureWorkspaceInfo, Workspace

    info = AzureWorkspaceInfo(subscription_id="sub-1", resource_group="rg-data") if azure else None
    return Workspace(workspace_id=wid, workspace_name="company-prod", deployment_name=deployment,
                     azure_workspace_info=info)


@pytest.mark.parametrize(("accounts_host", "deployment", "url"), [
    ("https://accounts.cloud.databricks.com", "company-prod", "https://company-prod.cloud.databricks.com"),
    ("https://accounts.azuredatabricks.net", "adb-7000000000000001.1",
     "https://adb-7000000000000001.1.azuredatabricks.net"),
    ("https://accounts.gcp.databricks.com", "7000000000000001.1", "https://7000000000000001.1.gcp.databricks.com"),
    ("https://accounts.cloud.databricks.us", "gov-ws", "https://gov-ws.cloud.databricks.us"),
])
def test_each_clouds_deployment_name_yields_its_workspace_url(accounts_host: str, deployment: str, url: str) -> None:
    from scimkit.connect import deployment_url

    assert deployment_url(_workspace(7000000000000001, deployment), accounts_host) == url


def test_a_workspace_without_deployment_name_has_no_url() -> None:
    from scimkit.connect import deployment_url

    assert deployment_url(_workspace(7000000000000001, None), "https://accounts.cloud.databricks.com") is None


@pytest.mark.parametrize(("host", "metadata", "kind"), [
    ("https://accounts.cloud.databricks.com", {"oidc_endpoint": "https://accounts.cloud.databricks.com/oidc/"
                                                                "accounts/{account_id}"}, "accounts"),
    ("https://accounts.azuredatabricks.net", {"account_id": "acc-1"}, "accounts"),  # multi-tenant by name
    ("https://company.databricks.com", {"account_id": "acc-1", "cloud": "AWS"}, "unified"),
    ("http://127.0.0.1:8765", {"account_id": "acc-1"}, "unified"),
    ("http://127.0.0.1:8765", {}, "accounts"),
    ("http://127.0.0.1:8765", None, "accounts"),  # no metadata: classic behaviour
])
def test_host_kind_from_the_host_metadata(host: str, metadata: dict | None, kind: str) -> None:
    from scimkit.connect import host_kind

    assert host_kind(host, metadata) == kind


def test_a_unified_host_serves_every_workspace_on_the_same_host(empty_emu) -> None:  # noqa: ANN001
    account = connect(host=empty_emu.host, account_id=empty_emu.account_id, token=empty_emu.token,
                      retry_timeout_seconds=5)
    assert account.kind == "unified"
    wid = empty_emu.default_workspace_id
    route = account.route(wid)
    assert (route.url, route.profile) == (empty_emu.host, None) and "unified" in route.how
    w = account.workspace(wid)
    assert w.config.host == empty_emu.host and int(w.config.workspace_id) == wid
    assert w.get_workspace_id() == wid
    assert f"workspace {wid}: {empty_emu.host} (unified host" in account.describe()


def test_the_emulator_is_reached_by_the_ordinary_path(empty_emu) -> None:  # noqa: ANN001
    account = connect(emulator=empty_emu, retry_timeout_seconds=5)
    assert account.kind == "unified" and account._workspace_factory is None
    assert account.workspace(empty_emu.default_workspace_id).get_workspace_id() == empty_emu.default_workspace_id


def test_a_classic_accounts_host_uses_the_deployment_url_and_the_account_credentials(empty_emu) -> None:  # noqa: ANN001
    """An accounts host (by name, here through the kind) routes to the SDK's deployment URL."""
    account = connect(host=empty_emu.host, account_id=empty_emu.account_id, token=empty_emu.token,
                      retry_timeout_seconds=5)
    account.kind = "accounts"
    account._workspaces[1234] = _workspace(1234, "adb-1234.5")
    route = account.route(1234)
    assert route.url == "https://adb-1234.5.cloud.databricks.com"  # the emulator's host is AWS's environment
    assert route.how == "deployment URL (AWS)"


def test_the_explicit_map_overrides_the_host_for_the_workspaces_it_names(empty_emu, tmp_path,  # noqa: ANN001
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "databrickscfg"
    config.write_text(f"[ws-dev]\nhost = {empty_emu.host}\ntoken = {empty_emu.token}\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    wid = empty_emu.default_workspace_id
    account = connect(emulator=empty_emu, workspaces={"1001": "https://adb-1001.7.azuredatabricks.net/",
                                                      wid: "ws-dev"}, retry_timeout_seconds=5)
    assert account.route(1001).url == "https://adb-1001.7.azuredatabricks.net"
    assert account.route(1001).how.startswith("explicit URL")
    by_profile = account.route(wid)
    assert (by_profile.url, by_profile.profile) == (empty_emu.host, "ws-dev")
    assert account.workspace(wid).get_workspace_id() == wid  # the profile's own credentials
    with pytest.raises(ConfigurationError, match="not a workspace id"):
        connect(emulator=empty_emu, workspaces={"prod": "https://x"})
    with pytest.raises(ConfigurationError, match="no usable URL"):
        connect(emulator=empty_emu, workspaces={1: ""})


def test_an_unreachable_workspace_fails_in_seconds_naming_the_url_and_the_fix(empty_emu) -> None:  # noqa: ANN001
    import socket
    import time

    from scimkit.errors import WorkspaceUnreachable

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: refused
    account = connect(emulator=empty_emu, workspaces={42: dead}, retry_timeout_seconds=300, connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(WorkspaceUnreachable) as caught:
        account.workspace(42)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert dead in message and "--workspace 42=" in message and "refused" in message
    with pytest.raises(WorkspaceUnreachable):  # at once, not probed again
        account.workspace(42)
    assert set(account.unreachable()) == {42}


def test_a_host_that_accepts_but_never_answers_times_out_within_the_budget() -> None:
    import socket
    import time

    from scimkit.connect import probe_host

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts connections; nobody ever answers
        started = time.monotonic()
        probe = probe_host(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
        elapsed = time.monotonic() - started
    assert not probe.reachable and "no answer within 0.5s" in probe.error
    assert elapsed < 3  # two tries of 0.5 s and one pause


def test_a_live_host_answers_the_probe_with_its_metadata(empty_emu) -> None:  # noqa: ANN001
    from scimkit.connect import probe_host

    probe = probe_host(empty_emu.host)
    assert probe.reachable and probe.metadata == {"account_id": empty_emu.account_id, "cloud": "AWS",
                                                  "oidc_endpoint": f"{empty_emu.host}/oidc/accounts/"
                                                                   f"{empty_emu.account_id}"}


def test_an_unreachable_account_host_is_a_connection_error_in_seconds() -> None:
    import time

    from scimkit.errors import ConnectionFailed

    started = time.monotonic()
    with pytest.raises(ConnectionFailed, match="could not be reached.*--connect-timeout"):
        connect(host="http://127.0.0.1:1", account_id="a", token="dapi-x", connect_timeout=1)
    assert time.monotonic() - started < 5


def test_a_missing_profile_is_named_with_the_profiles_that_exist(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    config = tmp_path / "databrickscfg"
    config.write_text("[acct]\nhost = https://accounts.cloud.databricks.com\naccount_id = a\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    with pytest.raises(ConfigurationError, match=r"profile 'NOPE' does not exist in .*profiles there: acct"):
        connect(profile="NOPE")


def test_sdk_errors_are_mapped_to_what_to_configure() -> None:
    from databricks.sdk.errors import NotFound, PermissionDenied, Unauthenticated

    from scimkit.errors import AccessDenied, AccountNotFound, AuthenticationFailed, from_sdk_error

    host, acc = "https://accounts.cloud.databricks.com", "acc-1"
    auth = from_sdk_error(Unauthenticated("Invalid access token. Config: host=..., token=***"), host, acc)
    assert isinstance(auth, AuthenticationFailed) and isinstance(auth, Unauthenticated)
    assert "DATABRICKS_TOKEN" in str(auth) and "Config:" not in str(auth)
    assert isinstance(from_sdk_error(PermissionDenied("no"), host, acc), AccessDenied)
    missing = from_sdk_error(NotFound("Account acc-1 does not exist"), host, acc)
    assert isinstance(missing, AccountNotFound) and "--account-id" in str(missing)
    assert from_sdk_error(ValueError("x"), host, acc) is None

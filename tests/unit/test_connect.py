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

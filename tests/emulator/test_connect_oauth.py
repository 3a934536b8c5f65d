"""connect() with an OAuth client id and secret (arguments, environment, profile, a notebook's
secret scope, the CLI), through the SDK's oauth-m2m login against the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from databricks.sdk import AccountClient
from databricks.sdk.service import iam

from scimkit.connect import connect
from scimkit.emulator import Emulator, create
from scimkit.errors import AuthenticationFailed, ConfigurationError


def _automation_sp(a: AccountClient, name: str = "scimkit-automation") -> tuple[str, str]:
    sp = a.service_principals.create(display_name=name, roles=[iam.ComplexValue(value="account_admin")])
    return sp.application_id, a.service_principal_secrets.create(service_principal_id=sp.id).secret


def _assert_reads_through_oauth(account, emu: Emulator) -> None:  # noqa: ANN001
    assert account.a.config.auth_type == "oauth-m2m"
    admin = emu.account_client(retry_timeout_seconds=10)
    assert len(list(account.a.users.list(attributes="id"))) == len(list(admin.users.list(attributes="id")))
    workspace = account.workspace(account.workspace_ids[0])
    assert workspace.config.auth_type == "oauth-m2m"
    assert [c.name for c in workspace.catalogs.list()] == [c.name for c in emu.workspace_client().catalogs.list()]


def test_arguments(a: AccountClient, emu: Emulator) -> None:
    client_id, secret = _automation_sp(a)
    account = connect(host=emu.host, account_id=emu.account_id, client_id=client_id, client_secret=secret,
                      retry_timeout_seconds=10).check()
    assert account.source == "arguments"
    _assert_reads_through_oauth(account, emu)
    assert secret not in repr(account) + repr(account.a.config) + account.describe()


def test_environment(a: AccountClient, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    client_id, secret = _automation_sp(a)
    for name, value in (("HOST", emu.host), ("ACCOUNT_ID", emu.account_id), ("CLIENT_ID", client_id),
                        ("CLIENT_SECRET", secret)):
        monkeypatch.setenv(f"DATABRICKS_{name}", value)
    account = connect(retry_timeout_seconds=10).check()
    assert account.source == "environment"
    _assert_reads_through_oauth(account, emu)


def test_profile(a: AccountClient, emu: Emulator) -> None:
    client_id, secret = _automation_sp(a)
    Path(os.environ["DATABRICKS_CONFIG_FILE"]).write_text(
        f"[m2m]\nhost = {emu.host}\naccount_id = {emu.account_id}\nclient_id = {client_id}\n"
        f"client_secret = {secret}\n")
    account = connect(profile="m2m", retry_timeout_seconds=10).check()
    assert account.source == "profile"
    _assert_reads_through_oauth(account, emu)


def test_notebook_secret_scope(a: AccountClient, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a notebook the workspace client comes from the runtime (here a stand-in with dbutils
    secrets); the account client logs in with the scope's client id and secret, for real."""
    import scimkit.notebook as notebook

    connect_module = sys.modules["scimkit.connect"]  # the module (the package exports the function)

    client_id, secret = _automation_sp(a)
    scope = {"account_host": emu.host, "account_id": emu.account_id, "client_id": client_id, "client_secret": secret}
    asked: list[tuple[str, str]] = []
    runtime_workspace = emu.workspace_client(retry_timeout_seconds=10)

    class Secrets:
        def get(self, scope: str, key: str) -> str:
            asked.append((scope, key))
            return values[key]

    values = scope

    class NotebookWorkspaceClient:
        dbutils = type("D", (), {"secrets": Secrets()})()

        def get_workspace_id(self) -> int:
            return runtime_workspace.get_workspace_id()

    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")
    monkeypatch.setattr(connect_module, "WorkspaceClient", NotebookWorkspaceClient)
    account = notebook.connect(use_emulator="auto", secret_scope="automation", retry_timeout_seconds=10)
    assert account.source == "notebook" and account.a.config.auth_type == "oauth-m2m"
    assert {key for _, key in asked} == set(scope) and {s for s, _ in asked} == {"automation"}
    assert len(list(account.a.users.list(attributes="id"))) > 0


def test_half_a_client_or_two_methods_are_refused(monkeypatch: pytest.MonkeyPatch, emu: Emulator) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", emu.host)
    monkeypatch.setenv("DATABRICKS_ACCOUNT_ID", emu.account_id)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "5c1a1c0d-0000-4000-8000-00000000abcd")
    with pytest.raises(ConfigurationError, match="without client_secret. Fix: set DATABRICKS_CLIENT_SECRET"):
        connect(retry_timeout_seconds=5)
    with pytest.raises(ConfigurationError, match=r"without client_id. Fix: set connect\(client_id=...\)"):
        connect(host=emu.host, account_id=emu.account_id, client_secret="dose-known-secret")
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", "dose-known-secret")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-known-token")
    with pytest.raises(ConfigurationError, match="both a token and an OAuth client") as refused:
        connect(retry_timeout_seconds=5)
    assert "dose-known-secret" not in str(refused.value) and "dapi-known-token" not in str(refused.value)


def test_a_wrong_secret_is_an_authentication_failure_without_the_secret(a: AccountClient, emu: Emulator) -> None:
    client_id, secret = _automation_sp(a)
    wrong = secret[:-6] + "000000"
    with pytest.raises(AuthenticationFailed, match="invalid_client.*DATABRICKS_CLIENT_SECRET") as refused:
        connect(host=emu.host, account_id=emu.account_id, client_id=client_id, client_secret=wrong,
                retry_timeout_seconds=5).check()
    assert wrong not in str(refused.value) and secret not in str(refused.value)


def test_cli_reads_the_client_from_the_environment(a: AccountClient, emu: Emulator) -> None:
    client_id, secret = _automation_sp(a)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "ARM_", "AZURE_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2])] + sys.path),
               DATABRICKS_CONFIG_FILE="/nonexistent/.databrickscfg", DATABRICKS_CLIENT_ID=client_id,
               DATABRICKS_CLIENT_SECRET=secret)
    done = subprocess.run([sys.executable, "-m", "scimkit", "summary", "--host", emu.host, "--account-id",
                           emu.account_id, "--no-progress", "-v"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "users" in done.stdout.lower()
    assert secret not in done.stdout + done.stderr


def test_a_token_that_expires_mid_run_is_refreshed() -> None:
    # A 42 s token lapses for the SDK 2 s after issue (it refreshes 40 s early); connect() keeps working.
    emulator = create(oauth_token_lifetime_s=42)
    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    thread.start()
    try:
        client_id, secret = _automation_sp(emulator.account_client(retry_timeout_seconds=10))
        account = connect(host=emulator.host, account_id=emulator.account_id, client_id=client_id,
                          client_secret=secret, retry_timeout_seconds=10).check()
        workspace = account.workspace(account.workspace_ids[0])
        assert list(workspace.catalogs.list())
        tokens = emulator.stats()["requests"]["oauth"]
        time.sleep(2.5)
        assert list(account.a.groups.list(attributes="id")) and list(workspace.catalogs.list())
        assert emulator.stats()["requests"]["oauth"] > tokens
    finally:
        emulator.stop()

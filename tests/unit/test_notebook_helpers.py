"""In a Databricks workspace the notebooks read the real account unless told otherwise (issue 15)."""

from __future__ import annotations

import pytest

from scimkit.errors import ConfigurationError
from scimkit.notebook import connect, wants_emulator


@pytest.mark.parametrize(("value", "in_workspace", "expected"), [
    ("auto", False, True), ("auto", True, False), ("", True, False), (None, False, True),
    (True, True, True), ("true", True, True), ("False", False, False), (False, False, False),
])
def test_the_emulator_is_the_default_only_outside_a_databricks_runtime(
        monkeypatch: pytest.MonkeyPatch, value: object, in_workspace: bool, expected: bool) -> None:
    if in_workspace:
        monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "14.3")
    assert wants_emulator(value) is expected


def test_an_unreadable_use_emulator_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="not auto, true or false"):
        wants_emulator("maybe")


def test_in_a_workspace_without_account_secrets_auto_never_falls_back_to_the_sample(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    module = sys.modules["scimkit.connect"]

    class Secrets:
        def get(self, scope: str, key: str) -> str:
            raise KeyError(key)

    class FakeWorkspaceClient:
        dbutils = type("D", (), {"secrets": Secrets()})()

    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "14.3")
    monkeypatch.setattr(module, "WorkspaceClient", FakeWorkspaceClient)
    with pytest.raises(ConfigurationError, match="secret scope"):
        connect("auto")


def test_connect_prints_which_account_it_reads(empty_emu, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    import scimkit.notebook as notebook

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(notebook, "wants_emulator", lambda value: empty_emu)  # the running one, not a new one
    try:
        assert connect("auto").source == "emulator"
    finally:
        monkeypatch.undo()
    line = capsys.readouterr().out.strip().splitlines()[0]
    assert line == (f"scimkit reads account {empty_emu.account_id} at {empty_emu.host} "
                    "(emulator: the emulator's sample company, not a real account)")

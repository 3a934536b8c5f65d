"""Fixtures shared by every tier.

Hermetic by construction: no DATABRICKS_*/ARM_* variable or ~/.databrickscfg can leak in, and any
attempt to connect to a non-loopback address fails the test.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator

import pytest

from scimkit.emulator import Emulator, create


def _is_loopback(address: object) -> bool:
    if isinstance(address, str):  # AF_UNIX path
        return True
    if not (isinstance(address, tuple) and address):
        return False
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may only reach loopback hosts, not {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may only reach loopback hosts, not {address!r}")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No real workspace can be reached through the environment or a config file."""
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_", "AZURE_")):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(home / ".databrickscfg-absent"))


def _serve(emulator: Emulator) -> Iterator[Emulator]:
    import threading

    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    emulator._thread = thread
    thread.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def _sample_emulator() -> Iterator[Emulator]:
    yield from _serve(create())


@pytest.fixture(scope="session")
def _empty_emulator() -> Iterator[Emulator]:
    yield from _serve(create(seed_dir=None))


@pytest.fixture
def emu(_sample_emulator: Emulator) -> Emulator:
    """The emulator seeded from sample_data/, restored to the seed before each test."""
    _sample_emulator.reset()
    return _sample_emulator


@pytest.fixture
def empty_emu(_empty_emulator: Emulator) -> Emulator:
    """An `--empty` emulator (admin principal, one metastore, default workspace), reset per test."""
    _empty_emulator.reset()
    return _empty_emulator


@pytest.fixture
def account(emu: Emulator):  # noqa: ANN201 - scimkit.connect.Account
    """A toolkit Account on `emu`. Client-side limits are scaled up: the emulator enforces none here."""
    from scimkit.connect import connect

    return connect(emulator=emu, rate_scale=50, retry_timeout_seconds=10)


@pytest.fixture
def a(emu: Emulator):  # noqa: ANN201 - AccountClient
    return emu.account_client(retry_timeout_seconds=10)


@pytest.fixture
def w(emu: Emulator):  # noqa: ANN201 - WorkspaceClient
    return emu.workspace_client(retry_timeout_seconds=10)

"""The CLI as a scheduler and a new user meet it: a standalone `scimkit emulator` process reached
through --host/--account-id and DATABRICKS_TOKEN, exit codes, and one-line errors (issues 14, 15, 16)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from scimkit.cli import main
from scimkit.snapshot import Snapshot

ACCOUNT_ID = "6f1c2a9e-3b7d-4c52-9a1e-5c1a1c0de001"
TOKEN = "dapi-scimkit-admin"
WS_DEV = 7000000000000002


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "ARM_", "AZURE_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2])] + sys.path)
    env["DATABRICKS_CONFIG_FILE"] = os.environ.get("DATABRICKS_CONFIG_FILE", "/nonexistent/.databrickscfg")
    env.update(extra)
    return env


def _run(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scimkit", *args], capture_output=True, text=True,
                          timeout=timeout, env=_env(**env))


def _dead_url() -> str:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m scimkit emulator` in its own process, as a user starts it in another terminal."""
    process = subprocess.Popen([sys.executable, "-m", "scimkit", "emulator"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=_env())
    try:
        first = process.stdout.readline().strip()
        assert first == f"host={first.split()[0].removeprefix('host=')} account_id={ACCOUNT_ID}"
        yield first.split()[0].removeprefix("host=")
    finally:
        process.terminate()
        process.wait(timeout=10)


def _account_flags(host: str) -> list[str]:
    return ["--host", host, "--account-id", ACCOUNT_ID, "--no-progress", "--rate-scale", "20"]


def _comparable(root: Path) -> dict[str, pd.DataFrame]:
    snap = Snapshot.load(root)
    out = {}
    for name, table in snap.tables().items():
        table = table.drop(columns=[c for c in ("snapshot_time",) if c in table.columns])
        out[name] = table.sort_values(list(table.columns)).reset_index(drop=True) if len(table) else table
    return out


def test_snapshot_and_report_against_a_standalone_emulator_equal_the_embedded_ones(standalone: str,
                                                                                   tmp_path: Path) -> None:
    over_http = _run("snapshot", "--out", str(tmp_path / "http"), *_account_flags(standalone),
                     DATABRICKS_TOKEN=TOKEN)
    embedded = _run("snapshot", "--out", str(tmp_path / "embedded"), "--emulator", "--no-progress",
                    "--rate-scale", "20")
    assert (over_http.returncode, embedded.returncode) == (0, 0), over_http.stderr + embedded.stderr
    a, b = _comparable(tmp_path / "http"), _comparable(tmp_path / "embedded")
    assert set(a) == set(b) and len(a["grants"]) > 100 and len(a["securables"]) > 100
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)

    report = _run("report", "--out", str(tmp_path / "report"), *_account_flags(standalone),
                  "--previous", "sample_data/previous_snapshot", "--fail-on", "critical", DATABRICKS_TOKEN=TOKEN)
    embedded_report = _run("report", "--out", str(tmp_path / "report-embedded"), "--emulator", "--no-progress",
                           "--rate-scale", "20", "--previous", "sample_data/previous_snapshot")
    assert (report.returncode, embedded_report.returncode) == (0, 0), report.stderr + embedded_report.stderr
    found = pd.read_csv(tmp_path / "report" / "findings.csv")
    expected = pd.read_csv(tmp_path / "report-embedded" / "findings.csv")
    assert len(found) > 10
    key = ["rule", "severity", "principal", "securable_type", "securable"]
    rows = [sorted(map(tuple, t[key].fillna("").astype(str).values.tolist())) for t in (found, expected)]
    assert rows[0] == rows[1]


def test_an_unreachable_workspace_is_reported_in_seconds_and_the_rest_is_read(standalone: str,
                                                                            tmp_path: Path) -> None:
    dead = _dead_url()
    started = time.monotonic()
    result = _run("snapshot", "--out", str(tmp_path / "snap"), *_account_flags(standalone),
                  "--workspace", f"{WS_DEV}={dead}", DATABRICKS_TOKEN=TOKEN)
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert elapsed < 15
    assert result.stdout.startswith("INCOMPLETE")
    assert f"workspace {WS_DEV} could not be reached at {dead}" in result.stderr
    assert f"--workspace {WS_DEV}=" in result.stderr  # what to configure
    snap = Snapshot.load(tmp_path / "snap")
    assert len(snap.completeness) == 1
    assert snap.completeness["object_name"].tolist() == [f"workspace {WS_DEV}"]
    assert len(snap.users) == 300 and len(snap.grants) > 100  # the rest was read


@pytest.mark.parametrize(("token", "account_id", "expected"), [
    ("dapi-wrong", ACCOUNT_ID, "refused the credentials"),
    (TOKEN, "00000000-0000-0000-0000-000000000000", "was not found"),
])
def test_wrong_token_or_account_id_is_exit_2_with_one_line(standalone: str, tmp_path: Path, token: str,
                                                          account_id: str, expected: str) -> None:
    result = _run("report", "--out", str(tmp_path / "r"), "--host", standalone, "--account-id", account_id,
                  "--fail-on", "high", "--no-progress", DATABRICKS_TOKEN=token)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("scimkit: ") and expected in line and "Fix:" in line
    assert token not in line
    assert not (tmp_path / "r" / "findings.csv").exists()  # never "no findings"


def test_an_unreachable_account_host_is_exit_3_in_seconds(tmp_path: Path) -> None:
    dead = _dead_url()
    started = time.monotonic()
    result = _run("report", "--out", str(tmp_path / "r"), "--host", dead, "--account-id", ACCOUNT_ID,
                  DATABRICKS_TOKEN=TOKEN)
    assert time.monotonic() - started < 15
    assert result.returncode == 3 and "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and f"{dead} could not be reached" in line and "--connect-timeout" in line


def test_a_bad_previous_is_exit_2_before_anything_is_read(tmp_path: Path) -> None:
    result = _run("report", "--emulator", "--out", str(tmp_path / "r"), "--previous", str(tmp_path / "nope"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert _last_line(result.stderr).startswith(f"scimkit: --previous {tmp_path / 'nope'}: no such snapshot folder")
    assert not (tmp_path / "r").exists()


# -- in-process: flags and numbers ----------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["report", "--emulator", "--rate-scale", "nan"],
    ["report", "--emulator", "--rate-scale", "0"],
    ["report", "--emulator", "--connect-timeout", "inf"],
    ["snapshot", "--out", "x", "--workspace", "prod=https://x"],
    ["emulator", "--port", "99999"],
    ["emulator", "--port", "-1"],
    ["emulator", "--speed", "nan"],
    ["emulator", "--speed", "-2"],
    ["emulator", "--latency-ms", "1e9"],
    ["emulator", "--fault", "GET:/Users"],
    ["emulator", "--fault", "GET:/Users:200:1"],
    ["emulator", "--fault", "GET:(:500:1"],
])
def test_bad_flag_values_are_one_error_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and _last_line(err).startswith(f"scimkit {argv[0]}: error: argument ")


@pytest.mark.parametrize(("argv", "expected"), [
    (["emulator", "--seed", "/nonexistent-seed"], "--seed /nonexistent-seed: no such directory"),
    (["emulator", "--db", "/nonexistent-dir/state.db"], "--db /nonexistent-dir/state.db: its folder does not exist"),
    (["summary", "--profile", "NOPE"], "profile 'NOPE' does not exist"),
    (["summary"], "No Databricks account is configured"),
])
def test_bad_files_and_profiles_are_one_line_and_exit_2(argv: list[str], expected: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("scimkit: ") and expected in err and "Fix:" in err


def test_a_seed_folder_that_is_not_a_seed_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--seed", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "manifest.json" in err


def test_verbose_and_flags_are_accepted_after_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--profile", "NOPE", "-v"]) == 2
    verbose = capsys.readouterr().err
    assert "Traceback" in verbose and "profile 'NOPE' does not exist" in verbose
    assert main(["-v", "summary", "--profile", "NOPE"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_version_and_help_document_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    from scimkit import __version__

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.strip() == f"scimkit {__version__}"
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = capsys.readouterr().out
    for code in ("0  complete", "1  findings at or above --fail-on", "2  bad input", "3  the account could not"):
        assert code in text

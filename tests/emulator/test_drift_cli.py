"""`scimkit drift`: the table, exit 1 on drift, 2 on bad input (a subprocess, as a scheduler runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "scimkit", "drift", *args, "--emulator", "--no-progress"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=240)


def test_entra_drift_on_the_emulator_exits_1_with_the_table(tmp_path: Path) -> None:
    result = _run("--entra", "--entra-state", str(tmp_path))
    assert result.returncode == 1, result.stderr
    assert "nested group not flattened" in result.stdout and "marta.lindqvist@company.com" in result.stdout
    assert "entra-scimkit-local" not in result.stdout + result.stderr  # the tenant's secret is never printed
    (state,) = tmp_path.iterdir()
    assert "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=" in state.read_text()
    # a later run: its embedded emulator is a new tenant instance, so the stored links are stale
    # (410) and the reader falls back to a full round; the table is the same
    again = _run("--entra", "--entra-state", str(tmp_path))
    assert again.returncode == 1 and again.stdout == result.stdout, again.stderr


def test_a_bad_roster_exits_2_naming_the_problems(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("email,display_name,groups,workspaces,start_date,end_date\nbad,X,Nope,,2026-13-01,\n")
    result = _run("--roster", str(path))
    assert result.returncode == 2
    assert "line 2, email: `bad` is not an email address." in result.stderr
    assert "line 2, groups: the account has no group `Nope`" in result.stderr or "and 2 more" in result.stderr

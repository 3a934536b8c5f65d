"""Two applies on one journal at once must not interleave: while another process holds the journal,
an apply refuses, naming the journal, and writes nothing; a holder killed with -9 releases it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from scimkit import plans
from scimkit.errors import JournalLocked

HOLD = """
import sys, time
from scimkit.plans import JsonlJournal
with JsonlJournal(sys.argv[1]).lock():
    print("held", flush=True)
    time.sleep(120)
"""


def _writes(emu) -> int:  # noqa: ANN001
    counts = requests.get(f"{emu.host}/_scimkit/stats", timeout=10).json()["requests"]
    return sum(counts.get(c, 0) for c in ("scim-write", "scim-patch", "uc-grants-write"))


def test_an_apply_refuses_a_journal_another_process_holds(account, emu, tmp_path: Path) -> None:  # noqa: ANN001
    journal = tmp_path / "apply.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(journal)], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        plan = plans.Plan([plans.CreateUser(user_name="lock.test@company.com", display_name="Lock Test")])
        requests.post(f"{emu.host}/_scimkit/reset", headers={"Authorization": f"Bearer {emu.token}"}, timeout=10)
        with pytest.raises(JournalLocked) as excinfo:
            plans.apply(plan, account, journal=journal, dry_run=False)
        assert str(journal) in str(excinfo.value) and "Fix:" in str(excinfo.value)
        assert _writes(emu) == 0
        assert not journal.exists() or not journal.read_text().strip()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    time.sleep(0.1)
    result = plans.apply(plan, account, journal=journal, dry_run=False)  # the kill released the lock
    assert result.ok and result.changed == 1


def test_one_process_cannot_nest_two_applies_on_a_journal(tmp_path: Path) -> None:
    journal = plans.JsonlJournal(tmp_path / "j.jsonl")
    with journal.lock(), pytest.raises(JournalLocked), plans.JsonlJournal(tmp_path / "j.jsonl").lock():
        pass
    with journal.lock():  # released
        pass

"""Secrets never leak: the main job, the CLI commands, a plan applied with its journal and a
notebook run against an emulator whose token and OAuth client secret are known values; then every
artefact written, every line of output and log, the reprs of the connection objects and the error
messages are searched for those values. The figure that matters is zero hits."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import requests

from scimkit import plans, snapshot
from scimkit.connect import connect
from scimkit.emulator import Emulator, create
from scimkit.sources.roster import read_roster

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "dapi-LEAKCANARY-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
READER_TOKEN = "dapi-LEAKCANARY-reader-5f4e3d2c1b0a99887766"
SCIM_TOKEN = "dsapi-LEAKCANARY-scim-00112233445566778899"


@pytest.fixture(scope="module")
def canary() -> Iterator[tuple[Emulator, dict[str, str]]]:
    emulator = create(token=ADMIN_TOKEN, reader_token=READER_TOKEN, scim_token=SCIM_TOKEN)
    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    thread.start()
    base = f"{emulator.host}/api/2.0/accounts/{emulator.account_id}"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    sp = requests.post(f"{base}/scim/v2/ServicePrincipals", headers=headers, timeout=10, json={
        "displayName": "leak-test-automation", "roles": [{"value": "account_admin"}]}).json()
    secret = requests.post(f"{base}/servicePrincipals/{sp['id']}/credentials/secrets", headers=headers, json={},
                           timeout=10).json()["secret"]
    access = requests.post(f"{emulator.host}/oidc/accounts/{emulator.account_id}/v1/token", timeout=10,
                           data={"grant_type": "client_credentials", "scope": "all-apis"},
                           auth=(sp["applicationId"], secret)).json()["access_token"]
    known = {"admin token": ADMIN_TOKEN, "reader token": READER_TOKEN, "scim token": SCIM_TOKEN,
             "client secret": secret, "oauth access token": access, "client id": sp["applicationId"]}
    yield emulator, known
    emulator.stop()


def _secrets(known: dict[str, str]) -> dict[str, str]:
    """What must never appear (the client id is not a secret; it may be printed)."""
    return {k: v for k, v in known.items() if k != "client id"}


def _hits(text: str, known: dict[str, str], where: str) -> list[str]:
    found = []
    for name, value in _secrets(known).items():
        # The whole value, and its distinctive tail (a secret cut or masked at the front still leaks).
        for needle in {value, value[-16:]}:
            if needle in text:
                found.append(f"{name} in {where}")
    return found


def _artefact_texts(root: Path) -> Iterator[tuple[str, str]]:
    """Every file under root as text: raw bytes decoded, and Parquet tables rendered as CSV
    (their pages are compressed, so the raw bytes alone prove nothing)."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        yield str(path), raw.decode("utf-8", errors="replace")
        if path.suffix == ".parquet":
            yield f"{path} (table)", pd.read_parquet(path).to_csv(index=False)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "ARM_", "AZURE_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + sys.path)
    env["DATABRICKS_CONFIG_FILE"] = "/nonexistent/.databrickscfg"
    env.update(extra)
    return env


def test_no_secret_in_any_output_artefact_log_repr_or_error(canary, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    emu, known = canary
    account_flags = ["--host", emu.host, "--account-id", emu.account_id, "--no-progress", "--rate-scale", "20"]
    pat = {"DATABRICKS_TOKEN": ADMIN_TOKEN}
    m2m = {"DATABRICKS_CLIENT_ID": known["client id"], "DATABRICKS_CLIENT_SECRET": known["client secret"]}
    out = tmp_path / "out"
    runs = [
        # the README's first command, against this account (token, then OAuth M2M)
        (["report", "--previous", str(ROOT / "sample_data" / "previous_snapshot"), "--out", str(out / "report-pat")],
         pat, (0, 1)),
        (["summary"], pat, (0,)),
        (["snapshot", "--out", str(out / "snapshots")], m2m, (0,)),
        (["drift", "--roster", str(ROOT / "sample_data" / "roster.csv")], m2m, (0, 1)),
        # refusals: a wrong secret and a wrong token must not be echoed either
        (["summary"], {**m2m, "DATABRICKS_CLIENT_SECRET": known["client secret"][:-16] + "0" * 16}, (2,)),
        (["summary"], {"DATABRICKS_TOKEN": ADMIN_TOKEN[:-16] + "f" * 16}, (2,)),
        (["summary"], {**m2m, **pat}, (2,)),  # two methods at once: refused by name, values not shown
    ]
    texts: list[tuple[str, str]] = []
    for args, env, codes in runs:
        # -v: debug logging of every library (requests, the SDK) goes to stderr, which is searched too
        done = subprocess.run([sys.executable, "-m", "scimkit", "-v", *args, *account_flags], capture_output=True,
                              text=True, timeout=300, env=_env(**env))
        assert done.returncode in codes, (args, done.returncode, done.stderr[-2000:])
        texts += [(f"stdout of {args[0]}", done.stdout), (f"stderr of {args[0]}", done.stderr)]
        if done.returncode == 2:  # the refusal says what to fix
            assert "Fix:" in done.stderr or "fix" in done.stderr.lower(), done.stderr

    # In process, with every logger at DEBUG: a plan applied with a journal, and the objects' reprs.
    caplog.set_level(logging.DEBUG)
    account = connect(host=emu.host, account_id=emu.account_id, client_id=known["client id"],
                      client_secret=known["client secret"], rate_scale=20, retry_timeout_seconds=10).check()
    snap = snapshot(account, progress=False)
    as_of = date.fromisoformat(json.loads((ROOT / "sample_data" / "manifest.json").read_text())["drift"]["roster_as_of"])
    plan = plans.onboarding(read_roster(ROOT / "sample_data" / "roster.csv", snapshot=snap, as_of=as_of), snap,
                            today=as_of)
    (out / "plan").mkdir(parents=True)
    (out / "plan" / "plan.json").write_text(plan.to_json())
    result = plans.apply(plan, account, journal=out / "plan" / "apply.jsonl", dry_run=False)
    assert result.ok and result.changed > 0, result.text()
    workspace = account.workspace(account.workspace_ids[0])
    texts += [("repr(account)", repr(account)), ("account.describe()", account.describe()),
              ("repr(a.config)", repr(account.a.config)), ("repr(workspace.config)", repr(workspace.config)),
              ("a.config.debug_string()", account.a.config.debug_string()), ("repr(emulator)", repr(emu)),
              ("apply result", result.text()), ("snapshot summary", snap.summary().to_string())]
    with pytest.raises(Exception) as refused:  # noqa: PT011 - any error: its text is what is checked
        connect(host=emu.host, account_id=emu.account_id, client_id=known["client id"],
                client_secret=known["client secret"] + "x", retry_timeout_seconds=5).check()
    texts.append(("error message", f"{refused.value!r} {refused.value}"))
    texts.append(("log records", "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)))

    # A notebook, run by papermill with the OAuth client in the kernel's environment.
    import papermill

    notebook_env = {"PYTHONPATH": str(ROOT), "DATABRICKS_HOST": emu.host, "DATABRICKS_ACCOUNT_ID": emu.account_id,
                    **m2m}
    saved = {k: os.environ.get(k) for k in notebook_env}
    (out / "notebook").mkdir()
    os.environ.update(notebook_env)
    try:
        papermill.execute_notebook(str(ROOT / "notebooks" / "compliance_report.ipynb"),
                                   str(out / "notebook" / "compliance_report.ipynb"),
                                   parameters={"use_emulator": False, "out": str(out / "notebook" / "report")},
                                   cwd=str(ROOT / "notebooks"), kernel_name="python3", progress_bar=False,
                                   execution_timeout=600)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    artefacts = list(_artefact_texts(out))
    kinds = {Path(name.split(" ")[0]).suffix for name, _ in artefacts}
    assert {".html", ".parquet", ".jsonl", ".json", ".ipynb", ".csv"} <= kinds, kinds
    texts += artefacts
    leaks = [hit for where, text in texts for hit in _hits(text, known, where)]
    print(f"leak check: {len(known) - 1} secret values, {len(texts)} texts ({len(artefacts)} from "
          f"{len({n.split(' ')[0] for n, _ in artefacts})} files), {len(leaks)} hits")
    assert leaks == []

"""Write `sample_data/previous_snapshot/`: the sample account as it stood a week earlier, so the
"access widened since the previous snapshot" rule has something to compare with.

Last week's account is today's seed with two changes undone: etl-prod-runner had no MODIFY on
the production catalog `prod_sales` yet, and yara.rossi@company.com had not yet joined the
privileged group `Platform.Admins`. Both are listed in the manifest's `planted` problems.

    python scripts/make_previous_snapshot.py [--out DIR]

The snapshot is read through the toolkit from the emulator, like any other.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout
PREVIOUS_TIME = pd.Timestamp("2026-11-22T06:00:00Z")
NEW_GRANT = ("CATALOG", "prod_sales", "etl-prod-runner", ["MODIFY"])
NEW_MEMBER = ("Platform.Admins", "yara.rossi@company.com")


def make(out: Path) -> Path:
    from scimkit import catalog, identities
    from scimkit.connect import connect
    from scimkit.snapshot import snapshot

    account = connect(emulator=True, emulator_options={"seed_dir": ROOT / "sample_data",
                                                       "idp_groups_immutable": False}, rate_scale=20)
    try:
        securable_type, name, sp_name, privileges = NEW_GRANT
        sp = identities.find_service_principal(account, sp_name)
        catalog.revoke(account, securable_type, name, sp.application_id, privileges)
        identities.remove_members(account, NEW_MEMBER[0], [NEW_MEMBER[1]])
        snap = snapshot(account, progress=False, snapshot_time=PREVIOUS_TIME)
    finally:
        account.close()
    if out.exists():
        shutil.rmtree(out)
    snap.save(out)
    return out


EXPECTED_COLUMNS = ["rule", "severity", "principal", "securable_type", "securable"]


def expected_findings(previous_root: Path) -> list[dict[str, object]]:
    """The findings of the report on today's sample account against the previous snapshot, as the
    rows the sample-account test compares (reviewed by hand against the manifest's `planted`)."""
    from scimkit import compliance
    from scimkit.connect import connect
    from scimkit.snapshot import Snapshot, snapshot

    account = connect(emulator=True, emulator_options={"seed_dir": ROOT / "sample_data"}, rate_scale=20)
    try:
        findings = compliance.evaluate(snapshot(account, progress=False), previous=Snapshot.load(previous_root))
    finally:
        account.close()
    rows = findings[EXPECTED_COLUMNS].astype(object).where(findings[EXPECTED_COLUMNS].notna(), None)
    return rows.to_dict("records")


def write_expected(previous_root: Path, path: Path) -> Path:
    rows = expected_findings(previous_root)
    path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "sample_data" / "previous_snapshot")
    parser.add_argument("--expected", type=Path, default=ROOT / "sample_data" / "expected_findings.json")
    args = parser.parse_args()
    print(f"wrote {make(args.out)}")
    print(f"wrote {write_expected(args.out, args.expected)}")

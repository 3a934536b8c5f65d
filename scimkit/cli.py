"""The `scimkit` command line: the emulator, and the jobs for people who do not open notebooks."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .emulator import wire


def _emulator_command(args: argparse.Namespace) -> int:
    from .emulator import server

    seed_dir = None if args.empty else (args.seed or "default")
    emulator = server.create(
        port=args.port, seed_dir=seed_dir, db=args.db, account_id=args.account_id, token=args.token,
        reader_token=args.reader_token, scim_token=args.scim_token, latency_ms=args.latency_ms,
        rate_limits=args.rate_limits, speed=args.speed, faults=args.fault, fault_seed=args.fault_seed,
    )
    print(f"host={emulator.host} account_id={emulator.account_id}", flush=True)
    print(f"default workspace {emulator.default_workspace_id}; tokens: see `scimkit emulator --help` "
          "(fixed local defaults, not secrets)", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def _connect(args: argparse.Namespace):  # noqa: ANN202 - an Account
    """The account named by the connection flags; tokens come only from the environment or profiles."""
    from .connect import connect

    if args.emulator:
        return connect(emulator=True, rate_scale=args.rate_scale)
    return connect(host=args.host, account_id=args.account_id, profile=args.profile, rate_scale=args.rate_scale)


def _add_connection_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("account", "which account to read (credentials come from the environment "
                                      "or a ~/.databrickscfg profile, never from flags)")
    group.add_argument("--emulator", action="store_true", help="use the embedded emulator seeded from sample_data/")
    group.add_argument("--profile", help="a ~/.databrickscfg profile with host, account_id and credentials")
    group.add_argument("--host", help="the accounts host, e.g. https://accounts.cloud.databricks.com")
    group.add_argument("--account-id", help="the Databricks account id")
    group.add_argument("--rate-scale", type=float, default=1.0, help="scale the client-side rate limits")
    group.add_argument("--no-progress", action="store_true", help="no progress bars")


def _summary_command(args: argparse.Namespace) -> int:
    from .summary import account_summary

    print(account_summary(_connect(args)))
    return 0


def _snapshot_command(args: argparse.Namespace) -> int:
    from .snapshot import snapshot

    account = _connect(args)
    snap = snapshot(account, progress=not args.no_progress)
    path = snap.save(args.out)
    print(f"snapshot of account {snap.account_id} at {snap.snapshot_time.isoformat()} written under {path}")
    print(snap.summary().to_string(index=False))
    if not snap.is_complete:
        print(f"INCOMPLETE: {len(snap.completeness)} reads failed; see the completeness table", file=sys.stderr)
        return 3
    return 0


def _report_command(args: argparse.Namespace) -> int:
    from . import compliance
    from .report import run_report

    config = compliance.ComplianceConfig.load(args.config) if args.config else None
    result = run_report(_connect(args), args.out, config=config, previous=args.previous,
                        progress=not args.no_progress)
    findings = result["findings"]
    snap = result["snapshot"]
    print(f"account {snap.account_id}, snapshot {snap.snapshot_time.isoformat()}"
          + (f", compared with {result['previous'].isoformat()}" if result["previous"] is not None else ""))
    print(compliance.summary(findings).to_string(index=False) if len(findings) else "no findings")
    print(f"report:   {result['report']}")
    print(f"findings: {Path(args.out) / 'findings.csv'}")
    print(f"history:  {result['history']} (snapshot and findings tables)")
    if not snap.is_complete:
        print(f"INCOMPLETE: {len(snap.completeness)} reads failed; see the report", file=sys.stderr)
    if args.fail_on != "never" and compliance.exceeds(findings, args.fail_on):
        print(f"findings at or above '{args.fail_on}' exist: exit 1", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scimkit", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests (never tokens)")
    commands = parser.add_subparsers(dest="command", required=True)

    emu = commands.add_parser(
        "emulator", help="serve the Databricks account and Unity Catalog API emulator on loopback",
        description="Serve the emulator. The first line on stdout is `host=... account_id=...`. "
        f"Default tokens (local, not secret): admin {wire.DEFAULT_TOKEN}, reader {wire.DEFAULT_READER_TOKEN}, "
        f"SCIM provisioning {wire.DEFAULT_SCIM_TOKEN}.")
    emu.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    seed = emu.add_mutually_exclusive_group()
    seed.add_argument("--seed", metavar="DIR", help="seed directory (default: sample_data)")
    seed.add_argument("--empty", action="store_true",
                      help="no people and no securables; only the admin principal, one metastore, one workspace")
    emu.add_argument("--db", metavar="FILE", help="keep state in this SQLite file (seeded only when new)")
    emu.add_argument("--account-id", default=wire.DEFAULT_ACCOUNT_ID)
    emu.add_argument("--token", default=wire.DEFAULT_TOKEN, help="account admin token")
    emu.add_argument("--reader-token", default=wire.DEFAULT_READER_TOKEN, help="read-only token")
    emu.add_argument("--scim-token", default=wire.DEFAULT_SCIM_TOKEN,
                     help="identity-provider provisioning token (only /api/2.1/accounts/{id}/scim/v2/)")
    emu.add_argument("--latency-ms", type=float, default=0, help="added latency per request")
    emu.add_argument("--rate-limits", action="store_true", help="enforce the rate-limit classes (429 + Retry-After)")
    emu.add_argument("--speed", type=float, default=1.0, help="scale every rate limit by this factor")
    emu.add_argument("--fault", action="append", default=[], metavar="METHOD:PATH_REGEX:ACTION:WHEN",
                     help="inject a fault (repeatable); METHOD:PATH_REGEX:STATUS:N answers the next N matching "
                          "requests with STATUS; ACTION may also be latency-MS, drop or lost[-STATUS], WHEN "
                          "'*', P%% or Ts (see README, Emulator)")
    emu.add_argument("--fault-seed", type=int, default=0, help="seed of the P%% fault draws, for replay")
    emu.set_defaults(func=_emulator_command)

    summary = commands.add_parser("summary", help="print a summary of the account (users, groups, workspaces)")
    _add_connection_flags(summary)
    summary.set_defaults(func=_summary_command)

    snap = commands.add_parser("snapshot", help="read the account and write a snapshot (Parquet tables)")
    snap.add_argument("--out", required=True, metavar="ROOT", help="root folder: ROOT/<table>/snapshot_time=.../")
    _add_connection_flags(snap)
    snap.set_defaults(func=_snapshot_command)

    report = commands.add_parser("report", help="snapshot, compliance rules and an HTML report in one go")
    report.add_argument("--out", default="scimkit-report", metavar="DIR",
                        help="where report.html, findings.csv and history/ go (default: scimkit-report)")
    report.add_argument("--config", metavar="FILE", help="compliance rules configuration (JSON or TOML)")
    report.add_argument("--previous", metavar="ROOT",
                        help="a snapshot root to compare with when DIR/history holds no earlier snapshot")
    report.add_argument("--fail-on", default="never", choices=["never", "critical", "high", "medium", "low", "info"],
                        help="exit 1 when findings at or above this severity exist (for schedulers)")
    _add_connection_flags(report)
    report.set_defaults(func=_report_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    from .errors import ScimkitError

    try:
        return int(args.func(args) or 0)
    except ScimkitError as exc:
        print(f"scimkit: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

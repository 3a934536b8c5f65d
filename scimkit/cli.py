"""The `scimkit` command line: the emulator, and the jobs for people who do not open notebooks.

Exit codes (for schedulers):
  0  the account was read completely and no finding reaches --fail-on
  1  findings at or above --fail-on exist (the account was read completely)
  2  bad input or configuration: flags, files, credentials, account id, profile (nothing was read)
  3  the account could not be read completely: the report and snapshot are written and marked
     INCOMPLETE (an incomplete read never counts as "no findings"), or the account host could
     not be reached at all (nothing written)
Errors end in one line that says what failed and what to do; -v (anywhere) shows the detail.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .emulator import wire

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
EXIT_CODES = """exit codes:
  0  complete, and no finding at or above --fail-on
  1  findings at or above --fail-on (complete read)
  2  bad input or configuration (flags, files, credentials, account id, profile)
  3  the account could not be read completely: output written and marked INCOMPLETE;
     or the account host could not be reached (nothing written)"""


# -- flag values: checked before anything runs ----------------------------------------------------


def _number(kind: type, low: float | None = None, high: float | None = None, low_open: bool = False,
            what: str = "a number") -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value <= low if low_open else value < low) or high is not None and value > high:
            bound = f"above {low:g}" if low_open else f"at least {low:g}" if low is not None else ""
            limit = f"at most {high:g}" if high is not None else ""
            raise argparse.ArgumentTypeError(f"{text!r} is out of range: must be {' and '.join(b for b in (bound, limit) if b)}")
        return value

    parse.__name__ = what  # argparse names the type in its message
    return parse


_positive = _number(float, 0, None, low_open=True, what="a number")
_timeout = _number(float, 0, 600, low_open=True, what="a number of seconds")
_port = _number(int, 0, 65535, what="a port number (0-65535)")
_millis = _number(float, 0, 60_000, what="a number of milliseconds")
_lifetime = _number(int, 1, 86_400, what="a whole number of seconds")


def _fault(text: str) -> str:
    from .emulator.faults import FaultRule

    try:
        rule = FaultRule.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("bad --fault ", "")) from None
    status = rule.action.status
    if status and not 400 <= status <= 599 or rule.remaining is not None and rule.remaining < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: STATUS must be an HTTP error status (400-599) and N at least 1")
    return text


def _workspace_entry(text: str) -> tuple[int, str]:
    wid, sep, target = text.partition("=")
    if not sep or not wid.strip().isdigit() or not target.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not ID=URL or ID=PROFILE (e.g. 7000000000000001=https://"
                                         "adb-7000000000000001.1.azuredatabricks.net)")
    return int(wid), target.strip()


# -- commands ---------------------------------------------------------------------------------------


def _emulator_command(args: argparse.Namespace) -> int:
    import sqlite3

    from .emulator import server
    from .errors import InvalidInput

    if args.seed and not Path(args.seed).is_dir():
        raise InvalidInput(f"--seed {args.seed}: no such directory.", field="--seed",
                           fix="give a seed directory (with manifest.json), or --empty")
    if args.db and not Path(args.db).expanduser().resolve().parent.is_dir():
        raise InvalidInput(f"--db {args.db}: its folder does not exist.", field="--db",
                           fix="give a file in an existing folder")
    seed_dir = None if args.empty else (args.seed or "default")
    try:
        emulator = server.create(
            port=args.port, seed_dir=seed_dir, db=args.db, account_id=args.account_id, token=args.token,
            reader_token=args.reader_token, scim_token=args.scim_token, latency_ms=args.latency_ms,
            rate_limits=args.rate_limits, speed=args.speed, faults=args.fault, fault_seed=args.fault_seed,
            oauth_token_lifetime_s=args.oauth_token_lifetime,
        )
    except OSError as exc:
        raise InvalidInput(f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}.", field="--port",
                           fix="choose a free port, or --port 0 for any") from None
    except sqlite3.Error as exc:
        raise InvalidInput(f"--db {args.db} is not a usable SQLite file: {exc}.", field="--db",
                           fix="give a new file name, or an emulator state file") from None
    except ValueError as exc:  # a seed that does not load (SeedError) or a bad option value
        raise InvalidInput(f"{str(exc).splitlines()[0]}.", fix="correct the seed or the option named") from None
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
    """The account named by the connection flags, checked with one read (so that a wrong token or
    account id ends here, exit 2). Tokens come only from the environment or profiles."""
    from .connect import connect

    options = dict(rate_scale=args.rate_scale, connect_timeout=args.connect_timeout,
                   workspaces=dict(args.workspace or []))
    if args.emulator:
        account = connect(emulator=True, **options)
    else:
        account = connect(host=args.host, account_id=args.account_id, profile=args.profile, **options)
    account.check()
    if args.verbose:
        print(account.describe(), file=sys.stderr)
    return account


def _add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """The flags every command that reads an account takes (summary, snapshot, report, and later ones)."""
    group = parser.add_argument_group("account", "which account to read (credentials come from the environment "
                                      "or a ~/.databrickscfg profile, never from flags)")
    group.add_argument("--emulator", action="store_true", help="use the embedded emulator seeded from sample_data/")
    group.add_argument("--profile", help="a ~/.databrickscfg profile with host, account_id and credentials")
    group.add_argument("--host", help="the accounts host, e.g. https://accounts.cloud.databricks.com, or a "
                       "unified host")
    group.add_argument("--account-id", help="the Databricks account id")
    group.add_argument("--workspace", action="append", type=_workspace_entry, metavar="ID=URL|PROFILE",
                       help="reach workspace ID at URL (with the account's credentials) or through a "
                       "~/.databrickscfg profile; overrides what the host implies (repeatable)")
    group.add_argument("--connect-timeout", type=_timeout, default=5.0, metavar="SECONDS",
                       help="seconds a host may take to answer before it is reported unreachable (default 5)")
    group.add_argument("--rate-scale", type=_positive, default=1.0, help="scale the client-side rate limits")
    group.add_argument("--no-progress", action="store_true", help="no progress bars")


def _summary_command(args: argparse.Namespace) -> int:
    from .summary import account_summary

    print(account_summary(_connect(args)))
    return 0


def _incomplete_lines(completeness: Any) -> list[str]:
    """The failed reads, unreachable workspaces first (with the URL tried and the fix)."""
    rows = completeness.to_dict("records")
    lines = [f"INCOMPLETE: {len(rows)} read(s) failed; these parts of the account are unknown, not empty:"]
    for row in sorted(rows, key=lambda r: "could not be reached" not in str(r["error"]))[:10]:
        lines.append(f"  {row['object_type']} {row['object_name']} ({row['operation']}): {row['error']}")
    if len(rows) > 10:
        lines.append(f"  ... and {len(rows) - 10} more: see the completeness table")
    return lines


def _snapshot_command(args: argparse.Namespace) -> int:
    from .snapshot import snapshot

    account = _connect(args)
    snap = snapshot(account, progress=not args.no_progress)
    path = snap.save(args.out)
    if not snap.is_complete:
        print(f"INCOMPLETE snapshot of account {snap.account_id}: {len(snap.completeness)} read(s) failed")
    print(f"snapshot of account {snap.account_id} at {snap.snapshot_time.isoformat()} written under {path}")
    print(snap.summary().to_string(index=False))
    if not snap.is_complete:
        print("\n".join(_incomplete_lines(snap.completeness)), file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_OK


def _report_command(args: argparse.Namespace) -> int:
    from . import compliance
    from .errors import InvalidInput
    from .report import run_report

    if args.previous is not None and not Path(args.previous).is_dir():
        raise InvalidInput(f"--previous {args.previous}: no such snapshot folder.", field="--previous",
                           fix="give the root of a snapshot written by `scimkit snapshot --out ROOT` (or a report's "
                           "DIR/history), or leave --previous out")
    if args.config is not None and not Path(args.config).is_file():
        raise InvalidInput(f"--config {args.config}: no such file.", field="--config",
                           fix="give a JSON or TOML compliance configuration file")
    config = compliance.ComplianceConfig.load(args.config) if args.config else None
    result = run_report(_connect(args), args.out, config=config, previous=args.previous,
                        progress=not args.no_progress)
    findings = result["findings"]
    snap = result["snapshot"]
    if not snap.is_complete:
        print(f"INCOMPLETE: account {snap.account_id} could not be read completely ({len(snap.completeness)} "
              "read(s) failed); what was not read is unknown, and no conclusion or fix is drawn from it")
        for line in compliance.not_read(snap):
            print(f"not read: {line}")
        for line in result.get("withheld", compliance.withheld(findings)):
            print(f"withheld: {line}")
    print(f"account {snap.account_id}, snapshot {snap.snapshot_time.isoformat()}"
          + (f", compared with {result['previous'].isoformat()}" if result["previous"] is not None else ""))
    if len(findings):
        print(compliance.summary(findings).to_string(index=False))
    else:
        print("no findings" if snap.is_complete else "no findings in what was read (the read is incomplete)")
    print(f"report:   {result['report']}")
    print(f"findings: {Path(args.out) / 'findings.csv'}")
    if result.get("remediation") is not None:
        print(f"remediation: {result['remediation']}")
    stored = result.get("stored", result["history"])
    print(f"history:  {stored} (snapshot and findings tables{'' if snap.is_complete else '; incomplete: never compared with'})")
    over = args.fail_on != "never" and compliance.exceeds(findings, args.fail_on)
    if not snap.is_complete:
        print("\n".join(_incomplete_lines(snap.completeness)), file=sys.stderr)
        print(f"exit 3: the read is incomplete{'; findings at or above ' + repr(args.fail_on) + ' exist too' if over else ''}",
              file=sys.stderr)
        return EXIT_INCOMPLETE
    if over:
        print(f"findings at or above '{args.fail_on}' exist: exit 1", file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_OK


# -- the parser -------------------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    """Flags accepted before or after the subcommand (`scimkit -v report` and `scimkit report -v`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show details: requests (never tokens), how workspaces are reached, tracebacks")
    return common


def _drift_command(args: argparse.Namespace) -> int:
    """Drift of the account against the roster or Entra: exit 1 when drift exists, 2 on bad input."""
    import json

    from .drift import drift
    from .snapshot import snapshot
    from .sources import entra, roster

    if args.roster:  # a missing or unreadable file is refused before the account is read (all its
        Path(args.roster).open("rb").close()  # problems, names included, are listed after the read)
    account = _connect(args)
    snap = snapshot(account, progress=not args.no_progress)
    if args.roster:
        source = roster.read_roster(args.roster, snapshot=snap)
    else:
        session = None
        if args.emulator:  # the embedded emulator also serves the sample Entra tenant (fixed local credentials)
            from .emulator.seed import default_seed_dir

            tenant = json.loads((default_seed_dir() / "entra_tenant.json").read_text())
            creds = entra.EntraCredentials(tenant["tenant_id"], tenant["clients"][0]["client_id"],
                                           tenant["clients"][0]["client_secret"])
            application = tenant["databricks_application"]["id"]
            session = entra.redirected_session(account.host)
        else:
            creds = entra.EntraCredentials.from_env()
            application = args.application
        source = entra.GraphReader(creds, session=session).read(application_id=application,
                                                                state_dir=args.entra_state)
    frame = drift(source, snap)
    if frame.empty:
        print("no drift")
        return 0
    print(frame.to_string(index=False))
    return 1


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    common = _common()
    parser = argparse.ArgumentParser(prog="scimkit", description=__doc__.split("\n\n")[0], epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common])
    parser.add_argument("--version", action="version", version=f"scimkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, parents=[common], epilog=EXIT_CODES,
                                   formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    emu = command(
        "emulator", "serve the Databricks account and Unity Catalog API emulator on loopback",
        description="Serve the emulator. The first line on stdout is `host=... account_id=...`. "
        f"Default tokens (local, not secret): admin {wire.DEFAULT_TOKEN}, reader {wire.DEFAULT_READER_TOKEN}, "
        f"SCIM provisioning {wire.DEFAULT_SCIM_TOKEN}.")
    emu.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (0: a free one)")
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
    emu.add_argument("--latency-ms", type=_millis, default=0, help="added latency per request")
    emu.add_argument("--rate-limits", action="store_true", help="enforce the rate-limit classes (429 + Retry-After)")
    emu.add_argument("--speed", type=_positive, default=1.0, help="scale every rate limit by this factor")
    emu.add_argument("--fault", action="append", default=[], type=_fault, metavar="METHOD:PATH_REGEX:ACTION:WHEN",
                     help="inject a fault (repeatable); METHOD:PATH_REGEX:STATUS:N answers the next N matching "
                          "requests with STATUS; ACTION may also be latency-MS, drop or lost[-STATUS], WHEN "
                          "'*', P%% or Ts (see README, Emulator)")
    emu.add_argument("--fault-seed", type=int, default=0, help="seed of the P%% fault draws, for replay")
    emu.add_argument("--oauth-token-lifetime", type=_lifetime, default=3600, metavar="SECONDS",
                     help="lifetime of OAuth M2M access tokens (default 3600)")
    emu.set_defaults(func=_emulator_command)

    summary = command("summary", "print a summary of the account (users, groups, workspaces)")
    _add_connection_flags(summary)
    summary.set_defaults(func=_summary_command)

    snap = command("snapshot", "read the account and write a snapshot (Parquet tables)")
    snap.add_argument("--out", required=True, metavar="ROOT", help="root folder: ROOT/<table>/snapshot_time=.../")
    _add_connection_flags(snap)
    snap.set_defaults(func=_snapshot_command)

    report = command("report", "snapshot, compliance rules and an HTML report in one go")
    report.add_argument("--out", default="scimkit-report", metavar="DIR",
                        help="where report.html, findings.csv and history/ go (default: scimkit-report)")
    report.add_argument("--config", metavar="FILE", help="compliance rules configuration (JSON or TOML)")
    report.add_argument("--previous", metavar="ROOT",
                        help="a snapshot root to compare with when DIR/history holds no earlier snapshot "
                        "(must exist)")
    report.add_argument("--fail-on", default="never", choices=["never", "critical", "high", "medium", "low", "info"],
                        help="exit 1 when findings at or above this severity exist (for schedulers)")
    _add_connection_flags(report)
    report.set_defaults(func=_report_command)

    drift = commands.add_parser("drift", help="where the account differs from the roster or Entra ID, and why "
                                "(exit 1 when drift exists, 2 on bad input)")
    side = drift.add_mutually_exclusive_group(required=True)
    side.add_argument("--roster", metavar="FILE", help="an HR roster CSV")
    side.add_argument("--entra", action="store_true", help="Entra ID (AZURE_TENANT_ID, AZURE_CLIENT_ID, "
                      "AZURE_CLIENT_SECRET from the environment; with --emulator the emulated tenant)")
    drift.add_argument("--application", metavar="OBJECT_ID",
                       help="object id of the Databricks enterprise application (its service principal) in Entra")
    drift.add_argument("--entra-state", metavar="DIR",
                       help="keep Graph delta links and the last Entra read in DIR: a later run reads only what "
                       "changed in Entra since (contains names and emails, no secrets)")
    _add_connection_flags(drift)
    drift.set_defaults(func=_drift_command)

    from .cli_plans import add_commands as add_plan_commands  # `plan` and `apply`

    add_plan_commands(command, _add_connection_flags)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # bad flags: argparse prints usage and one error line, exit 2
    args.verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # the SDK's own warnings (e.g. host metadata) would only repeat our one line
        logging.getLogger("databricks.sdk").setLevel(logging.ERROR)
    from databricks.sdk.errors import DatabricksError

    from .errors import ConnectionFailed, ScimkitError, from_sdk_error

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("scimkit: interrupted", file=sys.stderr)
        return 130
    except (ScimkitError, DatabricksError, OSError, TimeoutError) as exc:
        error = exc if isinstance(exc, ScimkitError) else from_sdk_error(
            exc, getattr(args, "host", None) or "the account host", getattr(args, "account_id", None) or "?")
        if error is None and isinstance(exc, OSError) and not isinstance(exc, ConnectionError):
            where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
            print(f"scimkit: cannot use{where}: {exc.strerror or exc}. Fix: check the path and its permissions",
                  file=sys.stderr)
            return _detail(exc, args, EXIT_USAGE)
        if error is None:  # an answer from the account that is not a configuration problem
            print(f"scimkit: the account answered with an error: {type(exc).__name__}: "
                  f"{str(exc).splitlines()[0] if str(exc) else ''}. Fix: run again later, or with -v for the detail",
                  file=sys.stderr)
            return _detail(exc, args, EXIT_INCOMPLETE)
        lines = str(error).splitlines() or [type(error).__name__]
        more = "" if args.verbose or len(lines) == 1 else " (-v shows more)"
        print(f"scimkit: {lines[0]}{more}", file=sys.stderr)
        if args.verbose and len(lines) > 1:
            print("\n".join(lines[1:]), file=sys.stderr)
        return _detail(exc, args, EXIT_INCOMPLETE if isinstance(error, ConnectionFailed) else EXIT_USAGE)


def _detail(exc: BaseException, args: argparse.Namespace, code: int) -> int:
    if args.verbose:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

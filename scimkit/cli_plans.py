"""The `scimkit plan` and `scimkit apply` subcommands: build a reviewed plan into a file, then apply
that file (dry run unless --yes) with a journal.

Exit codes: 0 everything applied or already in place (or the plan was written, or a dry run);
1 a change failed (its dependents were skipped; the journal says which); 2 bad input or a plan
that does not validate (nothing written to the account).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

PLAN_EPILOG = """exit codes:
  0  the plan was written (it may be empty: nothing to change)
  2  bad input (a roster or grants file with errors: nothing is planned), flags or credentials"""
APPLY_EPILOG = """exit codes:
  0  every change applied or was already in place (or, without --yes, the dry run)
  1  a change failed; changes that depend on it were skipped (see the journal)
  2  bad input, or a plan that does not validate against the account (nothing written)"""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_commands(command: Any, add_connection_flags: Any) -> None:
    """Register `plan` and `apply` on the CLI's subparsers (`command(name, help, **kw)` makes one)."""
    plan = command("plan", "build a reviewed plan of changes (onboarding, offboarding, drift, grants) into a file",
                   description="Build a plan from one source and write it for review; nothing is written to "
                   "the account. Apply the reviewed file with `scimkit apply`.")
    plan.epilog = PLAN_EPILOG
    source = plan.add_mutually_exclusive_group(required=True)
    source.add_argument("--roster", metavar="FILE", help="an HR roster CSV: joiners, movers and leavers by date")
    source.add_argument("--entra", action="store_true", help="Entra ID people and groups (AZURE_TENANT_ID, "
                        "AZURE_CLIENT_ID, AZURE_CLIENT_SECRET; with --emulator the emulated tenant)")
    source.add_argument("--drift", nargs="?", const="entra", metavar="ROSTER",
                        help="make Databricks match the source: the drift against Entra (no value) or a roster "
                        "CSV; fixes that belong in the identity provider are reported, not planned")
    source.add_argument("--grants", metavar="FILE", help="a desired-grants JSON file (sample_data/"
                        "desired_grants.json shows the format); grants nobody listed are reported, not revoked")
    source.add_argument("--offboard", metavar="EMAIL", help="one leaver: deactivate (never delete), remove "
                        "memberships and workspaces, revoke direct grants, hand owned securables over")
    plan.add_argument("--out", required=True, metavar="PLAN.json", help="where the plan is written")
    plan.add_argument("--today", type=_date, metavar="YYYY-MM-DD", help="the day joiners and leavers are "
                      "judged against (default: today)")
    plan.add_argument("--kinds", metavar="KIND,...", help="with --drift: the drift kinds to fix (default: "
                      "missing_user,active_mismatch,missing_membership,extra_membership)")
    plan.add_argument("--exclusive", action="append", default=[], metavar="SECURABLE",
                      help="with --grants: the listed grants become the only ones on this securable ('TYPE "
                      "name' or 'name'); others are revoked (repeatable)")
    plan.add_argument("--fallback-owner", metavar="GROUP", help="new owner of what a leaver owns")
    plan.add_argument("--application", metavar="OBJECT_ID",
                      help="with Entra: object id of the Databricks enterprise application in Entra")
    add_connection_flags(plan)
    plan.set_defaults(func=plan_command)

    apply = command("apply", "apply a reviewed plan file with a journal (a dry run unless --yes)",
                    description="Validate the plan whole against the account, then apply it (with --yes), "
                    "recording each change before and after in the journal. Re-running resumes: what the "
                    "journal finished is not touched again.")
    apply.epilog = APPLY_EPILOG
    apply.add_argument("plan", metavar="PLAN.json", help="a plan written by `scimkit plan --out`")
    apply.add_argument("--yes", action="store_true", help="apply (without it: print what would be done)")
    apply.add_argument("--journal", metavar="FILE", help="JSONL journal (default: PLAN.journal.jsonl beside "
                       "the plan); one apply at a time holds it")
    add_connection_flags(apply)
    apply.set_defaults(func=apply_command)


def _entra_source(args: argparse.Namespace, account: Any) -> Any:
    from .sources import entra

    session = None
    if args.emulator:  # the embedded emulator also serves the sample Entra tenant (fixed local credentials)
        from .emulator.seed import default_seed_dir

        tenant = json.loads((default_seed_dir() / "entra_tenant.json").read_text())
        creds = entra.EntraCredentials(tenant["tenant_id"], tenant["clients"][0]["client_id"],
                                       tenant["clients"][0]["client_secret"])
        application = args.application or tenant["databricks_application"]["id"]
        session = entra.redirected_session(account.host)
    else:
        creds = entra.EntraCredentials.from_env()
        application = args.application
    return entra.GraphReader(creds, session=session).read(application_id=application)


def build_plan(args: argparse.Namespace, account: Any) -> Any:
    """The plan the flags ask for, from a fresh read of the account (Unity Catalog included)."""
    from . import plans
    from .drift import drift
    from .errors import InvalidInput
    from .sources.roster import read_roster

    today = args.today or date.today()
    if args.kinds and args.drift is None:
        raise InvalidInput("--kinds goes with --drift.", field="--kinds", fix="add --drift, or leave --kinds out")
    if args.exclusive and not args.grants:
        raise InvalidInput("--exclusive goes with --grants.", field="--exclusive",
                           fix="add --grants FILE, or leave --exclusive out")
    for flag in ("roster", "grants"):
        value = getattr(args, flag)
        if value and not Path(value).is_file():
            raise InvalidInput(f"--{flag} {value}: no such file.", field=f"--{flag}", fix="check the path")
    if args.drift not in (None, "entra") and not Path(args.drift).is_file():
        raise InvalidInput(f"--drift {args.drift}: no such roster file.", field="--drift",
                           fix="give a roster CSV, or --drift alone for Entra")
    state = plans.read_state(account, progress=not args.no_progress)
    if args.roster:
        source = read_roster(args.roster, snapshot=state, as_of=today)  # a roster with errors plans nothing
        return plans.onboarding(source, state, today=today, fallback_owner=args.fallback_owner)
    if args.entra:
        return plans.onboarding(_entra_source(args, account), state, today=today, fallback_owner=args.fallback_owner)
    if args.drift is not None:
        source = (_entra_source(args, account) if args.drift == "entra"
                  else read_roster(args.drift, snapshot=state, as_of=today))
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else None
        return plans.from_drift(drift(source, state), state, kinds=kinds, source=source,
                                fallback_owner=args.fallback_owner)
    if args.grants:
        return plans.from_grants(args.grants, state, exclusive=args.exclusive)
    return plans.offboarding(state, args.offboard, fallback_owner=args.fallback_owner)


def _table(frame: pd.DataFrame) -> str:
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        return frame.to_string(index=False)


def plan_command(args: argparse.Namespace) -> int:
    from .cli import _connect

    plan = build_plan(args, _connect(args))
    path = plan.save(args.out)
    print(f"Plan {plan.plan_id} from {plan.source}: {len(plan.changes)} change(s), written to {path}")
    if plan.changes:
        print(_table(plan.summary()))
        print()
        print(_table(plan.frame().drop(columns=["depends_on"])))
    else:
        print("nothing to change")
    if plan.report:
        print("\nReport (not changed by this plan):")
        print(_table(plan.report_frame()))
    print(f"\nreview {path}, then: scimkit apply {path} --yes [connection flags]")
    return EXIT_OK


def apply_command(args: argparse.Namespace) -> int:
    from . import plans
    from .cli import _connect
    from .errors import PlanRejected

    plan = plans.Plan.load(args.plan)  # a file that is not a plan, or was edited, is refused here (exit 2)
    journal = Path(args.journal) if args.journal else Path(args.plan).with_suffix(".journal.jsonl")
    account = _connect(args)
    try:
        result = plans.apply(plan, account, journal=journal if args.yes else None, dry_run=not args.yes,
                             progress=not args.no_progress)
    except PlanRejected as exc:
        print(f"scimkit: plan {plan.plan_id} does not validate against account {account.account_id}; nothing "
              f"was applied ({len(exc.problems)} problem(s)):", file=sys.stderr)
        for step, change, reason, fix in exc.problems:
            print(f"  step {step} {change}: {reason} Fix: {fix}", file=sys.stderr)
        return EXIT_USAGE
    print(result.text())
    if not args.yes:
        todo = sum(o.outcome == "would_apply" for o in result.outcomes)
        print(f"\ndry run: {todo} change(s) would be applied; run again with --yes to apply "
              f"(journal: {journal})")
        return EXIT_OK
    print(f"\njournal: {journal}")
    if not result.ok:
        print(f"{len(result.failed)} change(s) failed or were skipped: exit 1", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK

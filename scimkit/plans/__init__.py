"""Reviewed plans of changes to an account, applied idempotently with a journal.

    plan = plans.onboarding(roster, snapshot, today=date(2026, 12, 1))
    print(plan.text()); plan.save("plan.json")            # a reviewer approves the file
    plans.apply(Plan.load("plan.json"), account, journal="apply.jsonl", dry_run=False)

changes: the typed changes; plan: `Plan`; validate: whole-plan checks; journal: the record of an
apply; apply: `apply`; build: plans from a roster, Entra, drift, grants and offboarding.
"""

from .apply import ApplyResult, Outcome, apply, read_state
from .build import PLANNABLE_DRIFT, from_drift, from_grants, from_script, offboarding, onboarding
from .changes import (
    AddToGroup,
    AssignWorkspace,
    Change,
    CreateUser,
    Deactivate,
    Delete,
    Grant,
    Reactivate,
    RemoveFromGroup,
    Revoke,
    SetDisplayName,
    TransferOwnership,
    UnassignWorkspace,
)
from .journal import JsonlJournal, TableJournal, journal_frame
from .plan import Plan
from .validate import check, validate

__all__ = [
    "AddToGroup", "ApplyResult", "AssignWorkspace", "Change", "CreateUser", "Deactivate", "Delete", "Grant",
    "JsonlJournal", "Outcome", "Plan", "Reactivate", "RemoveFromGroup", "Revoke", "SetDisplayName", "TableJournal",
    "PLANNABLE_DRIFT", "TransferOwnership", "UnassignWorkspace", "apply", "check", "from_drift", "from_grants", "from_script",
    "journal_frame", "offboarding", "onboarding", "read_state", "validate",
]

"""Apply a plan: validate it whole against the account, then make each change, journalled before
and after. Idempotent (each change reads the account first and sends nothing when it is in place),
resumable (a change the journal finished is not touched again; one it started is re-checked against
the account and finished), and a failed change stops only the changes that depend on it.
Memberships are batched: one PATCH per group per plan, under the client-side `scim-patch` limit.
"""

from __future__ import annotations

import contextlib
import getpass
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from databricks.sdk.errors import NotFound, PermissionDenied
from databricks.sdk.service import iam

from .. import identities
from ..catalog import CatalogEditor, CatalogRead, Operation
from ..connect import Account
from ..exactly_once import create_once
from ..parallel import ReadFailure, describe_error
from ..snapshot import build_snapshot
from ..snapshot import snapshot as take_snapshot
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
from .journal import DONE, open_journal
from .plan import Plan, change_id
from .validate import AccountView, check

CATALOG_KINDS = (Grant, Revoke, TransferOwnership)


@dataclass(frozen=True)
class Outcome:
    change_id: str
    kind: str
    target: str
    outcome: str  # applied | in_place | already_applied | would_apply | failed | skipped
    detail: str


@dataclass
class ApplyResult:
    plan_id: str
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome in ("failed", "skipped")]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def changed(self) -> int:
        return sum(o.outcome == "applied" for o in self.outcomes)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([o.__dict__ for o in self.outcomes],
                            columns=["change_id", "kind", "target", "outcome", "detail"])

    def summary(self) -> pd.DataFrame:
        frame = self.frame()
        return frame.groupby("outcome").size().rename("changes").reset_index()

    def text(self) -> str:
        head = f"{'Dry run of' if self.dry_run else 'Applied'} plan {self.plan_id}: " + ", ".join(
            f"{n} {k}" for k, n in self.frame()["outcome"].value_counts().sort_index().items())
        return "\n".join([head] + [f"  {o.outcome:<15} {o.kind:<18} {o.target}: {o.detail}" for o in self.outcomes])


# Changes that can neither create nor end a hold on a securable: a plan made only of these is
# validated on identities alone. Anything else (a deactivation, a removal, a grant) needs the catalog:
# a leaver's grants and owned securables are what offboarding must show.
IDENTITY_ONLY = (CreateUser, Reactivate, SetDisplayName, AddToGroup, AssignWorkspace)
CATALOG_NOT_READ = "not read: the plan only adds identities"


def read_state(account: Account, plan: Plan | None = None, progress: bool = False):  # noqa: ANN201 - a Snapshot
    """The account as planning and validation need it. With no plan (planning), or a plan with any
    change beyond creating, reactivating, renaming, adding and assigning, the whole account including
    Unity Catalog (what a leaver holds and owns); only a plan that adds identities skips the catalog
    walk (the most expensive read there is), and its snapshot says so in `completeness`."""
    if plan is None or not all(isinstance(c, IDENTITY_ONLY) for c in plan):
        return take_snapshot(account, progress=progress)
    stamp = pd.Timestamp.now(tz="UTC").floor("s")
    catalog = CatalogRead(failures=[ReadFailure("unity_catalog", account.account_id, "read_state", CATALOG_NOT_READ)])
    return build_snapshot(identities.read_identities(account, progress=progress), catalog, account.account_id, stamp)


def apply(plan: Plan, account: Account, journal: Any = None, dry_run: bool = True, snapshot: Any = None,
          who: str | None = None, progress: bool = False) -> ApplyResult:
    """Validate `plan` whole against the account (or `snapshot`), then apply it unless `dry_run`.
    A plan that does not validate raises `PlanRejected` before any write. `journal`: a .jsonl path, a
    history backend (a Delta table on Databricks) or a Journal; required to write."""
    state = snapshot if snapshot is not None else read_state(account, plan, progress)
    view = AccountView.of(state)
    check(plan, view)
    if dry_run:
        return _dry_run(plan, view)
    opened = open_journal(journal)
    if opened is None:
        from ..errors import InvalidInput

        raise InvalidInput("Applying a plan needs a journal.", field="journal",
                           fix="pass journal='apply-journal.jsonl' (or a history backend on Databricks)")
    lock = getattr(opened, "lock", None)
    with (lock() if lock is not None else contextlib.nullcontext()):
        return _Run(plan, account, state, opened, who or _who(account)).run()


def _who(account: Account) -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "unknown"
    return f"{user} via {account.source} {account.host}"


def _dry_run(plan: Plan, view: AccountView) -> ApplyResult:
    result = ApplyResult(plan.plan_id, dry_run=True)
    for change in plan:
        in_place = _in_place(change, view)
        result.outcomes.append(Outcome(change_id(change), change.kind, change.target,
                                       "in_place" if in_place else "would_apply",
                                       "already so in the account" if in_place else "would be applied"))
    return result


def _in_place(change: Change, view: AccountView) -> bool:
    """Whether the snapshot already shows the change's result (dry runs only; apply reads afresh)."""
    user = view.users.get(getattr(change, "user_name", "").casefold())
    if isinstance(change, CreateUser):
        return user is not None
    if isinstance(change, Reactivate):
        return bool(user and user["active"])
    if isinstance(change, Deactivate):
        return bool(user and not user["active"])
    if isinstance(change, Delete):
        return user is None
    if isinstance(change, SetDisplayName):
        return bool(user and user["display_name"] == change.display_name)
    if isinstance(change, (AddToGroup, RemoveFromGroup)):
        member = change.member.casefold() in view.members.get(change.group.casefold(), set())
        return member == isinstance(change, AddToGroup)
    if isinstance(change, (AssignWorkspace, UnassignWorkspace)):
        ws = view.workspace_id(change.workspace)
        current = view.assignments.get((ws, change.principal_name.casefold())) if ws is not None else None
        return current == change.permission if isinstance(change, AssignWorkspace) else current is None
    if isinstance(change, (Grant, Revoke)):
        held = view.grants.get((change.securable_type, change.full_name.casefold()), {}).get(
            change.principal_name.casefold(), set())
        wanted = {p.upper().replace(" ", "_") for p in change.privileges}
        return wanted <= held if isinstance(change, Grant) else not (wanted & held)
    if isinstance(change, TransferOwnership):
        row = view.securables.get((change.securable_type, change.full_name.casefold()))
        return bool(row and str(row["owner"]).casefold() == change.new_owner.casefold())
    return False


class _Run:
    def __init__(self, plan: Plan, account: Account, state: Any, journal: Any, who: str) -> None:
        self.plan, self.account, self.journal, self.who = plan, account, journal, who
        self.run_id = uuid.uuid4().hex[:12]
        self.result = ApplyResult(plan.plan_id, dry_run=False)
        self.status: dict[str, str] = {}  # change key -> outcome in this run
        self.ids: dict[str, str] = {}
        for row in state.users.to_dict("records"):
            self.ids[str(row["user_name"]).casefold()] = str(row["user_id"])
        for row in state.service_principals.to_dict("records"):
            self.ids[str(row["application_id"]).casefold()] = str(row["sp_id"])
            self.ids.setdefault(str(row["display_name"]).casefold(), str(row["sp_id"]))
        for row in state.groups.to_dict("records"):
            self.ids[str(row["group_name"]).casefold()] = str(row["group_id"])
        self.workspaces = AccountView.of(state).workspaces
        self._editor: CatalogEditor | None = None
        finished: dict[str, dict] = {}
        started: set[str] = set()
        for record in journal.records():
            if record.get("plan_id") != plan.plan_id:
                continue
            if record.get("phase") == "before":
                started.add(record["change_id"])
            elif record.get("outcome") in DONE:
                finished[record["change_id"]] = record
        self.finished, self.started = finished, started

    # -- bookkeeping -----------------------------------------------------------------------------
    def _record(self, change: Change, phase: str, outcome: str | None, detail: str, state: Any) -> None:
        self.journal.append(dict(plan_id=self.plan.plan_id, change_id=change_id(change), phase=phase,
                                 kind=change.kind, target=change.target, outcome=outcome, detail=detail,
                                 state_before=state, change=change.to_dict(),
                                 time=pd.Timestamp.now(tz="UTC").isoformat(), who=self.who, run_id=self.run_id))

    def _finish(self, change: Change, outcome: str, detail: str, state: Any) -> None:
        resumed = change_id(change) in self.started
        if resumed and outcome in DONE:
            detail += " (resumed: the interrupted run had started this change)"
        self._record(change, "after", outcome, detail, state)
        self.status[change_id(change)] = outcome
        self.result.outcomes.append(Outcome(change_id(change), change.kind, change.target, outcome, detail))

    def _begin(self, change: Change, state: Any) -> None:
        if change_id(change) not in self.started:
            self._record(change, "before", None, "about to apply", state)

    def _blocked(self, change: Change) -> str | None:
        for key in self.plan.dependencies(change):
            for other in self.plan:
                if other.key == key and self.status.get(change_id(other)) in ("failed", "skipped"):
                    return f"{other.kind} {other.target}"
        return None

    # -- the run -----------------------------------------------------------------------------------
    def run(self) -> ApplyResult:
        batched: set[str] = set()
        for change in self.plan:
            cid = change_id(change)
            if cid in self.finished:
                record = self.finished[cid]
                self.status[cid] = "already_applied"
                self.result.outcomes.append(Outcome(cid, change.kind, change.target, "already_applied",
                                                    f"{record['outcome']} by run {record.get('run_id')} at "
                                                    f"{record.get('time')} (journal)"))
                continue
            if isinstance(change, (AddToGroup, RemoveFromGroup)):
                group = change.group.casefold()
                if group not in batched:
                    batched.add(group)
                    self._group_batch(change.group)
                continue
            blocker = self._blocked(change)
            if blocker:
                self._finish(change, "skipped", f"not attempted: it depends on {blocker}, which did not apply", None)
                continue
            self._one(change)
        return self.result

    def _one(self, change: Change) -> None:
        handler: Callable[[Any], tuple[Any, bool, str]] = getattr(self, "_" + change.kind)
        try:
            state, needed, detail = handler(change)
        except Exception as exc:  # noqa: BLE001 - recorded; only its dependents stop
            self._begin(change, None)
            self._finish(change, "failed", describe_error(exc), None)
            return
        if not needed:
            self._finish(change, "in_place", detail, state)
            return
        self._begin(change, state)
        try:
            detail = getattr(self, "_do_" + change.kind)(change, state) or detail
        except Exception as exc:  # noqa: BLE001
            self._finish(change, "failed", describe_error(exc), state)
            return
        self._finish(change, "applied", detail, state)

    # -- users: (state read before, needed, detail) then the write -------------------------------
    def _user(self, change: Any) -> iam.User | None:
        return identities.find_user(self.account, change.user_name)

    def _create_user(self, change: CreateUser) -> tuple[Any, bool, str]:
        user = self._user(change)
        if user is not None:
            self.ids[change.user_name.casefold()] = str(user.id)
            return {"exists": True, "id": user.id}, False, f"exists with id {user.id}"
        return {"exists": False}, True, "created"

    def _do_create_user(self, change: CreateUser, state: Any) -> str:
        # _create_user has just looked the user up: create at once (a lost answer is settled by a lookup
        # before anything is sent again), saving the second lookup `ensure_user` would make.
        identities.validate_email(change.user_name)
        outcome = create_once(self.account, lambda: identities.find_user(self.account, change.user_name),
                              lambda api: iam.AccountUsersAPI(api).create(user_name=change.user_name,
                                                                          display_name=change.display_name))
        user = outcome.value
        self.ids[change.user_name.casefold()] = str(user.id)
        return f"created with id {user.id}" + (f" ({outcome.note})" if outcome.note else "")

    def _active_state(self, change: Any, wanted: bool) -> tuple[Any, bool, str]:
        user = self._user(change)
        if user is None:
            raise NotFound(f"user {change.user_name} does not exist")
        active = user.active is not False
        return {"active": active}, active != wanted, "already " + ("active" if active else "deactivated")

    def _reactivate(self, change: Reactivate) -> tuple[Any, bool, str]:
        return self._active_state(change, True)

    def _do_reactivate(self, change: Reactivate, state: Any) -> str:
        return identities.reactivate_user(self.account, change.user_name).detail

    def _deactivate(self, change: Deactivate) -> tuple[Any, bool, str]:
        return self._active_state(change, False)

    def _do_deactivate(self, change: Deactivate, state: Any) -> str:
        return identities.deactivate_user(self.account, change.user_name).detail

    def _set_display_name(self, change: SetDisplayName) -> tuple[Any, bool, str]:
        user = self._user(change)
        if user is None:
            raise NotFound(f"user {change.user_name} does not exist")
        return ({"display_name": user.display_name, "id": user.id}, user.display_name != change.display_name,
                f"already '{change.display_name}'")

    def _do_set_display_name(self, change: SetDisplayName, state: Any) -> str:
        self.account.limits.acquire("scim-patch")
        self.account.a.users.patch(state["id"], schemas=identities.PATCH_SCHEMAS, operations=[
            iam.Patch(op=iam.PatchOp.REPLACE, path="displayName", value=change.display_name)])
        return f"display name '{state['display_name']}' -> '{change.display_name}'"

    def _delete(self, change: Delete) -> tuple[Any, bool, str]:
        user = self._user(change)
        return ({"exists": user is not None, "id": getattr(user, "id", None)}, user is not None, "already absent")

    def _do_delete(self, change: Delete, state: Any) -> str:
        self.account.limits.acquire("scim-write")
        try:
            self.account.a.users.delete(state["id"])
        except NotFound:
            return "already absent"
        return "deleted"

    # -- workspaces --------------------------------------------------------------------------------
    def _principal_id(self, name: str) -> str:
        found = self.ids.get(name.casefold())
        if found is None:
            found = identities.resolve_member(self.account, name)[0]
            self.ids[name.casefold()] = found
        return found

    def _assignment(self, change: Any) -> tuple[int, str, str | None]:
        workspace_id = self.workspaces[str(change.workspace).strip().casefold()]
        principal_id = self._principal_id(change.principal_name)
        self.account.limits.acquire("account-read")
        current = None
        for item in self.account.a.workspace_assignment.list(workspace_id=workspace_id):
            if item.principal and str(item.principal.principal_id) == principal_id:
                current = "ADMIN" if any(p.value == "ADMIN" for p in item.permissions or []) else "USER"
        return workspace_id, principal_id, current

    def _assign_workspace(self, change: AssignWorkspace) -> tuple[Any, bool, str]:
        ws, pid, current = self._assignment(change)
        return ({"workspace_id": ws, "principal_id": pid, "permission": current}, current != change.permission,
                f"already {current}")

    def _do_assign_workspace(self, change: AssignWorkspace, state: Any) -> str:
        self.account.limits.acquire("scim-write")
        self.account.a.workspace_assignment.update(workspace_id=state["workspace_id"],
                                                   principal_id=int(state["principal_id"]),
                                                   permissions=[iam.WorkspacePermission(change.permission)])
        return f"{state['permission'] or 'not assigned'} -> {change.permission}"

    def _unassign_workspace(self, change: UnassignWorkspace) -> tuple[Any, bool, str]:
        ws, pid, current = self._assignment(change)
        return {"workspace_id": ws, "principal_id": pid, "permission": current}, current is not None, "not assigned"

    def _do_unassign_workspace(self, change: UnassignWorkspace, state: Any) -> str:
        self.account.limits.acquire("scim-write")
        try:
            self.account.a.workspace_assignment.delete(workspace_id=state["workspace_id"],
                                                       principal_id=int(state["principal_id"]))
        except NotFound:
            return "was not assigned"
        return f"removed ({state['permission']})"

    # -- Unity Catalog -------------------------------------------------------------------------------
    @property
    def editor(self) -> CatalogEditor:
        if self._editor is None:
            self._editor = CatalogEditor(self.account)
        return self._editor

    def _catalog(self, change: Any) -> tuple[Any, bool, str]:
        if isinstance(change, TransferOwnership):
            operation = Operation("owner", change.securable_type, change.full_name, change.new_owner)
        else:
            operation = Operation(change.kind, change.securable_type, change.full_name, change.principal_name,
                                  tuple(change.privileges))
        editor = CatalogEditor(self.account, self.editor.workspace_id)  # fresh reads for every change
        editor._metastore_id, editor._metastore_owner = self.editor._metastore_id, self.editor._metastore_owner
        target = editor.target(operation.securable_type, operation.full_name)
        if isinstance(change, TransferOwnership):
            state = {"owner": target.owner}
        else:
            held = editor.grants(target).get(change.principal_name.casefold(), ("", set()))[1]
            state = {"privileges": sorted(held)}
        planned, problems = editor.plan([operation])
        if problems:
            raise problems[0][1]
        step = planned[0]
        self._pending = (editor, step)
        assert step.change is not None
        return state, step.change.changed, step.change.detail

    _grant = _revoke = _transfer_ownership = _catalog

    def _do_catalog(self, change: Any, state: Any) -> str:
        editor, step = self._pending
        return editor.apply([step])[0].detail

    _do_grant = _do_revoke = _do_transfer_ownership = _do_catalog

    # -- memberships: one PATCH per group ------------------------------------------------------------
    def _group_batch(self, group_name: str) -> None:
        changes = [c for c in self.plan if isinstance(c, (AddToGroup, RemoveFromGroup))
                   and c.group.casefold() == group_name.casefold() and change_id(c) not in self.finished]
        ready = []
        for change in changes:
            blocker = self._blocked(change)
            if blocker:
                self._finish(change, "skipped", f"not attempted: it depends on {blocker}, which did not apply", None)
            else:
                ready.append(change)
        if not ready:
            return
        try:
            group_id = self._principal_id(group_name)
            self.account.limits.acquire("scim-get")
            group = self.account.a.groups.get(group_id)
            current = {m.value for m in group.members or [] if m.value}
            member_ids = {change_id(c): self._principal_id(c.member) for c in ready}
        except Exception as exc:  # noqa: BLE001
            for change in ready:
                self._begin(change, None)
                self._finish(change, "failed", describe_error(exc), None)
            return
        todo, states = [], {}
        for change in ready:
            member_id = member_ids[change_id(change)]
            is_member = member_id in current
            states[change_id(change)] = {"member": is_member, "member_id": member_id, "group_id": group_id}
            if is_member == isinstance(change, AddToGroup):
                self._finish(change, "in_place", "already a member" if is_member else "not a member",
                             states[change_id(change)])
            else:
                todo.append(change)
        if not todo:
            return
        for change in todo:
            self._begin(change, states[change_id(change)])
        adds = [member_ids[change_id(c)] for c in todo if isinstance(c, AddToGroup)]
        removes = [member_ids[change_id(c)] for c in todo if isinstance(c, RemoveFromGroup)]
        try:
            self._patch(group_id, group.display_name or group_name, adds, removes)
        except Exception as exc:  # noqa: BLE001
            for change in todo:
                self._finish(change, "failed", describe_error(exc), states[change_id(change)])
            return
        for change in todo:
            self._finish(change, "applied", "added" if isinstance(change, AddToGroup) else "removed",
                         states[change_id(change)])

    def _patch(self, group_id: str, group_name: str, adds: list[str], removes: list[str]) -> None:
        """As few PATCHes as the per-request limit allows: one for up to 100 member changes."""
        operations = []
        if adds:
            operations += [iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": i} for i in adds[s:s + 100]])
                           for s in range(0, len(adds), 100)]
        operations += [iam.Patch(op=iam.PatchOp.REMOVE, path=f'members[value eq "{i}"]') for i in removes]
        chunks, size = [], 0
        for op in operations:
            weight = len(op.value) if op.op == iam.PatchOp.ADD else 1
            if not chunks or size + weight > identities.MAX_MEMBERS_PER_PATCH:
                chunks.append([])
                size = 0
            chunks[-1].append(op)
            size += weight
        for chunk in chunks:
            self.account.limits.acquire("scim-patch")
            try:
                self.account.a.groups.patch(group_id, operations=chunk, schemas=identities.PATCH_SCHEMAS)
            except PermissionDenied as exc:
                raise identities._idp_guard(exc, group_name) from exc

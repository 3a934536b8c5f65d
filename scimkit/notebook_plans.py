"""What the onboarding and offboarding notebooks do, so their cells stay one call each: build a
plan from a roster or Entra group names (or leavers), turn bad input into a table instead of a
traceback, dry-run it, apply it (as a job: `APPLY=True`; interactively: a button and a confirmation),
with a progress bar, and show the journal.

    proposal = onboarding_proposal(account, snap, roster="roster.csv", today="2026-12-01")
    show(proposal.problems if not proposal.ok else proposal.plan.frame())
    result = apply_or_offer(proposal.plan, account, journal_for("journal.jsonl"), apply=False)

Input problems (roster lines, unknown Entra groups or workspaces, changes that do not validate) are
collected, all of them, into `Proposal.problems` with the roster's columns (line, column, kind,
value, problem, fix); a proposal with problems has no plan, so nothing can be applied from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd

from . import plans
from .errors import ConfigurationError, InvalidInput
from .notebook import table
from .plans.plan import Plan
from .sources.records import SourceIdentities

PROBLEM_COLUMNS = ["line", "column", "kind", "value", "problem", "fix"]
HOLDING_COLUMNS = ["person", "relation", "subject", "detail"]
JOURNAL_SHOWN = ["time", "phase", "kind", "target", "outcome", "detail", "who"]


@dataclass
class Proposal:
    """A plan ready for review, or the problems that stopped it (then `plan` is None)."""

    plan: Plan | None
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    people: list[str] = field(default_factory=list)  # whom the plan is about (leavers, for offboarding)

    @property
    def ok(self) -> bool:
        return self.plan is not None and self.problems.empty

    @property
    def size(self) -> int:
        return len(self.plan) if self.plan is not None else 0


def _problem(column: str, kind: str, value: Any, problem: str, fix: str, line: int | None = None) -> dict:
    return dict(line=line, column=column, kind=kind, value=None if value is None else str(value),
                problem=problem, fix=fix)


def _problems(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    frame["line"] = frame["line"].astype("Int64")
    return frame


def names(text: Any) -> list[str]:
    """A notebook parameter holding several names: comma, semicolon or newline separated."""
    if text is None:
        return []
    if isinstance(text, (list, tuple)):
        return [str(t).strip() for t in text if str(t).strip()]
    return [part.strip() for part in re.split(r"[,;\n]", str(text)) if part.strip()]


def as_date(text: Any) -> date:
    """`today` as a parameter: a date, "YYYY-MM-DD", or empty for today's date."""
    if isinstance(text, date):
        return text
    if text is None or not str(text).strip():
        return date.today()
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise InvalidInput(f"today={text!r} is not a date.", field="today", value=str(text),
                           fix="write it as YYYY-MM-DD, or leave it empty for today's date") from None


def _plan_problems(plan: Plan, snapshot: Any) -> list[dict]:
    return [_problem(f"step {step}", "plan", change, reason, fix) for step, change, reason, fix
            in plans.validate(plan, snapshot)]


def _with_workspaces(source: SourceIdentities, workspaces: list[str]) -> SourceIdentities:
    if not workspaces:
        return source
    people = tuple(replace(p, workspaces=tuple(dict.fromkeys([*p.workspaces, *workspaces]))) for p in source.people)
    return SourceIdentities(kind=source.kind, people=people, groups=source.groups, read_at=source.read_at,
                            origin=source.origin)


def _unknown_workspaces(snapshot: Any, workspaces: list[str]) -> list[dict]:
    known = {str(w).casefold() for w in snapshot.workspaces["workspace_name"]}
    known |= {str(w) for w in snapshot.workspaces["workspace_id"]}
    listed = ", ".join(sorted(map(str, snapshot.workspaces["workspace_name"])))
    return [_problem("workspaces", "unknown_workspace", w, f"the account has no workspace `{w}`.",
                     f"use a workspace name or id of the account ({listed})")
            for w in workspaces if w.casefold() not in known]


def entra_groups_source(source: SourceIdentities, groups: list[str]) -> tuple[SourceIdentities, list[dict]]:
    """The part of an Entra read that the named groups cover: those groups (and groups nested in
    them) and every person in them, directly or through nesting."""
    problems, chosen = [], []
    for name in groups:
        group = source.group(name)
        if group is None:
            import difflib

            close = difflib.get_close_matches(name, [g.name for g in source.groups], n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            problems.append(_problem("entra_groups", "unknown_group", name,
                                     f"the Entra tenant has no group `{name}`{hint}.",
                                     "use the group's display name in Entra ID"))
        else:
            chosen.append(group)
    keys: set[str] = set()
    stack = [g.key for g in chosen]
    while stack:
        key = stack.pop()
        if key in keys:
            continue
        keys.add(key)
        nested = source.group(key)
        stack.extend(m.casefold() for m in (nested.member_groups if nested else ()))
    emails = set().union(*(source.transitive_members(g.name) for g in chosen)) if chosen else set()
    people = tuple(p for p in source.people if p.key in emails)
    groups_kept = tuple(g for g in source.groups if g.key in keys)
    origin = f"{source.origin} groups {', '.join(g.name for g in chosen)}".strip()
    return SourceIdentities(kind=source.kind, people=people, groups=groups_kept, read_at=source.read_at,
                            origin=origin), problems


def onboarding_proposal(account: Any, snapshot: Any, roster: Any = "", entra_groups: Any = "", workspaces: Any = "",
                        today: Any = "", entra_credentials: Any = None, application_id: str | None = None,
                        fallback_owner: str | None = None) -> Proposal:
    """The onboarding plan from a roster file or from Entra group names (one of the two), with the
    target workspaces every person is assigned (besides the roster's own column), as of `today`."""
    from .sources.roster import RosterInvalid, read_roster

    day = as_date(today)
    groups, extra = names(entra_groups), names(workspaces)
    roster = str(roster or "").strip()
    if bool(roster) == bool(groups):
        return Proposal(None, _problems([_problem("roster", "source", None,
                                                  "give either a roster path or Entra group names.",
                                                  "set one of the parameters roster and entra_groups")]))
    problems = _unknown_workspaces(snapshot, extra)
    if roster:
        try:
            source = read_roster(roster, snapshot=snapshot, as_of=day)
        except RosterInvalid as exc:
            return Proposal(None, pd.concat([exc.frame(), _problems(problems)], ignore_index=True)
                            if problems else exc.frame())
        except FileNotFoundError:
            return Proposal(None, _problems([_problem("roster", "missing_file", roster, f"no roster file at {roster}.",
                                                      "check the path (relative to the notebook)")]))
    else:
        from .connect import entra_reader

        reader, application = entra_reader(account, entra_credentials, application_id)
        source, missing = entra_groups_source(reader.read(application_id=application), groups)
        problems += missing
    if problems:
        return Proposal(None, _problems(problems))
    plan = plans.onboarding(_with_workspaces(source, extra), snapshot, today=day, fallback_owner=fallback_owner)
    invalid = _plan_problems(plan, snapshot)
    return Proposal(None if invalid else plan, _problems(invalid), [p.email for p in source.people])


# -- offboarding -------------------------------------------------------------------------------------

def roster_leavers(roster: Any, snapshot: Any, today: Any = "") -> list[str]:
    """Emails of the roster's people whose last day is before `today` and who are still in the account."""
    from .sources.roster import read_roster

    day = as_date(today)
    source = read_roster(roster, snapshot=snapshot, as_of=day)
    users = {str(u).casefold() for u in snapshot.users["user_name"]}
    return [p.email for p in sorted(source.people, key=lambda p: p.key)
            if p.end_date is not None and p.end_date < day and p.key in users]


def offboarding_proposal(snapshot: Any, leavers: Any = "", roster: Any = "", today: Any = "",
                         fallback_owner: str | None = None) -> Proposal:
    """One plan offboarding every leaver: the emails given, else the roster's leavers up to `today`."""
    from .sources.roster import RosterInvalid

    people = names(leavers)
    if not people and str(roster or "").strip():
        try:
            people = roster_leavers(str(roster).strip(), snapshot, today)
        except RosterInvalid as exc:
            return Proposal(None, exc.frame())
    if not people:
        return Proposal(None, _problems([_problem("leavers", "no_leavers", None,
                                                  "no leaver given, and the roster names none still in the account.",
                                                  "set leavers (emails), or roster and today")]), [])
    changes, report, problems = [], [], []
    for email in people:
        try:
            part = plans.offboarding(snapshot, email, fallback_owner=fallback_owner or None)
        except InvalidInput as exc:
            problems.append(_problem("leavers", "unknown_user", email, exc.message, exc.fix or "check the email"))
            continue
        changes += part.changes
        report += part.report
    if problems:
        return Proposal(None, _problems(problems), people)
    plan = Plan(changes, source=f"offboarding {', '.join(people)}", report=report)
    invalid = _plan_problems(plan, snapshot)
    return Proposal(None if invalid else plan, _problems(invalid), people)


def holdings(snapshot: Any, people: list[str]) -> pd.DataFrame:
    """What each person holds directly and owns: group memberships, workspace assignments, grants to
    them, securables they own. One row each (columns person, relation, subject, detail)."""
    rows = []
    workspace_names = dict(zip(snapshot.workspaces["workspace_id"], snapshot.workspaces["workspace_name"], strict=True))
    idp = {str(g).casefold() for g, e in zip(snapshot.groups["group_name"], snapshot.groups["external_id"],
                                             strict=True) if pd.notna(e)}
    for person in people:
        key = person.casefold()
        m = snapshot.memberships
        for group in sorted(m.loc[m["member_name"].str.casefold() == key, "group_name"], key=str.casefold):
            rows.append((person, "member of", group, "identity-provider group" if group.casefold() in idp else ""))
        wa = snapshot.workspace_assignments
        for r in wa.loc[wa["principal_name"].str.casefold() == key].itertuples():
            rows.append((person, "workspace", str(workspace_names.get(r.workspace_id, r.workspace_id)), r.permission))
        g = snapshot.grants
        held = g.loc[g["principal"].str.casefold() == key]
        for (stype, full_name), part in held.groupby(["securable_type", "full_name"], sort=True):
            rows.append((person, "holds", f"{stype} {full_name}", ", ".join(sorted(part["privilege"]))))
        s = snapshot.securables
        for r in s.loc[s["owner"].str.casefold() == key].sort_values(["securable_type", "full_name"]).itertuples():
            rows.append((person, "owns", f"{r.securable_type} {r.full_name}", ""))
    return pd.DataFrame(rows, columns=HOLDING_COLUMNS)


# -- journal and apply ---------------------------------------------------------------------------------

def journal_for(journal: Any, output_schema: str = "", spark: Any = None) -> Any:
    """Where an apply is journalled: a Delta table `plan_journal` in `output_schema` (catalog.schema,
    through a Spark session: Databricks' own) when given, else the local JSONL file `journal`."""
    from .notebook import schema_backend

    backend = schema_backend(output_schema, spark)
    if backend is not None:
        return plans.TableJournal(backend)
    if not str(journal or "").strip():
        raise ConfigurationError("No journal: an apply is always journalled. Fix: set the journal parameter "
                                 "(a .jsonl path) or output_schema (catalog.schema, on Databricks)")
    return plans.JsonlJournal(str(journal))


class _ProgressJournal:
    """A journal that also advances a progress bar once per finished change."""

    def __init__(self, journal: Any, bar: Any) -> None:
        self.journal, self.bar = journal, bar

    def append(self, record: dict[str, Any]) -> None:
        self.journal.append(record)
        if record.get("phase") == "after":
            self.bar.update(1)

    def records(self) -> list[dict[str, Any]]:
        return self.journal.records()


def apply_now(plan: Plan, account: Any, journal: Any, snapshot: Any = None, progress: bool = True) -> Any:
    """Apply the plan for real, journalled, with a progress bar over its changes (tqdm's notebook
    form where a widget front end is present)."""
    from tqdm.auto import tqdm

    from .plans.journal import open_journal

    opened = open_journal(journal)
    with tqdm(total=len(plan), desc="apply", unit="change", disable=not progress) as bar:
        return plans.apply(plan, account, journal=_ProgressJournal(opened, bar), dry_run=False, snapshot=snapshot,
                           progress=progress)


class ConfirmApply:
    """An "Apply N changes" button that asks for confirmation (naming the account) before it writes;
    the result and the journal appear below it. `result` holds the ApplyResult once applied."""

    def __init__(self, plan: Plan, account: Any, journal: Any, on_applied: Any = None) -> None:
        import ipywidgets as w

        self.plan, self.account, self.journal, self.on_applied = plan, account, journal, on_applied
        self.result: Any = None
        n = len(plan)
        self.apply_button = w.Button(description=f"Apply {n} change{'s' if n != 1 else ''}...",
                                     button_style="warning", icon="play", layout=w.Layout(width="auto"))
        self.question = w.HTML(f"<b>Apply {n} change(s) of plan {plan.plan_id} to account {account.account_id} "
                               f"({account.host})?</b> Each change is journalled.")
        self.confirm_button = w.Button(description="Yes, apply", button_style="danger", layout=w.Layout(width="auto"))
        self.cancel_button = w.Button(description="Cancel", layout=w.Layout(width="auto"))
        self.confirm_box = w.HBox([self.question, self.confirm_button, self.cancel_button],
                                  layout=w.Layout(display="none", align_items="center"))
        self.output = w.Output()
        self.widget = w.VBox([self.apply_button, self.confirm_box, self.output])
        self.apply_button.on_click(self._ask)
        self.cancel_button.on_click(self._cancel)
        self.confirm_button.on_click(self._confirm)
        if n == 0:
            self.apply_button.disabled = True
            self.apply_button.description = "Nothing to apply"

    def _ask(self, _: Any = None) -> None:
        self.apply_button.disabled = True
        self.confirm_box.layout.display = "flex"

    def _cancel(self, _: Any = None) -> None:
        self.confirm_box.layout.display = "none"
        self.apply_button.disabled = False

    def _confirm(self, _: Any = None) -> None:
        self.confirm_button.disabled = self.cancel_button.disabled = True
        self.confirm_box.layout.display = "none"
        try:
            self.result = apply_now(self.plan, self.account, self.journal, progress=False)
        except Exception as exc:  # noqa: BLE001 - shown where the admin clicked; nothing else to do with it
            self.output.append_stdout(f"Not applied: {exc}\n")
            self.apply_button.disabled = False
            self.confirm_button.disabled = self.cancel_button.disabled = False
            return
        self.apply_button.description = f"Applied: {self.result.changed} change(s) written"
        self.output.append_stdout(self.result.text().splitlines()[0] + "\n")
        self.output.append_display_data(self.result.frame())
        self.output.append_display_data(journal_table(self.journal, self.plan.plan_id))
        if self.on_applied is not None:
            self.on_applied(self.result)


def apply_or_offer(plan: Plan | None, account: Any, journal: Any, apply: bool = False, snapshot: Any = None,
                   display: Any = None, panel: Any = None) -> Any:
    """As a job (`apply=True`): apply the plan now and return the ApplyResult. Otherwise: a dry run
    (returned), and below it the confirmation button for an interactive session (or `panel`, a
    widget holder such as DriftPlanner, built on demand when it is a callable)."""
    if plan is None:
        print("No plan: correct the problems above and run the notebook again.")
        return None
    if apply:
        result = apply_now(plan, account, journal, snapshot=snapshot)
        print(result.text().splitlines()[0])
        return result
    result = plans.apply(plan, account, snapshot=snapshot)  # a dry run: validates, writes nothing
    print(result.text().splitlines()[0] + ". Set APPLY=True (a job parameter) or use the button to apply.")
    if len(plan) or panel is not None:
        shown = (panel() if callable(panel) else panel) if panel is not None else ConfirmApply(plan, account, journal)
        if display is None:
            from IPython.display import display
        display(shown.widget)
    return result


def journal_table(journal: Any, plan_id: str | None = None) -> pd.DataFrame:
    """The journal's records (of one plan, when given), oldest first, in the columns a reviewer reads
    (times to the second, UTC)."""
    frame = plans.journal_frame(journal)
    if plan_id is not None:
        frame = frame.loc[frame["plan_id"] == plan_id]
    frame = frame[JOURNAL_SHOWN].reset_index(drop=True)
    if len(frame):
        frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601" if _pandas_2() else None
                                       ).dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame


def _pandas_2() -> bool:
    return int(pd.__version__.split(".")[0]) >= 2


def applied_count(result: Any) -> int:
    """Changes written by an apply (0 for a dry run or no result)."""
    return 0 if result is None or result.dry_run else int(result.changed)


# -- showing and finishing -----------------------------------------------------------------------------

def _display(obj: Any) -> None:
    """Databricks' `display` for tables where it exists, else IPython's."""
    from .notebook import in_databricks

    try:
        import IPython

        shell = IPython.get_ipython()
        native = shell.user_ns.get("display") if shell is not None else None
    except ImportError:  # pragma: no cover
        shell, native = None, None
    if in_databricks() and native is not None and isinstance(obj, pd.DataFrame):  # table() keeps frames there
        native(obj)
        return
    if shell is None:
        print(obj)
        return
    from IPython.display import display

    display(obj)


def _heading(text: str) -> None:
    from IPython.display import Markdown

    _display(Markdown(text))


def review(proposal: Proposal) -> None:
    """The proposal as a reviewer reads it: the problems as a table (nothing planned), or the plan's
    summary, its changes, and its report (what it found but does not change)."""
    if not proposal.ok:
        _heading(f"### {len(proposal.problems)} problem(s): nothing was planned\n"
                 "Correct every row below and run the notebook again.")
        _display(table(proposal.problems))
        return
    plan = proposal.plan
    assert plan is not None
    _heading(f"### Plan `{plan.plan_id}`: {len(plan)} change(s)\nFrom {plan.source}.")
    if len(plan):
        _display(table(plan.summary()))
        _display(table(plan.frame()))
    if plan.report:
        _heading(f"#### Not changed by this plan ({len(plan.report)})")
        _display(table(plan.report_frame()))


def finish(proposal: Proposal, result: Any) -> None:
    """Last cell: end a job non-zero when the input had problems or a change did not apply."""
    from .errors import ApplyIncomplete

    if not proposal.ok:
        first = proposal.problems.iloc[0]
        raise InvalidInput(f"{len(proposal.problems)} problem(s) in the input; nothing was planned or applied. "
                           f"First: {first['problem']}", field=str(first["column"]), fix=str(first["fix"]))
    if result is not None and not result.dry_run and not result.ok:
        raise ApplyIncomplete(result.plan_id, [f"{o.kind} {o.target}: {o.detail}" for o in result.failed])


# -- drift: "make Databricks match" ------------------------------------------------------------------

DRIFT_COLOURS = {"Databricks": "#2563eb", "identity provider": "#f59e0b"}


def read_source(account: Any, snapshot: Any, roster: Any = "", today: Any = "", entra_secret_scope: str = "",
                application_id: str = "") -> SourceIdentities:
    """The identity provider's side: the roster file (as of `today`) when given, else Entra ID
    (credentials from `entra_secret_scope` on Databricks, else AZURE_* from the environment)."""
    if str(roster or "").strip():
        from .sources.roster import read_roster

        return read_roster(str(roster).strip(), snapshot=snapshot, as_of=as_date(today))
    from .connect import entra_reader

    credentials = None
    if str(entra_secret_scope or "").strip():
        from .notebook import _dbutils
        from .sources.entra import EntraCredentials

        dbutils = _dbutils()
        if dbutils is None:
            raise ConfigurationError(f"entra_secret_scope={entra_secret_scope!r} needs Databricks' dbutils. Fix: "
                                     "leave it empty and set AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET")
        credentials = EntraCredentials.from_secret_scope(dbutils, str(entra_secret_scope).strip(),
                                                         "azure-tenant-id", "azure-client-id", "azure-client-secret")
    reader, application = entra_reader(account, credentials, str(application_id or "").strip() or None)
    return reader.read(application_id=application)


def drift_by_cause(frame: pd.DataFrame) -> pd.DataFrame:
    """Drift rows counted by kind and cause, with where the fix is made, most rows first."""
    if frame.empty:
        return pd.DataFrame(columns=["kind", "cause", "fix_in", "rows"])
    counts = frame.groupby(["kind", "cause", "fix_in"], sort=True).size().rename("rows").reset_index()
    return counts.sort_values(["rows", "kind"], ascending=[False, True], kind="stable").reset_index(drop=True)


def plot_drift(frame: pd.DataFrame) -> Any:
    """A horizontal bar per drift kind, split by where the fix is made; None (and a sentence) when in sync."""
    if frame.empty:
        print("No drift: the account matches the source.")
        return None
    import matplotlib.pyplot as plt

    table = frame.groupby(["kind", "fix_in"]).size().unstack(fill_value=0)
    table = table.loc[table.sum(axis=1).sort_values().index]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(table) + 1.2))
    left = pd.Series(0, index=table.index)
    for fix_in in table.columns:
        ax.barh(table.index, table[fix_in], left=left, label=f"fix in {fix_in}", color=DRIFT_COLOURS.get(fix_in))
        left = left + table[fix_in]
    ax.set_xlabel("drift rows")
    ax.set_title(f"Drift by kind ({len(frame)} rows)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    plt.close(fig)  # shown once, as the cell's value (not again by the inline backend)
    return fig


def drift_proposal(frame: pd.DataFrame, snapshot: Any, kinds: Any = "", source: SourceIdentities | None = None,
                   fallback_owner: str | None = None) -> Proposal:
    """The "make Databricks match" plan for the chosen drift kinds (empty: every kind a plan can fix)."""
    chosen = names(kinds) or list(plans.PLANNABLE_DRIFT)
    try:
        plan = plans.from_drift(frame, snapshot, kinds=chosen, source=source, fallback_owner=fallback_owner or None)
    except InvalidInput as exc:
        return Proposal(None, _problems([_problem("fix_kinds", "unknown_kind", exc.value, exc.message,
                                                  exc.fix or "choose drift kinds")]))
    invalid = _plan_problems(plan, snapshot)
    subjects = sorted(set(frame.loc[frame["kind"].isin(chosen), "subject"]))
    return Proposal(None if invalid else plan, _problems(invalid), subjects)


def drift_left(frame: pd.DataFrame | None, kinds: Any = "") -> int | None:
    """Rows of the chosen kinds whose fix is in Databricks (what a match plan should have removed);
    None when drift was not read again (nothing applied)."""
    if frame is None:
        return None
    chosen = names(kinds) or list(plans.PLANNABLE_DRIFT)
    return int((frame["kind"].isin(chosen) & (frame["fix_in"] == "Databricks")).sum())


class DriftPlanner:
    """Interactive: a checkbox per drift kind present; ticking kinds re-plans "make Databricks match"
    for them, shows the plan and offers the confirmed apply (ConfirmApply) below it."""

    def __init__(self, frame: pd.DataFrame, snapshot: Any, account: Any, journal: Any,
                 source: SourceIdentities | None = None, kinds: Any = "", fallback_owner: str | None = None) -> None:
        import ipywidgets as w

        self.frame, self.snapshot, self.account, self.journal = frame, snapshot, account, journal
        self.source, self.fallback_owner = source, fallback_owner
        present = sorted(set(frame["kind"]))
        chosen = set(names(kinds) or plans.PLANNABLE_DRIFT)
        counts = frame["kind"].value_counts()
        self.boxes = {k: w.Checkbox(value=k in chosen, description=f"{k} ({int(counts[k])})", indent=False,
                                    layout=w.Layout(width="auto")) for k in present}
        self.output = w.Output()
        self.proposal: Proposal | None = None
        for box in self.boxes.values():
            box.observe(lambda _change: self.replan(), names="value")
        self.widget = w.VBox([w.HTML("<b>Fix these drift kinds in Databricks:</b>"),
                              w.HBox(list(self.boxes.values()), layout=w.Layout(flex_flow="row wrap")),
                              self.output])
        self.replan()

    @property
    def kinds(self) -> list[str]:
        return [k for k, box in self.boxes.items() if box.value]

    def replan(self) -> Proposal:
        self.output.clear_output()
        if self.kinds:
            self.proposal = drift_proposal(self.frame, self.snapshot, self.kinds, self.source, self.fallback_owner)
        else:
            self.proposal = Proposal(Plan([], source="drift (no kind chosen)"))
        plan = self.proposal.plan
        if plan is None:
            self.output.append_display_data(self.proposal.problems)
            return self.proposal
        self.output.append_stdout(f"Plan {plan.plan_id}: {len(plan)} change(s) for {', '.join(self.kinds) or 'no kind'}\n")
        if len(plan):
            self.output.append_display_data(plan.frame())
            self.output.append_display_data(ConfirmApply(plan, self.account, self.journal).widget)
        return self.proposal


def drift_after(account: Any, source: SourceIdentities, result: Any) -> pd.DataFrame | None:
    """Drift read again after an apply that wrote something (None otherwise): what is left."""
    if result is None or result.dry_run:
        return None
    from .drift import drift
    from .snapshot import snapshot

    return drift(source, snapshot(account))


def drift_after_table(after: pd.DataFrame | None) -> Any:
    """What `drift_after` found, by cause, for display (a sentence when nothing was applied or none is left)."""
    from IPython.display import Markdown

    if after is None:
        return Markdown("*Nothing was applied, so drift was not read again.*")
    return table(drift_by_cause(after), empty="No drift left: the account matches the source.")

"""The HR roster CSV as an identity source: joiners, movers and leavers, validated as a whole.

    email, display_name, groups, workspaces, start_date, end_date[, employee_id]

`groups` and `workspaces` are `;`-separated (workspaces by name or numeric id); dates are ISO
`YYYY-MM-DD`; `end_date` is the last working day (empty: still employed); `employee_id` becomes
the person's external id. A person is active on `as_of` when `start_date <= as_of <= end_date`.

The whole file is checked before anything uses it, and every problem is reported at once, each
naming the line, the column and the fix. A file with any problem yields nothing: `read_roster`
raises `RosterInvalid` (an `InvalidInput`) whose `problems` list every one, also as a DataFrame
(`RosterInvalid.frame()`). Groups and workspaces are checked against the account when a snapshot
(or the account's group and workspace names) is given.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InvalidInput
from .records import SourceGroup, SourceIdentities, SourcePerson

REQUIRED_COLUMNS = ("email", "display_name", "groups", "workspaces", "start_date", "end_date")
OPTIONAL_COLUMNS = ("employee_id",)
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
REQUIRED_VALUES = ("email", "display_name", "start_date")
# Characters that make a spreadsheet evaluate a cell (OWASP "CSV injection"): the four the issue
# names, plus tab and carriage return, which some spreadsheets also treat as formula starts.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SEPARATOR = ";"
_EMAIL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._%+'-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SHOWN_IN_MESSAGE = 3

# Problem kinds (the `kind` column of RosterInvalid.frame()).
EMPTY_FILE = "empty_file"
NOT_UTF8 = "not_utf8"
UNKNOWN_COLUMN = "unknown_column"
MISSING_COLUMN = "missing_column"
MISSING_VALUE = "missing_value"
MALFORMED_EMAIL = "malformed_email"
LOOKALIKE_EMAIL = "lookalike_email"
DUPLICATE_EMAIL = "duplicate_email"
UNKNOWN_GROUP = "unknown_group"
UNKNOWN_WORKSPACE = "unknown_workspace"
BAD_DATE = "bad_date"
END_BEFORE_START = "end_before_start"
FORMULA = "formula"


@dataclass(frozen=True)
class RosterProblem:
    """One problem in a roster file: where (line, column), what, and the fix."""

    line: int | None  # the file's line (the header is line 1); None for a whole-file problem
    column: str | None
    kind: str
    value: str | None
    problem: str
    fix: str

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"line {self.line}" if self.line else "", self.column or "") if p)
        return f"{where or 'file'}: {self.problem} Fix: {self.fix}"


class RosterInvalid(InvalidInput):
    """The roster was refused as a whole; `problems` lists every problem found (nothing was used)."""

    def __init__(self, origin: str, problems: Iterable[RosterProblem]) -> None:
        self.origin = origin
        self.problems = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:SHOWN_IN_MESSAGE])
        more = len(self.problems) - SHOWN_IN_MESSAGE
        tail = f"; and {more} more (see .problems or .frame())" if more > 0 else ""
        super().__init__(f"The roster {origin} was refused ({len(self.problems)} problem(s); nothing was used): "
                         f"{shown}{tail}.", field="roster",
                         fix="correct every line named and read the file again")

    def frame(self) -> pd.DataFrame:
        """The problems as rows: line, column, kind, value, problem, fix."""
        columns = ["line", "column", "kind", "value", "problem", "fix"]
        frame = pd.DataFrame([asdict(p) for p in self.problems], columns=columns)
        frame["line"] = frame["line"].astype("Int64")
        return frame


@dataclass(frozen=True)
class AccountNames:
    """The group and workspace names (and workspace ids) a roster may refer to."""

    groups: frozenset[str]  # case-folded group names
    workspaces: dict[str, str]  # case-folded workspace name or id -> workspace name

    @classmethod
    def of(cls, snapshot: Any = None, groups: Iterable[str] | None = None,
           workspaces: Iterable[str] | dict[str, Any] | None = None) -> AccountNames | None:
        """From a Snapshot (its groups and workspaces tables) and/or explicit names; None: no check."""
        if snapshot is None and groups is None and workspaces is None:
            return None
        group_names = {str(g).casefold() for g in (groups or [])}
        workspace_names: dict[str, str] = {}
        if isinstance(workspaces, dict):  # {name: id}
            for name, workspace_id in workspaces.items():
                workspace_names[str(name).casefold()] = str(name)
                workspace_names[str(workspace_id)] = str(name)
        else:
            workspace_names.update({str(w).casefold(): str(w) for w in (workspaces or [])})
        if snapshot is not None:
            group_names.update(str(g).casefold() for g in snapshot.groups["group_name"])
            for row in snapshot.workspaces.itertuples():
                workspace_names[str(row.workspace_name).casefold()] = str(row.workspace_name)
                workspace_names[str(row.workspace_id)] = str(row.workspace_name)
        return cls(frozenset(group_names), workspace_names)


def read_roster(source: str | Path | io.TextIOBase, *, snapshot: Any = None,
                groups: Iterable[str] | None = None, workspaces: Iterable[str] | dict[str, Any] | None = None,
                as_of: date | None = None) -> SourceIdentities:
    """Read and validate a roster file (path, or an open text stream); raise RosterInvalid on any problem.

    `snapshot` (or `groups` / `workspaces` names) checks that every group and workspace exists in
    the account; without either, those two checks are skipped.
    """
    origin, text, problems = _read_text(source)
    people: list[SourcePerson] = []
    if not problems:
        people, problems = _parse(text, AccountNames.of(snapshot, groups, workspaces), as_of or date.today())
    if problems:
        raise RosterInvalid(origin, problems)
    members: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for person in people:
        for group in person.groups:
            names.setdefault(group.casefold(), group)
            members.setdefault(group.casefold(), []).append(person.email)
    source_groups = tuple(SourceGroup(name=names[key], members=tuple(members[key])) for key in sorted(names))
    return SourceIdentities(kind="roster", people=tuple(people), groups=source_groups,
                            read_at=datetime.now(timezone.utc), origin=origin)


def validate_roster(source: str | Path | io.TextIOBase, **kwargs: Any) -> pd.DataFrame:
    """Every problem of the file as a frame (empty when the file is valid); never raises for content."""
    try:
        read_roster(source, **kwargs)
    except RosterInvalid as exc:
        return exc.frame()
    return RosterInvalid("", []).frame()


# -- reading ---------------------------------------------------------------------------------------

def _read_text(source: str | Path | io.TextIOBase) -> tuple[str, str, list[RosterProblem]]:
    if isinstance(source, io.TextIOBase):
        return getattr(source, "name", "<stream>"), source.read(), []
    path = Path(source)
    raw = path.read_bytes()
    try:
        return str(path), raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return str(path), "", [RosterProblem(line, None, NOT_UTF8, None, f"the file is not UTF-8 (byte {exc.start}).",
                                             "save the file as UTF-8 CSV")]


def _parse(text: str, account: AccountNames | None, as_of: date) -> tuple[list[SourcePerson], list[RosterProblem]]:
    problems: list[RosterProblem] = []
    if not text.strip():
        return [], [RosterProblem(None, None, EMPTY_FILE, None, "the file is empty.",
                                  f"write a header line ({', '.join(REQUIRED_COLUMNS)}) and one line per person")]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    columns = [c.strip() for c in header]
    for position, column in enumerate(columns, start=1):
        if column.casefold() not in KNOWN_COLUMNS:
            close = difflib.get_close_matches(column.casefold(), KNOWN_COLUMNS, n=1)
            hint = f"rename it to `{close[0]}`" if close else f"remove it (known columns: {', '.join(KNOWN_COLUMNS)})"
            problems.append(RosterProblem(1, column or f"column {position}", UNKNOWN_COLUMN, column,
                                          f"unknown column `{column}` (column {position}).", hint))
    index = {c.casefold(): i for i, c in enumerate(columns) if c.casefold() in KNOWN_COLUMNS}
    for column in REQUIRED_COLUMNS:
        if column not in index:
            problems.append(RosterProblem(1, column, MISSING_COLUMN, None, f"required column `{column}` is missing.",
                                          f"add a `{column}` column to the header (it may be empty for "
                                          "some people)" if column not in REQUIRED_VALUES else
                                          f"add a `{column}` column to the header"))
    people: list[SourcePerson] = []
    first_line: dict[str, int] = {}
    rows = 0
    line = 1
    for cells in reader:
        line_start = line + 1
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        rows += 1
        if len(cells) > len(columns):
            problems.append(RosterProblem(line_start, None, UNKNOWN_COLUMN, None,
                                          f"the line has {len(cells)} cells but the header names {len(columns)}.",
                                          "quote cells that contain commas, or remove the extra cells"))
        row = {name: (cells[i].strip() if i < len(cells) else "") for name, i in index.items()}
        person, row_problems = _person(line_start, row, {c: cells[i] for c, i in index.items() if i < len(cells)},
                                       account, as_of)
        problems.extend(row_problems)
        if person is not None:
            key = person.key
            if key in first_line:
                problems.append(RosterProblem(line_start, "email", DUPLICATE_EMAIL, person.email,
                                              f"{person.email} is also on line {first_line[key]} "
                                              "(emails are compared case-insensitively).",
                                              "keep one line per person"))
            else:
                first_line[key] = line_start
                people.append(person)
    if rows == 0:
        problems.append(RosterProblem(None, None, EMPTY_FILE, None, "the file has a header but no people.",
                                      "add one line per person below the header"))
    return people, problems


def _person(line: int, row: dict[str, str], raw: dict[str, str], account: AccountNames | None,
            as_of: date) -> tuple[SourcePerson | None, list[RosterProblem]]:
    problems: list[RosterProblem] = []
    ok = True
    for column, value in raw.items():
        if value.lstrip(" ").startswith(FORMULA_STARTS) and value.strip():
            problems.append(RosterProblem(line, column, FORMULA, value,
                                          f"`{value}` starts with `{value.lstrip(' ')[0]!r}`, which a spreadsheet "
                                          "runs as a formula.",
                                          "remove the leading character (or prefix the cell with a single quote "
                                          "in the spreadsheet and export again)"))
            row[column] = ""
            ok = False
    formula_columns = {p.column for p in problems}
    for column in REQUIRED_VALUES:
        if column in row and not row[column] and column not in formula_columns:
            problems.append(RosterProblem(line, column, MISSING_VALUE, "", f"`{column}` is empty.",
                                          f"fill in `{column}`"))
            ok = False
    email = row.get("email", "")
    if email:
        problem = _email_problem(line, email)
        if problem:
            problems.append(problem)
            ok = False
    start = _date(line, "start_date", row.get("start_date", ""), problems)
    end = _date(line, "end_date", row.get("end_date", ""), problems)
    if start and end and end < start:
        problems.append(RosterProblem(line, "end_date", END_BEFORE_START, row["end_date"],
                                      f"end date {end.isoformat()} is before start date {start.isoformat()}.",
                                      "correct one of the two dates"))
    groups = _split(row.get("groups", ""))
    workspaces = _split(row.get("workspaces", ""))
    if account is not None:
        for group in groups:
            if group.casefold() not in account.groups:
                close = difflib.get_close_matches(group.casefold(), sorted(account.groups), n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else ""
                problems.append(RosterProblem(line, "groups", UNKNOWN_GROUP, group,
                                              f"the account has no group `{group}`{hint}.",
                                              "use an existing group name, or create the group first"))
        for workspace in workspaces:
            if workspace.casefold() not in account.workspaces:
                known = sorted({v for v in account.workspaces.values()})
                problems.append(RosterProblem(line, "workspaces", UNKNOWN_WORKSPACE, workspace,
                                              f"the account has no workspace `{workspace}`.",
                                              f"use a workspace name or id of the account ({', '.join(known)})"))
    if not ok:
        return None, problems
    return _build(row, email, groups, workspaces, start, end, line, as_of), problems


def _build(row: dict[str, str], email: str, groups: tuple[str, ...], workspaces: tuple[str, ...],
           start: date | None, end: date | None, line: int, as_of: date) -> SourcePerson:
    active = (start is None or start <= as_of) and (end is None or as_of <= end)
    return SourcePerson(email=email, display_name=row.get("display_name") or None, active=active,
                        external_id=row.get("employee_id") or None, groups=groups, workspaces=workspaces,
                        start_date=start, end_date=end, line=line)


def _email_problem(line: int, email: str) -> RosterProblem | None:
    foreign = [(i, ch) for i, ch in enumerate(email) if ord(ch) > 127]
    if foreign:
        shown = ", ".join(f"`{ch}` ({unicodedata.name(ch, f'U+{ord(ch):04X}')}) at position {i + 1}"
                          for i, ch in foreign[:3])
        ascii_guess = "".join(unicodedata.normalize("NFKD", ch)[0] if ord(ch) > 127 else ch for ch in email)
        hint = f" (perhaps `{ascii_guess}`)" if ascii_guess.isascii() and ascii_guess != email else ""
        return RosterProblem(line, "email", LOOKALIKE_EMAIL, email,
                             f"{email} contains non-ASCII look-alike characters: {shown}.",
                             f"retype the email in plain ASCII{hint}")
    if not _EMAIL.match(email) or ".." in email:
        return RosterProblem(line, "email", MALFORMED_EMAIL, email, f"`{email}` is not an email address.",
                             "write it as name@domain, e.g. alex@company.com")
    return None


def _date(line: int, column: str, value: str, problems: list[RosterProblem]) -> date | None:
    if not value:
        return None
    try:
        if not _ISO_DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        problems.append(RosterProblem(line, column, BAD_DATE, value, f"`{value}` is not a date.",
                                      "write dates as YYYY-MM-DD, e.g. 2026-12-01"))
        return None


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(SEPARATOR) if part.strip())

"""The HR roster source: the sample roster reads; a corpus with every error kind is refused as a
whole, every problem named by line, column and fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scimkit.errors import InvalidInput
from scimkit.sources.roster import RosterInvalid, read_roster

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "roster.csv"
GROUPS = ["Analysts.NonProd", "Analysts.Prod", "DataEngineers.NonProd", "Finance.Readers", "Software.Backend",
          "Sales.Ops", "Marketing.Interns", "Legal", "HR.Analytics"]
WORKSPACES = {"company-prod": 7000000000000001, "company-dev": 7000000000000002,
              "company-analytics": 7000000000000003}

CORPUS = (
    "email,display_name,groups,workspaces,start_date,end_date,employe_id,team\n"             # line 1
    "alex@company.com,Alex Morgan,Analysts.NonProd,company-dev,2026-11-30,,E1,x\n"          # 2 ok
    "not-an-email,Broken Mail,,,2026-11-30,,E2,x\n"                                          # 3 malformed
    "j\u0430ya@company.com,Jaya Raman,,,2026-11-30,,E3,x\n"                                  # 4 cyrillic a
    "ALEX@company.com,Alex Again,,,2026-11-30,,E4,x\n"                                       # 5 duplicate
    "sam@company.com,Sam,Analysts.Nonprod;Ghosts,company-dev;7000000000000003;mars,2026-11-30,,E5,x\n"  # 6
    "lee@company.com,Lee,,,2026-12-01,2026-11-01,E6,x\n"                                     # 7 end < start
    "kim@company.com,Kim,,,01/12/2026,2026-13-40,E7,x\n"                                     # 8 two bad dates
    "eve@company.com,=HYPERLINK(\"http://x\"),,,2026-11-30,,E8,x\n"                          # 9 formula
    "bob@company.com,Bob,@SUM(A1),,2026-11-30,,E9,x\n"                                       # 10 formula
)


def _problems(exc: RosterInvalid) -> set[tuple[int | None, str | None, str]]:
    return {(p.line, p.column, p.kind) for p in exc.problems}


def test_sample_roster_reads_against_the_account_names() -> None:
    roster = read_roster(SAMPLE, groups=GROUPS, workspaces=WORKSPACES, as_of=date(2026, 12, 1))
    assert roster.kind == "roster" and len(roster.people) == 10
    joiner = roster.person("LENA.HOFFMANN@company.com")
    assert joiner and joiner.active and joiner.groups == ("Analysts.NonProd",) and joiner.external_id == "E10001"
    assert joiner.workspaces == ("company-analytics",) and joiner.line == 2
    leavers = [p.email for p in roster.people if not p.active]
    assert leavers == ["clara.keller@company.com", "adele.fontaine@company.com"]
    assert "lena.hoffmann@company.com" in roster.group("analysts.nonprod").members


def test_a_corpus_with_every_error_kind_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(CORPUS, encoding="utf-8")
    with pytest.raises(RosterInvalid) as caught:
        read_roster(path, groups=GROUPS, workspaces=WORKSPACES, as_of=date(2026, 12, 1))
    exc = caught.value
    assert isinstance(exc, InvalidInput)
    assert _problems(exc) == {
        (1, "employe_id", "unknown_column"), (1, "team", "unknown_column"),
        (3, "email", "malformed_email"), (4, "email", "lookalike_email"), (5, "email", "duplicate_email"),
        (6, "groups", "unknown_group"), (6, "workspaces", "unknown_workspace"),
        (7, "end_date", "end_before_start"), (8, "start_date", "bad_date"), (8, "end_date", "bad_date"),
        (9, "display_name", "formula"), (10, "groups", "formula"),
    }
    text = {str(p) for p in exc.problems}
    assert "line 1, employe_id: unknown column `employe_id` (column 7). Fix: rename it to `employee_id`" in text
    assert ("line 4, email: j\u0430ya@company.com contains non-ASCII look-alike characters: `\u0430` "
            "(CYRILLIC SMALL LETTER A) at position 2. Fix: retype the email in plain ASCII") in text
    assert ("line 5, email: ALEX@company.com is also on line 2 (emails are compared case-insensitively). "
            "Fix: keep one line per person") in text
    assert "line 6, groups: the account has no group `Ghosts`. Fix: use an existing group name, or create the group first" in text
    # Group names match case-insensitively, so a difference in case is no problem.
    assert not any(p.value == "Analysts.Nonprod" for p in exc.problems)
    assert any(p.value == "mars" and "company-analytics, company-dev, company-prod" in p.fix for p in exc.problems)
    assert not any(p.value == "7000000000000003" for p in exc.problems)  # a workspace id is accepted
    assert "line 7, end_date: end date 2026-11-01 is before start date 2026-12-01." in "\n".join(text)
    assert "line 8, start_date: `01/12/2026` is not a date. Fix: write dates as YYYY-MM-DD" in "\n".join(text)
    assert "which a spreadsheet runs as a formula" in "\n".join(text)
    # The message names the first problems and the count; the frame carries all of them.
    assert str(exc).startswith(f"The roster {path} was refused (12 problem(s); nothing was used): line 1, employe_id")
    assert "and 9 more" in str(exc)
    frame = exc.frame()
    assert len(frame) == 12 and list(frame.columns) == ["line", "column", "kind", "value", "problem", "fix"]


@pytest.mark.parametrize("content, expected", [
    ("", "file: the file is empty. Fix: write a header line (email, display_name, groups, workspaces, "
         "start_date, end_date) and one line per person"),
    ("email,display_name,groups,workspaces,start_date,end_date\n",
     "file: the file has a header but no people. Fix: add one line per person below the header"),
    ("email,display_name,groups,start_date\nalex@company.com,Alex,,2026-11-30\n",
     "line 1, workspaces: required column `workspaces` is missing."),
    ("email,display_name,groups,workspaces,start_date,end_date\n,Nobody,,,2026-11-30,\n",
     "line 2, email: `email` is empty. Fix: fill in `email`"),
])
def test_whole_file_problems(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RosterInvalid) as caught:
        read_roster(path)
    assert any(str(p).startswith(expected) for p in caught.value.problems), [str(p) for p in caught.value.problems]


def test_without_account_names_groups_are_not_checked(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("email,display_name,groups,workspaces,start_date,end_date\n"
                    "a@company.com,A,Anything,anywhere,2026-11-30,\n", encoding="utf-8")
    assert read_roster(path).people[0].groups == ("Anything",)

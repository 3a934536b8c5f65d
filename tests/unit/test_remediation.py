"""Remediation texts split into SQL and advice; remediation.sql parses back."""

from __future__ import annotations

import pandas as pd
import pytest

from scimkit import parse_script
from scimkit.errors import InvalidInput
from scimkit.remediation import Remedy, script, split


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("REVOKE MODIFY, SELECT ON TABLE c.s.t FROM `a@x.com`;",
         Remedy(("REVOKE MODIFY, SELECT ON TABLE c.s.t FROM `a@x.com`;",), "", "")),
        ("REVOKE ALL PRIVILEGES ON CATALOG dev FROM `Engineering`; -- then grant only what it needs",
         Remedy(("REVOKE ALL PRIVILEGES ON CATALOG dev FROM `Engineering`;",), "", "Then grant only what it needs")),
        ("If not intended: REVOKE MODIFY ON CATALOG prod FROM `969d34ff`;",
         Remedy(("REVOKE MODIFY ON CATALOG prod FROM `969d34ff`;",), "If not intended", "")),
        ("Remove a@x.com from group G in the identity provider",
         Remedy((), "", "Remove a@x.com from group G in the identity provider")),
        # Two statements, then an alternative in the comment: the alternative stays advice.
        ("GRANT USE CATALOG ON CATALOG d TO `A`; GRANT USE SCHEMA ON SCHEMA d.f TO `A`; -- or, if it is not needed: "
         "REVOKE SELECT ON TABLE d.f.t FROM `A`",
         Remedy(("GRANT USE CATALOG ON CATALOG d TO `A`;", "GRANT USE SCHEMA ON SCHEMA d.f TO `A`;"), "",
                "Or, if it is not needed: REVOKE SELECT ON TABLE d.f.t FROM `A`")),
        ("ALTER TABLE c.s.t OWNER TO `owners` -- the owner of schema c.s",
         Remedy(("ALTER TABLE c.s.t OWNER TO `owners`;",), "", "The owner of schema c.s")),
        # A template with placeholders is not SQL anyone can run.
        ("GRANT <privilege> ON <securable> TO `G`", Remedy((), "", "GRANT <privilege> ON <securable> TO `G`")),
        # `--` and `;` inside a backtick-quoted name belong to the name.
        ("REVOKE SELECT ON TABLE c.s.t FROM `odd--name;x`;",
         Remedy(("REVOKE SELECT ON TABLE c.s.t FROM `odd--name;x`;",), "", "")),
        (None, Remedy((), "", "")),
    ],
)
def test_split_separates_sql_from_advice(text: str | None, expected: Remedy) -> None:
    assert split(text) == expected


def _findings(*rows: tuple[str, str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"rule": r, "severity": s, "title": f"title of {r}", "principal": p, "principal_type": "USER",
                          "securable_type": None, "securable": None, "detail": f"detail\nof {p}", "remediation": m}
                         for r, s, p, m, _ in rows])


def test_script_holds_every_statement_once_and_parses_back() -> None:
    findings = _findings(
        ("rule_a", "high", "a@x.com", "REVOKE SELECT ON TABLE c.s.t FROM `a@x.com`; -- then tell them", ""),
        ("rule_b", "medium", "a@x.com", "If not intended: REVOKE SELECT ON TABLE c.s.t FROM `a@x.com`;", ""),
        ("rule_c", "low", "b@x.com", "Remove b@x.com from group G", ""),
        ("rule_d", "low", "g", "GRANT USE CATALOG ON CATALOG c TO `G`; GRANT USE SCHEMA ON SCHEMA c.s TO `G`;", ""),
    )
    text = script(findings, header=["first line", "second\nline"])
    statements = parse_script(text)
    assert [s.text.strip().rstrip(";") for s in statements] == [
        "REVOKE SELECT ON TABLE c.s.t FROM `a@x.com`",
        "GRANT USE CATALOG ON CATALOG c TO `G`",
        "GRANT USE SCHEMA ON SCHEMA c.s TO `G`",
    ]
    assert text.startswith("-- first line\n-- second line\n")
    assert "-- (statement 1 above)" in text and "-- If not intended: run what follows." in text
    assert "-- Advice: Then tell them" in text
    assert "rule_c" not in text  # prose only: no SQL, no section
    assert "detail of a@x.com" in text  # multi-line details stay inside one comment line


def test_script_without_sql_says_so_and_is_no_runnable_script() -> None:
    text = script(_findings(("rule_c", "low", "b@x.com", "Remove b@x.com from group G", "")))
    assert "No finding has a SQL remediation" in text
    with pytest.raises(InvalidInput, match="no statement"):
        parse_script(text)

"""A finding's remediation, split into the SQL that fixes it and the advice around it, and the
`remediation.sql` script that collects every statement for review.

Rules write one remediation text: SQL (`REVOKE ... FROM ...;`), prose ("Remove X from group Y in
the identity provider"), or both (`If not intended: REVOKE ...;`, `REVOKE ...; -- then grant only
...`). A statement counts as SQL only when `scimkit.parse_script` accepts it, so the script written
here always parses back; anything else stays advice, in words.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import ScimkitError
from .sql_script import parse_script

_STARTER = re.compile(r"^(GRANT|REVOKE|ALTER)\b", re.IGNORECASE)
_CONDITION = re.compile(r"^(?P<condition>[^`;:]{1,80}):\s*(?=(GRANT|REVOKE|ALTER)\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Remedy:
    """`sql`: statements `parse_script` accepts, each ending with ';'. `condition`: when to run them
    ("If not intended"), empty when always. `advice`: the rest, in words."""

    sql: tuple[str, ...]
    condition: str
    advice: str


def _plain(text: str) -> tuple[str, list[int], list[int]]:
    """The characters of `text` outside backtick-quoted names (each backtick opens or closes one),
    joined, with the start of each unquoted run in the plain text and in `text`: str methods then
    search the plain text instead of a Python loop over characters."""
    plain, plain_starts, text_starts, at = [], [], [], 0
    for n, run in enumerate(text.split("`")):
        if n % 2 == 0:  # even runs are outside quotes
            plain_starts.append(sum(len(r) for r in plain))
            text_starts.append(at)
            plain.append(run)
        at += len(run) + 1
    return "".join(plain), plain_starts, text_starts


def _index_in_text(position: int, plain_starts: list[int], text_starts: list[int]) -> int:
    run = bisect.bisect_right(plain_starts, position) - 1
    return text_starts[run] + position - plain_starts[run]


def _split_comment(text: str) -> tuple[str, str]:
    """`code -- comment` -> (code, comment), the `--` looked for outside backticks."""
    plain, plain_starts, text_starts = _plain(text)
    found = plain.find("--")
    if found < 0:
        return text.strip(), ""
    i = _index_in_text(found, plain_starts, text_starts)
    return text[:i].strip(), text[i + 2 :].strip()


def _split_statements(code: str) -> list[str]:
    plain, plain_starts, text_starts = _plain(code)
    cuts, found = [], plain.find(";")
    while found >= 0:
        cuts.append(_index_in_text(found, plain_starts, text_starts))
        found = plain.find(";", found + 1)
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(code[start:cut])
        start = cut + 1
    pieces.append(code[start:])
    return [p.strip() for p in pieces if p.strip()]


def _is_sql(statement: str) -> bool:
    if not _STARTER.match(statement):
        return False
    try:
        parse_script(statement + ";")
    except ScimkitError:
        return False
    return True


def _sentence(text: str) -> str:
    text = text.strip().rstrip(";").strip()
    text = re.sub(r"^then:\s*(\w)", lambda m: "then " + m.group(1).lower(), text, flags=re.IGNORECASE)
    return text[:1].upper() + text[1:] if text else ""


def split(remediation: str | None) -> Remedy:
    """The SQL, the condition and the advice in one remediation text."""
    text = (remediation or "").strip()
    if not text:
        return Remedy((), "", "")
    code, comment = _split_comment(text)
    condition = ""
    match = _CONDITION.match(code)
    if match:
        condition, code = match.group("condition").strip(), code[match.end() :]
    sql, words = [], []
    for piece in _split_statements(code):
        (sql if _is_sql(piece) else words).append(piece)
    if not sql:  # prose only: keep it as written
        return Remedy((), "", text)
    advice = " ".join(_sentence(w) + "." for w in words)
    if comment:
        advice = (advice + " " + _sentence(comment)).strip()
    return Remedy(tuple(s + ";" for s in sql), condition, advice.strip())


def _comment(text: str) -> str:
    return " ".join(str(text).split())  # one line: a newline would end the SQL comment


def script(findings: pd.DataFrame, *, header: Iterable[str] = (),
           label: Callable[[Mapping[str, Any]], str] | None = None) -> str:
    """`remediation.sql`: every SQL statement of `findings` once, most severe first, each under a
    comment naming the finding(s) it fixes and its advice. `header`: comment lines at the top;
    `label(row)`: how a finding is named in the comments (default: principal on securable)."""
    def default_label(row: Mapping[str, Any]) -> str:
        where = " ".join(str(row[c]) for c in ("securable_type", "securable") if row.get(c))
        return f"{row.get('principal') or ''}{' on ' + where if where else ''}".strip() or "(account)"

    name = label or default_label
    lines = [f"-- {_comment(h)}" for h in header]
    seen: dict[str, int] = {}
    count = 0
    for rule_id, rows in findings.groupby("rule", sort=False):
        blocks = []
        for row in rows.to_dict("records"):
            remedy = split(row.get("remediation"))
            if not remedy.sql:
                continue
            block = [f"-- {name(row)}: {_comment(row.get('detail') or '')}"]
            if remedy.condition:
                block.append(f"-- {_comment(remedy.condition)}: run what follows.")
            if remedy.advice:
                block.append(f"-- Advice: {_comment(remedy.advice)}")
            for statement in remedy.sql:
                key = " ".join(statement.split()).lower()
                if key in seen:
                    block.append(f"-- (statement {seen[key]} above) {_comment(statement)}")
                    continue
                count += 1
                seen[key] = count
                block.append(statement)
            blocks.append(block)
        if blocks:
            first = rows.iloc[0]
            lines += ["", f"-- == {first['severity']}: {rule_id} ({first['title']}) =="]
            for block in blocks:
                lines += block
    if not count:
        lines += ["", "-- No finding has a SQL remediation; see the advice in report.html."]
    return "\n".join(lines) + "\n"

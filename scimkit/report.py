"""The compliance report: a self-contained HTML page (CSS inline, charts as embedded PNGs from
matplotlib, no network) rendered from the jinja2 template `scimkit/templates/report.html.j2`, and
`remediation.sql` beside it (every SQL fix, for review; `scimkit.parse_script` accepts it).

The page says first whether the account was read completely and, if not, in words what was not
read; then the summary, the comparison with the previous snapshot (new and no-longer-found
findings), the trend, the riskiest principals, the group x catalog heatmap, and the findings
grouped by rule (sortable; informational rows apart), SQL separate from advice. Principals appear
by name with their id beside them.

`run_report` is the job: snapshot -> findings -> history (complete readings only) -> report.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import remediation
from .errors import InvalidInput

SEVERITIES = ["critical", "high", "medium", "low", "info"]
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
SEVERITY_WEIGHT = {"critical": 10, "high": 5, "medium": 2, "low": 1, "info": 0}
SEVERITY_COLOUR = {"critical": "#7f1d1d", "high": "#c2410c", "medium": "#ca8a04", "low": "#2563eb", "info": "#6b7280"}
TEMPLATE = "report.html.j2"
REMEDIATION_FILE = "remediation.sql"
FINDINGS_FILE = "findings.csv"
# On a large account the page lists at most this many findings per rule (the most severe first, as
# sorted by `compliance.evaluate`); every finding is in findings.csv beside it. Drawing or listing
# tens of thousands of rows makes a page no browser opens quickly and no reviewer reads.
ROWS_PER_RULE = 200
HEATMAP_TOP = 40  # the heatmap draws at most this many groups and this many securables
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)


# -- names ---------------------------------------------------------------------------------------------

def principal_names(*snapshots: Any) -> dict[tuple[str, str], str]:
    """(principal_type, natural key) -> display name, for users and service principals of the given
    snapshots (later ones win). Service principals are keyed by application id, as grants name them."""
    names: dict[tuple[str, str], str] = {}
    for snap in snapshots:
        if snap is None:
            continue
        for table, kind, key in (("users", "USER", "user_name"),
                                 ("service_principals", "SERVICE_PRINCIPAL", "application_id")):
            frame = getattr(snap, table, None)
            if frame is None or frame.empty:
                continue
            for natural, display in zip(frame[key], frame["display_name"], strict=True):
                if display:
                    names[(kind, str(natural))] = str(display)
    return names


def _label(principal: Any, principal_type: Any, names: Mapping[tuple[str, str], str]) -> tuple[str, str]:
    """(name to show, id to show beside it) for one principal."""
    if principal is None or (isinstance(principal, float) and pd.isna(principal)) or principal == "":
        return "", ""
    key = str(principal)
    kind = str(principal_type or "")
    if kind == "UNKNOWN":
        return key, "not a principal of the account"
    display = names.get((kind, key))
    if display is None and kind in ("", "None"):
        display = names.get(("SERVICE_PRINCIPAL", key)) or names.get(("USER", key))
    return (display, key) if display and display != key else (key, "")


def _named_text(text: Any, names: Mapping[tuple[str, str], str]) -> str:
    """`text` with each service principal's application id shown as `name (id)`, unless the text
    already gives the name beside it."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    text = str(text)

    def name(match: re.Match[str]) -> str:
        app_id = match.group(0)
        display = names.get(("SERVICE_PRINCIPAL", app_id))
        before, after = text[: match.start()], text[match.end():]
        if not display or before.endswith(("(", "`")) or after.startswith((")", "`")):
            return app_id
        return f"{display} ({app_id})"

    return _UUID.sub(name, text)


# -- charts --------------------------------------------------------------------------------------------

def _png(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _severity_counts(findings: pd.DataFrame) -> dict[str, int]:
    counts = findings["severity"].value_counts() if len(findings) else pd.Series(dtype=int)
    return {s: int(counts.get(s, 0)) for s in SEVERITIES}


def riskiest_principals(findings: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """Principals ranked by the weighted severity of their findings (informational ones weigh 0)."""
    columns = ["principal", "principal_type", "score", "findings", "rules"]
    if findings.empty:
        return pd.DataFrame(columns=columns)
    scored = findings[findings["principal"].notna() & (findings["principal"] != "")].copy()
    scored["score"] = scored["severity"].map(SEVERITY_WEIGHT).fillna(0).astype(int)
    scored = scored[scored["score"] > 0]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    grouped = scored.groupby(["principal", "principal_type"], dropna=False).agg(
        score=("score", "sum"), findings=("rule", "size"), rules=("rule", lambda r: ", ".join(sorted(set(r)))))
    return grouped.reset_index().sort_values(["score", "findings", "principal"],
                                             ascending=[False, False, True]).head(top)


def _chart_by_rule(findings: pd.DataFrame) -> str | None:
    if findings.empty:
        return None
    import matplotlib.pyplot as plt

    counts = findings.groupby(["rule", "severity"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=[s for s in SEVERITIES if s in counts.columns])
    counts = counts.loc[counts.sum(axis=1).sort_values().index]
    fig, ax = plt.subplots(figsize=(7, 0.34 * len(counts) + 1.3))
    left = pd.Series(0, index=counts.index)
    for severity in counts.columns:
        ax.barh(counts.index, counts[severity], left=left, color=SEVERITY_COLOUR[severity], label=severity)
        left = left + counts[severity]
    for y, total in enumerate(left):
        ax.text(total + 0.15, y, str(int(total)), va="center", fontsize=8)
    ax.set_xlabel("findings")
    ax.set_title("Findings by rule")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False, title="severity")
    return _png(fig)


def _chart_trend(trend: pd.DataFrame | None) -> str | None:
    """Finding counts per severity over time: one line per severity, the legend outside the plot,
    each point labelled with its count."""
    if trend is None or trend.empty or trend["snapshot_time"].nunique() < 2:
        return None
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    pivot = trend.pivot_table(index="snapshot_time", columns="severity", values="count", aggfunc="sum",
                              fill_value=0).sort_index()
    pivot.index = pd.DatetimeIndex(pivot.index).tz_convert("UTC").tz_localize(None)
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for severity in [s for s in SEVERITIES if s in pivot.columns]:
        series = pivot[severity]
        ax.plot(series.index, series.to_numpy(), marker="o", linewidth=2, color=SEVERITY_COLOUR[severity],
                label=severity)
        for x, y in zip(series.index, series.to_numpy(), strict=True):
            ax.annotate(str(int(y)), (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8,
                        color=SEVERITY_COLOUR[severity])
    ax.set_ylabel("findings")
    ax.set_ylim(bottom=0, top=max(1, int(pivot.to_numpy().max())) * 1.2)
    ax.yaxis.get_major_locator().set_params(integer=True)
    span = pivot.index.max() - pivot.index.min()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d" if span >= pd.Timedelta(days=2)
                                                      else "%Y-%m-%d %H:%M"))
    ax.set_xticks(list(pivot.index) if len(pivot) <= 12 else ax.get_xticks())
    pad = max(span * 0.06, pd.Timedelta(minutes=30))
    ax.set_xlim(pivot.index.min() - pad, pivot.index.max() + pad)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Findings per severity at each snapshot (UTC)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False, title="severity")
    fig.autofmt_xdate()
    return _png(fig)


# -- what was not read -----------------------------------------------------------------------------------

def _short_error(error: Any) -> str:
    text = " ".join(str(error or "").split())
    return text.split(" Config: ", 1)[0].rstrip(".") or "no detail"


def describe_gaps(completeness: pd.DataFrame | None) -> list[str]:
    """One sentence per failed read of the `completeness` table, e.g. "The list of groups could not
    be read (a.groups.list): Unauthenticated SCIM_401: Invalid access token"."""
    if completeness is None or completeness.empty:
        return []
    lines = []
    for row in completeness.to_dict("records"):
        kind = str(row.get("object_type") or "object").replace("_", " ")
        name = str(row.get("object_name") or "")
        what = f"The list of {kind}" if name in ("", "*") else f"The {kind} {name}"
        lines.append(f"{what} could not be read ({row.get('operation')}): {_short_error(row.get('error'))}.")
    return lines


def _incomplete_summary(completeness: pd.DataFrame) -> str:
    n = len(completeness)
    kinds = sorted({str(k).replace("_", " ") for k in completeness["object_type"]})
    return f"{n} read{'s' if n != 1 else ''} failed ({', '.join(kinds)})."


# -- the page --------------------------------------------------------------------------------------------

def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("scimkit", "templates"),
                              autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                              trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def _rows(findings: pd.DataFrame, names: Mapping[tuple[str, str], str]) -> list[dict[str, Any]]:
    rows = []
    for f in findings.to_dict("records"):
        remedy = remediation.split(f.get("remediation"))
        shown, ident = _label(f.get("principal"), f.get("principal_type"), names)
        securable = " ".join(str(f[c]) for c in ("securable_type", "securable") if f.get(c))
        rows.append({
            "finding_id": f.get("finding_id") or "", "rule": f["rule"], "title": f.get("title") or f["rule"],
            "severity": f["severity"], "rank": SEVERITY_RANK.get(f["severity"], 9),
            "colour": SEVERITY_COLOUR.get(f["severity"], "#444"),
            "principal_name": shown, "principal_id": ident, "principal_type": f.get("principal_type") or "",
            "securable_label": securable, "detail": _named_text(f.get("detail"), names),
            "advice": _named_text(remedy.advice, names), "condition": remedy.condition, "sql": list(remedy.sql),
        })
    return rows


def _shown(findings: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """The findings the page lists: the first `limit` (ROWS_PER_RULE) of each rule (all of them on a
    small account)."""
    limit = ROWS_PER_RULE if limit is None else limit
    if findings.empty or findings["rule"].value_counts().max() <= limit:
        return findings
    return findings[findings.groupby("rule", sort=False).cumcount().to_numpy() < limit]


def _groups(rows: list[dict[str, Any]], counts: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """Rows by rule; `counts` the number of findings of each rule when `rows` lists only some (`_shown`)."""
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_rule.setdefault(row["rule"], []).append(row)
    counts = counts or {}
    groups = [{"rule": rule, "title": items[0]["title"], "severity": items[0]["severity"], "rank": items[0]["rank"],
               "colour": items[0]["colour"], "count": int(counts.get(rule, len(items))), "rows": items,
               "hidden": int(counts.get(rule, len(items))) - len(items), "findings_file": FINDINGS_FILE}
              for rule, items in by_rule.items()]
    return sorted(groups, key=lambda g: (g["rank"], -g["count"], g["rule"]))


def headline(*, account_id: str, snapshot_time: Any, findings: pd.DataFrame,
             completeness: pd.DataFrame | None) -> str:
    """The report's first line (also the first line of report.html, as a comment)."""
    counts = _severity_counts(findings)
    told = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) or "no findings"
    line = f"scimkit compliance report, account {account_id}, snapshot {pd.Timestamp(snapshot_time).isoformat()}: {told}"
    if completeness is not None and len(completeness):
        return f"INCOMPLETE: {_incomplete_summary(completeness)} {line} (only what was read)"
    return line


def _withheld_rules(findings: pd.DataFrame) -> list[str]:
    """The rules with a `could_not_evaluate` finding (their conclusions are withheld)."""
    if "withheld_rule" not in findings.columns:
        return []
    return sorted({str(r) for r in findings["withheld_rule"] if isinstance(r, str) and r})


def render_html(findings: pd.DataFrame, *, account_id: str, snapshot_time: pd.Timestamp,
                heatmap_png: str | None = None, trend: pd.DataFrame | None = None,
                completeness: pd.DataFrame | None = None, title: str = "scimkit compliance report",
                names: Mapping[tuple[str, str], str] | None = None, comparison: Mapping[str, Any] | None = None,
                withheld: Sequence[str] = (), statement_count: int | None = None) -> str:
    """The HTML page. `comparison`: {"time", "source", "new", "resolved", "unchanged"} with `new` and
    `resolved` findings frames, or None when there was no earlier snapshot. `withheld`: sentences
    naming the conclusions not drawn because of what was not read (shown under "what was not read")."""
    from . import __version__

    names = names or {}
    complete = completeness is None or completeness.empty
    listed = _shown(findings)
    rows = _rows(listed, names)
    groups = _groups(rows, findings["rule"].value_counts().to_dict() if len(findings) else {})
    counts = _severity_counts(findings)
    riskiest = []
    for p in riskiest_principals(findings).to_dict("records"):
        shown, ident = _label(p["principal"], p["principal_type"], names)
        riskiest.append({**p, "principal_name": shown, "principal_id": ident})
    compared = None
    if comparison is not None:
        compared = {"time": pd.Timestamp(comparison["time"]).isoformat(), "source": comparison["source"],
                    "new": _rows(comparison["new"], names), "resolved": _rows(comparison["resolved"], names),
                    "unchanged": int(comparison["unchanged"]), "unread": len(comparison.get("unread", ()))}
    if statement_count is None and len(listed) == len(findings):  # else unknown: not every row was split
        statement_count = sum(len(r["sql"]) for r in rows)
    trend_chart = _chart_trend(trend)
    points = 0 if trend is None or trend.empty else trend["snapshot_time"].nunique()
    trend_note = "" if trend_chart else (
        "One snapshot so far: the trend appears once a second complete snapshot is stored or compared with."
        if points <= 1 else "")
    if not complete:
        trend_note = (trend_note + " This reading is incomplete and is not a point of the trend.").strip()
    context = {
        "title": title, "account_id": account_id, "snapshot_time": pd.Timestamp(snapshot_time).isoformat(),
        "headline": headline(account_id=account_id, snapshot_time=snapshot_time, findings=findings,
                             completeness=completeness).replace("--", "- -"),
        "complete": complete, "incomplete_summary": "" if complete else _incomplete_summary(completeness),
        "not_read": describe_gaps(completeness), "withheld": list(withheld),
        "withheld_rules": _withheld_rules(findings),
        "total": len(findings), "info_total": counts["info"], "actionable_total": len(findings) - counts["info"],
        "counts": [{"severity": s, "count": counts[s], "colour": SEVERITY_COLOUR[s]} for s in SEVERITIES],
        "all_groups": groups, "groups": [g for g in groups if g["severity"] != "info"],
        "info_groups": [g for g in groups if g["severity"] == "info"],
        "by_rule_chart": _chart_by_rule(findings), "trend_chart": trend_chart, "trend_note": trend_note,
        "comparison": compared, "riskiest": riskiest, "heatmap": heatmap_png,
        "completeness": [] if complete else completeness.to_dict("records"),
        "remediation_file": REMEDIATION_FILE, "statement_count": statement_count, "version": __version__,
    }
    return _environment().get_template(TEMPLATE).render(**context)


def write_report(path: str | Path, **kwargs: Any) -> Path:
    """The page at `path`; when it lists only some findings of a rule (`ROWS_PER_RULE`), every finding
    is written to findings.csv beside it, as the page says."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(**kwargs), encoding="utf-8")
    findings = kwargs.get("findings")
    if findings is not None and len(_shown(findings)) < len(findings):
        findings.to_csv(path.parent / FINDINGS_FILE, index=False)
    return path


def remediation_script(findings: pd.DataFrame, *, account_id: str, snapshot_time: Any,
                       completeness: pd.DataFrame | None = None,
                       names: Mapping[tuple[str, str], str] | None = None) -> str:
    """`remediation.sql`: the findings' SQL, most severe first, each statement under comments that
    name its finding (principals by name and id) and its advice. Nothing in it has been run."""
    names = names or {}
    header = [f"scimkit remediation script: account {account_id}, snapshot {pd.Timestamp(snapshot_time).isoformat()}.",
              "Nothing here has been run. Review each statement; to see what it would change:",
              "scimkit.apply_script(account, open('remediation.sql').read(), dry_run=True)"]
    if completeness is not None and len(completeness):
        header = [f"INCOMPLETE snapshot: {_incomplete_summary(completeness)} Fixes cover only what was read.",
                  *header]

    def label(row: Mapping[str, Any]) -> str:
        shown, ident = _label(row.get("principal"), row.get("principal_type"), names)
        who = f"{shown} ({ident})" if ident and ident != "not a principal of the account" else shown
        where = " ".join(str(row[c]) for c in ("securable_type", "securable") if row.get(c))
        return f"{who}{' on ' + where if where else ''}".strip() or "(account)"

    named = findings.assign(detail=[_named_text(t, names) for t in findings["detail"]],
                            remediation=[_named_text(t, names) for t in findings["remediation"]])
    return remediation.script(named, header=header, label=label)


# -- the job: snapshot -> findings -> stored history -> HTML ---------------------------------------

def findings_trend(root: str | Path, extra: Iterable[tuple[Any, pd.DataFrame]] = ()) -> pd.DataFrame:
    """Finding counts per snapshot time and severity, from findings stored under `root` and the
    `(snapshot_time, findings)` pairs in `extra` (a stored time wins over an extra one)."""
    from . import history

    per_time: dict[pd.Timestamp, pd.Series] = {}
    if Path(root).exists():
        for stamp in history.list_snapshot_times(root, table="findings"):
            stored = history.load_tables(root, stamp, tables=["findings"])["findings"]
            per_time[stamp] = stored["severity"].value_counts()
    for stamp, frame in extra:
        per_time.setdefault(pd.Timestamp(stamp), frame["severity"].value_counts())
    rows = [{"snapshot_time": stamp, "severity": severity, "count": int(count)}
            for stamp, counts in sorted(per_time.items()) for severity, count in counts.items()]
    return pd.DataFrame(rows, columns=["snapshot_time", "severity", "count"])


def heatmap_png(snapshot: Any, level: str = "catalog", top: int = HEATMAP_TOP) -> str | None:
    """The effective group x catalog matrix as an embedded PNG (None when no group holds anything).
    A large matrix is drawn for the `top` groups and the `top` securables that hold the most
    privileges (the title says of how many): thousands of labels are neither drawable in seconds
    nor readable; `scimkit.matrix.permission_matrix` gives the whole matrix."""
    from .matrix import permission_matrix, plot_matrix

    matrix = permission_matrix(snapshot, level=level, mode="effective")
    if matrix.empty:
        return None
    title = f"Effective group privileges per {level}"
    groups, securables = matrix.shape
    if groups > top or securables > top:
        matrix = _top_of_matrix(matrix, top)
        title += (f": the {matrix.shape[0]} of {groups:,} groups and {matrix.shape[1]} of {securables:,} "
                  f"{level}s holding the most privileges")
    return _png(plot_matrix(matrix, title=title))


def _top_of_matrix(matrix: pd.DataFrame, top: int) -> pd.DataFrame:
    """The `top` rows and the `top` columns with the most privileges (ties by name)."""
    import numpy as np

    cells = matrix.to_numpy(dtype=object)
    sizes = np.frompyfunc(lambda c: len(str(c).split(", ")) if c else 0, 1, 1)(cells).astype(np.int64)
    rows = pd.Series(sizes.sum(axis=1), index=matrix.index)
    columns = pd.Series(sizes.sum(axis=0), index=matrix.columns)
    keep_rows = sorted(matrix.index, key=lambda g: (-rows[g], str(g)))[:top]
    keep_columns = sorted(matrix.columns, key=lambda c: (-columns[c], str(c)))[:top]
    return matrix.loc[keep_rows, keep_columns]


def _is_usable(root: Path, stamp: pd.Timestamp) -> bool:
    """A stored snapshot can be compared with: every table present, nothing in `completeness`, and
    some rows (a failed reading of the earlier layout was stored empty)."""
    from . import history
    from .schema import TABLES

    if any(stamp not in history.list_snapshot_times(root, name) for name in TABLES):
        return False
    checked = ["completeness", "users", "service_principals", "groups", "workspaces"]
    tables = history.load_tables(root, stamp, tables=checked)
    return not len(tables["completeness"]) and any(len(tables[name]) for name in checked[1:])


def latest_complete_snapshot(root: str | Path, before: Any = None) -> Any:
    """The newest complete snapshot stored under `root` (older than `before` when given), or None."""
    from . import history
    from .snapshot import Snapshot

    root = Path(root)
    if not root.is_dir():
        return None
    times = history.list_snapshot_times(root)
    if before is not None:
        times = [t for t in times if t < pd.Timestamp(before)]
    for stamp in reversed(times):
        if _is_usable(root, stamp):
            return Snapshot.load(root, stamp)
    return None


def _previous_findings(root: Path, before: Any, config: Any) -> pd.DataFrame:
    """The findings of the earlier snapshot: as stored beside it, else evaluated now."""
    from . import compliance, history

    if before.snapshot_time in history.list_snapshot_times(root, table="findings"):
        return history.load_tables(root, before.snapshot_time, tables=["findings"])["findings"]
    return compliance.evaluate(before, config=config)


def _statement_count(script: str) -> int:
    from .errors import ScimkitError
    from .sql_script import parse_script

    try:
        return len(parse_script(script))
    except ScimkitError:  # a script of comments only
        return 0


def compare_findings(current: pd.DataFrame, earlier: pd.DataFrame) -> dict[str, Any]:
    """New (not in `earlier`) and no-longer-found (not in `current`) findings, by finding_id. An
    earlier finding of a rule that could not be evaluated fully now (a `could_not_evaluate` row) is
    `unread`, not resolved: its evidence may only be unread."""
    now, then = set(current["finding_id"]), set(earlier["finding_id"])
    withheld = set(_withheld_rules(current))
    gone = earlier[~earlier["finding_id"].isin(now)]
    unread = gone["rule"].isin(withheld)
    notes = current["rule"] == "could_not_evaluate"
    return {"new": current[~current["finding_id"].isin(then) & ~notes].reset_index(drop=True),
            "resolved": gone[~unread].reset_index(drop=True), "unread": gone[unread].reset_index(drop=True),
            "unchanged": len(now & then)}


def run_report(account: Any, out: str | Path, *, config: Any = None, previous: str | Path | None = None,
               progress: bool = True, withheld: Sequence[str] = ()) -> dict[str, Any]:
    """Snapshot the account, evaluate the rules, and write `out/report.html`, `out/remediation.sql`
    and `out/findings.csv`.

    A complete reading is stored with its findings under `out/history` (hive partitions any tool
    reads); an incomplete one under `out/incomplete` (same layout), never in the history and never
    compared with. The previous snapshot is the newest complete one in `out/history`, else the
    newest complete one under `previous` (a snapshot root; InvalidInput when it holds none).

    Returns snapshot, findings, report, remediation, history, stored (where this reading went),
    complete, not_read and withheld (sentences: what was not read, and the conclusions withheld
    because of it, `compliance.withheld`), headline (the report's first line), previous (its time or None)
    and comparison (new / resolved findings and the unchanged count, or None)."""
    from . import compliance
    from .snapshot import snapshot

    out = Path(out)
    history_root = out / "history"
    given = None
    if previous is not None:
        given = Path(previous)
        if not given.is_dir():
            raise InvalidInput(f"--previous {given} is not a folder.", field="previous", value=str(given),
                               fix="give the root of a saved snapshot (ROOT/<table>/snapshot_time=...)")
    snap = snapshot(account, progress=progress)
    before, source_root = latest_complete_snapshot(history_root, snap.snapshot_time), history_root
    if before is None and given is not None:
        before, source_root = latest_complete_snapshot(given, snap.snapshot_time), given
        if before is None:
            raise InvalidInput(f"--previous {given} holds no complete snapshot older than this one.",
                               field="previous", value=str(given),
                               fix="give the root of a snapshot saved by scimkit (Snapshot.save or `scimkit "
                               "snapshot --out`) whose completeness table is empty")
    findings = compliance.evaluate(snap, config=config, previous=before)
    withheld = [*withheld, *compliance.withheld(findings)]
    stored = history_root if snap.is_complete else out / "incomplete"
    snap.save(stored)
    compliance.save_findings(findings, stored, snap.snapshot_time)

    comparison = None
    extra: list[tuple[Any, pd.DataFrame]] = []
    if before is not None:
        earlier = _previous_findings(source_root, before, config)
        comparison = {"time": before.snapshot_time,
                      "source": "this folder's history" if source_root == history_root else f"--previous {given}",
                      **compare_findings(findings, earlier)}
        extra.append((before.snapshot_time, earlier))
    names = principal_names(before, snap)
    sql = remediation_script(findings, account_id=snap.account_id, snapshot_time=snap.snapshot_time,
                             completeness=snap.completeness, names=names)
    out.mkdir(parents=True, exist_ok=True)
    sql_path = out / REMEDIATION_FILE
    sql_path.write_text(sql, encoding="utf-8")
    path = write_report(out / "report.html", findings=findings, account_id=snap.account_id,
                        snapshot_time=snap.snapshot_time, heatmap_png=heatmap_png(snap),
                        trend=findings_trend(history_root, extra), completeness=snap.completeness,
                        names=names, comparison=comparison, withheld=withheld,
                        statement_count=_statement_count(sql))
    findings.to_csv(out / "findings.csv", index=False)
    return {"snapshot": snap, "findings": findings, "report": path, "remediation": sql_path,
            "history": history_root, "stored": stored, "complete": snap.is_complete,
            "not_read": describe_gaps(snap.completeness), "withheld": withheld,
            "headline": headline(account_id=snap.account_id, snapshot_time=snap.snapshot_time, findings=findings,
                                 completeness=snap.completeness),
            "previous": before.snapshot_time if before is not None else None, "comparison": comparison}

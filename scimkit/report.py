"""A self-contained HTML compliance report: opens with no network (CSS inline, charts as embedded
PNGs from matplotlib). Summary by severity and rule, the trend against earlier snapshots, the
riskiest principals, the group x catalog heatmap, and every finding with its fix.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import pandas as pd

SEVERITIES = ["critical", "high", "medium", "low", "info"]
SEVERITY_WEIGHT = {"critical": 10, "high": 5, "medium": 2, "low": 1, "info": 0}
SEVERITY_COLOUR = {"critical": "#7f1d1d", "high": "#c2410c", "medium": "#ca8a04", "low": "#2563eb", "info": "#6b7280"}

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#111;max-width:1400px}
h1{margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;margin-bottom:16px}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border-radius:8px;padding:12px 18px;color:#fff;min-width:110px}
.card .n{font-size:28px;font-weight:700}.card .l{font-size:13px;text-transform:uppercase;letter-spacing:.05em}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{border:1px solid #ddd;padding:4px 6px;
text-align:left;vertical-align:top;overflow-wrap:break-word}th{background:#f3f4f6;position:sticky;top:0}
td.sev{font-weight:600;color:#fff}code{font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
table.findings{table-layout:fixed}table.findings th:nth-child(1){width:64px}table.findings th:nth-child(2){width:170px}
table.findings th:nth-child(3){width:190px}table.findings th:nth-child(4){width:110px}
table.findings th:nth-child(5){width:90px}table.findings th:nth-child(6){width:190px}
.warn{background:#fef3c7;border:1px solid #f59e0b;padding:8px 12px;border-radius:6px}
img{max-width:100%}.two{display:grid;grid-template-columns:1fr 1fr;gap:24px}
"""


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
    """Principals ranked by the weighted severity of their findings."""
    if findings.empty:
        return pd.DataFrame(columns=["principal", "principal_type", "score", "findings", "rules"])
    scored = findings[findings["principal"].notna() & (findings["principal"] != "")].copy()
    scored["score"] = scored["severity"].map(SEVERITY_WEIGHT).fillna(0)
    grouped = scored.groupby(["principal", "principal_type"], dropna=False).agg(
        score=("score", "sum"), findings=("rule", "size"), rules=("rule", lambda r: ", ".join(sorted(set(r)))))
    return grouped.reset_index().sort_values(["score", "findings", "principal"], ascending=[False, False, True]).head(top)


def _chart_by_rule(findings: pd.DataFrame) -> str | None:
    if findings.empty:
        return None
    import matplotlib.pyplot as plt

    counts = findings.groupby(["rule", "severity"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=[s for s in SEVERITIES if s in counts.columns])
    counts = counts.loc[counts.sum(axis=1).sort_values().index]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(counts) + 1.2))
    left = pd.Series(0, index=counts.index)
    for severity in counts.columns:
        ax.barh(counts.index, counts[severity], left=left, color=SEVERITY_COLOUR[severity], label=severity)
        left = left + counts[severity]
    ax.set_xlabel("findings")
    ax.set_title("Findings by rule")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _chart_trend(trend: pd.DataFrame) -> str | None:
    if trend is None or trend.empty or trend["snapshot_time"].nunique() < 2:
        return None
    import matplotlib.pyplot as plt

    pivot = trend.pivot_table(index="snapshot_time", columns="severity", values="count", aggfunc="sum", fill_value=0)
    fig, ax = plt.subplots(figsize=(7, 3))
    for severity in [s for s in SEVERITIES if s in pivot.columns]:
        ax.plot(pivot.index, pivot[severity], marker="o", color=SEVERITY_COLOUR[severity], label=severity)
    ax.set_ylabel("findings")
    ax.set_title("Findings over time")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _png(fig)


def _table(frame: pd.DataFrame, columns: list[str], severity_column: str | None = None,
           css_class: str = "") -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for record in frame[columns].itertuples(index=False):
        cells = []
        for name, value in zip(columns, record, strict=True):
            text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
            if name == severity_column:
                colour = SEVERITY_COLOUR.get(text, "#444")
                cells.append(f'<td class="sev" style="background:{colour}">{html.escape(text)}</td>')
            elif name == "remediation":
                cells.append(f"<td><code>{html.escape(text)}</code></td>")
            else:
                cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    opening = f'<table class="{css_class}">' if css_class else "<table>"
    return f"{opening}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(findings: pd.DataFrame, *, account_id: str, snapshot_time: pd.Timestamp,
                heatmap_png: str | None = None, trend: pd.DataFrame | None = None,
                completeness: pd.DataFrame | None = None, title: str = "scimkit compliance report") -> str:
    counts = _severity_counts(findings)
    cards = "".join(f'<div class="card" style="background:{SEVERITY_COLOUR[s]}"><div class="n">{counts[s]}</div>'
                    f'<div class="l">{s}</div></div>' for s in SEVERITIES)
    by_rule = (findings.groupby(["rule", "severity", "title"]).size().reset_index(name="findings")
               if len(findings) else pd.DataFrame(columns=["rule", "severity", "title", "findings"]))
    by_rule["order"] = by_rule["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    by_rule = by_rule.sort_values(["order", "findings"], ascending=[True, False])
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<div class='meta'>Account <b>{html.escape(account_id)}</b> &middot; snapshot "
             f"{html.escape(pd.Timestamp(snapshot_time).isoformat())} &middot; {len(findings)} findings</div>"]
    if completeness is not None and len(completeness):
        parts.append(f"<p class='warn'>This snapshot is incomplete: {len(completeness)} reads failed after "
                     "retries (see the completeness table at the end). Findings may be missing.</p>")
    parts += ["<h2>Summary</h2>", f"<div class='cards'>{cards}</div>", "<div class='two'><div>",
              _table(by_rule, ["rule", "severity", "title", "findings"], "severity"), "</div><div>"]
    rule_chart = _chart_by_rule(findings)
    if rule_chart:
        parts.append(f"<img alt='findings by rule' src='{rule_chart}'>")
    parts.append("</div></div>")
    trend_chart = _chart_trend(trend) if trend is not None else None
    parts.append("<h2>Trend</h2>")
    parts.append(f"<img alt='trend' src='{trend_chart}'>" if trend_chart else
                 "<p>Only one snapshot so far: the trend appears from the second run on.</p>")
    parts += ["<h2>Riskiest principals</h2>",
              _table(riskiest_principals(findings), ["principal", "principal_type", "score", "findings", "rules"])]
    if heatmap_png:
        parts += ["<h2>Group permissions by catalog (effective)</h2>", f"<img alt='heatmap' src='{heatmap_png}'>"]
    ordered = findings.assign(_o=findings["severity"].map({s: i for i, s in enumerate(SEVERITIES)})).sort_values(
        ["_o", "rule", "principal", "securable"], na_position="last") if len(findings) else findings
    parts += ["<h2>Findings</h2>", _table(ordered, ["severity", "rule", "principal", "principal_type",
                                                    "securable_type", "securable", "detail", "remediation"],
                                          "severity", css_class="findings")]
    if completeness is not None and len(completeness):
        parts += ["<h2>Completeness</h2>", _table(completeness, ["object_type", "object_name", "operation", "error"])]
    parts.append("<p class='meta'>Generated by scimkit. Remediations are suggestions: review before running.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str | Path, **kwargs: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(**kwargs), encoding="utf-8")
    return path


# -- the job: snapshot -> findings -> stored history -> HTML ---------------------------------------

def findings_trend(root: str | Path) -> pd.DataFrame:
    """Finding counts per snapshot time and severity, from findings stored under `root`."""
    from . import history

    rows = []
    for stamp in history.list_snapshot_times(root, table="findings"):
        stored = history.load_tables(root, stamp, tables=["findings"])["findings"]
        for severity, count in stored["severity"].value_counts().items():
            rows.append({"snapshot_time": stamp, "severity": severity, "count": int(count)})
    return pd.DataFrame(rows, columns=["snapshot_time", "severity", "count"])


def heatmap_png(snapshot: Any, level: str = "catalog") -> str | None:
    """The effective group x catalog matrix as an embedded PNG (None when no group holds anything)."""
    from .matrix import permission_matrix, plot_matrix

    matrix = permission_matrix(snapshot, level=level, mode="effective")
    if matrix.empty:
        return None
    return _png(plot_matrix(matrix, title=f"Effective group privileges per {level}"))


def run_report(account: Any, out: str | Path, *, config: Any = None, previous: str | Path | None = None,
               progress: bool = True) -> dict[str, Any]:
    """Snapshot the account, evaluate the rules, store snapshot and findings under `out/history`,
    and write `out/report.html`. The previous snapshot is the latest one already in `out/history`,
    else the one stored under `previous` (a snapshot root)."""
    from . import compliance, history
    from .snapshot import Snapshot, snapshot

    out = Path(out)
    history_root = out / "history"
    snap = snapshot(account, progress=progress)
    earlier = [t for t in history.list_snapshot_times(history_root)
               if t < snap.snapshot_time] if history_root.exists() else []
    before = None
    if earlier:
        before = Snapshot.load(history_root, earlier[-1])
    elif previous is not None and Path(previous).exists():
        before = Snapshot.load(previous)
    findings = compliance.evaluate(snap, config=config, previous=before)
    snap.save(history_root)
    compliance.save_findings(findings, history_root, snap.snapshot_time)
    path = write_report(out / "report.html", findings=findings, account_id=snap.account_id,
                        snapshot_time=snap.snapshot_time, heatmap_png=heatmap_png(snap),
                        trend=findings_trend(history_root), completeness=snap.completeness)
    findings.to_csv(out / "findings.csv", index=False)
    return {"snapshot": snap, "findings": findings, "report": path, "history": history_root,
            "previous": before.snapshot_time if before is not None else None}

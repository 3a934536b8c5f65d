"""The notebooks run end to end (papermill) against the embedded emulator, and what they computed is
read back from the values they record (`scimkit.notebook.record`), not only that they ran."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import nbformat
import papermill
import pytest

from scimkit.notebook import recorded

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = json.loads((ROOT / "sample_data" / "expected_findings.json").read_text())


@pytest.fixture(autouse=True)
def kernel_imports_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel is a separate process: point it at the code under test."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


def run(name: str, tmp_path: Path, **parameters: object):  # noqa: ANN201 - an executed notebook
    return papermill.execute_notebook(
        str(NOTEBOOKS / name), str(tmp_path / name), parameters=parameters, cwd=str(NOTEBOOKS),
        kernel_name="python3", progress_bar=False, execution_timeout=600,
    )


def outputs(notebook) -> str:  # noqa: ANN001
    text = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text.append(str(output.get("text", "")))
            text.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(text)


def first_output_line(notebook) -> str:  # noqa: ANN001
    return outputs(notebook).strip().splitlines()[0]


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(str(path), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs"


def test_compliance_report_notebook_records_findings_and_builds_a_trend(tmp_path: Path) -> None:
    out = tmp_path / "out"
    executed = run("compliance_report.ipynb", tmp_path, out=str(out))
    assert first_output_line(executed).startswith("scimkit reads account 6f1c2a9e-3b7d-4c52-9a1e-5c1a1c0de001 at "
                                                  "http://127.0.0.1:")
    first = recorded(executed)
    assert (out / "report.html").is_file()
    expected = collections.Counter(f["severity"] for f in EXPECTED)
    assert first["findings_by_severity"] == {s: expected.get(s, 0) for s in ("critical", "high", "medium", "low", "info")}
    assert first["findings"] == len(EXPECTED)
    assert first["trend_snapshots"] == 1

    second = run("compliance_report.ipynb", tmp_path, out=str(out))  # a second run: two stored snapshots
    values = recorded(second)
    assert values["trend_snapshots"] == 2
    images = [o for c in second.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the trend is drawn once two snapshots are stored"


def test_compliance_report_notebook_fails_the_job_after_writing_the_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        run("compliance_report.ipynb", tmp_path, out=str(out), fail_on="high")
    assert failure.value.ename == "FindingsAtThreshold"
    assert "findings at or above 'high' exist (8 high" in failure.value.evalue
    assert (out / "report.html").is_file(), "the report is written before the job fails"
    # papermill keeps the executed notebook: the values were recorded before the failure
    assert recorded(tmp_path / "compliance_report.ipynb")["findings_by_severity"]["high"] == 8


def test_group_permission_matrix_notebook_records_the_matrix_and_the_exploration(tmp_path: Path) -> None:
    executed = run("group_permission_matrix.ipynb", tmp_path, level="schema", catalog="datalake",
                   explore_group="Analysts.NonProd", explore_securable="TABLE datalake.finance.transactions")
    values = recorded(executed)
    rows, columns = values["matrix_shape"]
    assert rows > 0 and columns > 0
    text = outputs(executed)
    assert first_output_line(executed).startswith("scimkit reads account ") and "sample company" in text
    assert "datalake.finance" in text and "Analysts.NonProd" in text
    images = [o for c in executed.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the heatmap is drawn"
    widgets = [o for c in executed.cells for o in c.get("outputs", [])
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets, "the explorer is an ipywidgets panel"

    group = values["group_reach"]
    assert group["group"] == "Analysts.NonProd" and group["routes"] > 0
    assert group["not_usable"] > 0  # SELECT on datalake.finance without USE CATALOG / USE SCHEMA
    securable = values["securable_reach"]
    assert "Analysts.NonProd" in securable["not_usable"]
    assert securable["principals"] >= 3


AS_OF = json.loads((ROOT / "sample_data" / "manifest.json").read_text())["drift"]["roster_as_of"]


def test_onboarding_notebook_applies_the_sample_roster_as_a_job(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    executed = run("onboarding.ipynb", tmp_path, today=AS_OF, journal=str(journal), APPLY=True)
    values = recorded(executed)
    assert first_output_line(executed).startswith("scimkit reads account ") and "sample company" in outputs(executed)
    # manifest planted_roster: 3 joiners (created, added, assigned), 2 movers (add + remove), 2 leavers,
    # and 2 people whose roster workspaces they do not reach yet (javier.muller, david.sorensen)
    assert values["plan_kinds"] == {"create_user": 3, "add_to_group": 4, "remove_from_group": 3,
                                    "assign_workspace": 5, "deactivate": 2}
    assert values["plan_size"] == 17 and values["problems"] == 0
    assert values["applied"] == 17
    assert values["journal_records"] == 34  # before and after each change
    after = [json.loads(line) for line in journal.read_text().splitlines() if '"after"' in line]
    assert sorted({r["outcome"] for r in after}) == ["applied"] and len(after) == 17


def test_onboarding_notebook_shows_a_bad_roster_as_a_table_and_fails_the_job(tmp_path: Path) -> None:
    bad = tmp_path / "roster.csv"
    bad.write_text("email,display_name,groups,workspaces,start_date,end_date\n"
                   "new.person@company,New Person,Analysts.NonProd,,2026-11-30,\n"
                   "other.person@company.com,Other Person,Analysts.NonPrd,company-analytics,2026-13-01,\n")
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        run("onboarding.ipynb", tmp_path, roster=str(bad), journal=str(tmp_path / "j.jsonl"), APPLY=True)
    assert failure.value.ename == "InvalidInput" and "3 problem(s) in the input" in failure.value.evalue
    executed = nbformat.read(str(tmp_path / "onboarding.ipynb"), as_version=4)
    values = recorded(executed)
    assert values["problems"] == 3 and values["plan_size"] == 0 and values["applied"] == 0
    html = "\n".join(str(o.get("data", {}).get("text/html", "")) for c in executed.cells for o in c.get("outputs", []))
    for kind in ("malformed_email", "unknown_group", "bad_date"):
        assert kind in html, f"the problems table lists {kind}"
    assert not (tmp_path / "j.jsonl").exists()


def test_offboarding_notebook_applies_the_roster_leavers(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    executed = run("offboarding.ipynb", tmp_path, today=AS_OF, fallback_owner="Platform.Admins",
                   journal=str(journal), APPLY=True)
    values = recorded(executed)
    assert values["leavers"] == ["adele.fontaine@company.com", "clara.keller@company.com"]
    assert values["holdings"] == {"member of": 2, "owns": 1}
    # two memberships removed, one securable handed over, two deactivations
    assert values["plan_size"] == 5 and values["problems"] == 0
    assert values["applied"] == 5 and values["journal_records"] == 10


def test_drift_notebook_charts_drift_by_cause_and_makes_databricks_match(tmp_path: Path) -> None:
    executed = run("drift.ipynb", tmp_path, journal=str(tmp_path / "journal.jsonl"), APPLY=True)
    values = recorded(executed)
    planted = json.loads((ROOT / "sample_data" / "manifest.json").read_text())["drift"]["planted_entra"]
    assert values["drift_rows"] == 9  # the planted Entra drift: 7 kinds, two of them with two users
    assert values["drift_by_cause"] == {"deleted in the console": 1, "disabled but still active": 1,
                                        "nested group not flattened": 2, "not assigned to the application": 1,
                                        "renamed": 1, "sync pending": 3}
    assert len(planted) == 7
    images = [o for c in executed.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the bar chart of drift by kind is drawn"
    # the fixes that are Databricks': re-create the user deleted in the console, deactivate the disabled one
    assert values["plan_size"] == 2 and values["applied"] == 2 and values["journal_records"] == 4
    assert values["drift_left_of_chosen"] == 0  # drift read again: none of the chosen kinds left to fix here

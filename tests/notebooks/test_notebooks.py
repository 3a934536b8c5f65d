"""The notebooks run end to end (papermill) against the embedded emulator."""

from __future__ import annotations

from pathlib import Path

import papermill
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


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


def test_compliance_report_notebook(tmp_path: Path) -> None:
    executed = run("compliance_report.ipynb", tmp_path, out=str(tmp_path / "out"))
    assert (tmp_path / "out" / "report.html").is_file()
    text = outputs(executed)
    assert "granted_not_usable" in text and "access_widened" in text
    assert first_output_line(executed).startswith("scimkit reads account 6f1c2a9e-3b7d-4c52-9a1e-5c1a1c0de001 at "
                                                  "http://127.0.0.1:")


def test_compliance_report_notebook_fails_the_job_on_findings(tmp_path: Path) -> None:
    with pytest.raises(papermill.PapermillExecutionError, match="findings at or above 'high' exist"):
        run("compliance_report.ipynb", tmp_path, out=str(tmp_path / "out"), fail_on="high")


def test_group_permission_matrix_notebook(tmp_path: Path) -> None:
    executed = run("group_permission_matrix.ipynb", tmp_path, level="schema", catalog="datalake")
    text = outputs(executed)
    assert first_output_line(executed).startswith("scimkit reads account ") and "sample company" in text
    assert "datalake.finance" in text and "Analysts.NonProd" in text
    images = [o for c in executed.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the heatmap is drawn"

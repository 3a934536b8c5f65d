"""The Databricks Asset Bundle, checked as far as it can be without `databricks bundle validate`
(no workspace here): every task's notebook exists, every job parameter is a parameter of its
notebook, every wheel task names this package's real entry point with arguments its CLI accepts,
every `${var.x}` is declared, and the two scheduled jobs are the weekly report and the daily drift."""

from __future__ import annotations

import ast
import glob
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from scimkit.cli import build_parser

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (DBR 14.3 LTS)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = yaml.safe_load((ROOT / "databricks.yml").read_text())
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _resources() -> list[tuple[Path, dict[str, Any]]]:
    files = sorted({Path(f) for pattern in BUNDLE["include"] for f in glob.glob(str(ROOT / pattern))})
    assert files, "the bundle includes resource files"
    return [(f, yaml.safe_load(f.read_text())) for f in files]


def _jobs() -> list[tuple[Path, str, dict[str, Any]]]:
    return [(f, name, job) for f, doc in _resources() for name, job in doc["resources"]["jobs"].items()]


def notebook_parameters(path: Path) -> set[str]:
    """The names assigned in the notebook's cell tagged `parameters` (what papermill and widgets set)."""
    notebook = nbformat.read(str(path), as_version=4)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name} has one parameters cell"
    tree = ast.parse(cells[0].source)
    return {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}


JOBS = _jobs()
IDS = [name for _, name, _ in JOBS]


def test_the_bundle_schedules_a_weekly_report_and_a_daily_drift_check() -> None:
    schedules = {name: job["schedule"]["quartz_cron_expression"] for _, name, job in JOBS if "schedule" in job}
    assert set(schedules) == {"scimkit_weekly_compliance_report", "scimkit_daily_drift_check"}
    # quartz: seconds minutes hours day-of-month month day-of-week
    assert schedules["scimkit_weekly_compliance_report"].split()[5] in ("MON", "1", "2")
    daily = schedules["scimkit_daily_drift_check"].split()
    assert daily[3] in ("*", "?") and daily[5] in ("*", "?")
    report = dict(JOBS[IDS.index("scimkit_weekly_compliance_report")][2])
    names = {p["name"] for p in report["parameters"]}
    assert {"fail_on", "output_schema"} <= names  # the severity threshold and the output schema


@pytest.mark.parametrize(("path", "name", "job"), JOBS, ids=IDS)
def test_notebook_tasks_exist_and_take_every_job_parameter(path: Path, name: str, job: dict[str, Any]) -> None:
    parameters = {p["name"] for p in job.get("parameters", [])}
    clusters = {c["job_cluster_key"] for c in job.get("job_clusters", [])}
    for task in job["tasks"]:
        if "job_cluster_key" in task:
            assert task["job_cluster_key"] in clusters, f"{name}.{task['task_key']}: no such job cluster"
        notebook_task = task.get("notebook_task")
        if notebook_task is None:
            continue
        notebook = (path.parent / notebook_task["notebook_path"]).resolve()
        assert notebook.is_file(), f"{name}.{task['task_key']}: {notebook_task['notebook_path']} does not exist"
        accepted = notebook_parameters(notebook)
        given = parameters | set(notebook_task.get("base_parameters", {}))
        assert given <= accepted, f"{name}: {sorted(given - accepted)} are not parameters of {notebook.name}"


@pytest.mark.parametrize(("path", "name", "job"), JOBS, ids=IDS)
def test_wheel_tasks_name_a_real_entry_point_with_arguments_the_cli_accepts(path: Path, name: str,
                                                                             job: dict[str, Any]) -> None:
    defaults = {p["name"]: str(p.get("default", "")) for p in job.get("parameters", [])}
    for task in job["tasks"]:
        wheel = task.get("python_wheel_task")
        if wheel is None:
            continue
        assert wheel["package_name"] == PROJECT["name"]
        assert wheel["entry_point"] in PROJECT["scripts"], f"{name}: no entry point {wheel['entry_point']}"
        arguments = []
        for argument in wheel.get("parameters", []):
            for ref in re.findall(r"\{\{job\.parameters\.([\w-]+)\}\}", argument):
                assert ref in defaults, f"{name}: {{{{job.parameters.{ref}}}}} is not a job parameter"
            arguments.append(re.sub(r"\{\{job\.parameters\.([\w-]+)\}\}", lambda m: defaults[m.group(1)], argument))
        build_parser().parse_args(arguments)  # SystemExit (a usage error) fails the test
        libraries = [lib["whl"] for lib in task.get("libraries", []) if "whl" in lib]
        assert libraries, f"{name}.{task['task_key']}: the wheel is installed on the task's cluster"


def test_every_library_is_the_wheel_the_bundle_builds_and_every_variable_is_declared() -> None:
    artifact = BUNDLE["artifacts"]["scimkit_wheel"]
    assert artifact["type"] == "whl" and (ROOT / artifact["path"] / "pyproject.toml").is_file()
    out_dir = re.search(r"--wheel-dir (\S+)", artifact["build"]).group(1)
    declared = set(BUNDLE["variables"])
    texts = [(ROOT / "databricks.yml").read_text()] + [f.read_text() for f, _ in _resources()]
    used = {v for text in texts for v in re.findall(r"\$\{var\.([\w-]+)\}", text)}
    assert used <= declared, f"undeclared variables: {sorted(used - declared)}"
    for path, name, job in JOBS:
        for task in job["tasks"]:
            for library in task.get("libraries", []):
                wheel = (path.parent / library["whl"]).resolve()
                assert wheel.parent == (ROOT / out_dir).resolve() and wheel.name.endswith(".whl"), name

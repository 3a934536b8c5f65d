"""Notebook helpers: parameters that work the same under papermill, in Jupyter and in a
Databricks notebook (where widgets override them), and a `show` that uses Databricks' `display`
when it exists.

    # parameters cell (papermill injects values after it)
    use_emulator = "auto"   # auto: the sample account only where no Databricks runtime is present
    severity_threshold = "high"

    params = scimkit.notebook.parameters(use_emulator=use_emulator, severity_threshold=severity_threshold)
    account = scimkit.notebook.connect(params["use_emulator"])   # prints which account it reads

In a Databricks workspace a job that forgets the parameter reads the configured account, never the
fictional sample company.
"""

from __future__ import annotations

import os
from typing import Any


def in_databricks() -> bool:
    return bool(os.environ.get("DATABRICKS_RUNTIME_VERSION"))


def wants_emulator(use_emulator: Any = "auto") -> bool:
    """`use_emulator` as a notebook parameter: True/False (or "true"/"false"/"1"/"0"), or "auto"
    (also "" or None): the emulator only where no Databricks runtime is present."""
    if isinstance(use_emulator, bool):
        return use_emulator
    text = "" if use_emulator is None else str(use_emulator).strip().lower()
    if text in ("", "auto"):
        return not in_databricks()
    if text in ("true", "1", "yes", "y"):
        return True
    if text in ("false", "0", "no", "n"):
        return False
    from .errors import ConfigurationError

    raise ConfigurationError(f"use_emulator={use_emulator!r} is not auto, true or false. Fix: set the "
                             "use_emulator parameter (widget) to auto, true or false")


def connect(use_emulator: Any = "auto", **kwargs: Any) -> Any:
    """`scimkit.connect` for notebooks: the emulator as `wants_emulator` decides, and one printed line
    saying which account is read, so every run's first line of output names it."""
    from .connect import connect as connect_account

    account = connect_account(emulator=wants_emulator(use_emulator), **kwargs)
    sample = ": the emulator's sample company, not a real account" if account.source == "emulator" else ""
    print(f"scimkit reads account {account.account_id} at {account.host} ({account.source}{sample})", flush=True)
    return account


def _dbutils() -> Any:
    try:
        import IPython

        shell = IPython.get_ipython()
        return shell.user_ns.get("dbutils") if shell is not None else None
    except Exception:  # noqa: BLE001 - outside IPython there are no widgets
        return None


def _convert(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in ("true", "1", "yes", "y")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def parameters(**defaults: Any) -> dict[str, Any]:
    """The notebook's parameters: the given values, overridden by Databricks widgets of the same
    name when running in a workspace (the widgets are created with these values as defaults)."""
    values = dict(defaults)
    dbutils = _dbutils() if in_databricks() else None
    if dbutils is None:
        return values
    for name, default in defaults.items():
        text = "" if default is None else str(default)
        try:
            dbutils.widgets.text(name, text)
            values[name] = _convert(dbutils.widgets.get(name), default)
        except Exception:  # noqa: BLE001 - a widget that cannot be read keeps the default
            values[name] = default
    return values


def show(obj: Any, limit: int = 200) -> Any:
    """Databricks `display` when available, else the object itself (rendered by Jupyter)."""
    try:
        import IPython

        shell = IPython.get_ipython()
        display = shell.user_ns.get("display") if shell is not None else None
    except Exception:  # noqa: BLE001
        display = None
    if in_databricks() and display is not None:
        return display(obj)
    if hasattr(obj, "head") and hasattr(obj, "__len__") and len(obj) > limit:
        return obj.head(limit)
    return obj


# -- recorded values (scrapbook-style glue) -------------------------------------------------------

RECORD_MIMETYPE = "application/vnd.scimkit.record+json"
_recorded: dict[str, Any] = {}


def _jsonable(value: Any) -> Any:
    """Plain JSON for what notebooks record: numbers, text, lists, dicts; pandas and numpy values
    become their Python equivalents (a DataFrame: a list of row dicts; a Series: a dict)."""
    import json

    import numpy as np
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        value = value.astype(object).where(value.notna(), None).to_dict(orient="records")
    elif isinstance(value, pd.Series):
        value = {str(k): v for k, v in value.astype(object).where(value.notna(), None).items()}
    elif isinstance(value, tuple):
        value = list(value)

    def default(obj: Any) -> Any:
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, (pd.Timestamp,)):
            return obj.isoformat()
        if obj is pd.NA:
            return None
        raise TypeError(f"record() takes JSON-like values, not {type(obj).__name__}")

    return json.loads(json.dumps(value, default=default))


def record(name: str, value: Any) -> Any:
    """Keep `value` under `name` in the executed notebook's outputs (an output of its own mimetype,
    which front ends do not render), so a test or a scheduler can read it back with `recorded`.
    Returns the JSON form of the value."""
    data = _jsonable(value)
    _recorded[name] = data
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display({RECORD_MIMETYPE: {"name": name, "value": data}}, raw=True)
    except ImportError:  # pragma: no cover - IPython ships with ipywidgets
        pass
    return data


def recorded(notebook: Any) -> dict[str, Any]:
    """The values a notebook recorded, by name (the last one wins), from an executed notebook: a
    path to an .ipynb or a notebook node (as papermill returns it)."""
    if isinstance(notebook, (str, os.PathLike)):
        import nbformat

        notebook = nbformat.read(os.fspath(notebook), as_version=4)
    out: dict[str, Any] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(RECORD_MIMETYPE)
            if payload is not None:
                out[payload["name"]] = payload["value"]
    return out


# -- the compliance job's exit ---------------------------------------------------------------------


def fail_on_findings(findings: Any, threshold: str, report: Any = None) -> None:
    """Raise FindingsAtThreshold when findings at or above `threshold` exist ("never": do nothing),
    so the notebook exits non-zero for a scheduler. Call it last, after the report is written."""
    from . import compliance
    from .errors import FindingsAtThreshold

    if str(threshold).lower() == "never" or not compliance.exceeds(findings, threshold):
        return
    counts = findings["severity"].value_counts()
    order = ["critical", "high", "medium", "low", "info"]
    raise FindingsAtThreshold(threshold, {s: int(counts.get(s, 0)) for s in order}, report)


def findings_by_severity(findings: Any) -> dict[str, int]:
    """Counts per severity, every severity present (zeros included), worst first."""
    counts = findings["severity"].value_counts() if len(findings) else {}
    return {s: int(counts.get(s, 0)) for s in ("critical", "high", "medium", "low", "info")}


def findings_trend(root: Any) -> Any:
    """Finding counts per stored snapshot (rows) and severity (columns), oldest first, from the
    findings stored under `root` (a folder or a scimkit.history backend)."""
    import pandas as pd

    from . import history

    severities = ["critical", "high", "medium", "low", "info"]
    rows = {}
    for stamp in history.list_snapshot_times(root, table="findings"):
        stored = history.load_tables(root, stamp, tables=["findings"])["findings"]
        counts = stored["severity"].value_counts()
        rows[stamp] = {s: int(counts.get(s, 0)) for s in severities}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=severities)
    frame.index.name = "snapshot_time"
    return frame.astype("int64")


def plot_trend(trend: Any) -> Any:
    """A line per severity over the stored snapshots; None (and a sentence) with fewer than two."""
    if len(trend) < 2:
        print(f"{len(trend)} snapshot(s) stored: the trend appears from the second run on.")
        return None
    import matplotlib.pyplot as plt

    colours = {"critical": "#7f1d1d", "high": "#c2410c", "medium": "#ca8a04", "low": "#2563eb", "info": "#6b7280"}
    fig, ax = plt.subplots(figsize=(8, 3))
    for severity in trend.columns:
        ax.plot(trend.index, trend[severity], marker="o", label=severity, color=colours.get(severity))
    ax.set_ylabel("findings")
    ax.set_title(f"Findings over {len(trend)} stored snapshots")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    plt.close(fig)  # shown once, as the cell's value (not again by the inline backend)
    return fig


# -- Delta tables in a catalog.schema (Databricks) ------------------------------------------------


def spark_session() -> Any:
    """The notebook's Spark session (`spark` on Databricks), else an active local one, else None."""
    try:
        import IPython

        shell = IPython.get_ipython()
        if shell is not None and shell.user_ns.get("spark") is not None:
            return shell.user_ns["spark"]
    except ImportError:  # pragma: no cover - IPython ships with ipywidgets
        pass
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()


def schema_backend(output_schema: str, spark: Any = None, table_format: str = "delta") -> Any:
    """A history backend writing Delta tables in `output_schema` (catalog.schema) through Spark;
    None when `output_schema` is empty (the notebook keeps its local Parquet and JSONL files)."""
    name = str(output_schema or "").strip()
    if not name:
        return None
    from .errors import ConfigurationError
    from .history import SparkBackend

    if name.count(".") != 1 or not all(name.split(".")):
        raise ConfigurationError(f"output_schema={name!r} is not catalog.schema. Fix: name a Unity Catalog "
                                 "schema, e.g. main.scimkit, or leave it empty for local files")
    session = spark if spark is not None else spark_session()
    if session is None:
        raise ConfigurationError(f"output_schema={name!r} needs a Spark session (a Databricks notebook or job "
                                 "has one). Fix: leave output_schema empty to keep local files")
    return SparkBackend(session, name, table_format=table_format)


def store_in_schema(result: dict[str, Any], output_schema: str, spark: Any = None) -> str | None:
    """The report's snapshot and findings also as tables in `output_schema` (nothing when empty).
    Returns the schema written to."""
    backend = schema_backend(output_schema, spark)
    if backend is None:
        return None
    from . import compliance

    snap = result["snapshot"]
    snap.save(None, backend=backend)
    compliance.save_findings(result["findings"], backend, snap.snapshot_time)
    print(f"snapshot and findings stored in {str(output_schema).strip()} (tables users, grants, ..., findings)")
    return str(output_schema).strip()


# -- tables a reviewer reads ----------------------------------------------------------------------


def table(frame: Any, empty: str = "", limit: int = 500) -> Any:
    """A frame as a reviewer reads it in Jupyter: text left-aligned and wrapped in full (no "..."),
    no index, missing values blank; `empty`: the sentence shown instead of an empty table. On
    Databricks the frame itself (its `display` renders it)."""
    import pandas as pd

    if frame is None:
        frame = pd.DataFrame()
    if frame.empty and empty:
        from IPython.display import Markdown

        return Markdown(f"*{empty}*")
    if in_databricks():
        return frame
    shown = frame.head(limit)
    shown = shown.astype(object).where(shown.notna(), "")
    styler = shown.style
    styler = styler.hide(axis="index") if hasattr(styler, "hide") else styler.hide_index()
    styler = styler.set_properties(**{"text-align": "left", "vertical-align": "top", "white-space": "normal"})
    per_cell = getattr(styler, "map", None) or styler.applymap  # Styler.map from pandas 2.1 (applymap before)
    return (per_cell(_cell_style)
            .set_table_styles([{"selector": "th", "props": [("text-align", "left"), ("vertical-align", "bottom")]},
                               {"selector": "td", "props": [("max-width", "36em"), ("padding", "2px 10px 2px 0")]}]))


def _cell_style(value: Any) -> str:
    """Short values on one line; a long unbroken token (code, a URL) may wrap anywhere; prose wraps at spaces."""
    text = str(value)
    if any(len(token) > 30 for token in text.split()):
        return "overflow-wrap: anywhere"
    return "white-space: nowrap" if len(text) <= 24 else ""

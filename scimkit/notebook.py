"""Notebook helpers: parameters that work the same under papermill, in Jupyter and in a
Databricks notebook (where widgets override them), and a `show` that uses Databricks' `display`
when it exists.

    # parameters cell (papermill injects values after it)
    use_emulator = True
    severity_threshold = "high"

    params = scimkit.notebook.parameters(use_emulator=use_emulator, severity_threshold=severity_threshold)
"""

from __future__ import annotations

import os
from typing import Any


def in_databricks() -> bool:
    return bool(os.environ.get("DATABRICKS_RUNTIME_VERSION"))


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

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

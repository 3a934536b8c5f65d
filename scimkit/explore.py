"""Interactive exploration of who can reach what, for the group-permission matrix notebook.

Two questions, answered as DataFrames (tested without a front end) and wrapped in ipywidgets
(7.7 and 8) by `explorer`:

* `group_reach(access, group)`: every privilege the group holds, where the grant sits, the route,
  and, for data privileges, whether it is usable (USE_CATALOG / USE_SCHEMA present) and what is
  missing.
* `securable_reach(access, securable_type, full_name)`: every principal that can reach the
  securable, by which route (own grant, inherited from schema or catalog, ownership, group chain)
  and whether that data privilege is usable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .access import DATA_PRIVILEGES, Access
from .errors import InvalidInput
from .schema import ACCOUNT_USERS_NAME

__all__ = ["explorer", "group_reach", "securable_reach", "securable_choices", "group_choices"]

_DATA = {p for ps in DATA_PRIVILEGES.values() for p in ps}


def _route(frame: pd.DataFrame, privilege: str = "privilege") -> pd.Series:
    """One sentence per row: what is granted where, to whom, and how the principal holds it."""
    if frame.empty:
        return pd.Series([], dtype=object, index=frame.index)
    via = frame["via"].astype(object).fillna("")
    how = np.where(via == "", "directly", "as a member of " + via.astype(str))
    how = np.where(via == ACCOUNT_USERS_NAME, "as one of the account users", how)
    inherited = np.where(frame["inherited"].astype(bool), " (inherited)", "")
    text = (frame[privilege].astype(str) + " on " + frame["granted_on_type"].astype(str) + " "
            + frame["granted_on"].astype(str) + inherited + " to " + frame["granted_to"].astype(str)
            + ", held " + pd.Series(how, index=frame.index, dtype=object))
    return text.astype(object)


def _with_usability(rows: pd.DataFrame, usable: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`rows` with `usable` (True/False for data privileges, NA otherwise) and `missing`."""
    verdict = usable.groupby(keys, sort=False, observed=True).agg(
        usable=("usable", "all"), missing=("missing", "first")).reset_index() if len(usable) else None
    out = rows.copy()
    if verdict is None:
        out["usable"] = pd.array([pd.NA] * len(out), dtype="boolean")
        out["missing"] = pd.Series([None] * len(out), dtype=object, index=out.index)
        return out
    verdict = verdict.astype({k: object for k in keys})
    out = out.astype({k: object for k in keys}).merge(verdict, on=keys, how="left")
    out["usable"] = out["usable"].astype("boolean")
    out["missing"] = out["missing"].astype(object).where(out["missing"].notna(), None)
    return out


def group_reach(access: Access, group: str, data_only: bool = False) -> pd.DataFrame:
    """What `group` (and so each member) can reach: securable_type, full_name, privilege,
    inherited, granted_on, route, usable, missing. Privileges on a catalog or schema are listed
    where granted; their usability is judged on the objects below (usable when any is)."""
    groups = access._get("groups")
    if groups is not None and not groups["group_name"].astype(str).str.lower().eq(group.lower()).any():
        raise InvalidInput(f"No group {group!r} in the snapshot.", field="group",
                           fix="pick one of scimkit.explore.group_choices(snapshot)")
    rows = access.what_can(group)
    if data_only:
        rows = rows[rows["privilege"].isin(_DATA)]
    rows = rows.assign(route=_route(rows)).reset_index(drop=True)
    usable = access.usable(principal=group, level="object")
    # A data privilege granted on a catalog or schema: judge it on the objects that inherit it.
    by_grant = usable.assign(granted_on=usable["full_name"])
    parts = [by_grant]
    for column in ("catalog_name", "schema_name"):
        parts.append(usable.assign(granted_on=usable[column]))
    judged = pd.concat(parts, ignore_index=True)
    judged = judged.groupby(["granted_on", "privilege"], observed=True).agg(
        usable=("usable", "any"), missing=("missing", "first")).reset_index()
    judged["missing"] = judged["missing"].where(~judged["usable"], "")
    out = _with_usability(rows, judged.assign(usable=judged["usable"]), ["granted_on", "privilege"])
    columns = ["securable_type", "full_name", "privilege", "inherited", "granted_on", "route", "usable", "missing"]
    return out[columns]


def securable_reach(access: Access, securable_type: str, full_name: str,
                    privilege: str | None = None) -> pd.DataFrame:
    """Who can reach one securable and why: principal, principal_type, privilege, granted_on,
    inherited, route, usable (data privileges on a table, volume or function; NA otherwise),
    missing."""
    known = access.securables
    match = (known["securable_type"].astype(str).str.upper() == securable_type.upper()) & (
        known["full_name"].astype(str).str.lower() == full_name.lower())
    if not match.any():
        raise InvalidInput(f"No {securable_type} {full_name!r} in the snapshot.", field="full_name",
                           fix="pick one of scimkit.explore.securable_choices(snapshot)")
    rows = access.who_can_access(securable_type, full_name, privilege=privilege)
    rows = rows.assign(route=_route(rows)).reset_index(drop=True)
    if securable_type.upper() in DATA_PRIVILEGES:
        usable = access.usable(securable_type=securable_type, full_name=full_name)
        usable = usable[usable["privilege"].isin(_DATA)]
        rows = _with_usability(rows, usable, ["principal", "privilege"])
    else:
        rows = _with_usability(rows, rows.iloc[:0].assign(usable=[], missing=[]), ["principal", "privilege"])
    columns = ["principal", "principal_type", "privilege", "granted_on", "inherited", "route", "usable", "missing"]
    return rows[columns]


def group_choices(snapshot: Any) -> list[str]:
    """Group names, sorted (the explorer's first drop-down)."""
    access = snapshot if isinstance(snapshot, Access) else Access(snapshot)
    groups = access._get("groups")
    return sorted(groups["group_name"].astype(str)) if groups is not None else []


def securable_choices(snapshot: Any, types: tuple[str, ...] = ("CATALOG", "SCHEMA", "TABLE", "VOLUME")) -> list[str]:
    """`TYPE full.name` labels of the securables, catalogs first (the explorer's second drop-down)."""
    access = snapshot if isinstance(snapshot, Access) else Access(snapshot)
    s = access.securables
    s = s[s["securable_type"].isin(types)]
    order = {t: i for i, t in enumerate(types)}
    s = s.assign(_o=s["securable_type"].map(order)).sort_values(["_o", "full_name"])
    return [f"{t} {n}" for t, n in zip(s["securable_type"], s["full_name"], strict=True)]


def explorer(snapshot: Any, show: Any = None) -> Any:
    """An ipywidgets panel: pick a group to see what it can reach, or a securable to see who can
    reach it and why. Returns the VBox (display it); `show` renders a frame (default: IPython's
    display)."""
    import ipywidgets as widgets
    from IPython.display import display

    access = snapshot if isinstance(snapshot, Access) else Access(snapshot)
    render = show or display
    groups, securables = group_choices(access), securable_choices(access)
    group = widgets.Dropdown(options=[""] + groups, value="", description="Group")
    securable = widgets.Dropdown(options=[""] + securables, value="", description="Securable",
                                 layout=widgets.Layout(width="520px"))
    usable_only = widgets.Checkbox(value=False, description="usable data privileges only")
    output = widgets.Output()

    def refresh(*_: Any) -> None:
        output.clear_output()
        with output:
            if group.value:
                frame = group_reach(access, group.value)
                title = f"What {group.value} can reach"
            elif securable.value:
                kind, name = securable.value.split(" ", 1)
                frame = securable_reach(access, kind, name)
                title = f"Who can reach {kind} {name}"
            else:
                print("Pick a group or a securable.")
                return
            if usable_only.value:
                frame = frame[frame["usable"].fillna(False).astype(bool)]
            print(f"{title}: {len(frame)} route(s)")
            render(frame)

    def picked_group(change: Any) -> None:
        if change["new"]:
            securable.value = ""
        refresh()

    def picked_securable(change: Any) -> None:
        if change["new"]:
            group.value = ""
        refresh()

    group.observe(picked_group, names="value")
    securable.observe(picked_securable, names="value")
    usable_only.observe(refresh, names="value")
    refresh()
    return widgets.VBox([widgets.HBox([group, securable]), usable_only, output])

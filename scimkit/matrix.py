"""Group x securable x privilege pivots at one level of the catalog tree, and a heatmap.

    permission_matrix(snap, level="schema", mode="effective", catalog="datalake")
    plot_matrix(matrix)          # a matplotlib Figure; nothing is drawn through pyplot

Cells hold the sorted privilege set ("SELECT, USE_SCHEMA"); "" when a group holds nothing there.

* mode="direct": grants made to the group itself (and, with include_owner, what it owns).
* mode="effective": also what the group holds through its parent groups, and privileges
  inherited from above (a catalog grant shows on each of its schemas and tables).
* rollup (default: True in effective mode, False in direct mode): privileges held *below* a
  securable are shown on it too (a SELECT on one table shows on its schema and catalog), so a
  catalog-level matrix summarises everything inside each catalog.
Ownership ("OWNER") is never inherited downward. Metastore grants, external locations and storage
credentials are not part of the tree and do not appear.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from .access import OWNER, effective_grants, owner_grants, transitive_memberships
from .errors import InvalidInput
from .schema import GROUP

__all__ = [
    "LEVEL_LABELS",
    "order_matrix",
    "permission_long",
    "permission_matrix",
    "plot_matrix",
    "privilege_level",
]

Level = Literal["catalog", "schema", "table"]
OBJECT_TYPES = ("TABLE", "VOLUME", "FUNCTION")
_TREE = ("CATALOG", "SCHEMA") + OBJECT_TYPES

# Privilege levels for the heatmap, ordered: none < use/browse < read < write/create < manage/all/owner.
LEVEL_LABELS = ("none", "use / browse", "read", "write / create", "manage / all / owner")
LEVEL_COLORS = ("#f2f2f2", "#c6dbef", "#6baed6", "#fd8d3c", "#a50f15")
_LEVEL_OF = {
    **dict.fromkeys(("USE_CATALOG", "USE_SCHEMA", "BROWSE", "READ_METADATA", "USAGE", "USE_CONNECTION"), 1),
    **dict.fromkeys(
        ("SELECT", "READ_VOLUME", "EXECUTE", "READ_FILES", "READ_FEATURE", "READ_PRIVATE_FILES"), 2
    ),
    **dict.fromkeys(
        ("MODIFY", "WRITE_VOLUME", "WRITE_FILES", "WRITE_PRIVATE_FILES", "REFRESH", "APPLY_TAG"), 3
    ),
    **dict.fromkeys(("MANAGE", "ALL_PRIVILEGES", OWNER), 4),
}


def privilege_level(privilege: str) -> int:
    """0-4 on the heatmap scale (CREATE_* count as write; anything unknown as use)."""
    p = str(privilege).strip().upper().replace(" ", "_")
    if not p:
        return 0
    return _LEVEL_OF.get(p, 3 if p.startswith("CREATE") else 1)


# -- long form -----------------------------------------------------------------------------------


def _get(source: Any, name: str) -> pd.DataFrame | None:
    return source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)


def _group_filter(names: pd.Series, pattern: str | None) -> np.ndarray:
    """Regex, or glob when the pattern has * or ? and no regex syntax; case-insensitive."""
    if pattern is None:
        return np.ones(len(names), dtype=bool)
    is_glob = bool(re.search(r"[*?]", pattern)) and not re.search(r"\.\*|[\^$+(){}|\\]", pattern)
    regex = fnmatch.translate(pattern) if is_glob else pattern
    try:
        compiled = re.compile(regex, re.IGNORECASE)
    except re.error as exc:
        raise InvalidInput(
            f"group_pattern {pattern!r} is not a valid pattern: {exc}.", field="group_pattern"
        ) from exc
    match = compiled.match if is_glob else compiled.search
    codes, uniques = pd.factorize(names)
    hits = np.array([bool(match(str(u))) for u in uniques] + [False], dtype=bool)  # per distinct group name
    return hits[codes]


def _parts(names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(catalog, catalog.schema) of each name, split once per distinct name (names repeat a lot)."""
    codes, uniques = pd.factorize(names.astype(object))
    split = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.split(".")
    catalog = np.append(split.str[0].to_numpy(dtype=object), np.nan)
    schema = np.append((split.str[0] + "." + split.str[1]).to_numpy(dtype=object), np.nan)
    return (pd.Series(catalog[codes], index=names.index, dtype=object),
            pd.Series(schema[codes], index=names.index, dtype=object))


def _holdings(source: Any, mode: str, include_owner: bool) -> pd.DataFrame:
    grants, securables = _get(source, "grants"), _get(source, "securables")
    if grants is None:
        raise InvalidInput(
            "The snapshot has no 'grants' table.",
            field="grants",
            fix="pass a snapshot (or dict) with the tables of scimkit.schema",
        )
    sites = [grants]
    if include_owner and securables is not None:
        sites.append(owner_grants(securables))
    sites = pd.concat(sites, ignore_index=True)
    cols = ["principal", "securable_type", "full_name", "privilege"]
    if mode == "direct":
        held = sites[np.asarray(sites["principal_type"] == GROUP, dtype=bool)][cols]
    else:
        transitive = _get(source, "transitive_memberships")
        if transitive is None:
            memberships = _get(source, "memberships")
            if memberships is None:
                raise InvalidInput(
                    "Effective mode needs memberships or transitive_memberships.", field="mode"
                )
            transitive = transitive_memberships(memberships)
        groups_only = transitive[np.asarray(transitive["member_type"] == GROUP, dtype=bool)]
        eff = effective_grants(sites, groups_only, categorical=True)
        held = eff[np.asarray(eff["principal_type"] == GROUP, dtype=bool)][cols]
    held = held.rename(columns={"principal": "group_name"}).astype(object)
    return held[held["securable_type"].isin(_TREE)].drop_duplicates()


def permission_long(
    source: Any,
    level: Level = "catalog",
    mode: Literal["direct", "effective"] = "direct",
    catalog: str | Iterable[str] | None = None,
    group_pattern: str | None = None,
    privileges: Iterable[str] | None = None,
    rollup: bool | None = None,
    include_owner: bool = True,
) -> pd.DataFrame:
    """The tidy form of `permission_matrix`: one row per (group_name, securable_type, full_name,
    privilege) at the chosen level, sorted. `source` is a snapshot-like object or a dict of tables
    (grants, securables, memberships or transitive_memberships)."""
    if level not in ("catalog", "schema", "table"):
        raise InvalidInput(f"level must be catalog, schema or table, not {level!r}.", field="level")
    if mode not in ("direct", "effective"):
        raise InvalidInput(f"mode must be direct or effective, not {mode!r}.", field="mode")
    rollup = (mode == "effective") if rollup is None else rollup
    held = _holdings(source, mode, include_owner)
    securables = _get(source, "securables")
    cat, sch = _parts(held["full_name"])
    stype = held["securable_type"]
    frames = []
    if level == "catalog":
        keep = (stype == "CATALOG") | (rollup & stype.isin(("SCHEMA",) + OBJECT_TYPES))
        frames.append(held[keep].assign(securable_type="CATALOG", full_name=cat[keep]))
    elif level == "schema":
        keep = (stype == "SCHEMA") | (rollup & stype.isin(OBJECT_TYPES))
        frames.append(held[keep].assign(securable_type="SCHEMA", full_name=sch[keep]))
    else:
        frames.append(held[stype.isin(OBJECT_TYPES)])
    if mode == "effective" and securables is not None and level != "catalog":  # inherited downward
        kids = securables[
            securables["securable_type"].isin(("SCHEMA",) if level == "schema" else OBJECT_TYPES)
        ]
        kids = pd.DataFrame(
            {"child_type": kids["securable_type"].astype(object), "child": kids["full_name"].astype(object)}
        )
        kids["catalog"], kids["schema"] = _parts(kids["child"])
        down = held[
            (held["privilege"] != OWNER)
            & stype.isin(("CATALOG", "SCHEMA") if level == "table" else ("CATALOG",))
        ]
        for source_type, on in (("CATALOG", "catalog"), ("SCHEMA", "schema")):
            part = down[down["securable_type"] == source_type]
            if len(part):
                joined = part.merge(kids, left_on="full_name", right_on=on)
                frames.append(
                    pd.DataFrame(
                        {
                            "group_name": joined["group_name"],
                            "securable_type": joined["child_type"],
                            "full_name": joined["child"],
                            "privilege": joined["privilege"],
                        }
                    )
                )
    out = pd.concat(frames, ignore_index=True)[["group_name", "securable_type", "full_name", "privilege"]]
    if catalog is not None:
        wanted = {catalog} if isinstance(catalog, str) else set(catalog)
        out = out[_parts(out["full_name"])[0].isin(wanted)]
    out = out[_group_filter(out["group_name"], group_pattern)]
    if privileges is not None:
        out = out[out["privilege"].isin({str(p).strip().upper().replace(" ", "_") for p in privileges})]
    out = out.drop_duplicates().sort_values(["group_name", "full_name", "privilege"], kind="stable")
    return out.reset_index(drop=True).astype(object)


# -- wide form -----------------------------------------------------------------------------------


def _securable_order(names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda n: tuple(str(n).split(".")))


def order_matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    """Rows by number of privileges (descending) then name; columns by catalog, schema, name."""
    counts = pd.Series(
        [sum(len(c.split(", ")) for c in row if c) for row in matrix.to_numpy(dtype=object)],
        index=matrix.index,
    )  # a loop over groups, not over grants
    rows = sorted(matrix.index, key=lambda g: (-counts[g], str(g)))
    return matrix.loc[rows, _securable_order(matrix.columns)]


def _cells(long: pd.DataFrame) -> pd.Series:
    """The privileges of each (group_name, full_name) joined by ", ": what
    `groupby(...)["privilege"].agg(", ".join)` gives, in one pass over the rows that `permission_long`
    has already sorted by group, securable and privilege."""
    long = long[long["group_name"].notna().to_numpy() & long["full_name"].notna().to_numpy()]  # groupby drops them
    group = long["group_name"].to_numpy(dtype=object)
    name = long["full_name"].to_numpy(dtype=object)
    privilege = long["privilege"].astype(str).tolist()
    starts = np.flatnonzero(np.r_[True, (group[1:] != group[:-1]) | (name[1:] != name[:-1])])
    ends = np.append(starts[1:], len(group))
    joined = [", ".join(privilege[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    index = pd.MultiIndex.from_arrays([group[starts], name[starts]], names=["group_name", "full_name"])
    return pd.Series(joined, index=index, name="privilege", dtype=object)


def permission_matrix(
    source: Any,
    level: Level = "catalog",
    mode: Literal["direct", "effective"] = "direct",
    catalog: str | Iterable[str] | None = None,
    group_pattern: str | None = None,
    privileges: Iterable[str] | None = None,
    rollup: bool | None = None,
    include_owner: bool = True,
) -> pd.DataFrame:
    """Groups (rows) x securables at `level` (columns); each cell the sorted privilege set, e.g.
    "SELECT, USE_SCHEMA" ("" for none). Only groups and securables with at least one privilege
    appear. See the module docstring for mode and rollup; `group_pattern` is a regex or a glob
    ("Data*"), `catalog` one name or several. Computed once per snapshot and arguments (the report's
    heatmap and a notebook ask for the same matrix); each call gets its own copy."""
    catalog = catalog if catalog is None or isinstance(catalog, str) else tuple(catalog)  # iterables read once
    privileges = None if privileges is None or isinstance(privileges, str) else tuple(privileges)
    if not isinstance(source, Mapping):
        from . import derived

        args = (level, mode, catalog, group_pattern, privileges, rollup, include_owner)
        return derived.cached(
            source, f"matrix.permission_matrix{args!r}",
            lambda: _permission_matrix(source, level, mode, catalog, group_pattern, privileges, rollup,
                                       include_owner),
            ("grants", "securables", "memberships", "transitive_memberships"),
        ).copy()
    return _permission_matrix(source, level, mode, catalog, group_pattern, privileges, rollup, include_owner)


def _permission_matrix(source: Any, level: Level, mode: Literal["direct", "effective"],
                       catalog: str | Iterable[str] | None, group_pattern: str | None,
                       privileges: Iterable[str] | None, rollup: bool | None, include_owner: bool) -> pd.DataFrame:
    long = permission_long(source, level, mode, catalog, group_pattern, privileges, rollup, include_owner)
    if long.empty:
        return pd.DataFrame(index=pd.Index([], name="group_name"), columns=pd.Index([], name="full_name"))
    cells = _cells(long)
    matrix = cells.unstack("full_name").fillna("")
    matrix = order_matrix(matrix.astype(object))
    matrix.index.name, matrix.columns.name = "group_name", "full_name"
    return matrix


# -- heatmap -------------------------------------------------------------------------------------


def _levels(matrix: pd.DataFrame) -> np.ndarray:
    values = matrix.to_numpy(dtype=object).astype(str)
    uniques, inverse = np.unique(values, return_inverse=True)
    per_cell = np.array([max((privilege_level(p) for p in u.split(", ")), default=0) for u in uniques])
    return per_cell[inverse.reshape(-1)].reshape(values.shape) if values.size else np.zeros(values.shape, int)


def _short(label: Any, limit: int) -> str:
    text = str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plot_matrix(
    matrix: pd.DataFrame,
    title: str | None = None,
    ax: Any = None,
    max_label: int = 40,
    order: bool = True,
) -> Any:
    """A heatmap of a `permission_matrix`: one colour per privilege level (none < use/browse < read
    < write/create < manage/all/owner), a legend, both axes labelled, fonts sized to the matrix.
    Returns the matplotlib Figure (drawn on `ax` when given). Readable up to ~50 x 100."""
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    if order and matrix.size:
        matrix = order_matrix(matrix)
    nrows, ncols = matrix.shape
    levels = _levels(matrix)
    longest_x = max((len(_short(c, max_label)) for c in matrix.columns), default=10)
    longest_y = max((len(_short(r, max_label)) for r in matrix.index), default=10)
    font = (
        8
        if max(nrows, ncols) <= 30
        else 7
        if max(nrows, ncols) <= 60
        else 6
        if max(nrows, ncols) <= 120
        else 5
    )
    if ax is None:
        char = font / 72 * 0.62  # inches per label character
        width = min(60.0, max(6.0, 0.16 * ncols + longest_y * char + 3.0))
        height = min(60.0, max(4.0, 0.18 * nrows + longest_x * char + 1.5))
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    cmap = ListedColormap(LEVEL_COLORS, name="privilege_levels")
    norm = BoundaryNorm(np.arange(len(LEVEL_COLORS) + 1) - 0.5, cmap.N)
    ax.imshow(levels, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(ncols))
    ax.set_xticklabels([_short(c, max_label) for c in matrix.columns], rotation=90, fontsize=font)
    ax.set_yticks(np.arange(nrows))
    ax.set_yticklabels([_short(r, max_label) for r in matrix.index], fontsize=font)
    ax.set_xticks(np.arange(ncols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(nrows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=0.4)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel(str(matrix.columns.name or "securable"), fontsize=font + 1)
    ax.set_ylabel(str(matrix.index.name or "group"), fontsize=font + 1)
    ax.set_title(title or f"Privileges: {nrows} groups x {ncols} securables", fontsize=font + 3)
    handles = [
        Patch(facecolor=c, edgecolor="#999999", label=label)
        for c, label in zip(LEVEL_COLORS, LEVEL_LABELS, strict=True)
    ]
    ax.legend(
        handles=handles,
        title="highest privilege",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=font + 1,
        title_fontsize=font + 1,
        frameon=False,
    )
    return fig

"""Group x securable privilege matrices and their heatmap."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from scimkit.errors import InvalidInput
from scimkit.matrix import LEVEL_LABELS, permission_long, permission_matrix, plot_matrix, privilege_level
from tests.unit.test_access_helpers import grants, memberships, nest, securables, seed_snapshot, snapshot

matplotlib.use("Agg")


def company() -> object:
    return snapshot(
        memberships=memberships(
            *nest(
                Employees=["group:Analysts", "group:Engineers"], Analysts=["a@x.com"], Engineers=["e@x.com"]
            )
        ),
        securables=securables(
            ("CATALOG", "main", "Engineers", "GROUP"),
            ("CATALOG", "a-b"),
            ("SCHEMA", "main.s"),
            ("SCHEMA", "main.t"),
            ("TABLE", "main.s.x"),
            ("TABLE", "main.t.y"),
            ("SCHEMA", "a-b.c"),
            ("METASTORE", "ms-1"),
        ),
        grants=grants(
            ("CATALOG", "main", "Employees", "GROUP", "USE_CATALOG"),
            ("SCHEMA", "main.s", "Analysts", "GROUP", "USE_SCHEMA"),
            ("TABLE", "main.s.x", "Analysts", "GROUP", "SELECT"),
            ("SCHEMA", "main.t", "Engineers", "GROUP", "MODIFY"),
            ("SCHEMA", "a-b.c", "Engineers", "GROUP", "USE_SCHEMA"),
            ("TABLE", "main.s.x", "a@x.com", "USER", "MODIFY"),
            ("METASTORE", "ms-1", "Employees", "GROUP", "CREATE_CATALOG"),
        ),
    )


def cells(matrix: pd.DataFrame) -> dict[tuple[str, str], str]:
    return {(g, s): v for g, row in matrix.iterrows() for s, v in row.items() if v}


def test_direct_catalog_matrix_shows_grants_and_ownership_on_catalogs_only() -> None:
    m = permission_matrix(company(), "catalog", "direct")
    assert list(m.index) == ["Employees", "Engineers"] and list(m.columns) == ["main"]
    assert cells(m) == {("Employees", "main"): "USE_CATALOG", ("Engineers", "main"): "OWNER"}


def test_direct_schema_matrix_orders_columns_by_catalog_then_schema() -> None:
    m = permission_matrix(company(), "schema", "direct")
    assert list(m.columns) == ["a-b.c", "main.s", "main.t"]  # "a" < "a-b" < "main", not string order
    assert list(m.index) == ["Engineers", "Analysts"]  # two privileges before one
    assert cells(m) == {
        ("Engineers", "a-b.c"): "USE_SCHEMA",
        ("Engineers", "main.t"): "MODIFY",
        ("Analysts", "main.s"): "USE_SCHEMA",
    }


def test_effective_table_matrix_adds_parent_groups_and_inherited_privileges() -> None:
    m = permission_matrix(company(), "table", "effective", include_owner=False)
    assert cells(m) == {
        ("Analysts", "main.s.x"): "SELECT, USE_CATALOG, USE_SCHEMA",
        ("Analysts", "main.t.y"): "USE_CATALOG",
        ("Employees", "main.s.x"): "USE_CATALOG",
        ("Employees", "main.t.y"): "USE_CATALOG",
        ("Engineers", "main.s.x"): "USE_CATALOG",
        ("Engineers", "main.t.y"): "MODIFY, USE_CATALOG",
    }
    assert list(m.index) == ["Analysts", "Engineers", "Employees"]


def test_effective_catalog_matrix_rolls_up_what_is_held_below() -> None:
    m = permission_matrix(company(), "catalog", "effective")
    assert cells(m) == {
        ("Analysts", "main"): "SELECT, USE_CATALOG, USE_SCHEMA",
        ("Employees", "main"): "USE_CATALOG",
        ("Engineers", "main"): "MODIFY, OWNER, USE_CATALOG",
        ("Engineers", "a-b"): "USE_SCHEMA",
    }
    no_rollup = permission_matrix(company(), "catalog", "effective", rollup=False, include_owner=False)
    assert cells(no_rollup) == {(g, "main"): "USE_CATALOG" for g in ("Analysts", "Employees", "Engineers")}


def test_ownership_is_not_inherited_downward() -> None:
    m = permission_matrix(company(), "schema", "effective", rollup=False)
    assert "OWNER" not in " ".join(cells(m).values())


def test_filters_by_catalog_group_pattern_and_privilege() -> None:
    snap = company()
    assert list(permission_matrix(snap, "schema", "direct", catalog="a-b").columns) == ["a-b.c"]
    assert list(permission_matrix(snap, "schema", "direct", group_pattern="Ana*").index) == ["Analysts"]
    assert list(permission_matrix(snap, "schema", "direct", group_pattern="^eng").index) == ["Engineers"]
    only = permission_long(snap, "table", "effective", privileges=["select"])
    assert [tuple(r) for r in only.itertuples(index=False)] == [("Analysts", "TABLE", "main.s.x", "SELECT")]


def test_seed_effective_schema_matrix() -> None:
    m = permission_matrix(seed_snapshot(), "schema", "effective", catalog="datalake", include_owner=False)
    assert cells(m) == {
        ("DataEngineers.Prod", "datalake.finance"): "USE_CATALOG",
        ("DataEngineers.Prod", "datalake.sales_data"): "SELECT, USE_CATALOG",
        ("Analysts.NonProd", "datalake.finance"): "SELECT",
    }


def test_empty_matrix_and_bad_arguments() -> None:
    assert permission_matrix(company(), "table", "direct", group_pattern="nobody").empty
    with pytest.raises(InvalidInput, match="level"):
        permission_matrix(company(), "column")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not a valid pattern"):
        permission_matrix(company(), group_pattern="(")


def test_privilege_levels_are_ordered() -> None:
    assert [
        privilege_level(p)
        for p in ("", "USE CATALOG", "SELECT", "MODIFY", "CREATE_TABLE", "ALL_PRIVILEGES", "OWNER")
    ] == [0, 1, 2, 3, 3, 4, 4]


def synthetic_matrix(groups: int = 50, securables: int = 100, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    choices = np.array(
        ["", "", "", "USE_CATALOG", "SELECT, USE_SCHEMA", "MODIFY, SELECT", "ALL_PRIVILEGES", "OWNER"],
        dtype=object,
    )
    values = choices[rng.integers(0, len(choices), (groups, securables))]
    index = pd.Index([f"group.{i:02d}" for i in range(groups)], name="group_name")
    columns = pd.Index([f"cat{j % 5}.schema{j:03d}" for j in range(securables)], name="full_name")
    return pd.DataFrame(values, index=index, columns=columns)


def test_heatmap_of_50_groups_by_100_securables(tmp_path: Path) -> None:
    matrix = synthetic_matrix()
    fig = plot_matrix(matrix, title="Synthetic account")
    ax = fig.axes[0]
    xlabels = [t.get_text() for t in ax.get_xticklabels()]
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(xlabels) == sorted(matrix.columns) and len(xlabels) == 100
    assert xlabels[:2] == ["cat0.schema000", "cat0.schema005"]  # catalog, then schema
    assert sorted(ylabels) == sorted(matrix.index) and len(ylabels) == 50
    assert ax.get_xticklabels()[0].get_rotation() == 90
    legend = ax.get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == list(LEVEL_LABELS)
    assert ax.get_title() == "Synthetic account"
    out = tmp_path / "matrix.png"
    fig.savefig(out, dpi=60)
    assert out.stat().st_size > 10_000 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_heatmap_rows_put_the_most_privileged_group_first() -> None:
    matrix = pd.DataFrame(
        {"c.s": ["SELECT", "ALL_PRIVILEGES, SELECT", ""], "c.t": ["", "OWNER", "USE_SCHEMA"]},
        index=pd.Index(["b", "a", "c"], name="group_name"),
    )
    ax = plot_matrix(matrix).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    image = ax.get_images()[0].get_array()
    assert image.tolist() == [[4, 4], [2, 0], [0, 1]]

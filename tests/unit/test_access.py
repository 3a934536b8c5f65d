"""Effective access on small hand-built snapshots whose answers are written out here."""

from __future__ import annotations

import pandas as pd
import pytest

from scimkit.access import (
    Access,
    access_of,
    effective_grants,
    effective_owners,
    expand_to_children,
    privileges_on,
    transitive_memberships,
    usability,
    why,
)
from scimkit.errors import CycleError, InvalidInput
from scimkit.history import conform
from scimkit.schema import TABLES, coerce
from tests.unit.test_access_helpers import (
    SNAPSHOT_TIME,
    grants,
    memberships,
    nest,
    securables,
    seed_snapshot,
    service_principals,
    snapshot,
    users,
)


def closure(*edges: tuple[str, str, str], **kw: object) -> list[tuple[str, str, str, int, str, int]]:
    t = transitive_memberships(memberships(*edges), **kw)  # type: ignore[arg-type]
    return list(
        t[["group_name", "member_type", "member_name", "depth", "via", "path_count"]].itertuples(
            index=False, name=None
        )
    )


def rows(df: pd.DataFrame, *cols: str) -> list[tuple]:
    return list(df[list(cols)].astype(object).itertuples(index=False, name=None))


def eff_rows(df: pd.DataFrame) -> set[tuple[str, str, str, str, str, str]]:
    return set(rows(df, "full_name", "principal", "principal_type", "privilege", "granted_to", "via"))


# -- transitive memberships ----------------------------------------------------------------------


def test_direct_membership_is_depth_one_via_the_group() -> None:
    assert closure(("Analysts", "USER", "alex@company.com")) == [
        ("Analysts", "USER", "alex@company.com", 1, "Analysts", 1)
    ]


def test_nesting_three_deep_gives_the_chain_from_the_direct_group() -> None:
    got = closure(
        *nest(Marketing=["alex@company.com"], Employees=["group:Marketing"], Everyone=["group:Employees"])
    )
    assert got == [
        ("Employees", "GROUP", "Marketing", 1, "Employees", 1),
        ("Employees", "USER", "alex@company.com", 2, "Marketing > Employees", 1),
        ("Everyone", "GROUP", "Employees", 1, "Everyone", 1),
        ("Everyone", "GROUP", "Marketing", 2, "Employees > Everyone", 1),
        ("Everyone", "USER", "alex@company.com", 3, "Marketing > Employees > Everyone", 1),
        ("Marketing", "USER", "alex@company.com", 1, "Marketing", 1),
    ]


def test_diamond_counts_two_paths_and_picks_the_smallest_chain() -> None:
    got = closure(*nest(A=["u@x.com"], B=["group:A"], C=["group:A"], D=["group:C", "group:B"]))
    assert ("D", "USER", "u@x.com", 3, "A > B > D", 2) in got
    assert ("D", "GROUP", "A", 2, "B > D", 2) in got
    assert len(got) == 9  # A∋u; B∋A, u; C∋A, u; D∋A, B, C, u


def test_shortest_chain_beats_a_lexicographically_smaller_longer_one() -> None:
    got = closure(
        *nest(Alpha=["u@x.com"], Gamma=["u@x.com"], Beta=["group:Alpha"], Zeta=["group:Beta", "group:Gamma"])
    )
    assert ("Zeta", "USER", "u@x.com", 2, "Gamma > Zeta", 2) in got


def test_two_direct_groups_tie_on_the_smaller_name() -> None:
    got = closure(*nest(Y=["u@x.com"], X=["u@x.com"], Z=["group:X", "group:Y"]))
    assert ("Z", "USER", "u@x.com", 2, "X > Z", 2) in got


def test_service_principals_and_groups_keep_their_member_type() -> None:
    got = closure(*nest(Jobs=["sp:app-1"], Platform=["group:Jobs"]))
    assert got == [
        ("Jobs", "SERVICE_PRINCIPAL", "app-1", 1, "Jobs", 1),
        ("Platform", "GROUP", "Jobs", 1, "Platform", 1),
        ("Platform", "SERVICE_PRINCIPAL", "app-1", 2, "Jobs > Platform", 1),
    ]


def test_cycle_raises_and_names_it() -> None:
    with pytest.raises(CycleError) as err:
        closure(*nest(A=["group:B", "u@x.com"], B=["group:A"]))
    assert err.value.cycles == [["A", "B", "A"]]
    assert "A > B > A" in str(err.value)


def test_every_separate_cycle_is_listed_once() -> None:
    with pytest.raises(CycleError) as err:
        closure(*nest(A=["group:B"], B=["group:C"], C=["group:A"], S=["group:S"], T=["group:A"]))
    # chains read upward like `via`: A is a member of C, C of B, B of A
    assert err.value.cycles == [["A", "C", "B", "A"], ["S", "S"]]


def test_cycle_report_mode_keeps_depth_and_marks_unbounded_counts() -> None:
    t = transitive_memberships(
        memberships(*nest(A=["group:B", "u@x.com"], B=["group:A"], Top=["group:A"])), on_cycle="report"
    )
    assert t.attrs["cycles"] == [["A", "B", "A"]]
    got = rows(t, "group_name", "member_type", "member_name", "depth", "via", "path_count")
    assert ("B", "USER", "u@x.com", 2, "A > B", -1) in got
    assert ("Top", "USER", "u@x.com", 2, "A > Top", -1) in got
    assert ("A", "GROUP", "A", 2, "B > A", -1) in got


def test_nesting_deeper_than_the_cap_is_refused() -> None:
    chain = [(f"G{i + 1:02d}", "GROUP", f"G{i:02d}") for i in range(6)]
    with pytest.raises(InvalidInput, match="deeper than 4"):
        transitive_memberships(memberships(*chain), max_depth=4)
    assert transitive_memberships(memberships(*chain), max_depth=6)["depth"].max() == 6


def test_transitive_follows_the_schema_and_carries_the_snapshot_columns() -> None:
    t = transitive_memberships(memberships(("G", "USER", "u@x.com")))
    assert list(t.columns) == TABLES["transitive_memberships"].column_names
    pd.testing.assert_frame_equal(t, coerce("transitive_memberships", t))
    assert t["snapshot_time"].iloc[0] == SNAPSHOT_TIME and t["account_id"].iloc[0] == "acc-0001"
    empty = transitive_memberships(memberships())
    assert empty.empty
    pd.testing.assert_frame_equal(empty, coerce("transitive_memberships", empty))


# -- effective grants ----------------------------------------------------------------------------


def _marketing() -> tuple[pd.DataFrame, pd.DataFrame]:
    members = memberships(
        *nest(Marketing=["alex@company.com"], Employees=["group:Marketing", "jaya@company.com"])
    )
    return members, transitive_memberships(members)


def test_group_grant_reaches_nested_members_with_the_chain() -> None:
    _, t = _marketing()
    e = effective_grants(grants(("CATALOG", "main", "Employees", "GROUP", "USE_CATALOG")), t)
    assert eff_rows(e) == {
        ("main", "Employees", "GROUP", "USE_CATALOG", "Employees", ""),
        ("main", "Marketing", "GROUP", "USE_CATALOG", "Employees", "Employees"),
        ("main", "jaya@company.com", "USER", "USE_CATALOG", "Employees", "Employees"),
        ("main", "alex@company.com", "USER", "USE_CATALOG", "Employees", "Marketing > Employees"),
    }


def test_direct_user_grant_is_held_with_an_empty_via() -> None:
    _, t = _marketing()
    e = effective_grants(grants(("TABLE", "main.s.t", "alex@company.com", "USER", "SELECT")), t)
    assert eff_rows(e) == {("main.s.t", "alex@company.com", "USER", "SELECT", "alex@company.com", "")}


def test_account_users_reach_every_user_and_sp_including_deactivated() -> None:
    _, t = _marketing()
    e = effective_grants(
        grants(("CATALOG", "main", "account users", "ACCOUNT_USERS", "BROWSE")),
        t,
        users("alex@company.com", "old@company.com", inactive=["old@company.com"]),
        service_principals("app-1"),
    )
    assert eff_rows(e) == {
        ("main", "account users", "ACCOUNT_USERS", "BROWSE", "account users", ""),
        ("main", "alex@company.com", "USER", "BROWSE", "account users", "account users"),
        ("main", "old@company.com", "USER", "BROWSE", "account users", "account users"),
        ("main", "app-1", "SERVICE_PRINCIPAL", "BROWSE", "account users", "account users"),
    }


def test_unknown_principal_stays_as_itself() -> None:
    _, t = _marketing()
    e = effective_grants(grants(("SCHEMA", "main.s", "ghost@gone.com", "UNKNOWN", "USE_SCHEMA")), t)
    assert eff_rows(e) == {("main.s", "ghost@gone.com", "UNKNOWN", "USE_SCHEMA", "ghost@gone.com", "")}


def test_service_principal_holds_directly_and_through_its_group() -> None:
    t = transitive_memberships(memberships(*nest(Jobs=["sp:app-1"])))
    e = effective_grants(
        grants(
            ("VOLUME", "main.s.v", "app-1", "SERVICE_PRINCIPAL", "READ_VOLUME"),
            ("VOLUME", "main.s.v", "Jobs", "GROUP", "READ_VOLUME"),
        ),
        t,
    )
    assert eff_rows(e) == {
        ("main.s.v", "app-1", "SERVICE_PRINCIPAL", "READ_VOLUME", "app-1", ""),
        ("main.s.v", "Jobs", "GROUP", "READ_VOLUME", "Jobs", ""),
        ("main.s.v", "app-1", "SERVICE_PRINCIPAL", "READ_VOLUME", "Jobs", "Jobs"),
    }


def test_group_names_match_case_insensitively_and_duplicates_collapse() -> None:
    _, t = _marketing()
    g = pd.concat([grants(("TABLE", "main.s.t", "marketing", "GROUP", "SELECT"))] * 2, ignore_index=True)
    e = effective_grants(g, t)
    assert eff_rows(e) == {
        ("main.s.t", "marketing", "GROUP", "SELECT", "marketing", ""),
        ("main.s.t", "alex@company.com", "USER", "SELECT", "marketing", "Marketing"),
    }


def test_effective_grants_follow_the_schema_and_categorical_holds_the_same_rows() -> None:
    _, t = _marketing()
    g = grants(("CATALOG", "main", "Employees", "GROUP", "USE_CATALOG"))
    e = effective_grants(g, t)
    assert list(e.columns) == TABLES["effective_grants"].column_names
    pd.testing.assert_frame_equal(e, coerce("effective_grants", e))
    pd.testing.assert_frame_equal(conform(effective_grants(g, t, categorical=True), "effective_grants"), e)


# -- inheritance and ownership -------------------------------------------------------------------


def _tree() -> Access:
    return Access(
        snapshot(
            users=users("alex@company.com", "jaya@company.com"),
            memberships=memberships(*nest(Readers=["alex@company.com"], Owners=["jaya@company.com"])),
            securables=securables(
                ("METASTORE", "ms-1", "admin@company.com"),
                ("CATALOG", "main", "Owners", "GROUP"),
                ("SCHEMA", "main.s", "admin@company.com"),
                ("TABLE", "main.s.t", "admin@company.com", "USER", "MANAGED"),
                ("VOLUME", "main.s.v", "admin@company.com"),
                ("EXTERNAL_LOCATION", "landing", "admin@company.com"),
            ),
            grants=grants(
                ("METASTORE", "ms-1", "Readers", "GROUP", "CREATE_CATALOG"),
                ("CATALOG", "main", "Readers", "GROUP", "USE_CATALOG"),
                ("SCHEMA", "main.s", "Readers", "GROUP", "USE_SCHEMA"),
                ("TABLE", "main.s.t", "Readers", "GROUP", "SELECT"),
                ("EXTERNAL_LOCATION", "landing", "Readers", "GROUP", "READ_FILES"),
            ),
        )
    )


def test_table_inherits_from_schema_and_catalog_but_not_from_the_metastore() -> None:
    got = rows(
        _tree().who_can_access("table", "main.s.t", principal="alex@company.com"),
        "privilege",
        "granted_on_type",
        "granted_on",
        "inherited",
        "granted_to",
        "via",
    )
    assert got == [
        ("SELECT", "TABLE", "main.s.t", False, "Readers", "Readers"),
        ("USE_CATALOG", "CATALOG", "main", True, "Readers", "Readers"),
        ("USE_SCHEMA", "SCHEMA", "main.s", True, "Readers", "Readers"),
    ]


def test_external_location_passes_nothing_down_and_takes_nothing_from_above() -> None:
    got = rows(_tree().who_can_access("EXTERNAL_LOCATION", "landing"), "principal", "privilege", "inherited")
    assert got == [
        ("Readers", "READ_FILES", False),
        ("admin@company.com", "OWNER", False),
        ("alex@company.com", "READ_FILES", False),
    ]


def test_ownership_counts_on_the_object_only_and_reaches_group_members() -> None:
    acc = _tree()
    on_catalog = rows(
        acc.who_can_access("CATALOG", "main", privilege="OWNER"), "principal", "granted_to", "via"
    )
    assert on_catalog == [("Owners", "Owners", ""), ("jaya@company.com", "Owners", "Owners")]
    assert acc.who_can_access("SCHEMA", "main.s", principal="jaya@company.com").empty


def test_privileges_on_works_without_a_securables_table() -> None:
    _, t = _marketing()
    e = effective_grants(grants(("CATALOG", "main", "Employees", "GROUP", "SELECT")), t)
    got = rows(
        privileges_on(None, e, "TABLE", "main.s.t", principal="alex@company.com"),
        "privilege",
        "granted_on",
        "inherited",
        "via",
    )
    assert got == [("SELECT", "main", True, "Marketing > Employees")]


def test_expand_to_children_repeats_container_grants_on_every_child() -> None:
    acc = _tree()
    mine = acc.effective[(acc.effective["principal"] == "alex@company.com").to_numpy()]
    got = expand_to_children(mine, acc.securables)
    assert set(rows(got, "securable_type", "full_name", "privilege", "granted_on", "inherited")) == {
        ("METASTORE", "ms-1", "CREATE_CATALOG", "ms-1", False),
        ("CATALOG", "main", "USE_CATALOG", "main", False),
        ("SCHEMA", "main.s", "USE_CATALOG", "main", True),
        ("TABLE", "main.s.t", "USE_CATALOG", "main", True),
        ("VOLUME", "main.s.v", "USE_CATALOG", "main", True),
        ("SCHEMA", "main.s", "USE_SCHEMA", "main.s", False),
        ("TABLE", "main.s.t", "USE_SCHEMA", "main.s", True),
        ("VOLUME", "main.s.v", "USE_SCHEMA", "main.s", True),
        ("TABLE", "main.s.t", "SELECT", "main.s.t", False),
        ("EXTERNAL_LOCATION", "landing", "READ_FILES", "landing", False),
    }


def test_access_of_lists_grant_sites_and_optionally_children() -> None:
    acc = _tree()
    assert rows(acc.what_can("jaya@company.com"), "securable_type", "full_name", "privilege", "via") == [
        ("CATALOG", "main", "OWNER", "Owners")
    ]
    expanded = access_of("alex@company.com", acc.effective, acc.securables, expand_children=True)
    assert len(expanded) == 10 and expanded["inherited"].sum() == 5


# -- usability -----------------------------------------------------------------------------------


def test_seed_analysts_hold_select_but_cannot_use_it() -> None:
    acc = Access(seed_snapshot())
    got = rows(
        acc.usable("alex@company.com"),
        "securable_type",
        "full_name",
        "privilege",
        "inherited",
        "usable",
        "missing",
    )
    assert got == [
        (
            "TABLE",
            "datalake.finance.transactions",
            "SELECT",
            False,
            False,
            "USE CATALOG on datalake; USE SCHEMA on datalake.finance",
        )
    ]
    assert rows(acc.usable("jaya@company.com"), "usable", "missing") == [
        (False, "USE CATALOG on datalake; USE SCHEMA on datalake.finance")
    ]


def test_seed_data_engineers_inherit_select_but_lack_use_schema() -> None:
    acc = Access(seed_snapshot())
    got = acc.usable("DataEngineers.Prod", "TABLE", "datalake.sales_data.orders", "SELECT")
    assert rows(got, "principal", "inherited", "usable", "missing") == [
        ("DataEngineers.Prod", True, False, "USE SCHEMA on datalake.sales_data")
    ]
    factored = acc.usable("sam@company.com", level="schema")
    assert rows(factored, "securable_type", "full_name", "privilege", "usable", "missing") == [
        ("SCHEMA", "datalake.sales_data", "SELECT", False, "USE SCHEMA on datalake.sales_data")
    ]


def test_seed_why_names_the_group_and_what_is_missing() -> None:
    routes = Access(seed_snapshot()).why(
        "alex@company.com", "SELECT", "TABLE", "datalake.finance.transactions"
    )
    assert rows(routes, "held_as", "granted_on", "inherited", "granted_to", "via", "usable", "missing") == [
        (
            "SELECT",
            "datalake.finance.transactions",
            False,
            "Analysts.NonProd",
            "Analysts.NonProd",
            False,
            "USE CATALOG on datalake; USE SCHEMA on datalake.finance",
        )
    ]
    assert routes["route"].iloc[0] == (
        "SELECT on TABLE datalake.finance.transactions to Analysts.NonProd, "
        "held as a member of Analysts.NonProd"
    )


def test_why_is_empty_when_the_privilege_is_not_held() -> None:
    routes = Access(seed_snapshot()).why(
        "alex@company.com", "MODIFY", "TABLE", "datalake.finance.transactions"
    )
    assert routes.empty


def _usable_with(*extra: tuple[str, str, str, str, str], owners: tuple = (), members: tuple = ()) -> Access:
    return Access(
        snapshot(
            users=users("u@x.com"),
            memberships=memberships(*nest(Readers=["u@x.com"]), *members),
            securables=securables(
                ("CATALOG", "c", *owners[:2]),
                ("SCHEMA", "c.s", *owners[2:4]),
                ("TABLE", "c.s.t", *owners[4:6], "MANAGED"),
                ("TABLE", "c.s.vw", None, None, "VIEW"),
                ("VOLUME", "c.s.v"),
                ("FUNCTION", "c.s.f"),
            ),
            grants=grants(*extra),
        )
    )


def test_select_with_use_catalog_and_use_schema_is_usable() -> None:
    acc = _usable_with(
        ("CATALOG", "c", "Readers", "GROUP", "USE_CATALOG"),
        ("SCHEMA", "c.s", "u@x.com", "USER", "USE_SCHEMA"),
        ("TABLE", "c.s.t", "Readers", "GROUP", "SELECT"),
    )
    assert rows(acc.usable("u@x.com"), "full_name", "privilege", "usable", "missing") == [
        ("c.s.t", "SELECT", True, "")
    ]


def test_use_schema_granted_on_the_catalog_covers_every_schema() -> None:
    acc = _usable_with(
        ("CATALOG", "c", "Readers", "GROUP", "USE_CATALOG"),
        ("CATALOG", "c", "Readers", "GROUP", "USE_SCHEMA"),
        ("SCHEMA", "c.s", "Readers", "GROUP", "SELECT"),
    )
    got = acc.usable("u@x.com", privilege="SELECT")
    assert rows(got, "securable_type", "full_name", "inherited", "usable") == [
        ("TABLE", "c.s.t", True, True),
        ("TABLE", "c.s.vw", True, True),
    ]


def test_all_privileges_on_the_catalog_gives_use_and_every_data_privilege() -> None:
    acc = _usable_with(("CATALOG", "c", "Readers", "GROUP", "ALL_PRIVILEGES"))
    got = acc.usable("u@x.com")
    assert rows(got, "full_name", "privilege", "usable") == [
        ("c.s.f", "EXECUTE", True),
        ("c.s.t", "SELECT", True),
        ("c.s.t", "MODIFY", True),
        ("c.s.v", "READ_VOLUME", True),
        ("c.s.v", "WRITE_VOLUME", True),
        ("c.s.vw", "SELECT", True),
    ]


def test_all_privileges_on_a_table_needs_use_on_its_parents() -> None:
    acc = _usable_with(("TABLE", "c.s.t", "u@x.com", "USER", "ALL_PRIVILEGES"))
    assert rows(acc.usable("u@x.com"), "privilege", "usable", "missing") == [
        ("SELECT", False, "USE CATALOG on c; USE SCHEMA on c.s"),
        ("MODIFY", False, "USE CATALOG on c; USE SCHEMA on c.s"),
    ]


def test_all_privileges_on_a_view_gives_select_not_modify() -> None:
    acc = _usable_with(("TABLE", "c.s.vw", "u@x.com", "USER", "ALL_PRIVILEGES"))
    assert rows(acc.usable("u@x.com"), "full_name", "privilege") == [("c.s.vw", "SELECT")]


def test_all_privileges_does_not_include_manage() -> None:
    acc = _usable_with(("TABLE", "c.s.t", "u@x.com", "USER", "ALL_PRIVILEGES"))
    assert acc.why("u@x.com", "MANAGE", "TABLE", "c.s.t").empty
    assert rows(acc.why("u@x.com", "SELECT", "TABLE", "c.s.t"), "held_as", "usable") == [
        ("ALL_PRIVILEGES", False)
    ]


def test_owning_catalog_and_schema_through_a_group_satisfies_use() -> None:
    acc = _usable_with(
        ("TABLE", "c.s.t", "u@x.com", "USER", "SELECT"), owners=("Readers", "GROUP", "u@x.com", "USER")
    )
    assert rows(acc.usable("u@x.com", full_name="c.s.t"), "privilege", "usable", "missing") == [
        ("SELECT", True, "")
    ]


def test_owner_of_a_table_holds_its_privileges_but_still_needs_use() -> None:
    acc = _usable_with(
        ("CATALOG", "c", "Readers", "GROUP", "USE_CATALOG"),
        owners=(None, None, None, None, "u@x.com", "USER"),
    )
    got = acc.usable("u@x.com")
    assert rows(got, "full_name", "privilege", "usable", "missing") == [
        ("c.s.t", "SELECT", False, "USE SCHEMA on c.s"),
        ("c.s.t", "MODIFY", False, "USE SCHEMA on c.s"),
    ]
    assert rows(acc.why("u@x.com", "MODIFY", "TABLE", "c.s.t"), "held_as", "via") == [("OWNER", "")]


def test_use_through_account_users_and_data_privilege_through_a_group() -> None:
    acc = _usable_with(
        ("CATALOG", "c", "account users", "ACCOUNT_USERS", "USE_CATALOG"),
        ("SCHEMA", "c.s", "account users", "ACCOUNT_USERS", "USE_SCHEMA"),
        ("VOLUME", "c.s.v", "Readers", "GROUP", "READ_VOLUME"),
        ("FUNCTION", "c.s.f", "u@x.com", "USER", "EXECUTE"),
    )
    assert rows(acc.usable("u@x.com"), "securable_type", "privilege", "usable") == [
        ("FUNCTION", "EXECUTE", True),
        ("VOLUME", "READ_VOLUME", True),
    ]
    routes = acc.why("u@x.com", "USE_CATALOG", "TABLE", "c.s.t")
    assert rows(routes, "granted_to", "via", "inherited") == [("account users", "account users", True)]
    assert routes["usable"].isna().all()  # not a data privilege: no usability verdict


def test_deactivated_user_still_holds_grants_and_is_flagged_in_users() -> None:
    snap = snapshot(
        users=users("old@x.com", inactive=["old@x.com"]),
        memberships=memberships(*nest(R=["old@x.com"])),
        securables=securables(("TABLE", "c.s.t")),
        grants=grants(("TABLE", "c.s.t", "R", "GROUP", "SELECT")),
    )
    assert rows(Access(snap).what_can("old@x.com"), "full_name", "privilege") == [("c.s.t", "SELECT")]
    assert not snap.users.set_index("user_name").loc["old@x.com", "active"]


def test_usability_levels_and_privilege_filter() -> None:
    s = seed_snapshot()
    t = transitive_memberships(s.memberships)
    e = effective_grants(s.grants, t, s.users)
    o = effective_owners(s.securables, t)
    schema_level = usability(e, s.securables, privileges=["select"])
    assert rows(schema_level, "principal", "securable_type", "full_name") == [
        ("Analysts.NonProd", "TABLE", "datalake.finance.transactions"),
        ("DataEngineers.Prod", "SCHEMA", "datalake.sales_data"),
        ("alex@company.com", "TABLE", "datalake.finance.transactions"),
        ("jaya@company.com", "TABLE", "datalake.finance.transactions"),
        ("sam@company.com", "SCHEMA", "datalake.sales_data"),
    ]
    with_owner = usability(e, s.securables, o, level="object", principal="admin@company.com")
    assert set(rows(with_owner, "full_name", "privilege", "usable")) == {
        ("datalake.finance.transactions", "SELECT", True),
        ("datalake.finance.transactions", "MODIFY", True),
        ("datalake.sales_data.orders", "SELECT", True),
        ("datalake.sales_data.orders", "MODIFY", True),
        ("datalake.sales_data.pipelines", "READ_VOLUME", True),
        ("datalake.sales_data.pipelines", "WRITE_VOLUME", True),
    }
    with pytest.raises(InvalidInput, match="Not a data privilege"):
        usability(e, s.securables, privileges=["USE_CATALOG"])


def test_why_accepts_sql_spellings_and_lists_every_route() -> None:
    acc = _usable_with(
        ("CATALOG", "c", "Readers", "GROUP", "SELECT"),
        ("TABLE", "c.s.t", "u@x.com", "USER", "SELECT"),
        ("SCHEMA", "c.s", "Readers", "GROUP", "ALL_PRIVILEGES"),
    )
    routes = why("u@x.com", "select", "table", "c.s.t", acc.effective, acc.securables, acc.owners)
    assert rows(routes, "held_as", "granted_on_type", "inherited", "granted_to") == [
        ("ALL_PRIVILEGES", "SCHEMA", True, "Readers"),
        ("SELECT", "TABLE", False, "u@x.com"),
        ("SELECT", "CATALOG", True, "Readers"),
    ]
    assert routes["missing"].iloc[0] == "USE CATALOG on c"


def test_access_uses_the_snapshot_closure_when_present() -> None:
    s = seed_snapshot()
    t = transitive_memberships(s.memberships)
    t = t[t["member_name"] != "jaya@company.com"]  # a snapshot-provided closure wins
    acc = Access(snapshot(**{**vars(s), "transitive_memberships": t}))
    assert set(acc.who_can_access("TABLE", "datalake.finance.transactions", "SELECT")["principal"]) == {
        "Analysts.NonProd",
        "alex@company.com",
    }
    assert rows(acc.groups_of("ALEX@company.com"), "group_name", "depth") == [("Analysts.NonProd", 1)]
    assert rows(acc.members_of("analysts.nonprod"), "member_name") == [("alex@company.com",)]


def test_access_accepts_a_dict_and_refuses_a_snapshot_without_grants() -> None:
    tables = {k: v for k, v in vars(seed_snapshot()).items()}
    assert len(Access(tables).who_can_access("CATALOG", "datalake")) == 3
    with pytest.raises(InvalidInput, match="no 'grants' table"):
        Access({"securables": tables["securables"]})


def test_access_uses_a_provided_effective_grants_table_and_gives_a_matrix() -> None:
    s = seed_snapshot()
    e = effective_grants(s.grants, transitive_memberships(s.memberships), s.users)
    e = e[e["principal"] != "jaya@company.com"]  # a snapshot-provided table wins
    acc = Access(snapshot(**{**vars(s), "effective_grants": e}))
    assert set(acc.who_can_access("TABLE", "datalake.finance.transactions", "SELECT")["principal"]) == {
        "Analysts.NonProd",
        "alex@company.com",
    }
    m = acc.matrix("schema", catalog="datalake", include_owner=False)
    assert m.loc["Analysts.NonProd", "datalake.finance"] == "SELECT"
    assert m.loc["DataEngineers.Prod", "datalake.sales_data"] == "SELECT, USE_CATALOG"

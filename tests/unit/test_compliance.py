"""Compliance rules on small hand-built snapshots: each rule fires on the bad case (the exact finding is
asserted) and stays silent on the good one; configuration, custom rules and the findings table."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping

import pandas as pd
import pytest

from scimkit import access, compliance, history
from scimkit.compliance import ComplianceConfig, evaluate, exceeds, rule, summary
from scimkit.errors import InvalidInput
from scimkit.schema import to_frame
from scimkit.snapshot import Snapshot

T0 = pd.Timestamp("2026-11-29T03:00:00Z")
T_PREV = pd.Timestamp("2026-11-22T03:00:00Z")
ACCOUNT = "acc-1"
MS = "ms-1"
OWNER_SP = "owner-sp"  # owns every securable unless a test says otherwise
PARENT_TYPE = {1: "CATALOG", 2: "SCHEMA", 3: "TABLE"}


# -- a small snapshot builder ------------------------------------------------------------------------


def build(
    *,
    users: Iterable[str] = (),
    inactive: Iterable[str] = (),
    synced: Iterable[str] = (),
    account_admins: Iterable[str] = (),
    sps: Mapping[str, str] | None = None,
    groups: Iterable[str] = (),
    members: Mapping[str, Iterable[str]] | None = None,
    grants: Iterable[tuple[str, str, str, str]] = (),
    owners: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    workspace_admins: Mapping[int, Iterable[str]] | None = None,
    assigned: Mapping[int, Iterable[str]] | None = None,
    unreadable_groups: Iterable[str] = (),
    when: pd.Timestamp = T0,
) -> Snapshot:
    """A Snapshot from a few names.

    members: {"Group": ["user@x", "OtherGroup", "sp-app-id"]}; grants: (securable_type, full_name, principal,
    "PRIV1,PRIV2"); owners: {full_name: owner} (default OWNER_SP; securables are created for every name in
    grants and owners, with their parents); synced: users and groups carrying an externalId."""
    users, inactive, synced = list(users), set(inactive), set(synced)
    sps = {OWNER_SP: "owner", **(sps or {})}
    members = {g: list(m) for g, m in (members or {}).items()}
    group_names = list(dict.fromkeys([*groups, *members]))
    for ms in members.values():
        group_names += [m for m in ms if m not in users and m not in sps and m not in group_names]
    kind_of = {
        **{u.lower(): "USER" for u in users},
        **{s.lower(): "SERVICE_PRINCIPAL" for s in sps},
        **{g.lower(): "GROUP" for g in group_names},
        "account users": "ACCOUNT_USERS",
    }

    def ptype(name: str) -> str:
        return kind_of.get(name.lower(), "UNKNOWN")

    def frame(table: str, rows: list[dict]) -> pd.DataFrame:
        return to_frame(table, rows, when, ACCOUNT)

    user_frame = frame(
        "users",
        [
            dict(
                user_name=u,
                user_id=f"u-{u}",
                display_name=u.split("@")[0],
                active=u not in inactive,
                external_id=f"ext-{u}" if u in synced else None,
                is_account_admin=u in set(account_admins),
            )
            for u in users
        ],
    )
    sp_frame = frame(
        "service_principals",
        [
            dict(
                application_id=a,
                sp_id=f"sp-{a}",
                display_name=d,
                active=a not in inactive,
                external_id=None,
                is_account_admin=False,
            )
            for a, d in sps.items()
        ],
    )
    group_frame = frame(
        "groups",
        [
            dict(
                group_name=g,
                group_id=f"g-{g}",
                external_id=f"ext-{g}" if g in synced else None,
                direct_member_count=len(members.get(g, [])),
            )
            for g in group_names
        ],
    )
    membership = frame(
        "memberships",
        [
            dict(group_name=g, member_type=ptype(m), member_name=m, group_id=f"g-{g}", member_id=f"id-{m}")
            for g, ms in members.items()
            for m in ms
        ],
    )
    transitive = access.transitive_memberships(membership)

    grant_rows = [
        dict(
            metastore_id=MS,
            securable_type=t,
            full_name=n,
            principal=p,
            principal_type=ptype(p),
            privilege=priv,
        )
        for t, n, p, privs in grants
        for priv in privs.split(",")
    ]
    grant_frame = frame("grants", grant_rows)
    effective = access.effective_grants(grant_frame, transitive, user_frame, sp_frame)

    owners = dict(owners or {})
    named = {n: t for t, n, _, _ in grants} | {n: PARENT_TYPE[len(n.split("."))] for n in owners if n}
    securables = {}
    for name, stype in named.items():
        parts = name.split(".")
        for depth in range(1, len(parts)):
            securables.setdefault(".".join(parts[:depth]), PARENT_TYPE[depth])
        securables[name] = stype
    sec_rows = []
    for name, stype in securables.items():
        parts, owner = name.split("."), owners.get(name, OWNER_SP)
        sec_rows.append(
            dict(
                metastore_id=MS,
                securable_type=stype,
                full_name=name,
                parent_full_name=".".join(parts[:-1]) or None,
                catalog_name=parts[0],
                schema_name=parts[1] if len(parts) > 1 else None,
                owner=owner,
                owner_type=ptype(owner),
                kind=(kinds or {}).get(name),
            )
        )
    admin_rows = [
        dict(principal_type="USER", principal_name=u, role="account_admin", workspace_id=0)
        for u in account_admins
    ]
    admin_rows += [
        dict(principal_type=ptype(p), principal_name=p, role="workspace_admin", workspace_id=ws)
        for ws, ps in (workspace_admins or {}).items()
        for p in ps
    ]
    workspace_ids = sorted({*(workspace_admins or {}), *(assigned or {})})
    assignment_rows = [
        dict(
            workspace_id=ws,
            principal_type=ptype(p),
            principal_name=p,
            principal_id=f"id-{p}",
            permission="ADMIN",
        )
        for ws, ps in (workspace_admins or {}).items()
        for p in ps
    ]
    assignment_rows += [
        dict(
            workspace_id=ws,
            principal_type=ptype(p),
            principal_name=p,
            principal_id=f"id-{p}",
            permission="USER",
        )
        for ws, ps in (assigned or {}).items()
        for p in ps
    ]
    return Snapshot(
        snapshot_time=when,
        account_id=ACCOUNT,
        users=user_frame,
        service_principals=sp_frame,
        groups=group_frame,
        admin_roles=frame("admin_roles", admin_rows),
        memberships=membership,
        transitive_memberships=transitive,
        workspaces=frame(
            "workspaces",
            [
                dict(
                    workspace_id=ws,
                    workspace_name=f"ws-{ws}",
                    deployment_name=None,
                    metastore_id=MS,
                    status="RUNNING",
                )
                for ws in workspace_ids
            ],
        ),
        workspace_assignments=frame("workspace_assignments", assignment_rows),
        securables=frame("securables", sec_rows),
        grants=grant_frame,
        effective_grants=effective,
        completeness=frame(
            "completeness",
            [
                dict(
                    object_type="group", object_name=g, operation="groups.get", error="429 Too Many Requests"
                )
                for g in unreadable_groups
            ],
        ),
    )


def found(snapshot: Snapshot, rule_id: str, previous: Snapshot | None = None, **params) -> list[dict]:
    """The findings of one rule, as dicts of the columns a reader checks."""
    findings = evaluate(snapshot, {"rules": {rule_id: params}}, previous=previous)
    findings = findings[findings["rule"] == rule_id]
    cols = ["principal", "principal_type", "securable_type", "securable", "detail", "remediation"]
    return findings[cols].to_dict("records")


def one(snapshot: Snapshot, rule_id: str, previous: Snapshot | None = None, **params) -> dict:
    rows = found(snapshot, rule_id, previous, **params)
    assert len(rows) == 1, rows
    return rows[0]


# -- direct_user_grant ---------------------------------------------------------------------------------

LEDGER = "prod_finance.ledger.general_ledger"


def test_direct_user_grant_fires_and_names_a_group_to_move_it_to():
    snap = build(
        users=["jakob.dubois@company.com"],
        members={"Finance.Readers": ["jakob.dubois@company.com"]},
        grants=[
            ("TABLE", LEDGER, "jakob.dubois@company.com", "SELECT"),
            ("CATALOG", "prod_finance", "Finance.Readers", "USE_CATALOG"),
        ],
    )
    assert one(snap, "direct_user_grant") == dict(
        principal="jakob.dubois@company.com",
        principal_type="USER",
        securable_type="TABLE",
        securable=LEDGER,
        detail=f"SELECT on TABLE {LEDGER} granted directly to user jakob.dubois@company.com; "
        "no group of theirs gives it",
        remediation=f"REVOKE SELECT ON TABLE {LEDGER} FROM `jakob.dubois@company.com`; -- then grant it to a group "
        f"the user belongs to: GRANT SELECT ON TABLE {LEDGER} TO `Finance.Readers`",
    )


def test_direct_user_grant_says_when_a_group_already_gives_it():
    snap = build(
        users=["jakob@x.com"],
        members={"Finance.Readers": ["jakob@x.com"]},
        grants=[
            ("TABLE", LEDGER, "jakob@x.com", "SELECT,MODIFY"),
            ("SCHEMA", "prod_finance.ledger", "Finance.Readers", "SELECT"),
        ],
    )
    finding = one(snap, "direct_user_grant")
    assert finding["detail"].endswith(
        "SELECT already given through Finance.Readers (SELECT on SCHEMA prod_finance.ledger)"
    )
    # Only the privilege no group gives is moved to the group.
    assert finding["remediation"] == (
        f"REVOKE MODIFY, SELECT ON TABLE {LEDGER} FROM `jakob@x.com`; -- then grant it to a group the user "
        f"belongs to: GRANT MODIFY ON TABLE {LEDGER} TO `Finance.Readers`"
    )


def test_direct_user_grant_fully_redundant_and_without_any_group():
    covered = build(
        users=["a@x.com"],
        members={"Everyone": ["a@x.com"]},
        grants=[
            ("TABLE", LEDGER, "a@x.com", "SELECT"),
            ("CATALOG", "prod_finance", "Everyone", "ALL_PRIVILEGES"),
        ],
    )
    assert one(covered, "direct_user_grant")["remediation"] == (
        f"REVOKE SELECT ON TABLE {LEDGER} FROM `a@x.com`; -- redundant: a group of the user already gives it"
    )
    alone = build(users=["a@x.com"], grants=[("TABLE", LEDGER, "a@x.com", "SELECT")])
    assert one(alone, "direct_user_grant")["remediation"].endswith(
        f"-- then add the user to a group and grant it there: GRANT SELECT ON TABLE {LEDGER} TO `<group>`"
    )


def test_direct_user_grant_silent_for_group_grants_and_deactivated_users():
    snap = build(
        users=["a@x.com", "gone@x.com"],
        inactive=["gone@x.com"],
        members={"Readers": ["a@x.com"]},
        grants=[("TABLE", LEDGER, "Readers", "SELECT"), ("TABLE", LEDGER, "gone@x.com", "SELECT")],
    )
    assert found(snap, "direct_user_grant") == []


# -- deactivated_principal_access --------------------------------------------------------------------------

ACCOUNTS = "prod_sales.crm.accounts"


def test_deactivated_user_with_grants_memberships_and_ownership():
    snap = build(
        users=["aisha.ortiz@company.com"],
        inactive=["aisha.ortiz@company.com"],
        synced=["Sales.EMEA"],
        members={
            "Sales.EMEA": ["aisha.ortiz@company.com"],
            "Sales.Ops": ["aisha.ortiz@company.com"],
            "Sales.Owners": [OWNER_SP],
        },
        grants=[("TABLE", ACCOUNTS, "aisha.ortiz@company.com", "SELECT,MODIFY")],
        owners={"prod_sales.crm": "Sales.Owners", "prod_sales.crm.forecast": "aisha.ortiz@company.com"},
    )
    assert found(snap, "deactivated_principal_access") == [
        dict(
            principal="aisha.ortiz@company.com",
            principal_type="USER",
            securable_type=None,
            securable=None,
            detail="deactivated user is still a member of Sales.EMEA, Sales.Ops",
            remediation="Remove aisha.ortiz@company.com from groups Sales.EMEA, Sales.Ops (Sales.EMEA in the identity "
            "provider: synced groups)",
        ),
        dict(
            principal="aisha.ortiz@company.com",
            principal_type="USER",
            securable_type="TABLE",
            securable=ACCOUNTS,
            detail=f"deactivated user still holds MODIFY, SELECT on TABLE {ACCOUNTS}",
            remediation=f"REVOKE MODIFY, SELECT ON TABLE {ACCOUNTS} FROM `aisha.ortiz@company.com`;",
        ),
        dict(
            principal="aisha.ortiz@company.com",
            principal_type="USER",
            securable_type="TABLE",
            securable="prod_sales.crm.forecast",
            detail="deactivated user still owns TABLE prod_sales.crm.forecast",
            remediation="ALTER TABLE prod_sales.crm.forecast OWNER TO `Sales.Owners` -- the owner of schema "
            "prod_sales.crm",
        ),
    ]


def test_deactivated_service_principal_and_synced_only_membership():
    snap = build(
        sps={"app-1": "old-job"},
        inactive=["app-1"],
        users=["u@x.com"],
        synced=["Jobs"],
        members={"Jobs": ["app-1", "u@x.com"]},
    )
    assert one(snap, "deactivated_principal_access") == dict(
        principal="app-1",
        principal_type="SERVICE_PRINCIPAL",
        securable_type=None,
        securable=None,
        detail="deactivated service principal is still a member of Jobs",
        remediation="Remove app-1 from group Jobs in the identity provider (synced: a change made only in "
        "Databricks is undone by the next sync)",
    )


def test_deactivated_user_holding_nothing_is_silent():
    snap = build(
        users=["gone@x.com", "here@x.com"],
        inactive=["gone@x.com"],
        members={"Team": ["here@x.com"]},
        grants=[("TABLE", ACCOUNTS, "here@x.com", "SELECT")],
        owners={"prod_sales.crm": "here@x.com"},
    )
    assert found(snap, "deactivated_principal_access") == []


# -- user_in_no_group -------------------------------------------------------------------------------------


def test_user_in_no_group_fires_for_active_users_only():
    snap = build(
        users=["anton@x.com", "david@x.com", "member@x.com", "gone@x.com"],
        synced=["anton@x.com"],
        inactive=["gone@x.com"],
        members={"Team": ["member@x.com"]},
    )
    assert found(snap, "user_in_no_group") == [
        dict(
            principal="anton@x.com",
            principal_type="USER",
            securable_type=None,
            securable=None,
            detail="active user (synced from the identity provider) who belongs to no group",
            remediation="Add anton@x.com to the groups their role needs (in the identity provider), or deactivate "
            "the user if they no longer need access",
        ),
        dict(
            principal="david@x.com",
            principal_type="USER",
            securable_type=None,
            securable=None,
            detail="active user (created in Databricks) who belongs to no group",
            remediation="Add david@x.com to the groups their role needs (in the account console), or deactivate "
            "the user if they no longer need access",
        ),
    ]


def test_user_in_a_group_is_silent():
    assert found(build(users=["a@x.com"], members={"Team": ["a@x.com"]}), "user_in_no_group") == []


# -- empty_group ------------------------------------------------------------------------------------------


def test_empty_group_still_holding_grants():
    snap = build(
        groups=["Legacy.Reporting"],
        grants=[
            ("CATALOG", "prod_finance", "Legacy.Reporting", "USE_CATALOG"),
            ("SCHEMA", "prod_finance.reporting", "Legacy.Reporting", "USE_SCHEMA,SELECT"),
        ],
    )
    assert one(snap, "empty_group") == dict(
        principal="Legacy.Reporting",
        principal_type="GROUP",
        securable_type=None,
        securable=None,
        detail="group Legacy.Reporting has no members; it still holds grants on prod_finance, prod_finance.reporting",
        remediation="REVOKE USE CATALOG ON CATALOG prod_finance FROM `Legacy.Reporting`; REVOKE SELECT, USE SCHEMA "
        "ON SCHEMA prod_finance.reporting FROM `Legacy.Reporting`; -- then: Delete the empty group "
        "Legacy.Reporting or add members",
    )


def test_empty_synced_group_without_grants():
    assert one(build(groups=["Old"], synced=["Old"]), "empty_group")["remediation"] == (
        "Delete the empty group Old in the identity provider (it is synced) or add members"
    )


def test_group_with_members_or_unreadable_members_is_not_empty():
    snap = build(
        users=["a@x.com"], groups=["Unread"], members={"Team": ["a@x.com"]}, unreadable_groups=["Unread"]
    )
    assert found(snap, "empty_group") == []


# -- group_without_grants -------------------------------------------------------------------------------


def test_group_without_grants_fires_and_names_the_parent_that_gives_access():
    snap = build(
        users=["i1@x.com", "i2@x.com", "m@x.com"],
        members={
            "Marketing": ["m@x.com", "Marketing.Interns"],
            "Marketing.Interns": ["i1@x.com", "i2@x.com"],
        },
        grants=[("CATALOG", "marketing", "Marketing", "USE_CATALOG,SELECT")],
    )
    assert one(snap, "group_without_grants") == dict(
        principal="Marketing.Interns",
        principal_type="GROUP",
        securable_type=None,
        securable=None,
        detail="group Marketing.Interns (2 members) holds no grant, owns nothing and is assigned to no workspace; "
        "its members get access only through Marketing",
        remediation="Delete the group Marketing.Interns if it has no purpose, or grant it what its members need: "
        "GRANT <privilege> ON <securable> TO `Marketing.Interns`",
    )


def test_groups_that_grant_own_or_are_assigned_and_empty_groups_are_silent():
    snap = build(
        users=["a@x.com"],
        groups=["Empty"],
        members={
            "Granted": ["a@x.com"],
            "Owner": ["a@x.com"],
            "Assigned": ["a@x.com"],
            "Admins": ["a@x.com"],
        },
        grants=[("CATALOG", "c", "Granted", "USE_CATALOG")],
        owners={"c.s": "Owner"},
        assigned={1: ["Assigned"]},
        workspace_admins={1: ["Admins"]},
    )
    assert found(snap, "group_without_grants") == []


# -- broad_group_privileges ---------------------------------------------------------------------------------


def test_all_privileges_to_a_large_group_and_manage_to_account_users():
    people = ["a@x.com", "b@x.com", "c@x.com"]
    snap = build(
        users=people,
        members={"Engineering": ["a@x.com", "Backend"], "Backend": ["b@x.com", "c@x.com"]},
        grants=[
            ("CATALOG", "dev_sandbox", "Engineering", "ALL_PRIVILEGES"),
            ("TABLE", "main.s.t", "account users", "MANAGE"),
        ],
    )
    assert found(snap, "broad_group_privileges", threshold=2) == [
        dict(
            principal="account users",
            principal_type="ACCOUNT_USERS",
            securable_type="TABLE",
            securable="main.s.t",
            detail="MANAGE on TABLE main.s.t granted to account users (every user and service principal of the "
            "account)",
            remediation="REVOKE MANAGE ON TABLE main.s.t FROM `account users`; -- then grant only the privileges "
            "the group needs (e.g. USE CATALOG, USE SCHEMA, SELECT) and keep ALL PRIVILEGES / MANAGE "
            "with a small owning group",
        ),
        dict(
            principal="Engineering",
            principal_type="GROUP",
            securable_type="CATALOG",
            securable="dev_sandbox",
            detail="ALL_PRIVILEGES on CATALOG dev_sandbox granted to group Engineering with 3 members (threshold 2)",
            remediation="REVOKE ALL PRIVILEGES ON CATALOG dev_sandbox FROM `Engineering`; -- then grant only the "
            "privileges the group needs (e.g. USE CATALOG, USE SCHEMA, SELECT) and keep ALL PRIVILEGES "
            "/ MANAGE with a small owning group",
        ),
    ]


def test_small_groups_and_narrow_privileges_are_silent():
    snap = build(
        users=["a@x.com", "b@x.com"],
        members={"Team": ["a@x.com", "b@x.com"]},
        grants=[
            ("CATALOG", "dev", "Team", "ALL_PRIVILEGES"),
            ("CATALOG", "dev", "account users", "USE_CATALOG"),
        ],
    )
    assert found(snap, "broad_group_privileges", threshold=2) == []  # 2 members is not more than 2


# -- securable_owned_by_user -------------------------------------------------------------------------------


def test_securable_owned_by_a_user():
    # The schema's owner is deactivated, so the suggested new owner is the catalog's group.
    snap = build(
        users=["clara@x.com", "gone@x.com"],
        inactive=["gone@x.com"],
        members={"Sales.Owners": [OWNER_SP]},
        owners={
            "prod_sales": "Sales.Owners",
            "prod_sales.forecasts": "gone@x.com",
            "prod_sales.forecasts.q4": "clara@x.com",
        },
        kinds={"prod_sales.forecasts.q4": "VIEW"},
    )
    assert one(snap, "securable_owned_by_user") == dict(
        principal="clara@x.com",
        principal_type="USER",
        securable_type="TABLE",
        securable="prod_sales.forecasts.q4",
        detail="TABLE prod_sales.forecasts.q4 is owned by the user clara@x.com",
        remediation="ALTER VIEW prod_sales.forecasts.q4 OWNER TO `Sales.Owners` -- the owner of catalog prod_sales",
    )


def test_securables_owned_by_groups_sps_or_deactivated_users_are_silent_here():
    snap = build(
        users=["gone@x.com"],
        inactive=["gone@x.com"],
        members={"Owners": [OWNER_SP]},
        owners={"c": "Owners", "c.s": OWNER_SP, "c.s.t": "gone@x.com"},
    )
    assert found(snap, "securable_owned_by_user") == []


# -- granted_not_usable ------------------------------------------------------------------------------------

TRANSACTIONS = "datalake.finance.transactions"


def test_granted_but_not_usable():
    snap = build(
        users=["jaya@x.com"],
        members={"Analysts.NonProd": ["jaya@x.com"]},
        grants=[("TABLE", TRANSACTIONS, "Analysts.NonProd", "SELECT")],
    )
    assert one(snap, "granted_not_usable") == dict(
        principal="Analysts.NonProd",
        principal_type="GROUP",
        securable_type="TABLE",
        securable=TRANSACTIONS,
        detail=f"SELECT on TABLE {TRANSACTIONS} granted to group Analysts.NonProd without USE CATALOG on datalake "
        "and USE SCHEMA on datalake.finance",
        remediation="GRANT USE CATALOG ON CATALOG datalake TO `Analysts.NonProd`; GRANT USE SCHEMA ON SCHEMA "
        "datalake.finance TO `Analysts.NonProd`; -- or, if it is not needed: REVOKE SELECT ON TABLE "
        f"{TRANSACTIONS} FROM `Analysts.NonProd`",
    )


def test_catalog_grant_without_use_catalog():
    snap = build(
        users=["a@x.com"],
        members={"Readers": ["a@x.com"]},
        grants=[("CATALOG", "sales", "Readers", "SELECT,USE_SCHEMA")],
        owners={"sales.s1": OWNER_SP},
    )
    assert one(snap, "granted_not_usable") == dict(
        principal="Readers",
        principal_type="GROUP",
        securable_type="CATALOG",
        securable="sales",
        detail="SELECT on CATALOG sales granted to group Readers without USE CATALOG on sales",
        remediation="GRANT USE CATALOG ON CATALOG sales TO `Readers`; -- or, if it is not needed: "
        "REVOKE SELECT ON CATALOG sales FROM `Readers`",
    )


def test_usable_through_a_parent_group_or_account_users_is_silent():
    snap = build(
        users=["a@x.com"],
        members={"Analysts": ["a@x.com", "Analysts.NonProd"], "Analysts.NonProd": []},
        grants=[
            ("TABLE", TRANSACTIONS, "Analysts.NonProd", "SELECT"),
            ("CATALOG", "datalake", "account users", "USE_CATALOG"),
            ("SCHEMA", "datalake.finance", "Analysts", "USE_SCHEMA"),
            ("TABLE", "datalake.finance.ledger", "a@x.com", "SELECT"),
        ],
    )
    assert found(snap, "granted_not_usable") == []


# -- admin_inventory and too_many_admins ----------------------------------------------------------------------


def test_admin_inventory_lists_every_admin():
    snap = build(
        users=["ana@x.com", "b@x.com"],
        account_admins=["ana@x.com"],
        members={"Platform.Admins": ["b@x.com"]},
        workspace_admins={7: ["Platform.Admins"]},
    )
    assert found(snap, "admin_inventory") == [
        dict(
            principal="ana@x.com",
            principal_type="USER",
            securable_type="ACCOUNT",
            securable=ACCOUNT,
            detail="user ana@x.com is an account admin",
            remediation="If ana@x.com no longer needs it, remove the account admin role (account console > User "
            "management > Roles)",
        ),
        dict(
            principal="Platform.Admins",
            principal_type="GROUP",
            securable_type="WORKSPACE",
            securable="ws-7",
            detail="group Platform.Admins is a workspace admin of ws-7 (7); every one of its 1 member(s) holds the role",
            remediation="If Platform.Admins no longer needs it, set their permission on workspace ws-7 to USER "
            "(account console > Workspaces > Permissions)",
        ),
    ]
    assert found(build(users=["a@x.com"]), "admin_inventory") == []


def test_too_many_admins_counts_group_members_once_and_skips_deactivated():
    people = ["a@x.com", "b@x.com", "c@x.com", "gone@x.com"]
    snap = build(
        users=people,
        inactive=["gone@x.com"],
        account_admins=["a@x.com", "b@x.com"],
        members={"Admins": ["b@x.com", "c@x.com", "gone@x.com"]},
        workspace_admins={7: ["Admins", "b@x.com"]},
    )
    rows = found(snap, "too_many_admins", account_admin_threshold=1, workspace_admin_threshold=2)
    assert rows == [
        dict(
            principal=None,
            principal_type=None,
            securable_type="ACCOUNT",
            securable=ACCOUNT,
            detail="2 account admins (threshold 1): a@x.com, b@x.com",
            remediation="Reduce the account admins to at most 1: remove the role from those who do not need it "
            "(and from groups that grant it to many)",
        ),
    ]
    assert found(snap, "too_many_admins", account_admin_threshold=2, workspace_admin_threshold=1)[0][
        "detail"
    ] == ("2 workspace admins of ws-7 (threshold 1): b@x.com, c@x.com")
    assert found(snap, "too_many_admins") == []  # defaults: 5 and 5


# -- sp_write_on_production --------------------------------------------------------------------------------


def test_service_principal_writes_on_production_directly_and_through_a_group():
    snap = build(
        sps={"app-etl": "etl-prod-runner", "app-bi": "bi-refresh"},
        members={"Service.Accounts": ["app-bi"]},
        grants=[
            ("CATALOG", "prod_sales", "app-etl", "USE_CATALOG,SELECT,MODIFY"),
            ("VOLUME", "sales_prod.raw.landing", "Service.Accounts", "READ_VOLUME,WRITE_VOLUME"),
        ],
    )
    assert found(snap, "sp_write_on_production") == [
        dict(
            principal="app-bi",
            principal_type="SERVICE_PRINCIPAL",
            securable_type="VOLUME",
            securable="sales_prod.raw.landing",
            detail="service principal bi-refresh (app-bi) holds WRITE_VOLUME on production VOLUME "
            "sales_prod.raw.landing, through group Service.Accounts",
            remediation="REVOKE WRITE VOLUME ON VOLUME sales_prod.raw.landing FROM `Service.Accounts`; -- or remove "
            "app-bi from group Service.Accounts",
        ),
        dict(
            principal="app-etl",
            principal_type="SERVICE_PRINCIPAL",
            securable_type="CATALOG",
            securable="prod_sales",
            detail="service principal etl-prod-runner (app-etl) holds MODIFY on production CATALOG prod_sales, "
            "granted directly",
            remediation="REVOKE MODIFY ON CATALOG prod_sales FROM `app-etl`; -- then grant the narrowest write it "
            "needs",
        ),
    ]


def test_reads_non_production_and_allowed_service_principals_are_silent():
    snap = build(
        sps={"app-etl": "etl-prod-runner", "app-dev": "dev-job"},
        grants=[
            ("CATALOG", "prod_sales", "app-etl", "USE_CATALOG,SELECT"),
            ("CATALOG", "nonprod_sales", "app-dev", "MODIFY"),
            ("CATALOG", "product", "app-dev", "MODIFY"),
            ("SCHEMA", "prod_sales.s", "app-dev", "MODIFY"),
        ],
    )
    assert found(snap, "sp_write_on_production", allowed_service_principals=["dev-job"]) == []
    assert [
        r["securable"] for r in found(snap, "sp_write_on_production", production_catalog_pattern="^nonprod")
    ] == ["nonprod_sales"]


# -- missing_principal ------------------------------------------------------------------------------------


def test_grants_to_and_ownership_by_principals_that_no_longer_exist():
    snap = build(
        members={"Crm.Owners": [OWNER_SP]},
        grants=[("SCHEMA", "prod_sales.crm", "old.contractor@company.com", "USE_SCHEMA,SELECT")],
        owners={"prod_sales.crm": "Crm.Owners", "prod_sales.crm.leads": "BI.Legacy"},
    )
    assert found(snap, "missing_principal") == [
        dict(
            principal="BI.Legacy",
            principal_type="UNKNOWN",
            securable_type="TABLE",
            securable="prod_sales.crm.leads",
            detail="TABLE prod_sales.crm.leads is owned by BI.Legacy, which is no user, group or service principal "
            "of the account",
            remediation="ALTER TABLE prod_sales.crm.leads OWNER TO `Crm.Owners` -- the owner of schema prod_sales.crm",
        ),
        dict(
            principal="old.contractor@company.com",
            principal_type="UNKNOWN",
            securable_type="SCHEMA",
            securable="prod_sales.crm",
            detail="SELECT, USE_SCHEMA on SCHEMA prod_sales.crm granted to old.contractor@company.com, which is no "
            "user, group or service principal of the account",
            remediation="REVOKE SELECT, USE SCHEMA ON SCHEMA prod_sales.crm FROM `old.contractor@company.com`;",
        ),
    ]


def test_grants_to_existing_principals_are_silent():
    snap = build(
        users=["a@x.com"],
        grants=[("SCHEMA", "s.crm", "a@x.com", "SELECT"), ("SCHEMA", "s.crm", "account users", "USE_SCHEMA")],
    )
    assert found(snap, "missing_principal") == []


# -- access_widened ------------------------------------------------------------------------------------------


def _account(new_member: bool, new_grant: bool, when: pd.Timestamp) -> Snapshot:
    admins = ["old@x.com", "new@x.com"] if new_member else ["old@x.com"]
    readers = ["old@x.com", "new@x.com"]  # Readers holds SELECT only: not privileged
    grants = [("CATALOG", "prod", "Writers", "MODIFY"), ("CATALOG", "prod", "Readers", "SELECT")]
    if new_grant:
        grants.append(("TABLE", "prod.s.t", "new@x.com", "SELECT"))
    return build(
        users=["old@x.com", "new@x.com"],
        members={"Writers": admins, "Readers": readers},
        grants=grants,
        when=when,
    )


def test_access_widened_reports_new_grants_and_new_members_of_privileged_groups():
    previous = _account(new_member=False, new_grant=False, when=T_PREV)
    current = _account(new_member=True, new_grant=True, when=T0)
    assert found(current, "access_widened", previous=previous) == [
        dict(
            principal="new@x.com",
            principal_type="USER",
            securable_type=None,
            securable=None,
            detail="new member of the privileged group Writers since 2026-11-22T03:00:00+00:00",
            remediation="If not intended: Remove new@x.com from group Writers",
        ),
        dict(
            principal="new@x.com",
            principal_type="USER",
            securable_type="TABLE",
            securable="prod.s.t",
            detail="new grant since 2026-11-22T03:00:00+00:00: SELECT on TABLE prod.s.t to user new@x.com",
            remediation="If not intended: REVOKE SELECT ON TABLE prod.s.t FROM `new@x.com`;",
        ),
    ]


def test_access_widened_is_silent_without_previous_or_change():
    current = _account(new_member=True, new_grant=True, when=T0)
    assert found(current, "access_widened") == []
    same = dataclasses.replace(current, snapshot_time=T_PREV)
    assert found(current, "access_widened", previous=same) == []


# -- evaluate, configuration, custom rules --------------------------------------------------------------------


def _messy() -> Snapshot:
    return build(
        users=["a@x.com", "lonely@x.com"],
        members={"Team": ["a@x.com"]},
        groups=["Empty"],
        grants=[
            ("TABLE", "c.s.t", "a@x.com", "SELECT"),
            ("TABLE", "c.s.t", "ghost@x.com", "SELECT"),
            ("CATALOG", "c", "Team", "USE_CATALOG"),
        ],
    )


def test_evaluate_returns_the_findings_table_in_order():
    findings = evaluate(_messy())
    assert list(findings.columns) == compliance.FINDINGS_TABLE.column_names
    assert str(findings["snapshot_time"].dtype) == "datetime64[ns, UTC]"
    assert (findings["account_id"] == ACCOUNT).all() and (findings["schema_version"] == 1).all()
    assert findings["finding_id"].is_unique
    ranks = findings["severity"].map(compliance.SEVERITY_RANK)
    assert ranks.is_monotonic_increasing
    assert list(findings[["rule", "principal"]].itertuples(index=False, name=None)) == [
        ("missing_principal", "ghost@x.com"),
        ("direct_user_grant", "a@x.com"),
        ("empty_group", "Empty"),
        ("granted_not_usable", "a@x.com"),
        ("user_in_no_group", "lonely@x.com"),
    ]
    # The same problems keep their ids in a later snapshot.
    later = evaluate(dataclasses.replace(_messy(), snapshot_time=T0 + pd.Timedelta(days=7)))
    assert later["finding_id"].tolist() == findings["finding_id"].tolist()


def test_findings_survive_tables_read_back_with_string_dtypes():
    snap = _messy()
    stored = Snapshot.from_tables({name: history.conform(df, name) for name, df in snap.tables().items()})
    pd.testing.assert_frame_equal(evaluate(stored), evaluate(snap))


def test_summary_and_exceeds():
    findings = evaluate(_messy())
    assert summary(findings)[["severity", "rule", "findings"]].values.tolist() == [
        ["high", "missing_principal", 1],
        ["medium", "direct_user_grant", 1],
        ["low", "empty_group", 1],
        ["low", "granted_not_usable", 1],
        ["low", "user_in_no_group", 1],
    ]
    assert exceeds(findings, "high") and exceeds(findings, "critical") is False
    assert exceeds(evaluate(build()), "info") is False
    with pytest.raises(InvalidInput):
        exceeds(findings, "severe")


def test_disabled_rule_is_silent_and_severity_override_applies():
    findings = evaluate(
        _messy(),
        {"rules": {"missing_principal": {"enabled": False}, "user_in_no_group": {"severity": "critical"}}},
    )
    assert "missing_principal" not in set(findings["rule"])
    assert findings.iloc[0][["rule", "severity"]].tolist() == ["user_in_no_group", "critical"]


def test_config_from_json_and_toml_files_and_flat_parameters(tmp_path):
    (tmp_path / "c.json").write_text(
        json.dumps(
            {"rules": {"broad_group_privileges": {"threshold": 10}, "admin_inventory": {"enabled": False}}}
        )
    )
    (tmp_path / "c.toml").write_text(
        '[rules.broad_group_privileges]\nthreshold = 10\nseverity = "critical"\n'
    )
    from_json = ComplianceConfig.load(tmp_path / "c.json")
    from_toml = ComplianceConfig.load(str(tmp_path / "c.toml"))
    broad = compliance.RULES["broad_group_privileges"]
    assert from_json.resolve(broad)[2]["threshold"] == 10
    assert from_json.resolve(compliance.RULES["admin_inventory"])[0] is False
    assert from_toml.resolve(broad)[:2] == (True, "critical")
    # Flat parameters (notebook widgets give strings) laid over the file.
    merged = from_json.merged(
        {
            "broad_group_privileges.threshold": "20",
            "admin_inventory.enabled": "true",
            "sp_write_on_production.allowed_service_principals": "etl, bi",
        }
    )
    assert merged.resolve(broad)[2]["threshold"] == 20
    assert merged.resolve(compliance.RULES["admin_inventory"])[0] is True
    assert merged.resolve(compliance.RULES["sp_write_on_production"])[2]["allowed_service_principals"] == (
        "etl",
        "bi",
    )


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"rules": {"no_such_rule": {"enabled": False}}}, "rules.no_such_rule"),
        ({"broad_group_privileges.treshold": 5}, "rules.broad_group_privileges.treshold"),
        ({"broad_group_privileges.threshold": "many"}, "rules.broad_group_privileges.threshold"),
        ({"broad_group_privileges.severity": "urgent"}, "rules.broad_group_privileges.severity"),
        (
            {"sp_write_on_production.production_catalog_pattern": "(prod"},
            "rules.sp_write_on_production.production_catalog_pattern",
        ),
        ({"rulez": {}}, "rulez"),
    ],
)
def test_bad_configuration_names_the_field_and_the_fix(config, field):
    with pytest.raises(InvalidInput) as caught:
        evaluate(_messy(), config)
    assert caught.value.field == field
    assert caught.value.fix


def test_bad_configuration_file(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        ComplianceConfig.load(tmp_path / "bad.json")
    with pytest.raises(InvalidInput, match="does not exist"):
        ComplianceConfig.load(tmp_path / "missing.json")


@pytest.fixture
def custom_rule():
    @rule(
        id="outside_domain",
        severity="high",
        title="Users outside the company domain",
        rationale="Guests should reach data through a reviewed process.",
        params={"domain": "x.com"},
    )
    def outside_domain(snapshot, params, previous):
        users = snapshot.users[snapshot.users["active"]]
        guests = users[~users["user_name"].str.lower().str.endswith("@" + params["domain"])]
        return pd.DataFrame(
            {
                "principal": guests["user_name"],
                "principal_type": "USER",
                "detail": "active user outside " + params["domain"],
                "remediation": "Deactivate " + guests["user_name"],
            }
        )

    yield outside_domain
    compliance.unregister("outside_domain")


def test_custom_rule_registered_with_the_decorator_runs_in_evaluate(custom_rule):
    snap = build(users=["a@x.com", "guest@gmail.com"], members={"Team": ["a@x.com", "guest@gmail.com"]})
    assert one(snap, "outside_domain") == dict(
        principal="guest@gmail.com",
        principal_type="USER",
        securable_type=None,
        securable=None,
        detail="active user outside x.com",
        remediation="Deactivate guest@gmail.com",
    )
    assert found(snap, "outside_domain", domain="gmail.com") == [
        dict(
            principal="a@x.com",
            principal_type="USER",
            securable_type=None,
            securable=None,
            detail="active user outside gmail.com",
            remediation="Deactivate a@x.com",
        )
    ]
    assert one(snap, "outside_domain")["principal"] == "guest@gmail.com"
    findings = evaluate(snap, {"outside_domain.severity": "low"})
    assert findings.loc[findings["rule"] == "outside_domain", "severity"].tolist() == ["low"]


def test_custom_rule_cannot_silently_take_an_existing_id(custom_rule):
    with pytest.raises(InvalidInput, match="already registered"):
        rule(id="empty_group", severity="low", title="t", rationale="r")(lambda s, p, prev: pd.DataFrame())
    with pytest.raises(InvalidInput):
        rule(id="bad.id", severity="low", title="t", rationale="r")
    with pytest.raises(InvalidInput):
        rule(id="ok_id", severity="severe", title="t", rationale="r")


def test_custom_rule_must_return_a_frame_with_detail():
    @rule(id="broken_rule", severity="low", title="t", rationale="r")
    def broken(snapshot, params, previous):
        return pd.DataFrame({"principal": ["x"]})

    try:
        with pytest.raises(InvalidInput, match="broken_rule returned no 'detail'"):
            evaluate(build())
    finally:
        compliance.unregister("broken_rule")


def test_save_findings_in_the_snapshot_layout(tmp_path):
    findings = evaluate(_messy())
    root = compliance.save_findings(findings, tmp_path)
    assert (root / "findings" / "snapshot_time=2026-11-29T03%3A00%3A00Z" / "part-0.parquet").is_file()
    loaded = history.load_tables(tmp_path, tables=["findings"])["findings"]
    assert loaded["finding_id"].tolist() == findings["finding_id"].tolist()


def test_sql_helpers():
    assert compliance.grant_sql("GRANT", ["USE_CATALOG"], "CATALOG", "datalake", "Analysts.NonProd") == (
        "GRANT USE CATALOG ON CATALOG datalake TO `Analysts.NonProd`"
    )
    assert compliance.grant_sql("REVOKE", ["WRITE_FILES"], "EXTERNAL_LOCATION", "raw-landing", "a`b") == (
        "REVOKE WRITE FILES ON EXTERNAL LOCATION `raw-landing` FROM `a``b`"
    )
    assert compliance.grant_sql("GRANT", ["CREATE_CATALOG"], "METASTORE", "ms-1", "g") == (
        "GRANT CREATE CATALOG ON METASTORE TO `g`"
    )
    assert compliance.owner_sql("SCHEMA", "my-cat.s", "Owners") == "ALTER SCHEMA `my-cat`.s OWNER TO `Owners`"


def test_every_built_in_rule_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "compliance-rules.md").read_text()
    for rule_ in compliance.RULES.values():
        assert f"| `{rule_.id}` | {rule_.severity} |" in doc, rule_.id


# -- what the snapshot could not read ---------------------------------------------------------------------


def test_a_rule_declares_facts_a_snapshot_reads():
    with pytest.raises(InvalidInput, match="no fact a snapshot reads"):
        rule(id="typo_rule", severity="low", title="t", rationale="r", depends=("member",))
    assert compliance.RULES["user_in_no_group"].depends == ("memberships",)
    assert all(r.depends is not None for r in compliance.RULES.values())  # every built-in rule declares


def test_an_unread_group_withholds_conclusions_on_membership_and_says_so_once_per_rule(custom_rule):
    complete = build(users=["a@x.com", "b@x.com"], groups=["Unread"], members={"Team": ["a@x.com"]})
    gap = build(users=["a@x.com", "b@x.com"], groups=["Unread"], members={"Team": ["a@x.com"]},
                unreadable_groups=["Unread"])
    assert found(complete, "user_in_no_group")[0]["principal"] == "b@x.com"
    findings = evaluate(gap)
    assert not (findings["rule"] == "user_in_no_group").any()  # b may well be in Unread
    notes = findings[findings["rule"] == compliance.COULD_NOT_EVALUATE].set_index("withheld_rule")
    assert notes.loc["user_in_no_group", "severity"] == "low"
    assert notes.loc["user_in_no_group", "detail"].startswith(
        "could not evaluate user_in_no_group for the whole account: the members of group Unread were not read")
    assert notes.loc["user_in_no_group", "title"] == "Could not evaluate: Active user in no group"
    # A custom rule that declares nothing is withheld whole; the findings table keeps its columns.
    assert not (findings["rule"] == "outside_domain").any() and "outside_domain" in notes.index
    assert list(findings.columns) == compliance.FINDINGS_TABLE.column_names
    assert compliance.withheld(findings)[0].startswith(f"{notes.iloc[0]['severity']}: could not evaluate ")
    assert compliance.withheld(evaluate(complete)) == [] and compliance.not_read(complete) == []
    assert compliance.not_read(gap) == ["the members of group Unread were not read (groups.get failed: 429 Too Many Requests)"]

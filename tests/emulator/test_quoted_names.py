"""Names with `"` and `\\` round-trip through every look-up, toolkit and emulator (issue 16).

RFC 7644 3.4.2.2 makes a filter's comparison value a JSON string: the toolkit writes one
(`json.dumps`), the emulator decodes one. Databricks documents nothing beyond the RFC.
"""

from __future__ import annotations

import pytest
from databricks.sdk.service import iam

from scimkit import identities
from scimkit.emulator import Emulator

from .conftest import Http
from .test_catalog import make_account

AWKWARD = ['rel "quoted" group', "rel\\back\\slash", 'both \\" of them', 'ends with a backslash \\',
           "brackets (in [the] name)", "a 'single' quote"]


@pytest.mark.parametrize("name", AWKWARD)
def test_ensure_group_finds_the_group_it_created(emu: Emulator, name: str) -> None:
    account = make_account(emu)
    group, change = identities.ensure_group(account, name)
    assert change.changed and group.display_name == name
    again, change = identities.ensure_group(account, name)
    assert not change.changed and again.id == group.id
    assert identities.find_group(account, name).id == group.id
    assert [g.display_name for g in account.a.groups.list(filter=f"displayName eq {identities._quote(name)}")] == [name]


def test_names_that_differ_only_in_escaping_are_told_apart(emu: Emulator) -> None:
    account = make_account(emu)
    one, _ = identities.ensure_group(account, 'a\\"b')    # a, backslash, quote, b
    two, _ = identities.ensure_group(account, 'a"b')      # a, quote, b
    three, _ = identities.ensure_group(account, "a\\\\b")  # a, two backslashes, b
    assert len({one.id, two.id, three.id}) == 3
    assert identities.find_group(account, 'a"b').id == two.id
    assert identities.find_group(account, "a\\\\b").id == three.id
    assert identities.find_group(account, "a\\b") is None


@pytest.mark.parametrize("name", AWKWARD)
def test_a_service_principal_display_name_round_trips(emu: Emulator, name: str) -> None:
    account = make_account(emu)
    sp, change = identities.ensure_service_principal(account, name)
    assert change.changed and sp.display_name == name
    again, change = identities.ensure_service_principal(account, name)
    assert not change.changed and again.application_id == sp.application_id
    assert identities.resolve_member(account, name) == (sp.id, "SERVICE_PRINCIPAL")


def test_a_user_name_with_a_quote_or_backslash_is_found(emu: Emulator) -> None:
    account = make_account(emu)
    for user_name in ['o"brien@company.com', "back\\slash@company.com"]:
        user, change = identities.ensure_user(account, user_name, display_name='Dan "the man" O\\Brien')
        assert change.changed and user.user_name == user_name
        again, change = identities.ensure_user(account, user_name)
        assert not change.changed and again.id == user.id
        assert identities.resolve_member(account, user_name) == (user.id, "USER")


def test_the_emulator_decodes_filter_values_as_json_strings(emu: Emulator) -> None:
    http = Http(emu)
    made = http.post("Groups", {"displayName": 'x "y" \\ z'}).json()
    for value in ['"x \\"y\\" \\\\ z"', '"x \\u0022y\\u0022 \\\\ z"']:
        found = http.get("Groups", filter=f"displayName eq {value}").json()["Resources"]
        assert [g["id"] for g in found] == [made["id"]], value
    # An escape JSON does not have is a 400 invalidFilter naming the value, never a 500.
    bad = http.get("Groups", filter='displayName eq "x \\q"')
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidFilter"
    assert "not a JSON string" in bad.json()["detail"]
    unterminated = http.get("Groups", filter='displayName eq "x \\"')
    assert unterminated.status_code == 400 and unterminated.json()["scimType"] == "invalidFilter"
    # Brackets inside a value are part of the value, not nesting; single quotes still work as Terraform sends them.
    deep = http.get("Groups", filter='displayName eq "' + "(" * 40 + '"')
    assert deep.status_code == 200 and deep.json()["Resources"] == []
    single = http.get("Groups", filter="displayName eq 'x \"y\" \\ z'").json()["Resources"]
    assert [g["id"] for g in single] == [made["id"]]


def test_a_patch_member_path_still_parses(emu: Emulator) -> None:
    account = make_account(emu)
    group, _ = identities.ensure_group(account, 'patch "target"')
    user, _ = identities.ensure_user(account, "member@company.com")
    account.a.groups.patch(group.id, operations=[iam.Patch(op=iam.PatchOp.ADD, value={"members": [{"value": user.id}]})],
                           schemas=[iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP])
    account.a.groups.patch(group.id, operations=[iam.Patch(op=iam.PatchOp.REMOVE, path=f'members[value eq "{user.id}"]')],
                           schemas=[iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP])
    assert not account.a.groups.get(group.id).members

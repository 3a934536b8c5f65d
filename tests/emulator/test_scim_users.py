"""Account SCIM users and service principals, through the unmodified SDK and plain HTTP."""

from __future__ import annotations

import pytest
from databricks.sdk.errors import BadRequest, NotFound, ResourceConflict
from databricks.sdk.service import iam

from .conftest import Http

PATCH_SCHEMA = [iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP]


def test_sdk_lists_every_user_through_default_paging(ia) -> None:
    users = list(ia.users.list(attributes="id,userName"))
    v2 = list(ia.users_v2.list(attributes="id,userName"))
    assert len(users) == 252
    assert len({u.id for u in users}) == 252
    assert sorted(u.user_name for u in v2) == sorted(u.user_name for u in users)
    assert "alex@company.com" in {u.user_name for u in users}


def test_paging_clamps_count_and_ends_with_an_empty_page(http: Http) -> None:
    page = http.get("Users", startIndex=3, count=2).json()
    assert (page["startIndex"], page["itemsPerPage"], page["totalResults"]) == (3, 2, 252)
    assert [r["userName"] for r in page["Resources"]] == ["user003@company.com", "user004@company.com"]
    clamped = http.get("Users", count=10000).json()
    assert clamped["itemsPerPage"] == 100 and len(clamped["Resources"]) == 100
    past_end = http.get("Users", startIndex=253, count=100).json()
    assert past_end["Resources"] == [] and past_end["totalResults"] == 252


def test_id_is_returned_whatever_the_attributes_say(http: Http) -> None:
    only_name = http.get("Users", attributes="userName", count=1).json()["Resources"][0]
    assert set(only_name) == {"id", "userName", "schemas"}
    excluded = http.get("Users", excludedAttributes="id,emails,name", count=1).json()["Resources"][0]
    assert "id" in excluded and "emails" not in excluded and "name" not in excluded
    sub = http.get("Users", attributes="name.familyName", count=1).json()["Resources"][0]
    assert sub["name"] == {"familyName": "001"}


DATA_ENGINEERS = {"display": "DataEngineers.Prod", "value": "2000000000000002", "$ref": "Groups/2000000000000002",
                  "type": "direct"}


def test_users_carry_their_direct_groups(ia, http: Http) -> None:
    user = http.get("Users/1000000000000001").json()
    # Direct memberships only: Engineering holds DataEngineers.Prod, but is not listed on the user.
    assert user["groups"] == [DATA_ENGINEERS]
    assert user["userName"] == "user001@company.com"
    sdk_user = ia.users.get("1000000000000001")
    assert [(g.display, g.value, g.ref, g.type) for g in sdk_user.groups] == [
        ("DataEngineers.Prod", "2000000000000002", "Groups/2000000000000002", "direct")]
    assert "groups" not in http.get("Users/1000000000000902").json()  # in no group: left out, not []


def test_service_principals_carry_their_direct_groups(ia) -> None:
    sp = ia.service_principals.get("3000000000000001")
    assert [(g.display, g.value, g.type) for g in sp.groups] == [("DataEngineers.Prod", "2000000000000002", "direct")]


def test_user_groups_follow_membership_changes(ia, http: Http) -> None:
    ia.groups.patch("2000000000000003", schemas=PATCH_SCHEMA, operations=[
        iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": "1000000000000001"}])])
    assert [g["display"] for g in http.get("Users/1000000000000001").json()["groups"]] == [
        "DataEngineers.Prod", "Analysts.NonProd"]
    ia.groups.delete("2000000000000002")
    assert [g["value"] for g in http.get("Users/1000000000000001").json()["groups"]] == ["2000000000000003"]


def test_groups_on_lists_follow_attributes_and_excluded_attributes(http: Http) -> None:
    first = http.get("Users", count=1).json()["Resources"][0]
    assert first["groups"] == [DATA_ENGINEERS]
    assert set(http.get("Users", attributes="userName", count=1).json()["Resources"][0]) == {"id", "userName", "schemas"}
    assert http.get("Users", attributes="userName,groups", count=1).json()["Resources"][0]["groups"] == [DATA_ENGINEERS]
    assert "groups" not in http.get("Users", excludedAttributes="groups", count=1).json()["Resources"][0]
    filtered = http.get("Users", filter='userName eq "user001@company.com"', excludedAttributes="groups").json()
    assert "groups" not in filtered["Resources"][0]
    assert "groups" not in http.get("Users/1000000000000001", excludedAttributes="groups").json()


def test_groups_are_read_only(ia, http: Http) -> None:
    before = http.get("Users/1000000000000002").json()
    http.patch("Users/1000000000000002", {"schemas": [PATCH_SCHEMA[0].value], "Operations": [
        {"op": "add", "path": "groups", "value": [{"value": "2000000000000001"}]}]})
    assert http.get("Users/1000000000000002").json()["groups"] == before["groups"]


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('userName eq "alex@company.com"', {"alex@company.com"}),
        ("userName eq 'JAYA@company.com'", {"jaya@company.com"}),  # Terraform's single quotes, any case
        ("username eq alex@company.com", {"alex@company.com"}),  # unquoted value, lower-case attribute
        ('displayName sw "Alex"', {"alex@company.com"}),
        ('displayName co "Raman"', {"jaya@company.com"}),
        ('userName eq "alex@company.com" or userName eq "jaya@company.com"', {"alex@company.com", "jaya@company.com"}),
        ('userName sw "user00" and active eq false', {"user007@company.com"}),
        ('emails.value eq "user010@company.com"', {"user010@company.com"}),
        ('name.familyName eq "020"', {"user020@company.com"}),
    ],
)
def test_filters(ia, filter_text: str, expected: set[str]) -> None:
    assert {u.user_name for u in ia.users.list(filter=filter_text)} == expected


def test_ne_filter_excludes(http: Http) -> None:
    body = http.get("Users", filter='userName ne "alex@company.com"', count=100).json()
    assert body["totalResults"] == 251


@pytest.mark.parametrize(
    "filter_text",
    ['userName ew "x"', 'userName gt "a"', "userName pr", 'not (userName eq "x")', '(userName eq "x")',
     'emails[type eq "work"]', 'userName eq "unterminated'],
)
def test_unsupported_filters_are_a_scim_400(ia, http: Http, filter_text: str) -> None:
    with pytest.raises(BadRequest):
        list(ia.users.list(filter=filter_text))
    body = http.get("Users", filter=filter_text).json()
    assert body["status"] == "400" and body["scimType"] == "invalidFilter"


def test_filter_over_200_nodes_is_refused(http: Http) -> None:
    many = " or ".join(f'userName eq "u{i}@company.com"' for i in range(101))  # 101 comparisons + 100 ors
    response = http.get("Users", filter=many)
    assert response.status_code == 400
    assert "INVALID_FILTER" in response.json()["detail"]
    fine = " or ".join(f'userName eq "u{i}@company.com"' for i in range(100))  # 199 nodes
    assert http.get("Users", filter=fine).status_code == 200


def test_sort_by_and_order(http: Http) -> None:
    body = http.get("Users", sortBy="userName", sortOrder="descending", count=3).json()
    assert [r["userName"] for r in body["Resources"]] == [
        "user250@company.com", "user249@company.com", "user248@company.com"]


def test_create_get_replace_delete_user(ia) -> None:
    created = ia.users.create(user_name="new.person@company.com", display_name="New Person",
                              name=iam.Name(given_name="New", family_name="Person"))
    assert created.id and created.id.isdigit() and int(created.id) >= 9_100_000_000_000_000
    assert created.active is True
    assert [e.value for e in created.emails] == ["new.person@company.com"]
    fetched = ia.users.get(created.id)
    assert fetched.display_name == "New Person"
    ia.users.update(created.id, user_name="renamed@company.com", display_name="Renamed Person", active=True)
    after = ia.users.get(created.id)
    assert after.display_name == "Renamed Person"
    assert after.user_name == "new.person@company.com"  # userName is immutable: silently kept
    ia.users.delete(created.id)
    with pytest.raises(NotFound):
        ia.users.get(created.id)


def test_duplicate_user_name_is_409_case_insensitively(ia) -> None:
    with pytest.raises(ResourceConflict, match="User with email ALEX@company.com already exists in this account"):
        ia.users.create(user_name="ALEX@company.com")


def test_bad_user_input_is_400(http: Http) -> None:
    assert http.post("Users", {"displayName": "no user name"}).status_code == 400
    assert http.post("Users", {"userName": "not-an-email"}).status_code == 400
    assert http.post("Users", {"userName": "x@company.com", "active": "maybe"}).status_code == 400


def test_unknown_ids_are_404(ia) -> None:
    with pytest.raises(NotFound):
        ia.users.get("123")
    with pytest.raises(NotFound):
        ia.users.patch("123", operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="active", value="false")])
    with pytest.raises(NotFound):
        ia.service_principals.delete("123")


def test_deactivate_with_string_false_and_reactivate(ia) -> None:
    ia.users.patch("1000000000000002", operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="active", value="false")],
                   schemas=PATCH_SCHEMA)
    assert ia.users.get("1000000000000002").active is False
    ia.users.patch("1000000000000002", operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="active", value=True)])
    assert ia.users.get("1000000000000002").active is True


def test_sdk_dropped_false_is_refused_and_changes_nothing(ia, http: Http) -> None:
    # Patch.as_dict drops a falsy value, so this reaches the wire as a value-less replace.
    with pytest.raises(BadRequest, match="needs a 'value'"):
        ia.users.patch("1000000000000002", operations=[
            iam.Patch(op=iam.PatchOp.REPLACE, path="displayName", value="Changed"),
            iam.Patch(op=iam.PatchOp.REPLACE, path="active", value=False)])
    user = http.get("Users/1000000000000002").json()
    assert user["active"] is True and user["displayName"] == "User 002"  # the first operation was not applied


def test_pathless_replace_and_name_subattribute(ia) -> None:
    ia.users.patch("1000000000000003", operations=[
        iam.Patch(op=iam.PatchOp.REPLACE, value={"active": "False", "displayName": "Three"}),
        iam.Patch(op=iam.PatchOp.REPLACE, path="name.givenName", value="Trois"),
        iam.Patch(op=iam.PatchOp.REPLACE, path="userName", value="ignored@company.com"),
    ])
    user = ia.users.get("1000000000000003")
    assert (user.active, user.display_name, user.name.given_name, user.name.family_name) == (False, "Three", "Trois", "003")
    assert user.user_name == "user003@company.com"


def test_roles_add_and_remove(ia, http: Http) -> None:
    ia.users.patch("1000000000000004", operations=[
        iam.Patch(op=iam.PatchOp.ADD, path="roles", value=[{"value": "account_admin"}])])
    assert [r.value for r in ia.users.get("1000000000000004").roles] == ["account_admin"]
    ia.users.patch("1000000000000004", operations=[
        iam.Patch(op=iam.PatchOp.REMOVE, path='roles[value eq "account_admin"]')])
    assert ia.users.get("1000000000000004").roles == []


def test_unknown_patch_attribute_and_op_are_400(http: Http) -> None:
    bad_path = {"Operations": [{"op": "replace", "path": "favouriteColour", "value": "blue"}]}
    assert http.patch("Users/1000000000000004", bad_path).json()["scimType"] == "invalidPath"
    bad_op = {"Operations": [{"op": "move", "path": "displayName", "value": "x"}]}
    assert http.patch("Users/1000000000000004", bad_op).status_code == 400
    assert http.patch("Users/1000000000000004", {"Operations": []}).status_code == 400


def test_service_principals_crud(ia) -> None:
    sp = ia.service_principals.create(display_name="new-robot")
    assert sp.application_id and len(sp.application_id) == 36
    assert ia.service_principals.get(sp.id).display_name == "new-robot"
    with pytest.raises(ResourceConflict):
        ia.service_principals.create(display_name="dup", application_id=sp.application_id.upper())
    ia.service_principals.patch(sp.id, operations=[
        iam.Patch(op=iam.PatchOp.REPLACE, path="active", value="false"),
        iam.Patch(op=iam.PatchOp.REPLACE, path="applicationId", value="00000000-0000-0000-0000-000000000000")])
    after = ia.service_principals.get(sp.id)
    assert after.active is False and after.application_id == sp.application_id
    names = {s.display_name for s in ia.service_principals.list()}
    assert {"etl-prod-runner", "scimkit-admin", "scimkit-reader", "new-robot"} <= names
    assert {s.display_name for s in ia.service_principals_v2.list(filter='displayName sw "etl"')} == {"etl-prod-runner"}
    ia.service_principals.delete(sp.id)
    with pytest.raises(NotFound):
        ia.service_principals.get(sp.id)


def test_account_size_limit(tmp_path) -> None:
    from scimkit.emulator import Limits, start

    with start(seed_dir=None, limits=Limits(max_users_and_sps=3)) as emu:  # two built-in SPs already
        a = emu.account_client(retry_timeout_seconds=5)
        a.users.create(user_name="one@company.com")
        with pytest.raises(BadRequest, match="limit is 3"):
            a.users.create(user_name="two@company.com")


def test_v2_clients_create_get_patch_delete(ia) -> None:
    user = ia.users_v2.create(user_name="v2.person@company.com", display_name="V2 Person")
    assert ia.users_v2.get(user.id).display_name == "V2 Person"
    ia.users_v2.patch(user.id, operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="displayName", value="Renamed")])
    assert ia.users_v2.get(user.id).display_name == "Renamed"
    group = ia.groups_v2.create(display_name="V2.Group")
    ia.groups_v2.patch(group.id, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": user.id}])])
    assert [m.value for m in ia.groups_v2.get(group.id).members] == [user.id]
    sp = ia.service_principals_v2.create(display_name="v2-robot")
    assert ia.service_principals_v2.get(sp.id).application_id == sp.application_id
    for api, resource_id in ((ia.groups_v2, group.id), (ia.users_v2, user.id), (ia.service_principals_v2, sp.id)):
        api.delete(resource_id)
        with pytest.raises(NotFound):
            api.get(resource_id)

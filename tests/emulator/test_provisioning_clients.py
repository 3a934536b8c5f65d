"""Requests shaped the way identity providers send them, through the 2.1 prefix and the SCIM token.

Bodies follow the published examples: Microsoft's "Develop and plan provisioning for a SCIM
endpoint in Microsoft Entra ID" (request and response examples) and Okta's "SCIM 2.0 protocol
reference". Entra's sample userNames are not emails; Databricks requires an email, so those are
adapted, and identifiers are the vendors' where they fit.
"""

from __future__ import annotations

from .conftest import Http

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def entra(ie) -> Http:
    return Http(ie, token=ie.scim_token, version="2.1")


def test_entra_user_lifecycle(ie) -> None:
    scim = entra(ie)
    created = scim.post("Users", {
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@testuser.com",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    })
    assert created.status_code == 201
    user_id = created.json()["id"]
    found = scim.get("Users", filter='userName eq "Test_User_ab6490ee@testuser.com"').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user_id
    assert scim.get("Users", filter='userName eq "non-existent user"').json()["totalResults"] == 0
    # Multi-valued update: the email path is immutable on Databricks and silently kept.
    multi = scim.patch(f"Users/{user_id}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]})
    assert multi.status_code == 200
    user = scim.get(f"Users/{user_id}").json()
    assert user["name"]["familyName"] == "updatedFamilyName"
    assert user["emails"][0]["value"] == "Test_User_fd0ea19b@testuser.com"
    # Single-valued update of userName: ignored, not an error.
    assert scim.patch(f"Users/{user_id}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"}]}).status_code == 200
    assert scim.get(f"Users/{user_id}").json()["userName"] == "Test_User_ab6490ee@testuser.com"
    # Disable: older Entra sends the string "False", newer a boolean.
    scim.patch(f"Users/{user_id}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]})
    assert scim.get(f"Users/{user_id}").json()["active"] is False
    scim.patch(f"Users/{user_id}", {"Operations": [{"op": "Replace", "path": "active", "value": True}],
                                    "schemas": [PATCH_OP]})
    assert scim.get(f"Users/{user_id}").json()["active"] is True
    assert scim.delete(f"Users/{user_id}").status_code == 204
    assert scim.get(f"Users/{user_id}").status_code == 404


def test_entra_group_lifecycle(ie) -> None:
    scim = entra(ie)
    created = scim.post("Groups", {
        "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    })
    assert created.status_code == 201
    group_id = created.json()["id"]
    got = scim.get(f"Groups/{group_id}", excludedAttributes="members").json()
    assert got["displayName"] == "displayName" and "members" not in got
    by_name = scim.get("Groups", excludedAttributes="members", filter='displayName eq "displayName"').json()
    assert [g["id"] for g in by_name["Resources"]] == [group_id]
    rename = {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]}
    assert scim.patch(f"Groups/{group_id}", rename).status_code == 200
    add = {"schemas": [PATCH_OP], "Operations": [
        {"name": "addMember", "op": "Add", "path": "members", "value": [{"$ref": None, "value": "1000000000000901"}]}]}
    assert scim.patch(f"Groups/{group_id}", add).status_code == 200
    assert [m["value"] for m in scim.get(f"Groups/{group_id}").json()["members"]] == ["1000000000000901"]
    remove = {"schemas": [PATCH_OP], "Operations": [
        {"name": "removeMember", "op": "Remove", "path": "members", "value": [{"$ref": None, "value": "1000000000000901"}]}]}
    assert scim.patch(f"Groups/{group_id}", remove).status_code == 200
    assert scim.get(f"Groups/{group_id}").json()["members"] == []
    assert scim.delete(f"Groups/{group_id}").status_code == 204


def test_okta_user_and_group_flow(ie) -> None:
    scim = entra(ie)
    found = scim.get("Users", filter='userName eq "test.user@okta.local"', startIndex=1, count=100).json()
    assert found["totalResults"] == 0 and found["Resources"] == []
    created = scim.post("Users", {
        "schemas": [USER], "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7", "groups": [],
        "password": "1mz050nq", "active": True})
    assert created.status_code == 201
    user = created.json()
    assert "password" not in user and "locale" not in user
    deactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert scim.patch(f"Users/{user['id']}", deactivate).status_code == 200
    assert scim.get(f"Users/{user['id']}").json()["active"] is False
    replaced = scim.put(f"Users/{user['id']}", {
        "schemas": [USER], "id": user["id"], "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Another User", "active": True})
    assert replaced.status_code == 200 and replaced.json()["name"]["givenName"] == "Another"

    group = scim.post("Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []}).json()
    assert scim.get("Groups", filter='displayName eq "Test SCIMv2"', startIndex=1, count=100).json()["totalResults"] == 1
    rename = {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "value": {"id": group["id"], "displayName": "Test SCIMv2 renamed"}}]}
    assert scim.patch(f"Groups/{group['id']}", rename).status_code == 200
    add = {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": user["id"], "display": "test.user@okta.local"}]}]}
    assert scim.patch(f"Groups/{group['id']}", add).status_code == 200
    remove = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": f'members[value eq "{user["id"]}"]'}]}
    assert scim.patch(f"Groups/{group['id']}", remove).status_code == 200
    final = scim.get(f"Groups/{group['id']}").json()
    assert final["displayName"] == "Test SCIMv2 renamed" and final["members"] == []


def test_single_quoted_and_unquoted_filter_values(ie) -> None:
    scim = entra(ie)
    assert scim.get("Users", filter="userName eq 'alex@company.com'").json()["totalResults"] == 1
    assert scim.get("Users", filter="userName eq alex@company.com").json()["totalResults"] == 1
    assert scim.get("Groups", filter="displayName eq 'Analysts.NonProd'").json()["totalResults"] == 1

"""Account SCIM groups and membership rules, through the unmodified SDK and plain HTTP."""

from __future__ import annotations

import pytest
from databricks.sdk.errors import BadRequest, NotFound, PermissionDenied, ResourceConflict
from databricks.sdk.service import iam

from scimkit.emulator import Limits, start

from .conftest import Http, write_identity_seed

ENGINEERING, DE_PROD, ANALYSTS, ENTRA, EMPTY = (f"200000000000000{i}" for i in range(1, 6))
ALEX, JAYA = "1000000000000901", "1000000000000902"


def member_ids(a, group_id: str) -> list[str]:
    return [m.value for m in a.groups.get(group_id).members or []]


def test_group_lists_carry_no_members_but_get_does(ia, http: Http) -> None:
    listed = {g.display_name: g for g in ia.groups.list()}
    assert set(listed) == {"Engineering", "DataEngineers.Prod", "Analysts.NonProd", "Entra.Synced", "Empty.Group"}
    assert all(not g.members for g in listed.values())
    raw = http.get("Groups", attributes="members,displayName").json()["Resources"]
    assert all("members" not in g for g in raw)
    group = http.get(f"Groups/{DE_PROD}").json()
    assert group["members"] == [
        {"display": "User 001", "value": "1000000000000001", "$ref": "Users/1000000000000001"},
        {"display": "etl-prod-runner", "value": "3000000000000001", "$ref": "ServicePrincipals/3000000000000001"},
    ]
    assert group["meta"] == {"resourceType": "Group"}
    assert http.get(f"Groups/{ENGINEERING}").json()["members"][0]["$ref"] == f"Groups/{DE_PROD}"
    assert "members" not in http.get(f"Groups/{DE_PROD}", excludedAttributes="members").json()


def test_groups_v2_list_and_filter(ia) -> None:
    assert {g.display_name for g in ia.groups_v2.list(filter="displayName sw 'Analysts'")} == {"Analysts.NonProd"}


def test_add_and_remove_members_in_every_documented_form(ia, http: Http) -> None:
    # SDK form: add by path "members" with a value list.
    ia.groups.patch(ANALYSTS, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members",
                                                    value=[{"value": ALEX}, {"value": JAYA}])])
    assert member_ids(ia, ANALYSTS) == ["1000000000000002", ALEX, JAYA]
    # Terraform form: remove by members[value eq "id"] with no value.
    ia.groups.patch(ANALYSTS, operations=[iam.Patch(op=iam.PatchOp.REMOVE, path=f'members[value eq "{ALEX}"]')])
    assert member_ids(ia, ANALYSTS) == ["1000000000000002", JAYA]
    # RFC form: path-less add with an attribute object.
    http.patch(f"Groups/{ANALYSTS}", {"Operations": [{"op": "add", "value": {"members": [{"value": ALEX}]}}]})
    assert ALEX in member_ids(ia, ANALYSTS)
    # Entra/Okta form: remove by value list on path "members".
    http.patch(f"Groups/{ANALYSTS}", {"Operations": [{"op": "Remove", "path": "members", "value": [{"value": ALEX}]}]})
    assert ALEX not in member_ids(ia, ANALYSTS)
    # Adding an existing member again changes nothing.
    ia.groups.patch(ANALYSTS, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": JAYA}])])
    assert member_ids(ia, ANALYSTS) == ["1000000000000002", JAYA]
    # Replace sets the list; remove with no value and no filter empties the group (RFC 7644 3.5.2.2).
    ia.groups.patch(ANALYSTS, operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="members", value=[{"value": ALEX}])])
    assert member_ids(ia, ANALYSTS) == [ALEX]
    ia.groups.patch(ANALYSTS, operations=[iam.Patch(op=iam.PatchOp.REMOVE, path="members")])
    assert member_ids(ia, ANALYSTS) == []


def test_members_must_exist_and_nothing_changes_on_refusal(ia) -> None:
    with pytest.raises(BadRequest, match="does not exist"):
        ia.groups.patch(ANALYSTS, operations=[
            iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": ALEX}]),
            iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": "1234"}])])
    assert member_ids(ia, ANALYSTS) == ["1000000000000002"]


def test_cycles_are_refused(ia) -> None:
    with pytest.raises(BadRequest, match="cycle"):
        ia.groups.patch(DE_PROD, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members",
                                                       value=[{"value": ENGINEERING}])])
    with pytest.raises(BadRequest, match="cycle"):
        ia.groups.patch(EMPTY, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": EMPTY}])])
    assert member_ids(ia, DE_PROD) == ["1000000000000001", "3000000000000001"]


def test_nesting_depth_limit_is_enforced(identity_seed) -> None:
    with start(seed_dir=identity_seed, limits=Limits(max_nesting_depth=2)) as emu:
        a = emu.account_client(retry_timeout_seconds=5)
        # Engineering > DataEngineers.Prod is depth 1; Analysts.NonProd under DataEngineers.Prod makes 2.
        a.groups.patch(DE_PROD, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": ANALYSTS}])])
        with pytest.raises(BadRequest, match="depth 3"):
            a.groups.patch(ANALYSTS, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members",
                                                           value=[{"value": EMPTY}])])
        assert member_ids(a, ANALYSTS) == ["1000000000000002"]


def test_direct_membership_limit(identity_seed) -> None:
    with start(seed_dir=identity_seed, limits=Limits(max_direct_memberships=1)) as emu:
        a = emu.account_client(retry_timeout_seconds=5)
        with pytest.raises(BadRequest, match="limit is 1"):
            a.groups.patch(ANALYSTS, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members",
                                                           value=[{"value": "1000000000000001"}])])


def test_create_rename_replace_delete_group(ia) -> None:
    group = ia.groups.create(display_name="Finance.Readers", members=[iam.ComplexValue(value=ALEX)])
    assert member_ids(ia, group.id) == [ALEX]
    with pytest.raises(ResourceConflict, match="Group with name finance.readers already exists"):
        ia.groups.create(display_name="finance.readers")
    ia.groups.patch(group.id, operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="displayName", value="Finance.Read")])
    assert ia.groups.get(group.id).display_name == "Finance.Read"
    ia.groups.update(group.id, display_name="Finance.Read", members=[iam.ComplexValue(value=JAYA)])
    assert member_ids(ia, group.id) == [JAYA]
    with pytest.raises(ResourceConflict):
        ia.groups.update(group.id, display_name="Engineering")
    ia.groups.delete(group.id)
    with pytest.raises(NotFound):
        ia.groups.get(group.id)


def test_deleting_a_user_removes_its_memberships(ia) -> None:
    ia.users.delete("1000000000000001")
    assert member_ids(ia, DE_PROD) == ["3000000000000001"]


def test_identity_provider_groups_are_immutable_to_admins(ie, ia) -> None:
    with pytest.raises(PermissionDenied, match="identity provider"):
        ia.groups.patch(ENTRA, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": ALEX}])])
    with pytest.raises(PermissionDenied):
        ia.groups.delete(ENTRA)
    # Entitlements are not the identity provider's business: allowed.
    ia.groups.patch(ENTRA, operations=[iam.Patch(op=iam.PatchOp.ADD, path="entitlements",
                                                 value=[{"value": "databricks-sql-access"}])])
    # The provisioning token may change them, through the 2.1 prefix.
    scim = Http(ie, token=ie.scim_token, version="2.1")
    response = scim.patch(f"Groups/{ENTRA}", {"Operations": [{"op": "Add", "path": "members", "value": [{"value": ALEX}]}]})
    assert response.status_code == 200
    assert ALEX in member_ids(ia, ENTRA)


def test_groups_created_by_the_provisioning_token_are_immutable(ie, ia) -> None:
    scim = Http(ie, token=ie.scim_token, version="2.1")
    created = scim.post("Groups", {"displayName": "Okta.Group", "externalId": "00g1abcd"}).json()
    with pytest.raises(PermissionDenied):
        ia.groups.patch(created["id"], operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="displayName", value="x")])
    console = ia.groups.create(display_name="Console.Group", external_id="made-by-admin")
    ia.groups.patch(console.id, operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="displayName", value="Renamed")])


def test_idp_immutability_is_switchable(tmp_path) -> None:
    seed = write_identity_seed(tmp_path / "seed")
    with start(seed_dir=seed, idp_groups_immutable=False) as emu:
        a = emu.account_client(retry_timeout_seconds=5)
        a.groups.patch(ENTRA, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": ALEX}])])
        assert ALEX in member_ids(a, ENTRA)


def test_member_changes_per_patch_are_limited(identity_seed) -> None:
    with start(seed_dir=identity_seed, limits=Limits(max_members_per_patch=100)) as emu:
        http = Http(emu)
        values = [{"value": str(1000000000000001 + i)} for i in range(101)]
        refused = http.patch(f"Groups/{EMPTY}", {"Operations": [{"op": "add", "path": "members", "value": values}]})
        assert refused.status_code == 400 and "Split it" in refused.json()["detail"]
        assert http.get(f"Groups/{EMPTY}").json().get("members", []) == []
        # Duplicates count once: 100 distinct ids sent five times is within the limit.
        body = {"Operations": [{"op": "add", "path": "members", "value": values[:100] * 5}]}
        assert http.patch(f"Groups/{EMPTY}", body).status_code == 200
        assert len(http.get(f"Groups/{EMPTY}").json()["members"]) == 100

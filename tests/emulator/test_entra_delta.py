"""Graph delta queries: the emulated tenant's users/delta and groups/delta (through plain Graph HTTP
with an msal token), and the Graph reader's delta read that stores its links in a state directory
and, on a second run, requests only what changed (counted by the emulator)."""

from __future__ import annotations

import json

import pytest

from .test_entra_source import _reader
from .test_entra_tenant import GRAPH, TENANT, _app, _session, emu  # noqa: F401 - the module fixture

APP_ID = TENANT["databricks_application"]["id"]
USERS = {u["mail"]: u for u in TENANT["users"]}
GROUPS = {g["displayName"]: g for g in TENANT["groups"]}


@pytest.fixture
def graph(emu):  # noqa: ANN001,ANN201,F811
    """A session and headers for plain Graph calls, on a tenant restored to its seed."""
    emu.reset()
    token = _app(emu).acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])["access_token"]
    return _session(emu), {"Authorization": f"Bearer {token}"}


def _graph_requests(emu) -> int:  # noqa: ANN001,F811
    return emu.stats()["requests"].get("graph", 0)


def _round(session, headers, url):  # noqa: ANN001,ANN202
    items, pages = [], 0
    while True:
        body = session.get(url, headers=headers).json()
        items += body["value"]
        pages += 1
        if "@odata.nextLink" in body:
            url = body["@odata.nextLink"]
        else:
            return items, body["@odata.deltaLink"], pages


def _member_ref(user_id: str) -> dict:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user_id}"}


def test_users_delta_pages_then_returns_only_changes(emu, graph) -> None:  # noqa: ANN001,F811
    session, headers = graph
    items, link, pages = _round(session, headers, f"{GRAPH}/users/delta?$select=id,mail,accountEnabled")
    assert len(items) == len(TENANT["users"]) and pages == -(-len(TENANT["users"]) // 100)
    assert set(items[0]) == {"@odata.type", "id", "mail", "accountEnabled"}  # $select honoured
    assert "$select" not in link and "$deltatoken=" in link  # the select travels in the opaque token
    assert session.get(link, headers=headers).json()["value"] == []  # nothing changed yet
    first, second = TENANT["users"][0], TENANT["users"][1]
    assert session.patch(f"{GRAPH}/users/{first['id']}", json={"accountEnabled": False},
                         headers=headers).status_code == 204
    assert session.delete(f"{GRAPH}/users/{second['id']}", headers=headers).status_code == 204
    changed, link2, pages = _round(session, headers, link)
    assert pages == 1 and changed == [
        {"@odata.type": "#microsoft.graph.user", "id": first["id"], "mail": first["mail"], "accountEnabled": False},
        {"id": second["id"], "@removed": {"reason": "changed"}}]
    assert session.get(link2, headers=headers).json()["value"] == []
    latest = session.get(f"{GRAPH}/users/delta?$deltatoken=latest", headers=headers).json()
    assert latest["value"] == [] and "@odata.deltaLink" in latest


def test_groups_delta_carries_members_delta(emu, graph) -> None:  # noqa: ANN001,F811
    session, headers = graph
    items, link, _ = _round(session, headers, f"{GRAPH}/groups/delta?$select=displayName,members")
    emea = next(i for i in items if i["id"] == GROUPS["Sales.EMEA"]["id"])
    assert {m["id"] for m in emea["members@delta"]} == set(GROUPS["Sales.EMEA"]["members"])
    assert {m["@odata.type"] for m in emea["members@delta"]} == {"#microsoft.graph.user", "#microsoft.graph.group"}
    backend = [i for i in items if i["id"] == GROUPS["Software.Backend"]["id"]]  # 26 members: split in two
    assert [len(i["members@delta"]) for i in backend] == [20, len(GROUPS["Software.Backend"]["members"]) - 20]
    assert {m["id"] for i in backend for m in i["members@delta"]} == set(GROUPS["Software.Backend"]["members"])
    names = [i for i in items if "members@delta" not in i]
    assert names == [] and "members@delta" not in session.get(
        f"{GRAPH}/groups/delta?$select=displayName", headers=headers).json()["value"][0]
    group, leaving = GROUPS["Analysts.Finance"], GROUPS["Analysts.Finance"]["members"][0]
    joining = next(u["id"] for u in TENANT["users"] if u["id"] not in group["members"])
    base = f"{GRAPH}/groups/{group['id']}/members"
    assert session.post(f"{base}/$ref", json=_member_ref(joining), headers=headers).status_code == 204
    assert session.delete(f"{base}/{leaving}/$ref", headers=headers).status_code == 204
    again = session.post(f"{base}/$ref", json=_member_ref(joining), headers=headers)
    assert again.status_code == 400 and "already exist" in again.json()["error"]["message"]
    gone = session.delete(f"{base}/{leaving}/$ref", headers=headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "Request_ResourceNotFound"
    changed, _, _ = _round(session, headers, link)
    assert changed == [{"@odata.type": "#microsoft.graph.group", "id": group["id"], "displayName": group["displayName"],
                        "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": joining},
                                          {"@odata.type": "#microsoft.graph.user", "id": leaving,
                                           "@removed": {"reason": "deleted"}}]}]


def test_delta_refuses_what_graph_refuses(emu, graph) -> None:  # noqa: ANN001,F811
    session, headers = graph
    top = session.get(f"{GRAPH}/users/delta?$top=5", headers=headers)
    assert top.status_code == 400 and "$top" in top.json()["error"]["message"]
    bad = session.get(f"{GRAPH}/users/delta?$deltatoken=not-a-token", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "Request_BadRequest"
    _, link, _ = _round(session, headers, f"{GRAPH}/users/delta?$select=id,mail")
    emu.reset()  # a new epoch: the link is from before it
    stale = session.get(link, headers=headers)
    assert stale.status_code == 410 and stale.json()["error"]["code"] == "syncStateNotFound"
    assert stale.headers["Location"].endswith("/v1.0/users/delta?$select=id,mail")
    unknown = session.patch(f"{GRAPH}/users/{TENANT['users'][0]['id']}", json={"favouriteColour": "blue"},
                            headers=headers)
    assert unknown.status_code == 400 and "favouriteColour" in unknown.json()["error"]["message"]
    assert session.patch(f"{GRAPH}/users/nobody", json={}, headers=headers).status_code == 404


def test_links_name_the_public_origin_a_proxy_forwards(emu, graph) -> None:  # noqa: ANN001,F811
    session, headers = graph
    public = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "graph.microsoft.com"}
    body = session.get(f"{GRAPH}/users/delta", headers={**headers, **public}).json()
    assert body["@odata.nextLink"].startswith("https://graph.microsoft.com/v1.0/users/delta?$skiptoken=")
    hostile = {"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "evil.example/<x>"}
    body = session.get(f"{GRAPH}/users/delta", headers={**headers, **hostile}).json()
    assert body["@odata.nextLink"].startswith(f"{emu.host}/v1.0/users/delta?$skiptoken=")


def test_second_read_requests_only_what_changed_and_equals_a_full_read(emu, graph, tmp_path) -> None:  # noqa: ANN001,F811
    session, headers = graph
    before = _graph_requests(emu)
    first = _reader(emu).read(application_id=APP_ID, state_dir=tmp_path)
    first_requests = _graph_requests(emu) - before
    # users/delta: 3 pages of 100; groups/delta: 1 page (members included); appRoleAssignedTo: 1 page
    assert first_requests == -(-len(TENANT["users"]) // 100) + 1 + 1
    assert json.loads(next(tmp_path.iterdir()).read_text())["format"] == "scimkit-entra-delta"

    # an admin changes the tenant: a leaver disabled, one soft-deleted, a joiner, a mover, a rename
    disabled, deleted = USERS["aaron.brandt@company.com"], TENANT["users"][5]
    assert session.patch(f"{GRAPH}/users/{disabled['id']}", json={"accountEnabled": False},
                         headers=headers).status_code == 204
    assert session.delete(f"{GRAPH}/users/{deleted['id']}", headers=headers).status_code == 204
    joiner = session.post(f"{GRAPH}/users", headers=headers, json={
        "accountEnabled": True, "displayName": "Nora Quist", "mailNickname": "nora.quist",
        "userPrincipalName": "nora.quist@company.com", "mail": "nora.quist@company.com",
        "passwordProfile": {"password": "x", "forceChangePasswordNextSignIn": True}}).json()
    finance = GROUPS["Analysts.Finance"]
    assert session.post(f"{GRAPH}/groups/{finance['id']}/members/$ref", json=_member_ref(joiner["id"]),
                        headers=headers).status_code == 204
    assert session.patch(f"{GRAPH}/groups/{GROUPS['QA']['id']}", json={"displayName": "Quality"},
                         headers=headers).status_code == 204
    groups_changed = {finance["id"], GROUPS["QA"]["id"]} | {g["id"] for g in TENANT["groups"]
                                                            if deleted["id"] in g["members"]}

    reader = _reader(emu)  # a later run: a new reader, the same state directory
    before = _graph_requests(emu)
    second = reader.read(application_id=APP_ID, state_dir=tmp_path)
    second_requests = _graph_requests(emu) - before
    assert second_requests == 3  # one page per delta link, and the assignments
    assert reader.changes == {"users": 3, "groups": len(groups_changed), "full": False}

    full = _reader(emu).read(application_id=APP_ID)
    assert second.people == full.people and second.groups == full.groups
    assert second.people != first.people and second.groups != first.groups
    assert second.person("aaron.brandt@company.com").active is False
    assert second.person(deleted["mail"]) is None
    assert "nora.quist@company.com" in second.group("Analysts.Finance").members
    assert second.group("Quality") is not None and second.group("QA") is None


def test_a_stale_delta_link_falls_back_to_a_full_round(emu, graph, tmp_path) -> None:  # noqa: ANN001,F811
    _reader(emu).read(application_id=APP_ID, state_dir=tmp_path)
    emu.reset()  # the tenant's earlier delta links are now unknown (410)
    reader = _reader(emu)
    again = reader.read(application_id=APP_ID, state_dir=tmp_path)
    assert reader.changes["full"] is True and reader.changes["users"] == len(TENANT["users"])
    full = _reader(emu).read(application_id=APP_ID)
    assert again.people == full.people and again.groups == full.groups

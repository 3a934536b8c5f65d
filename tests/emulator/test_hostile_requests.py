"""Hostile requests never get a 5xx, always get the route family's error body, and a refused
request changes nothing.

Two layers: a fixed corpus of the requests that once broke the emulator (deep filters, deep
bodies, integers beyond 64 bits, an oversized request line and body), checked against the full
SDK listings before and after; and hypothesis-generated requests (filters, PATCH and create bodies,
paths, query values, headers), checked against the state digest at /_scimkit/state.
The default run sends a few hundred generated requests; `-m soak` runs the long variant.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimkit.emulator import Emulator, start

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BIG = [2**63, 2**64, 2**70, 10**30, -(2**63) - 1]


@dataclass
class Tally:
    sent: int = 0
    refused: int = 0
    server_errors: list[str] = field(default_factory=list)


TALLY = Tally()


@pytest.fixture(scope="module")
def hostile() -> Iterator[Emulator]:
    with start() as emulator:
        yield emulator
    print(f"\nhostile requests: {TALLY.sent} sent, {TALLY.refused} refused, {len(TALLY.server_errors)} 5xx")


def _state(emu: Emulator) -> str:
    r = requests.get(f"{emu.host}/_scimkit/state", headers={"Authorization": f"Bearer {emu.token}"}, timeout=30)
    assert r.status_code == 200
    return r.json()["sha256"]


def _listings(emu: Emulator) -> dict[str, Any]:
    """The whole account as the SDK lists it: identities, members, assignments, grants."""
    a, w = emu.account_client(), emu.workspace_client()
    groups = sorted((g.id, g.display_name) for g in a.groups.list(attributes="id,displayName"))
    members = {gid: sorted(m.value for m in (a.groups.get(gid).members or [])) for gid, _ in groups}
    workspaces = [ws.workspace_id for ws in a.workspaces.list()]
    catalogs = sorted(c.name for c in w.catalogs.list())
    grants = {c: sorted(json.dumps(p.as_dict(), sort_keys=True)
                        for p in w.grants.get("catalog", c).privilege_assignments or [])
              for c in catalogs}
    return {
        "users": sorted(json.dumps(u.as_dict(), sort_keys=True) for u in a.users.list()),
        "sps": sorted(json.dumps(s.as_dict(), sort_keys=True) for s in a.service_principals.list()),
        "groups": groups, "members": members,
        "assignments": {ws: sorted(json.dumps(x.as_dict(), sort_keys=True)
                                   for x in a.workspace_assignment.list(ws)) for ws in workspaces},
        "catalogs": catalogs, "grants": grants,
    }


def _send(emu: Emulator, method: str, path: str, params: Any = None, body: Any = None,
          headers: dict[str, str] | None = None, raw: bytes | None = None) -> requests.Response:
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    all_headers = {"Authorization": f"Bearer {emu.token}", "Content-Type": "application/json", **(headers or {})}
    response = requests.request(method, emu.host + path, params=params, data=data, headers=all_headers, timeout=60)
    TALLY.sent += 1
    if response.status_code >= 500:
        TALLY.server_errors.append(f"{method} {path[:120]} -> {response.status_code}")
    return response


def _assert_api_shaped(response: requests.Response, path: str) -> None:
    assert response.status_code < 500, f"{response.status_code} for {path[:200]}: {response.text[:300]}"
    if response.status_code < 400:
        return
    TALLY.refused += 1
    body = response.json()  # never an HTML page
    if "/scim/v2" in path:
        assert body["schemas"] == [SCIM_ERROR] and body["status"] == str(response.status_code), body
        assert body["detail"]
    else:
        assert set(body) >= {"error_code", "message"}, body


def _corpus(emu: Emulator) -> list[tuple[str, str, dict[str, Any], Any, dict[str, str]]]:
    scim = f"/api/2.0/accounts/{emu.account_id}/scim/v2"
    ws = f"/api/2.0/accounts/{emu.account_id}/workspaces"
    deep = "[" * 5000 + "]" * 5000
    token = base64.urlsafe_b64encode(f"scimkit:{2**70}".encode()).decode()
    cases: list[tuple[str, str, dict[str, Any], Any, dict[str, str]]] = [
        ("GET", f"{scim}/Users", {"filter": "(" * 3000 + "userName eq 'a'" + ")" * 3000}, None, {}),
        ("GET", f"{scim}/Users", {"filter": "emails[" * 3000 + "value eq 'a'" + "]" * 3000}, None, {}),
        ("GET", f"{scim}/Groups", {"filter": " or ".join(["displayName eq 'a'"] * 400)}, None, {}),
        ("GET", f"{scim}/Groups", {"filter": " or ".join(["displayName eq 'a'"] * 5000)}, None, {}),
        ("GET", f"{scim}/Users", {"filter": "userName eq '" + "x" * 20000 + "'"}, None, {}),
        ("POST", f"{scim}/Users", {}, deep, {}),
        ("POST", f"{scim}/ServicePrincipals", {}, '{"displayName":' + "[" * 40 + "]" * 40 + "}", {}),
        ("PATCH", f"{scim}/Groups/1", {}, '{"Operations":' + deep + "}", {}),
        ("PUT", f"{scim}/Users/1", {}, '{"userName":"x@y.z","name":' + '{"a":' * 3000 + "1" + "}" * 3000 + "}", {}),
        ("PATCH", "/api/2.1/unity-catalog/permissions/catalog/main", {}, '{"changes":' + deep + "}", {}),
        ("PATCH", "/api/2.1/unity-catalog/catalogs/main", {}, '{"comment":' + deep + "}", {}),
        ("GET", "/api/2.1/unity-catalog/catalogs", {"page_token": token}, None, {}),
        ("GET", "/api/2.1/unity-catalog/permissions/catalog/main", {"page_token": token, "max_results": "0"}, None,
         {}),
        ("GET", "/api/2.1/unity-catalog/catalogs", {"max_results": str(2**70)}, None, {}),
    ]
    for big in BIG:
        cases += [
            ("GET", f"{scim}/Users", {"startIndex": str(big)}, None, {}),
            ("GET", f"{scim}/Groups", {"count": str(big), "filter": "displayName sw 'a'"}, None, {}),
            ("GET", "/api/2.1/unity-catalog/catalogs", {}, None, {"X-Databricks-Workspace-Id": str(big)}),
            ("GET", f"{ws}/{abs(big)}", {}, None, {}),
            ("GET", f"{ws}/{abs(big)}/permissionassignments", {}, None, {}),
            ("PUT", f"{ws}/{emu.default_workspace_id}/permissionassignments/principals/{abs(big)}", {},
             '{"permissions":["USER"]}', {}),
            ("DELETE", f"{ws}/{emu.default_workspace_id}/permissionassignments/principals/{abs(big)}", {}, None, {}),
        ]
    return cases


def test_the_corpus_that_once_broke_the_emulator_is_refused_cleanly(hostile: Emulator) -> None:
    before = _listings(hostile)
    digest = _state(hostile)
    for method, path, params, raw, headers in _corpus(hostile):
        response = _send(hostile, method, path, params, headers=headers,
                         raw=raw.encode() if isinstance(raw, str) else None)
        _assert_api_shaped(response, path)
        assert response.status_code >= 400, f"{method} {path[:100]} was accepted"
    assert _state(hostile) == digest
    assert _listings(hostile) == before


def test_an_oversized_request_line_gets_the_api_error_body(hostile: Emulator) -> None:
    path = f"/api/2.0/accounts/{hostile.account_id}/scim/v2/Users?filter=" + "a" * 70000
    response = _send(hostile, "GET", path)
    assert response.status_code == 414
    assert response.json()["schemas"] == [SCIM_ERROR]
    response = _send(hostile, "GET", "/api/2.1/unity-catalog/catalogs?x=" + "a" * 70000)
    assert response.status_code == 414 and response.json()["error_code"] == "REQUEST_URI_TOO_LONG"


def test_an_oversized_body_is_413_and_changes_nothing(hostile: Emulator) -> None:
    digest = _state(hostile)
    body = b'{"userName": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    response = _send(hostile, "POST", f"/api/2.0/accounts/{hostile.account_id}/scim/v2/Users", raw=body)
    assert response.status_code == 413 and response.json()["status"] == "413"
    assert _state(hostile) == digest


# -- generated requests ----------------------------------------------------------------------------

ATTRS = st.sampled_from(["userName", "displayName", "emails.value", "emails", "active", "externalId", "id",
                         "members", "members.value", "name.givenName", "applicationId", "urn:x:y:z", "a.b.c.d"])
OPS = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "pr", "EQ", "Sw", "lt", "xx"])
VALUES = st.one_of(st.text(max_size=12).map(json.dumps), st.text(max_size=8).map(lambda t: f"'{t}'"),
                   st.sampled_from(["true", "false", "null", "1", "1e999", "-0", "u"]))


def _filters() -> st.SearchStrategy[str]:
    comparison = st.builds(lambda a, o, v: f"{a} {o} {v}", ATTRS, OPS, VALUES)
    tree = st.recursive(comparison, lambda inner: st.one_of(
        st.builds(lambda x, j, y: f"{x} {j} {y}", inner, st.sampled_from(["and", "or", "AND", "Or"]), inner),
        inner.map(lambda x: f"({x})"), inner.map(lambda x: f"not ({x})"),
        st.builds(lambda a, x: f"{a}[{x}]", ATTRS, inner)), max_leaves=12)
    noise = st.text(alphabet="()[]\"' \\eqorandnt'abc", max_size=60)
    repeated = st.builds(lambda t, n, j: f" {j} ".join([t] * n), comparison, st.integers(100, 700),
                         st.sampled_from(["or", "and"]))
    nested = st.builds(lambda n, o, c: o * n + "userName eq 'a'" + c * n, st.integers(10, 4000),
                       st.sampled_from(["(", "emails["]), st.sampled_from([")", "]"]))
    return st.one_of(tree, noise, repeated, nested, st.text(max_size=40))


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80), st.floats(),
              st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20)
PATCH_OP = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "Add", "REPLACE", "move", ""])},
    optional={"path": st.one_of(st.sampled_from(["members", "displayName", "active", "members[value eq \"1\"]",
                                                 "emails[type eq \"work\"].value", "name.givenName", "groups",
                                                 "members[", "]", "urn:ietf:params:scim:schemas:core:2.0:User:x"]),
                                _filters().map(lambda f: f"members[{f}]"), st.text(max_size=20)),
              "value": st.one_of(JSON, st.lists(st.fixed_dictionaries({"value": st.one_of(
                  st.text(max_size=20), st.integers(min_value=-(2**70), max_value=2**70))}), max_size=3))})
PATCH_BODY = st.one_of(
    st.fixed_dictionaries({"Operations": st.lists(PATCH_OP, max_size=4)},
                          optional={"schemas": st.just(["urn:ietf:params:scim:api:messages:2.0:PatchOp"])}),
    JSON)
CREATE_BODY = st.one_of(JSON, st.fixed_dictionaries({}, optional={
    "userName": st.one_of(st.text(max_size=30), JSON), "displayName": st.one_of(st.text(max_size=30), JSON),
    "applicationId": st.one_of(st.uuids().map(str), st.text(max_size=30)), "externalId": JSON,
    "members": st.lists(st.fixed_dictionaries({"value": st.one_of(st.text(max_size=20), JSON)}), max_size=3),
    "emails": JSON, "active": JSON, "roles": JSON, "entitlements": JSON, "groups": JSON}))
UC_BODY = st.one_of(JSON, st.fixed_dictionaries({}, optional={
    "changes": st.one_of(JSON, st.lists(st.fixed_dictionaries({"principal": st.one_of(st.text(max_size=20), JSON)},
                                                              optional={"add": JSON, "remove": JSON}), max_size=3)),
    "owner": st.one_of(st.text(max_size=20), JSON), "comment": JSON}))
INT_TEXT = st.one_of(st.integers(min_value=-(2**80), max_value=2**80).map(str),
                     st.sampled_from(["", " 1", "1.5", "0x10", "1e3", "٣", "١٢٣", "+5", "-0", "NaN", "9" * 30]),
                     st.text(max_size=6))
SEGMENT = st.one_of(st.text(min_size=1, max_size=20).map(lambda t: quote(t, safe="")),
                    st.integers(min_value=0, max_value=2**80).map(str),
                    st.sampled_from(["main", "main.default", "main.x.y.z", "%00", "..", "%2F", "%ED%A0%80", "%FF"]))


@st.composite
def hostile_request(draw: st.DrawFn, account_id: str, workspace_id: int) -> tuple[str, str, dict[str, str], Any,
                                                                                    dict[str, str]]:
    scim = f"/api/2.0/accounts/{account_id}/scim/v2"
    kind = draw(st.sampled_from(["Users", "Groups", "ServicePrincipals"]))
    seg = draw(SEGMENT)
    family = draw(st.sampled_from(["scim-list", "scim-get", "scim-create", "scim-patch", "scim-put",
                                   "assign", "uc-list", "uc-grants", "uc-update", "workspace"]))
    params: dict[str, str] = {}
    body: Any = None
    if family == "scim-list":
        method, path = "GET", f"{scim}/{kind}"
        params = draw(st.fixed_dictionaries({}, optional={
            "filter": _filters(), "startIndex": INT_TEXT, "count": INT_TEXT, "sortBy": ATTRS,
            "sortOrder": st.sampled_from(["ascending", "descending", "x"]),
            "attributes": st.text(max_size=20), "excludedAttributes": st.text(max_size=20)}))
    elif family == "scim-get":
        method, path = draw(st.sampled_from(["GET", "DELETE"])), f"{scim}/{kind}/{seg}"
        params = draw(st.fixed_dictionaries({}, optional={"attributes": st.text(max_size=20)}))
    elif family == "scim-create":
        method, path, body = "POST", f"{scim}/{kind}", draw(CREATE_BODY)
    elif family == "scim-patch":
        method, path, body = "PATCH", f"{scim}/{kind}/{seg}", draw(PATCH_BODY)
    elif family == "scim-put":
        method, path, body = "PUT", f"{scim}/{kind}/{seg}", draw(CREATE_BODY)
    elif family == "assign":
        ws = draw(st.one_of(st.just(str(workspace_id)), INT_TEXT.filter(lambda t: t.isdigit())))
        method = draw(st.sampled_from(["PUT", "DELETE", "GET"]))
        path = f"/api/2.0/accounts/{account_id}/workspaces/{ws}/permissionassignments"
        path += "" if method == "GET" else f"/principals/{seg}"
        body = draw(st.one_of(st.just({"permissions": ["USER"]}), JSON))
    elif family == "uc-list":
        method = "GET"
        path = "/api/2.1/unity-catalog/" + draw(st.sampled_from(["catalogs", "schemas", "tables", "volumes",
                                                                 "functions", "external-locations"]))
        params = draw(st.fixed_dictionaries({}, optional={
            "catalog_name": st.text(max_size=10), "schema_name": st.text(max_size=10), "max_results": INT_TEXT,
            "page_token": st.one_of(st.text(max_size=20), INT_TEXT.map(
                lambda n: base64.urlsafe_b64encode(f"scimkit:{n}".encode()).decode()))}))
    elif family == "uc-grants":
        method = "GET"
        kind_text = draw(st.sampled_from(["catalog", "CATALOG", "schema", "table", "volume", "metastore", "x"]))
        path = f"/api/2.1/unity-catalog/{draw(st.sampled_from(['permissions', 'effective-permissions']))}/{kind_text}/{seg}"
        params = draw(st.fixed_dictionaries({}, optional={"principal": st.text(max_size=20),
                                                          "max_results": INT_TEXT, "page_token": st.text(max_size=20)}))
    elif family == "uc-update":
        method, body = "PATCH", draw(UC_BODY)
        target = draw(st.sampled_from(["permissions/catalog", "permissions/schema", "catalogs", "schemas"]))
        path = f"/api/2.1/unity-catalog/{target}/{seg}"
    else:
        method, path = "GET", f"/api/2.0/accounts/{account_id}/workspaces/{draw(INT_TEXT.filter(str.isdigit))}"
    headers = draw(st.fixed_dictionaries({}, optional={"X-Databricks-Workspace-Id": st.one_of(
        st.just(str(workspace_id)), INT_TEXT.filter(lambda t: t.isascii() and t.isprintable() and t == t.strip() and t != ""))}))
    return method, path, params, body, headers


def _fuzz(emu: Emulator, request: tuple[str, str, dict[str, str], Any, dict[str, str]]) -> None:
    method, path, params, body, headers = request
    before = _state(emu)
    try:
        raw = json.dumps(body, allow_nan=True).encode() if body is not None else None
    except (ValueError, TypeError):
        raw = b"{"
    response = _send(emu, method, path, params, headers=headers, raw=raw)
    _assert_api_shaped(response, path)
    if response.status_code >= 400:
        assert _state(emu) == before, f"refused {method} {path[:120]} ({response.status_code}) changed state"


def _run(emu: Emulator, examples: int, replayable: bool = True) -> None:
    @settings(max_examples=examples, deadline=None, database=None, derandomize=replayable,
              suppress_health_check=list(HealthCheck))
    @given(request=hostile_request(emu.account_id, emu.default_workspace_id))
    def check(request: tuple[str, str, dict[str, str], Any, dict[str, str]]) -> None:
        _fuzz(emu, request)

    check()


def test_generated_requests_never_get_a_5xx_and_refusals_change_nothing(hostile: Emulator) -> None:
    _run(hostile, 300)
    assert TALLY.server_errors == []


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_generated_requests_soak(hostile: Emulator) -> None:
    _run(hostile, 3000, replayable=False)
    assert TALLY.server_errors == []

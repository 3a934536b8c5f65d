"""Account identity rules: SCIM resources, PATCH, membership constraints, workspace assignment.

Functions take a SQLite connection inside the request's transaction and raise `ScimError` /
`ApiError`; they never see HTTP. Each write validates everything first, so a refused request
changes nothing.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from ..errors import ApiError, ScimError
from ..store import dumps, loads, next_id, next_seq
from ..wire import Limits

KINDS = {"Users": "User", "Groups": "Group", "ServicePrincipals": "ServicePrincipal"}
KEY_FIELD = {"User": "userName", "Group": "displayName", "ServicePrincipal": "applicationId"}
SCHEMAS = {
    "User": "urn:ietf:params:scim:schemas:core:2.0:User",
    "Group": "urn:ietf:params:scim:schemas:core:2.0:Group",
    "ServicePrincipal": "urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal",
}
REF_PREFIX = {"User": "Users", "Group": "Groups", "ServicePrincipal": "ServicePrincipals"}
# Attributes a client may set, per kind (lower-case name -> canonical name). Others are refused.
WRITABLE = {
    "User": ["userName", "displayName", "name", "emails", "active", "externalId", "roles", "entitlements"],
    "Group": ["displayName", "externalId", "members", "roles", "entitlements"],
    "ServicePrincipal": ["applicationId", "displayName", "active", "externalId", "roles", "entitlements"],
}
# Silently kept as they are on PUT/PATCH (databricks-api.md 1.3, 1.6).
IMMUTABLE = {"User": {"username", "emails"}, "Group": set(), "ServicePrincipal": {"applicationid"}}
MULTI_VALUED = {"emails", "roles", "entitlements", "members"}
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Principal:
    id: str
    kind: str
    key: str
    doc: dict[str, Any]
    idp_managed: bool


# -- reading -------------------------------------------------------------------------------------

def _row_to_principal(row: sqlite3.Row) -> Principal:
    return Principal(row["id"], row["kind"], row["key"], loads(row["doc"]), bool(row["idp_managed"]))


def get(db: sqlite3.Connection, kind: str, principal_id: str) -> Principal:
    row = db.execute("SELECT * FROM principals WHERE id=? AND kind=?", (principal_id, kind)).fetchone()
    if row is None:
        label = {"User": "User", "Group": "Group", "ServicePrincipal": "Service principal"}[kind]
        raise ScimError(404, f"{label} {principal_id} not found.")
    return _row_to_principal(row)


def find_any(db: sqlite3.Connection, principal_id: str) -> Principal | None:
    row = db.execute("SELECT * FROM principals WHERE id=?", (principal_id,)).fetchone()
    return _row_to_principal(row) if row else None


def all_of_kind(db: sqlite3.Connection, kind: str) -> list[Principal]:
    rows = db.execute("SELECT * FROM principals WHERE kind=? ORDER BY seq", (kind,)).fetchall()
    return [_row_to_principal(r) for r in rows]


def page_of_kind(db: sqlite3.Connection, kind: str, offset: int, limit: int) -> tuple[int, list[Principal]]:
    """(total, one page) in creation order."""
    total = db.execute("SELECT COUNT(*) FROM principals WHERE kind=?", (kind,)).fetchone()[0]
    rows = db.execute("SELECT * FROM principals WHERE kind=? ORDER BY seq LIMIT ? OFFSET ?",
                      (kind, limit, offset)).fetchall()
    return total, [_row_to_principal(r) for r in rows]


def by_key(db: sqlite3.Connection, kind: str, key: str) -> list[Principal]:
    rows = db.execute("SELECT * FROM principals WHERE kind=? AND key_lower=? ORDER BY seq",
                      (kind, key.lower())).fetchall()
    return [_row_to_principal(r) for r in rows]


def members_of(db: sqlite3.Connection, group_id: str) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT p.id, p.kind, p.key, p.doc FROM memberships m JOIN principals p ON p.id = m.member_id "
        "WHERE m.group_id=? ORDER BY p.seq", (group_id,)).fetchall()
    members = []
    for row in rows:
        doc = loads(row["doc"])
        members.append({"display": doc.get("displayName") or row["key"], "value": row["id"],
                        "$ref": f"{REF_PREFIX[row['kind']]}/{row['id']}"})
    return members


def groups_of(db: sqlite3.Connection, member_id: str) -> list[dict[str, Any]]:
    """The direct parent groups of a user or service principal, as its read-only `groups` attribute."""
    rows = db.execute(
        "SELECT p.id, p.key, p.doc FROM memberships m JOIN principals p ON p.id = m.group_id "
        "WHERE m.member_id=? ORDER BY p.seq", (member_id,)).fetchall()
    return [{"display": loads(row["doc"]).get("displayName") or row["key"], "value": row["id"],
             "$ref": f"Groups/{row['id']}", "type": "direct"} for row in rows]


def render(db: sqlite3.Connection, principal: Principal, with_members: bool,
           with_groups: bool = True) -> dict[str, Any]:
    """The resource as the account SCIM API returns it. Users and service principals carry their
    direct memberships in `groups` (left out when `with_groups` is false: a projection drops it)."""
    resource: dict[str, Any] = {"id": principal.id, **principal.doc}
    resource["schemas"] = [SCHEMAS[principal.kind]]
    if principal.kind == "Group":
        resource["meta"] = {"resourceType": "Group"}
        if with_members:
            resource["members"] = members_of(db, principal.id)
    elif with_groups:
        groups = groups_of(db, principal.id)
        if groups:  # like other empty multi-valued attributes, left out rather than []
            resource["groups"] = groups
    return resource


def projection_keeps(attribute: str, attributes: str | None, excluded: str | None) -> bool:
    """Whether `project(resource, attributes, excluded)` would keep a top-level attribute."""
    name = attribute.lower()
    if attributes:
        return any(item.strip().partition(".")[0].lower() == name for item in attributes.split(","))
    if excluded:
        return all(item.strip().partition(".")[0].lower() != name for item in excluded.split(","))
    return True


# -- projection and paging -------------------------------------------------------------------------

def project(resource: dict[str, Any], attributes: str | None, excluded: str | None) -> dict[str, Any]:
    """Apply `attributes` / `excludedAttributes`; `id` and `schemas` are always returned."""
    if attributes:
        wanted: dict[str, set[str]] = {}
        for item in attributes.split(","):
            top, _, sub = item.strip().partition(".")
            if top:
                wanted.setdefault(top.lower(), set())
                if sub:
                    wanted[top.lower()].add(sub.lower())
        out: dict[str, Any] = {}
        for key, value in resource.items():
            subs = wanted.get(key.lower())
            if key in ("id", "schemas"):
                out[key] = value
            elif subs is not None:
                if subs and isinstance(value, dict):
                    out[key] = {k: v for k, v in value.items() if k.lower() in subs}
                else:
                    out[key] = value
        return out
    if excluded:
        drop = {item.strip().lower() for item in excluded.split(",") if item.strip()}
        return {k: v for k, v in resource.items() if k in ("id", "schemas") or k.lower() not in drop}
    return resource


def sort_key(attribute: str):  # noqa: ANN201 - a key function
    names = attribute.split(".")

    def key(resource: dict[str, Any]) -> tuple[int, str]:
        value: Any = resource
        for name in names:
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, dict):
                value = next((v for k, v in value.items() if k.lower() == name.lower()), None)
            else:
                value = None
        if isinstance(value, list):
            value = (value[0].get("value") if value and isinstance(value[0], dict) else None)
        return (value is None, str(value).lower() if value is not None else "")

    return key


# -- validation helpers --------------------------------------------------------------------------

def _as_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ScimError(400, f"Attribute '{field}' must be a boolean (true/false), got {value!r}.", "invalidValue")


def _canonical(kind: str, name: str) -> str | None:
    for attribute in WRITABLE[kind]:
        if attribute.lower() == name.lower():
            return attribute
    return None


def _clean_doc(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """Keep the writable attributes of a request body; refuse wrong types."""
    doc: dict[str, Any] = {}
    for key, value in body.items():
        name = _canonical(kind, key)
        if name is None or name == "members":
            continue  # schemas, id, meta, groups, unknown: ignored like Databricks does
        if name == "active":
            value = _as_bool(value, "active")
        elif name in MULTI_VALUED:
            if not isinstance(value, list):
                raise ScimError(400, f"Attribute '{name}' must be a list.", "invalidValue")
            value = [v if isinstance(v, dict) else {"value": v} for v in value]
        elif name == "name" and not isinstance(value, dict):
            raise ScimError(400, "Attribute 'name' must be an object with givenName and familyName.", "invalidValue")
        doc[name] = value
    return doc


def _check_unique(db: sqlite3.Connection, kind: str, key: str, except_id: str | None = None) -> None:
    for other in by_key(db, kind, key):
        if other.id != except_id:
            if kind == "User":
                message = f"User with email {key} already exists in this account"
            elif kind == "Group":
                message = f"Group with name {key} already exists."
            else:
                message = f"Service principal with application ID {key} already exists."
            raise ScimError(409, message, "uniqueness")


def _check_account_size(db: sqlite3.Connection, kind: str, limits: Limits) -> None:
    if kind == "Group":
        count = db.execute("SELECT COUNT(*) FROM principals WHERE kind='Group'").fetchone()[0]
        if count >= limits.max_groups:
            raise ScimError(400, f"The account already has {count} groups; the limit is {limits.max_groups}.",
                            "invalidValue")
    else:
        count = db.execute("SELECT COUNT(*) FROM principals WHERE kind IN ('User','ServicePrincipal')").fetchone()[0]
        if count >= limits.max_users_and_sps:
            raise ScimError(400, f"The account already has {count} users and service principals; the limit is "
                                 f"{limits.max_users_and_sps}.", "invalidValue")


# -- membership constraints ----------------------------------------------------------------------

def _group_children(db: sqlite3.Connection, group_id: str) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT m.member_id FROM memberships m JOIN principals p ON p.id=m.member_id "
        "WHERE m.group_id=? AND p.kind='Group'", (group_id,))]


def _group_parents(db: sqlite3.Connection, member_id: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT group_id FROM memberships WHERE member_id=?", (member_id,))]


def _depth(db: sqlite3.Connection, start: str, step: Any, memo: dict[str, int]) -> int:
    """Longest chain of group edges from `start` following `step` (children or parents)."""
    if start in memo:
        return memo[start]
    memo[start] = 0  # cycle guard; cycles are refused before this is called
    best = 0
    for nxt in step(db, start):
        best = max(best, 1 + _depth(db, nxt, step, memo))
    memo[start] = best
    return best


def _reaches(db: sqlite3.Connection, start: str, target: str) -> bool:
    """Whether `target` is `start` or nested (transitively) inside group `start`."""
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == target:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(_group_children(db, node))
    return False


def set_members(db: sqlite3.Connection, group: Principal, member_ids: list[str], limits: Limits) -> None:
    """Replace the direct members of `group`, refusing unknown ids, cycles and limit breaches."""
    wanted = list(dict.fromkeys(str(m) for m in member_ids))
    current = {r[0] for r in db.execute("SELECT member_id FROM memberships WHERE group_id=?", (group.id,))}
    added = [m for m in wanted if m not in current]
    removed = current - set(wanted)
    if len(added) + len(removed) > limits.max_members_per_patch:
        raise ScimError(400, f"At most {limits.max_members_per_patch} members can change in one request; "
                             f"this one changes {len(added) + len(removed)}. Split it.", "invalidValue")
    for member_id in added:
        member = find_any(db, member_id)
        if member is None:
            raise ScimError(400, f"Member {member_id} does not exist in this account.", "invalidValue")
        if member.kind == "Group" and _reaches(db, member_id, group.id):
            raise ScimError(400, f"Adding group {member.key} to {group.key} would create a cycle.", "invalidValue")
        parents = db.execute("SELECT COUNT(*) FROM memberships WHERE member_id=?", (member_id,)).fetchone()[0]
        if parents >= limits.max_direct_memberships:
            raise ScimError(400, f"{member.key} is already a direct member of {parents} groups; the limit is "
                                 f"{limits.max_direct_memberships}.", "invalidValue")
    for member_id in removed:
        db.execute("DELETE FROM memberships WHERE group_id=? AND member_id=?", (group.id, member_id))
    for member_id in added:
        db.execute("INSERT INTO memberships(group_id, member_id) VALUES (?, ?)", (group.id, member_id))
    if any(find_any(db, m).kind == "Group" for m in added):  # type: ignore[union-attr]
        depth = _depth(db, group.id, _group_parents, {}) + _depth(db, group.id, _group_children, {})
        if depth > limits.max_nesting_depth:
            # Raising rolls back the whole transaction, so nothing of this request remains.
            raise ScimError(400, f"Group nesting would reach depth {depth} through {group.key}; the limit is "
                                 f"{limits.max_nesting_depth}.", "invalidValue")


# -- create / replace / patch / delete -------------------------------------------------------------

def create(db: sqlite3.Connection, kind: str, body: dict[str, Any], limits: Limits, idp_managed: bool) -> Principal:
    if not isinstance(body, dict):
        raise ScimError(400, "Request body must be a JSON object.", "invalidSyntax")
    doc = _clean_doc(kind, body)
    key_field = KEY_FIELD[kind]
    if kind == "ServicePrincipal" and not doc.get("applicationId"):
        doc["applicationId"] = str(uuid.uuid4())
    key = doc.get(key_field)
    if not isinstance(key, str) or not key.strip():
        raise ScimError(400, f"Attribute '{key_field}' is required.", "invalidValue")
    if kind == "User" and not re.fullmatch(r"[^@\s]+@[^@\s]+", key):
        raise ScimError(400, f"userName '{key}' is not an email address.", "invalidValue")
    if kind == "Group" and len(key) > 255:
        raise ScimError(400, "displayName is longer than 255 characters.", "invalidValue")
    if len(str(doc.get("externalId", ""))) > 64:
        raise ScimError(400, "externalId is longer than 64 characters.", "invalidValue")
    _check_unique(db, kind, key)
    _check_account_size(db, kind, limits)
    if kind == "User":
        doc.setdefault("emails", [{"value": key, "primary": True, "type": "work"}])
        doc.setdefault("displayName", key)
    if kind in ("User", "ServicePrincipal"):
        doc.setdefault("active", True)
    doc["schemas"] = [SCHEMAS[kind]]
    principal = Principal(next_id(db), kind, key, doc, idp_managed and bool(doc.get("externalId")))
    db.execute("INSERT INTO principals(id, kind, key, key_lower, doc, idp_managed, seq) VALUES (?,?,?,?,?,?,?)",
               (principal.id, kind, key, key.lower(), dumps(doc), int(principal.idp_managed),
                next_seq(db, "principals")))
    if kind == "Group" and body.get("members"):
        set_members(db, principal, [_member_value(m) for m in _as_list(body["members"], "members")], limits)
    return principal


def _save(db: sqlite3.Connection, principal: Principal) -> None:
    key = principal.doc[KEY_FIELD[principal.kind]]
    db.execute("UPDATE principals SET doc=?, key=?, key_lower=? WHERE id=?",
               (dumps(principal.doc), key, key.lower(), principal.id))


def _guard_idp(principal: Principal, admin_call: bool, immutable: bool, what: str) -> None:
    if principal.kind == "Group" and principal.idp_managed and admin_call and immutable:
        raise ScimError(403, f"Group {principal.key} is provisioned by your identity provider; {what} must be "
                             "changed in the identity provider, not through this API.")


def replace(db: sqlite3.Connection, principal: Principal, body: dict[str, Any], limits: Limits,
            admin_call: bool, idp_immutable: bool) -> None:
    kind = principal.kind
    doc = _clean_doc(kind, body)
    for name in list(doc):
        if name.lower() in IMMUTABLE[kind]:
            doc.pop(name)
    for name in WRITABLE[kind]:
        if name.lower() in IMMUTABLE[kind] and name in principal.doc:
            doc[name] = principal.doc[name]
    key_field = KEY_FIELD[kind]
    doc.setdefault(key_field, principal.doc.get(key_field))
    if not doc.get(key_field):
        raise ScimError(400, f"Attribute '{key_field}' is required.", "invalidValue")
    if kind in ("User", "ServicePrincipal"):
        doc.setdefault("active", True)
    doc["schemas"] = [SCHEMAS[kind]]
    if kind == "Group":
        new_members = [_member_value(m) for m in _as_list(body.get("members") or [], "members")]
        current = [r[0] for r in db.execute("SELECT member_id FROM memberships WHERE group_id=?", (principal.id,))]
        if doc[key_field] != principal.doc.get(key_field) or set(new_members) != set(current):
            _guard_idp(principal, admin_call, idp_immutable, "its name and members")
        set_members(db, principal, new_members, limits)
    _check_unique(db, kind, doc[key_field], except_id=principal.id)
    principal.doc = doc
    _save(db, principal)


def _as_list(value: Any, field: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise ScimError(400, f"'{field}' must be a list of objects with a 'value'.", "invalidValue")


def _member_value(member: Any) -> str:
    if isinstance(member, dict) and member.get("value") not in (None, ""):
        return str(member["value"])
    if isinstance(member, str | int):
        return str(member)
    raise ScimError(400, f"A member must be an object with a 'value' (the member's id), got {member!r}.",
                    "invalidValue")


_VALUE_FILTER = re.compile(r'^\s*(\w+)\s*\[\s*value\s+eq\s+["\']?([^"\'\]]*)["\']?\s*\]\s*(?:\.\s*\w+)?\s*$',
                           re.IGNORECASE)
_ANY_FILTER = re.compile(r"^\s*(\w+)\s*\[.*\]\s*(?:\.\s*(\w+))?\s*$")


def patch(db: sqlite3.Connection, principal: Principal, body: Any, limits: Limits,
          admin_call: bool, idp_immutable: bool) -> None:
    """Apply a SCIM PatchOp, all or nothing (RFC 7644 3.5.2, with the forms in databricks-api.md 1.6)."""
    if not isinstance(body, dict):
        raise ScimError(400, "Request body must be a JSON object with 'Operations'.", "invalidSyntax")
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "PATCH needs a non-empty 'Operations' list.", "invalidSyntax")
    kind = principal.kind
    doc = dict(principal.doc)
    members: list[str] | None = None
    if kind == "Group":
        members = [r[0] for r in db.execute("SELECT member_id FROM memberships WHERE group_id=? ORDER BY rowid",
                                            (principal.id,))]
    original_members = list(members or [])
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise ScimError(400, f"Operations[{index}] must be an object.", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "remove", "replace"):
            raise ScimError(400, f"Operations[{index}].op must be add, remove or replace; got "
                                 f"{operation.get('op')!r}.", "invalidSyntax")
        path = operation.get("path")
        has_value = "value" in operation and operation["value"] is not None
        if op in ("add", "replace") and not has_value:
            raise ScimError(400, f"Operations[{index}]: '{operation.get('op')}' needs a 'value' (a boolean false "
                                 "dropped by a client is a common cause; send \"false\").", "invalidValue")
        value = operation.get("value")
        if not path:
            if not isinstance(value, dict):
                raise ScimError(400, f"Operations[{index}]: without a path, 'value' must be an object of "
                                     "attributes.", "invalidValue")
            if op == "remove":
                raise ScimError(400, f"Operations[{index}]: 'remove' needs a path.", "noTarget")
            for attr, attr_value in value.items():
                members = _apply(kind, doc, members, op, attr, attr_value, index)
        else:
            members = _apply_path(kind, doc, members, op, str(path), value, has_value, index)
    if kind == "Group" and members is not None:
        if doc.get("displayName") != principal.doc.get("displayName") or members != original_members:
            _guard_idp(principal, admin_call, idp_immutable, "its name and members")
        if members != original_members:
            set_members(db, principal, members, limits)
    key_field = KEY_FIELD[kind]
    if not doc.get(key_field):
        raise ScimError(400, f"Attribute '{key_field}' cannot be removed.", "mutability")
    _check_unique(db, kind, doc[key_field], except_id=principal.id)
    principal.doc = doc
    _save(db, principal)


def _apply_path(kind: str, doc: dict[str, Any], members: list[str] | None, op: str, path: str, value: Any,
                has_value: bool, index: int) -> list[str] | None:
    if path.lower().startswith("urn:"):
        return members  # extension attributes (e.g. Entra's enterprise User) are ignored
    matched = _VALUE_FILTER.match(path)
    if matched:
        attr, filter_value = matched.group(1), matched.group(2)
        name = _canonical(kind, attr)
        if name is None:
            raise ScimError(400, f"Operations[{index}]: unknown attribute in path '{path}'.", "invalidPath")
        if name.lower() in IMMUTABLE[kind]:
            return members
        if name == "members":
            assert members is not None
            if op == "remove":
                return [m for m in members if m != filter_value]
            if op == "replace":
                return [m for m in members if m != filter_value] + [_member_value(v) for v in _as_list(value, "members")]
            return members + [_member_value(v) for v in _as_list(value, "members")]
        items = [v for v in doc.get(name, []) if str(v.get("value")) != filter_value]
        if op != "remove":
            items += [v if isinstance(v, dict) else {"value": v} for v in _as_list(value, name)]
        doc[name] = items
        return members
    if _ANY_FILTER.match(path):
        attr = _ANY_FILTER.match(path).group(1)  # type: ignore[union-attr]
        name = _canonical(kind, attr)
        if name is not None and name.lower() in IMMUTABLE[kind]:
            return members  # e.g. emails[type eq "work"].value from Entra: silently kept
        raise ScimError(400, f"Operations[{index}]: path filter '{path}' is not supported; use "
                             f"'{attr}[value eq \"...\"]'.", "invalidPath")
    top, _, sub = path.partition(".")
    if op == "remove" and not has_value:
        name = _canonical(kind, top)
        if name is None:
            raise ScimError(400, f"Operations[{index}]: unknown attribute '{path}'.", "invalidPath")
        if name.lower() in IMMUTABLE[kind]:
            return members
        if name == "members":
            return []
        if sub and isinstance(doc.get(name), dict):
            doc[name] = {k: v for k, v in doc[name].items() if k.lower() != sub.lower()}
        else:
            doc.pop(name, None)
        return members
    if sub:
        name = _canonical(kind, top)
        if name != "name":
            raise ScimError(400, f"Operations[{index}]: unknown attribute '{path}'.", "invalidPath")
        return _apply(kind, doc, members, op, "name", {sub: value}, index, merge=True)
    return _apply(kind, doc, members, op, top, value, index)


def _apply(kind: str, doc: dict[str, Any], members: list[str] | None, op: str, attr: str, value: Any,
           index: int, merge: bool = False) -> list[str] | None:
    if attr.lower().startswith("urn:"):
        return members
    name = _canonical(kind, attr)
    if name is None:
        if attr.lower() in ("id", "schemas", "meta", "groups"):
            return members
        raise ScimError(400, f"Operations[{index}]: unknown attribute '{attr}' for a {kind}.", "invalidPath")
    if name.lower() in IMMUTABLE[kind]:
        return members  # userName, emails, applicationId: silently kept
    if name == "members":
        assert members is not None
        new = [_member_value(v) for v in _as_list(value, "members")]
        if op == "remove":
            return [m for m in members if m not in set(new)]
        if op == "replace":
            return new
        return members + [m for m in new if m not in members]
    if op == "remove":
        remove = {str(v.get("value") if isinstance(v, dict) else v) for v in _as_list(value, name)}
        doc[name] = [v for v in doc.get(name, []) if str(v.get("value")) not in remove]
        return members
    if name == "active":
        doc[name] = _as_bool(value, "active")
    elif name == "name":
        if not isinstance(value, dict):
            raise ScimError(400, f"Operations[{index}]: 'name' must be an object.", "invalidValue")
        doc[name] = {**doc.get("name", {}), **value} if (merge or op == "add") else value
    elif name in MULTI_VALUED:
        items = [v if isinstance(v, dict) else {"value": v} for v in _as_list(value, name)]
        if op == "add":
            existing = {str(v.get("value")) for v in doc.get(name, [])}
            doc[name] = doc.get(name, []) + [v for v in items if str(v.get("value")) not in existing]
        else:
            doc[name] = items
    else:
        if not isinstance(value, str):
            raise ScimError(400, f"Operations[{index}]: '{name}' must be a string.", "invalidValue")
        if name == "externalId" and len(value) > 64:
            raise ScimError(400, "externalId is longer than 64 characters.", "invalidValue")
        doc[name] = value
    return members


def delete(db: sqlite3.Connection, principal: Principal, admin_call: bool, idp_immutable: bool) -> None:
    """Remove the principal with its memberships and workspace assignments. Grants naming it stay
    behind, as they do in Unity Catalog."""
    _guard_idp(principal, admin_call, idp_immutable, "its existence")
    db.execute("DELETE FROM memberships WHERE group_id=? OR member_id=?", (principal.id, principal.id))
    db.execute("DELETE FROM assignments WHERE principal_id=?", (principal.id,))
    db.execute("DELETE FROM sp_secrets WHERE sp_id=?", (principal.id,))  # its OAuth secrets go with it
    db.execute("DELETE FROM principals WHERE id=?", (principal.id,))


# -- workspaces and assignments --------------------------------------------------------------------

def workspace(db: sqlite3.Connection, workspace_id: int, account_id: str) -> dict[str, Any]:
    row = db.execute("SELECT doc FROM workspaces WHERE workspace_id=?", (workspace_id,)).fetchone()
    if row is None:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Workspace {workspace_id} does not exist.")
    doc = loads(row["doc"])
    doc["account_id"] = account_id
    return doc


def workspaces(db: sqlite3.Connection, account_id: str) -> list[dict[str, Any]]:
    rows = db.execute("SELECT workspace_id FROM workspaces ORDER BY workspace_id").fetchall()
    return [workspace(db, r[0], account_id) for r in rows]


def assignment_principal(db: sqlite3.Connection, principal_id: str) -> dict[str, Any]:
    principal = find_any(db, principal_id)
    if principal is None:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Principal {principal_id} does not exist in this account.")
    out: dict[str, Any] = {"principal_id": int(principal.id),
                           "display_name": principal.doc.get("displayName") or principal.key}
    field = {"User": "user_name", "Group": "group_name", "ServicePrincipal": "service_principal_name"}[principal.kind]
    out[field] = principal.key
    return out


def assignments(db: sqlite3.Connection, workspace_id: int) -> list[dict[str, Any]]:
    rows = db.execute("SELECT a.principal_id, a.permissions FROM assignments a JOIN principals p "
                      "ON p.id = a.principal_id WHERE a.workspace_id=? ORDER BY p.seq", (workspace_id,)).fetchall()
    return [{"principal": assignment_principal(db, r["principal_id"]), "permissions": loads(r["permissions"])}
            for r in rows]


def assign(db: sqlite3.Connection, workspace_id: int, principal_id: str, permissions: Any) -> dict[str, Any]:
    """Create-or-replace. Only USER and ADMIN count (case-sensitive; ADMIN wins); none deletes."""
    principal = assignment_principal(db, principal_id)
    values = [p for p in (permissions or []) if p in ("USER", "ADMIN")] if isinstance(permissions, list) else []
    if not values:
        db.execute("DELETE FROM assignments WHERE workspace_id=? AND principal_id=?", (workspace_id, principal_id))
        return {"principal": principal, "permissions": []}
    stored = ["ADMIN"] if "ADMIN" in values else ["USER"]
    db.execute("INSERT OR REPLACE INTO assignments(workspace_id, principal_id, permissions) VALUES (?,?,?)",
               (workspace_id, principal_id, dumps(stored)))
    return {"principal": principal, "permissions": stored}


def unassign(db: sqlite3.Connection, workspace_id: int, principal_id: str) -> None:
    assignment_principal(db, principal_id)
    cursor = db.execute("DELETE FROM assignments WHERE workspace_id=? AND principal_id=?",
                        (workspace_id, principal_id))
    if cursor.rowcount == 0:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST",
                       f"Principal {principal_id} has no permission assignment on workspace {workspace_id}.")

"""Graph delta rounds over the tenant's change log (no HTTP here): what a round's pages hold, and
the opaque tokens its links carry.

A round is fixed when it starts: `since` is the version of the delta link it came from (None for
an initial round, which lists everything), `upto` the tenant's version then. Pages are cut from
that round's items; the last page's deltaLink names `upto`, so the next round starts there. An
object changed while a round is being paged shows up again in the next round (Graph replays too).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from .rules import GROUP_TYPE, USER_TYPE, Tenant

DELTA_PAGE = 100  # Graph picks delta page sizes itself ($top is not supported on delta)
MEMBERS_PER_OBJECT = 20  # a larger group's members@delta is split over several appearances of it


class BadToken(ValueError):
    """A token that does not decode."""


class StaleToken(ValueError):
    """A token from another epoch of the tenant (before a reseed): a full sync is needed."""

    def __init__(self, select: tuple[str, ...]) -> None:
        super().__init__("stale delta token")
        self.select = select


@dataclass(frozen=True)
class Round:
    since: int | None
    upto: int
    select: tuple[str, ...]
    offset: int = 0

    def token(self, offset: int, epoch: str) -> str:
        return _encode({"e": epoch, "s": self.since, "u": self.upto, "o": offset, "sel": list(self.select)})

    def delta_token(self, epoch: str) -> str:
        return _encode({"e": epoch, "s": self.upto, "sel": list(self.select)})


def _encode(doc: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str, tenant: Tenant) -> dict[str, Any]:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(doc, dict) or not isinstance(doc.get("sel"), list):
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadToken(token[:40]) from None
    if doc.get("e") != tenant.epoch:
        raise StaleToken(tuple(str(f) for f in doc["sel"]))
    return doc


def resume(skiptoken: str | None, deltatoken: str | None, select: tuple[str, ...], tenant: Tenant) -> Round:
    """The round a request belongs to: a page of a running round, the start of a round from a
    delta link, or (neither) an initial round. `$deltatoken=latest` is an empty round at now."""
    if skiptoken:
        doc = decode(skiptoken, tenant)
        return Round(doc.get("s"), int(doc["u"]), tuple(doc["sel"]), int(doc["o"]))
    if deltatoken == "latest":
        return Round(tenant.version, tenant.version, select)
    if deltatoken:
        doc = decode(deltatoken, tenant)
        return Round(int(doc["s"]), tenant.version, tuple(doc["sel"]))
    return Round(None, tenant.version, select)


def _row(odata_type: str, obj: dict[str, Any], select: tuple[str, ...]) -> dict[str, Any]:
    row: dict[str, Any] = {"@odata.type": odata_type}
    row.update({f: obj.get(f) for f in select if f != "members"})
    row["id"] = obj["id"]
    return row


def user_items(tenant: Tenant, rnd: Round) -> list[dict[str, Any]]:
    with tenant.lock:
        if rnd.since is None:
            return [_row(USER_TYPE, u, rnd.select) for u in tenant.users]
        if rnd.since == rnd.upto:
            return []
        ids = list(dict.fromkeys(c.object_id for c in tenant.changed_since("user", rnd.since, rnd.upto)))
        out = []
        for user_id in ids:
            user = tenant.user(user_id)
            out.append(_row(USER_TYPE, user, rnd.select) if user is not None
                       else {"id": user_id, "@removed": {"reason": "changed"}})
        return out


def group_items(tenant: Tenant, rnd: Round) -> list[dict[str, Any]]:
    with_members = "members" in rnd.select
    with tenant.lock:
        if rnd.since is None:
            out = []
            for g in tenant.groups:
                row = _row(GROUP_TYPE, g, rnd.select)
                if with_members:
                    out += _split(row, [{"@odata.type": t, "id": m["id"]} for t, m in tenant.members(g["id"], False)])
                else:
                    out.append(row)
            return out
        if rnd.since == rnd.upto:
            return []
        changes = tenant.changed_since("group", rnd.since, rnd.upto)
        out = []
        for group_id in dict.fromkeys(c.object_id for c in changes):
            group = tenant.group(group_id)
            if group is None:
                out.append({"id": group_id, "@removed": {"reason": "changed"}})
                continue
            row = _row(GROUP_TYPE, group, rnd.select)
            last: dict[str, bool] = {}  # member id -> removed, the last change wins
            for c in changes:
                if c.object_id == group_id and c.member_id is not None:
                    last[c.member_id] = c.removed
            if with_members and last:
                entries = []
                for member_id, removed in last.items():
                    found = tenant.object(member_id)
                    entry: dict[str, Any] = {"@odata.type": found[0] if found else USER_TYPE, "id": member_id}
                    if removed:
                        entry["@removed"] = {"reason": "deleted"}
                    entries.append(entry)
                out += _split(row, entries)
            else:
                out.append(row)
        return out


def _split(row: dict[str, Any], members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The group once per MEMBERS_PER_OBJECT members (at least once), as Graph splits large groups."""
    chunks = [members[i:i + MEMBERS_PER_OBJECT] for i in range(0, len(members), MEMBERS_PER_OBJECT)] or [[]]
    return [{**row, "members@delta": chunk} for chunk in chunks]

"""Member names resolved in combined look-ups (`identities.resolve_members`): a few filtered lists for
many names, the same answers as one look-up per name, and every unknown name refused before a write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scimkit import identities as ids
from scimkit.connect import Account
from scimkit.errors import UnknownPrincipal

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def _names() -> tuple[list[str], list[str], list[dict]]:
    users = [u["userName"] for u in json.loads((SAMPLE / "users.json").read_text())]
    groups = [g["displayName"] for g in json.loads((SAMPLE / "groups.json").read_text())]
    sps = json.loads((SAMPLE / "service_principals.json").read_text())
    return users, groups, sps


def test_many_names_cost_a_few_combined_lists_and_match_one_lookup_per_name(emu, account: Account) -> None:  # noqa: ANN001
    users, groups, sps = _names()
    names = users[:120] + groups[:10] + [sps[0]["applicationId"], sps[1]["displayName"]]
    names.append(users[0].upper())  # userName compares case-insensitively
    emu.reset()
    resolved = ids.resolve_members(account, names)
    lists = emu.stats()["requests"].get("scim-list", 0)
    # users: 3 filters of 50 names; groups: 1; service principals: 1 by id, 1 by name; each list ends with the
    # SDK's empty page: at most 12 requests where one look-up per name took over 130.
    assert 4 <= lists <= 12, emu.stats()["requests"]
    one_by_one = {name: ids.resolve_member(account, name) for name in names}
    assert resolved == one_by_one
    assert {kind for _, kind in resolved.values()} == {"USER", "GROUP", "SERVICE_PRINCIPAL"}


def test_unknown_names_are_all_named_and_nothing_is_written(emu, account: Account) -> None:  # noqa: ANN001
    users, _, _ = _names()
    emu.reset()
    with pytest.raises(UnknownPrincipal) as raised:
        ids.add_members(account, "Analysts.NonProd", [users[0], "nobody@company.com", "No.Such.Group"])
    assert "'nobody@company.com', 'No.Such.Group'" in str(raised.value)
    assert "scim-patch" not in emu.stats()["requests"]


def test_add_members_resolves_a_large_batch_in_few_requests(emu, account: Account) -> None:  # noqa: ANN001
    users, _, _ = _names()
    emu.reset()
    change = ids.add_members(account, "Analysts.NonProd", users[:150])
    assert change.changed
    requests = emu.stats()["requests"]
    assert 3 <= requests.get("scim-list", 0) <= 10, requests  # find the group, then 3 filters of 50 names
    assert requests.get("scim-patch", 0) == 2  # 100 members per PATCH

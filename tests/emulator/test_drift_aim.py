"""Automatic identity management: a group from the IdP whose members SCIM does not list is one
`unlisted_members` row naming the cause (a documented heuristic, see scimkit.drift), not one
missing membership per person. The Databricks side is changed through the SCIM 2.1 provisioning
route the Entra connector uses; Entra is read through msal and the Graph reader."""

from __future__ import annotations

import requests

from scimkit.connect import connect
from scimkit.drift import AIM_CAUSE, drift
from scimkit.snapshot import snapshot

from .test_entra_source import _reader
from .test_entra_tenant import TENANT, emu  # noqa: F401 - the module fixture

APP_ID = TENANT["databricks_application"]["id"]
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_a_group_from_the_idp_with_no_scim_members_is_one_row(emu) -> None:  # noqa: ANN001,F811
    emu.reset()
    source = _reader(emu).read(application_id=APP_ID)
    before = snapshot(connect(emulator=emu), progress=False)
    baseline = drift(source, before)
    ids = {str(r.external_id): r for r in before.groups.itertuples() if isinstance(r.external_id, str)}
    members = before.memberships
    group = next(g for g in source.groups if g.assigned_to_app and g.external_id in ids
                 and str(ids[g.external_id].group_name) == g.name and len(g.members) >= 3
                 and not (baseline.group == g.name).any()
                 and (members.group_name == g.name).sum() >= len(g.members))
    db_id = ids[group.external_id].group_id
    response = requests.patch(
        f"{emu.host}/api/2.1/accounts/{emu.account_id}/scim/v2/Groups/{db_id}",
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "members", "value": []}]},
        headers={"Authorization": f"Bearer {emu.scim_token}"}, timeout=10)
    assert response.status_code in (200, 204), response.text
    after = snapshot(connect(emulator=emu), progress=False)
    assert not (after.memberships.group_name == group.name).any()
    frame = drift(source, after)
    rows = frame[frame.group == group.name]
    assert list(rows.kind) == ["unlisted_members"] and list(rows.cause) == [AIM_CAUSE]
    assert rows.subject.iloc[0] == group.name and f"{len(group.members)} direct members" in rows.detail.iloc[0]
    # everything else is as before: the heuristic only replaced that group's rows
    others = frame[frame.group != group.name].reset_index(drop=True)
    assert others.equals(baseline)
    emu.reset()

"""A run of writes where many answers are lost after the server committed the change.

Every write path the toolkit uses is faulted at a seeded rate (the change is made, then the answer
is replaced by a 503 or the connection is dropped), so the SDK's own resend and scimkit's
look-up-before-resending are both exercised. Afterwards the account must hold each object exactly
once, nothing that was asked for may be missing, and every change must say it was made.
"""

from __future__ import annotations

import pytest

from scimkit import catalog
from scimkit import identities as ids
from scimkit.connect import Account

WORKSPACE = 7000000000000002  # company-dev in the sample account
TABLE = "datalake.finance.transactions"
WRITES = [
    "POST:/ServicePrincipals$",
    "POST:/Users$",
    "PATCH:/Groups/",
    "PUT:/permissionassignments/principals/",
    "DELETE:/permissionassignments/principals/",
    "PATCH:/permissions/",
]


@pytest.mark.parametrize("action", ["lost", "drop"])
def test_writes_whose_answers_are_lost_happen_exactly_once(emu, account: Account, action: str) -> None:  # noqa: ANN001
    for path in WRITES:
        emu.app.faults.add_fault(f"{path}:{action}:35%")
    n = 6
    sps = [f"lost-bot-{i}" for i in range(n)]
    users = [f"lost.user{i}@company.com" for i in range(n)]
    changes = []
    changes += [ids.ensure_service_principal(account, name)[1] for name in sps]
    changes += [ids.ensure_user(account, name)[1] for name in users]
    group, change = ids.ensure_group(account, "Lost.Answers")
    changes.append(change)
    changes.append(ids.add_members(account, "Lost.Answers", users + sps))
    changes += [ids.assign_to_workspace(account, WORKSPACE, name) for name in users]
    changes += [ids.unassign_from_workspace(account, WORKSPACE, name) for name in users[: n // 2]]
    changes.append(catalog.grant(account, "TABLE", TABLE, "Lost.Answers", "SELECT"))
    faults = emu.stats()["faults_injected"]
    emu.app.faults.clear_faults()

    # Exactly once: one object per name, every member present, the assignments and the grant as asked.
    duplicated = [name for name in sps
                  if len(list(account.a.service_principals.list(filter=f'displayName eq "{name}"'))) != 1]
    duplicated += [name for name in users if len(list(account.a.users.list(filter=f'userName eq "{name}"'))) != 1]
    members = {m.value for m in (account.a.groups.get(group.id).members or [])}
    ids_by_name = {name: ids.find_user(account, name) for name in users}
    ids_by_name.update({name: ids.find_service_principal(account, name) for name in sps})
    lost = [name for name, found in ids_by_name.items() if found is None or found.id not in members]
    assigned = {p.principal.user_name for p in account.a.workspace_assignment.list(WORKSPACE) if p.principal}
    lost += [name for name in users[n // 2:] if name not in assigned]
    lost += [name for name in users[: n // 2] if name in assigned]  # an unassignment that did not happen
    grants = catalog.read_grants(account, account.workspace(7000000000000001), "TABLE", TABLE)
    if ("Lost.Answers", "SELECT") not in grants:
        lost.append("SELECT grant")
    unreported = [c for c in changes if not c.changed]
    print(f"\n{action}: operations {len(changes)}, faults injected {faults}, duplicated {len(duplicated)}, "
          f"lost {len(lost)}, reported as not made {len(unreported)}")
    assert faults >= 5, "the seeded rate should have lost several answers"
    assert duplicated == [] and lost == [] and unreported == []

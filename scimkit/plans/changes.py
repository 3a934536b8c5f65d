"""The typed changes a plan is made of. Each is a frozen record that knows its `key` (what it is
about: two changes with one key are the same change), its `target`, what it depends on (a
membership needs its user), and its inverse where one exists.

Principals are named as Unity Catalog and the SCIM API name them: a user by email, a group by
display name, a service principal by application id (or display name for SCIM-only changes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

# Apply order: identities first, then memberships, workspaces, Unity Catalog, and removals last.
PHASES = ("create_user", "reactivate", "set_display_name", "add_to_group", "remove_from_group",
          "assign_workspace", "unassign_workspace", "grant", "revoke", "transfer_ownership",
          "deactivate", "delete")


@dataclass(frozen=True)
class Change:
    """Base of every change. `reason` says why the plan contains it (shown to the reviewer)."""

    kind: ClassVar[str] = ""
    reason: str = ""

    @property
    def key(self) -> str:
        raise NotImplementedError

    @property
    def target(self) -> str:
        raise NotImplementedError

    @property
    def principal(self) -> str | None:
        """The principal the change acts for (whose creation it needs), if any."""
        return None

    def before_after(self) -> tuple[str, str]:
        """What the plan expects before, and what it makes, as the reviewer reads them."""
        raise NotImplementedError

    def inverse(self) -> Change | None:
        return None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name, value in data.items():
            if isinstance(value, tuple):
                data[name] = list(value)
        return {"kind": self.kind, **data}


def _user_key(email: str) -> str:
    return email.casefold()


@dataclass(frozen=True)
class CreateUser(Change):
    kind: ClassVar[str] = "create_user"
    user_name: str = ""
    display_name: str | None = None

    @property
    def key(self) -> str:
        return f"user:{_user_key(self.user_name)}"

    @property
    def target(self) -> str:
        return self.user_name

    def before_after(self) -> tuple[str, str]:
        return "absent", f"active user {self.display_name or ''}".strip()

    def inverse(self) -> Change | None:
        return Delete(user_name=self.user_name, reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class Reactivate(Change):
    kind: ClassVar[str] = "reactivate"
    user_name: str = ""

    @property
    def key(self) -> str:
        return f"active:{_user_key(self.user_name)}"

    @property
    def target(self) -> str:
        return self.user_name

    def before_after(self) -> tuple[str, str]:
        return "deactivated", "active"

    def inverse(self) -> Change | None:
        return Deactivate(user_name=self.user_name, reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class SetDisplayName(Change):
    kind: ClassVar[str] = "set_display_name"
    user_name: str = ""
    display_name: str = ""
    previous: str | None = None

    @property
    def key(self) -> str:
        return f"display_name:{_user_key(self.user_name)}"

    @property
    def target(self) -> str:
        return self.user_name

    @property
    def principal(self) -> str | None:
        return self.user_name

    def before_after(self) -> tuple[str, str]:
        return self.previous or "", self.display_name

    def inverse(self) -> Change | None:
        if self.previous is None:
            return None
        return SetDisplayName(user_name=self.user_name, display_name=self.previous, previous=self.display_name,
                              reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class AddToGroup(Change):
    kind: ClassVar[str] = "add_to_group"
    group: str = ""
    member: str = ""

    @property
    def key(self) -> str:
        return f"member:{self.group.casefold()}:{self.member.casefold()}"

    @property
    def target(self) -> str:
        return f"{self.member} in {self.group}"

    @property
    def principal(self) -> str | None:
        return self.member

    def before_after(self) -> tuple[str, str]:
        return "not a member", "member"

    def inverse(self) -> Change | None:
        return RemoveFromGroup(group=self.group, member=self.member, reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class RemoveFromGroup(Change):
    kind: ClassVar[str] = "remove_from_group"
    group: str = ""
    member: str = ""

    @property
    def key(self) -> str:
        return f"member:{self.group.casefold()}:{self.member.casefold()}"

    @property
    def target(self) -> str:
        return f"{self.member} in {self.group}"

    def before_after(self) -> tuple[str, str]:
        return "member", "not a member"

    def inverse(self) -> Change | None:
        return AddToGroup(group=self.group, member=self.member, reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class AssignWorkspace(Change):
    kind: ClassVar[str] = "assign_workspace"
    workspace: str = ""  # name or id, as written; validation resolves it
    principal_name: str = ""
    permission: str = "USER"

    @property
    def key(self) -> str:
        return f"workspace:{self.workspace.casefold()}:{self.principal_name.casefold()}"

    @property
    def target(self) -> str:
        return f"{self.principal_name} on {self.workspace}"

    @property
    def principal(self) -> str | None:
        return self.principal_name

    def before_after(self) -> tuple[str, str]:
        return "not assigned", self.permission

    def inverse(self) -> Change | None:
        return UnassignWorkspace(workspace=self.workspace, principal_name=self.principal_name,
                                 reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class UnassignWorkspace(Change):
    kind: ClassVar[str] = "unassign_workspace"
    workspace: str = ""
    principal_name: str = ""
    previous: str | None = None  # USER or ADMIN, when known

    @property
    def key(self) -> str:
        return f"workspace:{self.workspace.casefold()}:{self.principal_name.casefold()}"

    @property
    def target(self) -> str:
        return f"{self.principal_name} on {self.workspace}"

    def before_after(self) -> tuple[str, str]:
        return self.previous or "assigned", "not assigned"

    def inverse(self) -> Change | None:
        return AssignWorkspace(workspace=self.workspace, principal_name=self.principal_name,
                               permission=self.previous or "USER", reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class Grant(Change):
    kind: ClassVar[str] = "grant"
    securable_type: str = ""
    full_name: str = ""
    principal_name: str = ""
    privileges: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"grant:{self.securable_type}:{self.full_name.casefold()}:{self.principal_name.casefold()}:" \
               + ",".join(sorted(self.privileges))

    @property
    def target(self) -> str:
        return f"{self.securable_type} {self.full_name} to {self.principal_name}"

    @property
    def principal(self) -> str | None:
        return self.principal_name

    def before_after(self) -> tuple[str, str]:
        return "", ", ".join(self.privileges)

    def inverse(self) -> Change | None:
        return Revoke(securable_type=self.securable_type, full_name=self.full_name,
                      principal_name=self.principal_name, privileges=self.privileges, reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class Revoke(Change):
    kind: ClassVar[str] = "revoke"
    securable_type: str = ""
    full_name: str = ""
    principal_name: str = ""
    privileges: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"revoke:{self.securable_type}:{self.full_name.casefold()}:{self.principal_name.casefold()}:" \
               + ",".join(sorted(self.privileges))

    @property
    def target(self) -> str:
        return f"{self.securable_type} {self.full_name} from {self.principal_name}"

    def before_after(self) -> tuple[str, str]:
        return ", ".join(self.privileges), ""

    def inverse(self) -> Change | None:
        return Grant(securable_type=self.securable_type, full_name=self.full_name,
                     principal_name=self.principal_name, privileges=self.privileges, reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class TransferOwnership(Change):
    kind: ClassVar[str] = "transfer_ownership"
    securable_type: str = ""
    full_name: str = ""
    new_owner: str = ""
    previous_owner: str | None = None

    @property
    def key(self) -> str:
        return f"owner:{self.securable_type}:{self.full_name.casefold()}"

    @property
    def target(self) -> str:
        return f"{self.securable_type} {self.full_name}"

    @property
    def principal(self) -> str | None:
        return self.new_owner

    def before_after(self) -> tuple[str, str]:
        return self.previous_owner or "", self.new_owner

    def inverse(self) -> Change | None:
        if not self.previous_owner:
            return None
        return TransferOwnership(securable_type=self.securable_type, full_name=self.full_name,
                                 new_owner=self.previous_owner, previous_owner=self.new_owner,
                                 reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class Deactivate(Change):
    kind: ClassVar[str] = "deactivate"
    user_name: str = ""

    @property
    def key(self) -> str:
        return f"active:{_user_key(self.user_name)}"

    @property
    def target(self) -> str:
        return self.user_name

    def before_after(self) -> tuple[str, str]:
        return "active", "deactivated"

    def inverse(self) -> Change | None:
        return Reactivate(user_name=self.user_name, reason=f"undo: {self.reason}")


@dataclass(frozen=True)
class Delete(Change):
    """Deletes the user from the account. No builder makes one unless asked (`delete=True`):
    deactivating keeps the audit trail and can be undone; a deletion cannot."""

    kind: ClassVar[str] = "delete"
    user_name: str = ""

    @property
    def key(self) -> str:
        return f"user:{_user_key(self.user_name)}"

    @property
    def target(self) -> str:
        return self.user_name

    def before_after(self) -> tuple[str, str]:
        return "exists", "deleted"


CHANGE_TYPES: dict[str, type[Change]] = {cls.kind: cls for cls in (
    CreateUser, Reactivate, SetDisplayName, AddToGroup, RemoveFromGroup, AssignWorkspace, UnassignWorkspace,
    Grant, Revoke, TransferOwnership, Deactivate, Delete)}


def change_from_dict(data: dict[str, Any]) -> Change:
    """The change a `to_dict()` made; unknown kinds or fields are refused by name."""
    from ..errors import InvalidInput

    kind = data.get("kind")
    cls = CHANGE_TYPES.get(str(kind))
    if cls is None:
        raise InvalidInput(f"Unknown change kind {kind!r}.", field="kind", value=kind,
                           fix=f"use one of {', '.join(CHANGE_TYPES)}")
    names = {f.name for f in fields(cls)}
    extra = sorted(set(data) - names - {"kind"})
    if extra:
        raise InvalidInput(f"A {kind} change has no field(s) {', '.join(extra)}.", field=extra[0],
                           fix=f"a {kind} takes {', '.join(sorted(names))}")
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k != "kind"}
    return cls(**values)


def depends_on(change: Change, changes: list[Change]) -> list[str]:
    """Keys of the changes in `changes` this one needs first: the creation or reactivation of the
    principal it acts for."""
    who = change.principal
    if not who:
        return []
    wanted = {f"user:{who.casefold()}", f"active:{who.casefold()}"}
    return [c.key for c in changes if c is not change and c.key in wanted and isinstance(c, (CreateUser, Reactivate))]

"""The one shape every identity-provider source yields (HR roster, Entra ID, ...), so drift and plans
never care where the identities came from.

People are keyed by email (Databricks `userName`, compared case-insensitively); groups by display
name, with the provider's object id as `external_id` (what SCIM provisioning stores in Databricks'
`externalId`, and what matches a group renamed on one side).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class SourcePerson:
    """A person as the source knows them."""

    email: str
    display_name: str | None = None
    active: bool = True  # Entra `accountEnabled`; a roster person is active between start and end date
    external_id: str | None = None  # Entra object id, or the roster's employee_id
    groups: tuple[str, ...] = ()  # direct group names (the roster's `groups` column; Entra: derived)
    workspaces: tuple[str, ...] = ()  # roster only: workspace names or ids, as written
    start_date: date | None = None  # roster only
    end_date: date | None = None  # roster only: the last working day
    assigned_to_app: bool = False  # directly assigned to the Databricks application (Entra)
    manager: str | None = None  # the manager's email, where the source has one
    line: int | None = None  # roster only: the line of the file, for messages

    @property
    def key(self) -> str:
        return self.email.casefold()


@dataclass(frozen=True)
class SourceGroup:
    """A group as the source knows it: direct members only; nesting in `member_groups`."""

    name: str
    external_id: str | None = None
    members: tuple[str, ...] = ()  # emails of direct person members
    member_groups: tuple[str, ...] = ()  # names of direct nested groups
    assigned_to_app: bool = False  # assigned to the Databricks application (so provisioned by SCIM)

    @property
    def key(self) -> str:
        return self.name.casefold()


@dataclass(frozen=True)
class SourceIdentities:
    """Everything one read of a source produced."""

    kind: str  # "roster" | "entra"
    people: tuple[SourcePerson, ...] = ()
    groups: tuple[SourceGroup, ...] = ()
    read_at: datetime | None = None
    origin: str = ""  # the file path or tenant id it came from, for messages (never a secret)
    _people: dict[str, SourcePerson] = field(default_factory=dict, init=False, repr=False, compare=False)
    _groups: dict[str, SourceGroup] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._people.update({p.key: p for p in self.people})
        self._groups.update({g.key: g for g in self.groups})

    def person(self, email: str) -> SourcePerson | None:
        return self._people.get(email.casefold())

    def group(self, name: str) -> SourceGroup | None:
        return self._groups.get(name.casefold())

    def transitive_members(self, name: str) -> set[str]:
        """Emails of every person in the group, through nested groups (cycles tolerated)."""
        seen: set[str] = set()
        people: set[str] = set()
        stack = [name.casefold()]
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            group = self._groups.get(key)
            if group is None:
                continue
            people.update(m.casefold() for m in group.members)
            stack.extend(g.casefold() for g in group.member_groups)
        return people

    def groups_of(self, email: str) -> list[str]:
        """Names of the groups that list the person directly (from groups and from the person)."""
        key = email.casefold()
        names = {g.name for g in self.groups if key in {m.casefold() for m in g.members}}
        person = self.person(email)
        if person is not None:
            names.update(person.groups)
        return sorted(names, key=str.casefold)


def merge_people(people: Iterable[SourcePerson]) -> tuple[SourcePerson, ...]:
    """People in a stable order (by email), for frames and plans."""
    return tuple(sorted(people, key=lambda p: p.key))

"""What a snapshot could not read, as scopes a conclusion can be tested against.

A failed read (a row of the `completeness` table, from `scimkit.parallel.ReadFailure`) is unknown,
not absent: a group whose members were not read may hold anyone, a securable whose grants were not
read may grant anything. Compliance rules and `history.diff` declare the *facts* they rely on;
`Gaps.scope(fact)` says which objects those facts are uncertain for, so a rule withholds its
conclusion there instead of reporting a gap as a problem (or a diff reporting it as a removal).

Facts (what a rule may declare in `depends`):

    users, service_principals, groups   the account's lists of them (all-or-nothing: a failed
                                        page loses the whole list)
    members        a group's (transitive) members: uncertain for a group whose GET failed and every
                   group containing it; for every group when a principal list failed
    memberships    which groups a principal belongs to: uncertain for everyone once any group's
                   members (or a principal list) were not read
    workspaces     the workspace list
    assignments    a workspace's assignments (and its workspace admins)
    all_assignments any workspace's assignments (a conclusion about "assigned nowhere")
    securables     which securables exist, and their owners: uncertain below a parent whose list failed
    grants         the direct grants on one securable
    catalog_grants grants and securables anywhere in a securable's catalog (inheritance, USE
                   privileges, "a group already gives it here")
    all_grants     grants or securables anywhere (a conclusion about "holds no grant")

A fact written `fact@prefix` applies only to a rule's findings whose key starts with `prefix`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

FACTS = (
    "users",
    "service_principals",
    "groups",
    "members",
    "memberships",
    "workspaces",
    "assignments",
    "all_assignments",
    "securables",
    "grants",
    "catalog_grants",
    "all_grants",
)
_LISTS = {"users": "users", "service_principals": "service principals", "groups": "groups",
          "workspaces": "workspaces"}
_TOP_LISTS = ("w.catalogs.list", "w.external_locations.list", "w.storage_credentials.list")
_IN_CATALOG = ("CATALOG", "SCHEMA", "TABLE", "VOLUME", "FUNCTION")


@dataclass(frozen=True)
class Scope:
    """Where one fact is uncertain: everywhere (`everything`), or for these lower-case principals,
    securables (exact), securables below these parents, catalogs (anything in them) and workspaces;
    `reads` are the failed reads behind it, in words."""

    everything: bool = False
    principals: frozenset[str] = frozenset()
    securables: frozenset[str] = frozenset()
    below: frozenset[str] = frozenset()
    catalogs: frozenset[str] = frozenset()
    workspaces: frozenset[str] = frozenset()
    reads: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.everything or self.principals or self.securables or self.below or self.catalogs
                    or self.workspaces)

    def objects(self, spelling: Mapping[str, str] | None = None) -> list[str]:
        """The unread objects, in words (for messages); `spelling` maps lower-case group names to
        their names as the account spells them."""
        spelled = spelling or {}
        out = [f"group {spelled.get(p, p)}" for p in sorted(self.principals)]
        out += [f"securable {s}" for s in sorted(self.securables - self.catalogs)]
        out += [f"everything in {b}" for b in sorted(self.below)]
        out += [f"catalog {c} and everything in it" for c in sorted(self.catalogs - self.below)]
        out += [f"workspace {w}" for w in sorted(self.workspaces)]
        return out

    def union(self, other: Scope) -> Scope:
        return Scope(self.everything or other.everything, self.principals | other.principals,
                     self.securables | other.securables, self.below | other.below, self.catalogs | other.catalogs,
                     self.workspaces | other.workspaces, tuple(dict.fromkeys(self.reads + other.reads)))

    def covers(self, principal: pd.Series, securable_type: pd.Series, securable: pd.Series) -> pd.Series:
        """Which rows (by principal and securable) fall in this scope. Vectorised."""
        index = principal.index
        if self.everything:
            return pd.Series(True, index=index)
        if self.empty:
            return pd.Series(False, index=index)
        who = _lower(principal)
        what = _lower(securable)
        kind = securable_type.astype(object).fillna("").astype(str)
        hit = who.isin(self.principals)
        if self.workspaces:
            hit |= (kind == "WORKSPACE") & what.isin(self.workspaces)
        in_catalog = kind.isin(_IN_CATALOG)
        hit |= (kind != "WORKSPACE") & (kind != "ACCOUNT") & (kind != "") & what.isin(self.securables)
        if self.below or self.catalogs:
            parts = what.str.split(".", n=2)
            catalog = parts.str[0].fillna("")
            schema = (catalog + "." + parts.str[1].fillna("")).where(parts.str.len() > 1, "")
            if self.below:
                hit |= in_catalog & (
                    (catalog.isin(self.below) & (what != catalog)) | (schema.isin(self.below) & (what != schema)))
            if self.catalogs:
                hit |= in_catalog & catalog.isin(self.catalogs)
        return hit


def _lower(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "").astype(str).str.lower()


def _table(source: Any, name: str) -> pd.DataFrame | None:
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


@dataclass(frozen=True)
class Gaps:
    """The failed reads of one snapshot, resolved into the scope of each fact."""

    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    scopes: Mapping[str, Scope] = field(default_factory=dict)
    spelling: Mapping[str, str] = field(default_factory=dict)  # lower-case group name -> as spelled

    @property
    def complete(self) -> bool:
        return self.failures.empty

    def scope(self, fact: str) -> Scope:
        return self.scopes.get(fact, Scope())

    def union(self, other: Gaps) -> Gaps:
        facts = set(self.scopes) | set(other.scopes)
        return Gaps(pd.concat([self.failures, other.failures], ignore_index=True),
                    {f: self.scope(f).union(other.scope(f)) for f in facts}, {**other.spelling, **self.spelling})

    @classmethod
    def of(cls, snapshot: Any) -> Gaps:
        """The gaps of a Snapshot (or a dict of its tables); none when `completeness` is empty or absent."""
        comp = _table(snapshot, "completeness")
        if comp is None or comp.empty:
            return cls()
        comp = comp[["object_type", "object_name", "operation", "error"]].astype(object).reset_index(drop=True)
        rows = list(comp.itertuples(index=False, name=None))  # failed reads: few, one row each
        said = {r: describe(*r) for r in rows}
        scopes: dict[str, Scope] = {}

        def add(fact: str, scope: Scope) -> None:
            scopes[fact] = scopes.get(fact, Scope()).union(scope)

        catalog_unread = [r for r in rows if (r[0] == "workspaces") or r[0] == "metastore"
                          or (r[0] == "securable" and r[2] in _TOP_LISTS)]
        lists = {r[0]: r for r in rows if r[0] in _LISTS and r[1] == "*"}
        for name, r in lists.items():
            add(name, Scope(everything=True, reads=(said[r],)))
        if lists.keys() & {"users", "service_principals", "groups"}:
            reads = tuple(said[lists[k]] for k in ("users", "service_principals", "groups") if k in lists)
            for fact in ("members", "memberships"):
                add(fact, Scope(everything=True, reads=reads))
        if "workspaces" in lists:
            for fact in ("assignments", "all_assignments"):
                add(fact, Scope(everything=True, reads=(said[lists["workspaces"]],)))
        if catalog_unread:
            reads = tuple(said[r] for r in catalog_unread)
            for fact in ("securables", "grants", "catalog_grants", "all_grants"):
                add(fact, Scope(everything=True, reads=reads))

        unread_groups = [r for r in rows if r[0] == "group"]
        if unread_groups:
            names = {str(r[1]).lower() for r in unread_groups}
            reads = tuple(said[r] for r in unread_groups)
            add("members", Scope(principals=frozenset(names | _ancestors(snapshot, names)), reads=reads))
            add("memberships", Scope(everything=True, reads=reads))

        unread_ws = [r for r in rows if r[0] == "workspace"]
        if unread_ws:
            ws = _table(snapshot, "workspaces")
            name_of = ({str(i): str(n).lower() for i, n in zip(ws["workspace_id"], ws["workspace_name"], strict=True)}
                       if ws is not None else {})
            names = {name_of.get(str(r[1]), str(r[1]).lower()) for r in unread_ws} | {str(r[1]) for r in unread_ws}
            reads = tuple(said[r] for r in unread_ws)
            add("assignments", Scope(workspaces=frozenset(names), reads=reads))
            add("all_assignments", Scope(everything=True, reads=reads))

        unread_lists = [r for r in rows if r[0] == "securable" and r[2] not in _TOP_LISTS]
        unread_grants = [r for r in rows if r[0] == "grants"]
        if unread_lists or unread_grants:
            parents = frozenset(str(r[1]).lower() for r in unread_lists)
            exact = frozenset(str(r[1]).split(" ", 1)[-1].lower() for r in unread_grants)
            typed = [str(r[1]).split(" ", 1) for r in unread_grants]
            catalogs = frozenset(p.split(".")[0] for p in parents) | frozenset(
                t[1].split(".")[0].lower() for t in typed if len(t) == 2 and t[0] in _IN_CATALOG)
            outside = frozenset(t[1].lower() for t in typed if len(t) == 2 and t[0] not in _IN_CATALOG)
            list_reads = tuple(said[r] for r in unread_lists)
            grant_reads = tuple(said[r] for r in unread_grants)
            if parents:
                add("securables", Scope(below=parents, reads=list_reads))
            add("grants", Scope(securables=exact, below=parents, reads=grant_reads + list_reads))
            add("catalog_grants", Scope(securables=outside, catalogs=catalogs, below=parents,
                                        reads=grant_reads + list_reads))
            add("all_grants", Scope(everything=True, reads=grant_reads + list_reads))
        groups = _table(snapshot, "groups")
        spelling = ({str(n).lower(): str(n) for n in groups["group_name"]}
                    if groups is not None and "members" in scopes and not scopes["members"].everything else {})
        return cls(comp, scopes, spelling)

    def lines(self) -> list[str]:
        """One line per kind of failed read: what was not read (and why)."""
        out: list[str] = []
        comp = self.failures
        if comp.empty:
            return out
        for (object_type, operation), part in comp.groupby(["object_type", "operation"], sort=False):
            names = [str(n) for n in part["object_name"]]
            errors = list(dict.fromkeys(str(e) for e in part["error"]))
            what = _what(str(object_type), names)
            out.append(f"{what} ({operation} failed: {_first(errors, 2)})")
        return out


def describe(object_type: Any, object_name: Any, operation: Any, error: Any) -> str:
    """One failed read in words."""
    return f"{_what(str(object_type), [str(object_name)])} ({operation}: {_short(str(error))})"


def _what(object_type: str, names: list[str]) -> str:
    if object_type in _LISTS:
        return f"the {_LISTS[object_type]} could not be listed"
    shown = _first(names, 3)
    return {
        "group": f"the members of group {shown} were not read",
        "workspace": f"the assignments of workspace {shown} were not read",
        "metastore": f"the metastore of {shown} was not read",
        "securable": f"the securables in {shown} were not listed",
        "grants": f"the grants on {shown} were not read",
    }.get(object_type, f"{object_type} {shown} was not read")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first(items: Iterable[str], n: int) -> str:
    items = list(items)
    shown = ", ".join(_short(i, 120) for i in items[:n])
    return shown if len(items) <= n else f"{shown} and {len(items) - n} more"


def _ancestors(snapshot: Any, groups: set[str]) -> set[str]:
    """Lower-case names of the groups that contain any of `groups`, at any depth."""
    tm = _table(snapshot, "transitive_memberships")
    if tm is None or tm.empty:
        return set()
    nested = tm[(tm["member_type"] == "GROUP") & _lower(tm["member_name"]).isin(groups)]
    return set(_lower(nested["group_name"]))

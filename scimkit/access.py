"""Effective access that explains itself: nested-group closure, effective grants with the group
chain that carries them, inheritance down the catalog tree, and whether a privilege is usable.

Everything here is a join over the snapshot tables (`scimkit.schema`), written with pandas merges
and numpy on integer codes, so a Spark job can run the same logic. No Python loop runs over grants
or members; the loops run over nesting levels.

Rules (databricks-api.md 4.2 and 7.3):

* A grant to a group is held by the group and by every member, however deeply nested (`via` is the
  shortest chain from the member's direct group up to the grantee, e.g. "Marketing > Employees").
* A grant to `account users` is held by every user and service principal listed in the snapshot,
  deactivated ones included (`users.active` says which); `via` is "account users".
* Privileges flow down CATALOG -> SCHEMA -> TABLE | VOLUME | FUNCTION. Metastore grants, external
  locations and storage credentials pass nothing down.
* `ALL_PRIVILEGES` is kept as granted and expanded only where a check needs it; it excludes
  MANAGE, EXTERNAL_USE_SCHEMA and EXTERNAL_USE_LOCATION.
* The owner of a securable (and every member of an owning group) holds all privileges on that
  securable (`privilege` "OWNER" in the owner frames). Ownership is not inherited by children.
* A data privilege (SELECT, MODIFY, READ_VOLUME, WRITE_VOLUME, EXECUTE) is usable only with
  USE_CATALOG on the catalog and USE_SCHEMA on the schema (granted there or, for USE_SCHEMA, on the
  catalog; ALL_PRIVILEGES or ownership of that catalog/schema also count).

Example::

    acc = Access(snap)
    acc.who_can_access("TABLE", "datalake.finance.transactions")
    acc.why("alex@company.com", "SELECT", "TABLE", "datalake.finance.transactions")
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import CycleError, InvalidInput
from .history import empty_table
from .schema import ACCOUNT_USERS, ACCOUNT_USERS_NAME, GROUP, SCHEMA_VERSION, SERVICE_PRINCIPAL, USER

__all__ = [
    "ALL_PRIVILEGES_EXCLUDES",
    "DATA_PRIVILEGES",
    "OWNER",
    "Access",
    "access_of",
    "effective_grants",
    "effective_owners",
    "expand_to_children",
    "owner_grants",
    "privileges_on",
    "transitive_memberships",
    "usability",
    "why",
]

SEP = " > "
MAX_DEPTH = 64
OWNER = "OWNER"  # the pseudo-privilege of ownership in the owner frames
ALL = "ALL_PRIVILEGES"
ALL_PRIVILEGES_EXCLUDES = frozenset({"MANAGE", "EXTERNAL_USE_SCHEMA", "EXTERNAL_USE_LOCATION"})
OBJECT_TYPES = ("TABLE", "VOLUME", "FUNCTION")
CONTAINER_TYPES = ("CATALOG", "SCHEMA")  # the only inheritance sources
DATA_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "TABLE": ("SELECT", "MODIFY"),
    "VOLUME": ("READ_VOLUME", "WRITE_VOLUME"),
    "FUNCTION": ("EXECUTE",),
}
_CHILD_TYPE = {p: t for t, ps in DATA_PRIVILEGES.items() for p in ps}  # privilege -> object type it acts on
_DATA = tuple(_CHILD_TYPE)
_VIEW_KINDS = frozenset({"VIEW", "MATERIALIZED_VIEW", "METRIC_VIEW"})  # take SELECT, not MODIFY
_TYPE_ALIASES = {"VIEW": "TABLE", "MATERIALIZED_VIEW": "TABLE", "STREAMING_TABLE": "TABLE"}

# -- small helpers -------------------------------------------------------------------------------


def _require(df: Any, columns: Iterable[str], what: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"{what} must be a DataFrame, not {type(df).__name__}.", field=what)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInput(
            f"{what} lacks column(s) {', '.join(missing)}.",
            field=what,
            fix=f"pass the `{what}` table as scimkit.schema describes it",
        )
    return df


def _norm_type(securable_type: str) -> str:
    t = re.sub(r"[\s-]+", "_", str(securable_type).strip()).upper()
    return _TYPE_ALIASES.get(t, t)


def _norm_privilege(privilege: str) -> str:
    return re.sub(r"[\s-]+", "_", str(privilege).strip()).upper()


def _factorize(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """(int64 codes, object uniques); NA -> -1."""
    codes, uniques = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _lower(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.Series(values, dtype=object).str.lower(), dtype=object)


def _is(series: pd.Series, value: Any) -> np.ndarray:
    """Boolean numpy mask `series == value` (NA -> False), whatever the column's dtype."""
    return np.asarray((series == value).fillna(False), dtype=bool)


def _match_ci(series: pd.Series, wanted: Iterable[str]) -> np.ndarray:
    """Boolean mask: series value equals one of `wanted`, ignoring case (cheap on categoricals)."""
    keys = [str(w).lower() for w in wanted]
    codes, uniques = _factorize(series)
    hit = pd.Series(uniques, dtype=object).str.lower().isin(keys).to_numpy(dtype=bool)
    return np.append(hit, False)[codes]  # code -1 (NA) -> the appended False


@dataclass(frozen=True)
class _Coded:
    """A string column as (uniques, codes): joins move integers, strings are built once at the end."""

    uniques: np.ndarray
    codes: np.ndarray

    @classmethod
    def of(cls, values: Any) -> _Coded:
        codes, uniques = _factorize(values)
        return cls(uniques, codes.astype(np.int32))

    @classmethod
    def const(cls, value: str, n: int) -> _Coded:
        return cls(np.array([value], dtype=object), np.zeros(n, dtype=np.int32))

    def take(self, index: np.ndarray) -> _Coded:
        return _Coded(self.uniques, self.codes[index])

    @staticmethod
    def concat(parts: Sequence[_Coded]) -> _Coded:
        offsets = np.cumsum([0] + [len(p.uniques) for p in parts[:-1]])
        codes = [
            np.where(p.codes >= 0, p.codes + o, -1).astype(np.int32)
            for p, o in zip(parts, offsets, strict=True)
        ]
        return _Coded(np.concatenate([p.uniques for p in parts]), np.concatenate(codes))

    def unique(self) -> _Coded:
        """The same values with duplicate-free uniques."""
        codes, uniques = _factorize(self.uniques)
        return _Coded(uniques, np.append(codes, -1)[self.codes])

    def array(self, categorical: bool = False) -> Any:
        if categorical:  # the values used, sorted, as categories (what astype("category") gives)
            # The mapping is composed on the (few) uniques; the (many) codes are read twice: once
            # to count which uniques are used, once to take the final codes.
            codes, uniques = _factorize(self.uniques)
            counts = np.bincount(self.codes + 1, minlength=len(self.uniques) + 1)[1:]
            used_mask = np.zeros(len(uniques), dtype=bool)
            used_mask[codes[(counts > 0) & (codes >= 0)]] = True
            used = np.flatnonzero(used_mask)
            order = used[np.argsort(uniques[used].astype(str), kind="stable")]
            width = np.int8 if len(order) < 127 else np.int16 if len(order) < 32767 else np.int32
            rank = np.full(len(uniques) + 1, -1, dtype=width)  # code -1 (NA) stays NA
            rank[order] = np.arange(len(order))
            composed = np.append(rank[codes], np.array([-1], dtype=width))  # unique -> rank; -1 -> NA
            return pd.Categorical.from_codes(composed[self.codes], categories=uniques[order])
        return pd.Series(np.append(self.uniques, None)[self.codes], dtype=object)


def constant_objects(n: int, value: Any) -> np.ndarray:
    """`np.full(n, value, dtype=object)`, several times faster on millions of rows."""
    out = np.empty(n, dtype=object)
    out[:] = value
    return out


def _join(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inner equi-join of two integer key arrays (sort-merge): the positions (in left, in right)
    of every matching pair, grouped by left position."""
    order = np.argsort(right, kind="stable")
    ordered = right[order]
    lo = np.searchsorted(ordered, left, "left")
    counts = np.searchsorted(ordered, left, "right") - lo
    left_ix = np.repeat(np.arange(len(left)), counts)
    starts = np.cumsum(counts) - counts
    right_ix = order[np.repeat(lo - starts, counts) + np.arange(int(counts.sum()))]
    return left_ix, right_ix


def _common(*frames: pd.DataFrame | None) -> tuple[Any, Any, int]:
    """(snapshot_time, account_id, schema_version) of the first non-empty frame that has them."""
    for df in frames:
        if df is not None and len(df) and "snapshot_time" in df.columns:
            first = df.iloc[0]
            return (
                first["snapshot_time"],
                first.get("account_id"),
                int(first.get("schema_version", SCHEMA_VERSION)),
            )
    return pd.NaT, None, SCHEMA_VERSION


def _frame(
    table: str, data: Mapping[str, Any], n: int, common: tuple[Any, Any, int], categorical: bool = False
) -> pd.DataFrame:
    """A `table` frame in the schema's column order and dtypes; `_Coded` columns are materialised
    as object strings with None (or categoricals)."""
    when, account, version = common
    when = pd.Timestamp(when) if pd.notna(when) else pd.NaT
    if when is not pd.NaT and when.tzinfo is None:
        when = when.tz_localize("UTC")
    cols: dict[str, Any] = {
        "snapshot_time": pd.Series(when, index=pd.RangeIndex(n), dtype="datetime64[ns, UTC]"),
        "account_id": pd.Series(constant_objects(n, account), dtype=object),  # a string in every mode
        "schema_version": np.full(n, version, dtype=np.int64),
    }
    cols.update(data)
    out = {}
    for k in list(cols):  # one column at a time: a lazy column's codes live only while it is built
        v = cols.pop(k)
        v = v() if callable(v) else v
        out[k] = v.array(categorical) if isinstance(v, _Coded) else v
    return pd.DataFrame(out, index=pd.RangeIndex(n))  # already the schema's dtypes (schema.coerce)


def _table(snapshot: Any, name: str) -> pd.DataFrame | None:
    if isinstance(snapshot, Mapping):
        return snapshot.get(name)
    return getattr(snapshot, name, None)


# -- transitive memberships ----------------------------------------------------------------------


def _dense_rank(values: np.ndarray) -> np.ndarray:
    return np.unique(values, return_inverse=True)[1].astype(np.int64).reshape(-1)


def _group_closure(
    child: np.ndarray, parent: np.ndarray, names: np.ndarray, on_cycle: str, max_depth: int
) -> tuple[pd.DataFrame, list[list[str]]]:
    """Reflexive closure over group edges child -> parent: one row per (start, node) with `dist`
    (edges on the shortest chain), `via` ("start > ... > node", lexicographically smallest of the
    shortest chains), `count` (number of chains; -1 when a cycle makes it unbounded)."""
    n = len(names)
    edges = pd.DataFrame({"child": child, "parent": parent}).drop_duplicates()
    # Breadth-first: a level keeps only pairs reached for the first time; each keeps the
    # smallest chain. `crank` orders chains of one length globally (lexicographic on names).
    level = pd.DataFrame({"start": edges["child"].to_numpy(), "node": edges["parent"].to_numpy()})
    level["crank"] = _dense_rank(level["start"].to_numpy() * n + level["node"].to_numpy())
    level["via"] = (
        pd.Series(names[level["start"].to_numpy()], dtype=object) + SEP + names[level["node"].to_numpy()]
    )
    level["dist"] = 1
    levels = [level]
    seen = level["start"].to_numpy() * n + level["node"].to_numpy()
    depth = 1
    while len(level):
        nxt = level[["start", "node", "crank", "via"]].merge(edges, left_on="node", right_on="child")
        key = nxt["start"].to_numpy() * n + nxt["parent"].to_numpy()
        fresh = ~np.isin(key, seen)
        if not fresh.any():
            break
        depth += 1
        if depth > max_depth:
            raise InvalidInput(
                f"Group nesting is deeper than {max_depth} levels.",
                field="memberships",
                fix="flatten the nesting, or raise max_depth",
            )
        nxt, key = nxt[fresh], key[fresh]
        order = np.lexsort((nxt["crank"].to_numpy(), key))
        first = order[np.r_[True, key[order][1:] != key[order][:-1]]]
        best = nxt.iloc[first]
        level = pd.DataFrame({"start": best["start"].to_numpy(), "node": best["parent"].to_numpy()})
        level["crank"] = _dense_rank(best["crank"].to_numpy() * n + best["parent"].to_numpy())
        level["via"] = best["via"].to_numpy() + SEP + names[best["parent"].to_numpy()]
        level["dist"] = depth
        levels.append(level)
        seen = np.concatenate([seen, key[first]])
    bfs = pd.concat(levels, ignore_index=True)

    loops = bfs["start"].to_numpy() == bfs["node"].to_numpy()
    cyclic = np.unique(bfs["start"].to_numpy()[loops])
    cycles: list[list[str]] = []
    if len(cyclic):
        inner = bfs[np.isin(bfs["start"], cyclic) & np.isin(bfs["node"], cyclic)][["start", "node"]]
        mutual = inner.merge(inner.rename(columns={"start": "node", "node": "start"}), on=["start", "node"])
        rep = mutual.groupby("start")["node"].min()  # one representative (smallest name) per cycle set
        reps = np.unique(rep.to_numpy())
        loop_rows = bfs[loops].set_index("start")["via"]
        cycles = [str(loop_rows[r]).split(SEP) for r in reps]
        if on_cycle == "raise":
            raise CycleError(cycles)

    # Number of chains per pair: walk counts on the acyclic part, level by level.
    acyclic = edges[~edges["child"].isin(cyclic) & ~edges["parent"].isin(cyclic)]
    walk = acyclic.rename(columns={"child": "start", "parent": "node"}).assign(count=1)
    counts = [walk]
    while len(walk):
        walk = (
            walk.merge(acyclic, left_on="node", right_on="child")
            .groupby(["start", "parent"], as_index=False)["count"]
            .sum()
            .rename(columns={"parent": "node"})
        )
        counts.append(walk)
    total = pd.concat(counts, ignore_index=True).groupby(["start", "node"], as_index=False)["count"].sum()
    bfs = bfs[~loops].merge(total, on=["start", "node"], how="left")
    bfs["count"] = bfs["count"].fillna(-1).astype(np.int64)  # reachable only through a cycle
    if len(cyclic):
        into = bfs[bfs["node"].isin(cyclic)][["start", "node"]].rename(columns={"node": "k"})
        out_of = bfs[bfs["start"].isin(cyclic)][["start", "node"]].rename(columns={"start": "k"})
        through = into.merge(out_of, on="k")[["start", "node"]]
        unbounded = (bfs["start"].isin(cyclic) | bfs["node"].isin(cyclic)).to_numpy() | np.isin(
            bfs["start"].to_numpy() * n + bfs["node"].to_numpy(),
            through["start"].to_numpy() * n + through["node"].to_numpy(),
        )
        bfs.loc[unbounded, "count"] = -1
    everyone = np.arange(n)
    reflexive = pd.DataFrame(
        {
            "start": everyone,
            "node": everyone,
            "dist": 0,
            "count": np.where(np.isin(everyone, cyclic), -1, 1),
            "via": names,
        }
    )
    closure = pd.concat([reflexive, bfs[["start", "node", "dist", "count", "via"]]], ignore_index=True)
    return closure, cycles


def transitive_memberships(
    memberships: pd.DataFrame,
    on_cycle: Literal["raise", "report"] = "raise",
    max_depth: int = MAX_DEPTH,
    categorical: bool = True,
) -> pd.DataFrame:
    """Every group each principal belongs to, directly or through nested groups (schema table
    `transitive_memberships`): `depth` (1 = direct), `via` (smallest shortest chain of group names,
    "Marketing > Employees"), `path_count` (distinct chains).

    Nested groups that contain themselves raise CycleError naming each cycle ("A > B > A").
    With on_cycle="report" the closure is still returned (depth and via stay exact), pairs whose
    chains run through a cycle get path_count -1, and the cycles are in `result.attrs["cycles"]`.
    Text columns are categoricals, as the schema has them; `categorical=False` gives object strings.
    """
    _require(memberships, ("group_name", "member_type", "member_name"), "memberships")
    if on_cycle not in ("raise", "report"):
        raise InvalidInput(f"on_cycle must be 'raise' or 'report', not {on_cycle!r}.", field="on_cycle")
    common = _common(memberships)
    direct = memberships[["group_name", "member_type", "member_name"]].dropna().drop_duplicates()
    group_col = direct["group_name"].to_numpy(dtype=object)
    type_col = direct["member_type"].to_numpy(dtype=object)
    member_col = direct["member_name"].to_numpy(dtype=object)
    is_group = type_col == GROUP
    names = np.array(sorted(set(pd.unique(group_col)) | set(pd.unique(member_col[is_group]))), dtype=object)
    index = pd.Index(names)  # codes are name ranks: sorting codes sorts names
    parent = index.get_indexer(group_col)
    closure, cycles = _group_closure(
        index.get_indexer(member_col[is_group]), parent[is_group], names, on_cycle, max_depth
    )

    # Members (users, service principals and groups alike) reach every ancestor of a direct group.
    t_codes, t_uniques = _factorize(type_col)
    m_codes, m_uniques = _factorize(member_col)
    member, member_keys = _factorize(m_codes * len(t_uniques) + t_codes)
    member_keys = member_keys.astype(np.int64)
    joined = pd.DataFrame({"member": member, "start": parent}).merge(closure, on="start")
    key = joined["member"].to_numpy() * len(names) + joined["node"].to_numpy()
    order = np.lexsort((joined["start"].to_numpy(), joined["dist"].to_numpy(), key))
    key_sorted = key[order]
    bounds = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]]) if len(key) else key
    first = order[bounds]
    count = joined["count"].to_numpy()[order]
    if len(count):  # per (member, group): total chains, -1 if any runs through a cycle
        path_count = np.where(np.minimum.reduceat(count, bounds) < 0, -1, np.add.reduceat(count, bounds))
    else:
        path_count = count
    rows = joined.iloc[first]

    # Order by (group_name, member_type, member_name).
    member_code = rows["member"].to_numpy()
    member_type = t_uniques[(member_keys % len(t_uniques))]
    member_name = m_uniques[(member_keys // len(t_uniques))]
    member_rank = np.lexsort((member_name.astype(str), member_type.astype(str)))
    rank = np.empty(len(member_rank), dtype=np.int64)
    rank[member_rank] = np.arange(len(member_rank))
    final = np.lexsort((rank[member_code], rows["node"].to_numpy()))
    member_code = member_code[final]
    data = {
        "group_name": _Coded(names, rows["node"].to_numpy()[final]),
        "member_type": _Coded(member_type, member_code),
        "member_name": _Coded(member_name, member_code),
        "depth": rows["dist"].to_numpy()[final] + 1,
        "via": _Coded.of(rows["via"].to_numpy()[final]),
        "path_count": path_count[final],
    }
    out = _frame("transitive_memberships", data, len(final), common, categorical)
    if cycles:
        out.attrs["cycles"] = cycles
    return out


# -- effective grants ----------------------------------------------------------------------------


def effective_grants(
    grants: pd.DataFrame,
    transitive: pd.DataFrame,
    users: pd.DataFrame | None = None,
    service_principals: pd.DataFrame | None = None,
    categorical: bool = True,
) -> pd.DataFrame:
    """Grants expanded to every principal that holds them (schema table `effective_grants`), at
    the securable where the grant sits (children inherit: see `privileges_on`,
    `expand_to_children`).

    Each grant is held by its grantee (`via` ""); a grant to a group also by every transitive
    member of the group (`via` the chain, e.g. "Marketing > Employees"); a grant to `account users`
    also by every user and service principal in `users` / `service_principals` (deactivated ones
    included; `via` "account users"). Grants to UNKNOWN principals stay as they are. Group names
    match case-insensitively. Text columns are categoricals, as the schema has them (far less memory
    on a large account); `categorical=False` returns object strings instead.
    """
    key = ["metastore_id", "securable_type", "full_name", "principal", "privilege"]
    _require(grants, key + ["principal_type"], "grants")
    _require(transitive, ("group_name", "member_type", "member_name", "via"), "transitive")
    common = _common(grants, transitive)
    g = grants.drop_duplicates(key).reset_index(drop=True)
    cols = {c: _Coded.of(g[c]) for c in key + ["principal_type"]}
    ptype = g["principal_type"].to_numpy(dtype=object)
    n = len(g)

    # 1. The grantee itself.
    grant_ix = [np.arange(n)]
    principal = [cols["principal"]]
    principal_type = [cols["principal_type"]]
    via = [_Coded.const("", n)]

    # 2. Members of a grantee group, joined on the lower-cased group name.
    self_member = _is(transitive["member_type"], GROUP) & (
        transitive["member_name"].to_numpy(dtype=object) == transitive["group_name"].to_numpy(dtype=object)
    )
    t = transitive[~self_member]
    t_group, t_group_uniques = _factorize(t["group_name"])
    lookup = pd.Index(pd.unique(_lower(t_group_uniques)))
    t_key = np.append(lookup.get_indexer(_lower(t_group_uniques)), -1)[t_group]
    g_rows = np.flatnonzero(ptype == GROUP)
    g_key = lookup.get_indexer(_lower(np.asarray(cols["principal"].uniques[cols["principal"].codes[g_rows]])))
    matched = g_key >= 0
    left, members = _join(g_key[matched], t_key)  # grant x transitive member, on the group
    grant_ix.append(g_rows[matched][left])
    principal.append(_Coded.of(t["member_name"]).take(members))
    principal_type.append(_Coded.of(t["member_type"]).take(members))
    via.append(_Coded.of(t["via"]).take(members))

    # 3. `account users`: every user and service principal listed.
    everyone = []
    if users is not None:
        _require(users, ("user_name",), "users")
        everyone.append(pd.DataFrame({"name": users["user_name"].to_numpy(dtype=object), "type": USER}))
    if service_principals is not None:
        _require(service_principals, ("application_id",), "service_principals")
        everyone.append(
            pd.DataFrame(
                {
                    "name": service_principals["application_id"].to_numpy(dtype=object),
                    "type": SERVICE_PRINCIPAL,
                }
            )
        )
    au_rows = np.flatnonzero(ptype == ACCOUNT_USERS)
    if everyone and len(au_rows):
        people = pd.concat(everyone, ignore_index=True).dropna().drop_duplicates("name")
        person = np.tile(np.arange(len(people)), len(au_rows))  # the cross join grant x person
        grant_ix.append(np.repeat(au_rows, len(people)))
        principal.append(_Coded.of(people["name"]).take(person))
        principal_type.append(_Coded.of(people["type"]).take(person))
        via.append(_Coded.const(ACCOUNT_USERS_NAME, len(person)))

    ix = np.concatenate(grant_ix).astype(np.int32)
    order = np.argsort(ix, kind="stable")  # rows of one grant together, grantee first
    ix = ix[order]
    who, kind, chain = _Coded.concat(principal), _Coded.concat(principal_type), _Coded.concat(via)
    del principal, principal_type, via
    data = {  # built lazily, one column at a time
        "metastore_id": lambda: cols["metastore_id"].take(ix),
        "securable_type": lambda: cols["securable_type"].take(ix),
        "full_name": lambda: cols["full_name"].take(ix),
        "principal": lambda: who.take(order),
        "principal_type": lambda: kind.take(order),
        "privilege": lambda: cols["privilege"].take(ix),
        "granted_to": lambda: cols["principal"].take(ix),
        "via": lambda: chain.take(order),
    }
    return _frame("effective_grants", data, len(ix), common, categorical)


def owner_grants(securables: pd.DataFrame) -> pd.DataFrame:
    """Ownership as grant-shaped rows (privilege "OWNER") for `effective_grants`."""
    _require(securables, ("metastore_id", "securable_type", "full_name", "owner", "owner_type"), "securables")
    s = securables[securables["owner"].notna()]
    return pd.DataFrame(
        {
            "snapshot_time": s["snapshot_time"] if "snapshot_time" in s.columns else pd.NaT,
            "account_id": s["account_id"] if "account_id" in s.columns else None,
            "schema_version": s["schema_version"] if "schema_version" in s.columns else SCHEMA_VERSION,
            "metastore_id": s["metastore_id"],
            "securable_type": s["securable_type"],
            "full_name": s["full_name"],
            "principal": s["owner"],
            "principal_type": s["owner_type"].fillna("UNKNOWN"),
            "privilege": OWNER,
        }
    ).reset_index(drop=True)


def effective_owners(
    securables: pd.DataFrame, transitive: pd.DataFrame, categorical: bool = False
) -> pd.DataFrame:
    """Who owns what: the owner of each securable and, for an owning group, every transitive
    member, in the `effective_grants` shape with privilege "OWNER"."""
    return effective_grants(owner_grants(securables), transitive, categorical=categorical)


# -- inheritance ---------------------------------------------------------------------------------


def _parents(securables: pd.DataFrame | None, securable_type: str, full_name: str) -> list[tuple[str, str]]:
    """[(type, name)] of the inheritance sources above a securable, nearest first."""
    if securable_type not in OBJECT_TYPES and securable_type != "SCHEMA":
        return []
    catalog, schema = None, None
    if securables is not None and len(securables):
        row = securables[
            _is(securables["securable_type"], securable_type)
            & _match_ci(securables["full_name"], [full_name])
        ]
        if len(row):
            first = row.iloc[0]
            catalog = first.get("catalog_name")
            schema = first.get("parent_full_name") if securable_type in OBJECT_TYPES else None
    parts = full_name.split(".")
    catalog = str(catalog) if isinstance(catalog, str) else parts[0]
    if securable_type == "SCHEMA":
        return [("CATALOG", catalog)]
    schema = str(schema) if isinstance(schema, str) else ".".join(parts[:2])
    return [("SCHEMA", schema), ("CATALOG", catalog)]


def _holdings(effective: pd.DataFrame, owners: pd.DataFrame | None = None) -> pd.DataFrame:
    if owners is None or owners.empty:
        return effective
    return pd.concat([effective, owners], ignore_index=True)


_ROUTE_COLUMNS = [
    "principal",
    "principal_type",
    "privilege",
    "granted_on_type",
    "granted_on",
    "inherited",
    "granted_to",
    "via",
]


def _string_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as object (as `schema.coerce` has them), a fresh RangeIndex."""
    text = [
        c
        for c in df.columns
        if df[c].dtype == object
        or isinstance(df[c].dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(df[c].dtype)
    ]
    out = df.reset_index(drop=True)
    return out.astype({c: object for c in text})


def privileges_on(
    securables: pd.DataFrame | None,
    effective: pd.DataFrame,
    securable_type: str,
    full_name: str,
    principal: str | None = None,
    owners: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Who holds what on one securable: grants on it and inherited from its schema and catalog
    (not from the metastore), one row per route: principal, principal_type, privilege,
    granted_on_type, granted_on (where the grant sits), inherited, granted_to, via. Owner rows
    (from `effective_owners`) count on the securable itself only. Names match case-insensitively."""
    _require(
        effective, ("securable_type", "full_name", "principal", "privilege", "granted_to", "via"), "effective"
    )
    securable_type = _norm_type(securable_type)
    own = (securable_type, full_name)
    sources = [own, *_parents(securables, securable_type, full_name)]
    frames = []
    for src in (effective, owners):
        if src is None or src.empty:
            continue
        mask = np.zeros(len(src), dtype=bool)
        for i, (stype, sname) in enumerate(sources):
            here = _is(src["securable_type"], stype) & _match_ci(src["full_name"], [sname])
            if i:  # ownership is not inherited
                here &= ~_is(src["privilege"], OWNER)
            mask |= here
        if principal is not None:
            mask &= _match_ci(src["principal"], [principal])
        frames.append(src[mask])
    if not frames:
        return pd.DataFrame(
            {c: pd.Series([], dtype="bool" if c == "inherited" else object) for c in _ROUTE_COLUMNS}
        )
    rows = pd.concat(frames, ignore_index=True)
    out = pd.DataFrame(
        {
            "principal": rows["principal"].astype(object),
            "principal_type": rows["principal_type"].astype(object),
            "privilege": rows["privilege"].astype(object),
            "granted_on_type": rows["securable_type"].astype(object),
            "granted_on": rows["full_name"].astype(object),
            "granted_to": rows["granted_to"].astype(object),
            "via": rows["via"].astype(object),
        }
    )
    out["inherited"] = out["granted_on_type"] != securable_type
    depth = out["granted_on_type"].map({securable_type: 0, "SCHEMA": 1, "CATALOG": 2}).fillna(0)
    out = (
        out.assign(_d=depth)
        .sort_values(["principal", "privilege", "_d", "granted_to", "via"], kind="stable")
        .drop(columns="_d")
    )
    return _string_frame(out[_ROUTE_COLUMNS])


def expand_to_children(holdings: pd.DataFrame, securables: pd.DataFrame) -> pd.DataFrame:
    """Materialise inheritance: each row on a CATALOG is repeated for every schema, table, volume
    and function in it, each row on a SCHEMA for every table, volume and function in it (OWNER rows
    are not). Adds granted_on_type / granted_on (where the grant sits) and inherited; the rows
    themselves stay with inherited False. Can be large: filter `holdings` first."""
    _require(holdings, ("securable_type", "full_name"), "holdings")
    _require(securables, ("securable_type", "full_name", "parent_full_name", "catalog_name"), "securables")
    base = holdings.assign(
        granted_on_type=holdings["securable_type"], granted_on=holdings["full_name"], inherited=False
    )
    kids = securables[securables["securable_type"].isin(("SCHEMA",) + OBJECT_TYPES)]
    kids = pd.DataFrame(
        {
            "child_type": kids["securable_type"].astype(object),
            "child": kids["full_name"].astype(object),
            "catalog": kids["catalog_name"].astype(object),
            "schema": kids["parent_full_name"].astype(object),
            "is_object": kids["securable_type"].isin(OBJECT_TYPES).to_numpy(),
        }
    )
    heritable = (
        ~_is(base["privilege"], OWNER) if "privilege" in base.columns else np.ones(len(base), dtype=bool)
    )
    parts = [base]
    for stype, on in (("CATALOG", "catalog"), ("SCHEMA", "schema")):
        src = base[_is(base["securable_type"], stype) & np.asarray(heritable, dtype=bool)]
        if src.empty:
            continue
        targets = kids if stype == "CATALOG" else kids[kids["is_object"]]
        joined = src.assign(_k=src["full_name"].astype(object)).merge(targets, left_on="_k", right_on=on)
        joined = joined.assign(securable_type=joined["child_type"], full_name=joined["child"], inherited=True)
        parts.append(joined[base.columns])
    out = pd.concat(parts, ignore_index=True)
    return out


def access_of(
    principal: str,
    effective: pd.DataFrame,
    securables: pd.DataFrame | None = None,
    owners: pd.DataFrame | None = None,
    expand_children: bool = False,
) -> pd.DataFrame:
    """What one principal holds: securable_type, full_name, privilege, inherited, granted_on_type,
    granted_on, granted_to, via; with `expand_children` (needs `securables`) inherited privileges
    are listed on every schema/table/volume/function below the grant."""
    frames = [f for f in (effective, owners) if f is not None and not f.empty]
    rows = (
        pd.concat([f[_match_ci(f["principal"], [principal])] for f in frames], ignore_index=True)
        if frames
        else effective.iloc[:0]
    )
    rows = pd.DataFrame(
        {
            c: rows[c].astype(object)
            for c in (
                "securable_type",
                "full_name",
                "principal",
                "principal_type",
                "privilege",
                "granted_to",
                "via",
            )
        }
    )
    if expand_children:
        if securables is None:
            raise InvalidInput("expand_children needs the securables table.", field="securables")
        rows = expand_to_children(rows, securables)
    else:
        rows = rows.assign(
            granted_on_type=rows["securable_type"], granted_on=rows["full_name"], inherited=False
        )
    cols = [
        "securable_type",
        "full_name",
        "privilege",
        "inherited",
        "granted_on_type",
        "granted_on",
        "granted_to",
        "via",
    ]
    rows = rows.sort_values(
        ["securable_type", "full_name", "privilege", "inherited", "granted_to", "via"], kind="stable"
    )
    return _string_frame(rows[cols])


# -- usability -----------------------------------------------------------------------------------

_TYPES = ("CATALOG", "SCHEMA") + OBJECT_TYPES  # codes 0..4
_HELD = _DATA + (ALL, OWNER, "USE_CATALOG", "USE_SCHEMA")  # codes 0..4 are the data privileges
_H_ALL, _H_OWNER, _H_UC, _H_US = (_HELD.index(p) for p in (ALL, OWNER, "USE_CATALOG", "USE_SCHEMA"))
# (securable type, held) -> data privilege it gives there: the join that expands ALL_PRIVILEGES
# and ownership. Ownership of a catalog or schema is not handed down.
_IMPLIES = pd.DataFrame(
    [(t, p, p) for t, ps in DATA_PRIVILEGES.items() for p in ps]
    + [(t, held, p) for t, ps in DATA_PRIVILEGES.items() for p in ps for held in (ALL, OWNER)]
    + [(t, p, p) for t in CONTAINER_TYPES for p in _DATA]
    + [(t, ALL, p) for t in CONTAINER_TYPES for p in _DATA],
    columns=["securable_type", "held", "privilege"],
)
_IMPLIES_TH = (
    _IMPLIES["securable_type"].map(_TYPES.index) * 16 + _IMPLIES["held"].map(_HELD.index)
).to_numpy()
_IMPLIES_PRIV = _IMPLIES["privilege"].map(_HELD.index).to_numpy()
_CHILD_TYPE_CODE = np.array([_TYPES.index(_CHILD_TYPE[p]) for p in _DATA])
_USABILITY_COLUMNS = [
    "principal",
    "principal_type",
    "securable_type",
    "full_name",
    "privilege",
    "catalog_name",
    "schema_name",
    "inherited",
    "usable",
    "missing",
]


def _code_in(values: Any, vocabulary: Sequence[str]) -> np.ndarray:
    """Codes of `values` in a fixed vocabulary (-1 when absent)."""
    codes, uniques = _factorize(values)
    return np.append(pd.Index(list(vocabulary)).get_indexer(uniques), -1)[codes]


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray | pd.Index) -> np.ndarray:
    """`np.isin(values, sorted_keys)` for unique keys; an Index of them (built once, reused across
    batches) answers through its hash table, one probe per value instead of a binary search."""
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    if isinstance(sorted_keys, pd.Index):
        return sorted_keys.get_indexer(values) >= 0
    pos = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[pos] == values


def usability(
    effective: pd.DataFrame,
    securables: pd.DataFrame,
    owners: pd.DataFrame | None = None,
    level: Literal["schema", "object"] = "schema",
    privileges: Iterable[str] | None = None,
    principal: str | None = None,
    categorical: bool = False,
    batch_rows: int = 1_000_000,
) -> pd.DataFrame:
    """Whether each held data privilege (SELECT, MODIFY on tables; READ_VOLUME, WRITE_VOLUME on
    volumes; EXECUTE on functions; held directly, through ALL_PRIVILEGES or ownership, or inherited)
    can be used: one row per (principal, securable, privilege) with `usable` and `missing` (e.g.
    "USE CATALOG on datalake; USE SCHEMA on datalake.finance"; "" when usable).

    level="schema" (factored, the default): privileges held on a schema or catalog are reported
    once per schema (they act on the schema's objects); level="object": once per table, volume or
    function below. `inherited` is True when no route sits on the securable itself. Pass `owners`
    (`effective_owners`) to count ownership; `principal` to restrict to one principal (cheap).
    Principals are processed in batches of about `batch_rows` holdings to bound memory.
    """
    if level not in ("schema", "object"):
        raise InvalidInput(f"level must be 'schema' or 'object', not {level!r}.", field="level")
    _require(securables, ("securable_type", "full_name"), "securables")
    wanted = [_norm_privilege(p) for p in privileges] if privileges is not None else list(_DATA)
    unknown = sorted(set(wanted) - set(_DATA))
    if unknown:
        raise InvalidInput(
            f"Not a data privilege: {', '.join(unknown)}.",
            field="privileges",
            fix=f"choose among {', '.join(_DATA)}",
        )
    cols = ["principal", "principal_type", "securable_type", "full_name", "privilege"]
    p_parts, pt_parts, n_parts, t_parts, held_parts = [], [], [], [], []
    for src in (effective, owners):  # each source coded on its own: no string concatenation
        if src is None or src.empty:
            continue
        _require(src, cols, "effective")
        mask = src["securable_type"].isin(_TYPES).to_numpy() & src["privilege"].isin(_HELD).to_numpy()
        if principal is not None:
            mask &= _match_ci(src["principal"], [principal])
        sub = src.loc[mask, cols]
        p_parts.append(_Coded.of(sub["principal"]))
        pt_parts.append(_Coded.of(sub["principal_type"]))
        n_parts.append(_Coded.of(sub["full_name"]))
        t_parts.append(_code_in(sub["securable_type"], _TYPES).astype(np.int8))
        held_parts.append(_code_in(sub["privilege"], _HELD).astype(np.int8))
        del sub, mask
    if not p_parts:
        empty = _Coded(np.array([], dtype=object), np.array([], dtype=np.int32))
        p_parts, pt_parts, n_parts = [empty], [empty], [empty]
        t_parts, held_parts = [np.array([], dtype=np.int8)], [np.array([], dtype=np.int8)]
    pc, ptc, nc = (_Coded.concat(x).unique() for x in (p_parts, pt_parts, n_parts))
    t, held = np.concatenate(t_parts), np.concatenate(held_parts)
    del p_parts, pt_parts, n_parts, t_parts, held_parts

    # Principals coded in (name, type) order.
    width = max(len(ptc.uniques), 1)
    pkey, pkey_uniques = _factorize(pc.codes.astype(np.int64) * width + ptc.codes)
    pkey_uniques = pkey_uniques.astype(np.int64)
    p_name, p_type = pc.uniques[pkey_uniques // width], ptc.uniques[pkey_uniques % width]
    order = np.lexsort((p_type.astype(str), p_name.astype(str)))
    p_rank = np.empty(len(order), dtype=np.int32)
    p_rank[order] = np.arange(len(order))
    p = p_rank[pkey]
    p_name, p_type = p_name[order], p_type[order]
    del pc, ptc, pkey

    # Securable names in one sorted vocabulary, with the catalog and schema of each.
    sec = securables[securables["securable_type"].isin(("SCHEMA",) + OBJECT_TYPES).to_numpy()]
    raw = pd.Series(
        np.concatenate([nc.uniques, sec["full_name"].to_numpy(dtype=object)]), dtype=object
    ).dropna()
    split = raw.str.split(".")
    derived = pd.concat([raw, split.str[0], (split.str[0] + "." + split.str[1]).dropna()], ignore_index=True)
    vocab = pd.Index(np.sort(pd.unique(derived.to_numpy(dtype=object)).astype(str)).astype(object))
    names = vocab.to_numpy(dtype=object)
    split = pd.Series(names, dtype=object).str.split(".")
    catalog_of = np.append(vocab.get_indexer(split.str[0].to_numpy(dtype=object)), -1).astype(np.int32)
    schema_of = np.append(vocab.get_indexer((split.str[0] + "." + split.str[1]).to_numpy(dtype=object)), -1)
    schema_of = schema_of.astype(np.int32)
    nn = len(names) + 1
    name = np.append(vocab.get_indexer(nc.uniques), -1).astype(np.int32)[nc.codes]
    del nc

    # USE CATALOG / USE SCHEMA as sorted (principal, name) keys.
    pn = p.astype(np.int64) * nn + name
    uc_keys = _sorted_unique(pn[(t == 0) & np.isin(held, [_H_UC, _H_ALL, _H_OWNER])])
    us_keys = _sorted_unique(pn[(t == 1) & np.isin(held, [_H_US, _H_ALL, _H_OWNER])])
    usc_keys = _sorted_unique(
        pn[(t == 0) & np.isin(held, [_H_US, _H_ALL])]
    )  # USE SCHEMA on a catalog: all schemas
    uc_keys, us_keys, usc_keys = pd.Index(uc_keys), pd.Index(us_keys), pd.Index(usc_keys)  # hashed once
    del pn

    is_view = np.zeros(nn, dtype=bool)
    if "kind" in securables.columns:
        tables = securables[_is(securables["securable_type"], "TABLE")]
        view_names = tables.loc[tables["kind"].isin(_VIEW_KINDS).to_numpy(), "full_name"].to_numpy(
            dtype=object
        )
        is_view[vocab.get_indexer(view_names)] = True
        is_view[-1] = False
    schema_names = vocab.get_indexer(
        sec.loc[_is(sec["securable_type"], "SCHEMA"), "full_name"].to_numpy(dtype=object)
    )
    objs = sec[sec["securable_type"].isin(OBJECT_TYPES).to_numpy()]
    o_name = vocab.get_indexer(objs["full_name"].to_numpy(dtype=object))
    o_type = _code_in(objs["securable_type"], _TYPES)
    o_key = schema_of[o_name].astype(np.int64) * 8 + o_type
    wanted_codes = [_DATA.index(w) for w in wanted]
    modify = _DATA.index("MODIFY")

    def batch(b_p: np.ndarray, b_t: np.ndarray, b_held: np.ndarray, b_name: np.ndarray) -> np.ndarray:
        """Sorted unique keys (principal, name, type, privilege, inherited) for some principals."""
        # Data privileges where the grant sits: ALL_PRIVILEGES and ownership expanded by a join.
        li, ri = _join(b_t.astype(np.int64) * 16 + b_held, _IMPLIES_TH)
        d_p, d_name, d_t, d_held, d_priv = b_p[li], b_name[li], b_t[li], b_held[li], _IMPLIES_PRIV[ri]
        keep = np.isin(d_priv, wanted_codes) & ~((d_priv == modify) & (d_held != modify) & is_view[d_name])
        d_p, d_name, d_t, d_priv = d_p[keep], d_name[keep], d_t[keep], d_priv[keep]
        # Catalog grants handed down to each schema of the catalog (a join on the catalog).
        on_cat, on_sch, on_obj = d_t == 0, d_t == 1, d_t >= 2
        ci, si = _join(d_name[on_cat], catalog_of[schema_names])
        s_p = np.concatenate([d_p[on_sch], d_p[on_cat][ci]])
        s_name = np.concatenate([d_name[on_sch], schema_names[si]])
        s_priv = np.concatenate([d_priv[on_sch], d_priv[on_cat][ci]])
        s_inh = np.concatenate([np.zeros(on_sch.sum(), dtype=np.int8), np.ones(len(ci), dtype=np.int8)])
        if level == "object":  # schema-level rows handed down to each object of the matching type
            li, oi = _join(s_name.astype(np.int64) * 8 + _CHILD_TYPE_CODE[s_priv], o_key)
            b_name, b_priv = o_name[oi], s_priv[li]
            ok = ~((b_priv == modify) & is_view[b_name])
            s_p, s_name, s_priv = s_p[li][ok], b_name[ok], b_priv[ok]
            s_t, s_inh = o_type[oi][ok], np.ones(ok.sum(), dtype=np.int8)
        else:
            s_t = np.ones(len(s_p), dtype=np.int8)
        r_p = np.concatenate([d_p[on_obj], s_p]).astype(np.int64)
        r_name = np.concatenate([d_name[on_obj], s_name])
        r_t = np.concatenate([d_t[on_obj], s_t])
        r_priv = np.concatenate([d_priv[on_obj], s_priv])
        r_inh = np.concatenate([np.zeros(on_obj.sum(), dtype=np.int8), s_inh])
        key = _sorted_unique((((r_p * nn + r_name) * 8 + r_t) * 8 + r_priv) * 2 + r_inh)
        # One row per (principal, securable, privilege); a direct route (inherited 0) sorts first.
        return key[np.r_[True, (key[1:] >> 1) != (key[:-1] >> 1)]] if len(key) else key

    # Principals in batches of about `batch_rows` holdings (a loop over batches, not rows).
    order = np.argsort(p, kind="stable")
    p, t, held, name = p[order], t[order], held[order], name[order]
    del order
    cuts = np.unique(np.searchsorted(p, p[np.arange(batch_rows, len(p), batch_rows)], "left"))
    bounds = np.concatenate([[0], cuts, [len(p)]]).astype(np.int64)
    parts_out: dict[str, list[np.ndarray]] = {k: [] for k in ("p", "name", "t", "priv", "inh", "uc", "us")}
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        key = batch(p[lo:hi], t[lo:hi], held[lo:hi], name[lo:hi])
        inh, key = key & 1, key >> 1
        priv, key = key % 8, key // 8
        t_out, key = key % 8, key // 8
        name_out, p_out = key % nn, key // nn
        name_out = np.where(name_out == nn - 1, -1, name_out)
        catalog, schema = catalog_of[name_out], schema_of[name_out]
        parts_out["uc"].append(_in_sorted(p_out * nn + catalog, uc_keys))
        parts_out["us"].append(
            _in_sorted(p_out * nn + schema, us_keys) | _in_sorted(p_out * nn + catalog, usc_keys)
        )
        parts_out["p"].append(p_out.astype(np.int32))
        parts_out["name"].append(name_out.astype(np.int32))
        parts_out["t"].append(t_out.astype(np.int8))
        parts_out["priv"].append(priv.astype(np.int8))
        parts_out["inh"].append(inh.astype(bool))
        del key, inh, priv, t_out, name_out, p_out, catalog, schema
    del p, t, held, name
    res = {k: np.concatenate(v) for k, v in parts_out.items()}
    del parts_out
    has_uc, has_us = res.pop("uc"), res.pop("us")
    catalog, schema = catalog_of[res["name"]], schema_of[res["name"]]

    # `missing`, coded by schema: both / USE CATALOG only / USE SCHEMA only / nothing.
    cat_text = "USE CATALOG on " + pd.Series(np.append(names, "?")[catalog_of[:-1]], dtype=object)
    sch_text = "USE SCHEMA on " + pd.Series(names, dtype=object)
    messages = np.concatenate(
        [
            (cat_text + "; " + sch_text).to_numpy(dtype=object),
            cat_text.to_numpy(dtype=object),
            sch_text.to_numpy(dtype=object),
            np.array([""], dtype=object),
        ]
    )
    v = len(names)
    missing = np.where(has_uc, np.where(has_us, 3 * v, 2 * v + schema), np.where(has_us, v + schema, schema))
    n = len(res["p"])
    data = {
        "principal": _Coded(p_name, res["p"]),
        "principal_type": _Coded(p_type, res["p"]),
        "securable_type": _Coded(np.array(_TYPES, dtype=object), res["t"]),
        "full_name": _Coded(names, res["name"]),
        "privilege": _Coded(np.array(_DATA, dtype=object), res["priv"]),
        "catalog_name": _Coded(names, catalog),
        "schema_name": _Coded(names, schema),
        "inherited": res["inh"],
        "usable": has_uc & has_us,
        "missing": _Coded(messages, missing.astype(np.int32)),
    }
    del res
    out = {}
    for k in list(data):
        col = data.pop(k)
        out[k] = col.array(categorical) if isinstance(col, _Coded) else col
    return pd.DataFrame(out, index=pd.RangeIndex(n))


# -- why -----------------------------------------------------------------------------------------


def why(
    principal: str,
    privilege: str,
    securable_type: str,
    full_name: str,
    effective: pd.DataFrame,
    securables: pd.DataFrame,
    owners: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The routes by which `principal` holds `privilege` on a securable: one row per route with
    held_as (the privilege granted: itself, ALL_PRIVILEGES or OWNER), where it sits, whether it is
    inherited, the grantee and group chain, a sentence (`route`), and for data privileges whether
    it is usable and what is missing. Empty when the principal does not hold it."""
    securable_type, privilege = _norm_type(securable_type), _norm_privilege(privilege)
    routes = privileges_on(
        securables, effective, securable_type, full_name, principal=principal, owners=owners
    )
    accepted = {privilege}
    if privilege not in ALL_PRIVILEGES_EXCLUDES and privilege != OWNER:
        accepted.add(ALL)
    held = routes["privilege"].astype(object)
    keep = held.isin(accepted) | ((held == OWNER) & ~routes["inherited"])
    routes = routes[keep.to_numpy()].rename(columns={"privilege": "held_as"}).reset_index(drop=True)
    routes.insert(2, "privilege", pd.Series([privilege] * len(routes), dtype=object))
    usable: Any = pd.NA
    missing: Any = pd.NA
    if len(routes) and privilege in _CHILD_TYPE and securable_type in ("CATALOG", "SCHEMA") + OBJECT_TYPES:
        level = "object" if securable_type in OBJECT_TYPES else "schema"
        u = usability(effective, securables, owners, level=level, privileges=[privilege], principal=principal)
        u = u[_is(u["securable_type"], securable_type) & _match_ci(u["full_name"], [full_name])]
        if len(u):
            usable, missing = bool(u["usable"].all()), str(u["missing"].iloc[0])
    routes["usable"] = pd.array([usable] * len(routes), dtype="boolean")
    routes["missing"] = pd.Series([None if missing is pd.NA else missing] * len(routes), dtype=object)
    how = np.where(
        routes["via"].astype(object) == "",
        "directly",
        "as a member of " + routes["via"].astype(object).astype(str),
    )
    how = np.where(routes["via"].astype(object) == ACCOUNT_USERS_NAME, "as one of the account users", how)
    where = np.where(routes["inherited"], " (inherited)", "")
    sentence = (
        routes["held_as"].astype(str)
        + " on "
        + routes["granted_on_type"].astype(str)
        + " "
        + routes["granted_on"].astype(str)
        + where
        + " to "
        + routes["granted_to"].astype(str)
        + ", held "
        + pd.Series(how, dtype=object)
    )
    routes["route"] = pd.Series(sentence.to_numpy(dtype=object), dtype=object)
    return routes


# -- one object for admins -----------------------------------------------------------------------


class Access:
    """Access questions over one snapshot (anything with the snapshot tables as attributes, or a
    dict of them). Uses the snapshot's `transitive_memberships` / `effective_grants` when present,
    otherwise computes them; the owner frame is computed from `securables`.

    >>> acc = Access(snap)
    >>> acc.who_can_access("TABLE", "datalake.finance.transactions")
    >>> acc.what_can("alex@company.com")
    >>> acc.why("alex@company.com", "SELECT", "TABLE", "datalake.finance.transactions")
    >>> acc.usable("alex@company.com")
    """

    def __init__(self, snapshot: Any, on_cycle: Literal["raise", "report"] = "raise") -> None:
        self.snapshot = snapshot
        self.on_cycle = on_cycle
        for name in ("grants", "securables"):
            if _table(snapshot, name) is None:
                raise InvalidInput(
                    f"The snapshot has no {name!r} table.",
                    field=name,
                    fix="pass a snapshot (or dict) with the tables of scimkit.schema",
                )

    def _get(self, name: str) -> pd.DataFrame | None:
        return _table(self.snapshot, name)

    @property
    def securables(self) -> pd.DataFrame:
        return self._get("securables")  # type: ignore[return-value]

    @cached_property
    def transitive(self) -> pd.DataFrame:
        found = self._get("transitive_memberships")
        if found is not None:
            return found
        memberships = self._get("memberships")
        if memberships is None:
            return empty_table("transitive_memberships")
        return transitive_memberships(memberships, on_cycle=self.on_cycle)

    @cached_property
    def effective(self) -> pd.DataFrame:
        found = self._get("effective_grants")
        if found is not None:  # categories make the repeated look-ups cheap
            text = (
                "securable_type",
                "full_name",
                "principal",
                "principal_type",
                "privilege",
                "granted_to",
                "via",
            )
            plain = [c for c in text if c in found.columns and not isinstance(found[c].dtype, pd.CategoricalDtype)]
            return found.astype({c: "category" for c in plain}) if plain else found  # a snapshot's are already
        return effective_grants(
            self._get("grants"),  # type: ignore[arg-type]
            self.transitive,
            self._get("users"),
            self._get("service_principals"),
            categorical=True,
        )

    @cached_property
    def owners(self) -> pd.DataFrame:
        return effective_owners(self.securables, self.transitive, categorical=True)

    def who_can_access(
        self, securable_type: str, full_name: str, privilege: str | None = None, principal: str | None = None
    ) -> pd.DataFrame:
        """Every route to a securable (own grants, inherited from schema and catalog, ownership)."""
        out = privileges_on(
            self.securables, self.effective, securable_type, full_name, principal, self.owners
        )
        if privilege is not None:
            out = out[_is(out["privilege"], _norm_privilege(privilege))].reset_index(drop=True)
        return out

    def what_can(self, principal: str, expand_children: bool = False) -> pd.DataFrame:
        """Everything the principal holds, where each grant sits (or on every child)."""
        return access_of(principal, self.effective, self.securables, self.owners, expand_children)

    def why(self, principal: str, privilege: str, securable_type: str, full_name: str) -> pd.DataFrame:
        """The routes explaining a privilege, with usability."""
        return why(
            principal, privilege, securable_type, full_name, self.effective, self.securables, self.owners
        )

    def usable(
        self,
        principal: str | None = None,
        securable_type: str | None = None,
        full_name: str | None = None,
        privilege: str | None = None,
        level: Literal["schema", "object"] = "object",
        categorical: bool = False,
    ) -> pd.DataFrame:
        """Usability of held data privileges, optionally for one principal / securable / privilege.
        `categorical=True` gives the text columns as categoricals: for the whole account (millions of
        rows) several times faster and smaller than object strings."""
        privileges = [privilege] if privilege is not None else None
        out = usability(
            self.effective,
            self.securables,
            self.owners,
            level=level,
            privileges=privileges,
            principal=principal,
            categorical=categorical,
        )
        mask = np.ones(len(out), dtype=bool)
        if securable_type is not None:
            mask &= _is(out["securable_type"], _norm_type(securable_type))
        if full_name is not None:
            mask &= _match_ci(out["full_name"], [full_name])
        return out if mask.all() else out[mask].reset_index(drop=True)  # no copy of the whole account

    def matrix(
        self,
        level: Literal["catalog", "schema", "table"] = "catalog",
        mode: str = "effective",
        **filters: Any,
    ) -> pd.DataFrame:
        """`scimkit.matrix.permission_matrix` over this snapshot (catalog=, group_pattern=, ...)."""
        from .matrix import permission_matrix

        tables = {
            "grants": self._get("grants"),
            "securables": self.securables,
            "transitive_memberships": self.transitive,
        }
        return permission_matrix(tables, level, mode, **filters)  # type: ignore[arg-type]

    def groups_of(self, principal: str) -> pd.DataFrame:
        """The groups a principal belongs to, with depth, via and path_count."""
        t = self.transitive
        return t[_match_ci(t["member_name"], [principal])].reset_index(drop=True)

    def members_of(self, group: str) -> pd.DataFrame:
        """Every direct and nested member of a group."""
        t = self.transitive
        return t[_match_ci(t["group_name"], [group])].reset_index(drop=True)

"""Frames derived from one snapshot, computed once and shared: the compliance rules, the report
and the matrix ask for the same lowered names, member counts and usability many times over.

    counts = cached(snap, "member_counts", lambda: ..., depends=("transitive_memberships",))

A cache entry lives as long as the snapshot object (it is dropped when the snapshot is garbage
collected) and is recomputed when one of the tables it depends on is replaced
(`snap.grants = other`). Tables are taken as read-only: a frame changed in place is not noticed,
so change a snapshot by assigning new tables, as `Snapshot.load` and the readers do.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

# id(snapshot) -> {name: (the tables it was computed from, value)}; emptied by weakref.finalize.
_STORES: dict[int, dict[str, tuple[tuple[Any, ...], Any]]] = {}


def _store(snapshot: Any) -> dict[str, tuple[tuple[Any, ...], Any]] | None:
    key = id(snapshot)
    store = _STORES.get(key)
    if store is None:
        try:
            weakref.finalize(snapshot, _STORES.pop, key, None)
        except TypeError:  # not weak-referenceable (a dict of tables): no caching
            return None
        store = _STORES[key] = {}
    return store


def cached(snapshot: Any, name: str, compute: Callable[[], T], depends: Iterable[str] = ()) -> T:
    """`compute()` once per snapshot (and per identity of the `depends` tables)."""
    store = _store(snapshot)
    if store is None:
        return compute()
    tables = tuple(getattr(snapshot, t, None) for t in depends)
    hit = store.get(name)
    if hit is not None and len(hit[0]) == len(tables) and all(a is b for a, b in zip(hit[0], tables, strict=True)):
        return hit[1]
    value = compute()
    store[name] = (tables, value)
    return value


def clear(snapshot: Any) -> None:
    """Forget what was derived from `snapshot` (frees the memory before the snapshot goes)."""
    _STORES.pop(id(snapshot), None)

"""Synthetic seeds for scale tests and benchmarks (not the sample company)."""

from __future__ import annotations

import json
from pathlib import Path


def write_users_seed(root: Path, users: int = 10_000, groups: int = 100) -> Path:
    """`users` users and `groups` groups of 50 members each, in the seed format."""
    root.mkdir(parents=True, exist_ok=True)
    user_docs = [{"id": str(1_000_000_000_000_000 + i), "userName": f"user{i:05d}@bench.example",
                  "displayName": f"User {i:05d}", "active": True} for i in range(1, users + 1)]
    group_docs = [{"id": str(2_000_000_000_000_000 + g), "displayName": f"Group {g:04d}",
                   "members": [{"value": str(1_000_000_000_000_000 + 1 + (g * 50 + k) % users)} for k in range(50)]}
                  for g in range(1, groups + 1)]
    (root / "users.json").write_text(json.dumps(user_docs))
    (root / "groups.json").write_text(json.dumps(group_docs))
    (root / "manifest.json").write_text(json.dumps({"format": "scimkit-seed", "version": 1, "name": "bench",
                                                    "files": {"users": "users.json", "groups": "groups.json"}}))
    return root

"""A `Plan`: an ordered list of typed changes and the report that goes with it, shown before
anything is written (`frame()`, `summary()`, `text()`), saved to and loaded from JSON so that the
file a reviewer approved is the file that is applied (`plan_id` is a digest of its changes)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InvalidInput
from .changes import PHASES, Change, change_from_dict, depends_on

FORMAT = "scimkit-plan"
VERSION = 1


def change_id(change: Change) -> str:
    """The change's identity inside a plan and its journal."""
    return f"{change.kind}|{change.key}"


@dataclass
class Plan:
    """Ordered changes (identities, memberships, workspaces, Unity Catalog, removals), plus `report`:
    what the builder found but does not change (grants nobody listed, what a leaver owned, ...)."""

    changes: list[Change] = field(default_factory=list)
    source: str = ""  # what the plan was built from, for the reviewer
    report: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        unique: dict[str, Change] = {}
        for change in self.changes:
            unique.setdefault(change_id(change), change)
        order = {kind: i for i, kind in enumerate(PHASES)}
        self.changes = sorted(unique.values(), key=lambda c: order[c.kind])  # stable within a phase

    # -- views ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self):  # noqa: ANN204
        return iter(self.changes)

    @property
    def plan_id(self) -> str:
        body = json.dumps([c.to_dict() for c in self.changes], sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def dependencies(self, change: Change) -> list[str]:
        return depends_on(change, self.changes)

    def frame(self) -> pd.DataFrame:
        """One row per change: kind, target, before, after, reason, and its dependencies."""
        rows = []
        for n, change in enumerate(self.changes, start=1):
            before, after = change.before_after()
            rows.append(dict(step=n, kind=change.kind, target=change.target, before=before, after=after,
                             reason=change.reason, depends_on="; ".join(self.dependencies(change))))
        return pd.DataFrame(rows, columns=["step", "kind", "target", "before", "after", "reason", "depends_on"])

    def summary(self) -> pd.DataFrame:
        """Counts by kind, in apply order."""
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.kind] = counts.get(change.kind, 0) + 1
        return pd.DataFrame({"kind": list(counts), "changes": list(counts.values())}, columns=["kind", "changes"])

    def report_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.report, columns=["topic", "subject", "detail", "proposal"])

    def text(self) -> str:
        """The plan as a reviewer reads it."""
        lines = [f"Plan {self.plan_id}" + (f" from {self.source}" if self.source else "")
                 + f": {len(self.changes)} change(s)"]
        if not self.changes:
            lines.append("  nothing to change")
        for n, change in enumerate(self.changes, start=1):
            before, after = change.before_after()
            arrow = f" [{before} -> {after}]" if before or after else ""
            why = f"  ({change.reason})" if change.reason else ""
            lines.append(f"  {n:>3}. {change.kind:<18} {change.target}{arrow}{why}")
        if self.report:
            lines.append("Report (not changed by this plan):")
            for item in self.report:
                proposal = f" -> {item['proposal']}" if item.get("proposal") else ""
                lines.append(f"  - {item['topic']}: {item['subject']}: {item['detail']}{proposal}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    # -- files ---------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": VERSION, "plan_id": self.plan_id, "source": self.source,
                           "changes": [c.to_dict() for c in self.changes], "report": self.report}, indent=2)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_json(cls, text: str, origin: str = "the plan") -> Plan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{origin} is not JSON (line {exc.lineno}: {exc.msg}).", field="plan",
                               fix="pass a file written by `scimkit plan --out` or Plan.save") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidInput(f"{origin} is not a scimkit plan (no \"format\": \"{FORMAT}\").", field="format",
                               fix="pass a file written by `scimkit plan --out` or Plan.save")
        changes = []
        for n, item in enumerate(data.get("changes") or [], start=1):
            try:
                changes.append(change_from_dict(item))
            except (InvalidInput, TypeError) as exc:
                raise InvalidInput(f"{origin}, change {n}: {exc}", field="changes",
                                   fix="correct that change or write the plan again") from None
        plan = cls(changes=changes, source=data.get("source", ""), report=list(data.get("report") or []))
        stated = data.get("plan_id")
        if stated and stated != plan.plan_id:
            raise InvalidInput(f"{origin} was edited after it was written: its plan_id {stated} does not match its "
                               f"changes ({plan.plan_id}).", field="plan_id",
                               fix="build the plan again (scimkit plan) and have it reviewed")
        return plan

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        path = Path(path)
        if not path.is_file():
            raise InvalidInput(f"No plan file at {path}.", field="plan", value=str(path), fix="check the path")
        return cls.from_json(path.read_text(encoding="utf-8"), origin=str(path))

    def extend(self, changes: Iterable[Change]) -> Plan:
        return Plan(changes=[*self.changes, *changes], source=self.source, report=list(self.report))

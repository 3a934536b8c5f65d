"""The apply journal: one record before and one after each change (the change, the state read
before, the outcome, the time, who ran it). A JSONL file locally, flushed and fsynced per record so
a `kill -9` loses at most the line being written (a torn last line is ignored on reading); on
Databricks a Delta table through `history.py`'s storage seam (one appended row per record)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from filelock import FileLock, Timeout

from ..errors import InvalidInput, JournalLocked

DONE = ("applied", "in_place")  # outcomes that finish a change; failed and skipped ones are retried
TABLE = "plan_journal"
COLUMNS = ("plan_id", "change_id", "phase", "kind", "target", "outcome", "detail", "state_before", "change",
           "time", "who", "run_id")


class Journal(Protocol):
    def append(self, record: dict[str, Any]) -> None: ...

    def records(self) -> list[dict[str, Any]]: ...

    def lock(self) -> contextlib.AbstractContextManager[None]: ...


class JsonlJournal:
    """A local JSON Lines file, appended to (never rewritten). `lock()` holds `<file>.lock` for the
    whole of an apply (an OS lock: a process killed with -9 releases it), so two applies on one
    journal refuse rather than interleave."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        held = FileLock(str(self.lock_path), timeout=0)
        try:
            held.acquire()
        except Timeout:
            raise JournalLocked(str(self.path), str(self.lock_path)) from None
        try:
            yield
        finally:
            held.release()

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, sort_keys=True, default=str)
        with open(self.path, "a+", encoding="utf-8") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell():  # a torn line left by a killed writer must not swallow this record
                fh.seek(fh.tell() - 1)
                if fh.read(1) != "\n":
                    fh.write("\n")
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a record torn by a kill: its change is re-checked against the account
            if not isinstance(out[-1], dict):
                raise InvalidInput(f"{self.path} line {n} is not a journal record.", field="journal",
                                   fix="pass the journal file an earlier apply wrote, or a new path")
        return out


class TableJournal:
    """The journal as a table in a `history` backend (SparkBackend: a Delta table on Databricks;
    DeltaLakeBackend or ParquetBackend elsewhere). Each record is one appended row. Its `lock()`
    guards applies in this process only: a table has no lock file, so on Databricks run one apply
    job per journal table (a job's max concurrent runs = 1)."""

    def __init__(self, backend: Any, table: str = TABLE) -> None:
        self.backend = backend
        self.table = table
        self._last: pd.Timestamp | None = None

    def append(self, record: dict[str, Any]) -> None:
        stamp = pd.Timestamp.now(tz="UTC")
        if self._last is not None and stamp <= self._last:
            stamp = self._last + pd.Timedelta(microseconds=1)
        self._last = stamp
        row = {c: (json.dumps(record.get(c), sort_keys=True, default=str)
                   if c in ("state_before", "change") else (None if record.get(c) is None else str(record.get(c))))
               for c in COLUMNS}
        row["snapshot_time"] = stamp
        self.backend.write(self.table, pd.DataFrame([row]), stamp)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        if getattr(self, "_locked", False):
            raise JournalLocked(f"table {self.table}", "this process")
        self._locked = True
        try:
            yield
        finally:
            self._locked = False

    def records(self) -> list[dict[str, Any]]:
        if self.table not in self.backend.tables():
            return []
        out = []
        for stamp in sorted(self.backend.snapshot_times(self.table)):
            frame = self.backend.read(self.table, stamp)
            for row in ([] if frame is None else frame.to_dict("records")):
                record = {c: row.get(c) for c in COLUMNS}
                for c in ("state_before", "change"):
                    record[c] = json.loads(record[c]) if isinstance(record[c], str) else record[c]
                out.append(record)
        return out


def open_journal(journal: Any) -> Journal | None:
    """A path (JSONL), a history backend (table), a Journal, or None (no journal: dry runs only)."""
    if journal is None or hasattr(journal, "records"):
        return journal
    if isinstance(journal, (str, os.PathLike)):
        return JsonlJournal(journal)
    if hasattr(journal, "write") and hasattr(journal, "snapshot_times"):
        return TableJournal(journal)
    raise InvalidInput(f"Cannot keep a journal in {journal!r}.", field="journal",
                       fix="pass a .jsonl path, a history backend (e.g. SparkBackend) or a Journal")


def journal_frame(journal: Any) -> pd.DataFrame:
    """The journal's records as a DataFrame (for notebooks and reports)."""
    opened = open_journal(journal)
    rows = opened.records() if opened is not None else []
    return pd.DataFrame(rows, columns=list(COLUMNS))

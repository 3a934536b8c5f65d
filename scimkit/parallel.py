"""Run many reads concurrently under the rate limits, with a progress bar, recording failures
instead of dropping them: completeness is explicit.

Reads are idempotent, so a transient failure (5xx, a dropped connection) is tried again with
exponential backoff and jitter, within a total retry budget per run. The SDK already retries 429
and 503 for up to `retry_timeout_seconds` inside one call; when it gives up (TimeoutError), the
class is failing for longer than the caller agreed to wait, so that run stops early: the items not
yet read are recorded as skipped, naming the failure that stopped them, instead of each waiting out
its own `retry_timeout_seconds`. A run also stops after `trip_after` items in a row failed.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Generic, TypeVar

import requests
from databricks.sdk.errors import (
    DatabricksError,
    DeadlineExceeded,
    InternalError,
    TemporarilyUnavailable,
    TooManyRequests,
)

from .errors import sdk_message
from .limits import RateLimits

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ReadFailure:
    """One read that failed after the SDK's retries: what, which, which call, and why."""

    object_type: str
    object_name: str
    operation: str
    error: str


@dataclass
class Outcome(Generic[T, R]):
    results: list[tuple[T, R]]
    failures: list[ReadFailure]


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent reads are retried: `attempts` per item, exponential backoff from
    `base_delay_s` (capped at `max_delay_s`, full jitter), at most `budget_s` of backoff per run,
    and the run stops after `trip_after` failed items in a row or the SDK's own retry giving up."""

    attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    budget_s: float = 60.0
    trip_after: int = 5

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1, trip_after=10**9)


def is_transient(exc: BaseException) -> bool:
    """A failure worth another try of an idempotent read: 5xx, 429, a dropped connection."""
    if isinstance(exc, (InternalError, TemporarilyUnavailable, TooManyRequests, DeadlineExceeded)):
        return True
    if isinstance(exc, DatabricksError):
        return False
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError))


class _Breaker:
    """Shared by the workers of one run: counts failures in a row and the retry budget spent."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.reason: str | None = None
        self._in_a_row = 0
        self._spent = 0.0
        self._lock = threading.Lock()

    def failed(self, error: str, sdk_gave_up: bool) -> None:
        with self._lock:
            self._in_a_row += 1
            if self.reason is None and (sdk_gave_up or self._in_a_row >= self.policy.trip_after):
                why = "the SDK's retries gave up" if sdk_gave_up else f"{self._in_a_row} reads in a row failed"
                self.reason = f"{why} (last: {error})"

    def succeeded(self) -> None:
        with self._lock:
            self._in_a_row = 0

    def take_delay(self, attempt: int) -> float | None:
        """Seconds to wait before another attempt, or None when the budget is spent."""
        delay = self.policy.delay(attempt)
        with self._lock:
            if self.reason is not None or self._spent + delay > self.policy.budget_s:
                return None
            self._spent += delay
        return delay


class _Skipped(Exception):
    pass


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, DatabricksError):
        code = getattr(exc, "error_code", None)
        return f"{type(exc).__name__}{f' {code}' if code else ''}: {sdk_message(exc)}"
    if isinstance(exc, TimeoutError) and exc.__cause__ is not None:
        return f"TimeoutError after retries: {describe_error(exc.__cause__)}"
    return f"{type(exc).__name__}: {exc}"


def progress_bar(total: int, desc: str, enabled: bool):  # noqa: ANN201 - a tqdm or a stand-in
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="req", leave=False)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def run_concurrently(
    items: Iterable[T],
    call: Callable[[T], R],
    *,
    limits: RateLimits,
    rate_class: str,
    object_type: str,
    name: Callable[[T], str],
    operation: str,
    workers: int = 8,
    desc: str = "",
    progress: bool = True,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> Outcome[T, R]:
    """Call `call(item)` for every item on `workers` threads, each call first taking a token of
    `rate_class`; transient failures are retried (`retry`). Failures, and items skipped after the
    run stopped early, become `ReadFailure` records; results keep the input order."""
    work: Sequence[T] = list(items)
    results: dict[int, R] = {}
    failures: list[ReadFailure] = []
    bar = progress_bar(len(work), desc or object_type, progress)
    breaker = _Breaker(retry)

    def run(index: int) -> tuple[int, R]:
        attempt = 1
        while True:
            if breaker.reason is not None:
                raise _Skipped(f"Skipped: the {operation} reads stopped early, {breaker.reason}.")
            limits.acquire(rate_class)
            try:
                value = call(work[index])
            except Exception as exc:
                sdk_gave_up = isinstance(exc, TimeoutError) and exc.__cause__ is not None
                delay = breaker.take_delay(attempt) if (
                    is_transient(exc) and not sdk_gave_up and attempt < retry.attempts) else None
                if delay is None:
                    breaker.failed(describe_error(exc), sdk_gave_up)
                    raise
                time.sleep(delay)
                attempt += 1
                continue
            breaker.succeeded()
            return index, value

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="scimkit-read")
    try:
        futures = {pool.submit(run, i): i for i in range(len(work))}
        for future in as_completed(futures):
            index = futures[future]
            try:
                _, value = future.result()
                results[index] = value
            except _Skipped as skipped:
                failures.append(ReadFailure(object_type, name(work[index]), operation, str(skipped)))
            except Exception as exc:  # noqa: BLE001 - recorded, never swallowed
                failures.append(ReadFailure(object_type, name(work[index]), operation, describe_error(exc)))
            bar.update(1)
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        bar.close()
        pool.shutdown(wait=True)
    return Outcome([(work[i], results[i]) for i in sorted(results)], failures)

"""Run many reads concurrently under the rate limits, with a progress bar, recording failures
instead of dropping them: completeness is explicit."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Generic, TypeVar

from databricks.sdk.errors import DatabricksError

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


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, DatabricksError):
        code = getattr(exc, "error_code", None)
        return f"{type(exc).__name__}{f' {code}' if code else ''}: {exc}"
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
) -> Outcome[T, R]:
    """Call `call(item)` for every item on `workers` threads, each call first taking a token of
    `rate_class`. Failures become `ReadFailure` records; results keep the input order."""
    work: Sequence[T] = list(items)
    results: dict[int, R] = {}
    failures: list[ReadFailure] = []
    bar = progress_bar(len(work), desc or object_type, progress)

    def run(index: int) -> tuple[int, R]:
        limits.acquire(rate_class)
        return index, call(work[index])

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="scimkit-read")
    try:
        futures = {pool.submit(run, i): i for i in range(len(work))}
        for future in as_completed(futures):
            index = futures[future]
            try:
                _, value = future.result()
                results[index] = value
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

"""Client-side rate limiting: a blocking token bucket per rate-limit class, so that concurrent
reads stay under the account's limits instead of collecting 429s (the SDK does not throttle;
`databricks-api.md` 2.1). The classes and numbers are `databricks-api.md` section 7.1; one knob,
`scale`, multiplies them all (use < 1 for a shared account, > 1 where limits were raised).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

# class -> (requests, per seconds). Generated, unverified numbers (see the emulator's ledger).
RATE_LIMIT_CLASSES: dict[str, tuple[float, float]] = {
    "scim-get": (20, 1),
    "scim-list": (240, 60),
    "scim-patch": (2, 1),
    "scim-write": (5, 1),
    "account-read": (20, 1),
    "uc-grants-read": (100, 1),
    "uc-grants-write": (30, 1),
    "uc-list": (100, 1),
}


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self) -> float:
        """Block until a token is available; return the seconds waited."""
        waited = 0.0
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return waited
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)
            waited += wait


class RateLimits:
    """One bucket per class. Buckets start empty-but-one so a burst cannot overshoot the server's."""

    def __init__(self, scale: float = 1.0, classes: dict[str, tuple[float, float]] | None = None) -> None:
        if scale <= 0:
            raise ValueError("rate_scale must be positive")
        self.scale = scale
        self._classes = classes or RATE_LIMIT_CLASSES
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self.waited: dict[str, float] = {}

    def acquire(self, rate_class: str) -> None:
        if rate_class not in self._classes:
            raise KeyError(f"unknown rate-limit class {rate_class!r}")
        with self._lock:
            bucket = self._buckets.get(rate_class)
            if bucket is None:
                count, per = self._classes[rate_class]
                rate = count / per * self.scale
                # Under the server's rate and well under its burst: a request that takes its token
                # here reaches the server a little later, and delayed requests can arrive bunched.
                capacity = max(1.0, rate * 0.5)
                bucket = self._buckets[rate_class] = _Bucket(rate=rate * 0.9, capacity=capacity, tokens=capacity)
        waited = bucket.acquire()
        if waited:
            with self._lock:
                self.waited[rate_class] = self.waited.get(rate_class, 0.0) + waited


class MeteredApiClient:
    """Stands in for a WorkspaceClient's ApiClient inside the SDK's own service classes: takes a
    `rate_class` token before each HTTP request (the first `prepaid` excepted: the caller already took
    them) and keeps the raw response bodies. Retries happen inside `do`, after Retry-After."""

    def __init__(self, api: Any, limits: RateLimits, rate_class: str, prepaid: int = 0) -> None:
        self._inner = api
        self._limits = limits
        self._rate_class = rate_class
        self._prepaid = prepaid
        self.requests = 0
        self.last: Any = None

    def do(self, *args: Any, **kwargs: Any) -> Any:
        if self._prepaid > 0:
            self._prepaid -= 1
        else:
            self._limits.acquire(self._rate_class)
        self.requests += 1
        self.last = self._inner.do(*args, **kwargs)
        return self.last

    def __getattr__(self, name: str) -> Any:  # _cfg and anything else the service classes read
        return getattr(self._inner, name)

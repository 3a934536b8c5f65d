"""Switches that make the emulator behave like a busy or failing account: latency, rate limits
(token buckets per rate-limit class, `databricks-api.md` section 7.1), injected faults, and the
request counters served at `/_scimkit/stats`. All off by default.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

# class -> (requests, per seconds, scope). Numbers from a generated, unverified source; see the ledger.
RATE_LIMIT_CLASSES: dict[str, tuple[float, float, str]] = {
    "scim-get": (20, 1, "account"),
    "scim-list": (240, 60, "account"),
    "scim-patch": (2, 1, "account"),
    "scim-write": (5, 1, "account"),
    "account-read": (20, 1, "account"),
    "uc-grants-read": (100, 1, "workspace"),
    "uc-grants-write": (30, 1, "workspace"),
    "uc-list": (100, 1, "workspace"),
}


@dataclass
class TokenBucket:
    """`rate` tokens per second, holding at most `burst` (one second's worth, at least one)."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self) -> float:
        """Take one token; return 0 on success, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def check(self, rate_class: str, scope_key: str) -> float:
        """0 if the request may go ahead, else the wait in seconds before it could."""
        if rate_class not in RATE_LIMIT_CLASSES:
            return 0.0
        count, per, _scope = RATE_LIMIT_CLASSES[rate_class]
        rate = count / per * self.speed
        with self._lock:
            bucket = self._buckets.get((rate_class, scope_key))
            if bucket is None:
                bucket = self._buckets[(rate_class, scope_key)] = TokenBucket(rate, max(1.0, rate))
            return bucket.take()

    @staticmethod
    def retry_after(wait: float) -> int:
        """Integer seconds for the `Retry-After` header (the SDK reads only integers)."""
        return max(1, math.ceil(wait))


@dataclass
class FaultRule:
    """Answer the next `remaining` requests matching `method` and `path_regex` with `status`."""

    method: str
    path_regex: re.Pattern[str]
    status: int
    remaining: int

    @classmethod
    def parse(cls, spec: str) -> FaultRule:
        """`METHOD:PATH_REGEX:STATUS:N`; the regex may itself contain colons."""
        try:
            method, rest = spec.split(":", 1)
            regex, status, count = rest.rsplit(":", 2)
            return cls(method.upper(), re.compile(regex), int(status), int(count))
        except (ValueError, re.error) as exc:
            raise ValueError(
                f"bad --fault {spec!r}: expected METHOD:PATH_REGEX:STATUS:N, e.g. 'GET:/Groups/:500:2' ({exc})"
            ) from None

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method in (method, "*") and bool(self.path_regex.search(path))


class Faults:
    """Latency, rate limits, injected faults and request counters of one emulator."""

    def __init__(
        self,
        latency_ms: float = 0,
        rate_limits: bool = False,
        speed: float = 1.0,
        faults: list[str] | None = None,
    ) -> None:
        self.latency_ms = latency_ms
        self.rate_limits = rate_limits
        self.limiter = RateLimiter(speed)
        self.rules = [FaultRule.parse(spec) for spec in faults or []]
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.faulted: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add_fault(self, spec: str) -> None:
        with self._lock:
            self.rules.append(FaultRule.parse(spec))

    def count(self, rate_class: str) -> None:
        with self._lock:
            self.requests[rate_class] += 1

    def sleep(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    def throttle(self, rate_class: str, scope_key: str) -> int | None:
        """Retry-After seconds when the request is over its class's limit, else None."""
        if not self.rate_limits:
            return None
        wait = self.limiter.check(rate_class, scope_key)
        if wait <= 0:
            return None
        with self._lock:
            self.throttled[rate_class] += 1
        return RateLimiter.retry_after(wait)

    def injected_status(self, method: str, path: str, rate_class: str) -> int | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    self.faulted[rate_class] += 1
                    return rule.status
        return None

    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "throttled": dict(sorted(self.throttled.items())),
                "faulted": dict(sorted(self.faulted.items())),
                "total": sum(self.requests.values()),
                "rate_limits": self.rate_limits,
                "speed": self.limiter.speed,
            }

    def reset_stats(self) -> None:
        with self._lock:
            self.requests.clear()
            self.throttled.clear()
            self.faulted.clear()

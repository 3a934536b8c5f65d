"""Switches that make the emulator behave like a busy or failing account: latency, rate limits
(token buckets per rate-limit class, `databricks-api.md` section 7.1), injected faults, and the
request counters served at `/_scimkit/stats`. All off by default.
"""

from __future__ import annotations

import math
import random as _random
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


FAULT_SYNTAX = "METHOD:PATH_REGEX:ACTION:WHEN"
FAULT_HELP = (
    "METHOD:PATH_REGEX:ACTION:WHEN. ACTION: an HTTP status (500, 503, 429, ...) answered before the "
    "handler runs; 'latency-MS' (wait MS ms, then serve); 'drop' (commit the change, then close the "
    "connection without an answer); 'lost' or 'lost-STATUS' (commit, then answer STATUS, default 503). "
    "WHEN: N (the next N matching requests), '*' (every one: a storm), 'P%' (each with probability P, "
    "seeded), 'Ts' (every one for T seconds from the first match). E.g. 'GET:/Groups/:500:2', "
    "'GET:/permissions/:429:*', 'POST:/ServicePrincipals$:lost:1', '*:.*:latency-200:10%'."
)


@dataclass(frozen=True)
class FaultAction:
    """What a matching rule does: `kind` is status, latency, drop or lost."""

    kind: str
    status: int = 0
    latency_ms: float = 0.0

    @property
    def after_commit(self) -> bool:
        return self.kind in ("drop", "lost")


@dataclass
class FaultRule:
    """Apply `action` to requests matching `method` and `path_regex`, as often as `WHEN` says.

    The spec `METHOD:PATH_REGEX:STATUS:N` of earlier versions is the same rule with a status action
    and a count, so old specs keep working; the regex may itself contain colons.
    """

    spec: str
    method: str
    path_regex: re.Pattern[str]
    action: FaultAction
    remaining: int | None = None  # next N matches
    probability: float | None = None  # each match, seeded
    window_s: float | None = None  # every match for this long after the first
    random: _random.Random = field(default_factory=_random.Random, repr=False)
    first_match: float | None = None
    injected: int = 0

    @property
    def status(self) -> int:  # the spec's status, for older callers
        return self.action.status

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> FaultRule:
        try:
            method, rest = spec.split(":", 1)
            regex, action_text, when = rest.rsplit(":", 2)
            action = _parse_action(action_text.strip().lower())
            rule = cls(spec, method.strip().upper() or "*", re.compile(regex), action,
                       random=_random.Random(f"{seed}:{spec}"))
            when = when.strip().lower()
            if when == "*":
                pass
            elif when.endswith("%"):
                rule.probability = float(when[:-1]) / 100
                if not 0 < rule.probability <= 1:
                    raise ValueError("a rate must be above 0% and at most 100%")
            elif when.endswith("s"):
                rule.window_s = float(when[:-1])
                if rule.window_s <= 0:
                    raise ValueError("a window must be positive")
            else:
                rule.remaining = int(when)
                if rule.remaining < 0:
                    raise ValueError("a count must not be negative")
            return rule
        except (ValueError, re.error) as exc:
            raise ValueError(f"bad --fault {spec!r}: expected {FAULT_HELP} ({exc})") from None

    def fires(self, method: str, path: str, now: float) -> bool:
        """Whether this request is faulted (consumes a count, a random draw or opens the window)."""
        if self.method not in (method, "*") or not self.path_regex.search(path):
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
        elif self.probability is not None:
            if self.random.random() >= self.probability:
                return False
        elif self.window_s is not None:
            if self.first_match is None:
                self.first_match = now
            if now - self.first_match > self.window_s:
                return False
        self.injected += 1
        return True


def _parse_action(text: str) -> FaultAction:
    if text == "drop":
        return FaultAction("drop")
    if text == "lost" or text.startswith("lost-"):
        status = int(text[5:]) if text.startswith("lost-") else 503
        return FaultAction("lost", status=_checked_status(status))
    if text.startswith("latency-"):
        latency = float(text[len("latency-"):].removesuffix("ms"))
        if latency < 0:
            raise ValueError("latency must not be negative")
        return FaultAction("latency", latency_ms=latency)
    return FaultAction("status", status=_checked_status(int(text)))


def _checked_status(status: int) -> int:
    if not 400 <= status <= 599:
        raise ValueError(f"an injected status must be 4xx or 5xx, got {status}")
    return status


class Faults:
    """Latency, rate limits, injected faults and request counters of one emulator."""

    def __init__(
        self,
        latency_ms: float = 0,
        rate_limits: bool = False,
        speed: float = 1.0,
        faults: list[str] | None = None,
        seed: int = 0,
    ) -> None:
        self.latency_ms = latency_ms
        self.rate_limits = rate_limits
        self.limiter = RateLimiter(speed)
        self.seed = seed
        self.rules = [FaultRule.parse(spec, seed) for spec in faults or []]
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.faulted: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add_fault(self, spec: str) -> None:
        rule = FaultRule.parse(spec, self.seed)
        with self._lock:
            self.rules.append(rule)

    def clear_faults(self) -> None:
        with self._lock:
            self.rules.clear()

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

    def injected(self, method: str, path: str, rate_class: str) -> list[FaultAction]:
        """The actions of every rule that fires for this request (latency first, then at most one other)."""
        now = time.monotonic()
        actions: list[FaultAction] = []
        with self._lock:
            for rule in self.rules:
                terminal = any(a.kind != "latency" for a in actions)
                if rule.action.kind != "latency" and terminal:
                    continue
                if rule.fires(method, path, now):
                    actions.append(rule.action)
                    self.faulted[rate_class] += 1
        return sorted(actions, key=lambda a: a.kind != "latency")

    def injected_status(self, method: str, path: str, rate_class: str) -> int | None:
        """Older interface: the status of a firing status rule, if any."""
        for action in self.injected(method, path, rate_class):
            if action.kind == "status":
                return action.status
        return None

    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "throttled": dict(sorted(self.throttled.items())),
                "faulted": dict(sorted(self.faulted.items())),
                "total": sum(self.requests.values()),
                "faults_injected": sum(rule.injected for rule in self.rules),
                "fault_rules": [{"spec": rule.spec, "injected": rule.injected} for rule in self.rules],
                "rate_limits": self.rate_limits,
                "speed": self.limiter.speed,
            }

    def reset_stats(self) -> None:
        with self._lock:
            self.requests.clear()
            self.throttled.clear()
            self.faulted.clear()

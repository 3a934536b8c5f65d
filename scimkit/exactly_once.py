"""Creates that happen exactly once even when an answer is lost.

The SDK resends a request after a 429, a 503 or a dropped connection, POST included
(`databricks-api.md` 6.8). When the server had already committed the first POST, the resend makes a
second object (service principals, which have no unique name) or gets a 409 that reads as "someone
else made it". So a create goes out here with a single attempt; after an uncertain failure we look
up what the first attempt did, and send again only when it did nothing. The outcome says which.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from databricks.sdk.core import ApiClient
from databricks.sdk.errors import ResourceConflict

from .connect import Account
from .parallel import is_transient

T = TypeVar("T")

# The SDK's retry loop with this budget makes one attempt, waits out Retry-After once, and gives up.
SINGLE_ATTEMPT_SECONDS = 1
LOST_ANSWER = "the first answer was lost; a lookup confirmed the change before anything was sent again"


@dataclass(frozen=True)
class Created(Generic[T]):
    """The object, whether this call made it, and how we know."""

    value: T
    created: bool
    note: str = ""


def single_attempt_api(account: Account) -> ApiClient:
    """An API client on the account's credentials whose requests are not resent by the SDK."""
    config = account.a.config.copy()
    config.retry_timeout_seconds = SINGLE_ATTEMPT_SECONDS
    return ApiClient(config)


def is_uncertain(exc: BaseException) -> bool:
    """A failure after which the server may or may not have made the change."""
    return isinstance(exc, TimeoutError) or is_transient(exc)


def create_once(account: Account, find: Callable[[], T | None], create: Callable[[ApiClient], T],
                rate_class: str = "scim-write") -> Created[T]:
    """`create` through a single-attempt client; after an uncertain failure, `find` decides whether
    the first attempt made the object (then it is returned as created) or another attempt is due,
    within the account's `retry_timeout_seconds`. A 409 on the first attempt means it already existed."""
    api = single_attempt_api(account)
    budget = float(getattr(account.a.config, "retry_timeout_seconds", None) or 300)
    deadline = time.monotonic() + budget
    attempt = 0
    while True:
        attempt += 1
        account.limits.acquire(rate_class)
        try:
            return Created(create(api), True)
        except ResourceConflict:
            existing = find()
            if existing is None:
                raise
            if attempt == 1:
                return Created(existing, False, "it already existed")
            return Created(existing, True, LOST_ANSWER)
        except Exception as exc:
            if not is_uncertain(exc):
                raise
            existing = find()
            if existing is not None:
                return Created(existing, True, LOST_ANSWER)
            if time.monotonic() >= deadline:
                raise
            time.sleep(random.uniform(0, min(8.0, 0.5 * 2 ** (attempt - 1))))


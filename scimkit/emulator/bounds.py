"""Bounds checked at the edge, so that nothing a client can send reaches Python's recursion limit,
SQLite's 64-bit integers or an unbounded parse: request body size, JSON nesting depth, integer
query values and path/header ids. Each refusal is a 4xx in the route family's body style.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import WireError, family_error

INT64_MAX = 2**63 - 1
# Our choices (Databricks does not document them); listed in the ledger.
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_JSON_DEPTH = 32


def check_int64(value: int, what: str, family: str, minimum: int = 0) -> int:
    """`value` if it fits a signed 64-bit integer at or above `minimum`, else a 400."""
    if value < minimum or value > INT64_MAX:
        raise family_error(family, 400, f"{what} must be an integer between {minimum} and {INT64_MAX}, got {value}.")
    return value


def parse_int(raw: str, what: str, family: str, minimum: int = -INT64_MAX) -> int:
    """An integer query value or header, bounded to 64 bits (digits only, at most 20 of them)."""
    text = raw.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit() or len(digits) > 20:
        raise family_error(family, 400, f"{what} must be an integer, got {_short(raw)}.")
    return check_int64(int(text), what, family, minimum)


def depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: a hostile value cannot recurse us)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
    return deepest


def loads_body(raw: bytes, family: str, invalid: WireError) -> Any:
    """Parse a JSON body: `invalid` when it is not JSON, 400 when nested deeper than MAX_JSON_DEPTH."""
    if len(raw) > MAX_BODY_BYTES:
        raise body_too_large(family, len(raw))
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep(family) from None
    except ValueError:
        raise invalid from None
    if depth(value) > MAX_JSON_DEPTH:
        raise _too_deep(family)
    if _has_lone_surrogate(value):
        raise family_error(family, 400, "The request body contains an unpaired UTF-16 surrogate (\\ud800-\\udfff); "
                                        "send valid Unicode text.")
    return value


def body_too_large(family: str, size: int | None) -> WireError:
    told = f" ({size} bytes)" if size is not None else ""
    return family_error(family, 413, f"The request body is too large{told}; at most {MAX_BODY_BYTES} bytes are accepted.")


def _too_deep(family: str) -> WireError:
    return family_error(family, 400, f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _short(raw: str, limit: int = 40) -> str:
    return repr(raw if len(raw) <= limit else raw[:limit] + "...")

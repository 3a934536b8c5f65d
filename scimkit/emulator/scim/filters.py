"""SCIM filters as Databricks accepts them: `eq ne co sw` joined by `and`/`or`, at most 200 nodes.

Parsing is scim2-filter-parser's; ours is only what Databricks tolerates beyond RFC 7644 (single
quotes, as Terraform sends them, and unquoted values, as some provisioning clients send them),
rejecting what Databricks does not document (other operators, `not`, parentheses, value paths),
and evaluating the tree against a resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from scim2_filter_parser import ast as fast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from ..errors import ScimError

SUPPORTED_OPERATORS = ("eq", "ne", "co", "sw")
ALL_OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr")
LITERALS = ("true", "false", "null")

Predicate = Callable[[dict[str, Any]], bool]


def invalid_filter(message: str) -> ScimError:
    return ScimError(400, message, "invalidFilter")


def normalise_quotes(text: str) -> tuple[str, list[str]]:
    """The filter with every comparison value replaced by a numbered placeholder `"0"`, `"1"`, ...,
    and the values: "double-quoted" ones decoded as the JSON strings RFC 7644 makes them (so `\\"`
    and `\\\\` escape a quote and a backslash), 'single-quoted' and unquoted ones as written.

    The lexer of scim2-filter-parser knows no escapes (a value is `"[^"]*"`), so it only ever sees
    the placeholders."""
    out: list[str] = []
    values: list[str] = []

    def value(decoded: str) -> str:
        values.append(decoded)
        return f'"{len(values) - 1}"'

    i, n = 0, len(text)
    previous_word = ""
    while i < n:
        ch = text[i]
        if ch == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if end >= n:
                raise invalid_filter(f"Unterminated quote in filter: {text}")
            try:
                decoded = json.loads(text[i:end + 1])
            except ValueError as exc:
                raise invalid_filter(f"Invalid filter '{text}': the value {text[i:end + 1]} is not a JSON string "
                                     f"({exc.args[0].split(':')[0]}); escape a quote as \\\" and a backslash as "
                                     "\\\\") from None
            out.append(value(decoded))
            i = end + 1
            previous_word = ""
        elif ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise invalid_filter(f"Unterminated quote in filter: {text}")
            out.append(value(text[i + 1:end]))
            i = end + 1
            previous_word = ""
        elif ch.isspace() or ch in "()[]":
            out.append(ch)
            i += 1
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] not in "()[]\"'":
                end += 1
            word = text[i:end]
            needs_quotes = (
                previous_word.lower() in ALL_OPERATORS
                and previous_word.lower() != "pr"
                and word.lower() not in LITERALS
                and not _is_number(word)
            )
            out.append(value(word) if needs_quotes else word)
            previous_word = word
            i = end
    return "".join(out), values


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


# Bounds checked before the parser runs, so no filter can exhaust recursion or time (our choice;
# Databricks documents only the 200-node limit).
MAX_FILTER_CHARS = 16 * 1024
MAX_FILTER_DEPTH = 16


def _bounded_tokens(text: str, max_nodes: int) -> list[Any]:
    """The filter's tokens, or a 400 when it is too long, too deeply nested or has too many nodes."""
    if len(text) > MAX_FILTER_CHARS:
        raise invalid_filter(f"INVALID_FILTER: the filter is {len(text)} characters long; at most "
                             f"{MAX_FILTER_CHARS} are allowed.")
    shape, values = normalise_quotes(text)  # values out of the way: brackets in them do not count
    deepest = level = 0
    for ch in shape:
        if ch in "([":
            level += 1
            deepest = max(deepest, level)
        elif ch in ")]":
            level -= 1
    if deepest > MAX_FILTER_DEPTH:
        raise invalid_filter(f"INVALID_FILTER: the filter nests brackets {deepest} deep; at most "
                             f"{MAX_FILTER_DEPTH} are allowed.")
    tokens = list(SCIMLexer().tokenize(shape))
    for token in tokens:
        if token.type == "COMP_VALUE":
            token.value = values[int(token.value)]
    # A comparison is three tokens and one node, a logical operator one token and one node.
    if len(tokens) > 3 * max_nodes + 2 * MAX_FILTER_DEPTH:
        raise invalid_filter(f"INVALID_FILTER: the filter has {len(tokens)} tokens, more than {max_nodes} "
                             f"nodes can hold; at most {max_nodes} nodes are allowed.")
    return tokens


def parse(text: str, max_nodes: int = 200) -> Predicate:
    """Parse a filter into a predicate over a SCIM resource dict; SCIM 400 on anything else."""
    try:
        tree = SCIMParser().parse(iter(_bounded_tokens(text, max_nodes)))
    except ScimError:
        raise
    except Exception as exc:  # the parser raises several types
        raise invalid_filter(f"Invalid filter '{text}': {_parser_problem(exc)}") from None
    if tree is None:
        raise invalid_filter(f"Invalid filter '{text}'.")
    nodes = _count_nodes(tree)
    if nodes > max_nodes:
        raise invalid_filter(f"INVALID_FILTER: the filter has {nodes} nodes; at most {max_nodes} are allowed.")
    return _compile(tree, text)


def _count_nodes(node: Any) -> int:
    if isinstance(node, fast.Filter):
        return _count_nodes(node.expr)
    if isinstance(node, fast.LogExpr):
        return 1 + _count_nodes(node.expr1) + _count_nodes(node.expr2)
    return 1


def _compile(node: Any, text: str) -> Predicate:
    if isinstance(node, fast.Filter):
        if node.negated:
            raise invalid_filter(f"Given filter operator is not supported: 'not' in '{text}'.")
        if node.namespace is not None:
            raise invalid_filter(f"Given filter operator is not supported: value path filters in '{text}'.")
        if isinstance(node.expr, fast.Filter) and node.expr.namespace is not None:
            raise invalid_filter(f"Given filter operator is not supported: value path filters in '{text}'.")
        if isinstance(node.expr, fast.Filter):
            raise invalid_filter(f"Given filter operator is not supported: parentheses in '{text}'.")
        return _compile(node.expr, text)
    if isinstance(node, fast.LogExpr):
        left, right = _compile(node.expr1, text), _compile(node.expr2, text)
        if node.op.lower() == "and":
            return lambda r: left(r) and right(r)
        return lambda r: left(r) or right(r)
    if isinstance(node, fast.AttrExpr):
        op = node.value.lower()
        if op not in SUPPORTED_OPERATORS:
            raise invalid_filter(f"Given filter operator is not supported: '{node.value}' in '{text}'. "
                                 f"Supported: {', '.join(SUPPORTED_OPERATORS)} with and/or.")
        path = node.attr_path
        if path.uri:
            raise invalid_filter(f"Given filter operator is not supported: schema URI attributes in '{text}'.")
        names = [path.attr_name] + ([path.sub_attr.value] if path.sub_attr is not None else [])
        if isinstance(node.comp_value, fast.CompValue):
            expected = node.comp_value.value
        else:  # pragma: no cover - defensive
            raise invalid_filter(f"Invalid filter '{text}'.")
        return _comparison(op, names, expected)
    raise invalid_filter(f"Given filter operator is not supported in '{text}'.")


def lookup(resource: dict[str, Any], names: list[str]) -> list[Any]:
    """Values at an attribute path, case-insensitively, flattening multi-valued attributes."""
    values: list[Any] = [resource]
    for name in names:
        found: list[Any] = []
        for value in values:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    for key, sub in item.items():
                        if key.lower() == name.lower():
                            found.append(sub)
        values = found
    flat: list[Any] = []
    for value in values:
        if isinstance(value, list):
            # A multi-valued complex attribute compares on its "value" sub-attribute (RFC 7644 3.4.2.2).
            flat.extend(v.get("value") if isinstance(v, dict) else v for v in value)
        else:
            flat.append(value)
    return flat


def _comparison(op: str, names: list[str], expected: Any) -> Predicate:
    def test(actual: Any) -> bool:
        if isinstance(expected, bool) or expected is None or isinstance(actual, bool):
            left, right = _as_literal(actual), _as_literal(expected)
        elif isinstance(actual, str) or isinstance(expected, str):
            left, right = str(actual).lower(), str(expected).lower()
        else:
            left, right = actual, expected
        if op == "eq":
            return left == right
        if op == "ne":
            return left != right
        if op == "co":
            return isinstance(left, str) and isinstance(right, str) and right in left
        return isinstance(left, str) and isinstance(right, str) and left.startswith(right)

    def predicate(resource: dict[str, Any]) -> bool:
        values = lookup(resource, names)
        if not values:
            return op == "ne" and expected is not None
        if op == "ne":
            return all(test(v) for v in values)
        return any(test(v) for v in values)

    return predicate


def _as_literal(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def simple_equality(text: str) -> tuple[str, str] | None:
    """(attribute, value) for a filter that is one `attr eq "value"`, for an indexed lookup."""
    try:
        tree = SCIMParser().parse(iter(_bounded_tokens(text, 200)))
    except Exception:
        return None
    expr = getattr(tree, "expr", None)
    if (isinstance(tree, fast.Filter) and not tree.negated and isinstance(expr, fast.AttrExpr)
            and expr.value.lower() == "eq" and expr.attr_path.sub_attr is None and not expr.attr_path.uri
            and isinstance(expr.comp_value.value, str)):
        return expr.attr_path.attr_name, expr.comp_value.value
    return None


def _parser_problem(exc: Exception) -> str:
    """The parser's error in words, naming the token where it stopped ("Parsing error at: None"
    means the filter ended early)."""
    message = str(exc)
    if "Parsing error at: None" in message:
        return "the filter ends too early (a comparison needs an attribute, an operator and a value; " \
               "'and'/'or' need a comparison on each side; every '(' needs its ')')."
    token = re.search(r"Token\(type='\w+', value=(?P<value>'.*?'|\".*?\"), lineno=\d+, index=(?P<index>\d+)", message)
    if token:
        return f"unexpected {token.group('value')} at character {int(token.group('index')) + 1}."
    return message

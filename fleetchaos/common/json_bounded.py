"""JSON from someone else, parsed with a bound on nesting: a journal line, a request body.

``json.loads`` recurses once per nesting level, so a value of 100,000 ``[`` raises
RecursionError — at a depth that depends on how deep the caller's stack already is, so a
990-level value parses in one place and crashes in another. :func:`loads` turns either
into :class:`TooDeep` (a ValueError) at one fixed depth, checked without recursion.
"""

from __future__ import annotations

import json
from typing import Any


class TooDeep(ValueError):
    """The JSON value nests more containers than allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a JSON value nested deeper than {limit} levels")
        self.limit = limit


def depth_exceeds(value: Any, limit: int) -> bool:
    """True when ``value`` nests deeper than ``limit`` containers (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads(text: str | bytes, max_depth: int) -> Any:
    """``json.loads`` that raises TooDeep past ``max_depth`` levels (and ValueError for
    anything that is not JSON), never RecursionError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(max_depth) from None
    if isinstance(value, dict | list) and depth_exceeds(value, max_depth):
        raise TooDeep(max_depth)
    return value

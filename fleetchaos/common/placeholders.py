"""``{name}`` placeholders in profile templates: found, checked at load time, filled.

A placeholder the fleet does not know would otherwise be sent literally or as an empty
string (``Bearer `` with no token, ``vehicle_id: ""``), so every one is checked when the
profile loads and an unknown name is refused with the closest known one. ``{{`` and
``}}`` stand for literal braces.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

NAME = re.compile(r"[a-z_][a-z0-9_]*")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|\{|\}")


class PlaceholderError(ValueError):
    """A template's placeholder is wrong; the message says what and suggests a fix."""


def _closest(name: str, known: set[str]) -> str:
    norm = name.strip().lower().replace("-", "_").replace(" ", "_")
    if norm in known and norm != name:
        return f"; did you mean {{{norm}}}?"
    near = difflib.get_close_matches(norm, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {{{near[0]}}}?" if near else ""


def names_in(text: str) -> Iterator[str]:
    """Every placeholder name in ``text`` (raises PlaceholderError on a broken one)."""
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if token in ("{{", "}}"):
            continue
        if token == "{":
            rest = text[m.end():]
            word = NAME.match(rest)
            hint = f"; did you mean {{{word.group(0)}}}?" if word else ""
            raise PlaceholderError(f"'{{' without a closing '}}' in {text!r}{hint} "
                                   "(write {{ for a literal brace)")
        if token == "}":
            raise PlaceholderError(f"'}}' without an opening '{{' in {text!r} "
                                   "(write }} for a literal brace)")
        yield m.group(1)


def check(text: str, known: set[str]) -> None:
    """Refuse a placeholder that is not among ``known``, naming the closest one."""
    for name in names_in(text):
        if name not in known:
            raise PlaceholderError(f"unknown placeholder {{{name}}}{_closest(name, known)} "
                                   f"(known here: {', '.join('{' + k + '}' for k in sorted(known))})")


def check_tree(value: Any, known: set[str]) -> Iterator[tuple[str, PlaceholderError]]:
    """(dotted sub-key, error) for every bad placeholder in the strings of a JSON tree."""
    if isinstance(value, str):
        try:
            check(value, known)
        except PlaceholderError as error:
            yield "", error
    elif isinstance(value, dict):
        for k, v in value.items():
            for sub, err in check_tree(v, known):
                yield (f"{k}.{sub}" if sub else str(k)), err
    elif isinstance(value, list):
        for i, v in enumerate(value):
            for sub, err in check_tree(v, known):
                yield (f"{i}.{sub}" if sub else str(i)), err


def _fill(text: str, variables: dict[str, Any]) -> str:
    def repl(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if m.group(1) is None:
            return token
        return str(variables.get(m.group(1), ""))

    return _TOKEN.sub(repl, text)


def render(value: Any, variables: dict[str, Any]) -> Any:
    """Fill placeholders; a string that is exactly one placeholder keeps its value's type."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and NAME.fullmatch(value[1:-1]):
            return variables.get(value[1:-1], "")
        return _fill(value, variables)
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    return value

"""Validation helpers shared by the scenario schema and every step plug-in.

Every refusal names ``file:line: key: expected ...``, so a reviewer fixes a scenario
without reading code. Numbers are finite everywhere: YAML's ``.nan`` and ``.inf`` are
numbers to Python, and a NaN ``at`` or ``duration`` silently stalls a run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from fleetchaos.common.yaml_safe import printable


class ScenarioError(ValueError):
    """A scenario file is wrong; the message is what the user sees (exit code 2)."""


class Checker:
    """Builds ``file:line: key`` errors and checks values; ``lines`` maps key paths to lines."""

    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source, self.lines = source, lines

    def fail(self, key: str, expected: str) -> ScenarioError:
        probe, line = key, self.lines.get(key)
        while line is None and "." in probe:  # a key added by --set: the nearest parent's line
            probe = probe.rsplit(".", 1)[0]
            line = self.lines.get(probe)
        where = f"{self.source}:{line}" if line else self.source
        return ScenarioError(f"{where}: {printable(key)}: expected {expected}")

    def mapping(self, value: Any, key: str, allowed: Iterable[str] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "a mapping")
        if allowed is not None:
            allowed = set(allowed)
            for k in value:
                if k not in allowed:
                    raise self.fail(f"{key}.{k}" if key else str(k),
                                    f"one of {', '.join(sorted(allowed))} (unknown key {k!r})")
        return value

    def number(self, value: Any, key: str, *, minimum: float = 0.0,
               maximum: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "a number")
        if not math.isfinite(value):
            raise self.fail(key, f"a finite number, got {value}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f" and <= {maximum:g}" if maximum is not None else ""
            raise self.fail(key, f"a number >= {minimum:g}{bound}, got {value:g}")
        return float(value)

    def whole(self, value: Any, key: str, *, minimum: int = 0, maximum: int = 1_000_000) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise self.fail(key, f"a whole number between {minimum} and {maximum}")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "a non-empty string")
        return value

    def choice(self, value: Any, key: str, options: Iterable[str], hint: str = "") -> str:
        options = tuple(options)
        if value not in options:
            raise self.fail(key, f"one of {', '.join(options)}{hint}")
        return str(value)

    def finite_everywhere(self, value: Any, key: str = "") -> None:
        """Refuse NaN and infinity anywhere in the document, naming the key that holds it."""
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(key or "(top level)", f"a finite number, got {value}")
        if isinstance(value, dict):
            for k, v in value.items():
                self.finite_everywhere(v, f"{key}.{k}" if key else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.finite_everywhere(v, f"{key}.{i}" if key else str(i))

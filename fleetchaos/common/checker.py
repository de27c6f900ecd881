"""Validation helpers shared by the scenario schema and every step plug-in.

Every refusal names ``file:line: key: expected ...``, so a reviewer fixes a scenario
without reading code. Numbers are finite everywhere: YAML's ``.nan`` and ``.inf`` are
numbers to Python, and a NaN ``at`` or ``duration`` silently stalls a run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from fleetchaos.common.run_options import OPTIONS, hint_for
from fleetchaos.common.suggest import did_you_mean
from fleetchaos.common.yaml_safe import printable


class ScenarioError(ValueError):
    """A scenario file is wrong; the message is what the user sees (exit code 2)."""


def shown(text: str, width: int = 80) -> str:
    """A value the user gave, as it can stand in a one-line refusal (escaped, clipped)."""
    text = printable(text)
    return text if len(text) <= width else text[: width - 3] + "..."


class Checker:
    """Builds ``file:line: key`` errors and checks values; ``lines`` maps key paths to lines.

    ``overrides`` maps the key paths that ``--set`` replaced to the items as given
    (``fleet.cars`` -> ``fleet.cars=lots``): a refusal of such a key names the override and
    its value, never the file line of the value it replaced."""

    def __init__(self, source: str, lines: dict[str, int],
                 overrides: Mapping[str, str] | None = None) -> None:
        self.source, self.lines = source, lines
        self.overrides = dict(overrides or {})

    def _override_for(self, key: str) -> tuple[str, str] | None:
        """The ``--set`` that put ``key`` there (the longest one whose key path holds it)."""
        best: tuple[str, str] | None = None
        for path, item in self.overrides.items():
            if (key == path or key.startswith(path + ".")) and (best is None
                                                                or len(path) > len(best[0])):
                best = (path, item)
        return best

    def fail(self, key: str, expected: str, *, said: bool = False) -> ScenarioError:
        """``file:line: key: expected ...`` (``said``: ``expected`` is the whole reason)."""
        reason = expected if said else f"expected {expected}"
        override = self._override_for(key)
        if override is not None:
            path, item = override
            inner = "" if key == path else f"{printable(key)}: "
            return ScenarioError(f"{self.source}: --set {shown(item)}: {inner}{reason}")
        probe, line = key, self.lines.get(key)
        while line is None and "." in probe:  # a key added by --set: the nearest parent's line
            probe = probe.rsplit(".", 1)[0]
            line = self.lines.get(probe)
        where = f"{self.source}:{line}" if line else self.source
        return ScenarioError(f"{where}: {printable(key)}: {reason}")

    def mapping(self, value: Any, key: str, allowed: Iterable[str] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "a mapping")
        if allowed is not None:
            allowed = set(allowed)
            for k in value:
                if k not in allowed:
                    where = f"{key}.{k}" if key else str(k)
                    hint = hint_for(str(k)) if not key else ""
                    if hint:  # `--set time_scale=0.5`: the option that does it
                        raise self.fail(where, hint, said=True)
                    near = allowed | ({o.name for o in OPTIONS if o.commands} if not key else set())
                    raise self.fail(where, f"one of {', '.join(sorted(allowed))} (unknown key "
                                           f"{shown(repr(k), 60)}{did_you_mean(str(k), near)})")
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
            near = did_you_mean(value, options) if isinstance(value, str) else ""
            raise self.fail(key, f"one of {', '.join(options)}{hint}{near}")
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

"""Prometheus text exposition format 0.0.4, written by hand (no client library needed).

The rules kept here are the format's own (pinned against prometheus_client's
``generate_latest`` and text parser): one ``# HELP`` and one ``# TYPE`` line per family,
before its samples, all samples of a family together; in HELP text ``\\`` and newline
are escaped as ``\\\\`` and ``\\n``; in label values ``\\``, ``"`` and newline as ``\\\\``,
``\\"`` and ``\\n``; values as Go's ParseFloat reads them (``NaN``, ``+Inf``, ``-Inf``);
every line ends with a newline. Names that the format would reject are refused here,
when the family is made, rather than sent to a scraper that drops the whole page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TYPES = ("counter", "gauge", "untyped")

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as Go's ParseFloat reads it (whole numbers without a point)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


@dataclass
class Family:
    """One metric family: its name, type, help text and samples (labels -> value)."""

    name: str
    type: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not _METRIC_NAME.match(self.name):
            raise ValueError(f"metric name {self.name!r} is not a Prometheus name")
        if self.type not in TYPES:
            raise ValueError(f"metric {self.name}: type {self.type!r} is not one of {TYPES}")

    def add(self, value: float, labels: Mapping[str, object] | None = None) -> Family:
        clean = {str(k): "" if v is None else str(v) for k, v in (labels or {}).items()}
        for key in clean:
            if not _LABEL_NAME.match(key) or key.startswith("__"):
                raise ValueError(f"metric {self.name}: label name {key!r} is not allowed")
        self.samples.append((clean, value))
        return self

    def render(self) -> str:
        lines = [f"# HELP {self.name} {escape_help(self.help)}", f"# TYPE {self.name} {self.type}"]
        for labels, value in self.samples:
            if labels:
                inner = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels.items())
                lines.append(f"{self.name}{{{inner}}} {format_value(value)}")
            else:
                lines.append(f"{self.name} {format_value(value)}")
        return "\n".join(lines) + "\n"


def render(families: Iterable[Family]) -> str:
    """The whole page; a family name given twice is a bug, refused here."""
    seen: set[str] = set()
    parts = []
    for family in families:
        if family.name in seen:
            raise ValueError(f"metric family {family.name} given twice")
        seen.add(family.name)
        parts.append(family.render())
    return "".join(parts)

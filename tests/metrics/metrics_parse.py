"""The exposition read back by prometheus_client's own text parser (the format's reference
reader in Python), as {sample name: {frozenset(labels): value}} plus the families."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def parse(text: str) -> tuple[dict[str, Any], dict[str, dict[frozenset[tuple[str, str]], float]]]:
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    for family in families.values():
        for s in family.samples:
            samples.setdefault(s.name, {})[frozenset(s.labels.items())] = s.value
    return families, samples


def value(samples: dict[str, Any], name: str, **labels: str) -> float | None:
    found: float | None = samples.get(name, {}).get(frozenset(labels.items()))
    return found


def number(samples: dict[str, Any], name: str, **labels: str) -> float:
    """``value`` of a sample that must be there."""
    found = value(samples, name, **labels)
    assert found is not None, f"no sample {name} {labels}"
    return found

"""The toxic contract: attributes with defaults and units, and a per-chunk ``handle``.

A toxic sees each chunk flowing in its direction and decides what reaches the next
stage (``emit``): it may delay, split, drop or stop the bytes. Toxics are applied in
order on one coroutine per direction, so bytes are never reordered, and the chain is
read afresh for every chunk, so adding or removing a toxic takes effect at once.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

Emit = Callable[[bytes], Awaitable[None]]

TOXICS: dict[str, type[Toxic]] = {}


class ToxicError(ValueError):
    """A toxic's attributes are wrong: answered as HTTP 400."""


def register(cls: type[Toxic]) -> type[Toxic]:
    TOXICS[cls.type_name] = cls
    return cls


class Toxic:
    """Base class. Subclasses set ``type_name`` and ``defaults`` (attribute → default value)."""

    type_name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, float]] = {}
    extension: ClassVar[bool] = False  # not in Toxiproxy 2.x: named in GET /extensions

    def __init__(self, name: str, stream: str, toxicity: float, attributes: dict[str, Any]):
        self.name = name
        self.stream = stream
        self.toxicity = toxicity
        self.attributes: dict[str, Any] = {}
        self.generation = 0  # bumped on update; links read attributes live
        self.update_attributes(attributes)

    def update_attributes(self, attributes: dict[str, Any]) -> None:
        merged = {**self.defaults, **self.attributes, **(attributes or {})}
        self.attributes = self.validate(merged)
        self.generation += 1

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Numbers only, finite and not negative, for every numeric attribute we know."""
        out = dict(attrs)
        for key in self.defaults:
            value = attrs.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ToxicError(f"attribute {key!r} of {self.type_name} must be a number")
            if not math.isfinite(value) or value < 0:
                raise ToxicError(f"attribute {key!r} of {self.type_name} must be >= 0")
            if value > 1e12:
                raise ToxicError(f"attribute {key!r} of {self.type_name} is absurdly large")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type_name,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": self.attributes,
        }

    # Hooks used by the link. The default passes data through unchanged.
    async def handle(self, data: bytes, emit: Emit, state: dict[str, Any], link: Any) -> None:
        await emit(data)

    def on_activate(self, link: Any, state: dict[str, Any]) -> None:
        """Called once when this toxic starts applying to a connection (for timers)."""

    def on_remove(self, link: Any, state: dict[str, Any]) -> None:
        """Called when the toxic is removed from a connection it was applying to."""

    async def before_close(self, state: dict[str, Any]) -> None:
        """Called when the source side closed, before the close is passed on."""

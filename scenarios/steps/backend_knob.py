"""``backend_knob: {name: value}``: change the reference backend's capacity at run time
(its admin API). Names and ranges are the backend's own (reference_backend.capacity),
checked at load time. Undone by restoring the values read just before.

Effect: how many knobs really changed value (setting a knob to what it is touches
nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleetchaos.common.checker import Checker
from fleetchaos.scenarios.steps.base import (
    Applied,
    Effect,
    ParseContext,
    StepEnv,
    StepSpec,
    register,
)


@register
@dataclass(frozen=True)
class BackendKnob(StepSpec):
    action = "backend_knob"
    journal_action = "backend_knob"
    undo_action = "backend_knob"

    knobs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, check: Checker, key: str, raw: Any, ctx: ParseContext) -> BackendKnob:
        from fleetchaos.reference_backend.capacity import check_knob

        spec = check.mapping(raw, key)
        if not spec:
            raise check.fail(key, "at least one knob, e.g. {db_pool_size: 2}")
        knobs = {}
        for name, value in spec.items():
            try:
                knobs[str(name)] = check_knob(str(name), value)
            except ValueError as exc:
                raise check.fail(f"{key}.{name}", f"a knob of the reference backend: {exc}") \
                    from None
        return cls(knobs=knobs)

    def to_json(self) -> dict[str, Any]:
        return dict(self.knobs)

    def label(self) -> str:
        return "backend " + ", ".join(f"{k}={v}" for k, v in self.knobs.items())

    def apply(self, env: StepEnv, key: str) -> Applied:
        current = env.backend.knobs()
        before = {k: current.get(k) for k in self.knobs}
        env.backend.set_knobs(self.knobs)
        changed = sum(1 for k, v in self.knobs.items() if before.get(k) != v)

        def undo() -> dict[str, Any]:
            env.backend.set_knobs(before)
            return {"knobs": dict(before)}

        def measure() -> Effect:
            return Effect(count=changed, what="backend knobs changed",
                          could_match=", ".join(f"{k} (was {before.get(k)})" for k in self.knobs))

        return Applied(detail={"knobs": dict(self.knobs), "before": before}, undo=undo,
                       measure=measure)

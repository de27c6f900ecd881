"""``verbosity: {level, cohort}``: a share of the cars multiplies its telemetry rate and
fields (the 2021 flood). Undone by restoring the fleet's knob values from before the run.

Effect: telemetry records the fleet sent while the change was on (none if the cohort
is empty), from the fleet counters. Delivery: the factor asked (the level over the
fleet's own) against the factor the cohort's cars really sent at, which the summary
reads from the fleet counters in the journal's samples (scenarios/delivery.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleetchaos.common.checker import Checker
from fleetchaos.scenarios.steps.base import (
    Applied,
    Delivery,
    Effect,
    ParseContext,
    StepEnv,
    StepSpec,
    register,
)


@register
@dataclass(frozen=True)
class Verbosity(StepSpec):
    action = "verbosity"
    journal_action = "verbosity"
    undo_action = "verbosity"

    level: float = 1.0  # multiplier of the telemetry rate and fields, 0.01..1000
    cohort: float = 1.0  # share of the cars that change, 0..1

    @classmethod
    def parse(cls, check: Checker, key: str, raw: Any, ctx: ParseContext) -> Verbosity:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = {"level": raw}
        spec = check.mapping(raw, key, {"level", "cohort"})
        level = check.number(spec.get("level"), f"{key}.level", minimum=0.01, maximum=1000)
        cohort = check.number(spec.get("cohort", 1.0), f"{key}.cohort", maximum=1)
        return cls(level=level, cohort=cohort)

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "cohort": self.cohort}

    def label(self) -> str:
        return f"verbosity x{self.level:g} on {self.cohort * 100:.0f} % of cars"

    def apply(self, env: StepEnv, key: str) -> Applied:
        change = {"verbosity": self.level, "cohort": self.cohort}
        before = {k: env.knob_baseline.get(k) for k in change}
        sent_before = env.fleet.telemetry_sent()
        env.fleet.set_knobs(change)

        def undo() -> dict[str, Any]:
            env.fleet.set_knobs(before)
            return dict(before)

        def measure() -> Effect:
            sent = env.fleet.telemetry_sent() - sent_before if self.cohort > 0 else 0
            base = before.get("verbosity")
            base_level = float(base) if isinstance(base, int | float) and base > 0 else 1.0
            return Effect(count=max(0, sent), what="telemetry records sent while on",
                          could_match=f"the cars of a {self.cohort * 100:.0f} % cohort",
                          delivery=Delivery(unit="x", asked=round(self.level / base_level, 4),
                                            measure="cohort_rate",
                                            actions=("telemetry",)))

        return Applied(detail=dict(change), undo=undo, measure=measure)

"""``users: {cars, drivers}``: resize the fleet; the load shape picks it up on its next tick.

Not a fault: it has nothing to undo and no effect to account for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleetchaos.common.checker import Checker
from fleetchaos.scenarios.steps.base import Applied, ParseContext, StepEnv, StepSpec, register


@register
@dataclass(frozen=True)
class Users(StepSpec):
    action = "users"
    journal_action = "users"
    undo_action = "users"
    fault = False

    cars: int | None = None
    drivers: int | None = None

    @classmethod
    def parse(cls, check: Checker, key: str, raw: Any, ctx: ParseContext) -> Users:
        spec = check.mapping(raw, key, {"cars", "drivers"})
        if not spec:
            raise check.fail(key, "cars and/or drivers")
        values = {k: check.whole(v, f"{key}.{k}") for k, v in spec.items()}
        return cls(cars=values.get("cars"), drivers=values.get("drivers"))

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in (("cars", self.cars), ("drivers", self.drivers)) if v is not None}

    def label(self) -> str:
        return "users: " + ", ".join(f"{v} {k}" for k, v in self.to_json().items())

    def apply(self, env: StepEnv, key: str) -> Applied:
        cars, drivers = env.fleet.size()
        cars = cars if self.cars is None else self.cars
        drivers = drivers if self.drivers is None else self.drivers
        env.fleet.set_size(cars, drivers)
        return Applied(detail={"cars": cars, "drivers": drivers})

"""``proxy_down: NAME``: an outage; the proxy stops listening and drops its connections.

Undone by enabling the proxy again. Effect: the fleet's requests through the proxy
while it was down (an outage opens no connection to count). Delivery: of the requests
the fleet (and the canary) made through the proxy while it was down, how many failed,
measured by the summary from the journal's samples.
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
from fleetchaos.scenarios.steps.toxic import check_proxy, proxy_effect, stats_names


@register
@dataclass(frozen=True)
class ProxyDown(StepSpec):
    action = "proxy_down"
    journal_action = "proxy_down"
    undo_action = "proxy_up"

    proxy: str = "api"

    @classmethod
    def parse(cls, check: Checker, key: str, raw: Any, ctx: ParseContext) -> ProxyDown:
        if isinstance(raw, dict) and set(raw) == {"proxy"}:
            raw = raw["proxy"]
        return cls(proxy=check_proxy(check, key, raw, ctx))

    def to_json(self) -> dict[str, Any]:
        return {"proxy": self.proxy}

    def label(self) -> str:
        return f"{self.proxy} proxy down"

    def apply(self, env: StepEnv, key: str) -> Applied:
        server = env.proxy_names[self.proxy]
        through = proxy_effect(env, self.proxy, connections=False)
        env.faults.set_enabled(server, False)
        names = stats_names(env, self.proxy)

        def measure() -> Effect:
            effect = through()
            return Effect(effect.count, effect.what, effect.could_match,
                          Delivery(unit="requests", asked=None, measure="failed_requests",
                                   actions=names))

        def undo() -> dict[str, Any]:
            env.faults.set_enabled(server, True)
            return {"proxy": server}

        return Applied(detail={"proxy": self.proxy}, undo=undo, measure=measure)

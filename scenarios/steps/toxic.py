"""``toxic: {proxy, type, stream, toxicity, attributes}``: one of Toxiproxy's own toxics.

Attribute names and units are Toxiproxy 2.x's (toxics/*.go); all are whole numbers
(Go int64), so ``latency: 2.5`` is refused here as Toxiproxy would refuse it. Undone by
deleting the toxic. Effect: connections through the proxy while the toxic was on
(those open when it went on plus those opened since, from the server's /metrics);
against a server without metrics, the fleet's requests through that proxy.

Delivery (issue 22): a ``latency`` toxic asks for its latency (times its toxicity) and
delivers the latency the fleet's requests through the proxy gained over the baseline,
measured by the summary from the journal's samples; ``timeout`` and ``reset_peer`` ask
for the connections they were drawn on and deliver the requests the fleet saw fail at
the connection level while they were on; the other toxics report what they asked only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fleetchaos.common.checker import Checker
from fleetchaos.scenarios.metrics import CANARY_PREFIX
from fleetchaos.scenarios.steps.base import (
    Applied,
    Delivery,
    Effect,
    ParseContext,
    StepEnv,
    StepSpec,
    register,
)

STREAMS = ("upstream", "downstream")
# type -> attribute -> unit (Toxiproxy's toxics/*.go)
TOXIC_ATTRIBUTES: dict[str, dict[str, str]] = {
    "latency": {"latency": "ms", "jitter": "ms"},
    "bandwidth": {"rate": "KB/s"},
    "slow_close": {"delay": "ms"},
    "timeout": {"timeout": "ms"},
    "reset_peer": {"timeout": "ms"},
    "slicer": {"average_size": "bytes", "size_variation": "bytes", "delay": "µs"},
    "limit_data": {"bytes": "bytes"},
    "noop": {},
}
TOXIC_TYPES = tuple(TOXIC_ATTRIBUTES)
MAX_ATTRIBUTE = 10**9
BREAKING = ("timeout", "reset_peer")  # toxics whose effect is a connection that fails


def stats_names(env: StepEnv, proxy: str, connects: bool = True) -> tuple[str, ...]:
    """The Locust stats names of the requests through ``proxy`` (the fleet's and the
    canary's; the phones' login is ``token``); ``connects`` False leaves out one-off
    connects (a car's WebSocket upgrade), whose time is no request's latency."""
    names = [a for a in env.targets.actions_through(proxy)
             if connects or not a.endswith("_connect")]
    if proxy == "api":
        names.append("token")
    return tuple(dict.fromkeys(names + [CANARY_PREFIX + n for n in names]))


def check_proxy(check: Checker, key: str, value: Any, ctx: ParseContext) -> str:
    if not isinstance(value, str) or value not in ctx.proxies:
        raise check.fail(key, f"one of the proxies ({', '.join(ctx.proxies)})")
    return str(value)


def proxy_effect(env: StepEnv, proxy: str, connections: bool = True) -> Callable[[], Effect]:
    """Start counting what goes through ``proxy``; call the result to read the count.

    ``connections`` False counts the fleet's requests (an outage opens no connection).
    """
    server = env.proxy_names[proxy]
    start = env.faults.proxy_counters(server) if connections else None
    actions = list(stats_names(env, proxy))  # the canary's requests count too
    requests_before = env.fleet.requests(actions)

    def measure() -> Effect:
        now = env.faults.proxy_counters(server) if start is not None else None
        if start is not None and now is not None:
            count = start.live + max(0, now.connections_total - start.connections_total)
            return Effect(count=count, what=f"connections through {proxy}",
                          could_match=f"any connection to the {proxy} proxy")
        return Effect(count=max(0, env.fleet.requests(actions) - requests_before),
                      what=f"requests through {proxy}",
                      could_match=f"{', '.join(actions) or 'nothing'} through the {proxy} proxy")

    return measure


@register
@dataclass(frozen=True)
class ToxicStep(StepSpec):
    action = "toxic"
    journal_action = "toxic_add"
    undo_action = "toxic_remove"

    proxy: str = "api"
    type: str = "latency"
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, check: Checker, key: str, raw: Any, ctx: ParseContext) -> ToxicStep:
        if isinstance(raw, dict) and ("actions" in raw or "transport" in raw):
            which = "actions" if "actions" in raw else "transport"
            raise check.fail(f"{key}.{which}", "proxy: api (the phones' requests) or proxy: "
                             "telemetry (the cars'): a toxic acts on every connection of a "
                             "proxy; only http_error aims at profile actions")
        spec = check.mapping(raw, key, {"proxy", "type", "stream", "toxicity", "attributes"})
        proxy = check_proxy(check, f"{key}.proxy", spec.get("proxy"), ctx)
        hint = " (http_error is its own step: http_error: {...})" \
            if spec.get("type") == "http_error" else ""
        toxic_type = check.choice(spec.get("type"), f"{key}.type", TOXIC_TYPES, hint)
        stream = check.choice(spec.get("stream", "downstream"), f"{key}.stream", STREAMS)
        toxicity = check.number(spec.get("toxicity", 1.0), f"{key}.toxicity", maximum=1)
        known = TOXIC_ATTRIBUTES[toxic_type]
        raw_attrs = check.mapping(spec.get("attributes") or {}, f"{key}.attributes", known)
        attrs: dict[str, int] = {}
        for name, value in raw_attrs.items():
            akey = f"{key}.attributes.{name}"
            number = check.number(value, akey, maximum=MAX_ATTRIBUTE)
            if number != int(number):
                raise check.fail(akey, f"a whole number of {known[name]} (Toxiproxy's "
                                       f"attributes are integers), got {number:g}")
            attrs[name] = int(number)
        return cls(proxy=proxy, type=toxic_type, stream=stream, toxicity=toxicity,
                   attributes=attrs)

    def to_json(self) -> dict[str, Any]:
        return {"proxy": self.proxy, "type": self.type, "stream": self.stream,
                "toxicity": self.toxicity, "attributes": dict(self.attributes)}

    def label(self) -> str:
        units = TOXIC_ATTRIBUTES[self.type]
        attrs = ", ".join(f"{'' if k == self.type else k + ' '}{v} {units.get(k, '')}".strip()
                          for k, v in self.attributes.items())
        share = f" on {self.toxicity * 100:.0f} % of connections" if self.toxicity < 1 else ""
        return f"{self.type}{' ' + attrs if attrs else ''} on {self.proxy} ({self.stream}){share}"

    def apply(self, env: StepEnv, key: str) -> Applied:
        name = f"{env.marker}{key}-{self.type}"
        server = env.proxy_names[self.proxy]
        through = proxy_effect(env, self.proxy)
        env.faults.add_toxic(server, name, self.type, self.stream, self.toxicity,
                             dict(self.attributes))
        names = stats_names(env, self.proxy)

        def measure() -> Effect:
            effect = through()
            if self.type == "latency":
                delivery = Delivery(unit="ms", measure="latency",
                                    actions=stats_names(env, self.proxy, connects=False),
                                    asked=self.attributes.get("latency", 0) * self.toxicity)
            else:
                asked = None if effect.count is None else round(effect.count * self.toxicity, 2)
                unit = "connections" if (effect.what or "").startswith("connections") else "requests"
                delivery = Delivery(unit=unit, asked=asked, actions=names,
                                    measure="failed_connections" if self.type in BREAKING
                                    else None)
            return Effect(effect.count, effect.what, effect.could_match, delivery)

        def undo() -> dict[str, Any]:
            env.faults.remove_toxic(server, name)
            return {"name": name}

        return Applied(detail={**self.to_json(), "name": name}, undo=undo, measure=measure,
                       names=(name,))

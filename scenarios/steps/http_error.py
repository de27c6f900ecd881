"""``http_error: {actions | method+path, share, status, ...}``: the built-in server's
extension answers a share of matching HTTP requests itself, drawn per request.

Aimed through the backend profile: ``actions: [unlock, remote_start]`` (profile
actions, or the transport ``telemetry``) become one toxic per route: each action's
method and path pattern (``{placeholders}`` -> ``*``), so the same scenario hits
``POST /commands`` on one backend and ``POST /api/1/vehicles/*/command/...`` on
another. Actions that resolve to the same method and path (a CMS where unlock and
remote_start are both ``POST /items/commands``) share one toxic, so the share is
drawn once per request: two toxics would answer 1 - (1 - share)^2 of them. The journal
names the actions sharing each injection, and the profile's other actions the same
route catches too. A raw ``proxy`` + ``method`` + ``path`` glob stays possible. Undone
by deleting the toxics. Effect: requests the toxics answered (their ``injected``
counter); delivery: that count over the requests they matched (``matched``), against
the share asked.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from fleetchaos.common.checker import Checker
from fleetchaos.scenarios.steps.base import (
    Applied,
    Delivery,
    Effect,
    ParseContext,
    Route,
    StepEnv,
    StepSpec,
    register,
)
from fleetchaos.scenarios.steps.targeting import TARGETABLE
from fleetchaos.scenarios.steps.toxic import check_proxy

METHODS = ("", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
COUNTER = "injected"
MATCHED = "matched"  # requests the toxic saw that matched its method and path (built-in server)


@dataclass(frozen=True)
class Injection:
    """One toxic: a route (proxy, method, path glob) and the actions aimed at it."""

    proxy: str
    method: str
    path: str
    actions: tuple[str, ...]  # aimed actions sharing this route ("path" for a raw aim)
    also: tuple[str, ...] = ()  # the profile's other actions on the same route (hit too)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"proxy": self.proxy, "method": self.method, "path": self.path,
                               "actions": list(self.actions)}
        if self.also:
            out["also"] = list(self.also)
        return out


def group_routes(routes: list[Route], others: list[Route] | None = None) -> list[Injection]:
    """Routes with the same proxy, method and path become one injection (first-seen
    order); ``others`` (every route the profile defines) name what else each one hits."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for r in routes:
        groups.setdefault((r.proxy, r.method, r.path), []).append(r.action)
    out = []
    for (proxy, method, path), actions in groups.items():
        also = tuple(dict.fromkeys(o.action for o in others or []
                                   if (o.proxy, o.method, o.path) == (proxy, method, path)
                                   and o.action not in actions))
        out.append(Injection(proxy, method, path, tuple(dict.fromkeys(actions)), also))
    return out


@register
@dataclass(frozen=True)
class HttpErrorStep(StepSpec):
    action = "http_error"
    journal_action = "http_error_add"
    undo_action = "toxic_remove"
    extension = "http_error"

    share: float = 1.0  # share of matching requests answered, drawn per request
    status: int = 500
    actions: tuple[str, ...] = ()  # profile actions / transports aimed at
    proxy: str | None = None  # raw aim: proxy + method + path glob
    method: str = ""
    path: str = ""
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    toxicity: float = 1.0

    @classmethod
    def parse(cls, check: Checker, key: str, raw: Any, ctx: ParseContext) -> HttpErrorStep:
        spec = check.mapping(raw, key, {"actions", "proxy", "share", "status", "method", "path",
                                        "body", "headers", "toxicity"})
        actions: tuple[str, ...] = ()
        if "actions" in spec:
            value = spec["actions"]
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not value:
                raise check.fail(f"{key}.actions", f"a list of actions among {', '.join(TARGETABLE)}")
            for i, name in enumerate(value):
                check.choice(name, f"{key}.actions.{i}", TARGETABLE)
            actions = tuple(dict.fromkeys(value))
            for raw_key in ("method", "path"):
                if raw_key in spec:
                    raise check.fail(f"{key}.{raw_key}", "no method/path when actions aim the "
                                                         "fault (the profile gives them)")
        elif "proxy" not in spec:
            raise check.fail(key, "actions: [unlock, ...] (aimed through the profile) or "
                                  "proxy + path (a raw glob)")
        proxy = check_proxy(check, f"{key}.proxy", spec["proxy"], ctx) if "proxy" in spec \
            else None
        share = check.number(spec.get("share", 1.0), f"{key}.share", maximum=1)
        status = spec.get("status", 500)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise check.fail(f"{key}.status", "an HTTP status code (100-599)")
        method = str(spec.get("method") or "").upper()
        check.choice(method, f"{key}.method", METHODS)
        path = spec.get("path", "")
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise check.fail(f"{key}.path", "a path glob starting with / (e.g. /api/*/unlock)")
        body = spec.get("body")
        if body is not None and not isinstance(body, str):
            raise check.fail(f"{key}.body", "a string")
        headers = check.mapping(spec.get("headers") or {}, f"{key}.headers")
        for name, value in headers.items():
            if not isinstance(value, str) or "\n" in str(name) + value:
                raise check.fail(f"{key}.headers.{name}", "a one-line string")
        toxicity = check.number(spec.get("toxicity", 1.0), f"{key}.toxicity", maximum=1)
        return cls(share=share, status=status, actions=actions, proxy=proxy, method=method,
                   path=path, body=body, headers={str(k): v for k, v in headers.items()},
                   toxicity=toxicity)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"share": self.share, "status": self.status}
        if self.actions:
            out["actions"] = list(self.actions)
        if self.proxy is not None:
            out["proxy"] = self.proxy
        if not self.actions:
            out.update(method=self.method, path=self.path)
        if self.body is not None:
            out["body"] = self.body
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.toxicity != 1.0:
            out["toxicity"] = self.toxicity
        return out

    def aim(self) -> str:
        if self.actions:
            return ", ".join(self.actions)
        return f"{self.method or 'any'} {self.path or '*'} on {self.proxy}"

    def label(self) -> str:
        return f"http_error {self.status} on {self.share * 100:.0f} % of {self.aim()}"

    def routes(self, env: StepEnv) -> list[Route]:
        if self.actions:
            routes = env.targets.routes(self.actions)
            if self.proxy is not None:
                routes = [Route(r.action, self.proxy, r.method, r.path) for r in routes]
            return routes
        return [Route("path", self.proxy or "api", self.method, self.path)]

    def injections(self, env: StepEnv) -> list[Injection]:
        routes = self.routes(env)
        others: list[Route] = []
        if self.actions:
            for proxy in dict.fromkeys(r.proxy for r in routes):
                defined = [a for a in env.targets.actions_through(proxy) if a in TARGETABLE]
                with contextlib.suppress(ValueError):  # unresolvable: no "also" names
                    others += [Route(o.action, proxy, o.method, o.path)
                               for o in env.targets.routes(defined)]
        return group_routes(routes, others)

    def apply(self, env: StepEnv, key: str) -> Applied:
        added: list[tuple[str, str]] = []
        injections = self.injections(env)
        try:
            for inj in injections:
                server = env.proxy_names[inj.proxy]
                suffix = "" if inj.actions == ("path",) else "-" + "+".join(inj.actions)
                name = f"{env.marker}{key}-http_error{suffix}"
                attrs: dict[str, Any] = {"share": self.share, "status": self.status,
                                         "method": inj.method, "path": inj.path}
                if self.body is not None:
                    attrs["body"] = self.body
                if self.headers:
                    attrs["headers"] = dict(self.headers)
                env.faults.add_toxic(server, name, "http_error", "upstream", self.toxicity,
                                     attrs)
                added.append((server, name))
        except Exception:
            for server, name in added:  # all or nothing: the engine only undoes what applied
                env.faults.remove_toxic(server, name)
            raise
        could = "; ".join(f"{i.method or 'any'} {i.path or '*'} ({', '.join(i.actions)})"
                          for i in injections)

        def measure() -> Effect:
            counts = [env.faults.toxic_counter(s, n, COUNTER) for s, n in added]
            total = None if any(c is None for c in counts) else sum(c or 0 for c in counts)
            matched = [env.faults.toxic_counter(s, n, MATCHED) for s, n in added]
            seen = None if any(m is None for m in matched) else sum(m or 0 for m in matched)
            delivered = (round(total / seen, 4) if total is not None and seen else None)
            return Effect(count=total, what=f"requests answered {self.status} by the fault",
                          could_match=could,
                          delivery=Delivery(unit="share", asked=self.share,
                                            delivered=delivered,
                                            injections=tuple(i.to_json() for i in injections)))

        def undo() -> dict[str, Any]:
            for server, name in added:
                env.faults.remove_toxic(server, name)
            return {"name": added[0][1], "names": [n for _, n in added]}

        detail = {**self.to_json(), "proxy": injections[0].proxy, "name": added[0][1],
                  "names": [n for _, n in added], "type": "http_error", "stream": "upstream",
                  "routes": [{**i.to_json(), "action": i.actions[0]} for i in injections]}
        return Applied(detail=detail, undo=undo, measure=measure,
                       names=tuple(n for _, n in added))

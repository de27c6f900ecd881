"""Faults on several Toxiproxy servers at once: the scenario's proxies, served by each.

Past one core's worth of forwarding, a run spreads its proxies over several Toxiproxy
servers (``TOXIPROXY_URL=http://a:8474,http://b:8474``), each serving a share of the
workers (docs/scaling.md). The steps see one ``Faults`` (scenarios/steps/base.py); this
is it, over every server:

- every call goes to all servers at once (a greenlet each in Locust's process, a thread
  each elsewhere), so a fault is on everywhere within the step-timing goal (100 ms)
  rather than one server after another;
- all or nothing: when a server refuses or does not answer, what the call did on the
  others is undone before the error is raised, so the engine, which only rolls back what
  applied, leaves nothing behind;
- rollback (removing a toxic, enabling a proxy) is tried on every server, and the first
  failure raised only afterwards, so a dead server does not keep a fault on the rest;
- counters (an http_error toxic's ``injected``, a proxy's connections) are summed; one
  server that cannot tell makes the sum unknown (None), never a smaller number.

A list of one server behaves exactly as that server's ``FaultControl``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import gevent
from gevent import monkey

from fleetchaos.scenarios.fault_control import FaultControl, FaultError
from fleetchaos.scenarios.steps.base import ProxyCounters

T = TypeVar("T")


def parse_urls(text: str) -> list[str]:
    """``TOXIPROXY_URL``'s servers: one URL, or several separated by commas. A server
    named twice serves twice the share of workers (docs/scaling.md), faults once."""
    return [part.strip() for part in text.split(",") if part.strip()]


class FaultServers:
    """``Faults`` over one or more Toxiproxy servers (see the module docstring)."""

    def __init__(self, urls: Sequence[str]) -> None:
        if not urls:
            raise ValueError("no Toxiproxy server")
        self.shares = list(urls)  # with repeats: worker i uses shares[i % len(shares)]
        self.controls = [FaultControl(url) for url in dict.fromkeys(urls)]
        self.url = ",".join(c.url for c in self.controls)

    def _each(self, call: Callable[[FaultControl], T]) -> list[tuple[FaultControl, T | None,
                                                                     BaseException | None]]:
        """``call`` on every server at once: (server, result, exception) in server order.
        Greenlets in a gevent-patched process (Locust's, where the engine runs), threads
        elsewhere (the orchestrator's final sweep)."""
        if len(self.controls) == 1:
            control = self.controls[0]
            try:
                return [(control, call(control), None)]
            except Exception as exc:
                return [(control, None, exc)]
        if monkey.is_module_patched("socket"):
            jobs = [gevent.spawn(call, c) for c in self.controls]
            gevent.joinall(jobs)
            return [(c, j.value if j.successful() else None, j.exception)
                    for c, j in zip(self.controls, jobs, strict=True)]
        with ThreadPoolExecutor(max_workers=len(self.controls)) as pool:
            futures = [pool.submit(call, c) for c in self.controls]
            return [(c, None if f.exception() else f.result(), f.exception())
                    for c, f in zip(self.controls, futures, strict=True)]

    def _all_or_nothing(self, call: Callable[[FaultControl], Any],
                        undo: Callable[[FaultControl], Any]) -> None:
        results = self._each(call)
        failed = [(c, e) for c, _, e in results if e is not None]
        if not failed:
            return
        done = {c.url for c, _, e in results if e is None}
        if done:
            self._each(lambda c: undo(c) if c.url in done else None)
        control, exc = failed[0]
        raise _named(control, exc, len(self.controls))

    def _everywhere(self, call: Callable[[FaultControl], Any]) -> None:
        for control, _, exc in self._each(call):
            if exc is not None:
                raise _named(control, exc, len(self.controls))

    # --- Faults (what the steps use) -----------------------------------------------------
    def add_toxic(self, proxy: str, name: str, toxic_type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, Any] | None = None) -> None:
        self._all_or_nothing(
            lambda c: c.add_toxic(proxy, name, toxic_type, stream, toxicity, attributes),
            lambda c: c.remove_toxic(proxy, name))

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._everywhere(lambda c: c.remove_toxic(proxy, name))

    def set_enabled(self, name: str, enabled: bool) -> None:
        if enabled:  # an undo: on every server that answers
            self._everywhere(lambda c: c.set_enabled(name, True))
        else:
            self._all_or_nothing(lambda c: c.set_enabled(name, False),
                                 lambda c: c.set_enabled(name, True))

    def update_toxic(self, proxy: str, name: str, attributes: dict[str, Any]) -> None:
        self._everywhere(lambda c: c.update_toxic(proxy, name, attributes))

    def _values(self, call: Callable[[FaultControl], T]) -> list[T | None]:
        results = self._each(call)
        for control, _, exc in results:
            if exc is not None:
                raise _named(control, exc, len(self.controls))
        return [v for _, v, _ in results]

    def toxic_counter(self, proxy: str, name: str, counter: str) -> int | None:
        counts = self._values(lambda c: c.toxic_counter(proxy, name, counter))
        return None if any(v is None for v in counts) else sum(v or 0 for v in counts)

    def proxy_counters(self, proxy: str) -> ProxyCounters | None:
        found = self._values(lambda c: c.proxy_counters(proxy))
        if any(v is None for v in found):
            return None
        return ProxyCounters(connections_total=sum(v.connections_total for v in found if v),
                             live=sum(v.live for v in found if v))

    # --- set-up and clean-up (the run set-up and the end of the run) -----------------------
    def unreachable(self) -> list[str]:
        return [c.url for c, ok, _ in self._each(lambda c: c.reachable()) if not ok]

    def reachable(self) -> bool:
        return not self.unreachable()

    def extensions(self) -> set[str]:
        """What every server offers (a fault needing an extension runs on all of them)."""
        sets = [v or set() for _, v, _ in self._each(lambda c: c.extensions())]
        return set.intersection(*sets) if sets else set()

    def create_proxy(self, name: str, upstream: str) -> list[str]:
        """The proxy on every server; where to reach it on each, in server order."""
        listens: list[str] = []
        for _, listen, exc in self._each(lambda c: c.create_proxy(name, upstream)):
            if exc is not None:
                raise exc
            listens.append(str(listen))
        return listens

    def remove_leftovers(self, run_id: str | None = None,
                         keep_run: str | None = None) -> list[str]:
        """Each server's leftovers (``FaultControl.remove_leftovers``); every server is
        tried, the first failure raised afterwards. Names are prefixed with the server
        when there are several."""
        removed: list[str] = []
        results = self._each(lambda c: c.remove_leftovers(run_id=run_id, keep_run=keep_run))
        for control, names, _ in results:
            removed += self._tagged(control, names or [])
        for control, _, exc in results:
            if exc is not None:
                raise _named(control, exc, len(self.controls))
        return removed

    def marked(self, run_id: str | None = None) -> list[str]:
        """Marked names still on any server; a server that does not answer is named too."""
        out: list[str] = []
        for control, names, exc in self._each(lambda c: c.marked(run_id)):
            if exc is not None:
                out.append(f"unknown on {control.url} (it did not answer: {_one_line(exc)})")
            else:
                out += self._tagged(control, names or [])
        return out

    def _tagged(self, control: FaultControl, names: list[str]) -> list[str]:
        if len(self.controls) == 1:
            return list(names)
        return [f"{control.url} {name}" for name in names]


def _named(control: FaultControl, exc: BaseException, servers: int) -> BaseException:
    """The error as raised, saying which server when there are several."""
    if servers == 1 or control.url in str(exc):
        return exc
    return FaultError(f"Toxiproxy {control.url}: {_one_line(exc)}")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__

"""Fakes of the engine's collaborators: a Toxiproxy, a fleet and a backend admin in memory,
and a RunSetup that hands them to the engine, so the engine's clock, journal and
rollback run in milliseconds without Locust, Toxiproxy or a backend."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from fleetchaos.scenarios.journal import JournalWriter
from fleetchaos.scenarios.prepared import Prepared, SetupError
from fleetchaos.scenarios.schema import Scenario
from fleetchaos.scenarios.steps.base import ProxyCounters, Route, StepEnv


@dataclass
class FakeFaults:
    """Toxics and proxies by name; ``fail_on`` makes adding that toxic type raise."""

    toxics: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    injected: dict[str, int] = field(default_factory=dict)  # toxic name -> counter
    connections: int = 0
    live: int = 0
    fail_on: str | None = None
    calls: list[tuple[float, str, str]] = field(default_factory=list)  # (monotonic, op, name)

    def add_toxic(self, proxy: str, name: str, toxic_type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, Any] | None = None) -> None:
        if toxic_type == self.fail_on:
            raise RuntimeError(f"Toxiproxy refused {toxic_type}: 400 bad attributes")
        self.toxics[(proxy, name)] = {"type": toxic_type, "stream": stream,
                                      "toxicity": toxicity, "attributes": attributes or {}}
        self.calls.append((time.monotonic(), "add", name))

    def remove_toxic(self, proxy: str, name: str) -> None:
        self.toxics.pop((proxy, name), None)
        self.calls.append((time.monotonic(), "remove", name))

    def set_enabled(self, name: str, enabled: bool) -> None:
        (self.disabled.discard if enabled else self.disabled.add)(name)

    def toxic_counter(self, proxy: str, name: str, counter: str) -> int | None:
        return self.injected.get(name, 0) if (proxy, name) in self.toxics else None

    def proxy_counters(self, proxy: str) -> ProxyCounters | None:
        return ProxyCounters(connections_total=self.connections, live=self.live)

    def names(self) -> list[str]:
        return sorted(n for _p, n in self.toxics)


@dataclass
class FakeFleet:
    knobs: dict[str, Any] = field(default_factory=lambda: {"verbosity": 1.0, "cohort": 1.0})
    cars: int = 10
    drivers: int = 5
    sent: int = 0
    sending: int = 0
    request_count: int = 0

    def set_knobs(self, changes: Mapping[str, Any]) -> None:
        self.knobs.update(changes)

    def set_size(self, cars: int, drivers: int) -> None:
        self.cars, self.drivers = cars, drivers

    def size(self) -> tuple[int, int]:
        return self.cars, self.drivers

    def telemetry_sent(self) -> int:
        self.sent += self.sending  # a fleet that sends ``sending`` records between two reads
        return self.sent

    def requests(self, actions: Sequence[str]) -> int:
        return self.request_count


@dataclass
class FakeBackend:
    values: dict[str, Any] = field(default_factory=lambda: {"db_pool_size": 4})

    def knobs(self) -> dict[str, Any]:
        return dict(self.values)

    def set_knobs(self, changes: Mapping[str, Any]) -> None:
        self.values.update(changes)


class FakeTargets:
    def routes(self, actions: Sequence[str]) -> list[Route]:
        return [Route(a, "api", "POST", f"/{a}/*") for a in actions]

    def actions_through(self, proxy: str) -> list[str]:
        return ["unlock"] if proxy == "api" else ["telemetry"]


class FakeSetup:
    """A RunSetup over the fakes; ``error`` makes set-up fail like an unreachable Toxiproxy."""

    def __init__(self, scenario: Scenario, error: str | None = None) -> None:
        self.scenario = scenario
        self.error = error
        self.faults = FakeFaults()
        self.fleet = FakeFleet()
        self.backend = FakeBackend()
        self.stopped = False

    def start(self, journal: JournalWriter) -> Prepared:
        if self.error:
            raise SetupError(self.error)
        journal.t0 = time.monotonic()
        s = self.scenario
        journal.write("header", t=0.0, run_id="fake", scenario=s.name, title=s.title,
                      duration_s=s.duration_s, phases=[vars(p) for p in s.phases],
                      slos=[vars(x) for x in s.slos], timeline=[x.to_json() for x in s.timeline])
        env = StepEnv(faults=self.faults, fleet=self.fleet, backend=self.backend,
                      targets=FakeTargets(), proxy_names={p: f"fc-fake-{p}" for p in s.proxies},
                      marker="fc-fake-", knob_baseline={"verbosity": 1.0, "cohort": 1.0})

        def cleanup() -> tuple[list[str], list[str]]:
            removed = [f"{p}/{n}" for p, n in self.faults.toxics]
            self.faults.toxics.clear()
            return removed, []

        def stop() -> None:
            self.stopped = True

        return Prepared(env=env, listen={p: "127.0.0.1:1" for p in s.proxies},
                        sample=lambda: {"requests": 0, "failures": 0, "by_action": {}},
                        latest_fleet=dict, user_count=lambda: 0, user_classes=list,
                        spawn_rate=10.0, cleanup=cleanup, stop=stop)


def fake_environment() -> Any:
    return SimpleNamespace(process_exit_code=None, runner=None, events=None, host="http://x")

"""The step contract: what a timeline action is, and what it may use while it runs.

A step kind (one module per YAML key, registered by name like the Toxiproxy server's
toxics) owns its schema (``parse``), how it applies and what undoes it (``apply``
returns an ``Applied``), its label in reports and its journal form (``to_json``).
The engine keeps the clock, the journal and rollback; steps reach the world only
through the collaborators in ``StepEnv``, so both can be tested with fakes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from fleetchaos.common.checker import Checker
from fleetchaos.scenarios.records import Delivery as Delivery  # re-exported: asked vs delivered
from fleetchaos.scenarios.records import Effect as Effect  # re-exported: steps measure it

STEPS: dict[str, type[StepSpec]] = {}


def register(cls: type[StepSpec]) -> type[StepSpec]:
    """Make a step kind known by its YAML key (``cls.action``)."""
    STEPS[cls.action] = cls
    return cls


@dataclass(frozen=True)
class ParseContext:
    """What a step's validation may look at besides its own mapping."""

    proxies: Mapping[str, str]  # scenario proxy name -> "backend" or host:port
    duration_s: float


@dataclass(frozen=True)
class Route:
    """An HTTP request shape a fault can aim at, from the backend profile."""

    action: str  # a profile action (unlock, ...) or the transport "telemetry"
    proxy: str  # the scenario proxy the request goes through
    method: str  # "" matches any method
    path: str  # a glob over the request path ("" matches any)


@dataclass(frozen=True)
class ProxyCounters:
    """Connection counters of one proxy on the Toxiproxy server (built-in /metrics)."""

    connections_total: int
    live: int


class Faults(Protocol):
    """Toxiproxy, as the steps use it (scenarios.fault_control.FaultControl)."""

    def add_toxic(self, proxy: str, name: str, toxic_type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, Any] | None = None) -> None: ...

    def remove_toxic(self, proxy: str, name: str) -> None: ...

    def set_enabled(self, name: str, enabled: bool) -> None: ...

    def toxic_counter(self, proxy: str, name: str, counter: str) -> int | None: ...

    def proxy_counters(self, proxy: str) -> ProxyCounters | None: ...


class Fleet(Protocol):
    """The simulated fleet: knobs on every fleet process, its size, its counters."""

    def set_knobs(self, changes: Mapping[str, Any]) -> None: ...

    def set_size(self, cars: int, drivers: int) -> None: ...

    def size(self) -> tuple[int, int]: ...

    def telemetry_sent(self) -> int: ...

    def requests(self, actions: Sequence[str]) -> int: ...


class BackendAdmin(Protocol):
    """The backend's admin API (the reference backend's /admin/knobs)."""

    def knobs(self) -> dict[str, Any]: ...

    def set_knobs(self, changes: Mapping[str, Any]) -> None: ...


class Targets(Protocol):
    """Profile actions and transports turned into request shapes."""

    def routes(self, actions: Sequence[str]) -> list[Route]: ...

    def actions_through(self, proxy: str) -> list[str]: ...


@dataclass
class StepEnv:
    """Everything a step may use; the engine builds it once the run is set up."""

    faults: Faults
    fleet: Fleet
    backend: BackendAdmin
    targets: Targets
    proxy_names: Mapping[str, str]  # scenario proxy name -> name on the Toxiproxy server
    marker: str  # fc-<run_id>-: every fault name starts with it
    knob_baseline: Mapping[str, Any]  # fleet knob values before any step


@dataclass
class Applied:
    """What applying a step did: its journal detail, how to undo it, how to measure it."""

    detail: dict[str, Any]
    undo: Callable[[], dict[str, Any]] | None = None  # None: nothing to roll back
    measure: Callable[[], Effect] | None = None  # read before the undo
    names: tuple[str, ...] = field(default=())  # Toxiproxy names it created


class StepSpec(ABC):
    """One timeline action, parsed. Subclasses are frozen dataclasses."""

    action: ClassVar[str]  # the YAML key and registry name
    journal_action: ClassVar[str]  # ``action`` of the step record when it applies
    undo_action: ClassVar[str]  # ``action`` of the step record when it is rolled back
    fault: ClassVar[bool] = True  # counts for effect accounting, no-effect and recovery
    extension: ClassVar[str | None] = None  # a Toxiproxy extension it needs

    @classmethod
    @abstractmethod
    def parse(cls, check: Checker, key: str, raw: Any, ctx: ParseContext) -> StepSpec:
        """Validate the action's value; errors via ``check.fail(key...)``."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The journal's ``spec`` of this step (the shape reports read)."""

    @abstractmethod
    def label(self) -> str:
        """How reports name this step: ``latency 800 ms on api``."""

    @abstractmethod
    def apply(self, env: StepEnv, key: str) -> Applied:
        """Do it now; raise on failure (the engine rolls back and stops the run)."""

"""The fleet's runtime state, one object per Locust Environment.

Everything a run changes while it runs lives here: the fleet config the knobs change
(and who listens for changes), the fleet counters, the latest counters each worker
reported (on a master), the identity pools users take their indices from, and the
profiles loaded so far. Module globals would be shared by every Environment in the
process, so two Environments (a test, the pytest plugin) would mix counters and knobs,
and a second run would start with the first run's counters.

The runtime is attached to its Environment the first time ``runtime_of`` asks for it and
found through it afterwards: users reach it as ``runtime_of(self.environment)``; the car
links and the phone app are handed its counters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from fleetchaos.fleet_sim.config import FleetConfig
from fleetchaos.fleet_sim.identities import IndexPool
from fleetchaos.fleet_sim.profiles import Profile, load_profile
from fleetchaos.fleet_sim.stats import FleetCounters
from fleetchaos.fleet_sim.telemetry import RecordMaker

if TYPE_CHECKING:
    from locust.env import Environment

ATTR = "fleetchaos_runtime"
POOLS = ("car", "driver", "canary")

Listener = Callable[[FleetConfig], None]


class Pool(Protocol):
    """Where a user takes its identity index and gives it back: this process's own
    ``IndexPool``, or on a worker a pool leased from the master (fleet_sim/identity_lease.py)."""

    def take(self) -> int: ...

    def give_back(self, index: int) -> None: ...


def _pools() -> dict[str, Pool]:
    return {kind: IndexPool() for kind in POOLS}


@dataclass
class FleetRuntime:
    """The fleet's state in one Locust Environment (one process's share of the fleet)."""

    config: FleetConfig = field(default_factory=FleetConfig)
    listeners: list[Listener] = field(default_factory=list)
    counters: FleetCounters = field(default_factory=FleetCounters)
    worker_reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    # workers whose last report (sent once their users stopped) reached the master this run
    final_reports: set[str] = field(default_factory=set)
    pools: dict[str, Pool] = field(default_factory=_pools)
    lease_desk: Any = None  # on a master: who holds which identity (fleet_sim/identity_lease.py)
    profiles: dict[str, Profile] = field(default_factory=dict)
    # what sleeps until its next record and must wake when a knob changes (the cars)
    sleepers: set[Any] = field(default_factory=set)
    records: RecordMaker = field(default_factory=RecordMaker)  # the cars' record texts

    def apply(self, changes: dict[str, Any]) -> FleetConfig:
        """Merge knob changes into the config, tell every listener and wake the sleepers."""
        self.config = self.config.merged(changes)
        for listener in list(self.listeners):
            listener(self.config)
        for sleeper in list(self.sleepers):
            sleeper.ring()
        return self.config

    def reset(self, config: FleetConfig | None = None) -> None:
        self.config = config or FleetConfig()

    def on_change(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def profile_for(self, config: FleetConfig) -> Profile:
        """The config's profile, loaded once per runtime (users share it)."""
        if config.profile not in self.profiles:
            self.profiles[config.profile] = load_profile(config.profile)
        return self.profiles[config.profile]


def runtime_of(environment: Environment) -> FleetRuntime:
    """The environment's runtime, created and attached on first use."""
    found = getattr(environment, ATTR, None)
    if isinstance(found, FleetRuntime):
        return found
    runtime = FleetRuntime()
    setattr(environment, ATTR, runtime)
    return runtime


__all__ = ["ATTR", "FleetRuntime", "runtime_of"]

"""What the engine is handed: a run set-up to start, and the run it returns once set up.

The engine keeps the clock, the journal and rollback; everything that touches Locust,
Toxiproxy, the fleet or the backend comes in through these (the Locust side's
``fleetchaos.locust_app.run_setup.LocustRunSetup``, fakes in tests), so this layer never
builds a Locust collaborator itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fleetchaos.scenarios.journal import JournalWriter
from fleetchaos.scenarios.steps.base import StepEnv


class SetupError(RuntimeError):
    """The run cannot start (unreachable Toxiproxy, missing extension, ...): exit code 2."""


@dataclass
class Prepared:
    """A run that is set up: what the engine drives from now on."""

    env: StepEnv  # the steps' collaborators
    listen: dict[str, str]  # scenario proxy -> host:port it listens on
    sample: Callable[[], dict[str, Any]]  # the last second's figures, for a journal sample
    latest_fleet: Callable[[], dict[str, Any]]  # the fleet gauges of the last sample
    user_count: Callable[[], int]
    user_classes: Callable[[], list[Any]]  # what the load shape hands Locust
    spawn_rate: float
    cleanup: Callable[[], tuple[list[str], list[str]]]  # remove the run's marked names: (removed, left)
    stop: Callable[[], None]  # stop what set-up started (the built-in Toxiproxy)
    wall_t0: float = 0.0  # time.time() at t = 0 (drivers plan their needs from it)
    # At most this long the run waits at the end for the fleet's last figures (a Locust
    # master, for its workers' last reports, sent when they are told to stop); 0 in one
    # process. ``last_reports_in`` says when they all came (None: wait the whole time).
    last_report_wait_s: float = 0.0
    last_reports_in: Callable[[], bool] | None = None
    # Asks for those reports: a headless Locust master quits (its test_stop, where the run
    # ends, comes before it tells the workers anything), so the run stops the workers
    # itself; None: nothing to ask.
    request_last_reports: Callable[[], None] | None = None
    # Hands the engine's ``record_driver`` the fleet's driver outcomes as they come
    # (journal records on the run's clock); None: the fleet reports none.
    subscribe_drivers: Callable[[Callable[[dict[str, Any]], None]], None] | None = None


class RunSetup(Protocol):
    def start(self, journal: JournalWriter) -> Prepared:
        """Set the run up and write the journal header (t = 0); raise SetupError."""


# The run's exports, written once its summary is final: (summary, journal records).
Outputs = Callable[[dict[str, Any] | None, list[dict[str, Any]]], None]

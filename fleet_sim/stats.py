"""Fleet counters: what Locust's request stats cannot say (acks, resends, stranded drivers).

Each process counts its own cars and drivers; workers send their cumulative counters
with every report to the master, which sums the latest report of each worker, so a
distributed run reads like a single-process one. The counters and the workers' reports
live in the environment's runtime (fleet_sim/runtime.py), never in this module.

The telemetry counters follow each record through the car's outbox (fleet_sim/outbox.py):
offered (came due), sent (left the car the first time), acked, resent, dropped (unsent or
unacked), plus the same for the verbosity cohort; docs/architecture.md lists them all.
Each process also samples its own CPU (process CPU seconds per second), so a summary can
tell a fleet that could not keep up from a backend that throttled it.
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from locust.env import Environment
    from locust.event import EventHook

REPORT_KEY = "fleetchaos_fleet"
OUTCOME_EVENT = "fleet_driver_outcome"  # environment.events.<this>: one driver's outcome
OUTCOMES_KEY = "fleetchaos_outcomes"
FINAL_MESSAGE = "fleetchaos_fleet_final"  # a worker's counters once its users stopped
OUTCOMES = ("app", "bluetooth", "keycard")


CPU_SAMPLE_S = 0.5  # the shortest interval a CPU share is computed over
MAX_KEYS = frozenset({"fleet_cpu_share_max"})  # merged by max over processes, not summed

# What FleetCounters.add counts (a name outside it is a type error, not a KeyError mid-run);
# the drivers' outcomes go through outcome(), the CPU figures are sampled by as_dict().
Counter = Literal[
    "cars_connected", "cars_total",
    "telemetry_offered", "telemetry_sent", "telemetry_acked", "telemetry_resent",
    "telemetry_bytes", "telemetry_dropped", "telemetry_dropped_unsent",
    "telemetry_dropped_unacked", "telemetry_buffered", "telemetry_in_flight",
    "telemetry_cohort_cars", "telemetry_cohort_offered", "telemetry_cohort_sent",
    "telemetry_cohort_acked", "telemetry_cohort_baseline",
    "keepalive_retries", "api_bytes_sent", "commands_received", "commands_acked",
    "drivers_needing",
]


def _empty() -> dict[str, Any]:
    return {
        "cars_connected": 0, "cars_total": 0,
        "telemetry_offered": 0, "telemetry_sent": 0, "telemetry_acked": 0,
        "telemetry_resent": 0, "telemetry_bytes": 0, "telemetry_dropped": 0,
        "telemetry_dropped_unsent": 0, "telemetry_dropped_unacked": 0,
        "telemetry_buffered": 0, "telemetry_in_flight": 0,
        "telemetry_cohort_cars": 0, "telemetry_cohort_offered": 0,
        "telemetry_cohort_sent": 0, "telemetry_cohort_acked": 0,
        "telemetry_cohort_baseline": 0.0,
        "keepalive_retries": 0, "api_bytes_sent": 0,
        "commands_received": 0, "commands_acked": 0,
        "drivers_needing": 0, "accessed": dict.fromkeys(OUTCOMES, 0), "stranded": 0,
        "status_by_action": {},
        "fleet_processes": 1, "fleet_cpu_s": 0.0, "fleet_cpu_share": 0.0,
        "fleet_cpu_share_max": 0.0,
    }


class CpuSampler:
    """This process's CPU: cumulative seconds, and seconds per second since the last look
    (at least CPU_SAMPLE_S apart, so callers asking often do not shorten the window)."""

    def __init__(self) -> None:
        self.last_wall = time.monotonic()
        self.last_cpu = time.process_time()
        self.share = 0.0

    def sample(self) -> tuple[float, float]:
        wall, cpu = time.monotonic(), time.process_time()
        if wall - self.last_wall >= CPU_SAMPLE_S:
            self.share = (cpu - self.last_cpu) / (wall - self.last_wall)
            self.last_wall, self.last_cpu = wall, cpu
        return cpu, self.share


class FleetCounters:
    """One process's fleet counters (one per runtime; the links and apps are handed it)."""

    def __init__(self) -> None:
        self.data = _empty()
        self.pending_outcomes: list[dict[str, Any]] = []
        self.cpu = CpuSampler()

    def add(self, key: Counter, n: float = 1) -> None:
        self.data[key] += n

    def status(self, action: str, status: int) -> None:
        by = self.data["status_by_action"].setdefault(action, {})
        key = str(status)
        by[key] = by.get(key, 0) + 1

    def outcome(self, outcome: str) -> None:
        if outcome == "stranded":
            self.data["stranded"] += 1
        else:
            self.data["accessed"][outcome] += 1

    def as_dict(self) -> dict[str, Any]:
        cpu_s, share = self.cpu.sample()
        out = copy.deepcopy(self.data)
        out["telemetry_cohort_baseline"] = round(float(out["telemetry_cohort_baseline"]), 3)
        out.update(fleet_cpu_s=round(cpu_s, 3), fleet_cpu_share=round(share, 3),
                   fleet_cpu_share_max=round(share, 3))
        return out

    def reset(self) -> None:
        self.data = _empty()
        self.pending_outcomes.clear()


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    total = _empty()
    total["fleet_processes"] = 0  # each part counts itself
    for part in parts:
        for key, value in part.items():
            if key == "accessed":
                for k, v in value.items():
                    total["accessed"][k] = total["accessed"].get(k, 0) + v
            elif key == "status_by_action":
                for action, by in value.items():
                    dest = total["status_by_action"].setdefault(action, defaultdict(int))
                    for status, n in by.items():
                        dest[status] += n
            elif key in MAX_KEYS:
                total[key] = max(total.get(key, 0), value)
            elif isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
    total["status_by_action"] = {a: dict(b) for a, b in total["status_by_action"].items()}
    return total


def snapshot(environment: Environment) -> dict[str, Any]:
    """Cumulative fleet counters for the whole run (summed over workers on a master)."""
    from locust.runners import MasterRunner

    from fleetchaos.fleet_sim.runtime import runtime_of

    runtime = runtime_of(environment)
    if isinstance(environment.runner, MasterRunner):
        return merge(list(runtime.worker_reports.values()))
    return runtime.counters.as_dict()


def outcome_event(environment: Environment) -> EventHook:
    """The fleet's own Locust event, fired with each driver's outcome (``outcome``,
    ``time_to_access_s``, ``attempts``, ``policy``, ...); added to the environment's events
    on first use, as Locust's own are fixed attributes of its Events."""
    from locust.event import EventHook

    hook: EventHook | None = getattr(environment.events, OUTCOME_EVENT, None)
    if hook is None:
        hook = EventHook()
        setattr(environment.events, OUTCOME_EVENT, hook)
    return hook


def install(environment: Environment) -> None:
    """Worker → master reporting, and the driver-outcome event on every runner."""
    from locust.runners import MasterRunner, WorkerRunner

    from fleetchaos.fleet_sim.runtime import runtime_of

    runtime = runtime_of(environment)
    counters = runtime.counters
    outcomes = outcome_event(environment)
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        def report(client_id: str, data: dict[str, Any]) -> None:
            data[REPORT_KEY] = counters.as_dict()
            data[OUTCOMES_KEY] = counters.pending_outcomes[:]
            counters.pending_outcomes.clear()

        environment.events.report_to_master.add_listener(report)

        def final(**_: Any) -> None:
            """Locust reports every 3 s; the master's engine waits for every worker's last
            figures once it told the workers to stop: send them as soon as the users
            stopped (cars wait up to 1 s for their last acks first)."""
            data: dict[str, Any] = {}
            report(runner.client_id, data)
            runner.send_message(FINAL_MESSAGE, data)

        environment.events.test_stop.add_listener(final)
    elif isinstance(runner, MasterRunner):
        def receive(client_id: str, data: dict[str, Any]) -> None:
            if REPORT_KEY in data:
                runtime.worker_reports[client_id] = data[REPORT_KEY]
            for outcome in data.get(OUTCOMES_KEY, []):
                outcomes.fire(**outcome)

        def last_report(client_id: str, data: dict[str, Any]) -> None:
            receive(client_id, data)
            runtime.final_reports.add(client_id)

        environment.events.worker_report.add_listener(receive)
        environment.events.test_start.add_listener(lambda **_: runtime.final_reports.clear())
        runner.register_message(FINAL_MESSAGE, lambda msg, **_: last_report(msg.node_id, msg.data))


def record_outcome(environment: Environment, **outcome: Any) -> None:
    """Count a driver's outcome here and fire the event (the master fires it for workers)."""
    from locust.runners import WorkerRunner

    from fleetchaos.fleet_sim.runtime import runtime_of

    counters = runtime_of(environment).counters
    counters.outcome(outcome["outcome"])
    if isinstance(environment.runner, WorkerRunner):
        counters.pending_outcomes.append(outcome)
    else:
        outcome_event(environment).fire(**outcome)


def outcome_record(outcome: dict[str, Any], wall_t0: float | None, now_s: float) -> dict[str, Any]:
    """A driver outcome as the journal keeps it, on the run's clock.

    ``need_ended_s`` is when the driver got in by app or gave up on it (``ended_at``,
    epoch seconds stamped where it happened, so a worker's report delay does not move
    it); ``need_started_s`` is that minus the time they waited. Without a stamp (an old
    worker) the end is when the outcome arrived.
    """
    fields = dict(outcome)
    ended_at = fields.pop("ended_at", None)
    end = now_s if ended_at is None or wall_t0 is None else float(ended_at) - wall_t0
    end = max(0.0, end)
    waited = float(fields.get("waited_s") or 0.0)
    return {"t": round(end, 3), "need_started_s": round(max(0.0, end - waited), 3),
            "need_ended_s": round(end, 3), **fields}

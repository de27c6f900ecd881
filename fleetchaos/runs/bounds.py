"""What the machine cannot hold, refused before anything starts (issue 22).

``fleetchaos.run("baseline", workers=10000)`` once forked 10,000 Locust processes and
starved every other process on a 2-core machine. The workers' bound (4 per CPU) is
declared with the option (``fleetchaos.common.run_options``); this module checks what
depends on the scenario: the open files the fleet's connections need against the limit
of each process that will hold them. Both refusals are one line saying what the limit
is and how to raise it (exit code 2, nothing started).

The estimate is a lower bound, so a run that could work is never refused: every car,
driver and canary holds at least one connection (a WebSocket or MQTT link, or one
keep-alive HTTP connection), in the Locust process that runs it (the fleet split evenly
over the workers), in the built-in reference backend that answers it, and twice (client
side and upstream) in the built-in Toxiproxy it goes through; each process also keeps
about ``BASE_FILES`` for itself (Python, logs, listeners, Locust's own sockets).
"""

from __future__ import annotations

import math
import os
import resource
from dataclasses import dataclass

from fleetchaos.common.errors import UsageError
from fleetchaos.common.run_options import option
from fleetchaos.runs.options import RunOptions
from fleetchaos.scenarios.schema import Scenario

BASE_FILES = 100
LOCUST_MINIMUM_FILES = 10_000  # locust/main.py raises a lower soft limit to this (2.x)


@dataclass(frozen=True)
class FileLimits:
    """This process's open-file limits (``ulimit -n`` / ``ulimit -Hn``), which children inherit."""

    soft: int
    hard: int

    @classmethod
    def current(cls) -> FileLimits:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        return cls(_finite(soft), _finite(hard))

    @property
    def locust(self) -> int:
        """Locust raises a soft limit below 10,000 to 10,000 when the hard limit allows it
        (locust/main.py, ``minimum_open_file_limit``), else keeps the soft one."""
        if self.soft >= LOCUST_MINIMUM_FILES:
            return self.soft
        return LOCUST_MINIMUM_FILES if self.hard >= LOCUST_MINIMUM_FILES else self.soft


def _finite(value: int) -> int:
    return 2**62 if value == resource.RLIM_INFINITY or value < 0 else int(value)


def check_bounds(scenario: Scenario, opts: RunOptions, *, builtin_backend: bool) -> None:
    """The run's workers and fleet fit this machine, or UsageError (exit 2) before any child.

    The workers' range is the declared one (checked again here for runs built without a
    face, e.g. by a sweep); the open files are counted for the processes this run starts."""
    workers = option("workers")
    workers.check(opts.workers, opts.face)
    cars, drivers, canaries = scenario.peak_fleet()
    builtin_toxiproxy = not (opts.toxiproxy_url or os.environ.get("TOXIPROXY_URL"))
    check_files(cars, drivers, canaries, workers=opts.workers,
                workers_flag=workers.spelled(opts.face), builtin_toxiproxy=builtin_toxiproxy,
                builtin_backend=builtin_backend,
                fleet_here=opts.expect_workers is None)  # else: on other machines' workers


def check_files(cars: int, drivers: int, canaries: int, *, workers: int, workers_flag: str,
                builtin_toxiproxy: bool, builtin_backend: bool,
                limits: FileLimits | None = None, fleet_here: bool = True) -> None:
    """Refuse a fleet whose connections need more open files than a process may have.
    ``fleet_here`` False: the cars run in workers on other machines (--expect-workers),
    whose limits are theirs; only the servers started here are counted."""
    limits = limits or FileLimits.current()
    connections = cars + drivers + canaries
    who = f"fleet.cars {cars} + fleet.drivers {drivers}"
    hard = f"{limits.hard:,}"
    as_root = ("as root: nofile in /etc/security/limits.conf, LimitNOFILE= for a systemd "
               "service, or docker run --ulimit nofile=N")
    if builtin_toxiproxy:  # it raises its soft limit to the hard one (toxiproxy_server.server)
        need = 2 * connections + BASE_FILES
        if need > limits.hard:
            raise UsageError(f"{who} need about {need:,} open files in the built-in Toxiproxy "
                             f"(two per connection), more than its limit of {hard} (the hard "
                             f"limit, ulimit -Hn): raise it ({as_root}) or run a smaller fleet")
    if builtin_backend:  # it keeps the soft limit it inherits
        need = connections + BASE_FILES
        if need > limits.soft:
            raise UsageError(f"{who} need about {need:,} open files in the built-in reference "
                             f"backend (one per connection), more than its limit of "
                             f"{limits.soft:,} (ulimit -n): raise it with `ulimit -n {need}` "
                             f"before the run{_up_to(need, limits, as_root)}")
    per_process = math.ceil(connections / max(1, workers)) + BASE_FILES
    if fleet_here and per_process > limits.locust:
        spread = f"over {workers} workers" if workers > 1 else "in one Locust process"
        raise UsageError(f"{who} need about {per_process:,} open files per Locust process "
                         f"({spread}), more than its limit of {limits.locust:,}: raise it with "
                         f"`ulimit -n {per_process}` before the run{_up_to(per_process, limits, as_root)}"
                         f", or spread the fleet over more {workers_flag}")


def _up_to(need: int, limits: FileLimits, as_root: str) -> str:
    if need <= limits.hard:
        return f" (the hard limit allows up to {limits.hard:,})"
    return f" after raising the hard limit of {limits.hard:,} ({as_root})"

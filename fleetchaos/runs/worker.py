"""`fleetchaos worker`: Locust's worker mode under the project's command, for a master on
another machine (``fleetchaos run ... --expect-workers N --master-bind ADDR``).

The worker runs the project's own locustfile, so it has the same fleet users, the same
fleet knobs (``fleetchaos_knobs``), identity leases (``fleetchaos_ids``) and counter
reports as the workers ``--workers N`` forks on one machine. The master's address must be
on loopback or allowed (``--allow-host ADDR`` / ``--allow-remote``): a worker takes its
orders from there. The proxies the master then names are checked again by the worker
itself (fleet_sim/knobs.py), with the same allowance. Locust runs as a child process (it
monkey-patches gevent into whoever imports it); Ctrl-C or SIGTERM stops it gracefully
(it tells the master it quit), a second one kills it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from fleetchaos.common.errors import EXIT_BAD_INPUT, EXIT_HARNESS, EXIT_PASS, UsageError
from fleetchaos.common.loopback import TargetNotAllowed, check_loopback, parse_hosts
from fleetchaos.common.parent_death import preexec_die_with_parent
from fleetchaos.runs.options import DEFAULT_MASTER_PORT, locust_flags, split_host_port
from fleetchaos.runs.orchestrator import locustfile_path


def master_address(text: str, *, allow_remote: bool = False,
                   allow_host: str | None = None) -> tuple[str, int]:
    """``--master HOST[:PORT]`` checked: (host, port; Locust's 5557 when not given)."""
    try:
        host, port = split_host_port(text)
        check_loopback(host, what="--master", allow_remote=allow_remote,
                       allowed_hosts=parse_hosts(allow_host))
    except TargetNotAllowed as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(f"--master {text}: {exc}") from None
    return host, port or DEFAULT_MASTER_PORT


def worker_argv(host: str, port: int, processes: int, *, allow_remote: bool = False,
                allow_host: str | None = None) -> list[str]:
    argv = [sys.executable, "-m", "locust", "-f", locustfile_path(), "--worker",
            "--master-host", host, "--master-port", str(port),
            "--exit-code-on-error", "0",  # failed requests are what a chaos run is about
            *locust_flags({"allow_remote": allow_remote, "allow_host": allow_host})]
    if processes > 1:
        argv += ["--processes", str(processes)]
    return argv


def run_worker(master: str, *, processes: int = 1, allow_remote: bool = False,
               allow_host: str | None = None) -> int:
    """Run Locust's worker(s) until the master ends the run (or a signal); the exit code:
    0 when the master ended it, 2 when the worker refused what it was given (it said why
    on stderr), 3 for anything else."""
    if processes < 1:
        raise UsageError(f"--processes must be at least 1, got {processes}")
    host, port = master_address(master, allow_remote=allow_remote, allow_host=allow_host)
    child = subprocess.Popen(worker_argv(host, port, processes, allow_remote=allow_remote,
                                         allow_host=allow_host),
                             stdin=subprocess.DEVNULL, start_new_session=True,
                             preexec_fn=preexec_die_with_parent())
    signalled: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        signalled.append(signum)
        if child.poll() is None:
            child.send_signal(signal.SIGTERM if len(signalled) == 1 else signal.SIGKILL)

    previous: dict[int, Any] = {sig: signal.signal(sig, forward)
                                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while child.poll() is None:
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if signalled:
        return 128 + signalled[0]
    if child.returncode in (EXIT_PASS, EXIT_BAD_INPUT):
        return int(child.returncode)
    return EXIT_HARNESS

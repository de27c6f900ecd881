"""The child watch in isolation, on real processes: what it calls a death, a stop, a stall,
and what it never calls one (a worker that quits after the run, a short fork of the
master, a pid that now belongs to someone else)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleetchaos.runs.child_watch import (
    STALL_S,
    WORKER_CONFIRM_S,
    ChildFailure,
    ChildWatch,
    children_of,
    describe_exit,
    proc_state,
)
from fleetchaos.scenarios.harness_failure import apply

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@dataclass
class FakeChild:
    """What ChildWatch.for_run reads of a ChildProcess: name, popen, pid."""

    name: str
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


MASTER = textwrap.dedent("""
    import os, sys, time
    workers = []
    for _ in range(int(sys.argv[1])):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        workers.append(pid)
    # a short fork that is no worker (ctypes.util.find_library runs ldconfig so)
    if os.fork() == 0:
        os.execvp("true", ["true"])
    print(" ".join(map(str, workers)), flush=True)
    time.sleep(60)
""")


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        for pid in children_of(p.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if p.poll() is None:
            p.kill()
        p.wait()


def _wait(watch: ChildWatch, seconds: float = 10.0) -> ChildFailure | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        failure = watch.check()
        if failure is not None:
            return failure
        time.sleep(0.05)
    return None


def test_a_server_killed_or_exiting_is_a_death_with_its_status(procs) -> None:
    backend, proxy, locust = _sleeper(), _sleeper(), _sleeper()
    procs += [backend, proxy, locust]
    watch = ChildWatch.for_run([FakeChild("reference backend", backend),
                                FakeChild("toxiproxy server", proxy)], locust)
    assert watch.check() is None
    backend.send_signal(signal.SIGKILL)
    failure = _wait(watch)
    assert failure is not None and (failure.child, failure.kind) == ("backend", "died")
    assert failure.how == "was killed by SIGKILL" and failure.pid == backend.pid
    line = failure.line(failure.seen_wall - 12.34)
    assert line.startswith(f"the reference backend (pid {backend.pid}) was killed by SIGKILL "
                           "at t=12.3 s")
    assert "\n" not in line and "before the run started" in failure.line(None)
    assert describe_exit(3) == "exited with code 3"


def test_a_stopped_server_is_seen_at_once_and_killed_only_by_its_pid(procs) -> None:
    proxy, other, locust = _sleeper(), _sleeper(), _sleeper()
    procs += [proxy, other, locust]
    watch = ChildWatch.for_run([FakeChild("toxiproxy server", proxy),
                                FakeChild("mqtt broker", other)], locust)
    proxy.send_signal(signal.SIGSTOP)
    started = time.monotonic()
    failure = _wait(watch)
    assert failure is not None and time.monotonic() - started < 1.0
    assert (failure.child, failure.kind, failure.how) == ("toxiproxy", "stopped",
                                                          "was stopped (SIGSTOP)")
    watch.kill_if_stopped(failure)
    assert proxy.wait(timeout=10) == -signal.SIGKILL
    assert other.poll() is None and locust.poll() is None


def test_locust_killed_is_a_death_but_its_own_exit_code_is_the_runs(procs) -> None:
    locust = _sleeper()
    procs.append(locust)
    watch = ChildWatch.for_run([], locust)
    locust.send_signal(signal.SIGKILL)
    failure = _wait(watch)
    assert failure is not None and failure.child == "locust" and "SIGKILL" in failure.how
    quits = subprocess.Popen([sys.executable, "-c", "raise SystemExit(2)"])
    procs.append(quits)
    quits.wait()
    assert ChildWatch.for_run([], quits).check() is None  # exit 2: a refused set-up, not a death


def test_workers_are_watched_and_a_short_fork_is_not_one(procs) -> None:
    master = subprocess.Popen([sys.executable, "-c", MASTER, "2"], stdout=subprocess.PIPE)
    procs.append(master)
    assert master.stdout is not None
    workers = [int(x) for x in master.stdout.readline().split()]
    watch = ChildWatch.for_run([], master, workers=2)
    deadline = time.monotonic() + WORKER_CONFIRM_S + 5
    while len(watch.workers) < 2 and time.monotonic() < deadline:
        assert watch.check() is None  # the `true` fork came and went: no failure
        time.sleep(0.05)
    assert sorted(watch.workers) == sorted(workers)
    os.kill(workers[1], signal.SIGSTOP)
    failure = _wait(watch)
    assert failure is not None and failure.child == "locust worker"
    assert failure.kind == "stopped" and failure.pid == workers[1]
    watch.kill_if_stopped(failure)
    os.kill(workers[0], signal.SIGKILL)
    again = ChildWatch.for_run([], master, workers=2)
    again.workers = dict(watch.workers)
    failure = _wait(again)
    assert failure is not None and failure.kind == "died" and failure.pid in workers


def test_workers_that_quit_after_the_run_ended_are_no_failure(procs) -> None:
    master = subprocess.Popen([sys.executable, "-c", MASTER, "1"], stdout=subprocess.PIPE)
    procs.append(master)
    assert master.stdout is not None
    [worker] = [int(x) for x in master.stdout.readline().split()]
    watch = ChildWatch.for_run([], master, workers=2)
    deadline = time.monotonic() + WORKER_CONFIRM_S + 5
    while not watch.workers and time.monotonic() < deadline:
        watch.check()
        time.sleep(0.05)
    watch.on_record({"type": "cleanup", "t": 9.0})
    os.kill(worker, signal.SIGKILL)
    assert _wait(watch, 1.5) is None


def test_a_locust_that_writes_nothing_for_the_stall_time_has_stalled(procs) -> None:
    locust = _sleeper()
    procs.append(locust)
    now = [100.0]
    watch = ChildWatch.for_run([], locust)
    watch.clock = lambda: now[0]
    started = datetime.now(UTC)
    watch.on_record({"type": "header", "t": 0.0, "started_at": started.isoformat()})
    watch.on_record({"type": "sample", "t": 1.0})
    now[0] += STALL_S - 0.5
    assert watch.check() is None
    now[0] += 1.0
    failure = watch.check()
    assert failure is not None and failure.kind == "stalled" and failure.child == "locust"
    assert "no progress" in failure.how and "from t=" in failure.line(watch.started_wall)
    ending = ChildWatch.for_run([], locust)  # past the planned end: the engine winds down
    ending.clock = lambda: now[0]
    ending.on_record({"type": "header", "t": 0.0, "duration_s": 0.5,
                      "started_at": datetime.fromtimestamp(time.time() - 1, UTC).isoformat()})
    now[0] += 100
    assert ending.check() is None
    quiet = ChildWatch.for_run([], locust, stalls=False)  # the web UI idles between runs
    quiet.clock = lambda: now[0]
    quiet.on_record({"type": "header", "t": 0.0, "started_at": started.isoformat()})
    now[0] += 100
    assert quiet.check() is None


def test_a_worker_pid_reused_by_another_process_is_never_signalled(procs) -> None:
    stranger = _sleeper()
    procs.append(stranger)
    state = proc_state(stranger.pid)
    assert state is not None
    from fleetchaos.runs.child_watch import _Watched

    ChildWatch._kill(_Watched("locust worker", "a Locust worker", None, stranger.pid,
                              state.start + 1))
    time.sleep(0.2)
    assert stranger.poll() is None


def test_a_harness_failure_record_makes_the_verdict_error_and_unjudges_cut_phases() -> None:
    records = [
        {"type": "header", "t": 0.0, "duration_s": 30,
         "phases": [{"name": "baseline", "start_s": 0, "end_s": 10},
                    {"name": "flood", "start_s": 10, "end_s": 20},
                    {"name": "recovery", "start_s": 20, "end_s": 30}]},
        {"type": "error", "t": 14.2, "what": "child", "child": "backend", "pid": 7,
         "kind": "died", "how": "was killed by SIGKILL", "message": "the line"},
    ]
    summary = {"verdict": "fail", "slos": [
        {"name": "b", "phase": "baseline", "passed": True, "status": "pass"},
        {"name": "f", "phase": "flood", "passed": True, "status": "pass"},
        {"name": "a", "phase": "all", "passed": False, "status": "fail"}]}
    out = apply(summary, records)
    assert (out["verdict"], out["verdict_reason"], out["error"]) == ("error", "the line",
                                                                     "the line")
    assert [(s["name"], s["status"], s["passed"]) for s in out["slos"]] == [
        ("b", "pass", True), ("f", "not_judged", False), ("a", "not_judged", False)]
    assert out["harness_failure"]["child"] == "backend"
    untouched = {"verdict": "pass", "slos": []}
    assert apply(dict(untouched), records[:1]) == untouched

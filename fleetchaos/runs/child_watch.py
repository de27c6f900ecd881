"""Watch every process a run depends on, so a death is a harness failure at once.

A run has children: the built-in Toxiproxy server, the reference backend, Mosquitto when
cars speak MQTT, and Locust, whose ``--processes`` workers are its own children. Before
this watch, a backend SIGKILLed in the flood ended as exit 1 "server errors stay rare:
PASS 0.0 %" (SLOs judged on a dead part), a SIGKILLed Toxiproxy was noticed only when the
run ended, and a SIGSTOPped Locust gave "no effect" (issue 27).

Every ``POLL_S`` the orchestrator asks :meth:`ChildWatch.check`:

- **exit status** of the children it started (``Popen.poll``: killed by a signal, or an
  exit code); a Locust worker is a grandchild its master reaps, so its end is seen as
  its pid leaving the master's children (a child is a worker once it has lived 0.3 s
  with the master's command line);
- **liveness**: ``/proc/<pid>/stat`` says ``T`` for a process stopped by SIGSTOP (or
  SIGTSTP), which answers nothing but never exits — stopped is as dead as killed here;
- **progress** (headless runs): the engine writes a journal record every second; none
  for ``STALL_S`` seconds between the header and the planned end is a stalled Locust.

The first failure is a :class:`ChildFailure`; the orchestrator stops the run, rolls back
what it can, and the journal gets an ``error`` record of ``what: "child"`` (or
``"stall"``) that turns the verdict into ``error`` (``scenarios.harness_failure``).
Linux only for workers and states (``/proc``); elsewhere only exit statuses are seen.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

POLL_S = 0.1  # how often the orchestrator looks: a death is named within a poll or two
STALL_S = 8.0  # no journal record for this long (the engine writes one a second): a stall
# A child of Locust's master is taken for a worker once it has lived this long with the
# master's own command line: the master also forks briefly (ctypes.util.find_library runs
# ldconfig in a fork, which execs within microseconds), and those children end by design.
WORKER_CONFIRM_S = 0.3

# What a run's children are called in the one line that names them (ChildProcess.name).
NAMES = {"toxiproxy server": ("toxiproxy", "the built-in Toxiproxy server"),
         "reference backend": ("backend", "the reference backend"),
         "mqtt broker": ("mosquitto", "Mosquitto (the MQTT broker)")}
LOCUST = ("locust", "Locust (the load generator)")
WORKER = ("locust worker", "a Locust worker")


@dataclass(frozen=True)
class ChildFailure:
    """The first child that died, stopped or stalled, and when it was seen."""

    child: str  # backend, toxiproxy, mosquitto, locust, locust worker
    name: str  # as the one line says it: "the reference backend"
    pid: int
    kind: str  # died, stopped, stalled
    how: str  # "was killed by SIGKILL", "exited with code 1", "was stopped (SIGSTOP)", ...
    seen_wall: float  # time.time() when the watch saw it
    since_wall: float | None = None  # a stall: when the last journal record arrived

    def line(self, started_wall: float | None) -> str:
        """One line: who, what, when on the run's clock (t=0 is the journal header)."""
        when = "before the run started"
        if started_wall is not None:
            at = (self.since_wall if self.since_wall is not None else self.seen_wall)
            when = f"{'from' if self.kind == 'stalled' else 'at'} t={at - started_wall:.1f} s"
        return (f"{self.name} (pid {self.pid}) {self.how} {when}: the run was stopped and "
                "its faults rolled back on what is left; no SLO is judged on a dead part")

    def t(self, started_wall: float | None) -> float | None:
        if started_wall is None:
            return None
        at = self.since_wall if self.since_wall is not None else self.seen_wall
        return round(at - started_wall, 3)


def describe_exit(returncode: int) -> str:
    """``was killed by SIGKILL`` / ``exited with code 1``, as a wait status reads."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


@dataclass(frozen=True)
class ProcState:
    """What ``/proc/<pid>/stat`` says of a process."""

    state: str  # R, S, D, T (stopped), t (traced), Z (zombie), X (dead)
    ppid: int
    pgrp: int
    start: int  # clock ticks after boot: with the pid, one process for sure


def proc_state(pid: int) -> ProcState | None:
    """None when there is no such process (or no /proc)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes().decode(errors="replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()  # the name may hold spaces and parentheses
    try:
        return ProcState(fields[0], int(fields[1]), int(fields[2]), int(fields[19]))
    except (IndexError, ValueError):
        return None


def children_of(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (Linux ``/proc``; [] elsewhere)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(x) for x in text.split()]
    except (OSError, ValueError):
        pass
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if entry.isdigit():
            state = proc_state(int(entry))
            if state is not None and state.ppid == pid:
                found.append(int(entry))
    return found


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def _stopped(state: ProcState | None) -> bool:
    return state is not None and state.state in ("T", "t")


def _gone(state: ProcState | None) -> bool:
    return state is None or state.state in ("Z", "X")


@dataclass
class _Watched:
    child: str
    name: str
    popen: subprocess.Popen[bytes] | None  # None: a worker (not our child: no wait status)
    pid: int
    start: int | None = None  # a worker's start time, so a reused pid is never taken for it


@dataclass
class ChildWatch:
    """The run's processes, checked on each :meth:`check`; see the module's docstring."""

    servers: list[_Watched]
    locust: _Watched
    stalls: bool = True  # headless runs only: the web UI idles between runs
    expected_workers: int = 0  # --workers N > 1: Locust's master forks N workers
    clock: Callable[[], float] = time.monotonic
    workers: dict[int, _Watched] = field(default_factory=dict)
    candidates: dict[int, float] = field(default_factory=dict)  # pid -> first seen
    started_wall: float | None = None  # the journal header's started_at
    planned_s: float | None = None  # the header's duration_s: past it, the engine winds down
    finished: bool = False  # the engine's clean-up record arrived (or we stopped Locust)
    last_record: float | None = None  # monotonic time of the last journal record
    last_record_wall: float | None = None

    @classmethod
    def for_run(cls, started: Sequence[Any], locust: subprocess.Popen[bytes], *,
                stalls: bool = True, workers: int = 1) -> ChildWatch:
        """``started``: the run's ``ChildProcess`` servers; ``locust``: the Locust child;
        ``workers``: how many worker processes it forks (1: none, it runs the users)."""
        servers = []
        for proc in started:
            child, name = NAMES.get(proc.name, (proc.name, proc.name))
            servers.append(_Watched(child, name, proc.popen, proc.pid))
        return cls(servers, _Watched(*LOCUST, locust, locust.pid), stalls=stalls,
                   expected_workers=workers if workers > 1 else 0)

    # -- what the journal says ---------------------------------------------------------------
    def on_record(self, record: dict[str, Any]) -> None:
        """A journal record arrived (JournalTail listener): progress, start, end."""
        self.last_record = self.clock()
        self.last_record_wall = time.time()
        kind = record.get("type")
        if kind == "header" and self.started_wall is None:
            self.started_wall = _epoch(record.get("started_at"))
            duration = record.get("duration_s")
            if isinstance(duration, int | float) and not isinstance(duration, bool):
                self.planned_s = float(duration)
        elif kind in ("cleanup", "summary"):
            self.finished = True  # workers quit normally from here on

    def stop_watching_locust(self) -> None:
        """We asked Locust to stop (Ctrl-C, a full disk): its workers end, that is no failure."""
        self.finished = True

    # -- the check ---------------------------------------------------------------------------
    def check(self) -> ChildFailure | None:
        for watched in self.servers:
            failure = self._check_child(watched)
            if failure is not None:
                return failure
        return self._check_locust()

    def _check_child(self, watched: _Watched) -> ChildFailure | None:
        assert watched.popen is not None
        code = watched.popen.poll()
        if code is not None:
            return self._failure(watched, "died", describe_exit(code))
        if _stopped(proc_state(watched.pid)):
            return self._failure(watched, "stopped", "was stopped (SIGSTOP)")
        return None

    def _check_locust(self) -> ChildFailure | None:
        master = self.locust
        assert master.popen is not None
        code = master.popen.poll()
        if code is not None:
            # Locust's own exit code is the run's (set-up refused: 2, the engine's verdict);
            # a signal we did not send is a death.
            if code < 0 and not self.finished:
                return self._failure(master, "died", describe_exit(code))
            return None
        if _stopped(proc_state(master.pid)):
            return self._failure(master, "stopped", "was stopped (SIGSTOP)")
        failure = self._check_workers()
        if failure is not None:
            return failure
        if self.stalls and not self.finished and self._running() \
                and self.last_record is not None and self.clock() - self.last_record > STALL_S:
            silent = self.clock() - self.last_record
            return self._failure(master, "stalled",
                                 f"made no progress (no journal record) for {silent:.1f} s",
                                 since_wall=self.last_record_wall)
        return None

    def _running(self) -> bool:
        """Between the header and the planned end: the engine writes a sample a second. Past
        the end it rolls back and waits for its workers' last reports, writing nothing (a
        slow Toxiproxy can make that long): no stall is called there."""
        if self.started_wall is None:
            return False
        return self.planned_s is None or time.time() - self.started_wall < self.planned_s

    def _check_workers(self) -> ChildFailure | None:
        if not self.expected_workers:
            return None
        current = set(children_of(self.locust.pid))
        now = self.clock()
        for pid in current - set(self.workers):
            if len(self.workers) >= self.expected_workers:
                break
            first = self.candidates.setdefault(pid, now)
            state = proc_state(pid)
            if state is None or _gone(state) or now - first < WORKER_CONFIRM_S:
                continue
            mine = _cmdline(pid)
            if mine is not None and mine == _cmdline(self.locust.pid):
                self.workers[pid] = _Watched(*WORKER, None, pid, state.start)
        for pid in [p for p in self.candidates if p not in current]:
            del self.candidates[pid]
        for pid, worker in list(self.workers.items()):
            state = proc_state(pid)
            same = state is not None and state.start == worker.start
            if same and _stopped(state):
                return self._failure(worker, "stopped", "was stopped (SIGSTOP)")
            if not same or _gone(state) or pid not in current:
                del self.workers[pid]
                if not self.finished:
                    return self._failure(worker, "died", "ended (its master reaped it: "
                                         "killed, or crashed)")
        return None

    def _failure(self, watched: _Watched, kind: str, how: str,
                 since_wall: float | None = None) -> ChildFailure:
        return ChildFailure(watched.child, watched.name, watched.pid, kind, how, time.time(),
                            since_wall)

    # -- ending what is left -----------------------------------------------------------------
    def kill_if_stopped(self, failure: ChildFailure) -> None:
        """A stopped child answers nothing and would make every stop wait for it: SIGKILL it
        (by the pid we started it with; a worker only while it is still that process)."""
        if failure.kind not in ("stopped", "stalled"):
            return
        for watched in [*self.servers, self.locust, *self.workers.values()]:
            if watched.pid == failure.pid:
                self._kill(watched)

    def kill_locust(self) -> None:
        """SIGKILL Locust and every worker still seen (the grace for a clean stop is over)."""
        for watched in [*self.workers.values(), self.locust]:
            self._kill(watched)

    def reap_workers(self) -> list[int]:
        """After Locust's master ended: SIGKILL any worker of it still there (a stopped one
        whose master died keeps its SIGTERM pending forever); return their pids."""
        left = []
        for watched in list(self.workers.values()):
            state = proc_state(watched.pid)
            if state is not None and not _gone(state) and state.start == watched.start:
                self._kill(watched)
                left.append(watched.pid)
        return left

    @staticmethod
    def _kill(watched: _Watched) -> None:
        if watched.popen is not None:
            if watched.popen.poll() is None:
                watched.popen.kill()
            return
        state = proc_state(watched.pid)
        if state is None or state.start != watched.start:
            return  # not the process we saw any more: never signal a stranger
        with contextlib.suppress(ProcessLookupError):
            os.kill(watched.pid, signal.SIGKILL)


def journal_failure(journal: Path, failure: ChildFailure, *, t: float | None, line: str,
                    removed: list[str], left: list[str]) -> bool:
    """Append the failure's ``error`` record (``what``: child or stall) and the summary it
    implies (verdict ``error``: ``scenarios.harness_failure``) to the run's journal, once
    Locust has ended; False when there is no journal yet (a failure during set-up)."""
    from fleetchaos.scenarios.journal import JournalWriter, read_journal
    from fleetchaos.scenarios.summary import build_summary

    if not journal.is_file() or journal.stat().st_size == 0:
        return False
    records = read_journal(journal)
    if not any(r.get("type") == "header" for r in records):
        return False
    last_t = max((float(r["t"]) for r in records if isinstance(r.get("t"), int | float)),
                 default=0.0)
    writer = JournalWriter(journal, append=True)
    try:
        writer.write("error", t=t if t is not None else last_t,
                     what="stall" if failure.kind == "stalled" else "child",
                     child=failure.child, pid=failure.pid, kind=failure.kind, how=failure.how,
                     message=line, removed=removed, left=left)
        summary = build_summary(read_journal(journal))
        writer.write("summary", t=max(last_t, t or 0.0), **summary)
    finally:
        writer.close()
    return True


def _epoch(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None

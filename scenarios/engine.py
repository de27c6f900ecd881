"""The timeline engine: runs on the Locust master (or local runner) only.

It keeps the run's clock, its journal and rollback. Set-up (Toxiproxy, proxies,
fleet registration, the journal header) is a ``RunSetup`` handed in from outside (the
Locust side's ``fleetchaos.locust_app.run_setup``), the exports are an ``Outputs`` handed
in too, and each step is a plug-in (scenarios/steps/) that reaches Toxiproxy, the fleet
and the backend only through the collaborators set-up returns: the engine never builds
a Locust collaborator itself, and runs on fakes in tests. Each step fires from its own
timer greenlet within milliseconds of its time (not on the load shape's 1 s tick); the
journal records when each fault was really on and off, measured around the API call,
and what each fault touched. A step that fails mid-run is journaled, everything applied
is rolled back and the run stops with exit code 3. However the run ends, every fault is
removed, then the verdict is written.
"""

from __future__ import annotations

import contextlib
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import gevent
import gevent.event
import gevent.lock

from fleetchaos.scenarios.fault_control import new_run_id
from fleetchaos.scenarios.journal import JournalWriter, read_journal
from fleetchaos.scenarios.manual import MANUAL_BASE, manual_step
from fleetchaos.scenarios.outcome import exit_code, final_verdict
from fleetchaos.scenarios.prepared import Outputs, Prepared, RunSetup, SetupError
from fleetchaos.scenarios.refusal import REFUSED, RefusalWatch
from fleetchaos.scenarios.schema import Scenario, ScenarioError, Step
from fleetchaos.scenarios.steps.base import Applied, Effect
from fleetchaos.scenarios.summary import build_summary

ENGINE_ATTR = "fleetchaos_engine"
LOCK_TIMEOUT_S = 30.0

__all__ = ["ENGINE_ATTR", "Engine", "SetupError", "current_engine"]


class RunEnvironment(Protocol):
    """What the engine sets on the environment it runs in (Locust's Environment, a test's
    stand-in): the exit code the process ends with. Its runner, when it has one, is told
    to quit after an abort."""

    process_exit_code: int | None


def current_engine(environment: object) -> Engine | None:
    engine: Engine | None = getattr(environment, ENGINE_ATTR, None)
    return engine


@dataclass
class ActiveFault:
    step: Step
    applied: Applied
    on_s: float  # engine time when the apply call returned: surely on from here

    def status(self, key: str) -> dict[str, Any]:
        names = self.applied.names
        spec = self.step.spec.to_json()  # proxy and toxic type: the /metrics fault labels
        return {"key": key, "kind": self.step.action, "label": self.step.label,
                "name": names[0] if names else self.step.label, "names": list(names),
                "on_s": round(self.on_s, 3), "manual": self.step.index > MANUAL_BASE,
                "proxy": spec.get("proxy"), "spec": spec}


class Engine:
    def __init__(self, environment: RunEnvironment, scenario: Scenario, setup: RunSetup, *,
                 run_id: str | None = None, journal_path: str | None = None,
                 outputs: Outputs | None = None, seed: int | None = None) -> None:
        self.environment = environment
        self.scenario = scenario
        self.run_id = run_id or new_run_id()  # names its owner: see fault_control
        self.seed = scenario.seed if seed is None else seed
        path = journal_path or f"fleetchaos-out/{self.run_id}.journal.jsonl"
        self.journal = JournalWriter(path)  # FileExistsError: a journal is never appended to
        self.run_setup = setup
        self.outputs = outputs
        self.prepared: Prepared | None = None
        self.active: dict[str, ActiveFault] = {}  # step key -> what to undo
        self.fired: list[dict[str, Any]] = []
        self.fired_steps: set[int] = set()
        self.t0: float | None = None
        self.wall_t0: float | None = None
        self.set_up = False
        self.finished = False
        self.setup_error: str | None = None
        self.harness_error: str | None = None
        self.refused: str | None = None  # the backend refused the fleet's credentials
        self.refusals = RefusalWatch()
        self.summary: dict[str, Any] | None = None
        self.manual_count = 0
        self._lock = gevent.lock.RLock()  # one step (or the final rollback) at a time
        self._timers: list[gevent.Greenlet[..., None]] = []
        self._sampler: gevent.Greenlet[[], None] | None = None
        self._finished_event = gevent.event.Event()

    # --- the clock ----------------------------------------------------------------------
    def elapsed(self) -> float:
        return 0.0 if self.t0 is None else time.monotonic() - self.t0

    def _sleep_until(self, t: float) -> None:
        """Sleep until engine time ``t`` (gevent timers wake within a few ms of it)."""
        while not self.finished:
            remaining = t - self.elapsed()
            if remaining <= 0:
                return
            gevent.sleep(remaining)

    # --- set-up -------------------------------------------------------------------------
    def setup(self) -> None:
        self.prepared = self.run_setup.start(self.journal)
        self.t0 = self.journal.t0
        self.wall_t0 = self.prepared.wall_t0 or None
        if self.prepared.subscribe_drivers is not None:
            self.prepared.subscribe_drivers(self.record_driver)
        self.set_up = True
        self._sampler = gevent.spawn(self._sample_loop)
        self._timers = [gevent.spawn(self._run_step, step) for step in self.scenario.timeline]

    def start(self) -> bool:
        """Set up if not yet done; False (and exit code 2) when set-up failed."""
        if self.set_up:
            return True
        if self.finished:
            return False
        try:
            self.setup()
        except SetupError as exc:
            self.fail_setup(str(exc))
            return False
        except Exception as exc:  # a bug or a server misbehaving: the harness failed (exit 3)
            self.journal.write("error", what="set-up", message=_one_line(exc),
                               traceback=traceback.format_exc(limit=8))
            self.setup_error = _one_line(exc)
            self._harness_failure(f"set-up failed: {_one_line(exc)}", stop=False)
            self.finish("set-up failed")
            return False
        return True

    # --- the shape's tick ---------------------------------------------------------------
    def tick(self) -> tuple[int, float, list[Any]] | None:
        """Locust's load shape: the users to run now (steps fire on their own timers)."""
        if self.finished or not self.start():
            return None
        if self.elapsed() >= self.scenario.duration_s:
            return None
        assert self.prepared is not None
        classes = self.prepared.user_classes()  # all fixed counts: the total is their sum
        return (sum(int(getattr(c, "fixed_count", 0)) for c in classes),
                self.prepared.spawn_rate, classes)

    def fail_setup(self, message: str) -> None:
        self.setup_error = message
        print(f"fleetchaos: error: {message}", file=sys.stderr, flush=True)
        self.environment.process_exit_code = 2
        self.finish("set-up failed")

    # --- steps --------------------------------------------------------------------------
    def _run_step(self, step: Step) -> None:
        """A step's own timer: apply at ``at``, roll back at ``at + duration``."""
        key = str(step.index)
        self._sleep_until(step.at_s)
        with self._locked() as ok:
            if not ok or self.finished:
                return
            if self._fire(step) is None:
                return
        if step.duration_s is None or key not in self.active:
            return
        self._sleep_until(step.at_s + step.duration_s)
        with self._locked() as ok:
            if not ok or self.finished:
                return
            try:
                self._rollback(key, reason="duration ended")
            except Exception as exc:
                self._harness_failure(f"rolling back step {step.index} ({step.label}) failed: "
                                      f"{_one_line(exc)}")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[bool]:
        """One step (or the final rollback) at a time; yields False if the lock stayed
        busy for LOCK_TIMEOUT_S (a hung Toxiproxy call): the caller then gives up."""
        ok = bool(self._lock.acquire(timeout=LOCK_TIMEOUT_S))
        try:
            yield ok
        finally:
            if ok:
                self._lock.release()

    def _fire(self, step: Step, manual: bool = False) -> dict[str, Any] | None:
        assert self.prepared is not None
        key = str(step.index)
        started = self.elapsed()
        try:
            applied = step.spec.apply(self.prepared.env, key)
        except Exception as exc:
            failed = self.elapsed()
            message = (f"step {step.index} ({step.label}) failed at {failed:.1f} s: "
                       f"{_one_line(exc)}")
            self.journal.write("error", t=round(failed, 3), what="step", step=step.index,
                               action=step.action, label=step.label, manual=manual,
                               message=message, traceback=traceback.format_exc(limit=8))
            if manual:
                raise
            self._harness_failure(message)
            return None
        on = self.elapsed()
        record = self.journal.write(
            "step", t=round(on, 3), action=step.spec.journal_action, step=step.index,
            phase=self.scenario.phase_at(on), detail=applied.detail, manual=manual,
            label=step.label, fault=step.spec.fault, scheduled_s=round(step.at_s, 3),
            call_s=[round(started, 3), round(on, 3)],
            until_s=None if step.duration_s is None else round(step.at_s + step.duration_s, 3))
        self.fired.append(record)
        self.fired_steps.add(step.index)
        if applied.undo is not None:
            self.active[key] = ActiveFault(step, applied, on)
        return record

    def _rollback(self, key: str, reason: str = "duration ended") -> None:
        fault = self.active.pop(key, None)
        if fault is None:
            return
        effect: Effect | None = None
        if fault.applied.measure is not None:
            try:
                effect = fault.applied.measure()
            except Exception as exc:  # a counter we could not read: the effect is unknown
                effect = Effect(None, f"unknown ({_one_line(exc)})", "")
        started = self.elapsed()
        assert fault.applied.undo is not None
        try:
            detail = fault.applied.undo()
        except Exception:
            self.active[key] = fault  # still on: the final sweep removes it by its marker
            raise
        off = self.elapsed()
        self.journal.write(
            "step", t=round(off, 3), action=fault.step.spec.undo_action, step=key,
            phase=self.scenario.phase_at(off), detail={**detail, "rollback": reason},
            manual=fault.step.index > MANUAL_BASE, label=fault.step.label, fault=fault.step.spec.fault,
            on_s=round(fault.on_s, 3), off_s=round(off, 3), call_s=[round(started, 3), round(off, 3)],
            effect=None if effect is None else effect.to_json())

    def _harness_failure(self, message: str, stop: bool = True) -> None:
        """The harness itself failed: say it in one line, exit 3, stop the run."""
        if self.harness_error is None:
            self.harness_error = message
            print(f"fleetchaos: harness failure: {message}", file=sys.stderr, flush=True)
            self.environment.process_exit_code = 3
            if stop:
                gevent.spawn(self._abort)

    def _refused(self, message: str) -> None:
        """The backend refuses the fleet (issue 22): a set-up failure, exit 2, one line."""
        self.refused = message
        print(f"fleetchaos: error: {message}", file=sys.stderr, flush=True)
        self.environment.process_exit_code = 2
        gevent.spawn(self._abort, "credentials refused")

    def _abort(self, reason: str = "step failed") -> None:
        self.finish(reason)
        runner = getattr(self.environment, "runner", None)
        if runner is not None:
            runner.quit()

    # --- web UI -------------------------------------------------------------------------
    def apply_manual(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A step from the web UI's Chaos tab, validated like a timeline step."""
        if not self.set_up or self.finished:
            raise ScenarioError("the run is not in progress")
        action = raw.get("action")
        if action == "toxic_remove":
            name = raw.get("name")
            key = next((k for k, f in self.active.items()
                        if name in f.applied.names or name == f.step.label), None)
            if key is None:
                raise ScenarioError(f"no active fault named {name!r}")
            with self._locked() as ok:
                if not ok:
                    raise ScenarioError("a step is still being applied; try again")
                self._rollback(key, reason="removed by hand")
            return {"removed": name}
        step = manual_step(raw, self.scenario, self.manual_count + 1, self.elapsed())
        self.manual_count += 1
        with self._locked() as ok:
            if not ok:
                raise ScenarioError("a step is still being applied; try again")
            record = self._fire(step, manual=True)
        assert record is not None
        if step.duration_s is not None:
            self._timers.append(gevent.spawn(self._end_manual, step))
        return record

    def _end_manual(self, step: Step) -> None:
        assert step.duration_s is not None
        self._sleep_until(step.at_s + step.duration_s)
        with self._locked() as ok:
            if ok and not self.finished:
                try:
                    self._rollback(str(step.index), reason="duration ended")
                except Exception as exc:
                    self._harness_failure(f"rolling back {step.label} failed: {_one_line(exc)}")

    def status(self) -> dict[str, Any]:
        t = self.elapsed()
        prepared = self.prepared
        return {
            "run_id": self.run_id, "scenario": self.scenario.name, "title": self.scenario.title,
            "elapsed_s": round(t, 1), "duration_s": self.scenario.duration_s,
            "phase": self.scenario.phase_at(t), "finished": self.finished,
            "setup_error": self.setup_error, "harness_error": self.harness_error,
            "phases": [asdict(p) for p in self.scenario.phases],
            "timeline": [{**s.to_json(), "fired": s.index in self.fired_steps}
                         for s in self.scenario.timeline],
            "fired": self.fired[-50:],
            "active_faults": [f.status(k) for k, f in self.active.items()],
            "proxies": dict(prepared.listen) if prepared else {},
            "fleet": prepared.latest_fleet() if prepared else {},
            "slos": [asdict(s) for s in self.scenario.slos],
            "slo_results": (self.summary or {}).get("slos"),
        }

    # --- sampling -----------------------------------------------------------------------
    def _sample_loop(self) -> None:
        next_at = 1.0
        failed = False
        while not self.finished:
            self._sleep_until(next_at)
            next_at += 1.0
            if self.finished:
                break
            try:
                self._write_sample()
            except Exception as exc:  # one error record, then keep the clock going
                if not failed:
                    self.journal.write("error", what="sample", message=_one_line(exc),
                                       traceback=traceback.format_exc(limit=8))
                failed = True

    def _write_sample(self) -> None:
        if self.prepared is None:
            return
        t = self.elapsed()
        data = self.prepared.sample()
        record = self.journal.write(
            "sample", t=round(t, 3), dt=1.0, phase=self.scenario.phase_at(t - 0.5),
            users=self.prepared.user_count(),
            active_faults=[f.step.label for f in self.active.values()], **data)
        refusing = {int(s) for s in REFUSED}
        injects = any(f.step.spec.to_json().get("status") in refusing
                      for f in self.active.values())
        reason = self.refusals.add(record, injects_refusals=injects,
                                   fault_on=bool(self.active))
        if reason is not None and self.refused is None and not self.finished:
            self._refused(reason)

    def record_driver(self, record: dict[str, Any]) -> None:
        """Journal one driver's outcome (already on the run's clock: ``t``, ``need_started_s``,
        ``need_ended_s``) in the phase where it ended (got in, or gave up)."""
        self.journal.write("driver", phase=self.scenario.phase_at(record["need_ended_s"]),
                           **record)

    # --- the end ------------------------------------------------------------------------
    def finish(self, reason: str) -> dict[str, Any] | None:
        """Roll everything back and write the verdict; safe to call more than once.

        A second caller (Locust's quitting hook while a signal handler is finishing)
        waits for the first to complete, so the process cannot exit mid-rollback.
        """
        if self.finished:
            self._finished_event.wait(timeout=60)
            return self.summary
        self.finished = True
        try:
            return self._finish(reason)
        finally:
            if self.prepared is not None:
                self.prepared.stop()
            self._finished_event.set()

    @staticmethod
    def _await_last_reports(prepared: Prepared) -> None:
        """Workers send a last report when told to stop (after their cars' last acks): the
        final sample waits for all of them, up to ``last_report_wait_s``. A fixed 2 s wait
        read the workers' last periodic reports instead (a headless master ends the run
        before it stops its workers): journal 162 records sent, the workers' own 178."""
        wait_s, ready = prepared.last_report_wait_s, prepared.last_reports_in
        if wait_s <= 0:
            return
        if prepared.request_last_reports is not None:
            prepared.request_last_reports()
        if ready is None:
            gevent.sleep(wait_s)
            return
        deadline = time.monotonic() + wait_s
        while not ready() and time.monotonic() < deadline:
            gevent.sleep(0.05)

    def _finish(self, reason: str) -> dict[str, Any] | None:
        current = gevent.getcurrent()
        with self._locked():  # an apply or undo in flight completes first
            gevent.killall([g for g in self._timers if g is not current], block=False)
        if self._sampler is not None and self._sampler is not current:
            self._sampler.kill(block=False)
        if self.set_up:
            if self.prepared is not None and not reason.startswith("signal"):
                self._await_last_reports(self.prepared)
            self._write_sample()
        removed: list[str] = []
        left: list[str] = []
        if self.prepared is not None:
            with self._locked():
                for key in list(self.active):
                    try:
                        self._rollback(key, reason=f"run ended ({reason})")
                    except Exception as exc:
                        self.journal.write("error", what="rollback", step=key,
                                           message=_one_line(exc),
                                           traceback=traceback.format_exc(limit=8))
            try:
                removed, left = self.prepared.cleanup()
            except Exception as exc:
                self.journal.write("error", what="cleanup", message=_one_line(exc))
                left = [f"unknown (Toxiproxy unreachable: {_one_line(exc)})"]
            if left:  # a fault we added is still on: the harness failed its promise
                self._harness_failure(f"{len(left)} fault(s) could not be removed when the run "
                                      f"ended: {', '.join(left)[:200]}", stop=False)
        if self.set_up:
            self.journal.write("cleanup", reason=reason, removed=removed, left=left,
                               leftovers_found=[])
            cut_short = reason.startswith("signal") or \
                self.elapsed() < self.scenario.duration_s - 1
            self.summary = final_verdict(build_summary(read_journal(self.journal.path)),
                                         harness_error=self.harness_error, cut_short=cut_short,
                                         refused=self.refused)
            for slo in self.summary["slos"]:
                self.journal.write("slo", **slo)
            self.journal.write("summary", **self.summary)
            if self.environment.process_exit_code is None:
                self.environment.process_exit_code = exit_code(self.summary["verdict"])
            if self.outputs is not None:
                self.outputs(self.summary, read_journal(self.journal.path))
        self.journal.close()
        return self.summary


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]

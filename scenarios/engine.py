"""The timeline engine: runs on the Locust master (or local runner) only.

It sets the run up (Toxiproxy, proxies, fleet config, fleet registration), fires each
timeline step when its time comes and rolls it back when its duration ends, samples
once a second, and — however the run ends — removes every fault it added, then
writes SLO results and the summary. Everything it does goes to the journal first.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.event
import requests

from fleetchaos.common.loopback import TargetNotAllowed, check_loopback
from fleetchaos.scenarios.fault_control import FaultControl, marker, new_run_id
from fleetchaos.scenarios.journal import JournalWriter, read_journal
from fleetchaos.scenarios.sampler import Sampler
from fleetchaos.scenarios.schema import Scenario, Step
from fleetchaos.scenarios.summary import build_summary

ENGINE_ATTR = "fleetchaos_engine"


class SetupError(RuntimeError):
    """The run cannot start (unreachable Toxiproxy, missing extension, ...): exit code 2."""


def current_engine(environment: Any) -> Engine | None:
    return getattr(environment, ENGINE_ATTR, None)


class Engine:
    def __init__(self, environment: Any, scenario: Scenario, *, run_id: str | None = None,
                 journal_path: str | None = None, admin_token: str | None = None,
                 allow_remote: bool = False, outputs: dict[str, str | None] | None = None,
                 seed: int | None = None) -> None:
        self.environment = environment
        self.scenario = scenario
        self.run_id = run_id or new_run_id()  # names its owner: see fault_control
        self.seed = scenario.seed if seed is None else seed
        path = journal_path or f"fleetchaos-out/{self.run_id}.journal.jsonl"
        self.journal = JournalWriter(path)
        self.admin_token = admin_token
        self.allow_remote = allow_remote
        self.outputs = outputs or {}
        self.faults: FaultControl | None = None
        self.builtin_toxiproxy: Any = None
        self.proxy_names: dict[str, str] = {}
        self.listen: dict[str, str] = {}
        self.active: dict[str, dict[str, Any]] = {}  # fault key -> what to undo
        self.pending: list[Step] = list(scenario.timeline)
        self.ends: list[tuple[float, str]] = []
        self.fired: list[dict[str, Any]] = []
        self.fleet_size = {"cars": int(scenario.fleet.get("cars", 100)),
                           "drivers": int(scenario.fleet.get("drivers", 100))}
        self.spawn_rate = float(scenario.fleet.get("spawn_rate", 200))
        self.knob_baseline: dict[str, Any] = {}
        self.sampler: Sampler | None = None
        self.sampler_greenlet: gevent.Greenlet | None = None
        self.t0: float | None = None
        self.set_up = False
        self.finished = False
        self.setup_error: str | None = None
        self.summary: dict[str, Any] | None = None
        self.manual_count = 0
        self._finished_event = gevent.event.Event()

    # --- set-up -------------------------------------------------------------------------
    def elapsed(self) -> float:
        return 0.0 if self.t0 is None else time.monotonic() - self.t0

    def setup(self) -> None:
        from fleetchaos.fleet_sim import knobs, stats
        from fleetchaos.fleet_sim.canary import register_canary
        from fleetchaos.fleet_sim.locust_users import schedule_record, set_fleet_size
        from fleetchaos.fleet_sim.registration import RegistrationError, register_fleet

        host = self.environment.host
        if not host:
            raise SetupError("no backend: pass --host URL (the backend the proxies forward to)")
        try:
            check_loopback(host, what="backend --host", allow_remote=self.allow_remote)
            url = os.environ.get("TOXIPROXY_URL")
            if url:
                check_loopback(url, what="TOXIPROXY_URL", allow_remote=self.allow_remote)
        except TargetNotAllowed as exc:
            raise SetupError(str(exc)) from None
        if not url:
            from fleetchaos import toxiproxy_server

            self.builtin_toxiproxy = toxiproxy_server.run_in_subprocess(seed=self.seed)
            url = self.builtin_toxiproxy.url
        self.faults = FaultControl(url)
        if not self.faults.reachable():
            raise SetupError(f"no Toxiproxy answers at {url}")
        missing = self.scenario.extensions_needed() - self.faults.extensions()
        if missing:
            raise SetupError(
                f"{self.scenario.source}: needs the {', '.join(sorted(missing))} extension, which "
                f"the Toxiproxy at {url} lacks (a real Toxiproxy has no extensions); unset "
                "TOXIPROXY_URL to use the built-in server")
        leftovers = self.faults.remove_leftovers(keep_run=self.run_id)
        backend = urlsplit(host)
        backend_addr = f"{backend.hostname}:{backend.port or (443 if backend.scheme == 'https' else 80)}"
        for name, upstream in self.scenario.proxies.items():
            target = backend_addr if upstream == "backend" else upstream
            if upstream != "backend":
                try:
                    check_loopback(target, what=f"proxies.{name} upstream",
                                   allow_remote=self.allow_remote)
                except TargetNotAllowed as exc:
                    raise SetupError(str(exc)) from None
            server_name = f"{marker(self.run_id)}{name}"
            self.proxy_names[name] = server_name
            self.listen[name] = self.faults.create_proxy(server_name, target)
        runner = self.environment.runner
        fleet = {k: v for k, v in self.scenario.fleet.items() if k != "spawn_rate"}
        config = {**fleet, "profile": self.scenario.profile, "seed": self.seed,
                  "api_url": f"http://{self.listen['api']}",
                  "telemetry_url": f"http://{self.listen['telemetry']}",
                  "admin_url": host.rstrip("/"), "admin_token": self.admin_token,
                  "workers": max(1, getattr(runner, "worker_count", 1) or 1)}
        try:
            applied = knobs.broadcast(self.environment, config)
        except ValueError as exc:
            raise SetupError(f"{self.scenario.source}: fleet: {exc}") from None
        self.knob_baseline = {"verbosity": applied.verbosity, "cohort": applied.cohort,
                              "retry_policy": applied.retry_policy}
        set_fleet_size(self.fleet_size["cars"], self.fleet_size["drivers"])
        try:
            registered = register_fleet(applied)
            register_canary(applied)
        except (RegistrationError, ValueError) as exc:
            raise SetupError(str(exc)) from None
        self.t0 = time.monotonic()
        self.wall_t0 = time.time()  # drivers plan their needs from it (same seed, same fleet)
        applied = knobs.broadcast(self.environment, {"started_at": self.wall_t0})
        self.journal.t0 = self.t0
        self.journal.write("header", t=0.0, run_id=self.run_id, scenario=self.scenario.name,
                           title=self.scenario.title, description=self.scenario.description,
                           seed=self.seed, started_at=datetime.now(UTC).isoformat(),
                           versions=_versions(), source=self.scenario.source,
                           target={"profile": self.scenario.profile, "host": host,
                                   "toxiproxy_url": url,
                                   "toxiproxy_server": "built-in"
                                   if self.builtin_toxiproxy
                                   or os.environ.get("FLEETCHAOS_TOXIPROXY_BUILTIN")
                                   else "external", "proxies": dict(self.listen)},
                           fleet={**self.fleet_size, "registered": registered,
                                  **{k: v for k, v in config.items()
                                     if k not in ("admin_token", "fallbacks", "telemetry")}},
                           duration_s=self.scenario.duration_s,
                           phases=[asdict(p) for p in self.scenario.phases],
                           slos=[asdict(s) for s in self.scenario.slos],
                           timeline=[_step_json(s) for s in self.scenario.timeline],
                           leftovers_removed=leftovers)
        self.journal.write("schedule", t=0.0, **schedule_record(self.scenario, applied))
        self.environment.events.fleet_driver_outcome.add_listener(self._driver_outcome)
        self.sampler = Sampler(self.environment, stats.snapshot)
        self.sampler_greenlet = gevent.spawn(self._sample_loop)
        self.set_up = True

    # --- the shape's tick ---------------------------------------------------------------
    def tick(self) -> tuple[int, float, list[Any]] | None:
        from fleetchaos.fleet_sim.locust_users import fleet_user_classes

        if self.finished:
            return None
        if not self.set_up:
            try:
                self.setup()
            except SetupError as exc:
                self.fail_setup(str(exc))
                return None
        t = self.elapsed()
        while self.ends and self.ends[0][0] <= t:
            _end, key = self.ends.pop(0)
            self._rollback(key, t)
        while self.pending and self.pending[0].at_s <= t:
            self._fire(self.pending.pop(0), t)
        if t >= self.scenario.duration_s:
            return None
        classes = fleet_user_classes()  # the canary, cars, drivers: all fixed counts
        return sum(c.fixed_count for c in classes), self.spawn_rate, classes

    def fail_setup(self, message: str) -> None:
        self.setup_error = message
        print(f"fleetchaos: error: {message}", file=sys.stderr, flush=True)
        self.environment.process_exit_code = 2
        self.finish("set-up failed")

    # --- steps --------------------------------------------------------------------------
    def _fire(self, step: Step, t: float, manual: bool = False) -> dict[str, Any]:
        key = f"{step.index}"
        detail = self._apply(step, key)
        record = self.journal.write("step", action=_action_name(step.action), step=step.index,
                                    phase=self.scenario.phase_at(t), detail=detail, manual=manual,
                                    until_s=None if step.duration_s is None
                                    else round(t + step.duration_s, 3))
        self.fired.append(record)
        if step.duration_s is not None and key in self.active:
            self.ends.append((t + step.duration_s, key))
            self.ends.sort()
        return record

    def _apply(self, step: Step, key: str) -> dict[str, Any]:
        from fleetchaos.fleet_sim import knobs
        from fleetchaos.fleet_sim.locust_users import set_fleet_size

        assert self.faults is not None
        spec = step.spec
        if step.action == "users":
            self.fleet_size.update({k: int(v) for k, v in spec.items()})
            set_fleet_size(self.fleet_size["cars"], self.fleet_size["drivers"])
            return dict(self.fleet_size)
        if step.action == "verbosity":
            change = {"verbosity": float(spec["level"]), "cohort": float(spec.get("cohort", 1.0))}
            knobs.broadcast(self.environment, change)
            self.active[key] = {"kind": "knobs", "undo": {k: self.knob_baseline[k]
                                                          for k in change}}
            return change
        if step.action in ("toxic", "http_error"):
            name = f"{marker(self.run_id)}{key}-{spec.get('type', 'http_error')}"
            proxy = self.proxy_names[spec["proxy"]]
            if step.action == "toxic":
                attrs = dict(spec.get("attributes") or {})
                toxic_type, stream = spec["type"], spec.get("stream", "downstream")
            else:
                attrs = {k: spec[k] for k in ("share", "status", "method", "path", "body",
                                              "headers") if k in spec}
                toxic_type, stream = "http_error", "upstream"
            self.faults.add_toxic(proxy, name, toxic_type, stream,
                                  float(spec.get("toxicity", 1.0)), attrs)
            self.active[key] = {"kind": "toxic", "proxy": proxy, "name": name}
            return {"proxy": spec["proxy"], "name": name, "type": toxic_type, "stream": stream,
                    "toxicity": float(spec.get("toxicity", 1.0)), "attributes": attrs}
        if step.action == "proxy_down":
            proxy = self.proxy_names[spec["proxy"]]
            self.faults.set_enabled(proxy, False)
            self.active[key] = {"kind": "proxy", "proxy": proxy}
            return {"proxy": spec["proxy"]}
        if step.action == "backend_knob":
            before = self._backend_knobs(spec)
            self.active[key] = {"kind": "backend_knob", "undo": before}
            return {"knobs": spec, "before": before}
        raise ValueError(f"unknown step action {step.action}")

    def _backend_knobs(self, changes: dict[str, Any]) -> dict[str, Any]:
        base = self.environment.host.rstrip("/")
        headers = {"X-Admin-Token": self.admin_token or ""}
        stats = requests.get(f"{base}/admin/stats", headers=headers, timeout=10)
        if stats.status_code != 200:
            raise SetupError(f"backend knobs need the reference backend's admin API "
                             f"(GET /admin/stats answered {stats.status_code})")
        before = {k: stats.json().get("capacity", {}).get(k) for k in changes}
        resp = requests.post(f"{base}/admin/knobs", json=changes, headers=headers, timeout=10)
        if resp.status_code != 200:
            raise SetupError(f"backend refused knobs {changes}: {resp.text[:200]}")
        return before

    def _rollback(self, key: str, t: float, reason: str = "duration ended") -> None:
        from fleetchaos.fleet_sim import knobs

        info = self.active.pop(key, None)
        if info is None or self.faults is None:
            return
        kind = info["kind"]
        if kind == "knobs":
            knobs.broadcast(self.environment, info["undo"])
            action, detail = "verbosity", dict(info["undo"])
        elif kind == "toxic":
            self.faults.remove_toxic(info["proxy"], info["name"])
            action, detail = "toxic_remove", {"name": info["name"]}
        elif kind == "proxy":
            self.faults.set_enabled(info["proxy"], True)
            action, detail = "proxy_up", {"proxy": info["proxy"]}
        else:
            base = self.environment.host.rstrip("/")
            requests.post(f"{base}/admin/knobs", json=info["undo"],
                          headers={"X-Admin-Token": self.admin_token or ""}, timeout=10)
            action, detail = "backend_knob", {"knobs": info["undo"]}
        self.journal.write("step", action=action, step=key, phase=self.scenario.phase_at(t),
                           detail={**detail, "rollback": reason}, manual=False)

    # --- web UI -------------------------------------------------------------------------
    def apply_manual(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A step from the web UI's Chaos tab, validated like a timeline step."""
        from fleetchaos.scenarios.schema import _V, ScenarioError, _step

        if not self.set_up or self.finished:
            raise ScenarioError("the run is not in progress")
        action = raw.get("action")
        if action == "toxic_remove":
            key = next((k for k, i in self.active.items() if i.get("name") == raw.get("name")),
                       None)
            if key is None:
                raise ScenarioError(f"no active fault named {raw.get('name')!r}")
            self._rollback(key, self.elapsed(), reason="removed by hand")
            return {"removed": raw.get("name")}
        self.manual_count += 1
        mapping = {"toxic_add": "toxic", "verbosity": "verbosity", "http_error_add": "http_error"}
        if action not in mapping:
            raise ScenarioError(f"action must be one of toxic_add, toxic_remove, verbosity, "
                                f"http_error_add; got {action!r}")
        body = {k: v for k, v in raw.items() if k not in ("action", "duration")}
        spec = body if action != "verbosity" else {"level": raw.get("level"),
                                                   "cohort": raw.get("cohort", 1.0)}
        step_raw: dict[str, Any] = {"at": 0, mapping[action]: spec}
        if raw.get("duration"):
            step_raw["duration"] = raw["duration"]
        step = _step(_V("web UI", {}), 0, step_raw, self.scenario.proxies,
                     self.scenario.duration_s)
        step = Step(index=1000 + self.manual_count, at_s=self.elapsed(),
                    duration_s=step.duration_s, action=step.action, spec=step.spec)
        return self._fire(step, self.elapsed(), manual=True)

    def status(self) -> dict[str, Any]:
        t = self.elapsed()
        return {
            "run_id": self.run_id, "scenario": self.scenario.name, "title": self.scenario.title,
            "elapsed_s": round(t, 1), "duration_s": self.scenario.duration_s,
            "phase": self.scenario.phase_at(t), "finished": self.finished,
            "setup_error": self.setup_error,
            "phases": [asdict(p) for p in self.scenario.phases],
            "timeline": [{**_step_json(s), "fired": s not in self.pending}
                         for s in self.scenario.timeline],
            "fired": self.fired[-50:],
            "active_faults": [{"key": k, **v} for k, v in self.active.items()],
            "proxies": dict(self.listen),
            "fleet": self.sampler.latest_fleet if self.sampler else {},
            "slos": [asdict(s) for s in self.scenario.slos],
            "slo_results": (self.summary or {}).get("slos"),
        }

    # --- sampling -----------------------------------------------------------------------
    def _sample_loop(self) -> None:
        next_at = time.monotonic() + 1.0
        while not self.finished:
            gevent.sleep(max(0.0, next_at - time.monotonic()))
            next_at += 1.0
            self._write_sample()

    def _write_sample(self) -> None:
        if self.sampler is None:
            return
        t = self.elapsed()
        data = self.sampler.sample()
        self.journal.write("sample", t=round(t, 3), dt=1.0, phase=self.scenario.phase_at(t - 0.5),
                           users=self.environment.runner.user_count if self.environment.runner
                           else 0,
                           active_faults=[_fault_label(v) for v in self.active.values()],
                           **data)

    def _driver_outcome(self, **outcome: Any) -> None:
        """Journal one driver's outcome in the phase where it ended (got in, or gave up),
        with when the need started and ended."""
        from fleetchaos.fleet_sim.stats import outcome_record

        record = outcome_record(outcome, getattr(self, "wall_t0", None), self.elapsed())
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
            if self.builtin_toxiproxy is not None:
                self.builtin_toxiproxy.stop()
            self._finished_event.set()

    def _finish(self, reason: str) -> dict[str, Any] | None:
        if self.sampler_greenlet is not None:
            self.sampler_greenlet.kill(block=False)
            if _is_master(self.environment) and not reason.startswith("signal"):
                gevent.sleep(2.0)  # workers send a last report when told to stop: wait for it
            self._write_sample()
        removed: list[str] = []
        left: list[str] = []
        if self.faults is not None:
            for key in list(self.active):
                try:
                    self._rollback(key, self.elapsed(), reason=f"run ended ({reason})")
                except Exception as exc:
                    print(f"fleetchaos: warning: rollback of {key} failed: {exc}", file=sys.stderr)
            try:
                removed = self.faults.remove_leftovers(run_id=self.run_id)
                left = self.faults.marked(self.run_id)
            except Exception as exc:
                print(f"fleetchaos: warning: cleanup failed: {exc}", file=sys.stderr)
                left = ["unknown (Toxiproxy unreachable)"]
        if self.set_up:
            self.journal.write("cleanup", reason=reason, removed=removed, left=left,
                               leftovers_found=[])
            records = read_journal(self.journal.path)
            self.summary = build_summary(records)
            if reason.startswith("signal") or self.elapsed() < self.scenario.duration_s - 1:
                self.summary["verdict"] = "incomplete"  # cut short: no verdict on the SLOs
            for slo in self.summary["slos"]:
                self.journal.write("slo", **slo)
            self.journal.write("summary", **self.summary)
            if self.environment.process_exit_code is None:
                self.environment.process_exit_code = 0 if self.summary["verdict"] == "pass" else 1
            self._write_outputs(read_journal(self.journal.path))
        self.journal.close()
        return self.summary

    def _write_outputs(self, records: list[dict[str, Any]]) -> None:
        summary_path = self.outputs.get("summary")
        if summary_path and self.summary is not None:
            Path(summary_path).parent.mkdir(parents=True, exist_ok=True)
            Path(summary_path).write_text(json.dumps(self.summary, indent=2) + "\n")
        wanted = {k: self.outputs.get(k) for k in ("junit", "html", "markdown")}
        if any(wanted.values()):
            try:
                from fleetchaos.reports.export import write_all
            except ImportError:
                return
            write_all(records, **wanted)


def _fault_label(info: dict[str, Any]) -> str:
    if info["kind"] == "knobs":
        return "verbosity " + ", ".join(f"{k} was {v}" for k, v in info["undo"].items())
    return str(info.get("name") or info.get("proxy") or info["kind"])


def _is_master(environment: Any) -> bool:
    from locust.runners import MasterRunner

    return isinstance(environment.runner, MasterRunner)


def _action_name(action: str) -> str:
    return {"toxic": "toxic_add", "http_error": "http_error_add", "proxy_down": "proxy_down"}.get(
        action, action)


def _step_json(step: Step) -> dict[str, Any]:
    return {"index": step.index, "at_s": step.at_s, "duration_s": step.duration_s,
            "end_s": step.end_s, "action": step.action, "spec": step.spec}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("fleetchaos", "locust", "toxiproxy-python"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out

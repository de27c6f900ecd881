"""Setting a run up before its clock starts: Toxiproxy (the user's or the built-in one),
the run's proxies, the fleet's configuration and registration, the journal header.

The engine (``fleetchaos.scenarios.engine``) is handed this set-up and never builds one
itself, so its clock, journal and rollback can be tested with fakes (``Prepared``, in
``fleetchaos.scenarios.prepared``, is everything the engine needs afterwards). Anything
wrong here is a set-up failure (exit 2); whatever was started or created is removed again.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fleetchaos.common.loopback import TargetNotAllowed, check_loopback
from fleetchaos.scenarios.journal import JournalWriter
from fleetchaos.scenarios.prepared import Prepared, SetupError
from fleetchaos.scenarios.schema import Scenario
from fleetchaos.scenarios.steps.base import StepEnv

if TYPE_CHECKING:
    from locust.env import Environment

__all__ = ["LocustRunSetup", "Prepared", "RunIdentity", "SetupError"]

# The longest the end of a distributed run waits for its workers' last reports (they come
# once the workers' users stopped: within a second or two, unless the machine is starved).
LAST_REPORT_WAIT_S = 10.0


@dataclass
class RunIdentity:
    run_id: str
    seed: int
    admin_token: str | None = None
    allow_remote: bool = False
    allowed_hosts: tuple[str, ...] = ()  # --allow-host: exactly these, outside loopback

    def check(self, target: str, what: str) -> None:
        check_loopback(target, what=what, allow_remote=self.allow_remote,
                       allowed_hosts=self.allowed_hosts)


class LocustRunSetup:
    """The set-up of a real run inside Locust's master (or local) process."""

    def __init__(self, environment: Environment, scenario: Scenario, run: RunIdentity, *,
                 launch_toxiproxy: Callable[[int], Any] | None = None,
                 fault_control: Callable[[list[str]], Any] | None = None) -> None:
        """``launch_toxiproxy(seed)`` starts a server and returns its child (``.url``,
        ``.stop()``); ``fault_control(urls)`` talks to the servers of a list (TOXIPROXY_URL
        names one, or several separated by commas). Defaults: the built-in server in a
        child process, and toxiproxy-python through FaultServers (scenarios/fault_servers.py)."""
        self.environment = environment
        self.scenario = scenario
        self.run = run
        self.launch_toxiproxy = launch_toxiproxy or _launch_builtin
        self.fault_control = fault_control or _fault_control
        self.builtin_toxiproxy: Any = None
        self.faults: Any = None
        self.broker_monitor: Any = None  # the MQTT broker's $SYS figures (MQTT profiles)
        self.unsubscribe: Callable[[], None] | None = None  # the driver outcomes' listener

    def start(self, journal: JournalWriter) -> Prepared:
        try:
            return self._start(journal)
        except BaseException:
            self._undo_partial()
            raise

    def _undo_partial(self) -> None:
        if self.faults is not None:
            # Toxiproxy gone: the orchestrator's sweep or the next run cleans up.
            with contextlib.suppress(Exception):
                self.faults.remove_leftovers(run_id=self.run.run_id)
        self._stop()

    def _stop(self) -> None:
        if self.unsubscribe is not None:
            self.unsubscribe()
            self.unsubscribe = None
        if self.broker_monitor is not None:
            self.broker_monitor.stop()
            self.broker_monitor = None
        if self.builtin_toxiproxy is not None:
            self.builtin_toxiproxy.stop()
            self.builtin_toxiproxy = None

    def _start(self, journal: JournalWriter) -> Prepared:
        from locust.runners import MasterRunner

        from fleetchaos.fleet_sim import knobs, stats
        from fleetchaos.fleet_sim.canary import register_canary
        from fleetchaos.fleet_sim.locust_users import fleet_user_classes, schedule_record
        from fleetchaos.fleet_sim.profiles import ProfileError, load_profile
        from fleetchaos.fleet_sim.registration import RegistrationError, register_fleet
        from fleetchaos.locust_app.collaborators import HttpBackendAdmin, LocustFleet
        from fleetchaos.locust_app.sampler import Sampler
        from fleetchaos.scenarios.fault_control import marker
        from fleetchaos.scenarios.steps.targeting import ProfileTargets, TargetError, check_aims

        scenario, run, environment = self.scenario, self.run, self.environment
        host = environment.host
        if not host:
            raise SetupError("no backend: pass --host URL (the backend the proxies forward to)")
        from fleetchaos.scenarios.fault_servers import parse_urls

        urls = parse_urls(os.environ.get("TOXIPROXY_URL") or "")
        try:
            run.check(host, "backend --host")
            for one in urls:
                run.check(one, "TOXIPROXY_URL")
        except TargetNotAllowed as exc:
            raise SetupError(str(exc)) from None
        try:
            profile = load_profile(scenario.profile)
        except ProfileError as exc:
            raise SetupError(str(exc)) from None
        targets = ProfileTargets(profile)
        broker_url = _broker_url(scenario, profile, run)
        try:  # every fault aimed through the profile must find its request there
            check_aims(scenario.timeline, profile, scenario.source)
        except TargetError as exc:
            raise SetupError(str(exc)) from None
        if not urls:
            self.builtin_toxiproxy = self.launch_toxiproxy(run.seed)
            urls = [self.builtin_toxiproxy.url]
        faults = self.faults = self.fault_control(urls)
        url = faults.url
        silent = faults.unreachable()
        if silent:
            raise SetupError(f"no Toxiproxy answers at {', '.join(silent)}")
        missing = scenario.extensions_needed() - faults.extensions()
        if missing:
            raise SetupError(
                f"{scenario.source}: needs the {', '.join(sorted(missing))} extension, which "
                f"the Toxiproxy at {url} lacks (a real Toxiproxy has no extensions); unset "
                "TOXIPROXY_URL to use the built-in server")
        leftovers = faults.remove_leftovers(keep_run=run.run_id)
        backend = urlsplit(host)
        default_port = 443 if backend.scheme == "https" else 80
        backend_addr = f"{backend.hostname}:{backend.port or default_port}"
        proxy_names: dict[str, str] = {}
        listen: dict[str, str] = {}  # on the first server (the journal's header)
        listens: dict[str, list[str]] = {}  # on each server, in faults.controls' order
        for name, upstream in scenario.proxies.items():
            target = backend_addr if upstream == "backend" else upstream
            if broker_url and (upstream == "broker" or (upstream == "backend"
                                                        and name == "telemetry")):
                # cars over MQTT: their link goes through this proxy to the broker
                target = _host_port(broker_url)
            elif upstream != "backend":
                try:
                    run.check(target, f"proxies.{name} upstream")
                except TargetNotAllowed as exc:
                    raise SetupError(str(exc)) from None
            proxy_names[name] = f"{marker(run.run_id)}{name}"
            listens[name] = faults.create_proxy(proxy_names[name], target)
            listen[name] = listens[name][0]
        shares = _proxy_shares(faults, listens)
        runner = environment.runner
        fleet_settings = {k: v for k, v in scenario.fleet.items() if k != "spawn_rate"}
        config = {**fleet_settings, "profile": scenario.profile, "seed": run.seed,
                  "api_url": f"http://{listen['api']}",
                  "telemetry_url": f"http://{listen['telemetry']}",
                  **({"proxy_shares": shares} if len(shares) > 1 else {}),
                  "admin_url": host.rstrip("/"), "admin_token": run.admin_token,
                  "workers": max(1, getattr(runner, "worker_count", 1) or 1)}
        try:
            applied = knobs.broadcast(environment, config)
        except ValueError as exc:
            raise SetupError(f"{scenario.source}: fleet: {exc}") from None
        baseline = {"verbosity": applied.verbosity, "cohort": applied.cohort,
                    "retry_policy": applied.retry_policy}
        fleet = LocustFleet(environment, int(scenario.fleet.get("cars", 100)),
                            int(scenario.fleet.get("drivers", 100)))
        fleet.set_size(*fleet.size())
        try:
            registered = register_fleet(applied)
            register_canary(applied)
        except (RegistrationError, ValueError) as exc:
            raise SetupError(str(exc)) from None
        _probe_or_refuse(profile, host, applied, run.seed)
        journal.t0 = time.monotonic()
        wall_t0 = time.time()  # drivers plan their needs from it (same seed, same fleet)
        applied = knobs.broadcast(environment, {"started_at": wall_t0})
        cars, drivers = fleet.size()
        journal.write("header", t=0.0, run_id=run.run_id, scenario=scenario.name,
                      title=scenario.title, description=scenario.description,
                      seed=run.seed, started_at=datetime.now(UTC).isoformat(),
                      hostname=platform.node(),  # reports: JUnit hostname, HTML facts
                      versions=versions(), source=scenario.source,
                      target={"profile": scenario.profile, "host": host,
                              "toxiproxy_url": faults.controls[0].url,
                              **({"toxiproxy_urls": [c.url for c in faults.controls],
                                  "proxy_shares": shares} if len(shares) > 1 else {}),
                              "toxiproxy_server": "built-in"
                              if self.builtin_toxiproxy
                              or os.environ.get("FLEETCHAOS_TOXIPROXY_BUILTIN")
                              else "external", "proxies": dict(listen),
                              **({"mqtt_url": broker_url} if broker_url else {}),
                              "normal": normal_answers(profile)},
                      fleet={"cars": cars, "drivers": drivers, "registered": registered,
                             **{k: v for k, v in config.items()
                                if k not in ("admin_token", "fallbacks", "telemetry")}},
                      duration_s=scenario.duration_s,
                      phases=[asdict(p) for p in scenario.phases],
                      slos=[asdict(s) for s in scenario.slos],
                      timeline=[s.to_json() for s in scenario.timeline],
                      leftovers_removed=leftovers, time_scale=scenario.time_scale,
                      overrides=list(scenario.overrides))
        journal.write("schedule", t=0.0, **schedule_record(scenario, applied))
        sampler = Sampler(environment, stats.snapshot)
        sample = sampler.sample
        if broker_url:
            from fleetchaos.mqtt_broker.sys_monitor import SysMonitor

            monitor = self.broker_monitor = SysMonitor(broker_url)
            try:
                monitor.start()
            except OSError as exc:
                raise SetupError(f"MQTT broker {broker_url} does not answer: "
                                 f"{exc.strerror or exc}") from None

            def sample() -> dict[str, Any]:
                return {**sampler.sample(), "broker": monitor.figures()}

        def cleanup() -> tuple[list[str], list[str]]:
            return faults.remove_leftovers(run_id=run.run_id), faults.marked(run.run_id)

        def subscribe_drivers(record: Callable[[dict[str, Any]], None]) -> None:
            """Each driver outcome the fleet fires, on the run's clock, to ``record``."""

            def on_outcome(**outcome: Any) -> None:
                record(stats.outcome_record(outcome, wall_t0, time.monotonic() - journal.t0))

            outcomes = stats.outcome_event(environment)
            outcomes.add_listener(on_outcome)
            # a next run in the same web UI has its own
            self.unsubscribe = lambda: outcomes.remove_listener(on_outcome)

        env = StepEnv(faults=faults, fleet=fleet,
                      backend=HttpBackendAdmin(host, run.admin_token), targets=targets,
                      proxy_names=proxy_names, marker=marker(run.run_id),
                      knob_baseline=baseline)
        return Prepared(
            env=env, listen=listen, sample=sample,
            latest_fleet=lambda: sampler.latest_fleet,
            user_count=lambda: environment.runner.user_count if environment.runner else 0,
            user_classes=lambda: fleet_user_classes(environment),
            spawn_rate=float(scenario.fleet.get("spawn_rate", 200)),
            cleanup=cleanup, stop=self._stop, wall_t0=wall_t0,
            last_report_wait_s=LAST_REPORT_WAIT_S if isinstance(runner, MasterRunner) else 0.0,
            last_reports_in=lambda: _last_reports_in(environment),
            request_last_reports=lambda: _stop_workers(environment),
            subscribe_drivers=subscribe_drivers)


def _last_reports_in(environment: Environment) -> bool:
    """Whether every worker still connected sent its last report of this run."""
    from locust.runners import STATE_MISSING, MasterRunner

    from fleetchaos.fleet_sim.runtime import runtime_of

    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return True
    live = {node.id for node in runner.clients.values() if node.state != STATE_MISSING}
    return live <= runtime_of(environment).final_reports


def _stop_workers(environment: Environment) -> None:
    """Tell the workers still running to stop (what Locust's master does on a stop, but
    not on a quit, the headless end): each stops its users and sends its last report."""
    from locust.rpc import Message
    from locust.runners import STATE_INIT, STATE_MISSING, STATE_STOPPED, MasterRunner

    from fleetchaos.fleet_sim.runtime import runtime_of

    stop: Callable[[str, None, str], Any] = Message  # locust.rpc's Message is untyped
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    reported = runtime_of(environment).final_reports
    for node in list(runner.clients.values()):
        if node.id not in reported and node.state not in (STATE_INIT, STATE_STOPPED,
                                                          STATE_MISSING):
            runner.server.send_to_client(stop("stop", None, node.id))


def _probe_or_refuse(profile: Any, host: str, config: Any, seed: int) -> None:
    """What `fleetchaos probe` does, once, before the fleet starts (issue 22): a login, each
    action, a telemetry record, straight to the backend (not through the proxies). Refused
    credentials or an answer the profile does not accept stop the run here (exit 2): every
    request of the run would be refused alike and the verdict would read as a breach.
    It probes as the canary (registered above), so the fleet's own cars are left alone."""
    from fleetchaos.fleet_sim.canary import CanarySettings, index_of
    from fleetchaos.fleet_sim.probe import probe, refusal

    canary = CanarySettings.from_mapping(getattr(config, "canary", None))
    index = index_of(0) if canary.count > 0 or profile.registration is None else 0
    reason = refusal(probe(profile, host, seed=seed, index=index))
    if reason is not None:
        raise SetupError(f"{reason} (before the run: fleetchaos probe --target "
                         f"{profile.source} --host {host} says more)")


def normal_answers(profile: Any) -> dict[str, dict[str, str]]:
    """Answers the profile declares normal, by action (the journal header's
    ``target.normal``): the car-asleep statuses of the request the app wakes the car
    after. The summary counts them apart, not as failures."""
    if "vehicle_data" not in profile.actions or "wake_up" not in profile.actions:
        return {}
    return {"vehicle_data": {str(s): "car asleep" for s in profile.asleep_status}}


def _broker_url(scenario: Scenario, profile: Any, run: RunIdentity) -> str | None:
    """The MQTT broker of a run whose cars speak MQTT (or that proxies ``broker``):
    MQTT_URL (set by ``fleetchaos run``, which starts one), else the profile's own."""
    mqtt = getattr(profile.contract, "mqtt", None)
    if mqtt is None and "broker" not in scenario.proxies.values():
        return None
    if mqtt is None:
        raise SetupError(f"{scenario.source}: proxies: 'broker' carries cars' MQTT, but the "
                         f"profile {profile.name} sends telemetry over "
                         f"{profile.contract.transport} (use an MQTT profile, e.g. --target "
                         "reference-mqtt, or proxy 'backend')")
    url = os.environ.get("MQTT_URL") or (mqtt.broker if mqtt is not None else None)
    if not url:
        raise SetupError("no MQTT broker: set MQTT_URL=mqtt://host:port (fleetchaos run "
                         "starts a broker itself when MQTT_URL is unset)")
    from fleetchaos.common.mqtt_url import parse_mqtt_url

    try:
        parse_mqtt_url(url, what="MQTT_URL")
        run.check(url, "MQTT_URL")
    except ValueError as exc:  # TargetNotAllowed is a ValueError too
        raise SetupError(str(exc)) from None
    return str(url)


def _host_port(mqtt_url: str) -> str:
    from fleetchaos.common.mqtt_url import parse_mqtt_url

    address = parse_mqtt_url(mqtt_url)
    return f"{address.host}:{address.port}"


def _launch_builtin(seed: int) -> Any:
    from fleetchaos import toxiproxy_server

    return toxiproxy_server.run_in_subprocess(seed=seed)


def _fault_control(urls: list[str]) -> Any:
    from fleetchaos.scenarios.fault_servers import FaultServers

    return FaultServers(urls)


def _proxy_shares(faults: Any, listens: dict[str, list[str]]) -> list[dict[str, str]]:
    """Where each share of the workers reaches the scenario's proxies: worker i uses share
    i modulo their number (a server named twice in TOXIPROXY_URL serves two shares)."""
    position = {c.url: i for i, c in enumerate(faults.controls)}
    return [{"api_url": f"http://{listens['api'][position[url]]}",
             "telemetry_url": f"http://{listens['telemetry'][position[url]]}"}
            for url in faults.shares]


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("fleetchaos", "locust", "toxiproxy-python"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out

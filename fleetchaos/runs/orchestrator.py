"""Bring up what a run needs, run Locust as a child, always tear everything down.

Order matters for safety: the scenario is validated before anything starts; the
Toxiproxy server and the reference backend start only when the user did not name
their own; Locust runs in its own process (gevent) and writes the journal; when it
ends — normally, by Ctrl-C, by SIGTERM — the faults carrying this run's marker are
swept once more and every child we started is stopped by its PID. Every child also
ends by itself when this process dies, even by SIGKILL (a parent-death signal), and
writes its log into the run's output folder, never into a pipe nobody reads.

``execute`` is the whole run as a function returning a :class:`RunResult`: the Python
API (``fleetchaos.run``) and the CLI (``run_scenario``) are thin layers over it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from fleetchaos.common import ChildProcess, ChildProcessError, TargetNotAllowed
from fleetchaos.common.errors import (
    EXIT_BAD_INPUT,
    EXIT_BREACH,
    EXIT_HARNESS,
    EXIT_NO_EFFECT,
    EXIT_PASS,
    VERDICT_CODES,
    VERDICT_EXIT_CODES,
    HarnessError,
    UsageError,
)
from fleetchaos.common.parent_death import preexec_die_with_parent
from fleetchaos.runs.child_watch import POLL_S, ChildFailure, ChildWatch, journal_failure
from fleetchaos.runs.disk_watch import DiskWatch, cut_partial_last_line
from fleetchaos.runs.journal_tail import JournalTail
from fleetchaos.runs.options import RunOptions, locust_flags
from fleetchaos.runs.output_paths import check_output_paths, run_inputs
from fleetchaos.scenarios.schema import Scenario

__all__ = ["RunOptions", "RunResult", "execute", "run_scenario"]  # RunOptions lives in runs.options

REFERENCE_PROFILE = "reference"
REFERENCE_PROFILES = (REFERENCE_PROFILE, "reference-mqtt")  # run against the built-in backend
LOCUST_STOP_GRACE_S = 30.0
WORKERS_WAIT_ENV = "FLEETCHAOS_WORKERS_WAIT_S"  # --expect-workers: how long to wait for them


def workers_wait_s() -> int:
    """How long a master waits for all its --expect-workers to join (default 300 s)."""
    try:
        return max(1, int(os.environ.get(WORKERS_WAIT_ENV, "300")))
    except ValueError:
        raise UsageError(f"{WORKERS_WAIT_ENV}={os.environ[WORKERS_WAIT_ENV]!r}: expected a "
                         "whole number of seconds") from None


GAVE_UP = "Gave up waiting for workers to connect"  # Locust's words (locust/main.py)


# After a child's death Locust gets this long to roll back and write its summary before
# SIGKILL: the orchestrator sweeps the faults itself afterwards, and the run must end
# within seconds of the death (issue 27), not after the 30 s a Ctrl-C allows.
FAILURE_GRACE_S = 1.0


@dataclass
class RunResult:
    """How a run ended: the exit code, the engine's summary (None if it never wrote one)."""

    exit_code: int
    summary: dict[str, Any] | None
    journal: Path | None
    message: str = ""  # the one line to print on stderr when exit_code is not 0
    log_path: Path | None = None
    logs: dict[str, Path] = field(default_factory=dict)
    announced: bool = False  # the message was printed already (when the failure was seen)


@dataclass
class Services:
    """Where the run's backend and Toxiproxy are, and which of them we started."""

    backend_url: str
    toxiproxy_url: str
    admin_token: str | None
    started: list[ChildProcess] = field(default_factory=list)
    mqtt_url: str | None = None  # the broker of a run whose cars speak MQTT (docs/mqtt.md)
    locust_env: dict[str, str] = field(default_factory=dict)  # the fleet's MQTT secret


def locustfile_path() -> str:
    """The package's own locustfile (``fleetchaos/locustfile.py``), found beside this
    package, never a user's file by that name."""
    path = Path(__file__).resolve().parent.parent / "locustfile.py"
    if not path.is_file():
        raise UsageError(f"fleetchaos is installed without its locustfile ({path}): reinstall it")
    return str(path)


def load_validated_scenario(opts: RunOptions) -> Scenario:
    """Validate before starting anything, so bad input leaves nothing behind."""
    from fleetchaos.scenarios.loader import load_scenario
    from fleetchaos.scenarios.schema import ScenarioError

    try:
        return load_scenario(opts.scenario, overrides=opts.sets, time_scale=opts.time_scale)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None


def check_machine(scenario: Scenario, opts: RunOptions, profile: str) -> None:
    """Workers and open files within this machine's limits (fleetchaos.runs.bounds)."""
    from fleetchaos.runs.bounds import check_bounds

    check_bounds(scenario, opts, builtin_backend=not opts.host and profile in REFERENCE_PROFILES)


def scenario_profile(scenario: Scenario, opts: RunOptions) -> str:
    """`--target` wins; otherwise the scenario's own `fleet.profile` (default: reference)."""
    return opts.target or scenario.profile


def profile_base_url(profile: str) -> str | None:
    """A profile may name its backend (`base_url`); the reference profile never does."""
    try:
        from fleetchaos.fleet_sim.profiles import load_profile
    except ImportError:
        return None
    try:
        loaded = load_profile(profile)
    except (OSError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    return getattr(loaded, "base_url", None)


@contextlib.contextmanager
def services_for(opts: RunOptions, profile: str, scenario: Scenario) -> Iterator[Services]:
    """Start (or point at) Toxiproxy and the backend; stop what we started on exit."""
    started: list[ChildProcess] = []
    cleanup: list[Path] = []  # temporary folders removed, a kept database settled, at the end
    locust_env: dict[str, str] = {}
    backend_mqtt: tuple[str, str] | None = None
    try:
        # Every target is checked before any child starts.
        backend_url = opts.host or profile_base_url(profile)
        if backend_url:
            opts.check_target(backend_url, "backend --host")
        elif profile not in REFERENCE_PROFILES:
            raise UsageError(f"profile {profile!r} names no base_url: pass --host URL of your backend")
        mqtt_settings = profile_mqtt(profile)
        mqtt_url = None
        if mqtt_settings is not None:  # cars over MQTT: the user's broker, checked now
            mqtt_url = os.environ.get("MQTT_URL") or mqtt_settings.broker
            if mqtt_url:
                check_broker_or_exit(mqtt_url, mqtt_settings, opts)
        toxiproxy_url = opts.toxiproxy_url or os.environ.get("TOXIPROXY_URL")
        if toxiproxy_url:  # one server, or several separated by commas (docs/scaling.md)
            from fleetchaos.scenarios.fault_servers import parse_urls

            what = "toxiproxy_url" if opts.toxiproxy_url else "TOXIPROXY_URL"
            for url in parse_urls(toxiproxy_url):
                opts.check_target(url, what)
        else:
            from fleetchaos import toxiproxy_server

            proxy = toxiproxy_server.run_in_subprocess(
                seed=opts.seed, log_path=str(opts.log_path("toxiproxy")))
            started.append(proxy)
            toxiproxy_url = proxy.url
        if mqtt_settings is not None and not mqtt_url:  # MQTT_URL unset: our own Mosquitto
            from fleetchaos import mqtt_broker
            from fleetchaos.runs.broker_access import run_broker_access

            # Cars, backend and monitor each with their own credentials and ACL (issue 27).
            run_access = run_broker_access(scenario, opts.seed if opts.seed is not None
                                           else scenario.seed)
            locust_env, backend_mqtt = run_access.locust_env, run_access.backend
            broker = mqtt_broker.run_in_subprocess(
                opts.out_dir / f"{opts.run_id}.mqtt", log_path=str(opts.log_path("mqtt")),
                access=run_access.access)
            started.append(broker)
            mqtt_url = broker.url

        admin_token: str | None = os.environ.get("FLEETCHAOS_ADMIN_TOKEN")
        if not backend_url:  # the reference profile without --host: the built-in backend
            from fleetchaos import reference_backend

            db = backend_db_path(opts, cleanup)
            ingest: dict[str, Any] = {"mqtt_url": mqtt_url} if mqtt_url else {}
            backend = reference_backend.run_in_subprocess(
                db_path=str(db), log_path=str(opts.log_path("backend")),
                mqtt_credentials=backend_mqtt, **ingest)
            started.append(backend)
            backend_url = backend.url
            admin_token = str(backend.info.get("admin_token") or "") or None
        yield Services(backend_url, toxiproxy_url, admin_token, started, mqtt_url, locust_env)
    except (ChildProcessError, TargetNotAllowed) as exc:
        raise UsageError(str(exc)) from None
    finally:
        for child in started:  # SIGTERM to all at once: they stop side by side
            if child.alive():
                with contextlib.suppress(OSError):
                    child.popen.send_signal(signal.SIGTERM)
        for child in reversed(started):
            child.stop()
        for path in cleanup:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                settle_wal(path)


def backend_db_path(opts: RunOptions, cleanup: list[Path]) -> Path:
    """Where the built-in backend keeps its database: ``<out>/<run>.backend.db`` with
    ``--keep-db``; otherwise a temporary folder inside the output folder (same disk, seen by
    the disk watch), added to ``cleanup`` so it goes when the run ends (a run's database
    was 136-237 MB left behind every time: issue 23)."""
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    if opts.keep_db:
        kept = opts.out_dir / f"{opts.run_id}.backend.db"
        cleanup.append(kept)  # not removed: settled (settle_wal) once the backend stopped
        return kept
    folder = Path(tempfile.mkdtemp(prefix=f".{opts.run_id}.backend-db-", dir=opts.out_dir))
    cleanup.append(folder)
    return folder / "backend.db"


def settle_wal(db: Path) -> None:
    """A kept database whose backend was killed still has SQLite's ``-wal``/``-shm`` beside
    it: open it once, checkpoint, close, and SQLite folds the WAL in and removes both (a
    backend that stopped cleanly has done so already)."""
    if not db.with_name(db.name + "-wal").exists():
        return
    import sqlite3

    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(db)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()


def profile_mqtt(profile: str) -> Any:
    """The profile's MQTT settings when its cars speak MQTT, else None."""
    from fleetchaos.fleet_sim.profiles import load_profile

    try:
        return load_profile(profile).contract.mqtt
    except (OSError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def check_broker_or_exit(url: str, settings: Any, opts: RunOptions) -> None:
    """A user's broker (MQTT_URL or the profile's): loopback, reachable, accepts the cars."""
    from fleetchaos.fleet_sim.config import _default_fallbacks
    from fleetchaos.fleet_sim.identities import identity
    from fleetchaos.mqtt_broker.check import BrokerCheckFailed, check_broker

    what = "MQTT_URL" if os.environ.get("MQTT_URL") else "telemetry.broker"
    try:
        opts.check_target(url, what)
        car = identity(opts.seed if opts.seed is not None else 2021, 0, _default_fallbacks())
        check_broker(url, settings, {"vin": car.vin, "car_token": car.car_token})
    except (BrokerCheckFailed, ValueError) as exc:  # TargetNotAllowed is a ValueError
        raise UsageError(str(exc)) from None


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def locust_argv(opts: RunOptions, services: Services, profile: str) -> list[str]:
    """Locust's command line: its own flags, and the plugin's derived from the declared
    options (``fleetchaos.common.run_options``) with this run's values."""
    argv = [
        sys.executable, "-m", "locust", "-f", locustfile_path(),
        "--host", services.backend_url, "--exit-code-on-error", "0",
        *locust_flags({"scenario": opts.scenario, "target": profile, "seed": opts.seed,
                       "time_scale": opts.time_scale, "sets": opts.sets,
                       "allow_remote": opts.allow_remote, "allow_host": opts.allow_host,
                       "journal": opts.journal_path,
                       "run_id": opts.run_id, "metrics_port": opts.metrics_port}),
    ]
    master = opts.master_address()
    if master is not None and opts.expect_workers is None:
        # Workers on this machine: the master listens on loopback only (unless told where),
        # so the fleet config it sends (admin token included) stays on the machine; on a
        # free port, so two runs side by side do not meet on Locust's default 5557.
        host, port = master
        port = port or free_loopback_port()
        argv += ["--processes", str(opts.workers), "--master-bind-host", host,
                 "--master-bind-port", str(port), "--master-host", host,
                 "--master-port", str(port)]
    elif master is not None:  # workers of other machines join: fleetchaos worker --master
        host, port = master
        argv += ["--master", "--expect-workers", str(opts.expect_workers),
                 "--expect-workers-max-wait", str(workers_wait_s()),
                 "--master-bind-host", host, "--master-bind-port", str(port)]
    if opts.headless:
        argv += ["--headless", "--only-summary"]
    else:
        argv += ["--web-host", "127.0.0.1", "--web-port", str(opts.web_port)]
        # each web UI run's engine writes its reports when it ends (runs/ui_session.py)
        argv += locust_flags({"summary": opts.summary, "html": opts.html})
    return argv


class _Interrupts:
    """Turns Ctrl-C / SIGTERM into 'stop the Locust child gracefully', once."""

    def __init__(self, child: subprocess.Popen[bytes],
                 before_stop: Callable[[], None] | None = None) -> None:
        self.child = child
        self.signalled: int | None = None
        self.before_stop = before_stop  # sees the run as it was when the signal came
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be set from the main thread
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.signalled is None
        self.signalled = signum
        if first and self.before_stop is not None:
            self.before_stop()
        if self.child.poll() is None:
            # Locust quits gracefully on SIGTERM: its quitting hooks roll the faults back.
            self.child.send_signal(signal.SIGTERM if first else signal.SIGKILL)


@dataclass
class LocustEnd:
    """How the Locust child ended: its exit code, the signal that interrupted us (or None),
    and why we stopped it ourselves (a nearly full disk), if we did."""

    rc: int
    signalled: int | None
    stopped_because: str | None = None
    cut_a_run_short: bool = False  # the signal came while a web UI run was going on
    failure: ChildFailure | None = None  # a child died, stopped or stalled: we stopped the run
    failure_line: str = ""  # the one line that names it (printed when it was seen)
    failure_t: float | None = None  # when, on the run's clock


def run_locust(opts: RunOptions, services: Services, profile: str) -> LocustEnd:
    """Run Locust to its end (or until a signal, or until the disk is nearly full)."""
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    opts.journal_path.parent.mkdir(parents=True, exist_ok=True)
    disk = DiskWatch([opts.out_dir, opts.journal_path.parent])
    stopped_because: str | None = None
    env = dict(os.environ)
    env["TOXIPROXY_URL"] = services.toxiproxy_url
    if services.mqtt_url:
        env["MQTT_URL"] = services.mqtt_url
    env.update(services.locust_env)
    if any(c.name == "toxiproxy server" for c in services.started):
        env["FLEETCHAOS_TOXIPROXY_BUILTIN"] = "1"
    if services.admin_token:
        env["FLEETCHAOS_ADMIN_TOKEN"] = services.admin_token
    ui_token = ""
    if opts.metrics_port == 0:  # pick the port here, so it can be printed before Locust runs
        opts.metrics_port = free_loopback_port()
    if not opts.headless and opts.web_port == 0:  # the same for the web UI's port
        opts.web_port = free_loopback_port()
    if not opts.headless:  # the Chaos API's per-run token: printed below, passed to Locust
        from fleetchaos.locust_app.webui_guard import TOKEN_ENV, new_token

        ui_token = env[TOKEN_ENV] = new_token()
    log_path = opts.log_path("locust")
    tail = JournalTail(opts.journal_path)
    tail.add_listener(_report_leftovers)
    live = _attach_live_view(tail) if (opts.headless and opts.live) else None
    with log_path.open("wb") as log:
        child = subprocess.Popen(
            locust_argv(opts, services, profile),
            stdout=log if opts.headless else None,
            stderr=log if opts.headless else None,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C reaches us; we stop Locust gracefully
            preexec_fn=preexec_die_with_parent(),  # SIGTERM to Locust when we die, even by SIGKILL
        )
        cut_short = False

        def note_a_run_going_on() -> None:  # `ui`: did the signal cut a web UI run short?
            nonlocal cut_short
            from fleetchaos.runs.ui_session import run_in_progress

            cut_short = run_in_progress(opts)

        watch = None
        if not opts.headless:  # `ui`: each run's verdict and files as it ends
            from fleetchaos.runs.ui_session import SessionWatch

            watch = SessionWatch(opts)
        children = ChildWatch.for_run(services.started, child, stalls=opts.headless,
                                      workers=opts.workers)
        tail.add_listener(children.on_record)
        failure: ChildFailure | None = None
        failure_line = ""
        with _Interrupts(child, None if opts.headless else note_a_run_going_on) as interrupts:
            if opts.metrics_port is not None and opts.headless:  # stderr goes to the log
                from fleetchaos.locust_app.metrics_server import ANNOUNCE

                print(ANNOUNCE.format(url=f"http://127.0.0.1:{opts.metrics_port}/metrics"),
                      file=sys.stderr, flush=True)
            master = opts.master_address()
            if opts.expect_workers is not None and master is not None:
                host, port = master
                where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                print(f"fleetchaos: waiting for {opts.expect_workers} worker(s) (up to "
                      f"{workers_wait_s()} s): fleetchaos worker --master {where}",
                      file=sys.stderr, flush=True)
            if not opts.headless:
                from fleetchaos.locust_app.webui_guard import ui_banner

                print(ui_banner(f"http://127.0.0.1:{opts.web_port}/", ui_token)
                      + "  (Ctrl-C stops everything)", flush=True)
            deadline: float | None = None
            while True:
                tail.poll()
                if watch is not None:
                    watch.poll()
                if interrupts.signalled is not None or stopped_because is not None:
                    children.stop_watching_locust()  # its workers end because we asked
                elif failure is None and (failure := children.check()) is not None:
                    # A child died, stopped or stalled: name it now, end what is stopped,
                    # and ask Locust to roll back and stop (SIGKILL after a short grace).
                    failure_line = failure.line(children.started_wall)
                    if live is not None:
                        live.stop()
                        live = None
                    if not opts.quiet:
                        print(f"fleetchaos: error: {failure_line}", file=sys.stderr, flush=True)
                    children.kill_if_stopped(failure)
                    children.stop_watching_locust()
                    if child.poll() is None:
                        child.send_signal(signal.SIGTERM)
                    deadline = time.monotonic() + FAILURE_GRACE_S
                if child.poll() is not None:
                    break
                if interrupts.signalled is not None and deadline is None:
                    deadline = time.monotonic() + LOCUST_STOP_GRACE_S
                if deadline is None and (stopped_because := disk.check()) is not None:
                    child.send_signal(signal.SIGTERM)  # Locust rolls its faults back on SIGTERM
                    deadline = time.monotonic() + LOCUST_STOP_GRACE_S
                if deadline is not None and time.monotonic() > deadline:
                    children.kill_locust()
                time.sleep(POLL_S)
            tail.poll()
            children.reap_workers()  # a worker its master left behind (stopped): SIGKILL
    if live is not None:
        live.stop()
    return LocustEnd(child.returncode, interrupts.signalled, stopped_because, cut_short,
                     failure, failure_line,
                     failure.t(children.started_wall) if failure is not None else None)


def _report_leftovers(record: dict[str, Any]) -> None:
    """Say on stderr what the run's start-up sweep removed (faults of dead runs)."""
    removed = record.get("leftovers_removed") if record.get("type") == "header" else None
    if removed:
        print(f"fleetchaos: removed {len(removed)} fault(s) left by dead run(s): "
              f"{', '.join(map(str, removed))}", file=sys.stderr, flush=True)


def _attach_live_view(tail: JournalTail) -> Any:
    if not sys.stdout.isatty():
        return None
    try:
        from fleetchaos.reports.run.live import attach
    except ImportError:
        return None
    return attach(tail)


def _log_says(log_path: Path, words: str) -> bool:
    try:
        with log_path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            return words in fh.read().decode(errors="replace")
    except OSError:
        return False


REASON_PREFIXES = ("fleetchaos: error:", "fleetchaos: harness failure:")


def error_line(log_path: Path) -> str | None:
    """The last ``fleetchaos: error: ...`` (or ``harness failure:``) line a child wrote to its
    log: the engine's one-line reason for exit 2 or 3."""
    try:
        with log_path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 256 * 1024))
            text = fh.read().decode(errors="replace")
    except OSError:
        return None
    for line in reversed(text.splitlines()):
        for prefix in REASON_PREFIXES:
            if prefix in line:
                return line.split(prefix, 1)[1].strip() or None
    return None


def sweep_faults(services: Services, run_id: str) -> list[str]:
    """Remove any fault with this run's marker that the Locust child could not remove."""
    try:
        from fleetchaos.scenarios.fault_servers import FaultServers, parse_urls
    except ImportError:
        return []
    servers = FaultServers(parse_urls(services.toxiproxy_url))
    try:
        return list(servers.remove_leftovers(run_id=run_id))  # every server is tried
    except Exception as exc:  # the sweep is a safety net: report, never mask the run's result
        reason = "unreachable" if isinstance(exc, OSError) or "connect" in str(exc).lower() \
            else f"{type(exc).__name__}: {exc}"
        where = next((c.url for c in servers.controls if c.url in str(exc)),
                     services.toxiproxy_url)
        print(f"fleetchaos: warning: could not sweep faults of run {run_id} from "
              f"{where}: {reason}", file=sys.stderr)
        return []


def read_summary(opts: RunOptions) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The journal's records and the engine's summary (its last ``summary`` record)."""
    from fleetchaos.scenarios.journal import read_journal

    if not opts.journal_path.exists():
        return [], None
    records = read_journal(opts.journal_path)
    summary = next((r for r in reversed(records) if r.get("type") == "summary"), None)
    if summary is not None:
        summary = {k: v for k, v in summary.items() if k not in ("type", "t")}
    return records, summary


def render_outputs(opts: RunOptions, records: list[dict[str, Any]],
                   logs: dict[str, Path] | None = None) -> None:
    """Print the terminal report (unless quiet) and write the requested files."""
    from fleetchaos.reports.run.export import write_all
    from fleetchaos.reports.run.report import RunReport

    if not records:
        return
    if not opts.quiet:
        from rich.console import Console

        from fleetchaos.reports.run.terminal import render_terminal

        render_terminal(RunReport.from_records(records), Console())
    for option in ("summary", "junit", "html", "markdown"):
        path = getattr(opts, option)
        if path is None:
            continue
        try:
            write_all(records, **{option: path})
        except OSError as exc:
            raise UsageError(f"--{option} {path}: cannot write it: {exc.strerror or exc} "
                             f"(the journal {opts.journal_path} is complete)") from None
    if not opts.quiet:
        database = opts.out_dir / f"{opts.run_id}.backend.db"
        for label, path in (("journal", opts.journal_path), ("summary", opts.summary),
                            ("JUnit", opts.junit), ("HTML", opts.html),
                            ("Markdown", opts.markdown),
                            ("database", database if database.exists() else None)):
            if path is not None:
                print(f"{label:>8}: {path}")
        if logs:
            print(f"{'logs':>8}: {', '.join(str(p) for p in logs.values())}")


def _verdict_code(verdict: str | None) -> int | None:
    code = VERDICT_EXIT_CODES.get(verdict or "")
    return code if code in VERDICT_CODES and verdict != "incomplete" else None


def execute(opts: RunOptions) -> RunResult:
    """The whole run: validate, check outputs, start, run Locust, sweep, stop, export.

    Raises UsageError for bad input or a failed set-up (nothing is left running); every
    other ending is a RunResult whose ``exit_code`` says what happened.
    """
    scenario = load_validated_scenario(opts)
    if opts.seed is None:  # the built-in Toxiproxy's fault draws follow the run's seed too
        opts.seed = scenario.seed
    profile = scenario_profile(scenario, opts)
    check_machine(scenario, opts, profile)  # what the machine cannot hold: before any child
    from fleetchaos.runs.preflight import preflight

    preflight(profile, opts.host, allow_remote=opts.allow_remote,  # before any child starts
              allowed_hosts=opts.allowed_hosts)
    check_output_paths(opts, api=opts.api, inputs=run_inputs(opts.scenario, [profile]))
    locust_log = opts.log_path("locust")
    with services_for(opts, profile, scenario) as services:
        end: LocustEnd | None = None
        try:
            end = run_locust(opts, services, profile)
        finally:
            proxy_dead = end is not None and end.failure is not None \
                and end.failure.child == "toxiproxy"  # its faults went with it
            left = [] if proxy_dead else sweep_faults(services, opts.run_id)
        if left and end.failure is None:  # after a failure: in the journal's record
            print(f"fleetchaos: removed {len(left)} fault(s) the run left: {', '.join(left)}",
                  file=sys.stderr)
        logs = {"locust": locust_log}
        logs.update({"toxiproxy" if "toxiproxy" in c.name else
                     "mqtt" if "mqtt" in c.name else "backend": c.log_path
                     for c in services.started if c.log_path is not None})
        faults_on = [] if proxy_dead else faults_still_on(services, opts.run_id)
    if end.failure is not None:
        return _child_failed(opts, end, left, faults_on, logs)
    rc, signalled = end.rc, end.signalled
    journal_cut = cut_partial_last_line(opts.journal_path)  # a write the disk refused
    records, summary = read_summary(opts)
    reason = (summary or {}).get("error") or error_line(locust_log)
    if end.stopped_because is not None or (journal_cut and summary is None):
        why = end.stopped_because or "writing the journal failed (disk full?)"
        last_t = max((float(r["t"]) for r in records if r.get("type") == "sample"
                      and isinstance(r.get("t"), int | float)), default=None)
        upto = f" up to t={last_t:.1f} s" if last_t is not None else ""
        raise UsageError(f"{why}: the run was stopped, its faults rolled back; the journal "
                         f"{opts.journal_path} is complete{upto}")
    if not opts.headless:  # the web UI: every run it made, each with its reports
        from fleetchaos.runs.ui_session import end_of_session

        ended = end_of_session(opts, rc=rc, signalled=signalled,
                               cut_a_run_short=end.cut_a_run_short, logs=logs, reason=reason)
        return RunResult(ended.exit_code, ended.summary, ended.journal, ended.message,
                         locust_log, logs)
    if signalled is not None:
        render_outputs(opts, records, logs)
        return RunResult(128 + signalled, summary, opts.journal_path,
                         f"interrupted by signal {signalled}: everything started was stopped",
                         locust_log, logs)
    verdict = summary.get("verdict") if summary else None
    if rc == EXIT_BAD_INPUT:
        if verdict == "refused":  # stopped mid-run: the report shows what was refused
            render_outputs(opts, records, logs)
            reason = str((summary or {}).get("verdict_reason") or reason)
        raise UsageError(reason or f"the run could not start; see {locust_log}")
    if opts.expect_workers is not None and not records and _log_says(locust_log, GAVE_UP):
        host, port = opts.master_address() or ("127.0.0.1", 5557)
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise UsageError(f"--expect-workers {opts.expect_workers}: not all of them joined "
                         f"within {workers_wait_s()} s (start them with fleetchaos worker "
                         f"--master {where}; log: {locust_log})")
    render_outputs(opts, records, logs)
    if rc == EXIT_HARNESS or (rc not in VERDICT_CODES):
        why = reason or f"Locust exited with code {rc}"
        return RunResult(EXIT_HARNESS, summary, opts.journal_path,
                         f"the run failed: {why} (log: {locust_log})", locust_log, logs)
    code = EXIT_NO_EFFECT if rc == EXIT_NO_EFFECT else _verdict_code(verdict)
    if code is None:
        why = reason or f"no verdict in the journal (verdict {verdict or 'missing'})"
        return RunResult(EXIT_HARNESS, summary, opts.journal_path,
                         f"the run ended without a verdict: {why} (log: {locust_log})",
                         locust_log, logs)
    message = ""
    stated = str((summary or {}).get("verdict_reason") or "")
    if code == EXIT_BREACH:
        failed = [str(s.get("name") or s.get("metric")) for s in (summary or {}).get("slos", [])
                  if not s.get("passed")]
        message = stated or f"{len(failed)} SLO(s) breached: {'; '.join(failed)}"
    elif code == EXIT_NO_EFFECT and verdict in ("under-delivered", "insufficient"):
        message = f"{verdict}: {stated}"
    elif code == EXIT_NO_EFFECT:
        effects = [str(f.get("message")) for f in (summary or {}).get("no_effect") or []
                   if isinstance(f, dict) and f.get("message")]
        message = "no effect: " + ("; ".join(effects) or "the faults never reached the "
                                   "traffic, so the verdict proves nothing")
    return RunResult(code, summary, opts.journal_path, message, locust_log, logs)


def faults_still_on(services: Services, run_id: str) -> list[str]:
    """The faults of this run still on Toxiproxy after the sweep (None expected): what the
    journal's failure record states as ``left``."""
    from fleetchaos.scenarios.fault_servers import FaultServers, parse_urls

    left: list[str] = []
    try:
        for control in FaultServers(parse_urls(services.toxiproxy_url)).controls:
            left += control.marked(run_id)
    except Exception:  # unreachable: said by the sweep's warning already
        pass
    return left


def _child_failed(opts: RunOptions, end: LocustEnd, removed: list[str], left: list[str],
                  logs: dict[str, Path]) -> RunResult:
    """A child died, stopped or stalled: the journal says so (verdict ``error``), the
    reports are written from it, and the run is a harness failure (exit 3) whose one line
    was printed when the failure was seen."""
    assert end.failure is not None
    cut_partial_last_line(opts.journal_path)
    journal_failure(opts.journal_path, end.failure, t=end.failure_t, line=end.failure_line,
                    removed=removed, left=left)
    records, summary = read_summary(opts)
    render_outputs(opts, records, logs)
    return RunResult(EXIT_HARNESS, summary, opts.journal_path, end.failure_line,
                     opts.log_path("locust"), logs, announced=not opts.quiet)


def run_scenario(opts: RunOptions) -> int:
    """`fleetchaos run`: the exit code (0 held, 1 breach, 3 harness failure, 4 no effect,
    under-delivered or insufficient, 128+N interrupted); raises UsageError (exit 2: bad
    input, a failed set-up, refused credentials) and HarnessError (exit 3, one line)."""
    result = execute(opts)
    if result.exit_code == EXIT_HARNESS:
        raise HarnessError(result.message, log_path=result.log_path, summary=result.summary,
                           announced=result.announced)
    if result.exit_code != EXIT_PASS and result.message:
        print(f"fleetchaos: {result.message}", file=sys.stderr)
    return result.exit_code

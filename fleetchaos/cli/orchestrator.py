"""Bring up what a run needs, run Locust as a child, always tear everything down.

Order matters for safety: the scenario is validated before anything starts; the
Toxiproxy server and the reference backend start only when the user did not name
their own; Locust runs in its own process (gevent) and writes the journal; when it
ends — normally, by Ctrl-C, by SIGTERM — the faults carrying this run's marker are
swept once more and every child we started is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from fleetchaos.cli.errors import EXIT_BAD_INPUT, EXIT_BREACH, EXIT_PASS, UsageError
from fleetchaos.cli.journal_tail import JournalTail
from fleetchaos.common import ChildProcess, ChildProcessError, TargetNotAllowed, check_loopback
from fleetchaos.scenarios.schema import Scenario

REFERENCE_PROFILE = "reference"
LOCUST_STOP_GRACE_S = 30.0


@dataclass
class RunOptions:
    """Everything `fleetchaos run`, `demo` and `ui` pass down, already parsed."""

    scenario: str
    target: str | None = None
    host: str | None = None
    seed: int | None = None
    time_scale: float = 1.0
    sets: list[str] = field(default_factory=list)
    out_dir: Path = Path("fleetchaos-out")
    journal: Path | None = None
    summary: Path | None = None
    junit: Path | None = None
    html: Path | None = None
    markdown: Path | None = None
    workers: int = 1
    allow_remote: bool = False
    headless: bool = True
    web_port: int = 8089
    live: bool = True
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def journal_path(self) -> Path:
        return self.journal or self.out_dir / f"{self.run_id}.journal.jsonl"


@dataclass
class Services:
    """Where the run's backend and Toxiproxy are, and which of them we started."""

    backend_url: str
    toxiproxy_url: str
    admin_token: str | None
    started: list[ChildProcess] = field(default_factory=list)


def locustfile_path() -> str:
    """The package's own locustfile, found through the package (never a user's file by that name)."""
    import fleetchaos

    path = Path(fleetchaos.__file__).resolve().parent / "locustfile.py"
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
def services_for(opts: RunOptions, profile: str) -> Iterator[Services]:
    """Start (or point at) Toxiproxy and the backend; stop what we started on exit."""
    started: list[ChildProcess] = []
    try:
        toxiproxy_url = os.environ.get("TOXIPROXY_URL")
        if toxiproxy_url:
            check_loopback(toxiproxy_url, what="TOXIPROXY_URL", allow_remote=opts.allow_remote)
        else:
            from fleetchaos import toxiproxy_server

            proxy = toxiproxy_server.run_in_subprocess(seed=opts.seed)
            started.append(proxy)
            toxiproxy_url = proxy.url

        backend_url = opts.host or profile_base_url(profile)
        admin_token: str | None = os.environ.get("FLEETCHAOS_ADMIN_TOKEN")
        if backend_url:
            check_loopback(backend_url, what="backend --host", allow_remote=opts.allow_remote)
        elif profile == REFERENCE_PROFILE:
            from fleetchaos import reference_backend

            opts.out_dir.mkdir(parents=True, exist_ok=True)
            db = opts.out_dir / f"{opts.run_id}.backend.db"
            backend = reference_backend.run_in_subprocess(db_path=str(db))
            started.append(backend)
            backend_url = backend.url
            admin_token = str(backend.info.get("admin_token") or "") or None
        else:
            raise UsageError(
                f"profile {profile!r} names no base_url: pass --host URL of your backend"
            )
        yield Services(backend_url, toxiproxy_url, admin_token, started)
    except (ChildProcessError, TargetNotAllowed) as exc:
        raise UsageError(str(exc)) from None
    finally:
        for child in reversed(started):
            child.stop()


def locust_argv(opts: RunOptions, services: Services, profile: str) -> list[str]:
    argv = [
        sys.executable, "-m", "locust", "-f", locustfile_path(),
        "--host", services.backend_url,
        "--scenario", opts.scenario,
        "--target-profile", profile,
        "--time-scale", repr(opts.time_scale),
        "--journal", str(opts.journal_path),
        "--run-id", opts.run_id,
        "--exit-code-on-error", "0",
    ]
    if opts.seed is not None:
        argv += ["--seed", str(opts.seed)]
    for item in opts.sets:
        argv += ["--set", item]
    if opts.allow_remote:
        argv.append("--allow-remote")
    if opts.workers > 1:
        argv += ["--processes", str(opts.workers)]
    if opts.headless:
        argv += ["--headless", "--only-summary"]
    else:
        argv += ["--web-host", "127.0.0.1", "--web-port", str(opts.web_port)]
    return argv


class _Interrupts:
    """Turns Ctrl-C / SIGTERM into 'stop the Locust child gracefully', once."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        self.signalled: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.signalled is None
        self.signalled = signum
        if self.child.poll() is None:
            # Locust quits gracefully on SIGTERM: its quitting hooks roll the faults back.
            self.child.send_signal(signal.SIGTERM if first else signal.SIGKILL)


def run_locust(opts: RunOptions, services: Services, profile: str) -> tuple[int, int | None]:
    """Run Locust to the end; return (its exit code, the signal that interrupted us or None)."""
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    opts.journal_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["TOXIPROXY_URL"] = services.toxiproxy_url
    if any(c.name == "toxiproxy server" for c in services.started):
        env["FLEETCHAOS_TOXIPROXY_BUILTIN"] = "1"
    if services.admin_token:
        env["FLEETCHAOS_ADMIN_TOKEN"] = services.admin_token
    log_path = opts.out_dir / f"{opts.run_id}.locust.log"
    tail = JournalTail(opts.journal_path)
    live = _attach_live_view(tail) if (opts.headless and opts.live) else None
    with log_path.open("wb") as log:
        child = subprocess.Popen(
            locust_argv(opts, services, profile),
            stdout=log if opts.headless else None,
            stderr=log if opts.headless else None,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        with _Interrupts(child) as interrupts:
            if not opts.headless:
                print(f"Locust web UI: http://127.0.0.1:{opts.web_port}  (Ctrl-C stops everything)")
            deadline: float | None = None
            while child.poll() is None:
                tail.poll()
                if interrupts.signalled is not None and deadline is None:
                    deadline = time.monotonic() + LOCUST_STOP_GRACE_S
                if deadline is not None and time.monotonic() > deadline:
                    child.kill()
                time.sleep(0.25)
            tail.poll()
    if live is not None:
        live.stop()
    rc = child.returncode
    if rc not in (EXIT_PASS, EXIT_BREACH) and interrupts.signalled is None:
        print_log_tail(log_path)
    return rc, interrupts.signalled


def _attach_live_view(tail: JournalTail) -> Any:
    if not sys.stdout.isatty():
        return None
    try:
        from fleetchaos.reports.live import attach
    except ImportError:
        return None
    return attach(tail)


def print_log_tail(log_path: Path, lines: int = 15) -> None:
    try:
        text = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return
    interesting = [ln for ln in text if ln.strip()][-lines:]
    if interesting:
        print(f"--- last lines of {log_path} ---", file=sys.stderr)
        for ln in interesting:
            print(ln, file=sys.stderr)


def sweep_faults(services: Services, run_id: str) -> list[str]:
    """Remove any fault with this run's marker that the Locust child could not remove."""
    try:
        from fleetchaos.scenarios.fault_control import FaultControl
    except ImportError:
        return []
    try:
        control = FaultControl(services.toxiproxy_url)
        return list(control.remove_leftovers(run_id=run_id))
    except Exception as exc:  # the sweep is a safety net: report, never mask the run's result
        print(f"warning: could not sweep faults of run {run_id}: {exc}", file=sys.stderr)
        return []


def render_outputs(opts: RunOptions) -> str | None:
    """Print the terminal report and write the requested files; return the verdict."""
    from rich.console import Console

    from fleetchaos.reports.export import write_all
    from fleetchaos.reports.model import RunReport
    from fleetchaos.reports.terminal import render_terminal
    from fleetchaos.scenarios.journal import read_journal

    if not opts.journal_path.exists():
        return None
    records = read_journal(opts.journal_path)
    if not records:
        return None
    report = RunReport.from_records(records)
    render_terminal(report, Console())
    write_all(records, summary=opts.summary, junit=opts.junit, html=opts.html,
              markdown=opts.markdown)
    for label, path in (("journal", opts.journal_path), ("summary", opts.summary),
                        ("JUnit", opts.junit), ("HTML", opts.html), ("Markdown", opts.markdown)):
        if path is not None:
            print(f"{label:>8}: {path}")
    return str(report.summary.get("verdict", "incomplete"))


def run_scenario(opts: RunOptions) -> int:
    """`fleetchaos run`: 0 every SLO held, 1 a breach (or interrupted), 2 bad input/set-up."""
    scenario = load_validated_scenario(opts)
    profile = scenario_profile(scenario, opts)
    with services_for(opts, profile) as services:
        try:
            rc, signalled = run_locust(opts, services, profile)
        finally:
            left = sweep_faults(services, opts.run_id)
        if left:
            names = ", ".join(left)
            print(f"removed {len(left)} fault(s) left by the run: {names}", file=sys.stderr)
    if rc == EXIT_BAD_INPUT and signalled is None:
        raise UsageError(f"the run could not start; see {opts.out_dir}/{opts.run_id}.locust.log")
    verdict = render_outputs(opts)
    if signalled is not None:
        print(f"interrupted by signal {signalled}: everything started was stopped", file=sys.stderr)
        return 128 + signalled
    if verdict == "pass":
        return EXIT_PASS
    return EXIT_BREACH

"""The scenario's Locust wiring: custom arguments (shown in the web UI's start form too),
the engine on the master or local runner, and the end-of-run verdict as exit code."""

from __future__ import annotations

import atexit
import os
import signal
import sys
from typing import Any

import gevent
from locust import events
from locust.runners import WorkerRunner

from fleetchaos.common.ports import port_problem
from fleetchaos.locust_app.assembly import build_engine, outputs_from
from fleetchaos.scenarios.engine import ENGINE_ATTR, current_engine
from fleetchaos.scenarios.loader import load_scenario
from fleetchaos.scenarios.schema import ScenarioError


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    group = parser  # Locust's parser: include_in_web_ui / is_secret work only here
    # The web UI drives faults: bind it to loopback unless the user names an address
    # (`--web-host '*'` for every interface); see fleetchaos.locust_app.webui_guard.
    parser.set_defaults(web_host="127.0.0.1")
    group.add_argument("--scenario", default="baseline", include_in_web_ui=True,
                       help="built-in scenario name or YAML path")
    group.add_argument("--target-profile", default="", include_in_web_ui=True,
                       help="backend profile (default: the scenario's)")
    group.add_argument("--seed", type=int, default=None, include_in_web_ui=True,
                       help="seed (default: the scenario's)")
    group.add_argument("--time-scale", type=float, default=1.0, include_in_web_ui=True,
                       help="multiply every time in the timeline")
    group.add_argument("--set", dest="fc_set", action="append", default=[],
                       include_in_web_ui=False, help="override a scenario field: key=value")
    group.add_argument("--journal", default="", include_in_web_ui=False,
                       help="journal path (JSON Lines)")
    for name in ("summary", "junit", "html-report", "markdown"):
        group.add_argument(f"--{name}", default="", include_in_web_ui=False,
                           help=f"write the {name.replace('-report', '').upper()} report here")
    group.add_argument("--run-id", default="", include_in_web_ui=False,
                       help="marker carried by every fault of this run")
    group.add_argument("--admin-token", default=os.environ.get("FLEETCHAOS_ADMIN_TOKEN", ""),
                       include_in_web_ui=False, is_secret=True,
                       help="backend admin token for fleet registration (or FLEETCHAOS_ADMIN_TOKEN)")
    group.add_argument("--allow-remote", action="store_true", default=False,
                       include_in_web_ui=False,
                       help="allow targets outside 127.0.0.0/8 and ::1")
    group.add_argument("--metrics-port", type=int, default=None, include_in_web_ui=False,
                       help="serve Prometheus metrics on 127.0.0.1:PORT/metrics while the run "
                            "goes on (0: a free port, printed on stderr; default: off)")


@events.init.add_listener
def _create_engine(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    opts = environment.parsed_options
    overrides = list(opts.fc_set)
    if opts.target_profile:
        overrides.append(f"fleet.profile={opts.target_profile}")
    try:
        scenario = load_scenario(opts.scenario, overrides=overrides, time_scale=opts.time_scale)
    except ScenarioError as exc:
        print(f"fleetchaos: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    if environment.web_ui is not None:  # Locust binds it after this hook: a taken port
        web_ui = environment.web_ui     # would be a gevent traceback and a dead UI
        problem = port_problem("--web-port", int(web_ui.port), host=str(web_ui.host or ""),
                               zero="0 picks a free one")
        if problem is not None:
            print(f"fleetchaos: error: {problem}", file=sys.stderr, flush=True)
            sys.exit(2)
    if opts.metrics_port is not None:
        _serve_metrics(environment, opts.metrics_port)
    try:
        engine = build_engine(environment, scenario, run_id=opts.run_id or None,
                              journal_path=opts.journal or None,
                              admin_token=opts.admin_token or None,
                              allow_remote=opts.allow_remote, seed=opts.seed,
                              outputs=outputs_from(opts))
    except FileExistsError as exc:
        print(f"fleetchaos: error: --journal {exc.filename}: exists; a journal is never "
              "appended to (remove it or name a new file)", file=sys.stderr, flush=True)
        sys.exit(2)
    except OSError as exc:
        print(f"fleetchaos: error: --journal {exc.filename}: cannot create: {exc.strerror}",
              file=sys.stderr, flush=True)
        sys.exit(2)
    setattr(environment, ENGINE_ATTR, engine)
    from fleetchaos.locust_app import spawn_warning

    spawn_warning.install(environment)  # the scenario's own ramp-up is no warning
    if opts.headless:  # a plain `locust --headless` prints the verdict after Locust's tables
        from fleetchaos.locust_app.end_of_run import print_at_quit

        print_at_quit(environment, engine.journal.path)
    atexit.register(engine.finish, "process exit")

    def on_sigterm() -> None:
        # A headless shape run blocks Locust's main greenlet before Locust installs its own
        # SIGTERM handler, so without this a SIGTERM would kill the run with faults in place.
        engine.finish("signal SIGTERM")
        if environment.runner is not None:
            environment.runner.quit()

    if environment.parsed_options.headless:
        gevent.signal_handler(signal.SIGTERM, on_sigterm)
    if environment.web_ui is not None:
        try:
            from fleetchaos.locust_app.webui import install
        except ImportError:
            return
        install(environment)


def _serve_metrics(environment: Any, port: int) -> None:
    """The /metrics endpoint (fleetchaos.locust_app.metrics_server), before the engine so a port that cannot
    be bound stops the run before anything is created."""
    problem = port_problem("--metrics-port", port)
    if problem is not None:
        print(f"fleetchaos: error: {problem}", file=sys.stderr, flush=True)
        sys.exit(2)
    from fleetchaos.locust_app.metrics_server import install

    try:
        install(environment, port)
    except OSError as exc:
        print(f"fleetchaos: error: --metrics-port {port}: cannot listen on 127.0.0.1:{port}: "
              f"{exc.strerror or exc}", file=sys.stderr, flush=True)
        sys.exit(2)


@events.test_stop.add_listener
def _test_stop(environment: Any, **_: Any) -> None:
    engine = current_engine(environment)
    if engine is not None and engine.set_up:
        engine.finish("test stopped")


@events.quitting.add_listener
def _quitting(environment: Any, **_: Any) -> None:
    engine = current_engine(environment)
    if engine is not None:
        engine.finish("quitting")

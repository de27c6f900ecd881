"""The scenario's Locust wiring: the run options' flags (declared once in
``fleetchaos.common.run_options``; shown in the web UI's start form too),
the engine on the master or local runner, and the end-of-run verdict as exit code."""

from __future__ import annotations

import atexit
import os
import signal
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import gevent
from locust import events
from locust.runners import WorkerRunner

from fleetchaos.common.errors import UsageError
from fleetchaos.common.ports import port_problem
from fleetchaos.common.run_options import for_locust_plugin
from fleetchaos.locust_app.assembly import build_engine, outputs_from
from fleetchaos.scenarios.engine import ENGINE_ATTR, current_engine
from fleetchaos.scenarios.loader import load_scenario
from fleetchaos.scenarios.schema import ScenarioError

if TYPE_CHECKING:
    from locust.env import Environment


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    """The run options with a Locust flag, as declared (fleetchaos.common.run_options).

    Locust's parser, because ``include_in_web_ui`` / ``is_secret`` work only there. Text
    and path options keep ``""`` for "not given" (what Locust's start form shows); numbers
    arrive as text and are converted and checked by :func:`_checked_options`, so a bad one
    is fleetchaos's one line and exit 2, as every other refusal of a run."""
    # The web UI drives faults: bind it to loopback unless the user names an address
    # (`--web-host '*'` for every interface); see fleetchaos.locust_app.webui_guard.
    parser.set_defaults(web_host="127.0.0.1")
    for declared in for_locust_plugin():
        extra: dict[str, Any] = {"include_in_web_ui": declared.web_ui, "help": declared.help}
        if declared.secret:
            extra["is_secret"] = True
        if declared.kind == "flag":
            extra.update(action="store_true", default=bool(declared.default))
        elif declared.kind == "sets":
            extra.update(action="append", default=[])
        elif declared.kind in ("text", "path"):
            default = os.environ.get(declared.env, "") if declared.env else declared.default
            extra.update(default="" if default is None else str(default))
        else:
            extra.update(default=declared.default)
        parser.add_argument(declared.locust, dest=declared.locust_attr, **extra)


def _checked_options(opts: Any) -> None:
    """Convert and check the numbers given as text, in place (exit 2 on a bad one)."""
    for declared in for_locust_plugin():
        if declared.kind not in ("whole", "number", "port"):
            continue
        raw = getattr(opts, declared.locust_attr, None)
        try:
            value = declared.parse(raw, "locust") if isinstance(raw, str) else \
                declared.check(raw, "locust")
        except UsageError as exc:
            print(f"fleetchaos: error: {exc}", file=sys.stderr, flush=True)
            sys.exit(2)
        setattr(opts, declared.locust_attr, value)


@events.init.add_listener
def _create_engine(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    opts = environment.parsed_options
    _checked_options(opts)
    overrides = list(opts.fc_set)
    if opts.target_profile:
        overrides.append(f"fleet.profile={opts.target_profile}")
    try:
        scenario = load_scenario(opts.scenario, overrides=overrides, time_scale=opts.time_scale)
        scenario = replace(scenario, overrides=tuple(opts.fc_set))  # the header: --set as given
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
                              outputs=outputs_from(opts), allow_host=opts.allow_host or None)
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


def _serve_metrics(environment: Environment, port: int) -> None:
    """The /metrics endpoint (fleetchaos.locust_app.metrics_server), before the engine so a port that cannot
    be bound stops the run before anything is created."""
    problem = port_problem("--metrics-port", port)  # taken? (its range: _checked_options)
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
def _test_stop(environment: Environment, **_: Any) -> None:
    engine = current_engine(environment)
    if engine is not None and engine.set_up:
        engine.finish("test stopped")


@events.quitting.add_listener
def _quitting(environment: Environment, **_: Any) -> None:
    engine = current_engine(environment)
    if engine is not None:
        engine.finish("quitting")

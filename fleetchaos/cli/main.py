"""`fleetchaos` argument parsing and dispatch, and the exit code that says what happened.

Bad input ends as exit code 2, a failure of the harness itself as 3: either way one line
on stderr, never a traceback on the terminal (an unexpected exception's traceback goes
to the run's ``<run>.cli.log``). The servers (`toxiproxy`, `backend`) and `report` own
their own argument parsers, so this module hands their arguments over untouched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fleetchaos.common.errors import (
    EXIT_BAD_INPUT,
    EXIT_BREACH,
    EXIT_CODES_HELP,
    EXIT_HARNESS,
    EXIT_PASS,
    HarnessError,
    UsageError,
)

if TYPE_CHECKING:
    from fleetchaos.runs.orchestrator import RunOptions
    from fleetchaos.scenarios.schema import Scenario

DEMO_SCENARIO = "verbosity-flood-2021"

DESCRIPTION = """\
Chaos and load testing for connected-device access backends. A simulated fleet of
cars (telemetry over WebSockets) and phones (owners unlocking and starting cars)
runs as Locust users through Toxiproxy faults; the report says what broke, when,
how badly, and how many drivers were stranded.

""" + EXIT_CODES_HELP

EXAMPLES = {
    "demo": "example: fleetchaos demo            # the 2021 lockout, about a minute",
    "run": "example: fleetchaos run verbosity-flood-2021 --seed 7 --junit junit.xml\n"
           "         fleetchaos run my-scenario.yaml --target my-profile.yaml --host http://127.0.0.1:8080",
    "ui": "example: fleetchaos ui api-latency   # then open http://127.0.0.1:8089",
    "report": "example: fleetchaos report fleetchaos-out/1a2b3c4d.journal.jsonl --html report.html",
    "validate": "example: fleetchaos validate my-scenario.yaml --set fleet.cars=500\n"
                "         fleetchaos validate my-scenario.yaml --target my-profile.yaml\n"
                "         fleetchaos validate --target my-profile.yaml",
    "scenarios": "example: fleetchaos scenarios\n"
                 "         fleetchaos scenarios --show api-latency > my-scenario.yaml",
    "probe": "example: fleetchaos probe --target my-profile.yaml --host http://127.0.0.1:8080",
    "toxiproxy": "example: fleetchaos toxiproxy --host 127.0.0.1 --port 8474 --config proxies.json",
    "backend": "example: fleetchaos backend --host 127.0.0.1 --port 8080 --db backend.db",
    "compare": "example: fleetchaos compare main.journal.jsonl branch.journal.jsonl --markdown pr.md",
    "sweep": "example: fleetchaos sweep verbosity-flood-2021 "
             "--vary fleet.retry_policy=fixed-1s,retry-budget",
    "breakpoint": "example: fleetchaos breakpoint verbosity-flood-2021 --search "
                  "timeline.0.verbosity.level=1..60 --slo NAME --budget 10m",
}

# Subcommands whose own parser takes every argument after the name.
PASSTHROUGH = {
    "toxiproxy": "the built-in Toxiproxy-compatible server alone (like toxiproxy-server)",
    "backend": "the reference access backend alone",
    "report": "re-render a journal: terminal, --html, --junit, --markdown, --summary",
    "compare": "compare two runs SLO by SLO; exit 1 when NEW regressed beyond a tolerance",
    "sweep": "run a scenario once per combination of --vary values; one table and charts",
    "breakpoint": "bisect a numeric parameter for the smallest value that breaks an SLO",
}


def _add_run_options(p: argparse.ArgumentParser, *, outputs: bool = True) -> None:
    p.add_argument("--target", metavar="PROFILE",
                   help="backend profile: a built-in name (reference, owner-api, generic-rest) "
                        "or a YAML path (default: the scenario's)")
    p.add_argument("--host", metavar="URL",
                   help="your backend's base URL (default: start the built-in reference backend)")
    p.add_argument("--seed", type=int, metavar="N", help="seed for the fleet and every random draw")
    p.add_argument("--time-scale", type=float, default=None, metavar="X",
                   help="multiply every time in the timeline (0.5 = twice as fast)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field, e.g. --set fleet.cars=500 (repeatable)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="Locust worker processes on this machine (default 1)")
    p.add_argument("--out", type=Path, default=Path("fleetchaos-out"), metavar="DIR",
                   help="directory for the journal, logs and the backend database")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow targets outside 127.0.0.0/8 and ::1 (off by default)")
    p.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                   help="serve Prometheus metrics on 127.0.0.1:PORT/metrics during the run "
                        "(0: a free port, printed; docs/metrics.md)")
    if outputs:
        p.add_argument("--journal", type=Path, metavar="PATH", help="journal (JSON Lines) path")
        p.add_argument("--summary", type=Path, metavar="PATH", help="write the summary JSON")
        p.add_argument("--junit", type=Path, metavar="PATH",
                       help="write JUnit XML (one case per SLO)")
        p.add_argument("--html", type=Path, metavar="PATH", help="write the HTML report")
        p.add_argument("--markdown", type=Path, metavar="PATH", help="write the Markdown report")
        p.add_argument("--no-live", action="store_true", help="no live view while running")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetchaos", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `fleetchaos COMMAND --help` for a command's options and an example.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, epilog=EXAMPLES[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    demo = add("demo", f"reproduce the 2021 lockout ({DEMO_SCENARIO}) on the built-in "
                       "backend and Toxiproxy, print the report")
    _add_run_options(demo)

    run = add("run", "run a scenario (built-in name or YAML path) headless; exit code = verdict")
    run.add_argument("scenario", metavar="SCENARIO")
    _add_run_options(run)
    run.add_argument("--repeat", type=int, default=1, metavar="N",
                     help="run N times with the same seed; per SLO the median, spread, margin "
                          "and runs passed (--summary gets the aggregate)")
    run.add_argument("--pass-rule", choices=("all", "majority"), default="all",
                     help="with --repeat: an SLO passes when every run passed it (all, the "
                          "default) or more than half did (majority)")

    ui = add("ui", "run a scenario in the Locust web UI with the Chaos tab")
    ui.add_argument("scenario", metavar="SCENARIO")
    _add_run_options(ui, outputs=False)
    ui.add_argument("--web-port", type=int, default=8089, help="web UI port on 127.0.0.1")

    validate = add("validate", "check a scenario file and/or a backend profile; exit 0 when "
                               "valid, 2 with the reason")
    validate.add_argument("scenario", metavar="SCENARIO", nargs="?")
    validate.add_argument("--target", metavar="PROFILE",
                          help="also check this backend profile (built-in name or YAML path)")
    validate.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    validate.add_argument("--time-scale", type=float, default=None, metavar="X")

    scenarios = add("scenarios", "list the built-in scenarios, one line each")
    scenarios.add_argument("--show", metavar="NAME",
                           help="print this built-in scenario's YAML (to copy and edit)")

    from fleetchaos.cli.probe import PROBE_HELP, add_probe_arguments

    add_probe_arguments(add("probe", PROBE_HELP))

    for name, help_text in PASSTHROUGH.items():
        p = add(name, help_text)
        p.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _run_options(ns: argparse.Namespace, scenario: str, *, headless: bool = True) -> RunOptions:
    from fleetchaos.runs.orchestrator import RunOptions

    if ns.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {ns.workers}")
    if ns.time_scale is not None and not ns.time_scale > 0:
        raise UsageError(f"--time-scale must be a positive number, got {ns.time_scale}")
    if ns.metrics_port is not None and not 0 <= ns.metrics_port <= 65535:
        raise UsageError(f"--metrics-port must be a TCP port (0..65535, 0 picks a free one), "
                         f"got {ns.metrics_port}")
    if ns.metrics_port:  # a fixed port already taken: say so before anything starts
        from fleetchaos.locust_app.metrics_server import bind_problem

        problem = bind_problem(ns.metrics_port)
        if problem is not None:
            raise UsageError(f"--metrics-port {ns.metrics_port}: {problem}")
    opts = RunOptions(
        scenario=scenario, target=ns.target, host=ns.host, seed=ns.seed,
        time_scale=ns.time_scale or 1.0, sets=list(ns.sets), out_dir=ns.out,
        workers=ns.workers, allow_remote=ns.allow_remote, headless=headless,
    )
    for name in ("journal", "summary", "junit", "html", "markdown"):
        if getattr(ns, name, None) is not None:
            setattr(opts, name, getattr(ns, name))
    if getattr(ns, "no_live", False):
        opts.live = False
    if not headless:
        opts.web_port = ns.web_port
    opts.metrics_port = ns.metrics_port
    global _crash_log
    _crash_log = opts.log_path("cli")
    return opts


def cmd_demo(ns: argparse.Namespace) -> int:
    from fleetchaos.runs.orchestrator import execute

    opts = _run_options(ns, DEMO_SCENARIO)
    for name, default in (("summary", "summary.json"), ("html", "report.html"),
                          ("junit", "junit.xml"), ("markdown", "report.md")):
        if getattr(opts, name) is None:
            setattr(opts, name, opts.out_dir / default)
    result = execute(opts)
    if result.exit_code in (EXIT_PASS, EXIT_BREACH):
        return EXIT_PASS  # the demo's flood is meant to breach SLOs: a completed run succeeded
    if result.exit_code == EXIT_HARNESS:
        raise HarnessError(result.message, log_path=result.log_path)
    if result.message:
        print(f"fleetchaos: {result.message}", file=sys.stderr)
    return result.exit_code


def cmd_run(ns: argparse.Namespace) -> int:
    from fleetchaos.runs.orchestrator import run_scenario

    opts = _run_options(ns, ns.scenario)
    if ns.repeat != 1:
        from fleetchaos.runs.repeat import run_repeated

        summary, opts.summary = opts.summary, None
        return run_repeated(opts, ns.repeat, ns.pass_rule, summary)[0]
    return run_scenario(opts)


def cmd_ui(ns: argparse.Namespace) -> int:
    from fleetchaos.runs.orchestrator import run_scenario

    return run_scenario(_run_options(ns, ns.scenario, headless=False))


def cmd_validate(ns: argparse.Namespace) -> int:
    from fleetchaos.cli.probe import validate_profiles
    from fleetchaos.scenarios.loader import load_scenario
    from fleetchaos.scenarios.schema import ScenarioError

    if ns.scenario is None:
        if ns.target is None:
            raise UsageError("validate needs a SCENARIO, --target PROFILE, or both")
        for line in validate_profiles([ns.target]):
            print(line)
        return EXIT_PASS
    try:
        scenario = load_scenario(ns.scenario, overrides=ns.sets, time_scale=ns.time_scale or 1.0)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    needed = scenario.extensions_needed()
    url = os.environ.get("TOXIPROXY_URL")
    if needed and url:
        from fleetchaos.scenarios.fault_control import FaultControl

        try:
            missing = needed - FaultControl(url).extensions()
        except Exception as exc:
            raise UsageError(f"TOXIPROXY_URL {url}: cannot ask for extensions: {exc}") from None
        if missing:
            raise UsageError(f"{scenario.source}: needs the {', '.join(sorted(missing))} "
                             f"extension, which the Toxiproxy at {url} lacks; unset "
                             "TOXIPROXY_URL to use the built-in server")
    profiles = validate_profiles([scenario.profile] + ([ns.target] if ns.target else []))
    _check_aims(scenario, ns.target or scenario.profile)
    title = getattr(scenario, "title", ns.scenario)
    steps = len(getattr(scenario, "timeline", []) or [])
    print(f"ok: {ns.scenario}: {title} ({steps} timeline steps)")
    for line in profiles:
        print(line)
    return EXIT_PASS


def _check_aims(scenario: Scenario, profile_name: str) -> None:
    """Faults aimed through the profile (`actions: [unlock]`) must find those actions in
    the profile the run will use; the run refuses them at set-up otherwise."""
    from fleetchaos.fleet_sim.profiles import load_profile
    from fleetchaos.scenarios.steps.targeting import TargetError, check_aims

    try:
        check_aims(scenario.timeline, load_profile(profile_name), scenario.source)
    except TargetError as exc:
        raise UsageError(str(exc)) from None


def cmd_scenarios(ns: argparse.Namespace) -> int:
    from fleetchaos.scenarios.loader import list_builtin

    if ns.show is not None:
        from fleetchaos.cli.probe import show_scenario

        print(show_scenario(ns.show), end="")
        return EXIT_PASS
    entries = list_builtin()
    width = max((len(name) for name, _ in entries), default=0)
    for name, line in entries:
        print(f"{name:<{width}}  {line}")
    return EXIT_PASS


def _cmd_probe(ns: argparse.Namespace) -> int:
    from fleetchaos.cli.probe import cmd_probe

    return cmd_probe(ns)


def _passthrough(name: str, args: list[str]) -> int:
    if name == "toxiproxy":
        from fleetchaos.toxiproxy_server import main as target
    elif name == "backend":
        from fleetchaos.reference_backend import main as target
    elif name == "compare":
        from fleetchaos.cli.compare import main as target
    elif name == "sweep":
        from fleetchaos.cli.sweep import main as target
    elif name == "breakpoint":
        from fleetchaos.cli.breakpoint import main as target
    else:
        from fleetchaos.cli.report import main as target
    return int(target(args) or 0)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": cmd_demo, "run": cmd_run, "ui": cmd_ui,
    "validate": cmd_validate, "scenarios": cmd_scenarios, "probe": _cmd_probe,
}


# Where an unexpected exception's traceback goes: the run's <run>.cli.log once a run's
# options are known, a file in the temporary directory before that.
_crash_log: Path | None = None


def _write_crash_log(argv: list[str]) -> Path | None:
    """Write the current exception's traceback to the crash log; return where it went."""
    candidates = [_crash_log] if _crash_log is not None else []
    candidates.append(Path(tempfile.gettempdir()) / f"fleetchaos-{os.getpid()}.cli.log")
    text = (f"{datetime.now(UTC).isoformat()} fleetchaos {' '.join(argv)}\n"
            f"{traceback.format_exc()}\n")
    for path in candidates:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(text)
            return path
        except OSError:
            continue
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in PASSTHROUGH:
            try:
                return _passthrough(args[0], args[1:])
            except SystemExit as exc:  # a server refusing its input: its message, exit 2
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
                    return EXIT_BAD_INPUT
                raise
        ns = build_parser().parse_args(args)
        return COMMANDS[ns.command](ns)
    except UsageError as exc:
        print(f"fleetchaos: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except HarnessError as exc:
        print(f"fleetchaos: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_HARNESS
    except KeyboardInterrupt:
        print("fleetchaos: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        where = _write_crash_log(args)
        tail = f" (traceback in {where})" if where else ""
        print(f"fleetchaos: internal error: {type(exc).__name__}: {_one_line(exc)}{tail}",
              file=sys.stderr)
        return EXIT_HARNESS


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 500 else text[:497] + "..."


if __name__ == "__main__":
    sys.exit(main())

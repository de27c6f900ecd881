"""`fleetchaos` argument parsing and dispatch, and the exit code that says what happened.

One dispatcher: every command is a subparser of one argparse parser, listed once in
``COMMANDS`` (its help, its arguments, the function that runs it). Commands with more
than a few options keep them beside their printing (``cli/report.py``, ``compare.py``,
``sweep.py``, ``breakpoint.py``, ``probe.py``: ``add_arguments`` and ``run``); the two
servers (`toxiproxy`, `backend`) are also ``python -m`` programs with their own parser,
so their arguments are forwarded to it untouched. Bad input ends as exit code 2, a
failure of the harness itself as 3: either way one line on stderr, never a traceback on
the terminal (an unexpected exception's traceback goes to the run's ``<run>.cli.log``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from fleetchaos.cli import breakpoint, compare, crash_log, probe, report, sweep, worker
from fleetchaos.cli.options import add_options, values_from
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
    from fleetchaos.runs.options import RunOptions

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
           "         fleetchaos run my-scenario.yaml --target my-profile.yaml --host http://127.0.0.1:8080\n"
           "         TOXIPROXY_URL=http://10.0.0.5:8474,http://10.0.0.6:8474 \\\n"
           "             fleetchaos run my-scenario.yaml --host http://10.0.0.5:8080 \\\n"
           "             --expect-workers 4 --master-bind 10.0.0.4 \\\n"
           "             --allow-host 10.0.0.4,10.0.0.5,10.0.0.6   # workers: fleetchaos worker --help",
    "ui": "example: fleetchaos ui api-latency   # then open http://127.0.0.1:8089",
    "validate": "example: fleetchaos validate my-scenario.yaml --set fleet.cars=500\n"
                "         fleetchaos validate my-scenario.yaml --target my-profile.yaml\n"
                "         fleetchaos validate --target my-profile.yaml",
    "scenarios": "example: fleetchaos scenarios\n"
                 "         fleetchaos scenarios --show api-latency > my-scenario.yaml",
}

def _demo_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, "demo")


def _run_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, "run")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run N times with the same seed; per SLO the median, spread, margin "
                        "and runs passed (--summary gets the aggregate)")
    p.add_argument("--pass-rule", choices=("all", "majority"), default="all",
                   help="with --repeat: an SLO passes when every run passed it (all, the "
                        "default) or more than half did (majority)")


def _ui_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, "ui")


def _validate_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, "validate")


def _scenarios_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--show", metavar="NAME",
                   help="print this built-in scenario's YAML (to copy and edit)")


@dataclass(frozen=True)
class Command:
    """One subcommand: its one-line help, its arguments and the function that runs it.

    ``module`` is a ``fleetchaos.cli`` module that holds ``HELP``, ``DESCRIPTION``,
    ``EPILOG``, ``add_arguments`` and ``run`` (their heavy imports wait inside ``run``);
    ``server`` is a server's ``python -m`` entry point, whose own parser gets every
    argument after the command's name."""

    help: str = ""
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    run: Callable[[argparse.Namespace], int] | None = None
    module: ModuleType | None = None
    server: Callable[[list[str]], int] | None = None


def _toxiproxy(args: list[str]) -> int:
    from fleetchaos.toxiproxy_server import main as server_main

    return int(server_main(args) or 0)


def _backend(args: list[str]) -> int:
    from fleetchaos.reference_backend import main as server_main

    return int(server_main(args) or 0)


def _server(server: Callable[[list[str]], int], args: list[str]) -> int:
    """A server's own command line (``python -m fleetchaos.<server>``), its arguments as given."""
    try:
        return server(args)
    except SystemExit as exc:  # a server refusing its input: its message, exit 2
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return EXIT_BAD_INPUT
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetchaos", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `fleetchaos COMMAND --help` for a command's options and an example.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        module = command.module
        if module is not None:
            p = sub.add_parser(name, help=module.HELP, description=module.DESCRIPTION,
                               epilog=module.EPILOG,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
            module.add_arguments(p)
            p.set_defaults(run=module.run)
            continue
        # a server's own parser prints its help (add_help=False: --help is forwarded to it)
        p = sub.add_parser(name, help=command.help, description=command.help,
                           epilog=EXAMPLES.get(name), add_help=command.server is None,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if command.arguments is not None:
            command.arguments(p)
        p.set_defaults(run=command.run)
    return parser


def _run_options(ns: argparse.Namespace, scenario: str, *, headless: bool = True) -> RunOptions:
    """The command's run options, converted and checked by their declaration
    (``fleetchaos.common.run_options``); taken ports refused before anything starts."""
    from fleetchaos.runs.options import RunOptions

    values = values_from(ns, ns.command)
    values.setdefault("scenario", scenario)  # demo's is fixed
    opts = RunOptions.from_values(values, face="cli", headless=headless)
    crash_log.send_to(opts.log_path("cli"))
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
        raise HarnessError(result.message, log_path=result.log_path, announced=result.announced)
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
    """The web UI until Ctrl-C; then every run made in it, reported like `run` reports one
    (the last run's verdict is the exit code: fleetchaos.runs.ui_session)."""
    from fleetchaos.runs.orchestrator import execute
    from fleetchaos.runs.ui_session import default_report_paths, say

    opts = _run_options(ns, ns.scenario, headless=False)
    default_report_paths(opts)
    result = execute(opts)
    say(result)
    return result.exit_code


def cmd_validate(ns: argparse.Namespace) -> int:
    from fleetchaos.runs.validate import validate

    values = values_from(ns, "validate")
    for line in validate(values["scenario"], values["target"], sets=values["sets"],
                         time_scale=values["time_scale"]):
        print(line)
    return EXIT_PASS


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


COMMANDS: dict[str, Command] = {
    "demo": Command(f"reproduce the 2021 lockout ({DEMO_SCENARIO}) on the built-in backend "
                    "and Toxiproxy, print the report", _demo_arguments, cmd_demo),
    "run": Command("run a scenario (built-in name or YAML path) headless; exit code = verdict",
                   _run_arguments, cmd_run),
    "ui": Command("run a scenario in the Locust web UI with the Chaos tab", _ui_arguments, cmd_ui),
    "validate": Command("check a scenario file and/or a backend profile; exit 0 when valid, "
                        "2 with the reason", _validate_arguments, cmd_validate),
    "scenarios": Command("list the built-in scenarios, one line each", _scenarios_arguments,
                         cmd_scenarios),
    "probe": Command(module=probe),
    "toxiproxy": Command("the built-in Toxiproxy-compatible server alone (like toxiproxy-server)",
                         server=_toxiproxy),
    "backend": Command("the reference access backend alone", server=_backend),
    "report": Command(module=report),
    "compare": Command(module=compare),
    "sweep": Command(module=sweep),
    "breakpoint": Command(module=breakpoint),
    "worker": Command(module=worker),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        _refuse_unknown_command(parser, args)
        ns, rest = parser.parse_known_args(args)
        server = COMMANDS[ns.command].server
        if server is not None:  # every argument after the name, in order, to its own parser
            return _server(server, args[args.index(ns.command) + 1:])
        if rest:  # the command's own usage, and the option it most likely meant
            subparser = _subparsers(parser)[ns.command]
            subparser.error(f"unrecognized arguments: {' '.join(rest)}"
                            f"{_nearest_option(subparser, rest)}")
        return int(ns.run(ns))
    except UsageError as exc:
        print(f"fleetchaos: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except HarnessError as exc:
        if not exc.announced:  # a child's death is said the moment it is seen
            print(f"fleetchaos: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_HARNESS
    except KeyboardInterrupt:
        print("fleetchaos: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        where = crash_log.write(args)
        tail = f" (traceback in {where})" if where else ""
        print(f"fleetchaos: internal error: {type(exc).__name__}: {_one_line(exc)}{tail}",
              file=sys.stderr)
        return EXIT_HARNESS


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _nearest_option(subparser: argparse.ArgumentParser, rest: list[str]) -> str:
    """``" (did you mean --workers?)"`` for the first unknown option close to a known one."""
    from fleetchaos.common.suggest import closest

    known = [s for s in subparser._option_string_actions if s.startswith("--")]
    for word in rest:
        if word.startswith("-"):
            match = closest(word.split("=", 1)[0], known)
            if match is not None:
                return f" (did you mean {match}?)"
    return ""


def _refuse_unknown_command(parser: argparse.ArgumentParser, args: list[str]) -> None:
    """A misspelt command: the top-level usage and the command it most likely meant."""
    from fleetchaos.common.suggest import closest

    first = next((a for a in args if not a.startswith("-")), None)
    if first is None or first in COMMANDS:
        return
    match = closest(first, COMMANDS)
    if match is not None:
        parser.error(f"unknown command {first!r} (did you mean {match}?); "
                     f"commands: {', '.join(COMMANDS)}")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 500 else text[:497] + "..."


if __name__ == "__main__":
    sys.exit(main())

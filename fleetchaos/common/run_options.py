"""Every option of a run, declared once: its name, type, default, range and help.

Five places used to declare them (the CLI's run/ui/demo arguments, `sweep`, the Python
API's keyword arguments, the flags the orchestrator hands Locust, the Locust plugin's
parser) and three checked the workers and the time scale. Now each face derives from
:data:`OPTIONS`, like Locust's ``argument_parser.py`` declares each option once:

- the CLI's arguments: :func:`fleetchaos.cli.options.add_options` adds the options a
  command offers (``commands``) to its argparse parser;
- the Python API: ``fleetchaos.run``'s keyword arguments are the options with an
  ``api`` name (a test ties the signature to this table), and their values go through
  :meth:`RunOption.check` like everyone else's;
- ``sweep --vary`` accepts the options every run of a sweep shares (``varies``) beside
  scenario fields, and ``--set`` of an option's name says which option to use instead;
- Locust: the plugin declares the options with a ``locust`` flag in Locust's parser
  (``plugin``), and the orchestrator passes them to Locust through the same flags.

A value is converted (:meth:`RunOption.parse`, from the text of a command line, a web
form or a ``--vary`` list) and range-checked (:meth:`RunOption.check`) here and nowhere
else; a refusal is one line naming the option as the face spells it (``--workers``,
``workers=``) and echoing the value, raised as :class:`UsageError` (exit code 2).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from fleetchaos.common.errors import UsageError
from fleetchaos.common.ports import MAX_PORT, NOT_A_PORT, out_of_range
from fleetchaos.common.yaml_safe import printable

Face = Literal["cli", "api", "locust"]
Kind = Literal["text", "whole", "number", "flag", "path", "port", "sets"]

RUN_COMMANDS = frozenset({"run", "demo", "ui"})
SEARCH_COMMANDS = frozenset({"sweep", "breakpoint"})  # every run of them shares these
EACH_RUN = RUN_COMMANDS | SEARCH_COMMANDS
OUTPUT_COMMANDS = frozenset({"run", "demo"})  # a headless run's exports

MAX_SEED = 2**63 - 1  # the scenario's own seed field takes the same range (scenarios.schema)
MAX_TEXT = 4096  # PATH_MAX on Linux: a longer name cannot be a file
WORKERS_PER_CPU = 4


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, as a container or taskset sets it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Limit:
    """A maximum that depends on the machine, with why it is what it is and how to raise it."""

    value: int
    why: str
    raise_it: str


def workers_limit() -> Limit:
    """More Locust processes than 4 per CPU only compete for the same CPUs (and 10,000 of
    them starve the machine: issue 22)."""
    cpus = usable_cpus()
    return Limit(WORKERS_PER_CPU * cpus,
                 f"{WORKERS_PER_CPU} x the {cpus} CPU(s) this process may use",
                 "give it more CPUs (a bigger machine, or a wider taskset/cgroup cpuset) or "
                 "run workers on more machines (docs/scaling.md)")


@dataclass(frozen=True)
class RunOption:
    """One run option: what it is, where it is offered, and how its values are checked.

    ``commands`` are the CLI commands that offer it; ``api`` its keyword in
    ``fleetchaos.run`` (None: not offered there); ``locust`` its flag on Locust's command
    line (``plugin``: declared by fleetchaos's Locust plugin; otherwise Locust's own) and
    ``web_ui`` whether Locust's start form shows it. ``positional``: a required argument
    of the CLI and the API (Locust's flag falls back to ``default``)."""

    name: str
    kind: Kind
    default: Any
    help: str
    metavar: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # exclusive lower bound (the time scale is above 0)
    limit: Callable[[], Limit] | None = None  # a machine-dependent maximum
    commands: frozenset[str] = frozenset()
    flag: str | None = None  # the CLI's spelling; default --<name with dashes>
    positional: bool = False
    api: str | None = None
    locust: str | None = None
    locust_dest: str | None = None
    plugin: bool = True
    web_ui: bool = False
    secret: bool = False
    env: str | None = None  # an environment variable that gives the Locust flag's default
    varies: bool = False  # `sweep --vary NAME=...` may vary it per run
    _named: str | None = None  # how refusals name it, on a copy made by parse(named=...)

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def cli_dest(self) -> str:
        return self.name

    @property
    def locust_attr(self) -> str:
        """The attribute of Locust's ``parsed_options`` that holds it."""
        if self.locust_dest:
            return self.locust_dest
        assert self.locust is not None, self.name
        return self.locust.lstrip("-").replace("-", "_")

    def spelled(self, face: Face) -> str:
        """How the face names it in a message: ``--time-scale``, ``time_scale=``."""
        if face == "api":
            return f"{self.api or self.name}="
        if face == "locust" and self.locust:
            return self.locust
        return self.name.upper() if self.positional and face == "cli" else self.cli_flag

    # -- what a value must be --------------------------------------------------------------

    def expected(self) -> str:
        """The accepted values in words (help texts and refusals say the same)."""
        if self.kind in ("whole", "port"):
            if self.kind == "port":
                return f"a TCP port (0..{MAX_PORT}; 0 picks a free one)"
            low = f"{self.minimum:g}" if self.minimum is not None else "0"
            if self.limit is not None:
                return f"a whole number from {low} to {self.limit().value}"
            if self.maximum is not None:
                return f"a whole number from {low} to {int(self.maximum)}"
            return f"a whole number of at least {low}"
        if self.kind == "number":
            if self.above is not None:
                return f"a number above {self.above:g}"
            return "a number"
        if self.kind == "flag":
            return "true or false"
        if self.kind == "sets":
            return "KEY=VALUE overrides (a list, or a mapping in Python)"
        if self.kind == "path":
            return "a file or folder path"
        return "a text"

    def _refuse(self, face: Face, shown: str, why: str) -> UsageError:
        named = self._named
        if named is None:
            named = self.spelled(face) + ("" if face == "api" else " ")
        return UsageError(f"{named}{shown}: {why}")

    def parse(self, text: str, face: Face = "cli", *, named: str | None = None) -> Any:
        """A value from text (a command line, Locust's start form, a ``--vary`` list), checked;
        ``named`` is how a refusal names it when not as the face does (``--vary seed=``)."""
        if named is not None:
            return replace(self, _named=named).parse(text, face)
        shown = _clip(text)
        if self.kind in ("whole", "port"):
            try:
                value: Any = int(text.strip())
            except ValueError:
                raise self._refuse(face, shown, f"expected {self.expected()}") from None
        elif self.kind == "number":
            try:
                value = float(text.strip())
            except ValueError:
                raise self._refuse(face, shown, f"expected {self.expected()}") from None
        elif self.kind == "flag":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise self._refuse(face, shown, f"expected {self.expected()}")
            value = lowered in ("true", "1", "yes", "on")
        elif self.kind == "path":
            value = Path(text)
        elif self.kind == "sets":
            value = [text]
        else:
            value = text
        return self._checked(value, face, shown)

    def check(self, value: Any, face: Face = "api") -> Any:
        """A Python value (the API's keyword, a parsed option) checked; None means the default."""
        if value is None and self.positional:
            raise self._refuse(face, "None", f"expected {self.help}")
        if value is None:
            return list(self.default) if isinstance(self.default, list) else self.default
        shown = repr(value) if face == "api" else str(value)
        shown = _clip(shown)
        kind = self.kind
        if kind in ("whole", "port") and (isinstance(value, bool) or not isinstance(value, int)):
            raise self._refuse(face, shown, f"expected {self.expected()}{_typed(value)}")
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self._refuse(face, shown, f"expected {self.expected()}{_typed(value)}")
        if kind == "flag" and not isinstance(value, bool):
            raise self._refuse(face, shown, f"expected True or False{_typed(value)}")
        if kind in ("text", "path"):
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
            if not isinstance(value, str):
                what = "a path" if kind == "path" else "a text"
                raise self._refuse(face, shown, f"expected {what}{_typed(value)}")
            if kind == "path":
                value = Path(value)
        if kind == "sets":
            value = _override_items(value, lambda why: self._refuse(face, shown, why))
        return self._checked(value, face, shown)

    def _checked(self, value: Any, face: Face, shown: str) -> Any:
        """The range: the one place each option's bounds are checked."""
        if self.kind == "port":
            if out_of_range(value):
                raise self._refuse(face, shown, NOT_A_PORT)
        elif self.kind in ("whole", "number"):
            if not math.isfinite(value):
                raise self._refuse(face, shown, f"expected {self.expected()}")
            low, high = self.minimum, self.maximum
            if ((low is not None and value < low) or (high is not None and value > high)
                    or (self.above is not None and not value > self.above)):
                raise self._refuse(face, shown, f"expected {self.expected()}")
            if self.limit is not None:
                limit = self.limit()
                if value > limit.value:
                    raise self._refuse(face, shown, f"at most {limit.value} here ({limit.why}); "
                                       f"to raise it, {limit.raise_it}")
        elif self.kind in ("text", "path") and len(str(value)) > MAX_TEXT:
            raise self._refuse(face, f"({len(str(value))} characters)",
                               f"expected {self.expected()} of at most {MAX_TEXT} characters")
        return value


def _clip(text: str, width: int = 60) -> str:
    text = printable(text)
    return text if len(text) <= width else text[: width - 3] + "..."


def _typed(value: Any) -> str:
    name = type(value).__name__
    return f", got {'an' if name[0] in 'aeiou' else 'a'} {name}"


def _override_items(value: Any, refuse: Callable[[str], UsageError]) -> list[str]:
    """``--set`` items from a list of ``KEY=VALUE`` texts or (Python) a mapping of values."""
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise refuse(f"expected text keys (dotted scenario fields), got {key!r}")
            items.append(f"{key}={_yaml_scalar(item)}")
        return items
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise refuse(f"expected a mapping of scenario fields to values{_typed(value)}")
    if not all(isinstance(item, str) for item in value):
        raise refuse("expected KEY=VALUE texts")
    return list(value)


def _yaml_scalar(value: Any) -> str:
    """``--set`` values are read as YAML: write Python values so they read back the same."""
    import json

    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


# The options of a run, in the order `--help` lists them.
OPTIONS: tuple[RunOption, ...] = (
    RunOption("scenario", "text", "baseline", "built-in scenario name or YAML path",
              metavar="SCENARIO", positional=True,
              commands=frozenset({"run", "ui", "validate", "sweep", "breakpoint"}),
              api="scenario", locust="--scenario", web_ui=True),
    RunOption("target", "text", None,
              "backend profile: a built-in name (reference, owner-api, generic-rest) or a YAML "
              "path (default: the scenario's)", metavar="PROFILE",
              commands=EACH_RUN | {"validate"}, api="target", locust="--target-profile",
              web_ui=True, varies=True),
    RunOption("host", "text", None,
              "your backend's base URL (default: start the built-in reference backend)",
              metavar="URL", commands=EACH_RUN, api="host", varies=True),
    RunOption("seed", "whole", None, "seed for the fleet and every random draw (default: the "
              "scenario's)", metavar="N", minimum=0, maximum=MAX_SEED, commands=EACH_RUN, api="seed",
              locust="--seed", web_ui=True, varies=True),
    RunOption("time_scale", "number", 1.0, "multiply every time in the timeline (0.5 = twice "
              "as fast)", metavar="X", above=0, commands=EACH_RUN | {"validate"},
              api="time_scale", locust="--time-scale", web_ui=True, varies=True),
    RunOption("sets", "sets", [], "override a scenario field, e.g. --set fleet.cars=500 "
              "(repeatable)", metavar="KEY=VALUE", flag="--set",
              commands=EACH_RUN | {"validate"}, api="overrides", locust="--set",
              locust_dest="fc_set"),
    RunOption("workers", "whole", 1, "Locust worker processes on this machine", metavar="N",
              minimum=1, limit=workers_limit, commands=EACH_RUN, api="workers", varies=True),
    RunOption("allow_remote", "flag", False,
              "allow targets outside 127.0.0.0/8 and ::1 (off by default)",
              commands=EACH_RUN | {"worker"}, api="allow_remote", locust="--allow-remote"),
    RunOption("allow_host", "text", None,
              "allow exactly this address or host name outside loopback as a target (backend, "
              "Toxiproxy, broker) or as --master-bind; several separated by commas; everything "
              "else stays refused (docs/scaling.md)", metavar="ADDR[,ADDR]",
              commands=EACH_RUN | {"worker"}, api="allow_host", locust="--allow-host"),
    RunOption("expect_workers", "whole", None,
              "be a Locust master for N workers started elsewhere (fleetchaos worker --master "
              "ADDR:PORT); the timeline starts once all N joined (docs/scaling.md)",
              metavar="N", minimum=1, maximum=10_000, commands=RUN_COMMANDS),
    RunOption("master_bind", "text", None,
              "where the master listens for workers, ADDR[:PORT] (default 127.0.0.1, port "
              "5557 with --expect-workers); an address outside loopback must be allowed too",
              metavar="ADDR[:PORT]", commands=RUN_COMMANDS),
    RunOption("out", "path", Path("fleetchaos-out"),
              "directory for the journal, logs and the backend database", metavar="DIR",
              commands=RUN_COMMANDS, api="out"),
    RunOption("keep_db", "flag", False,
              "keep the built-in backend's database as OUT/<run>.backend.db (by default it "
              "lives in a temporary folder removed when the run ends)",
              commands=RUN_COMMANDS, api="keep_db"),
    RunOption("metrics_port", "port", None,
              "serve Prometheus metrics on 127.0.0.1:PORT/metrics during the run (0: a free "
              "port, printed; docs/metrics.md)", metavar="PORT", commands=RUN_COMMANDS,
              api="metrics_port", locust="--metrics-port"),
    RunOption("web_port", "port", 8089, "web UI port on 127.0.0.1 (0: a free port, printed)",
              metavar="PORT",
              commands=frozenset({"ui"}), locust="--web-port", plugin=False),
    RunOption("journal", "path", None, "journal (JSON Lines) path", metavar="PATH",
              commands=OUTPUT_COMMANDS, api="journal", locust="--journal"),
    RunOption("summary", "path", None, "write the summary JSON", metavar="PATH",
              commands=OUTPUT_COMMANDS, api="summary", locust="--summary"),
    RunOption("junit", "path", None, "write JUnit XML (one case per SLO)", metavar="PATH",
              commands=OUTPUT_COMMANDS, api="junit", locust="--junit"),
    RunOption("html", "path", None, "write the HTML report", metavar="PATH",
              commands=OUTPUT_COMMANDS, api="html", locust="--html-report"),
    RunOption("markdown", "path", None, "write the Markdown report", metavar="PATH",
              commands=OUTPUT_COMMANDS, api="markdown", locust="--markdown"),
    RunOption("live", "flag", True, "no live view while running", flag="--no-live",
              commands=OUTPUT_COMMANDS),
    RunOption("quiet", "flag", True, "no terminal report and no list of the files written",
              api="quiet"),
    RunOption("toxiproxy_url", "text", None, "a running Toxiproxy (default: TOXIPROXY_URL, "
              "else the built-in server)", api="toxiproxy_url"),
    RunOption("run_id", "text", None, "marker carried by every fault of this run",
              locust="--run-id"),
    RunOption("admin_token", "text", None, "backend admin token for fleet registration (or "
              "FLEETCHAOS_ADMIN_TOKEN)", locust="--admin-token", secret=True,
              env="FLEETCHAOS_ADMIN_TOKEN"),
)

BY_NAME: dict[str, RunOption] = {option.name: option for option in OPTIONS}


def option(name: str) -> RunOption:
    return BY_NAME[name]


def for_command(command: str) -> list[RunOption]:
    """The options a CLI command offers, in declaration order."""
    return [o for o in OPTIONS if command in o.commands]


def for_api() -> list[RunOption]:
    return [o for o in OPTIONS if o.api is not None]


def for_locust_plugin() -> list[RunOption]:
    """The options fleetchaos's Locust plugin adds to Locust's parser."""
    return [o for o in OPTIONS if o.locust is not None and o.plugin]


def varying() -> list[RunOption]:
    """The options `sweep --vary` may vary per run (beside scenario fields)."""
    return [o for o in OPTIONS if o.varies]


def check_api(values: Mapping[str, Any]) -> dict[str, Any]:
    """The API's keyword arguments (by API name), each checked; keyed by option name."""
    by_api = {o.api: o for o in for_api()}
    return {by_api[key].name: by_api[key].check(value, "api") for key, value in values.items()}


def hint_for(key: str) -> str:
    """For a ``--set`` key (or a scenario's top-level key) that names a run option: which
    option to use instead; otherwise ``""``."""
    found = BY_NAME.get(key.replace("-", "_"))
    if found is None or found.positional or not (found.commands or found.api):
        return ""
    ways = [found.cli_flag] if found.commands else []
    if found.api:
        ways.append(f"{found.api}= in Python")
    return f"{key} is a run option, not a scenario field: pass {' or '.join(ways)}"


def names(options: Iterable[RunOption]) -> list[str]:
    return [o.name for o in options]

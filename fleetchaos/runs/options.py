"""A run's options as one typed record, built from the declared options and handed to
Locust through the declared flags.

The options themselves (name, type, default, range, help) are declared once in
:mod:`fleetchaos.common.run_options`; the CLI and the API check their values there and
build a :class:`RunOptions` with :meth:`RunOptions.from_values`, and
:func:`locust_flags` writes the Locust plugin's flags from the same declaration, so the
Locust child reads back exactly what the user asked for (a test parses them with the
plugin's own parser).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetchaos.common.errors import UsageError
from fleetchaos.common.run_options import OPTIONS, Face, RunOption, option
from fleetchaos.scenarios.fault_control import new_run_id

# The declared defaults, as the record's field defaults.
DEFAULT_TIME_SCALE: float = option("time_scale").default
DEFAULT_OUT: Path = option("out").default
DEFAULT_WORKERS: int = option("workers").default
DEFAULT_WEB_PORT: int = option("web_port").default


@dataclass
class RunOptions:
    """Everything `fleetchaos run`, `demo`, `ui` and ``fleetchaos.run`` pass down, checked.

    Field names are the declared options' names (``out`` is ``out_dir``); their defaults
    are the declared ones."""

    scenario: str
    target: str | None = None
    host: str | None = None
    seed: int | None = None
    time_scale: float = DEFAULT_TIME_SCALE
    sets: list[str] = field(default_factory=list)
    out_dir: Path = DEFAULT_OUT
    journal: Path | None = None
    summary: Path | None = None
    junit: Path | None = None
    html: Path | None = None
    markdown: Path | None = None
    workers: int = DEFAULT_WORKERS
    allow_remote: bool = False
    keep_db: bool = False  # the built-in backend's database kept in out_dir (issue 23)
    allow_host: str | None = None  # exactly these non-loopback hosts (comma-separated)
    expect_workers: int | None = None  # a master for workers started elsewhere
    master_bind: str | None = None  # ADDR[:PORT] the master listens on for its workers
    headless: bool = True
    web_port: int = DEFAULT_WEB_PORT
    metrics_port: int | None = None  # Prometheus /metrics on 127.0.0.1 (0: a free port)
    live: bool = True
    quiet: bool = False  # no terminal report, no file list (the Python API)
    api: bool = False  # called from Python: errors name keyword arguments, not CLI options
    toxiproxy_url: str | None = None  # None: TOXIPROXY_URL, else the built-in server
    run_id: str = field(default_factory=new_run_id)  # <hex8>.<our pid>.<host>: see fault_control

    @property
    def journal_path(self) -> Path:
        return self.journal or self.out_dir / f"{self.run_id}.journal.jsonl"

    def log_path(self, part: str) -> Path:
        """The log of one part of the run (``locust``, ``toxiproxy``, ``backend``, ``cli``)."""
        return self.out_dir / f"{self.run_id}.{part}.log"

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        from fleetchaos.common.loopback import parse_hosts

        return parse_hosts(self.allow_host)

    def check_target(self, target: str, what: str) -> None:
        """The loopback guard with this run's allowance (TargetNotAllowed when refused)."""
        from fleetchaos.common.loopback import check_loopback

        check_loopback(target, what=what, allow_remote=self.allow_remote,
                       allowed_hosts=self.allowed_hosts)

    @property
    def face(self) -> Face:
        return "api" if self.api else "cli"

    @classmethod
    def from_values(cls, values: Mapping[str, Any], *, face: Face,
                    headless: bool = True) -> RunOptions:
        """From checked values keyed by option name (a missing one keeps its default);
        a port that is already taken is refused here, before anything starts."""
        fields = {("out_dir" if name == "out" else name): value for name, value in values.items()
                  if name != "run_id" or value}
        opts = cls(**fields, headless=headless, api=face == "api")
        check_ports(opts)
        check_distribution(opts)
        return opts

    def master_address(self) -> tuple[str, int] | None:
        """(bind address, port) of a master for workers, None for a run in one process;
        port 0 means a free one (``--workers``' own processes on this machine)."""
        if self.expect_workers is None and self.workers <= 1:
            return None
        host, port = split_host_port(self.master_bind or "127.0.0.1")
        if port is None:
            port = DEFAULT_MASTER_PORT if self.expect_workers is not None else 0
        return host, port


DEFAULT_MASTER_PORT = 5557  # Locust's own default


def split_host_port(text: str) -> tuple[str, int | None]:
    """``ADDR[:PORT]`` (``[v6]:PORT`` for IPv6) -> (ADDR, PORT or None); ValueError if bad."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ("" if not rest else None)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host or port_text is None:
        raise ValueError(f"expected ADDR or ADDR:PORT, got {text!r}")
    if port_text == "":
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"expected a port from 1 to 65535 after the address, got {port_text!r}")
    return host, int(port_text)


def check_distribution(opts: RunOptions) -> None:
    """--expect-workers, --master-bind and --workers: what goes together, and a master that
    listens outside loopback only where the user allowed it (it hands its workers the fleet
    config, admin token included); the master's port free before anything starts."""
    from fleetchaos.common.loopback import TargetNotAllowed
    from fleetchaos.common.ports import bind_problem

    def named(name: str) -> str:
        return option(name).spelled(opts.face)

    if opts.expect_workers is not None and opts.workers > 1:
        raise UsageError(f"{named('expect_workers')} and {named('workers')}: one or the other "
                         "(start the workers of other machines with fleetchaos worker "
                         "--processes N)")
    if opts.master_bind is not None:
        if opts.expect_workers is None and opts.workers <= 1:
            raise UsageError(f"{named('master_bind')} {opts.master_bind}: only for a master, "
                             f"with {named('expect_workers')} N (or {named('workers')} N)")
        try:
            host, _ = split_host_port(opts.master_bind)
            opts.check_target(host, named("master_bind"))
        except TargetNotAllowed as exc:
            raise UsageError(str(exc)) from None
        except ValueError as exc:
            raise UsageError(f"{named('master_bind')} {opts.master_bind}: {exc}") from None
    address = opts.master_address()
    if opts.expect_workers is not None and address is not None:
        problem = bind_problem(address[1], address[0])
        if problem is not None:
            raise UsageError(f"{named('master_bind')}: {problem}")


def port_options(opts: RunOptions) -> list[tuple[RunOption, int]]:
    """The port options this run will listen on, with their values."""
    out = []
    for declared in OPTIONS:
        if declared.kind != "port" or (opts.headless and declared.commands <= {"ui"}):
            continue  # a headless run does not serve the web UI
        value = getattr(opts, declared.name)
        if value is not None:
            out.append((declared, int(value)))
    return out


def check_ports(opts: RunOptions) -> None:
    """Every port this run listens on is free now (0 picks a free one): said before anything
    starts, one line, exit 2; two options on one port are refused too."""
    from fleetchaos.common.ports import bind_problem

    seen: dict[int, str] = {}
    for declared, port in port_options(opts):
        spelled = declared.spelled(opts.face)
        gap = "" if opts.face == "api" else " "
        if port and port in seen:
            raise UsageError(f"{spelled}{gap}{port}: {seen[port]} asks for the same port")
        problem = bind_problem(port) if port else None
        if problem is not None:
            raise UsageError(f"{spelled}{gap}{port}: {problem}")
        seen[port] = spelled


def locust_flags(values: Mapping[str, Any]) -> list[str]:
    """The Locust plugin's flags for these values (keyed by option name), as declared:
    None and False are left out (the plugin's defaults), True is the bare flag, a list
    repeats the flag, a number keeps its exact ``repr``."""
    argv: list[str] = []
    for name, value in values.items():
        declared = option(name)
        if declared.locust is None:
            raise ValueError(f"option {name} has no Locust flag")
        if value is None or value is False:
            continue
        if value is True:
            argv.append(declared.locust)
        elif isinstance(value, list):
            for item in value:
                argv += [declared.locust, str(item)]
        elif isinstance(value, float):
            argv += [declared.locust, repr(value)]
        else:
            argv += [declared.locust, str(value)]
    return argv

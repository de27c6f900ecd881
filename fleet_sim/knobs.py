"""The fleet's live settings in this process, and how the engine changes them everywhere.

On a master, ``broadcast`` sends the change to every worker as the Locust message
``fleetchaos_knobs`` (and the whole current config to each worker that asks, as it
starts: ``fleetchaos_knobs_please``); on a
local runner it applies in process. A worker guards its own traffic: the proxies the
master names must be on loopback or allowed by the worker's own ``--allow-host`` /
``--allow-remote``, else it says so in one line and quits with exit code 2; with several
Toxiproxy servers it takes its own share of them (``own_share``). The config lives in
the environment's runtime (fleet_sim/runtime.py); users read ``current(self.environment)``
on every loop, so a verbosity change reaches live cars at once.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gevent

from fleetchaos.common.loopback import TargetNotAllowed, check_loopback, parse_hosts
from fleetchaos.fleet_sim.config import FleetConfig
from fleetchaos.fleet_sim.runtime import runtime_of

if TYPE_CHECKING:
    from locust.env import Environment

MESSAGE = "fleetchaos_knobs"
HELLO = "fleetchaos_knobs_please"  # a worker ready for the config asks for it
ENV_CONFIG = "FLEETCHAOS_FLEET_CONFIG"
TARGETS = ("api_url", "telemetry_url")  # what a worker's users send to: loopback-guarded


def initial_from_env() -> FleetConfig | None:
    """Standalone mode: a JSON object (or a path to one) in FLEETCHAOS_FLEET_CONFIG."""
    raw = os.environ.get(ENV_CONFIG)
    if not raw:
        return None
    text = Path(raw).read_text() if not raw.lstrip().startswith("{") else raw
    return FleetConfig.from_dict(json.loads(text))


def current(environment: Environment) -> FleetConfig:
    return runtime_of(environment).config


def apply(environment: Environment, changes: dict[str, Any]) -> FleetConfig:
    return runtime_of(environment).apply(changes)


def reset(environment: Environment, config: FleetConfig | None = None) -> None:
    runtime_of(environment).reset(config)


def on_change(environment: Environment, listener: Callable[[FleetConfig], None]) -> None:
    runtime_of(environment).on_change(listener)


def broadcast(environment: Environment, changes: dict[str, Any]) -> FleetConfig:
    """Apply here and, on a master, send to every worker."""
    from locust.runners import MasterRunner

    config = apply(environment, changes)
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.send_message(MESSAGE, changes)
    return config


def own_share(changes: dict[str, Any], worker_index: int) -> dict[str, Any]:
    """A worker's view of a change: with several Toxiproxy servers (``proxy_shares``), the
    proxies of its own share, ``worker_index`` modulo their number (docs/scaling.md)."""
    shares = changes.get("proxy_shares")
    if not shares:
        return changes
    mine = shares[max(0, worker_index) % len(shares)]
    return {**changes, "api_url": mine["api_url"], "telemetry_url": mine["telemetry_url"]}


def install(environment: Environment) -> None:
    """Register the message handler on workers (which ask for the config as they start)
    and, on the master, the answer to that ask."""
    from locust.runners import MasterRunner, WorkerRunner

    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        # the worker's own allowance, read now: Locust copies the master's options over
        # the worker's when the first users are sent
        opts = environment.parsed_options
        allow_remote = bool(getattr(opts, "allow_remote", False))
        allowed = parse_hosts(getattr(opts, "allow_host", "") or "")

        refused: list[str] = []

        def receive(msg: Any, **_: Any) -> None:
            if refused:  # quitting already: said once
                return
            changes = own_share(msg.data, runner.worker_index)
            try:
                for key in TARGETS:
                    if changes.get(key):
                        check_loopback(str(changes[key]), what=f"the master's {key}",
                                       allow_remote=allow_remote, allowed_hosts=allowed)
            except TargetNotAllowed as exc:
                refused.append(str(exc))
                print(f"fleetchaos: error: this worker refuses to load {exc}", file=sys.stderr,
                      flush=True)
                environment.process_exit_code = 2
                gevent.spawn(runner.quit)
                return
            apply(environment, changes)

        runner.register_message(MESSAGE, receive)
        # Locust connects a worker before its init hooks run, so the master's welcome can
        # arrive before `receive` is registered ("Unknown message type"): ask again now.
        runner.send_message(HELLO)  # (the master answers it instead of greeting on connect)
    elif isinstance(runner, MasterRunner):
        def welcome(client_id: str, **_: Any) -> None:
            runner.send_message(MESSAGE, current(environment).to_dict(),
                                client_id=client_id)

        runner.register_message(HELLO, lambda msg, **_: welcome(msg.node_id))

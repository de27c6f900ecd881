"""The fleet's live settings in this process, and how the engine changes them everywhere.

On a master, ``broadcast`` sends the change to every worker as the Locust message
``fleetchaos_knobs`` (and the whole current config to workers that join later); on a
local runner it applies in process. Users read ``current()`` on every loop, so a
verbosity change reaches live cars at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleetchaos.fleet_sim.config import FleetConfig

MESSAGE = "fleetchaos_knobs"
ENV_CONFIG = "FLEETCHAOS_FLEET_CONFIG"

_current = FleetConfig()
_listeners: list[Callable[[FleetConfig], None]] = []


def initial_from_env() -> FleetConfig | None:
    """Standalone mode: a JSON object (or a path to one) in FLEETCHAOS_FLEET_CONFIG."""
    raw = os.environ.get(ENV_CONFIG)
    if not raw:
        return None
    text = Path(raw).read_text() if not raw.lstrip().startswith("{") else raw
    return FleetConfig.from_dict(json.loads(text))


def current() -> FleetConfig:
    return _current


def apply(changes: dict[str, Any]) -> FleetConfig:
    global _current
    _current = _current.merged(changes)
    for listener in list(_listeners):
        listener(_current)
    return _current


def reset(config: FleetConfig | None = None) -> None:
    global _current
    _current = config or FleetConfig()


def on_change(listener: Callable[[FleetConfig], None]) -> None:
    _listeners.append(listener)


def broadcast(environment: Any, changes: dict[str, Any]) -> FleetConfig:
    """Apply here and, on a master, send to every worker."""
    from locust.runners import MasterRunner

    config = apply(changes)
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.send_message(MESSAGE, changes)
    return config


def install(environment: Any) -> None:
    """Register the message handler on workers and the late-joiner resend on the master."""
    from locust.runners import MasterRunner, WorkerRunner

    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(MESSAGE, lambda msg, **_: apply(msg.data))
    elif isinstance(runner, MasterRunner):
        def welcome(client_id: str, **_: Any) -> None:
            runner.send_message(MESSAGE, _current.to_dict(), client_id=client_id)

        environment.events.worker_connect.add_listener(welcome)

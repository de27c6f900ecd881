"""The fleet's live settings in this process, and how the engine changes them everywhere.

On a master, ``broadcast`` sends the change to every worker as the Locust message
``fleetchaos_knobs`` (and the whole current config to workers that join later); on a
local runner it applies in process. The config lives in the environment's runtime
(fleet_sim/runtime.py); users read ``current(self.environment)`` on every loop, so a
verbosity change reaches live cars at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleetchaos.fleet_sim.config import FleetConfig
from fleetchaos.fleet_sim.runtime import runtime_of

MESSAGE = "fleetchaos_knobs"
ENV_CONFIG = "FLEETCHAOS_FLEET_CONFIG"


def initial_from_env() -> FleetConfig | None:
    """Standalone mode: a JSON object (or a path to one) in FLEETCHAOS_FLEET_CONFIG."""
    raw = os.environ.get(ENV_CONFIG)
    if not raw:
        return None
    text = Path(raw).read_text() if not raw.lstrip().startswith("{") else raw
    return FleetConfig.from_dict(json.loads(text))


def current(environment: Any) -> FleetConfig:
    return runtime_of(environment).config


def apply(environment: Any, changes: dict[str, Any]) -> FleetConfig:
    return runtime_of(environment).apply(changes)


def reset(environment: Any, config: FleetConfig | None = None) -> None:
    runtime_of(environment).reset(config)


def on_change(environment: Any, listener: Callable[[FleetConfig], None]) -> None:
    runtime_of(environment).on_change(listener)


def broadcast(environment: Any, changes: dict[str, Any]) -> FleetConfig:
    """Apply here and, on a master, send to every worker."""
    from locust.runners import MasterRunner

    config = apply(environment, changes)
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.send_message(MESSAGE, changes)
    return config


def install(environment: Any) -> None:
    """Register the message handler on workers and the late-joiner resend on the master."""
    from locust.runners import MasterRunner, WorkerRunner

    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(MESSAGE, lambda msg, **_: apply(environment, msg.data))
    elif isinstance(runner, MasterRunner):
        def welcome(client_id: str, **_: Any) -> None:
            runner.send_message(MESSAGE, current(environment).to_dict(),
                                client_id=client_id)

        environment.events.worker_connect.add_listener(welcome)

"""The reference access backend: the demo's target, shaped like the public vehicle APIs.

Telemetry ingestion and the phone API share one bounded SQLite connection pool, so a
telemetry flood starves unlocks into 500s for real (see docs/reference-backend.md).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from fleetchaos.common.child_process import ChildProcess, start_child
from fleetchaos.common.mqtt_credentials import BACKEND_PASSWORD_ENV, BACKEND_USERNAME_ENV
from fleetchaos.reference_backend.server import main


def run_in_subprocess(host: str = "127.0.0.1", port: int = 0, db_path: str | None = None,
                      admin_token: str | None = None, log_path: str | None = None,
                      mqtt_credentials: tuple[str, str] | None = None,
                      **capacity: Any) -> ChildProcess:
    """Start the backend in its own process; returns once it listens (a context manager).

    ``mqtt_credentials`` (user, password) for its MQTT consumer (with ``mqtt_url=``) reach
    it through its environment, never its command line."""
    argv = [sys.executable, "-m", "fleetchaos.reference_backend", "--host", host, "--port", str(port)]
    if db_path:
        argv += ["--db", str(db_path)]
    if admin_token:
        argv += ["--admin-token", admin_token]
    for key, value in capacity.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    env = None
    if mqtt_credentials is not None:
        env = {**os.environ, BACKEND_USERNAME_ENV: mqtt_credentials[0],
               BACKEND_PASSWORD_ENV: mqtt_credentials[1]}
    return start_child("reference backend", argv, log_path=log_path, env=env)


__all__ = ["main", "run_in_subprocess"]

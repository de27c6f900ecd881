"""The built-in Toxiproxy-compatible server: Toxiproxy 2.x's HTTP API and toxics in asyncio,
plus named extensions (``http_error``, ``--seed``) listed at ``GET /extensions``.

Used when ``TOXIPROXY_URL`` is not set; any Toxiproxy client works against it.
"""

from __future__ import annotations

import sys

from fleetchaos.common.child_process import ChildProcess, start_child
from fleetchaos.toxiproxy_server.server import main


def run_in_subprocess(host: str = "127.0.0.1", port: int = 0, config: str | None = None,
                      seed: int | None = None, extensions: bool = True,
                      log_path: str | None = None) -> ChildProcess:
    """Start the server in its own process and return once it answers (a context manager)."""
    argv = [sys.executable, "-m", "fleetchaos.toxiproxy_server", "--host", host, "--port", str(port)]
    if config:
        argv += ["--config", str(config)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    if not extensions:
        argv.append("--no-extensions")
    return start_child("toxiproxy server", argv, log_path=log_path)


__all__ = ["main", "run_in_subprocess"]

"""Run a fleetchaos server in its own process and know when it is ready.

Locust monkey-patches gevent, so the asyncio servers (the Toxiproxy-compatible
server, the reference backend) must never run inside the Locust process. Every
server therefore speaks one tiny readiness protocol: once it listens, it prints a
single JSON line to stdout, ``{"ready": true, "host": ..., "port": ..., ...}``,
so a parent that asked for port 0 learns the real port without polling.

The parent ends only the process it started, by its PID: SIGTERM, then SIGKILL
after a grace period.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

READY_KEY = "ready"


class ChildProcessError(RuntimeError):
    """A child server did not start, or said why it could not."""


def announce_ready(**info: Any) -> None:
    """Called by a server once it listens: prints the readiness line and flushes."""
    sys.stdout.write(json.dumps({READY_KEY: True, **info}) + "\n")
    sys.stdout.flush()


@dataclass
class ChildProcess:
    """A started server process and what it announced when it became ready."""

    name: str
    popen: subprocess.Popen[bytes]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def host(self) -> str:
        return str(self.info.get("host", "127.0.0.1"))

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace_s: float = 5.0) -> int | None:
        """Stop the process we started (by PID): SIGTERM, then SIGKILL after grace_s."""
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=grace_s)
            except ProcessLookupError:
                pass
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()
        return self.popen.returncode

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_child(
    name: str,
    argv: Sequence[str],
    *,
    ready_timeout_s: float = 20.0,
    env: dict[str, str] | None = None,
    stderr_to_parent: bool = False,
) -> ChildProcess:
    """Start ``argv`` and wait for its readiness line; raise ChildProcessError if it dies or stalls.

    stdout after the readiness line is drained by nobody: servers log to stderr.
    """
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    popen = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=None if stderr_to_parent else subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=child_env,
        start_new_session=True,  # Ctrl-C in a terminal reaches the parent, which stops us in order
    )
    child = ChildProcess(name=name, popen=popen)
    assert popen.stdout is not None
    deadline = time.monotonic() + ready_timeout_s
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(popen.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                child.stop()
                raise ChildProcessError(
                    f"{name} did not become ready within {ready_timeout_s:.0f} s"
                )
            if not sel.select(timeout=min(remaining, 0.2)):
                if popen.poll() is not None:
                    break
                continue
            chunk = os.read(popen.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if isinstance(msg, dict) and msg.get(READY_KEY):
                    child.info = msg
                    return child
    popen.wait(timeout=5)
    err = b""
    if popen.stderr is not None:
        err = popen.stderr.read() or b""
    tail = err.decode(errors="replace").strip().splitlines()[-5:]
    child.stop()
    reason = "; ".join(tail) if tail else f"exit code {popen.returncode}"
    raise ChildProcessError(f"{name} failed to start: {reason}")

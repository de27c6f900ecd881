"""Run a fleetchaos server in its own process and know when it is ready.

Locust monkey-patches gevent, so the asyncio servers (the Toxiproxy-compatible
server, the reference backend) must never run inside the Locust process. Every
server therefore speaks one tiny readiness protocol: once it listens, it prints a
single JSON line to stdout, ``{"ready": true, "host": ..., "port": ..., ...}``,
so a parent that asked for port 0 learns the real port without polling.

Nothing a child writes may block it: its stderr goes to a log file (the run's
``<run>.<name>.log`` when the parent names one, an anonymous temporary file
otherwise), never to a pipe nobody reads. stdout is a pipe only until the readiness
line: ``announce_ready`` then points the child's stdout at that same log.

The parent ends only the process it started, by its PID: SIGTERM, then SIGKILL
after a grace period; and the child ends by itself when the parent dies
(see :mod:`fleetchaos.common.parent_death`).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fleetchaos.common.parent_death import preexec_die_with_parent

READY_KEY = "ready"
# Set by start_child: after the readiness line, the child's stdout joins its stderr (the log).
ENV_STDOUT_TO_LOG = "FLEETCHAOS_CHILD_STDOUT_TO_LOG"


class ChildProcessError(RuntimeError):
    """A child server did not start, or said why it could not."""


def announce_ready(**info: Any) -> None:
    """Called by a server once it listens: prints the readiness line and flushes."""
    sys.stdout.write(json.dumps({READY_KEY: True, **info}) + "\n")
    sys.stdout.flush()
    if os.environ.get(ENV_STDOUT_TO_LOG) == "1":
        # The parent stops reading stdout now: anything printed later goes to the log file.
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


@dataclass
class ChildProcess:
    """A started server process and what it announced when it became ready."""

    name: str
    popen: subprocess.Popen[bytes]
    info: dict[str, Any] = field(default_factory=dict)
    log_path: Path | None = None  # where its stderr goes (None: an anonymous temporary file)
    log_file: IO[bytes] | None = field(default=None, repr=False)

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
        for stream in (self.popen.stdout, self.popen.stderr, self.log_file):
            if stream is not None:
                stream.close()
        return self.popen.returncode

    def log_tail(self, lines: int = 5) -> list[str]:
        """The last non-empty lines the child wrote to its log."""
        try:
            if self.log_path is not None:
                data = self.log_path.read_bytes()[-65536:]
            elif self.log_file is not None and not self.log_file.closed:
                self.log_file.seek(0)
                data = self.log_file.read()[-65536:]
            else:
                return []
        except OSError:
            return []
        text = data.decode(errors="replace").strip().splitlines()
        return [ln for ln in text if ln.strip()][-lines:]

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
    log_path: str | os.PathLike[str] | None = None,
) -> ChildProcess:
    """Start ``argv`` and wait for its readiness line; raise ChildProcessError if it dies or stalls.

    The child's stderr (and its stdout after the readiness line) goes to ``log_path``
    (appended to), or to an anonymous temporary file read only to explain a failed start.
    """
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    log_file: IO[bytes] | None = None
    path = Path(log_path) if log_path is not None else None
    if not stderr_to_parent:
        child_env[ENV_STDOUT_TO_LOG] = "1"
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            log_file = path.open("ab")
        else:
            log_file = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the child)
    try:
        popen = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=None if stderr_to_parent else log_file,
            stdin=subprocess.DEVNULL,
            env=child_env,
            start_new_session=True,  # Ctrl-C in a terminal reaches the parent, which stops us in order
            preexec_fn=preexec_die_with_parent(),  # ... and we end when the parent dies, even by SIGKILL
        )
    except BaseException:
        if log_file is not None:
            log_file.close()
        raise
    child = ChildProcess(name=name, popen=popen, log_path=path, log_file=log_file)
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
                    popen.stdout.close()  # the child's later stdout goes to its log
                    popen.stdout = None
                    return child
    popen.wait(timeout=5)
    tail = child.log_tail()
    child.stop()
    reason = "; ".join(tail) if tail else f"exit code {popen.returncode}"
    raise ChildProcessError(f"{name} failed to start: {reason}")

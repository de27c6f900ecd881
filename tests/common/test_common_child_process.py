"""Children announce readiness on stdout; one that dies or stalls is reported, not awaited."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

from fleetchaos.common.child_process import ChildProcessError, start_child

SERVER = textwrap.dedent(
    """
    import socket, sys, time
    from fleetchaos.common.child_process import announce_ready
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
    print("noise before ready", flush=True)
    announce_ready(host="127.0.0.1", port=s.getsockname()[1], extra="x")
    while True:
        time.sleep(1)
    """
)


def test_ready_line_gives_port_and_stop_ends_the_process():
    child = start_child("demo-server", [sys.executable, "-c", SERVER])
    try:
        assert child.alive()
        assert child.port > 0 and child.info["extra"] == "x"
        assert child.url == f"http://127.0.0.1:{child.port}"
    finally:
        child.stop(grace_s=2)
    assert not child.alive()
    with pytest.raises(ProcessLookupError):
        os.kill(child.pid, 0)


def test_a_child_that_dies_reports_its_stderr():
    code = "import sys; sys.stderr.write('port 1 is taken\\n'); sys.exit(3)"
    with pytest.raises(ChildProcessError, match="port 1 is taken"):
        start_child("broken", [sys.executable, "-c", code])


def test_a_child_that_never_gets_ready_is_stopped():
    with pytest.raises(ChildProcessError, match="did not become ready"):
        start_child("stalled", [sys.executable, "-c", "import time; time.sleep(30)"],
                    ready_timeout_s=0.5)

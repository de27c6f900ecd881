"""A child never outlives its parent and never blocks on output nobody reads (issues 14, 17)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from fleetchaos.common.child_process import start_child

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="parent-death signals are Linux-only")

# A server that floods stderr and stdout after it is ready, then keeps answering HTTP.
NOISY = textwrap.dedent(
    """
    import http.server, sys, threading
    from fleetchaos.common.child_process import announce_ready

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            sys.stderr.write("x" * 200_000 + "\\n")   # far more than a pipe buffer
            print("stdout after ready " * 5_000, flush=True)
            self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    announce_ready(host="127.0.0.1", port=srv.server_address[1])
    srv.serve_forever()
    """
)


def gone(pid: int) -> bool:
    """Exited (or a zombie waiting for a reaper that is not us)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, deadline_s: float) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if gone(pid):
            return True
        time.sleep(0.05)
    return gone(pid)


def test_output_after_ready_goes_to_the_log_and_never_blocks(tmp_path):
    """The old stderr pipe filled after ~64 KiB and froze the server: now 20 requests of
    200 KB of stderr each are all answered, and the log file holds them."""
    log = tmp_path / "noisy.log"
    with start_child("noisy", [sys.executable, "-c", NOISY], log_path=log) as child:
        for _ in range(20):
            with urllib.request.urlopen(child.url + "/", timeout=10) as resp:
                assert resp.read() == b"ok"
    text = log.read_text()
    assert text.count("x" * 1000) >= 20
    assert "stdout after ready" in text


def test_a_failed_start_is_explained_from_the_log_file(tmp_path):
    log = tmp_path / "broken.log"
    code = "import sys; sys.stderr.write('port 1 is taken\\n'); sys.exit(3)"
    with pytest.raises(Exception, match="port 1 is taken"):
        start_child("broken", [sys.executable, "-c", code], log_path=log)
    assert "port 1 is taken" in log.read_text()


PARENT = textwrap.dedent(
    """
    import json, sys
    from fleetchaos.common.child_process import start_child
    child = start_child("sleeper", [sys.executable, "-c", sys.argv[1]])
    print(json.dumps({"child": child.pid}), flush=True)
    import time
    time.sleep(600)
    """
)

SLEEPER = textwrap.dedent(
    """
    import socket, time
    from fleetchaos.common.child_process import announce_ready
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
    announce_ready(host="127.0.0.1", port=s.getsockname()[1])
    while True:
        time.sleep(1)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_child_ends_when_its_parent_is_killed(sig):
    """prctl(PR_SET_PDEATHSIG): the child is in its own session, yet ends with its parent."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, SLEEPER], stdout=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        child_pid = json.loads(line)["child"]
        assert not gone(child_pid)
        os.kill(parent.pid, sig)
        parent.wait(timeout=10)
        assert wait_gone(child_pid, 10), f"child {child_pid} outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()

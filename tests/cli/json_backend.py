"""A backend of a few lines for one test, and a run against it: a real HTTP server on a
loopback port, in a thread, whose every POST answers 200 with the JSON the test's
function returns for the path (after whatever wait that function makes: a slow
telemetry, a cold start); `run_against` runs a scenario and profile written by the test."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any


@contextmanager
def json_backend(answer: Callable[[str], dict[str, Any]]) -> Iterator[str]:
    """Serve ``answer(path)`` to every POST; yields the base URL, always shut down."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            raw = json.dumps(answer(self.path)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_against(cli: Callable[..., CompletedProcess[str]], host: str, tmp_path: Path,
                profile: str, scenario: str) -> tuple[CompletedProcess[str], dict[str, Any]]:
    """``fleetchaos run`` of the scenario text with the profile text against ``host``:
    the finished process and the summary it wrote."""
    (tmp_path / "profile.yaml").write_text(profile)
    (tmp_path / "scenario.yaml").write_text(scenario)
    summary = tmp_path / "summary.json"
    result = cli("run", str(tmp_path / "scenario.yaml"), "--target",
                 str(tmp_path / "profile.yaml"), "--host", host, "--out", str(tmp_path / "out"),
                 "--summary", str(summary), "--no-live", timeout=300)
    return result, json.loads(summary.read_text())

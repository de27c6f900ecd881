"""The fleet under real Locust against real servers: the reference backend, and a tiny
independent HTTP app of another shape driven only by a profile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

LOCUSTFILE = Path(__file__).parent / "locustfile_fleet.py"


def run_fleet(host: str, config: dict, tmp_path: Path, users: int, seconds: int = 12) -> dict:
    result = tmp_path / "fleet.json"
    env = dict(os.environ, FLEETCHAOS_FLEET_CONFIG=json.dumps(config),
               FLEET_RESULT_PATH=str(result))
    proc = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users),
         "-r", str(users), "-t", f"{seconds}s", "--host", host, "--only-summary",
         "--loglevel", "WARNING", "--stop-timeout", "2"],
        env=env, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert result.exists(), proc.stderr[-3000:]
    return json.loads(result.read_text())


@pytest.mark.slow
def test_small_fleet_against_the_reference_backend(backend, tmp_path):
    config = {"seed": 11, "cars": 8, "drivers": 8, "api_url": backend.url,
              "telemetry_url": backend.url, "admin_url": backend.url,
              "admin_token": "test-admin-token", "need_interval_s": 3,
              "telemetry": {"interval_s": 0.5, "asleep_share": 0.0}}
    out = run_fleet(backend.url, config, tmp_path, users=16)
    fleet = out["fleet"]
    assert fleet["cars_total"] == 8
    assert fleet["telemetry_acked"] >= 0.9 * fleet["telemetry_sent"] > 50
    unlock = fleet["status_by_action"].get("unlock", {})
    assert unlock.get("200", 0) >= 5
    assert fleet["accessed"]["app"] >= 5 and fleet["stranded"] == 0
    assert fleet["commands_acked"] >= unlock["200"]
    assert {o["outcome"] for o in out["outcomes"]} == {"app"}
    names = set(out["stats"])
    assert {"telemetry", "telemetry_connect", "token", "unlock"} <= names
    assert not any(name.startswith("/") or "VIN" in name for name in names)  # actions, not URLs


class TinyRest(BaseHTTPRequestHandler):
    """A different API shape: /login, /vehicles/{vin}/unlock, /telemetry/{vin}."""

    seen: list[str] = []

    def log_message(self, *args: object) -> None:
        return

    def _reply(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        TinyRest.seen.append(self.path.split("/")[1])
        if self.path == "/login":
            self._reply(200, {"token": f"t-{body['username']}"})
        elif self.path.endswith("/unlock"):
            ok = self.headers.get("Authorization", "").startswith("Bearer t-")
            self._reply(200 if ok else 401, {"unlocked": ok})
        elif self.path.startswith("/telemetry/"):
            self._reply(200, {"acked": [r["seq"] for r in body["records"]]})
        else:
            self._reply(404, {})


@pytest.mark.slow
def test_generic_rest_profile_against_an_independent_app(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), TinyRest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        config = {"seed": 3, "cars": 4, "drivers": 4, "profile": "generic-rest", "api_url": url,
                  "telemetry_url": url, "need_interval_s": 2,
                  "telemetry": {"interval_s": 0.5, "asleep_share": 0.0}}
        out = run_fleet(url, config, tmp_path, users=8, seconds=8)
    finally:
        server.shutdown()
    fleet = out["fleet"]
    assert fleet["status_by_action"]["unlock"].get("200", 0) >= 4
    assert fleet["telemetry_acked"] >= 10
    assert {"login", "vehicles", "telemetry"} <= set(TinyRest.seen)

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
from typing import Any

import pytest

LOCUSTFILE = Path(__file__).parent / "locustfile_fleet.py"


def run_fleet(host: str, config: dict[str, Any], tmp_path: Path, users: int,
              seconds: int = 12) -> dict[str, Any]:
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

    def _reply(self, status: int, body: dict[str, Any]) -> None:
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


class Contract(BaseHTTPRequestHandler):
    """An off-the-contract backend: telemetry answered 201 with no body (or always 503),
    unlock answered 404 (a wrong path) or 200; with ``drop_reused`` every second request
    on a kept-alive connection finds it closed, unanswered (the race a client loses when
    the server closes an idle connection as the request goes out, as Node.js does after
    its keepAliveTimeout)."""

    protocol_version = "HTTP/1.1"
    telemetry_status = 201
    unlock_status = 404
    drop_reused = False

    def log_message(self, *args: object) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        served = getattr(self, "served", 0)
        self.served = served + 1
        if self.drop_reused and served >= 1 and self.path.startswith("/u/"):
            self.close_connection = True
            return
        status = self.telemetry_status if self.path.startswith("/t/") else self.unlock_status
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _contract_run(tmp_path, handler: type, profile_text: str, seconds: int = 8) -> dict[str, Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    profile = tmp_path / "p.yaml"
    profile.write_text(profile_text)
    try:
        config = {"seed": 5, "cars": 4, "drivers": 4, "profile": str(profile), "api_url": url,
                  "telemetry_url": url, "need_interval_s": 1.5, "patience_s": 6,
                  "telemetry": {"interval_s": 0.3, "asleep_share": 0.0, "ack_timeout_s": 0.3}}
        return run_fleet(url, config, tmp_path, users=8, seconds=seconds)
    finally:
        server.shutdown()


PROFILE = """\
actions:
  unlock: {method: POST, path: "/u/{vin}", idempotent: IDEMPOTENT}
telemetry: {transport: http, path: "/t/{vin}", resend: {max: 2, backoff_s: 0.3}}
"""


@pytest.mark.slow
def test_a_bare_201_acks_the_batch_and_a_404_is_never_retried(tmp_path):
    """Issue 15: 201 without an {"acked": [...]} body gave a 0 % ack ratio and endless
    resends; phones retried 404s every second for their whole patience."""
    out = _contract_run(tmp_path, Contract, PROFILE.replace("IDEMPOTENT", "false"))
    fleet = out["fleet"]
    assert fleet["telemetry_sent"] > 20
    assert fleet["telemetry_acked"] >= 0.9 * fleet["telemetry_sent"]
    assert fleet["telemetry_resent"] == 0
    outcomes = out["outcomes"]
    assert outcomes and all(o["attempts"] == 1 for o in outcomes)  # 404: no second tap


class NeverAccepts(Contract):
    telemetry_status = 503
    unlock_status = 200


@pytest.mark.slow
def test_resends_are_bounded_per_record_and_drops_counted(tmp_path):
    out = _contract_run(tmp_path, NeverAccepts, PROFILE.replace("IDEMPOTENT", "false"))
    fleet = out["fleet"]
    assert fleet["telemetry_acked"] == 0 and fleet["telemetry_sent"] > 20
    assert 0 < fleet["telemetry_resent"] <= 2 * fleet["telemetry_sent"]
    assert fleet["telemetry_dropped"] > 0


class ClosesIdle(Contract):
    unlock_status = 200
    drop_reused = True


@pytest.mark.slow
def test_a_stale_keepalive_connection_is_retried_once_for_idempotent_requests(tmp_path):
    """geventhttpclient retries only idempotent methods on a closed reused connection
    (client.py _may_retry_after_send_error, RFC 9110 9.2.2); a profile may declare its
    POST unlock idempotent, and then the phone sends it once more, counted apart."""
    out = _contract_run(tmp_path, ClosesIdle, PROFILE.replace("IDEMPOTENT", "true"))
    fleet = out["fleet"]
    unlock = fleet["status_by_action"]["unlock"]
    assert fleet["keepalive_retries"] >= 1
    assert unlock.get("0", 0) == 0 and unlock.get("200", 0) >= 4
    assert "unlock keep-alive retry" in out["stats"]
    plain = _contract_run(tmp_path, ClosesIdle, PROFILE.replace("IDEMPOTENT", "false"))
    assert plain["fleet"]["keepalive_retries"] == 0
    assert plain["fleet"]["status_by_action"]["unlock"].get("0", 0) >= 1

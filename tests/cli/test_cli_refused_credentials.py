"""Refused credentials are a set-up failure (issue 22): exit 2 within seconds and one line
naming the status and the action, not a full-length run that exits 1 "4 SLO(s) breached".

The backend is written here: a small HTTP server (login, unlock, HTTP telemetry) whose
answers each test picks, reached through the real `fleetchaos run` (built-in Toxiproxy,
real Locust) with a profile file pointing at it."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PROFILE = """\
name: tiny-rest
description: a backend written in the test
auth:
  login:
    method: POST
    path: /login
    json: {{username: "{{owner_email}}", password: "{{owner_password}}"}}
    extract: {{access_token: token}}
  header: {{Authorization: "Bearer {{access_token}}"}}
actions:
  unlock: {{method: POST, path: "/vehicles/{{vin}}/unlock"}}
telemetry:
  transport: http
  path: "/telemetry/{{vin}}"
  accept: [{accept}]
"""
SCENARIO = """\
title: refused credentials
duration: 60
fleet: {cars: 4, drivers: 6, need_interval_s: 2, patience_s: 3, spawn_rate: 50}
phases: [{name: run, start: 0, end: 60}]
slos:
  - {metric: unlock_success_ratio, phase: run, min: 0.9}
"""


class Backend:
    """Answers chosen per test: ``login``, ``unlock``, ``telemetry`` statuses, and
    ``unlock_after``: the status of every unlock after the first ``good_unlocks``."""

    def __init__(self, login: int = 200, unlock: int = 200, telemetry: int = 201,
                 good_unlocks: int | None = None, unlock_after: int = 401) -> None:
        self.login, self.unlock, self.telemetry = login, unlock, telemetry
        self.good_unlocks, self.unlock_after = good_unlocks, unlock_after
        self.unlocks = 0
        self.lock = threading.Lock()

    def answer(self, path: str) -> tuple[int, dict[str, object]]:
        if path == "/login":
            return self.login, {"token": "t0k"}
        if path.endswith("/unlock"):
            with self.lock:
                self.unlocks += 1
                n = self.unlocks
            if self.good_unlocks is not None and n > self.good_unlocks:
                return self.unlock_after, {"error": "token expired"}
            return self.unlock, {"result": True}
        if path.startswith("/telemetry/"):
            return self.telemetry, {}
        return 404, {"error": "no such path"}


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(backend: Backend) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _any(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body = backend.answer(self.path)
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _any

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def run(cli, tmp_path: Path, host: str, accept: int = 201):
    profile = tmp_path / "tiny.yaml"
    profile.write_text(PROFILE.format(accept=accept))
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    started = time.monotonic()
    result = cli("run", str(scenario), "--target", str(profile), "--host", host,
                 "--out", str(tmp_path / "out"), "--no-live", timeout=180)
    return result, time.monotonic() - started


def error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.startswith("fleetchaos:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("backend, words", [
    (Backend(unlock=403), "the backend refused the fleet's credentials: 403 on unlock (POST "),
    (Backend(login=401), "the backend refused the fleet's credentials: 401 on auth.login (POST "),
    (Backend(telemetry=202), "the backend does not accept the cars' telemetry: 202 (POST "),
])
def test_refusals_before_the_fleet_starts_exit_2_in_seconds(cli, serve, tmp_path, backend,
                                                            words):
    """Before: every request refused, the full 60 s, exit 1 "1 SLO(s) breached"."""
    result, took = run(cli, tmp_path, serve(backend))
    assert result.returncode == 2, result.stderr[-2000:]
    line = error_line(result.stderr)
    assert line.startswith("fleetchaos: error: " + words), line
    assert "fleetchaos probe --target" in line
    assert took < 45  # set-up only: the 60 s scenario never ran
    journals = list((tmp_path / "out").glob("*.journal.jsonl"))
    assert all('"type":"sample"' not in j.read_text() for j in journals)


def test_credentials_refused_mid_run_stop_it_with_exit_2(cli, serve, tmp_path):
    """The set-up probe's unlock is accepted, then every unlock is refused (a token that
    stopped working): the run stops within seconds, exit 2, one line with the count."""
    result, took = run(cli, tmp_path, serve(Backend(good_unlocks=1, unlock_after=401)))
    assert result.returncode == 2, result.stderr[-2000:]
    line = error_line(result.stderr)
    assert line.startswith("fleetchaos: error: the backend refused the fleet's credentials: "
                           "401 on "), line
    count = line.rsplit("(", 1)[1].rstrip(")")
    refused, _, total = count.split(" ")
    assert int(refused) >= 10 and int(refused) >= 0.9 * int(total)
    assert took < 50  # stopped long before the scenario's 60 s
    journal = next((tmp_path / "out").glob("*.journal.jsonl"))
    summary = next(json.loads(ln) for ln in journal.read_text().splitlines()
                   if '"type":"summary"' in ln)
    assert summary["verdict"] == "refused"
    assert summary["verdict_reason"] == line.removeprefix("fleetchaos: error: ")
    assert all(s["status"] != "fail" for s in summary["slos"])  # not a breach

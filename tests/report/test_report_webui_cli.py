"""`fleetchaos ui`: the CLI makes the run's Chaos API token, prints it with the UI's
address, and the Locust child it starts accepts exactly that token (a real CLI process,
its backend, built-in Toxiproxy and Locust web UI)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from test_report_webui import free_port

from fleetchaos.locust_app.webui_guard import TOKEN_HEADER


@pytest.mark.slow
def test_fleetchaos_ui_prints_the_token_its_locust_requires(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("TOXIPROXY_URL", "FLEETCHAOS_UI_TOKEN", "FLEETCHAOS_ADMIN_TOKEN")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleetchaos.cli", "ui", "api-latency", "--web-port", str(port),
         "--out", str(tmp_path / "out"), "--set", "fleet.cars=5", "--set", "fleet.drivers=5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        env=env)
    lines: list[str] = []

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=drain, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        token = None
        deadline = time.time() + 90
        while time.time() < deadline and token is None:
            found = re.search(rf"fleetchaos web UI: {re.escape(base)}/ +\(Chaos API token: "
                              r"([A-Za-z0-9_-]+);", "".join(lines))
            token = found.group(1) if found else None
            assert proc.poll() is None, "".join(lines[-20:])
            time.sleep(0.2)
        assert token, "".join(lines[-20:])
        # one banner: the Locust child got the CLI's token and did not make its own
        assert "".join(lines).count("Chaos API token") == 1
        status = None
        while time.time() < deadline:
            try:
                answer = requests.get(f"{base}/chaos/status", headers={TOKEN_HEADER: token},
                                      timeout=5)
                if answer.status_code == 200:
                    status = answer.json()
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        assert status is not None and status["scenario"] == "api-latency"
        assert requests.get(f"{base}/chaos/status", headers={TOKEN_HEADER: "guess"},
                            timeout=5).status_code == 403
        assert "".join(lines).count("Chaos API token") == 1
        logs = list((tmp_path / "out").glob("*.locust.log"))
        assert all("Chaos API token" not in log.read_text() for log in logs)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

"""The web UI's Chaos tab: its endpoints over HTTP on a real Locust web UI, and the tab in
headless Chromium (installed by `make test`'s set-up; skipped with the reason otherwise)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from fleetchaos.scenarios.journal import read_journal

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def web_ui(backend, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"}
    env["FLEETCHAOS_ADMIN_TOKEN"] = "test-admin-token"
    proc = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"), "--host", backend.url,
         "--scenario", "api-latency", "--web-host", "127.0.0.1", "--web-port", str(port),
         "--autostart", "--journal", str(tmp_path / "ui.jsonl"), "--loglevel", "WARNING"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(f"{base}/chaos/status", timeout=2).json().get("elapsed_s", 0) > 0:
                    break
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.3)
        yield base, tmp_path / "ui.jsonl"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    # SIGTERM on a web UI run still rolls back and stops the built-in Toxiproxy it started
    assert any(r["type"] == "cleanup" for r in read_journal(tmp_path / "ui.jsonl"))


@pytest.mark.slow
def test_chaos_endpoints_inject_and_remove_by_hand(web_ui):
    base, journal = web_ui
    status = requests.get(f"{base}/chaos/status").json()
    assert status["scenario"] == "api-latency" and set(status["proxies"]) == {"api", "telemetry"}
    added = requests.post(f"{base}/chaos/toxic", json={"proxy": "api", "type": "latency",
                                                        "attributes": {"latency": 40}})
    assert added.status_code == 200 and added.json()["manual"] is True
    name = added.json()["detail"]["name"]
    assert [f["name"] for f in requests.get(f"{base}/chaos/status").json()["active_faults"]] == [name]
    bad = requests.post(f"{base}/chaos/toxic", json={"proxy": "nowhere", "type": "latency"})
    assert bad.status_code == 400 and "proxies" in bad.json()["error"]
    assert requests.delete(f"{base}/chaos/toxic/{name}").json() == {"removed": name}
    assert requests.post(f"{base}/chaos/verbosity", json={"level": 3, "cohort": 0.5}
                         ).status_code == 200
    rows = requests.get(f"{base}/stats/requests").json()["extended_stats"][0]
    assert rows["key"] == "chaos" and any(r["item"] == "scenario" for r in rows["data"])
    manual = [r for r in read_journal(journal) if r["type"] == "step" and r.get("manual")]
    assert [r["action"] for r in manual] == ["toxic_add", "verbosity"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make test installs it)")
def test_chaos_tab_and_page_render_in_chromium(web_ui, tmp_path):
    base, _ = web_ui
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=4000"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", f"{base}/?tab=chaos"],
                         capture_output=True, text=True, timeout=60).stdout
    assert "Chaos" in dom
    page = subprocess.run([CHROMIUM, *flags, "--dump-dom", f"{base}/chaos/"],
                          capture_output=True, text=True, timeout=60).stdout
    assert "api-latency" in page or "API latency" in page
    shot = tmp_path / "chaos.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,900",
                    f"{base}/?tab=chaos"], capture_output=True, timeout=60)
    assert shot.exists() and shot.stat().st_size > 5000

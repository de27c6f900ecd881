"""`fleetchaos ui`: the CLI makes the run's Chaos API token, prints it with the UI's
address, and the Locust child it starts accepts exactly that token (a real CLI process,
its backend, built-in Toxiproxy and Locust web UI)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from test_report_webui import free_port

from fleetchaos.locust_app.webui_guard import TOKEN_HEADER
from fleetchaos.scenarios.outcome import exit_code


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
    # Ctrl-C before any run: said so, exit 128 + SIGINT, no traceback
    assert proc.returncode == 130
    text = "".join(lines)
    assert "fleetchaos: no run was started in the web UI: nothing to report" in text
    assert "Traceback" not in text


class UiProcess:
    """`fleetchaos ui` in a process of its own session (as a terminal runs it), its stdout
    and stderr read as they come."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out = tmp_path / "out"
        env = {k: v for k, v in os.environ.items()
               if k not in ("TOXIPROXY_URL", "FLEETCHAOS_UI_TOKEN", "FLEETCHAOS_ADMIN_TOKEN")}
        env.update(NO_COLOR="1", COLUMNS="120")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fleetchaos.cli", "ui", "api-latency", "--web-port",
             str(self.port), "--out", str(self.out), "--set", "fleet.cars=10",
             "--set", "fleet.drivers=10", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, env=env, start_new_session=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        for stream, into in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr)):
            threading.Thread(target=self._drain, args=(stream, into), daemon=True).start()
        deadline = time.time() + 90
        self.token = None
        while time.time() < deadline and self.token is None:
            found = re.search(r"Chaos API token: ([A-Za-z0-9_-]+);", "".join(self.stdout))
            self.token = found.group(1) if found else None
            assert self.proc.poll() is None, "".join(self.stderr[-20:])
            time.sleep(0.2)
        assert self.token

    @staticmethod
    def _drain(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def status(self) -> dict[str, Any]:
        while True:
            try:
                return dict(requests.get(f"{self.base}/chaos/status", timeout=5,
                                         headers={TOKEN_HEADER: self.token}).json())
            except (requests.RequestException, ValueError):
                time.sleep(0.3)

    def start_run(self) -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                answer = requests.post(f"{self.base}/swarm", data={}, timeout=10,
                                       headers={"Origin": self.base})
                assert answer.status_code == 200, answer.text
                return
            except requests.ConnectionError:
                time.sleep(0.3)
        raise AssertionError("the web UI never answered")

    def wait(self, done: Any, what: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.status()
            if done(status):
                return status
            time.sleep(0.3)
        raise AssertionError(f"{what}: {status.get('live')}")

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends the terminal's foreground
        try:
            return self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def reported_files(stdout: str) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for label, path in re.findall(r"^ *(journal|summary|HTML): (\S+)$", stdout, re.M):
        out.setdefault(label, []).append(Path(path))
    return out


@pytest.mark.slow
def test_ui_after_its_run_reports_it_like_run_and_exits_with_the_verdict(tmp_path):
    """Issue 23: `fleetchaos ui` on Ctrl-C exited 130 with no verdict, journal or report.
    The run ends by itself (its timeline is over), the UI stays; Ctrl-C closes it."""
    ui = UiProcess(tmp_path, "--time-scale", "0.25")  # api-latency's 40 s in 10 s
    try:
        ui.start_run()
        status = ui.wait(lambda s: s["finished"] and s["live"]["verdict"], "the run did not end")
        # said on the terminal as the run ends, the UI still open for the next run
        deadline = time.time() + 30
        while time.time() < deadline and "fleetchaos: run 1 ended" not in "".join(ui.stdout):
            time.sleep(0.2)
        ended = re.search(r"fleetchaos: run 1 ended: verdict (\w+).*\n  journal (\S+); "
                          r"summary (\S+); HTML (\S+)\n", "".join(ui.stdout))
        assert ended, "".join(ui.stdout)[-1500:]
        assert ended.group(1) == status["live"]["verdict"].upper()
        assert ui.proc.poll() is None
    finally:
        code = ui.interrupt()
    stdout, stderr = "".join(ui.stdout), "".join(ui.stderr)
    assert "Traceback" not in stdout + stderr
    files = reported_files(stdout)
    assert set(files) == {"journal", "summary", "HTML"}, stdout[-2000:]
    assert all(len(paths) == 1 and paths[0].is_file() for paths in files.values())
    summary = json.loads(files["summary"][0].read_text())
    assert [str(files[k][0]) for k in ("journal", "summary", "HTML")] == list(ended.groups()[1:])
    assert files["HTML"][0].name.endswith(".report.html")
    assert "<html" in files["HTML"][0].read_text()[:300].lower()
    verdict = summary["verdict"]
    assert f"verdict {verdict.upper()}" in stdout  # the terminal report's verdict line
    assert stderr.strip().splitlines()[-1].startswith(f"fleetchaos: verdict {verdict.upper()}")
    assert code == exit_code(verdict)  # as `run` would exit, not 130


@pytest.mark.slow
def test_ui_interrupted_mid_run_reports_the_cut_run_and_exits_130(tmp_path):
    ui = UiProcess(tmp_path)
    try:
        ui.start_run()
        ui.wait(lambda s: s["elapsed_s"] >= 3, "the run did not start")
    finally:
        code = ui.interrupt()
    stdout, stderr = "".join(ui.stdout), "".join(ui.stderr)
    assert "Traceback" not in stdout + stderr
    assert code == 130
    files = reported_files(stdout)
    summary = json.loads(files["summary"][0].read_text())
    assert summary["verdict"] == "incomplete" and files["journal"][0].is_file()
    assert "verdict INCOMPLETE" in stdout
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("fleetchaos: interrupted by signal 2 mid-run: verdict INCOMPLETE"), last

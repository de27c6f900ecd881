"""Scraping /metrics while a real run goes on: `fleetchaos run` with a small fleet at
--time-scale 0.5 (real Locust, built-in Toxiproxy and reference backend on loopback), and
a plain distributed `locust --processes 2` where only the master serves and the figures
are the workers' sum. Every scrape is read by prometheus_client's parser."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from metrics_parse import number, parse, value

from fleetchaos.metrics.exposition import CONTENT_TYPE

REPO = Path(__file__).resolve().parents[2]
URL = re.compile(r"fleetchaos: metrics for Prometheus at (http://127\.0\.0\.1:\d+/metrics)")
SMALL = ["--time-scale", "0.5", "--set", "fleet.cars=10", "--set", "fleet.drivers=10"]


class Child:
    """A child process whose stderr is collected line by line as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def url(self, deadline_s: float = 60) -> str:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            found = [m.group(1) for line in list(self.lines) if (m := URL.search(line))]
            if found:
                return found[0]
            assert self.proc.poll() is None, "\n".join(self.lines)
            time.sleep(0.1)
        raise AssertionError("no metrics URL on stderr: " + "\n".join(self.lines))

    def wait(self, timeout: float) -> int:
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return rc

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def scrape(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"] == CONTENT_TYPE
        return parse(response.read().decode("utf-8"))[1]


def poll(url: str, check, what: str, deadline_s: float = 90):
    """Scrape until ``check(samples)`` holds; the samples that made it hold."""
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        try:
            last = scrape(url)
        except OSError:
            last = None
        if last is not None and check(last):
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what} never seen within {deadline_s} s; last scrape: {last}")


def sent(samples) -> float:
    return value(samples, "fleetchaos_telemetry_sent_total") or 0


def toxic_on(samples) -> bool:
    return any(("kind", "toxic") in k and ("type", "latency") in k and ("proxy", "api") in k
               for k in samples.get("fleetchaos_fault_active", {}))


@pytest.mark.slow
def test_fleetchaos_run_serves_moving_figures_and_the_fault_while_it_is_on(tmp_path):
    """api-latency at --time-scale 0.5: its latency toxic on the api proxy is on from 5 s
    to 15 s of a 20 s run."""
    env = dict(os.environ, NO_COLOR="1")
    env.pop("TOXIPROXY_URL", None)
    child = Child([sys.executable, "-m", "fleetchaos.cli", "run", "api-latency", *SMALL,
                   "--no-live", "--metrics-port", "0", "--out", str(tmp_path / "out")],
                  env, tmp_path)
    try:
        url = child.url()
        first = poll(url, lambda s: sent(s) > 0, "telemetry sent > 0")
        second = poll(url, lambda s: sent(s) > sent(first), "telemetry sent increasing")
        assert number(second, "fleetchaos_run_elapsed_seconds") >= \
            number(first, "fleetchaos_run_elapsed_seconds")
        assert value(second, "fleetchaos_run_duration_seconds") == 20
        assert (value(second, "fleetchaos_cars_connected") or 0) > 0
        during = poll(url, toxic_on, "the latency toxic as fleetchaos_fault_active")
        assert value(during, "fleetchaos_active_faults") == 1
        assert 4.5 <= number(during, "fleetchaos_run_elapsed_seconds") <= 15.5
        assert value(during, "fleetchaos_run_phase", phase="slow") == 1
        states = {dict(k)["slo"] for k in during["fleetchaos_slo_state"]}
        assert len(states) == 2  # api-latency's two SLOs, each with its live state
        after = poll(url, lambda s: value(s, "fleetchaos_active_faults") == 0
                     and (value(s, "fleetchaos_run_elapsed_seconds") or 0) > 15,
                     "the toxic rolled back")
        assert not toxic_on(after)
        assert child.wait(timeout=120) in (0, 1, 4), "\n".join(child.lines)  # 4: thin SLOs
    finally:
        child.stop()
    assert not any("Traceback" in line for line in child.lines), "\n".join(child.lines)


@pytest.mark.slow
def test_a_distributed_run_is_served_by_the_master_with_the_workers_summed(
        backend, toxiproxy, tmp_path):
    """Locust --processes 2: the workers skip the exporter (one announcement, no bind
    race), and the master's figures are the sum of both workers' reports."""
    env = dict(os.environ, TOXIPROXY_URL=toxiproxy.url, FLEETCHAOS_ADMIN_TOKEN="test-admin-token")
    child = Child([sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"),
                   "--headless", "--only-summary", "--loglevel", "WARNING",
                   "--processes", "2", "--master-bind-host", "127.0.0.1",
                   "--host", backend.url, "--scenario", "api-latency", *SMALL,
                   "--journal", str(tmp_path / "run.jsonl"), "--metrics-port", "0"],
                  env, tmp_path)
    try:
        url = child.url()
        both = poll(url, lambda s: value(s, "fleetchaos_cars_started_total") == 10
                    and sent(s) > 0, "10 cars started over the two workers")
        (info,) = both["fleetchaos_run_info"]
        assert dict(info)["scenario"] == "api-latency"
        assert child.wait(timeout=120) in (0, 1, 4), "\n".join(child.lines)  # 4: thin SLOs
    finally:
        child.stop()
    announced = [line for line in child.lines if URL.search(line)]
    assert len(announced) == 1, "\n".join(child.lines)

"""Real runs over two Toxiproxy servers (TOXIPROXY_URL=a,b): each worker goes through its
own server's proxies, every fault is on both, and a server that stops answering fails
the run (exit 3) with the faults rolled back on the other one: on two built-in servers,
and that last one also on two real toxiproxy-server binaries in the comparison mode
(TOXIPROXY_SERVER_BIN)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from fleetchaos.scenarios.journal import read_journal

sys.path.insert(0, str(Path(__file__).parent))
from real_toxiproxy import Server, two_servers_of  # tests/scale/real_toxiproxy.py

FLEET = ["--set", "fleet.cars=20", "--set", "fleet.drivers=20"]


@pytest.fixture
def second_toxiproxy() -> Iterator[Any]:
    from fleetchaos import toxiproxy_server

    child = toxiproxy_server.run_in_subprocess(seed=4321)
    try:
        yield child
    finally:
        child.stop()


class Watch:
    """What each server holds while the run goes on: the run's toxics and, per proxy, the
    connections the server's /metrics counted (the proxies are gone after the run)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.toxics: dict[str, set[str]] = {u: set() for u in urls}
        self.connections: dict[str, dict[str, int]] = {u: {} for u in urls}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(0.2):
            for url in self.urls:
                try:
                    proxies = requests.get(f"{url}/proxies", timeout=2).json()
                    metrics = requests.get(f"{url}/metrics", timeout=2).text
                except (requests.RequestException, ValueError):
                    continue
                for name, proxy in proxies.items():
                    if name.startswith("fc-"):
                        self.toxics[url] |= {t["name"] for t in proxy["toxics"]}
                for line in metrics.splitlines():
                    if line.startswith("toxiproxy_proxy_connections_total{proxy=\"fc-"):
                        proxy = line.split('"')[1].rsplit("-", 1)[1]
                        self.connections[url][proxy] = int(float(line.rsplit(" ", 1)[1]))

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(10)


def fleetchaos_run(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "fleetchaos.cli", "run", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


@pytest.mark.slow
def test_each_worker_goes_through_its_own_server_and_faults_are_on_both(
        backend, toxiproxy, second_toxiproxy, tmp_path):
    urls = [toxiproxy.url, second_toxiproxy.url]
    env = dict(os.environ, TOXIPROXY_URL=",".join(urls), FLEETCHAOS_ADMIN_TOKEN="test-admin-token",
               NO_COLOR="1")
    watch = Watch(urls)
    try:
        proc = fleetchaos_run(["api-latency", "--host", backend.url, "--workers", "2",
                               "--time-scale", "0.5", "--seed", "5", *FLEET, "--no-live",
                               "--out", str(tmp_path), "--journal", str(tmp_path / "run.jsonl")],
                              env)
        _, err = proc.communicate(timeout=180)
    finally:
        watch.stop()
    assert proc.returncode in (0, 1), err[-2000:]
    records = read_journal(tmp_path / "run.jsonl")
    header = next(r for r in records if r["type"] == "header")
    assert header["target"]["toxiproxy_urls"] == urls
    assert len(header["target"]["proxy_shares"]) == 2
    add = next(r for r in records if r["type"] == "step" and r["action"] == "toxic_add")
    # the latency toxic was on both servers, and both carried a worker's phones and cars
    assert all(add["detail"]["name"] in watch.toxics[u] for u in urls), watch.toxics
    for url in urls:
        assert watch.connections[url].get("api", 0) > 0, watch.connections
        assert watch.connections[url].get("telemetry", 0) > 0, watch.connections
    # its effect is the sum of both servers' connections
    remove = next(r for r in records if r["type"] == "step" and r["action"] == "toxic_remove")
    assert remove["effect"]["count"] > 0
    summary = next(r for r in records if r["type"] == "summary")
    assert summary["faults_left"] == 0
    for url in urls:  # nothing of the run is left on either server
        assert not [p for p in requests.get(f"{url}/proxies", timeout=5).json()
                    if p.startswith("fc-")]


@pytest.fixture(params=["built-in", "toxiproxy"])
def two_servers(request: pytest.FixtureRequest) -> Iterator[list[Server]]:
    with two_servers_of(request.param) as servers:
        yield servers


@pytest.mark.slow
def test_a_server_that_stops_answering_fails_the_run_and_the_other_is_rolled_back(
        backend, two_servers, tmp_path):
    toxiproxy, second_toxiproxy = two_servers
    urls = [toxiproxy.url, second_toxiproxy.url]
    env = dict(os.environ, TOXIPROXY_URL=",".join(urls), FLEETCHAOS_ADMIN_TOKEN="test-admin-token",
               NO_COLOR="1")
    journal = tmp_path / "run.jsonl"
    proc = fleetchaos_run(["api-latency", "--host", backend.url, "--time-scale", "0.5",
                           "--seed", "5", *FLEET, "--no-live", "--out", str(tmp_path),
                           "--journal", str(journal)], env)
    try:
        deadline = time.monotonic() + 120
        while not _applied(journal):  # the latency toxic is on both servers ...
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.2)
        assert _toxics(toxiproxy.url) and _toxics(second_toxiproxy.url)
        second_toxiproxy.stop()  # ... then one of them stops answering
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, err[-2000:]
    lines = [line for line in err.splitlines() if line.startswith("fleetchaos: error:")]
    assert len(lines) == 1 and second_toxiproxy.url in lines[0], err[-2000:]
    # rolled back on the server that still answers: no toxic, no proxy of the run
    assert not _toxics(toxiproxy.url)
    assert not [p for p in requests.get(f"{toxiproxy.url}/proxies", timeout=5).json()
                if p.startswith("fc-")]
    errors = [r for r in read_journal(journal) if r["type"] == "error"]
    assert errors and second_toxiproxy.url in errors[0]["message"]


def _applied(journal: Path) -> bool:
    if not journal.exists():
        return False
    return any(r["type"] == "step" and r["action"] == "toxic_add" for r in read_journal(journal))


def _toxics(url: str) -> list[str]:
    return [t["name"] for p in requests.get(f"{url}/proxies", timeout=5).json().values()
            for t in p["toxics"]]

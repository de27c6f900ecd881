"""A run across hosts: a master, two workers and Toxiproxy + the backend, each in a
network namespace of its own, read like the same scenario and seed in one process.

The hosts talk only over their own 10.77.N.0/24 addresses (tests/scale/netns.py). The
master is `fleetchaos run --expect-workers 2 --master-bind ADDR`, the workers are
`fleetchaos worker --master ADDR:PORT`; every address outside loopback is named with
--allow-host, exactly, on each side. The single-process run goes from the master's
host to servers of its own on the services host, at the same time.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from fleetchaos.scenarios.journal import read_journal

sys.path.insert(0, str(Path(__file__).parent))
import netns  # tests/scale/netns.py, beside this file

ADMIN_TOKEN = "cross-host-admin-token"
SEED = "99"
FLEET = ["--set", "fleet.cars=30", "--set", "fleet.drivers=30"]
MASTER_PORT = 5557


@pytest.fixture
def hosts():
    try:
        with netns.hosts(["master", "w1", "w2", "svc"]) as found:
            yield found
    except netns.NoNamespaces as exc:
        pytest.skip(str(exc))


def fleetchaos(*args: str) -> list[str]:
    return [sys.executable, "-m", "fleetchaos.cli", *args]


def services(hosts: netns.Hosts, tmp: Path, name: str) -> tuple[str, str]:
    """A built-in Toxiproxy and a reference backend on the services host."""
    svc = hosts.addr["svc"]
    proxy = hosts.serve("svc", f"{name} toxiproxy",
                        [sys.executable, "-m", "fleetchaos.toxiproxy_server", "--host", svc,
                         "--port", "0", "--seed", SEED], str(tmp / f"{name}.toxiproxy.log"))
    backend = hosts.serve("svc", f"{name} backend",
                          [sys.executable, "-m", "fleetchaos.reference_backend", "--host", svc,
                           "--port", "0", "--db", str(tmp / f"{name}.db"), "--admin-token",
                           ADMIN_TOKEN, "--allow-remote", "--admin-from", hosts.addr["master"]],
                          str(tmp / f"{name}.backend.log"))
    return proxy.url, backend.url


def summary_of(journal: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    records = read_journal(journal)
    return next(r for r in records if r["type"] == "summary"), records


@pytest.mark.slow
def test_a_run_across_hosts_reads_like_one_process(hosts, tmp_path):
    master, svc = hosts.addr["master"], hosts.addr["svc"]
    dist_proxy, dist_backend = services(hosts, tmp_path, "dist")
    single_proxy, single_backend = services(hosts, tmp_path, "single")
    env = dict(os.environ, FLEETCHAOS_ADMIN_TOKEN=ADMIN_TOKEN, NO_COLOR="1")
    run = ["run", "api-latency", "--seed", SEED, "--time-scale", "0.5", *FLEET, "--no-live",
           "--out", str(tmp_path / "out")]

    before = {role: hosts.tx_bytes(role) for role in ("w1", "w2")}
    with (tmp_path / "master.log").open("wb") as log:
        dist = hosts.start("master", fleetchaos(
            *run, "--host", dist_backend, "--expect-workers", "2",
            "--master-bind", f"{master}:{MASTER_PORT}", "--allow-host", f"{master},{svc}",
            "--journal", str(tmp_path / "dist.jsonl")),
            env=dict(env, TOXIPROXY_URL=dist_proxy), stdout=log, stderr=log)
    with (tmp_path / "single.log").open("wb") as log:
        single = hosts.start("master", fleetchaos(
            *run, "--host", single_backend, "--allow-host", svc,
            "--journal", str(tmp_path / "single.jsonl")),
            env=dict(env, TOXIPROXY_URL=single_proxy), stdout=log, stderr=log)
    workers = []
    for role in ("w1", "w2"):
        with (tmp_path / f"{role}.log").open("wb") as log:
            workers.append(hosts.start(role, fleetchaos(
                "worker", "--master", f"{master}:{MASTER_PORT}",
                "--allow-host", f"{master},{svc}"), env=env, stdout=log, stderr=log))

    rc_dist, rc_single = dist.wait(150), single.wait(150)
    rc_workers = [w.wait(60) for w in workers]
    logs = {p.name: p.read_text(errors="replace")[-1500:] for p in tmp_path.glob("*.log")}
    assert rc_dist in (0, 1, 4) and rc_single in (0, 1, 4), logs  # 4: too few samples
    assert rc_workers == [0, 0], logs  # the master's end ended them

    dist_summary, dist_records = summary_of(tmp_path / "dist.jsonl")
    single_summary, single_records = summary_of(tmp_path / "single.jsonl")
    header = next(r for r in dist_records if r["type"] == "header")
    # the proxies listen on the services host's address, where the workers reached them
    assert {p.rsplit(":", 1)[0] for p in header["target"]["proxies"].values()} == {svc}
    assert header["fleet"]["workers"] == 2

    # both workers carried the fleet: each sent real traffic from its own address (15 cars
    # and 15 drivers sent 120-170 KB each in 20 s here; an idle worker's heartbeats and
    # reports are about 10 KB)
    sent = {role: hosts.tx_bytes(role) - before[role] for role in ("w1", "w2")}
    assert all(n > 50_000 for n in sent.values()), sent

    # the verdict and the SLOs' observed values, within what one driver or a p95 bucket moves
    assert dist_summary["verdict"] == single_summary["verdict"], (dist_summary, single_summary)
    assert rc_dist == rc_single
    for a, b in zip(dist_summary["slos"], single_summary["slos"], strict=True):
        assert a["name"] == b["name"]
        if a["metric"] == "stranded_drivers":
            assert abs(a["observed"] - b["observed"]) <= 2, (a, b)
        else:
            assert a["observed"] == pytest.approx(b["observed"], rel=0.35), (a, b)

    # the fleet counters: the whole fleet ran, with the same traffic give or take
    d_fleet = [r for r in dist_records if r["type"] == "sample"][-1]["fleet"]
    s_fleet = [r for r in single_records if r["type"] == "sample"][-1]["fleet"]
    assert d_fleet["cars_total"] == s_fleet["cars_total"] == 30
    for key in ("telemetry_sent", "telemetry_acked", "drivers_needing"):
        assert d_fleet[key] == pytest.approx(s_fleet[key], rel=0.35), (key, d_fleet, s_fleet)

    # the fault: applied once (by the master), on the same proxy, on time, touching
    # connections, and removed, in both runs
    def faults(records: list[dict[str, Any]]) -> list[str]:
        return [r["action"] for r in records if r["type"] == "step" and r.get("fault")]

    assert faults(dist_records) == faults(single_records) == ["toxic_add", "toxic_remove"]
    for d, s in zip(dist_summary["faults"], single_summary["faults"], strict=True):
        assert d["label"] == s["label"]
        assert d["on_s"] == pytest.approx(s["on_s"], abs=1.0)
        assert d["off_s"] == pytest.approx(s["off_s"], abs=1.0)
        assert d["touched"] and s["touched"]
    assert dist_summary["faults_left"] == single_summary["faults_left"] == 0
    proxies = json.loads(_get(f"{dist_proxy}/proxies", hosts))
    assert all(not p["toxics"] for p in proxies.values()), proxies
    # the backend's admin API let the master's host in (--admin-from), no other host
    assert _get(f"{dist_backend}/admin/stats", hosts, role="w1") == "HTTP 403"
    assert json.loads(_get(f"{dist_backend}/admin/stats", hosts))["telemetry"]["stored"] > 0


def _get(url: str, hosts: netns.Hosts, role: str = "master") -> str:
    """A GET from one of the hosts (their addresses exist only in the namespaces), with
    the admin token; an HTTP error is its status ("HTTP 403")."""
    import subprocess

    code = ("import sys, urllib.error, urllib.request\n"
            f"req = urllib.request.Request({url!r}, headers={{'X-Admin-Token': {ADMIN_TOKEN!r}}})\n"
            "try:\n    print(urllib.request.urlopen(req, timeout=10).read().decode())\n"
            "except urllib.error.HTTPError as exc:\n    print(f'HTTP {exc.code}')\n")
    return subprocess.run(hosts.argv(role, [sys.executable, "-c", code]), capture_output=True,
                          text=True, timeout=60, check=True).stdout.strip()

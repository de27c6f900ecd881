"""One scenario across a master and two Locust workers reads like a single-process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fleetchaos.scenarios.journal import read_journal

HERE = Path(__file__).parent


def run(backend, toxiproxy, tmp_path: Path, name: str, processes: int) -> tuple[int, Path]:
    dump = tmp_path / f"{name}-dump"
    dump.mkdir()
    journal = tmp_path / f"{name}.jsonl"
    env = dict(os.environ, TOXIPROXY_URL=toxiproxy.url, FLEETCHAOS_ADMIN_TOKEN="test-admin-token",
               FLEET_DUMP_DIR=str(dump), PYTHONPATH=str(HERE.parents[1]))
    args = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile_dump.py"), "--headless",
            "--host", backend.url, "--scenario", "api-latency", "--time-scale", "0.5",
            "--seed", "99", "--journal", str(journal), "--run-id", f"{name}0000",
            "--only-summary", "--loglevel", "WARNING"]
    if processes > 1:
        args += ["--processes", str(processes)]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert journal.exists(), proc.stderr[-2000:]
    return proc.returncode, dump


@pytest.mark.slow
def test_master_and_two_workers_match_a_single_process(backend, toxiproxy, tmp_path):
    rc_dist, dump = run(backend, toxiproxy, tmp_path, "dist", processes=2)
    records = read_journal(tmp_path / "dist.jsonl")
    workers = [json.loads(p.read_text())["own"] for p in dump.glob("worker-*.json")]
    assert len(workers) == 2
    # both workers carried part of the fleet (Locust may give a whole class to one worker)
    assert all(w["cars_total"] + w["drivers_needing"] > 0 for w in workers)
    assert sum(w["cars_total"] for w in workers) == 60
    final = [r for r in records if r["type"] == "sample"][-1]["fleet"]
    sent = sum(w["telemetry_sent"] for w in workers)
    assert abs(final["telemetry_sent"] - sent) <= max(3, 0.05 * sent)
    needing = sum(w["drivers_needing"] for w in workers)
    drivers = [r for r in records if r["type"] == "driver"]
    assert abs(len(drivers) - needing) <= max(3, 0.1 * needing)
    adds = [r for r in records if r["type"] == "step" and r["action"] == "toxic_add"]
    assert len(adds) == 1  # the fault was applied once, by the master
    summary = next(r for r in records if r["type"] == "summary")

    rc_single, _ = run(backend, toxiproxy, tmp_path, "single", processes=1)
    single = next(r for r in read_journal(tmp_path / "single.jsonl") if r["type"] == "summary")
    assert {rc_dist, rc_single} <= {0, 1}
    assert summary["verdict"] in ("pass", "fail") and single["verdict"] in ("pass", "fail")
    # The verdicts are compared through the SLOs' observed values, within tolerance: one
    # driver more or less, or a p95 a bucket apart, must not count as a different run.
    for a, b in zip(summary["slos"], single["slos"], strict=True):
        assert a["name"] == b["name"]
        if a["metric"] == "stranded_drivers":
            assert abs(a["observed"] - b["observed"]) <= 2, (a, b)
        else:
            assert a["observed"] == pytest.approx(b["observed"], rel=0.35), (a, b)
    d_total = summary["totals"]["requests"]
    s_total = single["totals"]["requests"]
    assert abs(d_total - s_total) <= 0.3 * s_total

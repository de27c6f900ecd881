"""A plain `locust -f locustfile.py --headless` run (no fleetchaos CLI) ends with the
verdict and the SLO table after Locust's own tables: real Locust, real built-in
Toxiproxy, the reference backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_plain_headless_locust_prints_the_verdict_and_slos_after_its_tables(backend, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"}
    env.update(FLEETCHAOS_ADMIN_TOKEN="test-admin-token", NO_COLOR="1", COLUMNS="100")
    result = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"), "--headless",
         "--host", backend.url, "--scenario", "baseline", "--time-scale", "0.2",
         "--set", "fleet.cars=5", "--set", "fleet.drivers=5",
         "--journal", str(tmp_path / "run.jsonl"), "--loglevel", "WARNING"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env,
        stdin=subprocess.DEVNULL)
    out = result.stdout + result.stderr
    assert result.returncode in (0, 1, 4), out[-3000:]  # 4: an SLO with too few samples
    assert "Response time percentiles" in out  # Locust's own tables still print
    tail = out.split("Response time percentiles", 1)[1]
    verdict = {0: "PASS", 1: "FAIL", 4: "INSUFFICIENT"}[result.returncode]
    assert f"fleetchaos verdict: {verdict}" in tail
    for slo in ("unlock_success_ratio", "stranded_drivers"):
        assert slo in (tmp_path / "run.jsonl").read_text()
    assert "SLO" in tail and "observed" in tail and "threshold" in tail
    assert f"journal: {tmp_path / 'run.jsonl'}" in tail.replace("\n", "")
    assert "Traceback" not in out

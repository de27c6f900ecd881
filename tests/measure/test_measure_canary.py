"""The canary in a real run: data in every phase with no driver at all, and a fixed rate
that a slow backend does not throttle (open loop: one connection per probe)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fleetchaos.scenarios.journal import read_journal
from fleetchaos.scenarios.summary import build_summary

# No drivers and no cars: only the canary talks to the backend. From 4 s to 12 s every
# answer on the API proxy is held 2.5 s (a latency toxic on the downstream).
SCENARIO = """\
title: canary test - a slow API and nobody but the canary
duration: 16
fleet:
  cars: 0
  drivers: 0
  canary: {interval_s: 0.25, window_s: 2}
phases:
  - {name: before, start: 0, end: 4}
  - {name: slow, start: 4, end: 12}
  - {name: after, start: 12, end: 16}
timeline:
  - {at: 4, duration: 8, toxic: {proxy: api, type: latency, attributes: {latency: 2500}}}
slos:
  - {name: canary recovers within 3 s, phase: all, metric: recovery_s, max: 3}
"""


@pytest.mark.slow
def test_canary_probes_every_phase_at_its_rate_even_when_answers_are_slow(tmp_path):
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(SCENARIO)
    journal = tmp_path / "run.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "fleetchaos.cli", "run", str(scenario), "--out",
         str(tmp_path / "out"), "--journal", str(journal), "--no-live"],
        capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"})
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    summary = build_summary(read_journal(journal))
    phases = {p["name"]: p for p in summary["phases"]}
    for name, phase in phases.items():
        probes = phase["by_action"].get("canary unlock") or {}
        assert sum((probes.get("by_status") or {}).values()) > 0, name  # data, no drivers
    slow = phases["slow"]["by_action"]["canary unlock"]
    # 4 probes/s for 8 s, each answered 2.5 s late: about 22 finish inside the phase.
    # Probes queued on one connection (a closed loop) would finish one per 2.5 s: 3.
    assert slow["requests"] >= 12, slow
    assert slow["p50_ms"] >= 2500  # the toxic really held them
    assert summary["recovery"]["status"] == "recovered", summary["recovery"]

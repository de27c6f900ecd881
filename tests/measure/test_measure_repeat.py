"""The repeat aggregate (fleetchaos/runs/repeat.py) and its bad input: exit 2, one line."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from fleetchaos.runs.repeat import aggregate, render

SLO = {"name": "recovers", "phase": "all", "metric": "recovery_s", "op": "<=",
       "threshold": 10.0}


def summary(observed: float | None, passed: bool, margin: float | None) -> dict[str, Any]:
    return {"scenario": "s", "seed": 7, "run_id": "r", "verdict": "pass" if passed else "fail",
            "slos": [{**SLO, "observed": observed, "passed": passed, "margin": margin}],
            "recovery": {"status": "recovered" if passed else "not_recovered",
                         "seconds": observed}}


def test_median_spread_margin_and_the_rule():
    runs = [summary(4.0, True, 6.0), summary(12.0, False, None), summary(6.0, True, 4.0)]
    agg = aggregate(runs)
    slo = agg["slos"][0]
    assert slo["median"] == 6.0 and slo["spread"] == {"min": 4.0, "max": 12.0}
    assert slo["margin"] == 5.0 and slo["passed_runs"] == 2 and slo["agree"] == 2
    assert not slo["passed"] and agg["verdict"] == "fail"  # default: every run must pass
    assert aggregate(runs, "majority")["verdict"] == "pass"
    assert "every run must pass" in render(agg) and "2/3" in render(agg)


def test_repeat_pools_samples_of_an_slo_too_thin_in_each_run():
    """Issue 22: three runs of 12 unlocks each are each `insufficient` (20 needed); pooled,
    36 unlocks judge the SLO on the ratio of all of them."""
    def thin(observed: float) -> dict[str, Any]:
        slo = {"name": "unlocks", "phase": "flood", "metric": "unlock_success_ratio",
               "op": ">=", "threshold": 0.9, "observed": observed, "passed": False,
               "margin": None, "samples": 12, "min_samples": 20, "status": "insufficient"}
        return {"scenario": "s", "seed": 7, "run_id": "r", "verdict": "insufficient",
                "slos": [slo], "recovery": {}}

    agg = aggregate([thin(1.0), thin(11 / 12), thin(1.0)])
    slo = agg["slos"][0]
    assert slo["samples"] == 36 and slo["status"] == "pass" and slo["passed"]
    assert slo["pooled"] == round(35 / 36, 4) and agg["verdict"] == "pass"
    low = aggregate([thin(0.5), thin(0.75), thin(1.0)])["slos"][0]
    assert low["status"] == "fail" and low["pooled"] == 0.75
    alone = aggregate([thin(1.0)])
    assert alone["slos"][0]["status"] == "insufficient" and alone["verdict"] == "insufficient"
    assert "insufficient" in render(alone) and "12" in render(alone)


def test_no_data_is_counted_not_averaged():
    agg = aggregate([summary(None, False, None), summary(3.0, True, 7.0)])
    slo = agg["slos"][0]
    assert slo["median"] == 3.0 and slo["observations"] == [None, 3.0]


@pytest.mark.parametrize("args, words", [
    (["--repeat", "0"], "--repeat must be at least 1"),
    (["--repeat", "2", "--html", "r.html"], "--html names one run"),
])
def test_bad_repeat_input_exits_2_with_one_line(tmp_path, args, words):
    proc = subprocess.run(
        [sys.executable, "-m", "fleetchaos.cli", "run", "baseline", "--out",
         str(tmp_path / "out"), *args], capture_output=True, text=True, timeout=60,
        cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.journal.jsonl"))


@pytest.mark.parametrize("canary, words", [
    ("{count: 11}", "fleet.canary.count"),
    ("{actions: [unlok]}", "fleet.canary.actions.0: expected one of"),
    ("{interval_s: 0}", "fleet.canary.interval_s"),
    ("{window_s: .nan}", "fleet.canary.window_s"),
    ("{every: 1}", "fleet.canary.every"),
])
def test_validate_refuses_a_bad_canary_with_file_line_key(tmp_path, canary, words):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("title: t\nduration: 10\nfleet:\n  canary: " + canary + "\n")
    proc = subprocess.run([sys.executable, "-m", "fleetchaos.cli", "validate", str(scenario)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{scenario}:4: {words}" in lines[0], lines

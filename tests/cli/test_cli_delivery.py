"""Faults delivered as asked (issue 22): a PASS only when the fault really happened at the
size the scenario names.

The headline case: a backend whose telemetry answers take 1 s (written here). "verbosity
x60 on 80 % of cars" asks each car of the cohort for 60 times its records; HTTP cars that
keep one request in flight cannot send more than one batch a second there, so the backend
throttles the very flood meant to overload it (a closed loop hides overload). Before
issue 22 such a run PASSed, saying only how many records it touched. Now either the cars
deliver the asked factor (delivered_ratio >= 0.8: the open-model cars of fleet_sim) or
the run ends `under-delivered`, exit 4 — never PASS.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from json_backend import json_backend, run_against

PROFILE = """\
name: slow-telemetry
description: telemetry answers take one second
actions:
  unlock: {method: POST, path: "/vehicles/{vin}/unlock"}
telemetry:
  transport: http
  path: "/telemetry/{vin}"
"""
SCENARIO = """\
title: a flood against a backend that answers telemetry in 1 s
duration: 32
fleet: {cars: 40, drivers: 4, need_interval_s: 3, patience_s: 5, spawn_rate: 400}
phases:
  - {name: baseline, start: 0, end: 12}
  - {name: flood, start: 12, end: 24}
  - {name: recovery, start: 24, end: 32}
timeline:
  - {at: 12, duration: 12, verbosity: {level: 60, cohort: 0.8}}
slos:
  - {metric: unlock_success_ratio, phase: all, min: 0.9}
"""
TELEMETRY_DELAY_S = 1.0


@pytest.fixture
def slow_backend() -> Iterator[str]:
    def answer(path: str) -> dict[str, Any]:
        if path.startswith("/telemetry/"):
            time.sleep(TELEMETRY_DELAY_S)  # every telemetry answer takes a second
        return {"ok": True}

    with json_backend(answer) as url:
        yield url


@pytest.mark.slow
def test_a_flood_a_slow_backend_throttles_is_never_a_pass(cli, slow_backend, tmp_path: Path):
    result, summary = run_against(cli, slow_backend, tmp_path, PROFILE, SCENARIO)
    flood = summary["faults"][0]
    assert flood["unit"] == "x" and flood["asked"] == 60
    assert flood["delivered"] is not None and flood["delivered_ratio"] is not None
    assert summary["verdict"] != "pass" or flood["delivered_ratio"] >= 0.8, summary
    if flood["delivered_ratio"] < flood["min_delivery"]:
        assert summary["verdict"] == "under-delivered", summary["verdict_reason"]
        assert result.returncode == 4, result.stderr[-2000:]
        line = [ln for ln in result.stderr.splitlines() if ln.startswith("fleetchaos:")]
        assert line == [f"fleetchaos: under-delivered: {flood['message']}"]
        assert "asked x60, delivered x" in flood["message"]
        assert flood["cause"].startswith("the backend throttled the cars"), flood["cause"]
        assert summary["under_delivered"][0]["label"] == flood["label"]
    else:
        assert flood["delivered_ratio"] >= 0.8, flood

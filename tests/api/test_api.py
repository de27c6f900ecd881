"""The public Python API (issue 13): small, typed, locked, and cheap to import."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

import fleetchaos

PUBLIC = [
    "EXIT_BAD_INPUT", "EXIT_BREACH", "EXIT_HARNESS", "EXIT_NO_EFFECT", "EXIT_PASS",
    "FleetchaosError", "HarnessError", "PhaseResult", "SloResult", "Summary", "UsageError",
    "__version__", "load_scenario", "run",
]


def test_the_public_names_are_locked():
    """Adding or removing a public name is an API change: update this list on purpose."""
    assert sorted(fleetchaos.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(fleetchaos, name) is not None
    assert (fleetchaos.EXIT_PASS, fleetchaos.EXIT_BREACH, fleetchaos.EXIT_BAD_INPUT,
            fleetchaos.EXIT_HARNESS, fleetchaos.EXIT_NO_EFFECT) == (0, 1, 2, 3, 4)
    with pytest.raises(AttributeError):
        _ = fleetchaos.not_a_public_name


def test_importing_fleetchaos_never_imports_locust_or_gevent():
    """Locust monkey-patches gevent into whoever imports it: the API must not."""
    code = ("import sys, fleetchaos, fleetchaos.pytest_plugin; fleetchaos.Summary; fleetchaos.run; "
            "import json; print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('locust', 'gevent'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert json.loads(out) == []


def test_summary_is_frozen_and_typed_from_the_engine_dict():
    raw = {"scenario": "s", "title": "t", "run_id": "r", "seed": 7, "verdict": "fail",
           "duration_s": 12.0, "stranded_drivers": 2, "recovery_s": None,
           "slos": [{"name": "unlock_p95_ms <= 500 (flood)", "metric": "unlock_p95_ms",
                     "phase": "flood", "op": "<=", "threshold": 500.0, "observed": 812.0,
                     "passed": False}],
           "phases": [{"name": "flood", "start_s": 0.0, "end_s": 12.0, "requests": 40,
                       "failures": 3, "stranded": 2, "p95_ms": 900.0}]}
    summary = fleetchaos.Summary.from_dict(raw)
    assert summary.exit_code == fleetchaos.EXIT_BREACH and not summary.passed
    assert summary.failed_slos == (summary.slo("unlock_p95_ms"),)
    assert summary.slo("unlock_p95_ms", phase="flood").observed == 812.0
    assert summary.phase("flood").stranded == 2
    with pytest.raises(KeyError, match=r"the scenario has: 'unlock_p95_ms <= 500 \(flood\)'"):
        summary.slo("telemetry_ack_ratio")
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.verdict = "pass"  # type: ignore[misc]
    assert fleetchaos.Summary.from_dict({**raw, "verdict": "no-effect"}).exit_code == 4


def test_load_scenario_validates_and_applies_overrides():
    scenario = fleetchaos.load_scenario("baseline", overrides={"fleet.cars": 7}, time_scale=0.5)
    assert scenario.fleet["cars"] == 7 and scenario.duration_s == 15
    with pytest.raises(fleetchaos.UsageError, match="no-such-scenario"):
        fleetchaos.load_scenario("no-such-scenario")


def test_bad_input_raises_usage_error_before_anything_starts(tmp_path):
    with pytest.raises(fleetchaos.UsageError, match="loopback"):
        fleetchaos.run("baseline", host="http://192.0.2.10:8080", out=tmp_path)
    with pytest.raises(fleetchaos.UsageError, match="time_scale"):
        fleetchaos.run("baseline", time_scale=0, out=tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(fleetchaos.UsageError, match=r"^summary= .*not a directory"):
        fleetchaos.run("baseline", out=tmp_path, summary=blocker / "s.json")
    assert not list(tmp_path.glob("*.log"))


@pytest.mark.slow
def test_run_returns_the_summary_of_a_real_run(tmp_path):
    # 6 s of 5 cars: too few samples for the default min_samples (20), so each SLO is
    # told to judge what it gets (an SLO below its min_samples is never a pass)
    summary = fleetchaos.run("baseline", time_scale=0.2, out=tmp_path,
                             overrides={"fleet.cars": 5, "fleet.drivers": 5,
                                        **{f"slos.{i}.min_samples": 0 for i in range(4)}},
                             junit=tmp_path / "junit.xml")
    assert summary.verdict == "pass", summary.failed_slos
    assert summary.exit_code == 0 and summary.passed
    assert summary.scenario == "baseline" and summary.seed == 2021
    assert {s.metric for s in summary.slos} >= {"unlock_success_ratio", "stranded_drivers"}
    assert all(isinstance(s, fleetchaos.SloResult) for s in summary.slos)
    assert summary.phase("steady").requests > 0
    assert summary.journal is not None and summary.journal.is_file()
    assert (tmp_path / "junit.xml").is_file()
    assert summary.run_id in summary.journal.name

"""Steps against real processes (Locust, the built-in Toxiproxy, the reference backend):
faults on time, a step that fails mid-run, a fault that touches nothing, a fault aimed
through the profile that does touch, and a journal that already exists."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from fleetchaos.scenarios.journal import read_journal

REPO = Path(__file__).resolve().parents[2]


def scenario_file(tmp_path: Path, timeline: str, duration: int = 8) -> str:
    # a car takes a new verbosity at its next record (docs/fleet.md): a 1 s base interval
    # lets a flood of a few seconds reach the cars (at the default 10 s, few would switch)
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(f"""\
        title: live step test
        description: steps against real processes
        duration: {duration}
        fleet: {{cars: 6, drivers: 6, patience_s: 5, need_interval_s: 2, spawn_rate: 50,
                 telemetry: {{interval_s: 1}}}}
        phases:
          - {{name: run, start: 0, end: {duration}}}
        timeline:
        """) + textwrap.indent(textwrap.dedent(timeline), "  "))
    return str(path)


def start_run(backend, toxiproxy_url: str, scenario: str, tmp_path: Path,
              run_id: str = "live1234") -> subprocess.Popen[str]:
    env = dict(os.environ, TOXIPROXY_URL=toxiproxy_url,
               FLEETCHAOS_ADMIN_TOKEN="test-admin-token")
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"), "--headless",
         "--host", backend.url, "--scenario", scenario,
         "--journal", str(tmp_path / "run.jsonl"), "--run-id", run_id, "--only-summary",
         "--loglevel", "WARNING", "--summary", str(tmp_path / "summary.json")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)


def names_on(url: str) -> list[str]:
    proxies = requests.get(f"{url}/proxies", timeout=10).json()
    return [t["name"] for p in proxies.values() for t in p["toxics"]] + list(proxies)


def step_records(tmp_path: Path) -> list[dict[str, Any]]:
    return [r for r in read_journal(tmp_path / "run.jsonl") if r["type"] == "step"]


@pytest.mark.slow
def test_faults_go_on_and_off_on_time(backend, toxiproxy, tmp_path):
    """Scheduled at 2 s for 3 s: on within [2, 2.5] s and off within [5, 5.5] s of the run's
    clock, as measured around the Toxiproxy API call (was up to a second late on the
    shape's 1 s tick)."""
    path = scenario_file(tmp_path, """\
        - {at: 2, duration: 3, toxic: {proxy: api, type: latency, attributes: {latency: 20}}}
        - {at: 2.5, duration: 2.5, min_delivery: 0, verbosity: {level: 20, cohort: 1}}
        """)  # 2.5 s of 6 cars: too short to deliver or measure a flood (not judged here)
    proc = start_run(backend, toxiproxy.url, path, tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 1), err[-2000:]
    steps = step_records(tmp_path)
    on = next(r for r in steps if r["action"] == "toxic_add")
    off = next(r for r in steps if r["action"] == "toxic_remove")
    assert 2.0 <= on["call_s"][0] <= on["t"] <= 2.5
    assert 5.0 <= off["call_s"][0] <= off["off_s"] <= 5.5
    verb_on, verb_off = [r for r in steps if r["action"] == "verbosity"]
    assert 2.5 <= verb_on["t"] <= 3.0 and 5.0 <= verb_off["off_s"] <= 5.5
    assert off["effect"]["count"] > 0 and off["effect"]["what"] == "connections through api"
    assert verb_off["effect"]["count"] > 0  # telemetry records sent while it was on
    assert names_on(toxiproxy.url) == []


@pytest.mark.slow
def test_a_step_failing_mid_run_rolls_back_and_exits_3(backend, toxiproxy, tmp_path):
    """The api proxy vanishes from Toxiproxy mid-run (someone deleted it): the next step on
    it fails, is journaled, the telemetry fault already on is rolled back, and the run
    stops early with exit 3 and one line on stderr (was: exit 1, reason only in a log)."""
    path = scenario_file(tmp_path, """\
        - {at: 1, duration: 20, toxic: {proxy: telemetry, type: latency, attributes: {latency: 5}}}
        - {at: 4, duration: 2, toxic: {proxy: api, type: latency, attributes: {latency: 5}}}
        """, duration=30)
    proc = start_run(backend, toxiproxy.url, path, tmp_path, run_id="fail1234")
    try:
        deadline = time.monotonic() + 60
        while not any("latency" in n for n in names_on(toxiproxy.url)):
            assert time.monotonic() < deadline, "the telemetry toxic never appeared"
            time.sleep(0.1)
        requests.delete(f"{toxiproxy.url}/proxies/fc-fail1234-api", timeout=10)
        started = time.monotonic()
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - started < 25  # stopped at the failure, not at 30 s
    assert proc.returncode == 3, err[-2000:]
    ours = [line for line in err.splitlines() if line.startswith("fleetchaos:")]
    assert len(ours) == 1 and ours[0].startswith("fleetchaos: harness failure: step 1")
    assert "Traceback" not in err
    records = read_journal(tmp_path / "run.jsonl")
    error = next(r for r in records if r["type"] == "error")
    assert error["step"] == 1
    removed = [r for r in records if r["type"] == "step" and r["action"] == "toxic_remove"]
    assert removed and removed[0]["detail"]["rollback"] == "run ended (step failed)"
    assert next(r for r in records if r["type"] == "summary")["verdict"] == "error"
    assert names_on(toxiproxy.url) == []


@pytest.mark.slow
def test_a_fault_that_matches_nothing_is_no_effect_not_pass(backend, toxiproxy, tmp_path):
    """An http_error aimed at a path the backend does not have injects nothing: the verdict
    is no-effect, exit 4, one line naming the fault and what it could have matched."""
    path = scenario_file(tmp_path, """\
        - {at: 1, duration: 4, http_error: {proxy: api, method: POST, path: "/commands/*"}}
        """)
    proc = start_run(backend, toxiproxy.url, path, tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, err[-2000:]
    lines = [line for line in err.splitlines() if line.startswith("fleetchaos:")]
    assert lines == ["fleetchaos: no-effect: fault 'http_error 500 on 100 % of POST /commands/* "
                     "on api' at " + lines[0].split(" at ", 1)[1]]
    assert "could have matched POST /commands/* (path)" in lines[0]
    off = next(r for r in step_records(tmp_path) if r["action"] == "toxic_remove")
    assert off["effect"]["count"] == 0


@pytest.mark.slow
def test_a_fault_aimed_through_the_profile_hits_the_profiles_unlock(backend, toxiproxy,
                                                                     tmp_path):
    """`actions: [unlock]` becomes the reference profile's POST /api/1/vehicles/*/command/
    door_unlock; the toxic's `injected` counter says how many unlocks it answered."""
    path = scenario_file(tmp_path, """\
        - {at: 1, duration: 5, http_error: {actions: [unlock], share: 1, status: 503}}
        """)
    proc = start_run(backend, toxiproxy.url, path, tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 1), err[-2000:]
    on = next(r for r in step_records(tmp_path) if r["action"] == "http_error_add")
    assert on["detail"]["routes"] == [{"action": "unlock", "actions": ["unlock"], "proxy": "api",
                                       "method": "POST",
                                       "path": "/api/1/vehicles/*/command/door_unlock"}]
    off = next(r for r in step_records(tmp_path) if r["action"] == "toxic_remove")
    assert off["effect"]["count"] > 0
    samples = [r for r in read_journal(tmp_path / "run.jsonl") if r["type"] == "sample"]
    answered_503 = sum(((s.get("by_action") or {}).get(a) or {}).get("by_status", {})
                       .get("503", 0) for s in samples for a in ("unlock", "canary unlock"))
    assert answered_503 > 0


def test_an_existing_journal_is_refused_before_anything_starts(backend, toxiproxy, tmp_path):
    (tmp_path / "run.jsonl").write_text('{"type":"header","run_id":"previous"}\n')
    path = scenario_file(tmp_path, "- {at: 1, verbosity: 2}\n")
    proc = start_run(backend, toxiproxy.url, path, tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert [line for line in err.splitlines() if line.strip()] == [
        f"fleetchaos: error: --journal {tmp_path / 'run.jsonl'}: exists; a journal is never "
        "appended to (remove it or name a new file)"]
    assert (tmp_path / "run.jsonl").read_text() == '{"type":"header","run_id":"previous"}\n'
    assert names_on(toxiproxy.url) == []


@pytest.mark.parametrize(("sets", "key"), [
    (["duration=.nan"], "duration"),
    (["timeline.0.at=.inf"], "timeline.0.at"),
    (["fleet.retry_policy=bogus"], "fleet.retry_policy"),
    (["timeline.0.backend_knob={db_pool_size: 1000000000}"], "timeline.0.backend_knob.db_pool_size"),
    (["timeline.0.toxic.toxicity=.nan"], "timeline.0.toxic.toxicity"),
])
def test_bad_values_stop_the_run_before_anything_starts(backend, toxiproxy, tmp_path, sets, key):
    """What validate refuses, run refuses the same way: exit 2, one line naming the key,
    no journal, nothing on Toxiproxy (before: NaN durations never ended, a 10^9 pool grew
    the backend to 1.1 GB, a bogus retry policy failed mid-run)."""
    step = ("backend_knob: {db_pool_size: 2}" if "backend_knob" in key else
            "toxic: {proxy: api, type: latency}" if "toxic" in key else "verbosity: 2")
    path = scenario_file(tmp_path, f"- {{at: 1, duration: 2, {step}}}\n")
    env = dict(os.environ, TOXIPROXY_URL=toxiproxy.url, FLEETCHAOS_ADMIN_TOKEN="test-admin-token")
    argv = [sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"), "--headless",
            "--host", backend.url, "--scenario", path, "--journal", str(tmp_path / "run.jsonl"),
            "--only-summary", "--loglevel", "WARNING"]
    for item in sets:
        argv += ["--set", item]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fleetchaos: error: "), lines
    assert f": --set {sets[0]}: " in lines[0] and key in lines[0], lines[0]  # override and value echoed
    assert not (tmp_path / "run.jsonl").exists()
    assert names_on(toxiproxy.url) == []


@pytest.mark.slow
def test_injected_errors_stay_in_the_storm_phase(backend, toxiproxy, tmp_path):
    """api-500-storm at time-scale 0.5: the 500s end with the storm phase (15 s). The fault
    used to be removed up to a second late, on the shape's tick, and its 500s counted in
    the recovery phase; now it is off within milliseconds of 15 s, so at most a request or
    two in flight at that instant can land in recovery."""
    env = dict(os.environ, TOXIPROXY_URL=toxiproxy.url, FLEETCHAOS_ADMIN_TOKEN="test-admin-token")
    proc = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"), "--headless",
         "--host", backend.url, "--scenario", "api-500-storm", "--time-scale", "0.5",
         "--journal", str(tmp_path / "run.jsonl"), "--only-summary", "--loglevel", "WARNING"],
        env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    records = read_journal(tmp_path / "run.jsonl")
    off = next(r for r in records if r["type"] == "step" and r["action"] == "toxic_remove")
    assert 15.0 <= off["off_s"] <= 15.5
    assert off["effect"]["count"] > 0

    def five_hundreds(phase: str) -> int:
        return sum(((s.get("by_action") or {}).get(a) or {}).get("by_status", {}).get("500", 0)
                   for s in records if s["type"] == "sample" and s.get("phase") == phase
                   for a in ("unlock", "remote_start", "canary unlock"))

    assert five_hundreds("storm") > 0
    assert five_hundreds("recovery") <= 2

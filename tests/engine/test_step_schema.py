"""What `validate` accepts is what `run` accepts: every step plug-in checks its values at
load time with `file:line: key` messages; NaN and infinity are refused everywhere."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from fleetchaos.scenarios.loader import load_scenario
from fleetchaos.scenarios.schema import ScenarioError
from fleetchaos.scenarios.steps import STEPS

BASE = textwrap.dedent("""\
    title: schema test
    duration: 30
    fleet: {cars: 10, drivers: 5, patience_s: 15}
    phases:
      - {name: before, start: 0, end: 10}
      - {name: during, start: 10, end: 30}
    timeline:
      - at: 10
        duration: 5
        STEP
    slos:
      - {metric: unlock_success_ratio, phase: during, min: 0.9}
""")


def load(tmp_path, step: str, base: str = BASE):
    path = tmp_path / "s.yaml"
    path.write_text(base.replace("STEP", step))
    return load_scenario(str(path)), str(path)


def refused(tmp_path, step: str, base: str = BASE) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(base.replace("STEP", step))
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path))
    return str(info.value)


def test_every_step_action_is_a_registered_plug_in():
    assert set(STEPS) == {"users", "verbosity", "toxic", "proxy_down", "http_error",
                          "backend_knob"}
    for cls in STEPS.values():
        assert cls.journal_action and cls.undo_action


@pytest.mark.parametrize(("old", "new", "line", "key"), [
    ("duration: 30", "duration: .nan", 2, "duration"),
    ("duration: 30", "duration: .inf", 2, "duration"),
    ("  - at: 10", "  - at: .nan", 8, "timeline.0.at"),
    ("    duration: 5", "    duration: .inf", 9, "timeline.0.duration"),
    ("patience_s: 15", "patience_s: .nan", 3, "fleet.patience_s"),
    ("min: 0.9", "min: .nan", 12, "slos.0.min"),
    ("end: 30}", "end: .inf}", 6, "phases.1.end"),
])
def test_nan_and_infinity_are_refused_with_file_line_key(tmp_path, old, new, line, key):
    step = "verbosity: {level: 2}"
    message = refused(tmp_path, step, BASE.replace(old, new))
    assert message.startswith(f"{tmp_path / 's.yaml'}:{line}: {key}: "), message
    assert "finite number" in message


@pytest.mark.parametrize(("item", "key"), [
    ("duration=.nan", "duration"), ("timeline.0.at=.inf", "timeline.0.at"),
    ("timeline.0.verbosity.level=.nan", "timeline.0.verbosity.level"),
    ("fleet.patience_s=-.inf", "fleet.patience_s"),
])
def test_nan_and_infinity_from_overrides_are_refused(tmp_path, item, key):
    _, path = load(tmp_path, "verbosity: {level: 2}")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=[item])
    # the override is named as given, with its bad value echoed (issue 23)
    assert f": --set {item}: " in str(info.value) and key in str(info.value)
    assert "expected a finite number, got " in str(info.value)


@pytest.mark.parametrize(("step", "key", "expected"), [
    ("toxic: {proxy: api, type: latency, toxicity: .nan}", "timeline.0.toxic.toxicity",
     "a finite number"),
    ("toxic: {proxy: api, type: latency, attributes: {latency: .nan}}",
     "timeline.0.toxic.attributes.latency", "a finite number"),
    ("toxic: {proxy: api, type: latency, attributes: {latency: 2.5}}",
     "timeline.0.toxic.attributes.latency", "a whole number of ms"),
    ("toxic: {proxy: api, type: latency, attributes: {latncy: 100}}",
     "timeline.0.toxic.attributes.latncy", "one of jitter, latency"),
    ("toxic: {proxy: api, type: http_error}", "timeline.0.toxic.type",
     "http_error is its own step"),
    ("verbosity: {level: .inf}", "timeline.0.verbosity.level", "a finite number"),
    ("verbosity: {level: 2, cohort: 1.5}", "timeline.0.verbosity.cohort", "<= 1"),
    ("backend_knob: {db_pool_size: 1000000000}", "timeline.0.backend_knob.db_pool_size",
     "between 1 and 256"),
    ("backend_knob: {db_pool_size: 2.5}", "timeline.0.backend_knob.db_pool_size",
     "a whole number"),
    ("backend_knob: {db_pol_size: 2}", "timeline.0.backend_knob.db_pol_size", "unknown knob"),
    ("backend_knob: {sqlite_synchronous: SOMETIMES}",
     "timeline.0.backend_knob.sqlite_synchronous", "OFF, NORMAL, FULL"),
    ("http_error: {actions: [unlok]}", "timeline.0.http_error.actions.0", "one of list_vehicles"),
    ("http_error: {actions: [unlock], path: /x}", "timeline.0.http_error.path",
     "no method/path when actions aim"),
    ("http_error: {share: 0.5}", "timeline.0.http_error", "actions: [unlock, ...]"),
    ("http_error: {actions: [unlock], status: 700}", "timeline.0.http_error.status",
     "an HTTP status code"),
    ("users: {cars: 2.5}", "timeline.0.users.cars", "a whole number"),
    ("toxic: {actions: [unlock], type: latency}", "timeline.0.toxic.actions",
     "only http_error aims at profile actions"),
    ("proxy_down: db", "timeline.0.proxy_down", "one of the proxies"),
])
def test_step_values_are_checked_at_load_time(tmp_path, step, key, expected):
    message = refused(tmp_path, step)
    assert f": {key}: " in message and expected in message, message
    assert message.startswith(f"{tmp_path / 's.yaml'}:")


def test_a_step_that_cannot_be_rolled_back_takes_no_duration(tmp_path):
    assert "timeline.0.duration: expected no duration: users" in refused(tmp_path,
                                                                       "users: {cars: 5}")


@pytest.mark.parametrize(("old", "new", "key", "expected"), [
    ("patience_s: 15", "retry_policy: bogus", "fleet.retry_policy",
     "one of fixed-1s, exponential-full-jitter, retry-budget"),
    ("patience_s: 15", "cohort: 2", "fleet.cohort", "<= 1"),
    ("patience_s: 15", "spawn_rate: 0", "fleet.spawn_rate", ">= 0.01"),
])
def test_fleet_values_are_checked_as_the_fleet_would(tmp_path, old, new, key, expected):
    message = refused(tmp_path, "verbosity: 2", BASE.replace(old, new))
    assert f":3: {key}: expected" in message and expected in message, message


def test_profile_aimed_fault_keeps_its_journal_form(tmp_path):
    scenario, _ = load(tmp_path, "http_error: {actions: [unlock, telemetry], share: 0.4}")
    step = scenario.timeline[0].to_json()
    assert step["spec"] == {"share": 0.4, "status": 500, "actions": ["unlock", "telemetry"]}
    assert step["label"] == "http_error 500 on 40 % of unlock, telemetry"
    assert scenario.extensions_needed() == {"http_error"}


def test_validate_refuses_what_run_refuses(tmp_path):
    """`fleetchaos validate` exits 2 with one line for a value `run` would refuse mid-run."""
    path = tmp_path / "s.yaml"
    path.write_text(BASE.replace("STEP", "backend_knob: {db_pool_size: 1000000000}"))
    proc = subprocess.run([sys.executable, "-m", "fleetchaos.cli", "validate", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "timeline.0.backend_knob.db_pool_size" in lines[0]


def test_validate_refuses_an_action_the_target_profile_does_not_define():
    """api-500-storm aims at unlock and remote_start; generic-rest defines only unlock, so
    `validate --target generic-rest` refuses it, as the run's set-up would (exit 2)."""
    proc = subprocess.run([sys.executable, "-m", "fleetchaos.cli", "validate", "api-500-storm",
                           "--target", "generic-rest"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "timeline.0: a fault aims at the action 'remote_start'" in lines[0]
    ok = subprocess.run([sys.executable, "-m", "fleetchaos.cli", "validate", "api-500-storm",
                         "--target", "owner-api"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr


def test_a_ratio_threshold_above_one_is_refused(tmp_path):
    """`min: 95` meant 95 %: a ratio SLO could never pass, so it is refused at load time."""
    message = refused(tmp_path, "verbosity: 2", BASE.replace("min: 0.9", "min: 95"))
    assert ":12: slos.0.min: expected a number >= 0 and <= 1, got 95" in message

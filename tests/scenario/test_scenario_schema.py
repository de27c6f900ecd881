"""Scenario files: the built-ins validate, and every mistake names file, line and key."""

from __future__ import annotations

import textwrap

import pytest

from fleetchaos.scenarios.loader import list_builtin, load_scenario
from fleetchaos.scenarios.schema import ScenarioError
from fleetchaos.scenarios.steps.toxic import ToxicStep

GOOD = textwrap.dedent("""\
    title: A test scenario
    duration: 30
    fleet: {cars: 10, drivers: 5}
    phases:
      - {name: before, start: 0, end: 10}
      - {name: during, start: 10, end: 20}
      - {name: after, start: 20, end: 30}
    timeline:
      - at: 10
        duration: 10
        toxic: {proxy: api, type: latency, attributes: {latency: 100}}
    slos:
      - {metric: unlock_success_ratio, phase: during, min: 0.9}
""")


def write(tmp_path, text: str, name: str = "s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_every_builtin_validates():
    names = [n for n, _ in list_builtin()]
    assert {"baseline", "verbosity-flood-2021", "api-500-storm", "api-latency",
            "telemetry-partition", "cellular-bandwidth", "half-open"} <= set(names)
    for name in names:
        scenario = load_scenario(name)
        assert scenario.title and scenario.description
    flood = load_scenario("verbosity-flood-2021")
    assert [p.name for p in flood.phases] == ["baseline", "flood", "recovery"]
    assert load_scenario("api-500-storm").extensions_needed() == {"http_error"}
    assert load_scenario("api-latency").extensions_needed() == set()


@pytest.mark.parametrize(("old", "new", "line", "key", "expected"), [
    ("duration: 30", "duration: soon", 2, "duration", "a number"),
    ("fleet: {cars: 10, drivers: 5}", "fleet: {cars: -1, drivers: 5}", 3, "fleet.cars",
     "a whole number"),
    ("fleet: {cars: 10, drivers: 5}", "fleet: {cars: 10, wheels: 4}", 3, "fleet.wheels",
     "one of"),
    ("type: latency", "type: latenzy", 11, "timeline.0.toxic.type", "one of latency"),
    ("proxy: api,", "proxy: db,", 11, "timeline.0.toxic.proxy", "one of the proxies"),
    ("attributes: {latency: 100}", "attributes: {latency: fast}", 11,
     "timeline.0.toxic.attributes.latency", "a number"),
    ("  - at: 10\n", "  - at: 99\n", 9, "timeline.0.at", "a time before"),
    ("{name: during, start: 10, end: 20}", "{name: during, start: 5, end: 20}", 6,
     "phases.1.start", "at or after"),
    ("metric: unlock_success_ratio", "metric: happiness", 13, "slos.0.metric", "one of"),
    ("phase: during, min: 0.9", "phase: later, min: 0.9", 13, "slos.0.phase", "a phase name"),
    ("phase: during, min: 0.9", "phase: during", 13, "slos.0", "exactly one of min or max"),
    ("title: A test scenario\n", "title: A test scenario\ncolour: red\n", 2, "colour",
     "one of"),
])
def test_errors_name_file_line_key_and_expectation(tmp_path, old, new, line, key, expected):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: {key}: expected"), message
    assert expected in message


def test_the_canary_window_scales_with_the_time_scale_but_not_under_a_sample(tmp_path):
    """Issue 22: at --time-scale 0.3 the 5 s canary window did not fit in api-500-storm's
    4.5 s recovery phase, so every such run said "did not recover"."""
    flood = load_scenario("verbosity-flood-2021", time_scale=0.3)
    assert flood.fleet["canary"]["window_s"] == pytest.approx(1.5)
    assert load_scenario("verbosity-flood-2021", time_scale=0.1).fleet["canary"]["window_s"] \
        == 1.0  # one journal sample at least
    assert load_scenario("verbosity-flood-2021").fleet["canary"]["window_s"] == 5


def test_a_recovery_slo_whose_window_cannot_fit_is_refused(tmp_path):
    path = tmp_path / "late.yaml"
    path.write_text("""\
title: late fault
duration: 20
fleet: {canary: {window_s: 5}}
timeline:
  - {at: 10, duration: 7, proxy_down: api}
slos:
  - {metric: recovery_s, max: 10}
""")
    with pytest.raises(ScenarioError) as err:
        load_scenario(str(path))
    assert str(err.value) == (
        f"{path}:3: fleet.canary.window_s: expected room for one canary window (5 s) after "
        "the last fault ends at 17 s, but the run ends at 20 s: recovery_s could never be "
        "measured (shorten fleet.canary.window_s, end the fault earlier or run longer)")
    assert load_scenario(str(path), overrides=["fleet.canary.window_s=3"]).duration_s == 20


def test_min_samples_and_min_delivery_are_validated(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("""\
title: keys of issue 22
duration: 20
timeline:
  - {at: 5, duration: 5, min_delivery: 0.8, verbosity: {level: 10}}
  - {at: 1, users: {cars: 2, drivers: 2}}
slos:
  - {metric: unlock_success_ratio, min: 0.9, min_samples: 50}
""")
    s = load_scenario(str(path))
    assert s.slos[0].min_samples == 50
    flood = next(x for x in s.timeline if x.action == "verbosity")
    assert flood.min_delivery == 0.8 and flood.to_json()["min_delivery"] == 0.8
    for override, key in (("timeline.0.min_delivery=1.5", "timeline.0.min_delivery"),
                          ("timeline.1.min_delivery=0.5", "timeline.1.min_delivery"),
                          ("slos.0.min_samples=0.5", "slos.0.min_samples"),
                          ("slos.0.min_samples=-1", "slos.0.min_samples")):
        with pytest.raises(ScenarioError, match=f"{key}[:=].*expected "):
            load_scenario(str(path), overrides=[override])


def test_overrides_env_and_time_scale(tmp_path):
    text = GOOD.replace("fleet: {cars: 10, drivers: 5}",
                        "fleet: {cars: '${FLEET_CARS}', drivers: '${DRIVERS:-7}'}")
    path = write(tmp_path, text)
    s = load_scenario(path, overrides=["timeline.0.toxic.attributes.latency=250",
                                       "fleet.retry_policy=retry-budget"],
                      time_scale=0.5, env={"FLEET_CARS": "40"})
    # the canary's recovery window is a time of the scenario too: 5 s at 0.5 is 2.5 s
    assert s.fleet == {"cars": 40, "drivers": 7, "retry_policy": "retry-budget",
                       "canary": {"window_s": 2.5}}
    spec = s.timeline[0].spec
    assert isinstance(spec, ToxicStep) and spec.attributes["latency"] == 250
    assert (s.duration_s, s.timeline[0].at_s, s.timeline[0].duration_s) == (15, 5, 5)
    assert [(p.start_s, p.end_s) for p in s.phases] == [(0, 5), (5, 10), (10, 15)]
    with pytest.raises(ScenarioError, match="FLEET_CARS is not set"):
        load_scenario(path, env={})
    with pytest.raises(ScenarioError, match="expected key=value"):
        load_scenario(path, overrides=["nonsense"], env={"FLEET_CARS": "1"})
    with pytest.raises(ScenarioError, match="no such list item"):
        load_scenario(path, overrides=["timeline.5.at=1"], env={"FLEET_CARS": "1"})


@pytest.mark.parametrize(("content", "message"), [
    (b"title: x\n" + b"a" * (2 * 1024 * 1024), "limited to"),
    (b"\x00\x01\x02binary\xff", "binary"),
    (b"title: \xff\xfe not utf8", "not UTF-8"),
    (("x: " + "[" * 200 + "]" * 200).encode(), "nested deeper"),
    (b"a: &a [1,1,1,1,1,1,1,1,1]\n" + b"".join(
        b"%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n" % ((b"k%d" % i,) * 2 + (
            b"a" if i == 0 else b"k%d" % (i - 1),) * 8) for i in range(20)), "aliases"),
    (b"title: [unclosed", "not valid YAML"),
    (b"- just\n- a list\n", "expected a mapping"),
])
def test_hostile_files_are_refused(tmp_path, content, message):
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(str(path))


def test_unknown_names_and_paths():
    with pytest.raises(ScenarioError, match="not a built-in scenario"):
        load_scenario("no-such-scenario")
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario("/nonexistent/x.yaml")

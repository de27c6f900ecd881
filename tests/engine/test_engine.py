"""The engine on fakes: steps on their own timers, on/off times and effects in the journal,
rollback however the run ends, honest failure (exit 3), no-effect (exit 4), and a
journal that is never appended to. Runs in about a second, no Locust or servers."""

from __future__ import annotations

import textwrap
import time
from typing import Any

import gevent
import pytest
from engine_fakes import FakeSetup, fake_environment

from fleetchaos.scenarios.engine import Engine
from fleetchaos.scenarios.journal import read_journal
from fleetchaos.scenarios.loader import load_scenario
from fleetchaos.scenarios.schema import Scenario


def scenario(tmp_path, timeline: str, duration: float = 1.6) -> Scenario:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(f"""\
        title: engine test
        duration: {duration}
        phases:
          - {{name: before, start: 0, end: 0.3}}
          - {{name: during, start: 0.3, end: 1.0}}
          - {{name: after, start: 1.0, end: {duration}}}
        timeline:
        """) + textwrap.indent(textwrap.dedent(timeline), "  "))
    return load_scenario(str(path))


def run(engine: Engine, deadline_s: float = 20.0) -> None:
    """Drive the engine as Locust's shape would, until it says the run is over."""
    end = time.monotonic() + deadline_s
    while engine.tick() is not None:
        assert time.monotonic() < end, "the run did not end"
        gevent.sleep(0.05)
    if not engine.finished:
        engine.finish("test stopped")


def steps(tmp_path) -> list[dict[str, Any]]:
    return [r for r in read_journal(tmp_path / "j.jsonl") if r["type"] == "step"]


def test_a_fault_is_on_and_off_at_its_times(tmp_path):
    """Each step has its own timer (not the shape's 1 s tick): on at 0.3 s, off at 0.7 s,
    both within [t, t + 0.5 s]; the journal's on/off times are measured around the call."""
    s = scenario(tmp_path, """\
        - {at: 0.3, duration: 0.4, toxic: {proxy: api, type: latency, attributes: {latency: 5}}}
        """)
    setup = FakeSetup(s)
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    setup.faults.connections = 7
    run(engine)
    on, off = steps(tmp_path)
    assert on["action"] == "toxic_add" and off["action"] == "toxic_remove"
    assert 0.3 <= on["call_s"][0] <= on["t"] <= 0.8
    assert 0.7 <= off["call_s"][0] <= off["off_s"] <= 1.2
    assert off["on_s"] == on["t"] and off["t"] == off["off_s"]
    assert on["label"] == "latency 5 ms on api (downstream)"
    assert off["effect"]["what"] == "connections through api"
    adds = [c for c in setup.faults.calls if c[1] == "add"]
    removes = [c for c in setup.faults.calls if c[1] == "remove"]
    assert len(adds) == len(removes) == 1
    assert setup.faults.toxics == {} and setup.stopped


def test_faults_without_duration_are_rolled_back_when_the_run_ends(tmp_path):
    s = scenario(tmp_path, """\
        - {at: 0.1, verbosity: {level: 60, cohort: 0.5}}
        - {at: 0.2, toxic: {proxy: telemetry, type: timeout, attributes: {timeout: 0}}}
        """, duration=1.2)
    setup = FakeSetup(s)
    setup.fleet.sending, setup.faults.live = 10, 2
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    run(engine)
    assert setup.fleet.knobs == {"verbosity": 1.0, "cohort": 1.0}
    assert setup.faults.toxics == {}
    reasons = [r["detail"].get("rollback") for r in steps(tmp_path)]
    assert reasons.count("run ended (test stopped)") == 2
    assert engine.summary is not None
    assert [f["touched"] for f in engine.summary["faults"]] == [10, 2]
    assert engine.environment.process_exit_code == 0  # no SLO, every fault touched something


def test_a_step_failing_mid_run_rolls_back_and_exits_3(tmp_path, capsys):
    """A step Toxiproxy refuses mid-run: journaled as an error, the fault applied before it
    is rolled back, the run stops early with exit code 3 and one line on stderr."""
    s = scenario(tmp_path, """\
        - {at: 0.1, duration: 5, toxic: {proxy: api, type: latency, attributes: {latency: 5}}}
        - {at: 0.3, toxic: {proxy: api, type: bandwidth, attributes: {rate: 1}}}
        """, duration=8)
    setup = FakeSetup(s)
    setup.faults.fail_on = "bandwidth"
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    started = time.monotonic()
    run(engine)
    assert time.monotonic() - started < 5  # stopped at the failure, not at 8 s
    assert engine.environment.process_exit_code == 3
    assert setup.faults.toxics == {}
    records = read_journal(tmp_path / "j.jsonl")
    error = next(r for r in records if r["type"] == "error")
    assert error["step"] == 1 and "Toxiproxy refused bandwidth" in error["message"]
    summary = next(r for r in records if r["type"] == "summary")
    assert summary["verdict"] == "error"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fleetchaos: harness failure: step 1")


def test_a_fault_that_touched_nothing_makes_the_verdict_no_effect(tmp_path, capsys):
    s = scenario(tmp_path, """\
        - {at: 0.2, duration: 0.4, http_error: {actions: [unlock], share: 0.5, status: 503}}
        """)
    setup = FakeSetup(s)
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    run(engine)
    assert engine.summary is not None and engine.summary["verdict"] == "no-effect"
    assert engine.environment.process_exit_code == 4
    (fault,) = engine.summary["no_effect"]
    assert fault["touched"] == 0 and "POST /unlock/* (unlock)" in fault["could_match"]
    err = capsys.readouterr().err
    assert "no-effect: fault 'http_error 503 on 50 % of unlock'" in err


def test_a_fault_that_touched_something_is_counted(tmp_path):
    s = scenario(tmp_path, """\
        - {at: 0.2, duration: 0.4, http_error: {actions: [unlock, remote_start], share: 1}}
        """)
    setup = FakeSetup(s)
    setup.faults.injected = {"fc-fake-0-http_error-unlock": 3,
                             "fc-fake-0-http_error-remote_start": 2}
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    run(engine)
    assert engine.summary is not None
    assert [f["touched"] for f in engine.summary["faults"]] == [5]
    assert engine.summary["verdict"] != "no-effect"


def test_set_up_failure_exits_2_and_starts_nothing(tmp_path, capsys):
    s = scenario(tmp_path, "- {at: 0.2, verbosity: 2}\n")
    setup = FakeSetup(s, error="no Toxiproxy answers at http://127.0.0.1:1")
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    assert engine.tick() is None
    assert engine.environment.process_exit_code == 2
    assert capsys.readouterr().err == \
        "fleetchaos: error: no Toxiproxy answers at http://127.0.0.1:1\n"


def test_a_journal_is_never_appended_to(tmp_path):
    s = scenario(tmp_path, "- {at: 0.2, verbosity: 2}\n")
    (tmp_path / "j.jsonl").write_text('{"type": "header", "run_id": "previous"}\n')
    with pytest.raises(FileExistsError):
        Engine(fake_environment(), s, FakeSetup(s), journal_path=str(tmp_path / "j.jsonl"))
    assert (tmp_path / "j.jsonl").read_text() == '{"type": "header", "run_id": "previous"}\n'


def test_backend_knob_is_restored_and_counts_as_touched(tmp_path):
    s = scenario(tmp_path, "- {at: 0.1, duration: 0.3, backend_knob: {db_pool_size: 2}}\n")
    setup = FakeSetup(s)
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    run(engine)
    assert setup.backend.values == {"db_pool_size": 4}
    assert engine.summary is not None and engine.summary["faults"][0]["touched"] == 1


def test_manual_steps_are_validated_journaled_and_removable(tmp_path):
    """The web UI's faults go through the same plug-ins: validated (a bad one changes
    nothing), journaled as manual, removable by name, rolled back at the end."""
    from fleetchaos.scenarios.schema import ScenarioError

    s = scenario(tmp_path, "- {at: 0.1, verbosity: 2}\n", duration=1.5)
    setup = FakeSetup(s)
    setup.fleet.sending = 5
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    assert engine.tick() is not None
    with pytest.raises(ScenarioError, match=r"attributes\.latency: expected a finite number"):
        engine.apply_manual({"action": "toxic_add", "proxy": "api", "type": "latency",
                             "attributes": {"latency": float("nan")}})
    record = engine.apply_manual({"action": "toxic_add", "proxy": "api", "type": "latency",
                                  "attributes": {"latency": 30}})
    assert record["manual"] and record["label"] == "latency 30 ms on api (downstream)"
    name = record["detail"]["name"]
    assert setup.faults.names() == [name]
    assert engine.status()["active_faults"][0]["name"] == name
    assert engine.apply_manual({"action": "toxic_remove", "name": name}) == {"removed": name}
    assert setup.faults.names() == []
    engine.apply_manual({"action": "http_error_add", "actions": ["unlock"], "share": 0.5})
    run(engine)
    assert setup.faults.names() == []
    manual = [r for r in steps(tmp_path) if r["manual"]]
    assert [r["action"] for r in manual] == ["toxic_add", "toxic_remove", "http_error_add",
                                             "toxic_remove"]
    assert engine.summary is not None and engine.summary["verdict"] != "no-effect"


def test_a_fault_that_cannot_be_removed_at_the_end_is_a_harness_failure(tmp_path, capsys):
    """Toxiproxy keeps a fault the run added (its undo fails, the sweep finds it still
    there): the run says so in one line and exits 3, never PASS with a fault left on."""
    s = scenario(tmp_path, "- {at: 0.1, toxic: {proxy: api, type: latency}}\n", duration=1.2)
    setup = FakeSetup(s)
    setup.faults.live = 1

    def stuck(proxy: str, name: str) -> None:
        raise RuntimeError("Toxiproxy answered 500")

    setup.faults.remove_toxic = stuck  # type: ignore[method-assign]
    real_start = setup.start

    def start(journal):
        prepared = real_start(journal)
        prepared.cleanup = lambda: ([], [n for _p, n in setup.faults.toxics])
        return prepared

    setup.start = start  # type: ignore[method-assign]
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    run(engine)
    assert engine.environment.process_exit_code == 3
    assert engine.summary is not None and engine.summary["verdict"] == "error"
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err == ["fleetchaos: harness failure: 1 fault(s) could not be removed when the run "
                   "ended: fc-fake-0-latency"]
    errors = [r for r in read_journal(tmp_path / "j.jsonl") if r["type"] == "error"]
    assert [e["what"] for e in errors] == ["rollback"]


def test_an_unexpected_set_up_error_is_a_harness_failure(tmp_path, capsys):
    """Not a SetupError (a bug, a server answering nonsense): exit 3 and one line, with the
    traceback in the journal, not on the terminal."""
    s = scenario(tmp_path, "- {at: 0.2, verbosity: 2}\n")
    setup = FakeSetup(s)

    def start(journal):
        raise KeyError("listen")

    setup.start = start  # type: ignore[method-assign]
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    assert engine.tick() is None and engine.finished
    assert engine.environment.process_exit_code == 3
    assert capsys.readouterr().err == "fleetchaos: harness failure: set-up failed: 'listen'\n"
    (error,) = read_journal(tmp_path / "j.jsonl")
    assert error["type"] == "error" and "KeyError" in error["traceback"]


def test_each_phase_lists_the_faults_really_on_in_it(tmp_path):
    s = scenario(tmp_path, """\
        - {at: 0.3, duration: 0.4, toxic: {proxy: api, type: latency, attributes: {latency: 5}}}
        """)
    setup = FakeSetup(s)
    setup.faults.live = 3
    engine = Engine(fake_environment(), s, setup, journal_path=str(tmp_path / "j.jsonl"))
    run(engine)
    assert engine.summary is not None
    phases = {p["name"]: p["faults"] for p in engine.summary["phases"]}
    assert phases["before"] == [] and phases["after"] == []
    (during,) = phases["during"]
    assert during["label"] == "latency 5 ms on api (downstream)"
    assert 0.3 <= during["on_s"] < during["off_s"] <= 1.0

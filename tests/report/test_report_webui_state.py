"""What the web UI says of a stopped run, from its journal (no Locust, no browser): the
SLOs of phases the run never finished are "not judged", never a green PASS (issue 23),
the verdict comes with its reason, the controls say why they cannot act."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fleetchaos.locust_app.webui import chaos_rows
from fleetchaos.locust_app.webui_live import LiveStatus
from fleetchaos.scenarios.journal import JournalWriter, read_journal
from fleetchaos.scenarios.outcome import final_verdict
from fleetchaos.scenarios.summary import build_summary

PHASES = [{"name": "baseline", "start_s": 0.0, "end_s": 4.0},
          {"name": "flood", "start_s": 4.0, "end_s": 8.0},
          {"name": "recovery", "start_s": 8.0, "end_s": 12.0}]
SLOS = [{"name": "quiet baseline", "phase": "baseline", "metric": "unlock_success_ratio",
         "op": ">=", "threshold": 0.9},
        {"name": "unlocks in the flood", "phase": "flood", "metric": "unlock_success_ratio",
         "op": ">=", "threshold": 0.5},
        {"name": "nobody stranded", "phase": "all", "metric": "stranded_drivers",
         "op": "<=", "threshold": 0.0}]


def stopped_run(path: Path, stop_at: int, statuses: dict[str, str] | None = None,
                reason: str | None = None) -> Path:
    """A run STOPPED at ``stop_at`` s of 12: samples every second, cleanup, verdict."""
    j = JournalWriter(path)
    j.write("header", t=0.0, run_id="r1", scenario="s", title="t", seed=1, duration_s=12.0,
            phases=PHASES, slos=SLOS, timeline=[], target={}, fleet={"cars": 2, "drivers": 2})
    for sec in range(1, stop_at + 1):
        phase = PHASES[min(2, (sec - 1) // 4)]["name"]
        j.write("sample", t=float(sec), dt=1.0, phase=phase, users=4, requests=5, failures=0,
                by_status={"200": 5}, by_action={"unlock": {
                    "requests": 5, "failures": 0, "by_status": {"200": 5}, "hist": {"20": 5},
                    "p50_ms": 20.0, "p95_ms": 20.0, "p99_ms": 20.0}},
                fleet={"cars_connected": 2}, active_faults=[])
        if sec == 2:  # a driver got in: "nobody stranded" stands on one need that ended
            j.write("driver", t=2.0, phase="baseline", outcome="app", time_to_access_s=0.4,
                    attempts=1, policy="fixed-1s", driver=0, need=0)
    j.write("cleanup", reason="test stopped", removed=[], left=[], leftovers_found=[])
    summary = final_verdict(build_summary(read_journal(path)), harness_error=None,
                            cut_short=stop_at < 11)
    for slo in summary["slos"]:  # the summary computation's own status (SUMMARY_CONTRACT.md)
        if statuses and slo["name"] in statuses:
            slo["status"] = statuses[slo["name"]]
    if reason:
        summary["verdict_reason"] = reason
    j.write("summary", **summary)
    j.close()
    return path


class StoppedEngine:
    """The engine's side of a finished run, as webui_live reads it."""

    set_up = True

    def __init__(self, journal: Path) -> None:
        self.journal = SimpleNamespace(path=journal)

    def status(self) -> dict[str, Any]:
        return {"finished": True, "elapsed_s": 99.0, "duration_s": 12.0, "phases": PHASES,
                "phase": "", "setup_error": None, "harness_error": None, "timeline": [],
                "active_faults": [], "fleet": {}, "title": "t", "scenario": "s"}


def live(path: Path) -> dict[str, Any]:
    return dict(LiveStatus().status(StoppedEngine(path), "stopped"))


def test_after_stop_the_slos_of_unfinished_phases_are_not_judged(tmp_path):
    status = live(stopped_run(tmp_path / "j.jsonl", stop_at=6))  # in the flood (4-8 s)
    cards = {c["name"]: c["state"] for c in status["live"]["slos"]}
    # the summary (without per-SLO status) calls every SLO passed: the baseline finished,
    # the flood and the whole run did not
    assert cards == {"quiet baseline": "pass", "unlocks in the flood": "not_judged",
                     "nobody stranded": "not_judged"}
    assert status["live"]["verdict"] == "incomplete"
    assert status["live"]["clock"] == "stopped at 6 s · verdict INCOMPLETE"
    assert status["live"]["verdict_reason"] == (
        "the run was stopped at 6 s of 12 s, before its timeline ended: 2 SLO(s) not judged "
        "(their phase never finished): unlocks in the flood; nobody stranded")
    assert status["live"]["controls"]["enabled"] is False
    assert "NEW, then START" in status["live"]["controls"]["why"]
    assert status["live"]["downloads"] == {"report": "download/report.html",
                                           "summary": "download/summary.json"}
    rows = {r["item"]: r["value"] for r in chaos_rows(status)}
    assert rows["verdict"].startswith("INCOMPLETE: the run was stopped at 6 s of 12 s")
    assert rows["SLO unlocks in the flood"].startswith(
        "not judged (the run stopped before its phase ended): 100.0% of 10 unlocks so far")
    assert rows["SLO quiet baseline"].startswith("PASS")


def test_the_summarys_own_status_and_reason_win_when_it_has_them(tmp_path):
    path = stopped_run(tmp_path / "j.jsonl", stop_at=6,
                       statuses={"quiet baseline": "insufficient",
                                 "unlocks in the flood": "not_judged",
                                 "nobody stranded": "not_judged"},
                       reason="stopped by the user at 6.0 s of 12 s")
    status = live(path)
    assert [c["state"] for c in status["live"]["slos"]] == ["insufficient", "not_judged",
                                                            "not_judged"]
    assert status["live"]["verdict_reason"] == "stopped by the user at 6.0 s of 12 s"


def test_a_run_that_ran_to_its_end_is_judged(tmp_path):
    status = live(stopped_run(tmp_path / "j.jsonl", stop_at=12))
    assert {c["state"] for c in status["live"]["slos"]} == {"pass"}
    assert status["live"]["verdict"] == "pass"
    assert status["live"]["verdict_reason"] == "every SLO held"

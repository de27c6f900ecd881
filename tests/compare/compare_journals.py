"""Journals of the documented record shapes, written by the real JournalWriter and closed
by the real build_summary, with knobs for how badly the flood went, so `compare` can be
tested on a better and a worse run without making either."""

from __future__ import annotations

import json
from pathlib import Path

from fleetchaos.scenarios.journal import JournalWriter, read_journal
from fleetchaos.scenarios.summary import build_summary

PHASES = [{"name": "baseline", "start_s": 0.0, "end_s": 4.0},
          {"name": "flood", "start_s": 4.0, "end_s": 8.0},
          {"name": "recovery", "start_s": 8.0, "end_s": 12.0}]
SLOS = [{"name": "unlocks work in the flood", "phase": "flood",
         "metric": "unlock_success_ratio", "op": ">=", "threshold": 0.95},
        {"name": "nobody stranded", "phase": "all", "metric": "stranded_drivers",
         "op": "<=", "threshold": 0.0}]


def write_run(path: Path, *, run_id: str, unlock_500: int, stranded: int,
              unlock_ok: int = 20) -> Path:
    """12 one-second samples; in the flood (seconds 5-8) each sample has ``unlock_ok``
    unlocks answered 200 and ``unlock_500`` answered 500; ``stranded`` drivers give up."""
    j = JournalWriter(path)
    j.write("header", t=0.0, run_id=run_id, scenario="verbosity-flood-2021",
            title="The lockout (test)", seed=7, fleet={"cars": 10, "drivers": 5},
            duration_s=12.0, phases=PHASES, slos=SLOS,
            timeline=[{"index": 0, "at_s": 4.0, "duration_s": 4.0, "end_s": 8.0,
                       "action": "verbosity", "spec": {"level": 60, "cohort": 0.5}}])
    sent = acked = 0
    for sec in range(1, 13):
        flood = 5 <= sec <= 8
        sent += 100
        acked += 100 - (unlock_500 if flood else 0)
        unlock = {"200": unlock_ok, **({"500": unlock_500} if flood and unlock_500 else {})}
        n = sum(unlock.values())
        j.write("sample", t=float(sec), dt=1.0, phase=PHASES[(sec - 1) // 4]["name"],
                users=15, requests=n, failures=unlock.get("500", 0), by_status=unlock,
                p50_ms=20.0, p95_ms=40.0 + 10 * unlock.get("500", 0), p99_ms=60.0,
                by_action={"unlock": {"requests": n, "failures": unlock.get("500", 0),
                                      "by_status": unlock, "hist": {"20": n}}},
                fleet={"cars_connected": 10, "telemetry_sent": sent, "telemetry_acked": acked,
                       "telemetry_resent": 0, "telemetry_bytes": sent * 400},
                active_faults=["knobs"] if flood else [])
    for i in range(stranded):
        j.write("driver", t=6.0, phase="flood", outcome="stranded", time_to_access_s=None,
                attempts=12, policy="fixed-1s", vin=f"5YJ3E1EA7KF00000{i}", waited_s=15)
    for i in range(3):  # drivers who got in: "nobody stranded" stands on needs that ended
        j.write("driver", t=2.0 + i, phase="baseline", outcome="app", time_to_access_s=0.5,
                attempts=1, policy="fixed-1s", vin=f"5YJ3E1EA7KF00010{i}", waited_s=0.5)
    j.write("cleanup", t=12.5, reason="test", removed=[], left=[], leftovers_found=[])
    j.write("summary", t=12.6, **build_summary(read_journal(path)))
    j.close()
    return path


def write_summary(path: Path, journal: Path, **slo_extra: object) -> Path:
    """The run's summary JSON (as `--summary` writes it), each SLO updated with ``slo_extra``
    (e.g. a repeat run's ``spread``)."""
    summary = next(r for r in read_journal(journal) if r["type"] == "summary")
    summary = {k: v for k, v in summary.items() if k not in ("type", "t")}
    summary["slos"] = [{**s, **slo_extra} for s in summary["slos"]]
    path.write_text(json.dumps(summary))
    return path

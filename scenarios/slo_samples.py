"""How much data each SLO's value stands on, and the SLO's status from it (issue 22).

An SLO judged on 3 unlocks printed like one judged on 3,000 is a verdict nobody can
weigh. Every SLO carries ``samples``: how many observations its value came from (the
unlock answers of an unlock ratio, the API answers of the 5xx ratio, the telemetry
records sent of the ack ratio, the canary's probes, the distinct drivers whose need ended in the
phase for stranded drivers, the canary probes after the faults' end for recovery). Below
its ``min_samples`` (per SLO in the scenario, else the default of its kind below) the SLO
is ``insufficient``: never PASS, and never FAIL either (its value says too little); an
SLO of a phase the run never finished (a stopped run) is ``not_judged``.

Defaults (docs/scenarios.md): a ratio needs 20 observations (fewer cannot tell a 95 %
threshold from 100 %: one miss in 20 is 5 %), a percentile 20 (below that a p95 is the
slowest answer), a count of drivers 1 (no need ended: "0 stranded" says nothing),
recovery 1 probe after the faults' end (the recovery measure has its own window rules).
"""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.metrics import UNLOCK_ACTIONS, is_fleet_api, statuses_of
from fleetchaos.scenarios.recovery import canary_statuses

MIN_SAMPLES = {"ratio": 20, "percentile": 20, "count": 1, "recovery": 1}
KIND = {"unlock_success_ratio": "ratio", "error_5xx_ratio": "ratio",
        "telemetry_ack_ratio": "ratio", "canary_success_ratio": "ratio",
        "unlock_p95_ms": "percentile", "stranded_drivers": "count", "recovery_s": "recovery"}
STATUSES = ("pass", "fail", "insufficient", "not_judged")


def default_min_samples(metric: str) -> int:
    return MIN_SAMPLES[KIND.get(metric, "ratio")]


def metric_samples(agg: dict[str, Any], needs_ended: int, canary_actions: list[str]
                   ) -> dict[str, int]:
    """Observations behind each metric of one phase (``agg``: summary._aggregate's)."""
    by_action = agg["by_action"]
    api = [a for a in by_action if is_fleet_api(a)]
    return {
        "unlock_success_ratio": sum(statuses_of(by_action, UNLOCK_ACTIONS).values()),
        "unlock_p95_ms": int(agg.get("_unlock_n", 0)),
        "stranded_drivers": needs_ended,
        "error_5xx_ratio": sum(statuses_of(by_action, api).values()),
        "telemetry_ack_ratio": int(agg["telemetry"].get("sent", 0)),
        "canary_success_ratio": sum(canary_statuses(by_action, canary_actions).values()),
    }


def judge(slo: dict[str, Any], passed: bool, samples: int | None, finished: bool
          ) -> dict[str, Any]:
    """``status``, ``samples``, ``min_samples`` and ``passed`` (true only for "pass")."""
    wanted = slo.get("min_samples")
    minimum = int(wanted) if isinstance(wanted, int) and not isinstance(wanted, bool) \
        else default_min_samples(str(slo.get("metric")))
    if not finished:
        status = "not_judged"
    elif samples is None or samples < minimum:
        status = "insufficient"
    else:
        status = "pass" if passed else "fail"
    return {"samples": samples, "min_samples": minimum, "status": status,
            "passed": status == "pass"}


def insufficient_line(slos: list[dict[str, Any]]) -> str | None:
    """One line naming the SLOs that lacked data, with their counts."""
    short = [s for s in slos if s.get("status") == "insufficient"]
    if not short:
        return None
    parts = [f"{s.get('name')} ({s.get('samples') or 0} of {s.get('min_samples')} samples)"
             for s in short]
    return f"{len(short)} SLO(s) lacked data: {'; '.join(parts)}"

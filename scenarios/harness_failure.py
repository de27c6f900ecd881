"""A run whose harness failed mid-way: the journal record that says so, and the verdict.

When a child of the run dies, stops (SIGSTOP) or stalls (``fleetchaos.runs.child_watch``),
the orchestrator stops the run and, once Locust has ended, appends to the journal an
``error`` record with ``what: "child"`` (or ``"stall"``) naming the child, its pid, how
and when (``t`` on the run's clock) it failed, and what the harness removed from
Toxiproxy afterwards; then a fresh ``summary``. :func:`apply` (called by
``build_summary``, so every reader of the journal agrees) makes that summary's verdict
``error`` with the record's line as ``verdict_reason``, and no SLO whose phase had not
ended when the child failed is judged (``status: "not_judged"``, never ``passed``):
before this, a backend SIGKILLed in the flood gave "server errors stay rare: PASS 0.0 %".
"""

from __future__ import annotations

from typing import Any

WHATS = ("child", "stall")  # the error records that are a harness failure


def failure_of(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first harness-failure record of a journal, or None."""
    return next((r for r in records if r.get("type") == "error" and r.get("what") in WHATS),
                None)


def _phase_ends(records: list[dict[str, Any]]) -> dict[str, float]:
    header = next((r for r in records if r.get("type") == "header"), {})
    ends: dict[str, float] = {}
    for phase in header.get("phases") or []:
        if isinstance(phase, dict) and isinstance(phase.get("end_s"), int | float):
            ends[str(phase.get("name"))] = float(phase["end_s"])
    duration = header.get("duration_s")
    ends["all"] = float(duration) if isinstance(duration, int | float) \
        else max(ends.values(), default=0.0)
    return ends


def apply(summary: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary of a journal with a harness failure: verdict ``error``, its line as the
    reason, and the SLOs of phases the failure cut not judged. Unchanged otherwise."""
    failure = failure_of(records)
    if failure is None:
        return summary
    message = str(failure.get("message") or "a child of the run failed")
    summary["verdict"] = "error"
    summary["error"] = message
    summary["verdict_reason"] = message
    summary["harness_failure"] = {k: failure.get(k) for k in
                                  ("what", "child", "pid", "kind", "how", "t", "removed",
                                   "left")}
    t = failure.get("t")
    ends = _phase_ends(records)
    for slo in summary.get("slos") or []:
        end = ends.get(str(slo.get("phase")), ends["all"])
        if not isinstance(t, int | float) or end > float(t):
            slo["status"] = "not_judged"
            slo["passed"] = False
            slo["not_judged"] = f"the run's {failure.get('child') or 'child'} failed before " \
                                "this phase ended"
    return summary

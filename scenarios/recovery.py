"""Recovery time, read from the canary's probes in the journal's samples.

Definition (docs/fleet.md, "Recovery"): the faults' end is when the last of them was
taken off (the latest of its planned end and its journaled rollback). From then on,
the canary is read over a sliding window of ``window_s`` seconds starting at the
faults' end or later. Recovered means both are back (issue 22: after the flood on a
CMS, unlocks answered 2xx again at once while their p95 stayed at 5-6 s for 8 s):

- success: the canary's success ratio meets the target, the scenario's
  ``fleet.canary.recovered_ratio`` or, by default, its steady-state level (its ratio
  before the first fault) less ``STEADY_TOLERANCE``;
- latency: the canary's p95 is at most ``latency_factor`` (default 1.5,
  ``fleet.canary.latency_factor``) times its p95 before the first fault, or within
  ``LATENCY_SLACK_MS`` of it, whichever is larger. A journal without the canary's
  latencies (older versions) judges success alone.

Success is back at the earliest moment R (a sample boundary) such that every window
starting at R or later, up to the end of the timeline, meets it; latency at the earliest
R from which the probes to the end of the timeline, pooled, meet it (a window's ten
probes are too few for a p95); in both at least one whole window fits between R and the
end. ``success_s`` and ``latency_s`` are those R less the faults' end, and the recovery
time is the later of the two. Windows start at R rather
than end there, so the figure does not lag by a window. A window in which no probe
finished is not good: probes that hang are not evidence of success.

The result is a dict with a ``status`` and always words to print (``text``):
``recovered`` (``seconds``), ``not_recovered`` (``seconds`` is how long after the
faults' end the run still went on: a lower bound), ``fault_active`` (a fault was on
until the end), ``no_fault`` (nothing to recover from), ``no_canary`` (the canary was
off or sent nothing: the only "no data"), ``too_short`` (the run ended less than one
window after the faults' end: nothing could be judged). ``probes`` counts the canary's
probes after the faults' end (the recovery SLO's samples).
"""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.metrics import CANARY_PREFIX, merge_counts, percentile

STEADY_TOLERANCE = 0.1
LATENCY_FACTOR = 1.5
# A p95 within this many ms of the baseline's is back too: a 10 ms loopback p95 that reads
# 20 ms on a busy machine is noise, not a slow backend.
LATENCY_SLACK_MS = 100.0
DEFAULTS = {"count": 1, "actions": ["unlock"], "window_s": 5.0, "recovered_ratio": None,
            "latency_factor": LATENCY_FACTOR}
FAULT_ACTIONS_OFF = ("toxic_remove", "proxy_up", "http_error_remove")


def canary_settings(header: dict[str, Any], schedule: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """The canary as the run applied it (the ``schedule`` record), else as declared."""
    declared = ((header.get("fleet") or {}).get("canary")) or {}
    applied = (schedule or {}).get("canary") or {}
    out = {**DEFAULTS, **(declared if isinstance(declared, dict) else {}),
           **(applied if isinstance(applied, dict) else {})}
    if isinstance(out["actions"], str):
        out["actions"] = [out["actions"]]
    for key in ("count", "window_s", "latency_factor"):  # odd values read as defaults
        if isinstance(out[key], bool) or not isinstance(out[key], int | float):
            out[key] = DEFAULTS[key]
    if not isinstance(out["actions"], list):
        out["actions"] = DEFAULTS["actions"]
    return out


def canary_statuses(by_action: dict[str, Any], actions: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for action in actions:
        merge_counts(out, (by_action.get(CANARY_PREFIX + action) or {}).get("by_status"))
    return out


def _ok_total(sample: dict[str, Any], actions: list[str]) -> tuple[int, int]:
    statuses = canary_statuses(sample.get("by_action") or {}, actions)
    total = sum(statuses.values())
    ok = sum(n for s, n in statuses.items() if s.startswith("2"))
    return ok, total


def canary_hist(sample: dict[str, Any], actions: list[str]) -> dict[str, int]:
    """The canary's response-time histogram (ms -> count) in one sample."""
    out: dict[str, int] = {}
    by_action = sample.get("by_action") or {}
    for action in actions:
        entry = by_action.get(CANARY_PREFIX + action)
        hist = entry.get("hist") if isinstance(entry, dict) else None
        if isinstance(hist, dict):
            merge_counts(out, {k: v for k, v in hist.items() if isinstance(v, int)})
    return out


Row = tuple[float, float, int, int, dict[str, int]]  # t, dt, ok, total, latency histogram


def _back_at(end: float, after: list[Row], window: float, good: Any) -> float | None:
    """The earliest start (the faults' end or a sample time) from which every window that
    fits before the last sample is ``good`` (a function of the window's rows)."""
    last_t = after[-1][0] if after else end
    back: float | None = None
    for s in [end] + [row[0] for row in after]:
        if s + window > last_t + 1e-6:
            break  # windows that would run past the end of the timeline are not judged
        rows = [row for row in after if s < row[0] <= s + window + 1e-6]
        back = (s if back is None else back) if good(rows) else None
    return back


def _fast_from(end: float, after: list[Row], window: float, good: Any) -> float | None:
    """The earliest start from which the canary's latency over the rest of the run, pooled,
    is ``good`` (at least one window before the end). Pooled rather than per window: a
    5 s window holds ten probes, whose p95 is their slowest, so one slow probe on a busy
    machine would restart the clock; a backend still slow for seconds still shows."""
    last_t = after[-1][0] if after else end
    for s in [end] + [row[0] for row in after]:
        if s + window > last_t + 1e-6:
            break
        if good([row for row in after if row[0] > s]):
            return s
    return None


def fault_window(header: dict[str, Any], steps: list[dict[str, Any]]
                 ) -> tuple[float | None, float | None, bool]:
    """(first fault on, last fault off, a fault stayed on to the end) from the journal.

    A fault stayed on when it had no duration or when the run's own clean-up rolled
    it back (a rollback whose reason is "run ended ...").
    """
    faults = [s for s in header.get("timeline") or [] if isinstance(s, dict)
              and s.get("action") != "users" and isinstance(s.get("at_s"), int | float)]
    manual_on = [s for s in steps if s.get("manual") and s.get("action") not in FAULT_ACTIONS_OFF
                 and isinstance(s.get("t"), int | float)]
    starts = [float(s["at_s"]) for s in faults] + [float(s["t"]) for s in manual_on]
    if not starts:
        return None, None, False
    reasons = [(s, str((s.get("detail") or {}).get("rollback", ""))) for s in steps]
    ends = [float(s["end_s"]) for s in faults if isinstance(s.get("end_s"), int | float)]
    ends += [float(s.get("off_s") or s["t"]) for s, why in reasons
             if why and not why.startswith("run ended")
             and isinstance(s.get("off_s") or s.get("t"), int | float)]  # off_s: really off
    open_ended = any(s.get("end_s") is None for s in faults) or any(
        why.startswith("run ended") for _s, why in reasons)
    return min(starts), (max(ends) if ends else None), open_ended


def measure(records: list[dict[str, Any]]) -> dict[str, Any]:
    header = next((r for r in records if r.get("type") == "header"), {})
    steps = [r for r in records if r.get("type") == "step"]
    duration = header.get("duration_s")
    horizon = (float(duration) if isinstance(duration, int | float) else float("inf")) + 0.5
    samples = [r for r in records if r.get("type") == "sample"
               and isinstance(r.get("t"), int | float) and r["t"] <= horizon]
    schedule = next((r for r in records if r.get("type") == "schedule"), None)
    settings = canary_settings(header, schedule)
    actions = list(settings["actions"])
    window = float(settings["window_s"])
    factor = float(settings["latency_factor"])
    series = [(float(s["t"]), float(s.get("dt") or 1.0), *_ok_total(s, actions),
               canary_hist(s, actions)) for s in samples]
    probes = sum(row[3] for row in series)
    if int(settings["count"]) == 0:
        return {"status": "no_canary", "text": "no data: the canary was turned off "
                                               "(fleet.canary.count: 0)", "probes": 0}
    if probes == 0:
        return {"status": "no_canary", "text": "no data: the canary could not send a probe",
                "probes": 0}
    start, end, open_ended = fault_window(header, steps)
    if start is None:
        return {"status": "no_fault", "text": "no fault in the timeline: nothing to recover from",
                "probes": 0}
    if open_ended or end is None:
        return {"status": "fault_active", "probes": 0,
                "text": "a fault was still on when the run ended: nothing to recover from yet"}
    before = [row for row in series if row[0] <= start]
    steady_total = sum(row[3] for row in before)
    steady = sum(row[2] for row in before) / steady_total if steady_total else None
    base_hist: dict[str, int] = {}
    for row in before:
        merge_counts(base_hist, row[4])
    baseline_p95 = percentile(base_hist, 0.95)
    target = settings["recovered_ratio"]
    if target is None:
        target = max(0.0, (steady if steady is not None else 1.0) - STEADY_TOLERANCE)
    target = float(target)
    after = [row for row in series if row[0] > end]
    base = {"fault_end_s": round(end, 3), "target_ratio": round(target, 4),
            "steady_ratio": None if steady is None else round(steady, 4), "window_s": window,
            "latency_factor": factor, "baseline_p95_ms": baseline_p95,
            "probes": sum(row[3] for row in after)}
    last_t = after[-1][0] if after else end
    if end + window > last_t + 1e-6:
        return {**base, "status": "too_short", "seconds": None, "success_s": None,
                "latency_s": None, "lower_bound": False,
                "text": f"not measured: the run ended {max(0.0, last_t - end):.1f} s after the "
                        f"last fault, less than one canary window ({window:g} s)"}

    def success(rows: list[Row]) -> bool:
        total = sum(row[3] for row in rows)
        return total > 0 and sum(row[2] for row in rows) / total >= target

    def fast(rows: list[Row]) -> bool:
        hist: dict[str, int] = {}
        for row in rows:
            merge_counts(hist, row[4])
        p95 = percentile(hist, 0.95)
        return p95 is not None and baseline_p95 is not None \
            and p95 <= max(factor * baseline_p95, baseline_p95 + LATENCY_SLACK_MS)

    success_at = _back_at(end, after, window, success)
    latency_at = _fast_from(end, after, window, fast) if baseline_p95 is not None else end
    success_s = None if success_at is None else round(success_at - end, 1)
    latency_s = None if latency_at is None or baseline_p95 is None \
        else round(latency_at - end, 1)
    if success_at is not None and latency_at is not None:
        seconds = round(max(success_at, latency_at) - end, 1)
        slow = f"; p95 back within {factor:g}x of {baseline_p95:g} ms after {latency_s:g} s" \
            if latency_s is not None and latency_s > (success_s or 0.0) else ""
        return {**base, "status": "recovered", "seconds": seconds, "success_s": success_s,
                "latency_s": latency_s, "lower_bound": False,
                "text": f"recovered {seconds:g} s after the last fault ended{slow}"}
    seconds = round(max(0.0, last_t - end), 1)
    what = ("success and latency not back" if success_at is None and latency_at is None
            else f"latency not back: p95 above {factor:g}x the {baseline_p95:g} ms before "
                 "the faults" if success_at is not None else "success not back")
    return {**base, "status": "not_recovered", "seconds": seconds, "success_s": success_s,
            "latency_s": latency_s, "lower_bound": True,
            "text": f"did not recover before the run ended ({seconds:g} s after the last "
                    f"fault ended; {what})"}

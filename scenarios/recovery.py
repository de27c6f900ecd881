"""Recovery time, read from the canary's probes in the journal's samples.

Definition (docs/fleet.md, "Recovery"): the faults' end is when the last of them was
taken off (the latest of its planned end and its journaled rollback). From then on,
the canary's success ratio is read over a sliding window of ``window_s`` seconds
starting at the faults' end or later. The target is the scenario's
``fleet.canary.recovered_ratio`` or, by default, the canary's steady-state level (its
ratio before the first fault) less ``STEADY_TOLERANCE``. The run recovered at the
earliest moment R (a sample boundary) such that every window starting at R or later,
up to the end of the timeline, meets the target, and at least one whole window fits
between R and the end; recovery is R less the faults' end. Windows start at R rather
than end there, so the figure does not lag by a window. A window in which no probe
finished is not good: probes that hang are not evidence of success.

The result is a dict with a ``status`` and always words to print (``text``):
``recovered`` (``seconds``), ``not_recovered`` (``seconds`` is how long after the
faults' end the run still went on: a lower bound), ``fault_active`` (a fault was on
until the end), ``no_fault`` (nothing to recover from), ``no_canary`` (the canary was
off or sent nothing: the only "no data").
"""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.metrics import CANARY_PREFIX, merge_counts

STEADY_TOLERANCE = 0.1
DEFAULTS = {"count": 1, "actions": ["unlock"], "window_s": 5.0, "recovered_ratio": None}
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
    for key in ("count", "window_s"):  # a journal from elsewhere: odd values read as defaults
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
    series = [(float(s["t"]), float(s.get("dt") or 1.0), *_ok_total(s, actions))
              for s in samples]
    probes = sum(total for *_x, total in series)
    if int(settings["count"]) == 0:
        return {"status": "no_canary", "text": "no data: the canary was turned off "
                                               "(fleet.canary.count: 0)"}
    if probes == 0:
        return {"status": "no_canary", "text": "no data: the canary could not send a probe"}
    start, end, open_ended = fault_window(header, steps)
    if start is None:
        return {"status": "no_fault", "text": "no fault in the timeline: nothing to recover from"}
    if open_ended or end is None:
        return {"status": "fault_active",
                "text": "a fault was still on when the run ended: nothing to recover from yet"}
    before = [(ok, total) for t, _dt, ok, total in series if t <= start]
    steady_total = sum(total for _ok, total in before)
    steady = sum(ok for ok, _t in before) / steady_total if steady_total else None
    target = settings["recovered_ratio"]
    if target is None:
        target = max(0.0, (steady if steady is not None else 1.0) - STEADY_TOLERANCE)
    target = float(target)
    after = [row for row in series if row[0] > end]
    base = {"fault_end_s": round(end, 3), "target_ratio": round(target, 4),
            "steady_ratio": None if steady is None else round(steady, 4), "window_s": window}
    last_t = after[-1][0] if after else end
    recovered_at = None
    for s in [end] + [row[0] for row in after]:  # every window starting from here is good?
        if s + window > last_t + 1e-6:
            break  # windows that would run past the end of the timeline are not judged
        in_window = [row for row in after if s < row[0] <= s + window + 1e-6]
        ok = sum(row[2] for row in in_window)
        total = sum(row[3] for row in in_window)
        if total > 0 and ok / total >= target:
            recovered_at = s if recovered_at is None else recovered_at
        else:
            recovered_at = None
    if recovered_at is not None:
        seconds = round(recovered_at - end, 1)
        return {**base, "status": "recovered", "seconds": seconds,
                "text": f"recovered {seconds:g} s after the last fault ended"}
    seconds = round(max(0.0, last_t - end), 1)
    return {**base, "status": "not_recovered", "seconds": seconds,
            "text": f"did not recover before the run ended ({seconds:g} s after the last "
                    "fault ended)"}

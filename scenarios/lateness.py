"""How late each fault went on and off against its schedule, and the likely cause.

The engine applies each timeline step on its own gevent timer in the Locust process, which
it shares with the cars: when an open-model flood makes that process CPU-bound, a timer
fires late (on a loaded CI machine a rollback scheduled at 30.0 s started at 32.4 s). The
reports draw the real on/off times, but a reader compares them with the scenario's
"20-40 s", so the summary says how late each fault was: ``late_on_s`` / ``late_off_s``,
the apply / undo call's start (``call_s[0]`` of its step records) minus the step's
``scheduled_s`` / ``until_s``, never negative (a fault removed by hand or by the run's end
before its time is not late); None when the journal does not say (no schedule, or a fault
without a duration). Past LATE_S, ``timing_note``: one line naming the fault, how late,
and, when the samples around it show the busiest load-generator process's CPU saturated
(``fleet.fleet_cpu_share_max``), that likely cause. Lateness never changes the verdict:
every figure is measured over the times the fault was really on.
"""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.delivery import cpu_peak, saturated_text

# A fault this late starts (or ends) in another one-second sample than the scenario's time
# says, so a reader comparing the report with the scenario sees a different run. On a quiet
# machine the engine's timers are a few ms late (4 ms measured, bench.step_timing); 0.5 s
# is far above that jitter and well below the 1.5-2.4 s of a CPU-bound Locust process.
LATE_S = 0.5


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _started(record: dict[str, Any], fallback: str) -> float | None:
    """When the step's call started (``call_s[0]``), else its journalled on/off time."""
    call = record.get("call_s")
    first = _num(call[0]) if isinstance(call, list) and call else None
    return first if first is not None else _num(record.get(fallback))


def _late(started: float | None, scheduled: float | None) -> float | None:
    if started is None or scheduled is None:
        return None
    return round(max(0.0, started - scheduled), 3)


def _steps(records: list[dict[str, Any]]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each rolled-back fault's (apply, rollback) step records, by step key."""
    applied: dict[str, dict[str, Any]] = {}
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for r in records:
        if r.get("type") != "step":
            continue
        key = str(r.get("step"))
        detail = r.get("detail")
        if isinstance(detail, dict) and "rollback" in detail:
            if key in applied:
                out[key] = (applied.pop(key), r)
        else:
            applied[key] = r
    return out


def judge(faults: list[dict[str, Any]], records: list[dict[str, Any]]) -> None:
    """Fill each fault's ``late_on_s``, ``late_off_s`` and ``timing_note`` (None when on
    time) in place."""
    steps = _steps(records)
    samples = [r for r in records if r.get("type") == "sample" and _num(r.get("t")) is not None]
    for fault in faults:
        apply, rollback = steps.get(str(fault.get("step")), ({}, {}))
        scheduled_on, scheduled_off = _num(apply.get("scheduled_s")), _num(apply.get("until_s"))
        started_on, started_off = _started(apply, "on_s"), _started(rollback, "off_s")
        late_on, late_off = _late(started_on, scheduled_on), _late(started_off, scheduled_off)
        fault.update(late_on_s=late_on, late_off_s=late_off, timing_note=None)
        parts, peaks = [], []
        for word, late, scheduled, started in (("on", late_on, scheduled_on, started_on),
                                               ("off", late_off, scheduled_off, started_off)):
            if late is None or late <= LATE_S or scheduled is None or started is None:
                continue
            parts.append(f"{word} {late:.1f} s late (scheduled {scheduled:.1f} s, started "
                         f"{started:.1f} s)")
            peak = cpu_peak(samples, scheduled, started)
            if peak is not None:
                peaks.append(peak)
        if not parts:
            continue
        cause = saturated_text(max(peaks)) if peaks else None
        fault["timing_note"] = (f"fault {fault.get('label')!r} went {' and '.join(parts)}"
                                + (f": likely {cause}" if cause else ""))

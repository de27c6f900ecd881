"""What each fault touched, from the journal: the rollback record of every fault carries
its real on/off times and its ``effect`` (counted while it was on, by its step plug-in).

A scheduled fault that touched nothing (an ``http_error`` aimed at a path the backend
does not have, a verbosity change on an empty cohort) makes the run's verdict
``no-effect``: the scenario did not test what it says, so its SLOs prove nothing.
"""

from __future__ import annotations

from typing import Any


def fault_effects(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per fault that was rolled back: label, on/off times, what it touched."""
    out = []
    for r in records:
        if r.get("type") != "step" or r.get("fault") is False:
            continue
        if not all(isinstance(r.get(k), int | float) for k in ("on_s", "off_s")):
            continue  # not a rollback record of this engine (or a garbled one)
        raw = r.get("effect")
        effect: dict[str, Any] = raw if isinstance(raw, dict) else {}
        out.append({"step": r.get("step"), "label": r.get("label") or r.get("action") or "fault",
                    "manual": bool(r.get("manual")), "on_s": r.get("on_s"),
                    "off_s": r.get("off_s"), "touched": effect.get("count"),
                    "what": effect.get("what"), "could_match": effect.get("could_match"),
                    "delivery": effect.get("delivery")})  # judged by scenarios/delivery.py
    return out


def no_effect(faults: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Scheduled faults whose count is known and zero, each with a one-line message."""
    out = []
    for f in faults:
        if f["manual"] or f["touched"] != 0:
            continue
        window = f"{float(f['on_s']):.1f}-{float(f['off_s']):.1f} s"
        could = f" (it could have matched {f['could_match']})" if f.get("could_match") else ""
        out.append({**f, "message": f"fault {f['label']!r} at {window} touched nothing: "
                                    f"0 {f['what'] or 'requests'}{could}"})
    return out


def faults_during(faults: list[dict[str, Any]], start_s: float, end_s: float
                  ) -> list[dict[str, Any]]:
    """The faults really on during [start_s, end_s): label and the overlap, in seconds."""
    out = []
    for f in faults:
        on, off = float(f["on_s"]), float(f["off_s"])
        if on < end_s and off > start_s:
            out.append({"label": f["label"], "on_s": round(max(on, start_s), 3),
                        "off_s": round(min(off, end_s), 3)})
    return out

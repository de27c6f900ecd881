"""A run as the reports see it: the summary plus the time series, from journal records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleetchaos.scenarios.metrics import TELEMETRY_ACTIONS, UNLOCK_ACTIONS, ok_ratio, statuses_of
from fleetchaos.scenarios.summary import build_summary


@dataclass
class RunReport:
    header: dict[str, Any]
    summary: dict[str, Any]
    samples: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    drivers: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> RunReport:
        summary = next((r for r in reversed(records) if r["type"] == "summary"), None)
        if summary is None:
            summary = build_summary(records)
        summary = {k: v for k, v in summary.items() if k not in ("type", "t")}
        return cls(
            header=next((r for r in records if r["type"] == "header"), {}),
            summary=summary,
            samples=[r for r in records if r["type"] == "sample"],
            steps=[r for r in records if r["type"] == "step"],
            drivers=[r for r in records if r["type"] == "driver"],
        )

    @property
    def verdict(self) -> str:
        return str(self.summary.get("verdict", "incomplete"))

    def fault_windows(self) -> list[tuple[float, float, str]]:
        """(start, end, label) for every timeline fault, for shading charts."""
        out = []
        for step in self.header.get("timeline", []):
            if step.get("action") == "users":
                continue
            end = step.get("end_s") or self.header.get("duration_s") or step["at_s"]
            spec = step.get("spec") or {}
            label = step["action"]
            if step["action"] == "toxic":
                label = f"{spec.get('type')} on {spec.get('proxy')}"
            elif step["action"] == "verbosity":
                label = f"verbosity x{spec.get('level')} on {int(100 * spec.get('cohort', 1))}%"
            elif step["action"] == "http_error":
                label = f"http_error {spec.get('status', 500)} on {spec.get('proxy')}"
            out.append((float(step["at_s"]), float(end), label))
        return out

    def series(self) -> dict[str, list[Any]]:
        """Per-second series for charts."""
        t, rps, p95, err, unlock_ok, stranded, acked = [], [], [], [], [], [], []
        count = 0
        prev_acked = 0
        driver_times = sorted((d["t"], d.get("outcome")) for d in self.drivers)
        i = 0
        for s in self.samples:
            t.append(round(s["t"], 1))
            rps.append(s.get("requests", 0))
            by_action = s.get("by_action") or {}
            api = statuses_of(by_action, [a for a in by_action if a not in TELEMETRY_ACTIONS])
            total = sum(api.values())
            err.append(round(sum(n for k, n in api.items() if k.startswith("5")) / total, 4)
                       if total else 0)
            p95.append(s.get("p95_ms"))
            ratio = ok_ratio(statuses_of(by_action, UNLOCK_ACTIONS))
            unlock_ok.append(None if ratio is None else round(ratio, 4))
            while i < len(driver_times) and driver_times[i][0] <= s["t"]:
                count += driver_times[i][1] == "stranded"
                i += 1
            stranded.append(count)
            now_acked = int((s.get("fleet") or {}).get("telemetry_acked", prev_acked))
            acked.append(max(0, now_acked - prev_acked))
            prev_acked = now_acked
        return {"t": t, "requests_per_s": rps, "p95_ms": p95, "error_5xx_ratio": err,
                "unlock_success_ratio": unlock_ok, "stranded_cumulative": stranded,
                "telemetry_acked_per_s": acked}

    def headline(self) -> str:
        """One sentence: what broke, when, how badly."""
        s = self.summary
        worst = None
        for p in s.get("phases", []):
            n5 = sum(v for k, v in (p.get("by_status") or {}).items() if k.startswith("5"))
            if n5 and (worst is None or n5 > worst[1]):
                worst = (p["name"], n5)
        parts = []
        if worst:
            parts.append(f"{worst[1]} server errors (5xx) on the phone API, most in the "
                         f"{worst[0]} phase")
        else:
            parts.append("no server errors (5xx) on the phone API")
        stranded = s.get("stranded_drivers", 0)
        drivers = s.get("drivers", {})
        parts.append(f"{stranded} of {drivers.get('needing', 0)} drivers stranded"
                     if stranded else "no driver stranded")
        if s.get("recovery_s") is not None:
            parts.append(f"unlocks recovered {s['recovery_s']:g} s after the last fault ended")
        return "; ".join(parts) + "."

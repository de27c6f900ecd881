"""A run as the reports see it: the summary plus the time series, from journal records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleetchaos.reports import broker
from fleetchaos.reports.format import recovery_text
from fleetchaos.reports.labels import record_label, step_label
from fleetchaos.reports.records import clean_records
from fleetchaos.scenarios.metrics import (
    CANARY_PREFIX,
    TELEMETRY_ACTIONS,
    UNLOCK_ACTIONS,
    ok_ratio,
    statuses_of,
)
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
        records = clean_records(records)
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

    def fact(self, key: str, default: str = "-") -> str:
        """A run fact (scenario, run_id, seed, title) from the summary, else the header."""
        value = self.summary.get(key)
        if value is None:
            value = self.header.get(key)
        return default if value is None or value == "" else str(value)

    @property
    def scenario(self) -> str:
        return self.fact("scenario", "unknown-scenario")

    @property
    def title(self) -> str:
        return self.fact("title", self.scenario)

    @property
    def verdict(self) -> str:
        return str(self.summary.get("verdict", "incomplete"))

    def faults(self) -> list[dict[str, Any]]:
        """Every fault as it really was: start, end, label, manual or scheduled.

        Read from the journal's step records (a fired step opens a fault, the step record
        with ``detail.rollback`` for the same step key closes it; ``on_s``/``off_s`` win
        over ``t`` when the engine journals them). A journal without step records falls
        back to the header's timeline (the planned windows).
        """
        run_end = self.run_end()
        out: list[dict[str, Any]] = []
        open_by_key: dict[str, dict[str, Any]] = {}
        for rec in self.steps:
            if rec.get("action") == "users" or rec.get("fault") is False:
                continue
            key = str(rec.get("step"))
            detail = rec.get("detail") or {}
            if isinstance(detail, dict) and "rollback" in detail:
                fault = open_by_key.pop(key, None)
                if fault is not None:
                    fault["end"] = float(rec.get("off_s", rec.get("t", run_end)))
                    fault["ended_by"] = str(detail.get("rollback"))
                    if rec.get("on_s") is not None:
                        fault["start"] = float(rec["on_s"])
                    if rec.get("label"):
                        fault["label"] = str(rec["label"])
                    for extra in ("effect", "verdict"):
                        if rec.get(extra) is not None:
                            fault[extra] = rec[extra]
                continue
            if rec.get("action") == "toxic_remove":
                continue
            fault = {"start": float(rec.get("on_s", rec.get("t", 0.0))), "end": None,
                     "label": record_label(rec), "manual": bool(rec.get("manual")),
                     "step": key, "ended_by": None}
            for extra in ("effect", "verdict"):
                if rec.get(extra) is not None:
                    fault[extra] = rec[extra]
            out.append(fault)
            open_by_key[key] = fault
        if not out and not self.steps:
            for step in self.header.get("timeline", []):
                if step.get("action") == "users":
                    continue
                end = step.get("end_s") or self.header.get("duration_s") or step["at_s"]
                out.append({"start": float(step["at_s"]), "end": float(end),
                            "label": step_label(step.get("action"), step.get("spec")),
                            "manual": False, "step": str(step.get("index")),
                            "ended_by": "planned"})
        for fault in out:
            if fault["end"] is None:
                fault["end"] = max(run_end, fault["start"])
        return out

    def run_end(self) -> float:
        """The last moment the journal knows of (last sample, else the planned duration)."""
        if self.samples:
            return float(self.samples[-1].get("t", 0.0))
        return float(self.header.get("duration_s") or 0.0)

    def fault_windows(self) -> list[tuple[float, float, str]]:
        """(start, end, label) for every fault, scheduled or by hand, for shading charts."""
        return [(f["start"], f["end"], f["label"]) for f in self.faults()]

    def phases(self) -> list[dict[str, Any]]:
        return [p for p in self.header.get("phases") or [] if isinstance(p, dict)]

    def broker_phases(self) -> list[dict[str, Any]]:
        """The MQTT broker's figures per phase (``reports/broker.py``); [] without any."""
        phases = self.summary.get("phases") or self.phases()
        return broker.phase_rows(self.samples, [p for p in phases if isinstance(p, dict)])

    def broker_series(self) -> dict[str, list[Any]]:
        """The broker's messages in / out and dropped per second; empty lists without any."""
        return broker.series(self.samples)

    def api_actions(self) -> list[str]:
        """The phone API's actions in the samples, unlock first, then by volume."""
        volume: dict[str, int] = {}
        for s in self.samples:
            for action, a in (s.get("by_action") or {}).items():
                if action not in TELEMETRY_ACTIONS:
                    volume[action] = volume.get(action, 0) + int(a.get("requests", 0) or 0)
        first = [a for a in ("unlock", f"{CANARY_PREFIX}unlock") if a in volume]
        rest = sorted((a for a in volume if a not in first), key=lambda a: (-volume[a], a))
        return first + rest

    def action_series(self, actions: list[str]) -> dict[str, dict[str, list[Any]]]:
        """Per action and per sample: p95 ms and success (2xx share); None when idle."""
        out: dict[str, dict[str, list[Any]]] = {a: {"p95_ms": [], "success_ratio": [],
                                                     "requests": []} for a in actions}
        for s in self.samples:
            by_action = s.get("by_action") or {}
            for action in actions:
                a = by_action.get(action) or {}
                n = int(a.get("requests", 0) or 0)
                ratio = ok_ratio({str(k): int(v) for k, v in (a.get("by_status") or {}).items()})
                out[action]["requests"].append(n)
                out[action]["p95_ms"].append(a.get("p95_ms") if n else None)
                out[action]["success_ratio"].append(None if ratio is None else round(ratio, 4))
        return out

    def series(self) -> dict[str, list[Any]]:
        """Per-second series for charts."""
        t, rps, p95, err, unlock_ok, stranded, acked = [], [], [], [], [], [], []
        tel_p95: list[Any] = []
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
            tel = by_action.get("telemetry") or {}
            tel_p95.append(tel.get("p95_ms") if tel.get("requests") else None)
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
                "telemetry_acked_per_s": acked, "telemetry_p95_ms": tel_p95}

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
        recovery = recovery_text(s)
        if recovery is not None:
            parts.append(recovery)
        return "; ".join(parts) + "."

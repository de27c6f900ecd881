"""Asked versus delivered, per fault (issue 22): a PASS only when the fault really happened
at the size the scenario names.

"verbosity x60 on 80 % of cars" against a slow backend delivered 2.8x the baseline's
records and the run passed: HTTP cars keep one request in flight, so the backend throttled
the very flood meant to overload it. Each fault's step says, when it is rolled back, what
it was asked (``effect.delivery`` in the journal); what it delivered is either counted by
the step (http_error: injected / matched) or measured here from the journal's samples:

- ``x`` (verbosity): the records/s the cohort's cars sent while the fault was on over the
  records/s the same cars would have sent at their base rate (the fleet's cohort counters;
  a journal without them: the fleet's whole rate over its baseline, solved for the cohort);
- ``share`` (http_error): requests the toxics answered over the requests they matched;
- ``ms`` (latency): the mean response time of the requests through the proxy while it was
  on, less their mean before the first fault;
- ``requests`` (proxy_down): of the requests through the proxy while it was down, those
  that failed;
- ``connections`` (timeout, reset_peer): the requests that failed at the connection level
  while the toxic was on (and a few seconds after, as hung requests time out), against the
  connections it was drawn on.

``delivered_ratio`` is delivered / asked; below the fault's ``min_delivery`` (per step in
the scenario; default 0.5, and 0 for connection toxics: a black hole on an idle
connection breaks nothing, so fewer broken connections than drawn says how the fleet used
them, not that the fault was small) the fault is under-delivered, with one line naming it,
both figures and the likely cause.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fleetchaos.scenarios.metrics import merge_counts

MIN_DELIVERY = 0.5
MIN_DELIVERY_BY_UNIT = {"connections": 0.0}
REPORT_LAG_S = 3.5  # a Locust worker reports every 3 s: its counters may come this late
BREAK_GRACE_S = 10.0  # hung requests fail as they time out after a connection toxic
CPU_SATURATED = 0.9  # a load-generator process busy this share of a core or more
SMALL_COHORT_CARS = 5
SMALL_BASE_RECORDS = 20  # fewer base records in the window: a factor that is mostly noise
FEW_REQUESTS = 20


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _samples(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("type") == "sample" and _num(r.get("t")) is not None]


def _within(samples: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """Samples whose whole interval lies in [start, end] (a few ms of slack)."""
    out = []
    for s in samples:
        t = float(s["t"])
        dt = _num(s.get("dt")) or 1.0
        if t - dt >= start - 0.05 and t <= end + 0.05:
            out.append(s)
    return out


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _actions(s: dict[str, Any], names: Iterable[str]) -> list[dict[str, Any]]:
    by_action = _mapping(s.get("by_action"))
    return [e for n in names if isinstance(e := by_action.get(n), dict)]


def _mean(hist: dict[str, int]) -> float | None:
    total = sum(hist.values())
    if total <= 0:
        return None
    return sum(float(k) * n for k, n in hist.items()) / total


def _hist(samples: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in samples:
        for entry in _actions(s, names):
            hist = entry.get("hist")
            if isinstance(hist, dict):
                merge_counts(out, {k: v for k, v in hist.items() if isinstance(v, int)})
    return out


def _fleet(s: dict[str, Any] | None, key: str) -> float | None:
    fleet = (s or {}).get("fleet")
    return _num(fleet.get(key)) if isinstance(fleet, dict) else None


def _last_at_or_before(samples: list[dict[str, Any]], t: float) -> dict[str, Any] | None:
    return next((s for s in reversed(samples) if float(s["t"]) <= t + 0.05), None)


def cpu_peak(samples: list[dict[str, Any]], on: float, off: float) -> float | None:
    """The busiest load-generator process's CPU share while the fault was on."""
    peaks = [p for s in samples if on - 0.05 <= float(s["t"]) <= off + 1.05
             if (p := _fleet(s, "fleet_cpu_share_max")) is not None]
    return max(peaks) if peaks else None


def saturated_text(cpu: float | None) -> str | None:
    """The likely cause when the busiest load-generator process had no CPU left."""
    if cpu is None or cpu < CPU_SATURATED:
        return None
    return f"the load generator's CPU was saturated ({cpu * 100:.0f} % of a core)"


class Measure:
    """Delivered figures from one journal's samples (baseline: before the first fault)."""

    def __init__(self, records: list[dict[str, Any]], first_fault_on: float | None) -> None:
        self.samples = _samples(records)
        self.first_on = first_fault_on
        header = next((r for r in records if r.get("type") == "header"), {})
        raw = header.get("timeline")
        timeline: list[Any] = raw if isinstance(raw, list) else []
        self.steps = {str(s.get("index")): s for s in timeline if isinstance(s, dict)}

    def baseline(self) -> list[dict[str, Any]]:
        """Samples before the first fault, without the first half (the fleet starting)."""
        if self.first_on is None:
            return []
        before = [s for s in self.samples if float(s["t"]) <= self.first_on + 0.05]
        return before[len(before) // 2:] if len(before) > 2 else before

    def latency(self, names: tuple[str, ...], on: float, off: float
                ) -> tuple[float | None, int]:
        window = _hist(_within(self.samples, on, off), names)
        base = _mean(_hist(self.baseline(), names))
        during = _mean(window)
        n = sum(window.values())
        if base is None or during is None:
            return None, n
        return round(max(0.0, during - base), 1), n

    def failed_requests(self, names: tuple[str, ...], on: float, off: float
                        ) -> tuple[float, float]:
        """(requests, failed) through the proxy while the fault was on."""
        requests = failed = 0
        for s in _within(self.samples, on, off):
            for entry in _actions(s, names):
                requests += int(_num(entry.get("requests")) or 0)
                failed += int(_num(entry.get("failures")) or 0)
        return float(requests), float(failed)

    def broken(self, names: tuple[str, ...], on: float, off: float) -> float:
        """Requests that failed at the connection level (status "0") while on, and as the
        requests hung by it timed out."""
        n = 0
        for s in _within(self.samples, on, off + BREAK_GRACE_S):
            for entry in _actions(s, names):
                statuses = entry.get("by_status")
                if isinstance(statuses, dict):
                    n += int(_num(statuses.get("0")) or 0)
        return float(n)

    def cohort_rate(self, on: float, off: float, cohort: float) -> dict[str, Any]:
        """The cohort's sent and offered factors (and what they stand on)."""
        before = _last_at_or_before(self.samples, on)
        after = _last_at_or_before(self.samples, off + REPORT_LAG_S)
        if after is None or (before is not None and after is before):
            return {"delivered": None}

        def delta(key: str) -> float | None:
            a, b = _fleet(after, key), _fleet(before, key) if before is not None else 0.0
            return None if a is None or b is None else a - b

        base = delta("telemetry_cohort_baseline")
        if base is not None and _fleet(after, "telemetry_cohort_sent") is not None:
            sent, offered = delta("telemetry_cohort_sent"), delta("telemetry_cohort_offered")
            cars = _fleet(after, "telemetry_cohort_cars")
            if not base or base <= 0 or sent is None:
                return {"delivered": None, "cars": cars, "base_records": base or 0.0}
            return {"delivered": round(sent / base, 2), "base_records": base, "cars": cars,
                    "offered": None if offered is None else round(offered / base, 2)}
        return self._fleet_rate(on, off, cohort)

    def _fleet_rate(self, on: float, off: float, cohort: float) -> dict[str, Any]:
        """Without cohort counters: the fleet's records/s while on over its baseline rate,
        solved for the cohort (fleet factor = 1 - cohort + cohort x cohort factor)."""
        base = self.baseline()
        base_span = sum(_num(s.get("dt")) or 1.0 for s in base)
        first, last = (base[0], base[-1]) if base else (None, None)
        prior = _last_at_or_before(self.samples, float(first["t"]) - 1.0) if first else None
        b0, b1 = _fleet(prior, "telemetry_sent") or 0.0, _fleet(last, "telemetry_sent")
        start = _last_at_or_before(self.samples, on)
        end = _last_at_or_before(self.samples, off)
        s0, s1 = _fleet(start, "telemetry_sent"), _fleet(end, "telemetry_sent")
        if b1 is None or s0 is None or s1 is None or start is None or end is None \
                or base_span <= 0 or cohort <= 0:
            return {"delivered": None}
        base_rate = (b1 - b0) / base_span
        span = float(end["t"]) - float(start["t"])
        if base_rate <= 0 or span <= 0:
            return {"delivered": None, "base_records": 0.0}
        fleet_factor = (s1 - s0) / span / base_rate
        factor = max(0.0, (fleet_factor - (1.0 - cohort)) / cohort)
        return {"delivered": round(factor, 2), "base_records": base_rate * span * cohort,
                "cars": None}


def fmt_amount(value: float | None, unit: str) -> str:
    """'x60', '40.0 %', '800 ms', '412 requests'; '?' when unknown."""
    if value is None:
        return "?"
    if unit == "x":
        return f"x{value:.3g}" if value < 100 else f"x{value:,.0f}"
    if unit == "share":
        return f"{value * 100:.1f} %"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.0f} {unit}"


def _cause(unit: str, extra: dict[str, Any], cpu: float | None, asked: float,
           minimum: float) -> str | None:
    """The likely reason a fault delivered less than asked, in a few words."""
    cars = extra.get("cars")
    if unit == "x" and ((cars is not None and cars < SMALL_COHORT_CARS)
                        or extra.get("base_records", SMALL_BASE_RECORDS) < SMALL_BASE_RECORDS):
        return (f"the cohort is too small ({cars:.0f} cars)" if cars is not None
                else "the cohort is too small (too few records to measure a rate)")
    if (saturated := saturated_text(cpu)) is not None:
        return saturated
    if unit == "x":
        offered = extra.get("offered")
        if offered is not None and offered < minimum * asked:
            return f"the cars generated only {fmt_amount(offered, 'x')}"
        if offered is not None:
            return (f"the backend throttled the cars (they generated "
                    f"{fmt_amount(offered, 'x')}, sent {fmt_amount(extra.get('delivered'), 'x')})")
        return "the backend throttled the cars"
    seen = extra.get("seen")
    if seen is not None and seen < FEW_REQUESTS:
        return f"too few matching requests ({seen:.0f}) for the fault to show"
    return None


def judge(faults: list[dict[str, Any]], records: list[dict[str, Any]]
          ) -> list[dict[str, Any]]:
    """Fill each fault's asked/delivered fields; return the under-delivered ones, each
    with its one-line ``message``."""
    ons = [float(f["on_s"]) for f in faults if _num(f.get("on_s")) is not None]
    measure = Measure(records, min(ons) if ons else None)
    under = []
    for fault in faults:
        raw = fault.pop("delivery", None)
        d: dict[str, Any] = raw if isinstance(raw, dict) else {}
        unit = str(d.get("unit") or "") or None
        asked, delivered = _num(d.get("asked")), _num(d.get("delivered"))
        on, off = float(fault["on_s"]), float(fault["off_s"])
        names = tuple(str(a) for a in d.get("actions") or [] if isinstance(a, str))
        extra: dict[str, Any] = {}
        kind = d.get("measure")
        if kind == "latency":
            delivered, n = measure.latency(names, on, off)
            extra["seen"] = n
        elif kind == "failed_requests":
            asked, delivered = measure.failed_requests(names, on, off)
        elif kind == "failed_connections":
            delivered = measure.broken(names, on, off)
        elif kind == "cohort_rate" and asked is not None:
            step = measure.steps.get(str(fault.get("step")), {})
            spec = _mapping(step.get("spec"))
            cohort = _num(spec.get("cohort"))
            extra = measure.cohort_rate(on, off, 1.0 if cohort is None else cohort)
            delivered = extra.get("delivered")
        elif unit == "share":
            extra["seen"] = None  # counted by the step: injected / matched
        step = measure.steps.get(str(fault.get("step")), {})
        wanted = _num(step.get("min_delivery"))
        minimum = wanted if wanted is not None else MIN_DELIVERY_BY_UNIT.get(unit or "",
                                                                          MIN_DELIVERY)
        ratio = round(delivered / asked, 4) if delivered is not None and asked else None
        injections = [i for i in d.get("injections") or [] if isinstance(i, dict)]
        shared = [a for i in injections if len(i.get("actions") or []) > 1
                  for a in i["actions"]]
        fault.update(asked=asked, delivered=delivered, unit=unit, delivered_ratio=ratio,
                     min_delivery=minimum, actions=shared, cause=None, under_delivered=False)
        if injections:
            fault["injections"] = injections
        if "offered" in extra:
            fault["offered"] = extra["offered"]
        if ratio is None or ratio >= minimum or fault.get("manual") or unit is None \
                or asked is None:
            continue
        fault["under_delivered"] = True
        fault["cause"] = _cause(unit, extra, cpu_peak(measure.samples, on, off), asked,
                                minimum)
        window = f"{on:.1f}-{off:.1f} s"
        why = f": likely {fault['cause']}" if fault["cause"] else ""
        fault["message"] = (f"fault {fault['label']!r} at {window} asked "
                            f"{fmt_amount(asked, unit)}, delivered "
                            f"{fmt_amount(delivered, unit)} ({ratio * 100:.0f} % of asked, "
                            f"below min_delivery {minimum:g}){why}")
        under.append(fault)
    return under

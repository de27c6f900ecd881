"""What a car sends: records of N fields at an interval, sized like the open protobufs.

The facts file: about 70 B for one field, 170–210 B for 10, 280–360 B for 20,
1.2–1.6 KB for 100, plus envelope. JSON text is somewhat larger than protobuf;
the field values here are chosen so a 20-field record is about 400 B of JSON.
Verbosity V on a cohort car divides the interval by V and multiplies the fields
(capped at ``max_fields``): the 2021 "increased verbosity".
"""

from __future__ import annotations

import random
import time
from typing import Any

BASE_FIELDS = ("lat", "lon", "gear", "speed", "soc", "odometer", "locked", "charging",
               "range_km", "inside_temp", "outside_temp", "tpms_fl", "tpms_fr", "tpms_rl",
               "tpms_rr", "heading", "power_kw", "est_battery", "charge_limit", "sentry")


def field_names(count: int) -> list[str]:
    names = list(BASE_FIELDS[:count])
    names += [f"debug_{i:03d}" for i in range(max(0, count - len(BASE_FIELDS)))]
    return names


def effective(interval_s: float, fields: int, verbosity: float, in_cohort: bool,
              min_interval_s: float, max_fields: int) -> tuple[float, int]:
    """(interval, field count) for one car at the current verbosity."""
    if not in_cohort or verbosity <= 1:
        return interval_s, fields
    return (max(min_interval_s, interval_s / verbosity),
            min(max_fields, round(fields * min(verbosity, 5.0))))


def make_record(seq: int, names: list[str], rng: random.Random, home: tuple[float, float],
                is_resend: bool = False) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in names:
        if name == "lat":
            values[name] = round(home[0] + rng.uniform(-0.01, 0.01), 6)
        elif name == "lon":
            values[name] = round(home[1] + rng.uniform(-0.01, 0.01), 6)
        elif name == "gear":
            values[name] = rng.choice("PRND")
        elif name in ("locked", "charging", "sentry"):
            values[name] = rng.random() < 0.5
        else:
            values[name] = round(rng.uniform(0, 400), 2)
    return {"type": "telemetry", "seq": seq, "ts": round(time.time(), 3),
            "is_resend": is_resend, "fields": values}

"""What a car sends: records of N fields at an interval, sized like the open protobufs.

The facts file: about 70 B for one field, 170–210 B for 10, 280–360 B for 20,
1.2–1.6 KB for 100, plus envelope. JSON text is somewhat larger than protobuf;
the field values here are chosen so a 20-field record is about 400 B of JSON.
Verbosity V on a cohort car divides the interval by V and multiplies the fields
(capped at ``max_fields``): the 2021 "increased verbosity".
"""

from __future__ import annotations

import json
import random
import time
from functools import lru_cache
from typing import Any

BASE_FIELDS = ("lat", "lon", "gear", "speed", "soc", "odometer", "locked", "charging",
               "range_km", "inside_temp", "outside_temp", "tpms_fl", "tpms_fr", "tpms_rl",
               "tpms_rr", "heading", "power_kw", "est_battery", "charge_limit", "sentry")


@lru_cache(maxsize=256)
def _field_names(count: int) -> tuple[str, ...]:
    names = list(BASE_FIELDS[:count])
    names += [f"debug_{i:03d}" for i in range(max(0, count - len(BASE_FIELDS)))]
    return tuple(names)


def field_names(count: int) -> list[str]:
    return list(_field_names(count))


def effective(interval_s: float, fields: int, verbosity: float, in_cohort: bool,
              min_interval_s: float, max_fields: int) -> tuple[float, int]:
    """(interval, field count) for one car at the current verbosity."""
    if not in_cohort or verbosity <= 1:
        return interval_s, fields
    return (max(min_interval_s, interval_s / verbosity),
            min(max_fields, round(fields * min(verbosity, 5.0))))


def make_record(seq: int, names: list[str] | tuple[str, ...], rng: random.Random,
                home: tuple[float, float], is_resend: bool = False,
                ts: float | None = None) -> dict[str, Any]:
    """A record; ``ts`` is when it came due (unix time; default now)."""
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
    return {"type": "telemetry", "seq": seq, "ts": round(time.time() if ts is None else ts, 3),
            "is_resend": is_resend, "fields": values}


HEAD = '{"type":"telemetry","is_resend":false,"seq":'
RESENT_HEAD = '{"type":"telemetry","is_resend":true,"seq":'
VARIANTS = 32  # value sets per field count a process cycles through


def as_resent(text: str) -> str:
    """The same record, flagged ``is_resend`` (a record built by RecordMaker)."""
    return RESENT_HEAD + text[len(HEAD):] if text.startswith(HEAD) else text


class RecordMaker:
    """Records as JSON text at the cost of one string format.

    A record's position is drawn per record around the car's home; the other fields come
    from a few value sets per field count, made once per process with make_record's
    draws (what a backend stores and parses is the same size and shape; what the fleet
    pays is a format, not twenty draws and a JSON encoding). Keys are in the order
    ``type, is_resend, seq, ts, fields``, so a resend is the same text with the flag
    flipped in place (``as_resent``)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.tails: dict[int, list[str]] = {}
        self.turn = 0

    def _tails(self, nfields: int) -> list[str]:
        names = [n for n in _field_names(nfields) if n not in ("lat", "lon")]
        out = []
        for _ in range(VARIANTS):
            values = make_record(0, names, self.rng, (0.0, 0.0))["fields"]
            out.append(json.dumps(values, separators=(",", ":"))[1:-1])
        self.tails[nfields] = out
        return out

    def record(self, seq: int, ts: float, nfields: int, home: tuple[float, float]) -> str:
        tails = self.tails.get(nfields) or self._tails(nfields)
        self.turn += 1
        tail = tails[self.turn % VARIANTS]
        uniform = self.rng.uniform
        if nfields >= 2:
            where = (f'"lat":{home[0] + uniform(-0.01, 0.01):.6f},'
                     f'"lon":{home[1] + uniform(-0.01, 0.01):.6f}')
        elif nfields == 1:
            where = f'"lat":{home[0] + uniform(-0.01, 0.01):.6f}'
        else:
            where = ""
        sep = "," if where and tail else ""
        return f'{HEAD}{seq},"ts":{ts:.3f},"fields":{{{where}{sep}{tail}}}}}'

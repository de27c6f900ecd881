"""The sizing table of docs/scaling.md, computed from the benchmarks' own figures.

    .venv/bin/python -m bench.sizing

Nothing here measures: it reads the figures the benchmarks wrote (docs/benchmarks/
fleet.md, mqtt.md, toxiproxy.md, backend.md), the flood of the built-in
verbosity-flood-2021 scenario and the size of a record as the fleet builds one, and
writes the arithmetic for 100,000 and 1,000,000 cars between the ``<!-- bench:sizing -->``
markers of docs/scaling.md. Rerun it after a benchmark is rerun; a test
(tests/scale/test_sizing_doc.py) fails while the table and the figures disagree.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks"
SCALING = REPO / "docs" / "scaling.md"
FLEETS = (100_000, 1_000_000)
BASE_FIELDS = 20  # the fleet's default record (fleet_sim/config.py)


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of a document, as rows keyed by the header's cells."""
    found: list[list[dict[str, str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and set(lines[i + 1]) <= set("|-: "):
            head = [c.strip() for c in lines[i].strip("|").split("|")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip("|").split("|")]
                rows.append(dict(zip(head, cells, strict=False)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def number(cell: str) -> float:
    """``2,055`` / ``**0.47**`` / ``6.8 KB`` -> the number."""
    match = re.search(r"-?[\d,]*\.?\d+", cell.replace("*", ""))
    if match is None:
        raise ValueError(f"no number in {cell!r}")
    return float(match.group(0).replace(",", ""))


def written_on(text: str) -> str:
    match = re.search(r"Written by `([^`]+)` on (\d{4}-\d{2}-\d{2})", text)
    return f"`{match.group(1)}`, {match.group(2)}" if match else "(no date)"


@dataclass(frozen=True)
class Fleet:
    transport: str
    cars: int  # the most cars one Locust process held in the bench
    records_per_cpu_s: float
    cores: float
    kb_per_car: float
    source: str
    other: str = ""  # another row of the same size, for the reader


@dataclass(frozen=True)
class Proxy:
    us_per_request: float  # the proxy process's CPU per small request/answer pair
    at_rps: float
    kb_per_idle: float  # built-in, no toxics
    kb_per_idle_toxic: float  # built-in, latency 0 ms on both streams
    go_kb_per_idle: float | None
    bytes_per_s_64k: float  # 64 KiB answers, 32 connections, through the proxy
    source: str


@dataclass(frozen=True)
class Backend:
    records_per_s: float  # the highest acked telemetry rate with ack p99 under 1 s
    knee_reached: bool
    source: str


def websocket_fleet(text: str) -> Fleet:
    rows = [r for t in tables(text) for r in t if "records per CPU-second" in r
            and number(r.get("worker processes", "0")) == 1]
    best = max(rows, key=lambda r: number(r["peak connected"]))
    return Fleet("WebSocket", int(number(best["peak connected"])),
                 number(best["records per CPU-second"]), number(best["CPU (cores)"]),
                 number(best["KB per car"]), written_on(text))


def mqtt_fleet(text: str) -> Fleet:
    """The most cars; of those, the longest row (the steadiest: a connect storm weighs
    less in it). The other rows of that size are named beside it."""
    rows = [r for t in tables(text) for r in t if r.get("transport") == "mqtt"]
    best = max(rows, key=lambda r: (number(r["peak connected"]), number(r["run s"])))
    others = [r for r in rows if r is not best and r["peak connected"] == best["peak connected"]]
    other = "; ".join(f"{_n(number(r['records per CPU-second']))} in the {r['run s']} s row at "
                      f"{r['ramp (cars/s)']} cars/s, its connect storm included" for r in others)
    return Fleet("MQTT", int(number(best["peak connected"])),
                 number(best["records per CPU-second"]), number(best["CPU (cores)"]),
                 number(best["KB per car"]), written_on(text), other=(
                     f"the {best['run s']} s row at {best['ramp (cars/s)']} cars/s"
                     + (f"; {other}" if other else "")))


def toxiproxy(text: str) -> Proxy:
    cpu = re.search(r"drove ([\d,]+) req/s through the proxy[^:]*: proxy \*\*([\d.]+) µs\*\*", text)
    if cpu is None:
        raise ValueError("toxiproxy.md: no 'CPU per request while wrk drove' line")
    rows = [r for t in tables(text) for r in t]
    idle = {r["proxy"]: number(r["memory per connection"]) for r in rows
            if "memory per connection" in r}
    big = next(r for r in rows if r.get("response") == "64 KiB" and r.get("connections") == "32"
               and "via proxy req/s" in r)
    return Proxy(number(cpu.group(2)), number(cpu.group(1)), idle["built-in, no toxics"],
                 idle["built-in, latency 0 ms on both streams"],
                 idle.get("Go Toxiproxy, no toxics"), number(big["via proxy req/s"]) * 65_536,
                 written_on(text))


def backend(text: str) -> Backend:
    rows = [r for t in tables(text) for r in t if "acked rec/s" in r
            and number(r["offered unlocks/s"]) == 0 and number(r["offered telemetry rec/s"]) > 0]
    under = [r for r in rows if r["ack p99 s"] != "-" and number(r["ack p99 s"]) < 1.0]
    best = max(under, key=lambda r: number(r["acked rec/s"]))
    return Backend(number(best["acked rec/s"]), len(under) < len(rows), written_on(text))


@dataclass(frozen=True)
class Flood:
    name: str
    level: float
    cohort: float
    factor: float  # records per car per second in the flood / at baseline
    base_bytes: int  # one baseline record as the fleet encodes it
    flood_bytes: int  # one record of a flooding car


def flood() -> Flood:
    """verbosity-flood-2021's step, through the fleet's own rate and record code."""
    from fleetchaos.fleet_sim.config import FleetConfig
    from fleetchaos.fleet_sim.telemetry import effective, field_names, make_record
    from fleetchaos.scenarios.loader import load_scenario

    scenario = load_scenario("verbosity-flood-2021")
    step = next(s.spec.to_json() for s in scenario.timeline if s.action == "verbosity")
    level, cohort = float(step["level"]), float(step.get("cohort", 1.0))
    tel = FleetConfig().telemetry
    base = float(tel["interval_s"])
    interval, fields = effective(base, int(tel["fields"]), level, True,
                                 float(tel["min_interval_s"]), int(tel["max_fields"]))
    factor = (1 - cohort) + cohort * base / interval

    def size(n: int) -> int:
        record = make_record(1, field_names(n), random.Random(1), (37.77, -122.42), ts=1.7e9)
        return len(json.dumps(record, separators=(",", ":")).encode())

    return Flood("verbosity-flood-2021", level, cohort, factor, size(int(tel["fields"])),
                 size(fields))


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _mb(kb: float) -> str:
    gb = kb / 1e6
    return f"{gb:,.1f} GB" if gb >= 1 else f"{kb / 1e3:,.0f} MB"


def render(ws: Fleet, mq: Fleet, proxy: Proxy, back: Backend, fl: Flood) -> str:
    rate = 0.1  # records per car per second at baseline: 1 per 10 s
    lines = [
        "Measured (each figure is the benchmark's own, on this project's 2-core machine "
        "shared with other work; see each document for its load):",
        "",
        "| what | measured | where |",
        "|---|---|---|",
        f"| WebSocket cars, one Locust process | {_n(ws.cars)} cars at 1 record per 10 s: "
        f"{_n(ws.records_per_cpu_s)} records per CPU-second, {ws.cores:g} cores, "
        f"{ws.kb_per_car:g} KB per car | [fleet.md](benchmarks/fleet.md), {ws.source} |",
        f"| MQTT cars, one Locust process | {_n(mq.cars)} cars: {_n(mq.records_per_cpu_s)} "
        f"records per CPU-second, {mq.cores:g} cores, {mq.kb_per_car:g} KB per car "
        f"({mq.other}; the broker's CPU not counted) | [mqtt.md](benchmarks/mqtt.md), "
        f"{mq.source} |",
        f"| Built-in Toxiproxy, CPU | {proxy.us_per_request:g} µs of the proxy's CPU per "
        f"small request and answer (11 B, 32 connections, {_n(proxy.at_rps)} req/s): "
        f"{_n(1e6 / proxy.us_per_request)} per core-second | "
        f"[toxiproxy.md](benchmarks/toxiproxy.md), {proxy.source} |",
        f"| Built-in Toxiproxy, bytes | {_n(proxy.bytes_per_s_64k / 1e6)} MB/s of 64 KiB "
        "answers at 32 connections, wrk and nginx on the same 2 cores (so at least half that "
        "per core) | [toxiproxy.md](benchmarks/toxiproxy.md) |",
        f"| Built-in Toxiproxy, memory | {proxy.kb_per_idle:g} KB per idle connection "
        f"({proxy.kb_per_idle_toxic:g} KB with a latency toxic on both streams"
        + (f"; Go Toxiproxy {proxy.go_kb_per_idle:g} KB" if proxy.go_kb_per_idle else "")
        + ") | [toxiproxy.md](benchmarks/toxiproxy.md) |",
        f"| Reference backend | {_n(back.records_per_s)} telemetry records/s acked with p99 "
        f"under 1 s ({'the knee' if back.knee_reached else 'not the knee: the highest rate tried'})"
        f" | [backend.md](benchmarks/backend.md), {back.source} |",
        f"| A record | {_n(fl.base_bytes)} B of JSON at {BASE_FIELDS} fields; "
        f"{_n(fl.flood_bytes)} B for a flooding car | `make_record` of fleet_sim/telemetry.py, "
        "computed (not a benchmark) |",
        "",
        f"Extrapolated, linearly, for the {fl.name} flood (verbosity x{fl.level:g} on "
        f"{fl.cohort:.0%} of the cars: x{fl.factor:.1f} the baseline's records) — nothing "
        "below was run at this size:",
        "",
        "| | " + " | ".join(f"{c:,} cars, baseline | {c:,} cars, flood" for c in FLEETS) + " |",
        "|---|" + "---:|" * (2 * len(FLEETS)),
    ]
    cols: list[dict[str, str]] = []
    for cars in FLEETS:
        for flooding in (False, True):
            recs = cars * rate * (fl.factor if flooding else 1.0)
            flooders = cars * fl.cohort if flooding else 0
            bytes_s = (cars - flooders) * rate * fl.base_bytes + (recs - (cars - flooders) * rate) \
                * fl.flood_bytes
            col = {"records": f"{_n(recs)}/s", "bytes": f"{_n(bytes_s / 1e6, 1)} MB/s"}
            for fleet in (ws, mq):
                cores = recs / fleet.records_per_cpu_s
                procs = max(math.ceil(cars / fleet.cars), math.ceil(cores))
                col[fleet.transport] = (f"{_n(cores, 1)} cores, {procs:,} processes, "
                                        f"{_mb(cars * fleet.kb_per_car)}")
            by_requests = recs * proxy.us_per_request / 1e6
            by_bytes = bytes_s / (proxy.bytes_per_s_64k / 2)  # per core, a lower bound
            col["proxy"] = (f"{_n(max(by_requests, by_bytes), 2)} cores "
                            f"({'bytes' if by_bytes > by_requests else 'requests'}), "
                            f"{_mb(cars * proxy.kb_per_idle_toxic)}")
            col["backend"] = f"{_n(math.ceil(recs / back.records_per_s))}"
            cols.append(col)
    rows = [("telemetry records", "records"), ("telemetry bytes (JSON)", "bytes"),
            ("WebSocket fleet: CPU, Locust processes, memory", "WebSocket"),
            ("MQTT fleet: CPU, Locust processes, memory", "MQTT"),
            ("Toxiproxy (built-in): CPU, memory for the cars' connections", "proxy"),
            ("reference backends at the measured rate", "backend")]
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(c[key] for c in cols) + " |")
    lines += [
        "",
        "How each cell is computed: records/s = cars x 0.1 (1 record per 10 s) x the flood's "
        "factor; fleet cores = records/s / records per CPU-second; Locust processes = the "
        "larger of cars / the cars one process held and those cores (one process per core); "
        "memory = cars x KB per car; Toxiproxy cores = the larger of records/s x its CPU per "
        "request (a WebSocket frame and its ack taken as one small request and answer) and "
        "bytes/s / half the 64 KiB throughput (which 2 cores carried with wrk and nginx on "
        "them), the one that decided in brackets; Toxiproxy memory "
        "= cars x KB per connection with a toxic on; backends = records/s / the reference "
        "backend's rate.",
        "",
        "What the extrapolation assumes, and where it is known to be wrong: processes scale "
        "linearly across machines (on one 2-core machine two processes did worse per CPU-"
        "second than one, fleet.md's 2-process rows); the cars' CPU at the flood's rate costs "
        "what it costs at 1 record per 10 s per record (the per-car timers and connections are "
        "paid once, so the flood is likely cheaper per record than this); a Toxiproxy "
        "connection carrying frames of hundreds of bytes costs what an 11-byte request does; "
        "the phones (drivers) are left out (one request per need, tens of times fewer than the "
        "cars' records). The reference backend is a demo target with one SQLite file: the "
        "last row says how far it is from such a fleet, not how to size your backend.",
    ]
    return "\n".join(lines)


def compute() -> str:
    def read(name: str) -> str:
        return (DOCS / name).read_text()

    return render(websocket_fleet(read("fleet.md")), mqtt_fleet(read("mqtt.md")),
                  toxiproxy(read("toxiproxy.md")), backend(read("backend.md")), flood())


def main() -> None:
    from bench.common import update_marked

    update_marked(SCALING, "sizing", compute())
    print(f"wrote the sizing table of {SCALING}")


if __name__ == "__main__":
    main()

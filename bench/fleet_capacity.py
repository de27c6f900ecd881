"""How many connected cars one Locust process holds (1 record per 10 s each), telemetry
records/s per core, and memory per car — against a loopback sink that acks everything.

Goals (issue 26): at least 4,000 records per CPU-second with 10,000 WebSocket cars in one
process, and 19,500 cars in one process (the machine's descriptor limit is 20,000) at no
more than 20 KB per car.

Run: .venv/bin/python -m bench.fleet_capacity
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import write_doc
from fleetchaos.common.child_process import start_child

COMMAND = ".venv/bin/python -m bench.fleet_capacity"
RUN_S = 45
ROWS = ((1000, 1), (5000, 1), (10000, 1), (19500, 1), (10000, 2), (16000, 2))  # (cars, processes)


def one(cars: int, sink_url: str, tmp: Path, processes: int = 1) -> dict[str, Any]:
    out = tmp / f"fleet-{cars}-{processes}"
    out.mkdir()
    config = {"seed": 1, "cars": cars, "drivers": 0, "telemetry_url": sink_url, "workers": processes,
              "api_url": sink_url, "telemetry": {"interval_s": 10.0, "asleep_share": 0.0}}
    env = dict(os.environ, FLEETCHAOS_FLEET_CONFIG=json.dumps(config), FLEET_BENCH_OUT=str(out))
    extra = ["--processes", str(processes)] if processes > 1 else []
    subprocess.run([sys.executable, "-m", "locust", "-f",
                    str(Path(__file__).with_name("fleet_locustfile.py")), "--headless",
                    "-u", str(cars), "-r", "500", "-t", f"{RUN_S}s", "--host", sink_url,
                    "--only-summary", "--loglevel", "ERROR", "--stop-timeout", "1", *extra],
                   env=env, capture_output=True, timeout=RUN_S + 120, check=False)
    parts = [json.loads(f.read_text()) for f in out.glob("*.json")]
    workers = [p for p in parts if p["fleet"]["cars_total"] > 0]
    cpu = sum(p["cpu_s"] for p in parts)
    sent = sum(p["fleet"]["telemetry_sent"] for p in workers)
    rss_kb = sum(p["max_rss_kb"] for p in workers)
    return {"cars": cars, "processes": processes,
            "peak_connected": sum(p["fleet"].get("peak_connected", 0) for p in workers),
            "acked_per_s": sum(p["fleet"]["telemetry_acked"] for p in workers) / RUN_S,
            "records_per_cpu_s": sent / max(cpu, 1e-9),
            "cpu_share": cpu / RUN_S, "rss_mb": rss_kb / 1024, "kb_per_car": rss_kb / cars}


def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # Locust and the sink inherit it
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, \
            start_child("ws sink", [sys.executable, "-m", "bench.ws_sink"]) as sink:
        for cars, processes in ROWS:
            rows.append(one(cars, sink.url, Path(tmp), processes))
            print(rows[-1], flush=True)
    load_after = os.getloadavg()[0]
    table = ["| cars | worker processes | peak connected | acked records/s | records per "
             "CPU-second | CPU (cores) | RSS MB (workers) | KB per car |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| {r['cars']:,} | {r['processes']} | {r['peak_connected']:,} | "
                     f"{r['acked_per_s']:,.0f} | "
                     f"{r['records_per_cpu_s']:,.0f} | {r['cpu_share']:.2f} | {r['rss_mb']:,.0f} |"
                     f" {r['kb_per_car']:.0f} |")
    body = (f"`CarUser` only, WebSocket transport, 1 record per 10 s per car, 20 fields, {RUN_S} s"
            " per row including a ramp of 500 cars/s, against a loopback sink that acks every "
            "record (bench/ws_sink.py). One process, or Locust `--processes 2` (a master and "
            "two workers). Records are those the cars sent (each car's first comes due at its "
            "seeded phase within the 10 s interval, so a row sends fewer than cars x run "
            "length / 10). CPU is every Locust process's own (getrusage, summed), start-up, "
            "ramp and stop included; RSS is the workers' peak. Goals: at least 4,000 records "
            "per CPU-second with 10,000 cars in one process, and 19,500 cars in one process "
            "(the descriptor limit, 20,000) at no more than 20 KB per car. Load average (1 min) "
            f"{load_before:.1f} before and {load_after:.1f} after: the machine is shared with "
            "other work. The phones' overhead is in [fleet-overhead.md](fleet-overhead.md).\n\n"
            + "\n".join(table) + "\n")
    single = [r for r in rows if r["processes"] == 1]
    top = max(single, key=lambda r: r["peak_connected"])
    ten = next(r for r in single if r["cars"] == 10000)
    headline = (f"Fleet: **{top['peak_connected']:,} cars connected in one Locust process** "
                f"({top['kb_per_car']:.0f} KB per car); 10,000 cars: "
                f"**{ten['records_per_cpu_s']:,.0f} records per CPU-second** "
                f"({ten['cpu_share']:.2f} cores, {ten['kb_per_car']:.0f} KB per car)")
    print(write_doc("fleet", "Fleet capacity per Locust process", COMMAND, body,
                    headline).read_text())


if __name__ == "__main__":
    main()

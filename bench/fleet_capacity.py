"""How many connected cars one Locust process holds (1 record per 10 s each), telemetry
records/s per core, and memory per car — against a loopback sink that acks everything.

Run: .venv/bin/python -m bench.fleet_capacity
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import write_doc
from fleetchaos_common.child_process import start_child

COMMAND = ".venv/bin/python -m bench.fleet_capacity"
RUN_S = 45
SIZES = (1000, 5000, 10000)


def one(cars: int, sink_url: str, tmp: Path) -> dict:
    out = tmp / f"fleet-{cars}.json"
    config = {"seed": 1, "cars": cars, "drivers": 0, "telemetry_url": sink_url,
              "api_url": sink_url, "telemetry": {"interval_s": 10.0, "asleep_share": 0.0}}
    env = dict(os.environ, FLEETCHAOS_FLEET_CONFIG=json.dumps(config), FLEET_BENCH_OUT=str(out))
    subprocess.run([sys.executable, "-m", "locust", "-f",
                    str(Path(__file__).with_name("fleet_locustfile.py")), "--headless",
                    "-u", str(cars), "-r", "500", "-t", f"{RUN_S}s", "--host", sink_url,
                    "--only-summary", "--loglevel", "ERROR", "--stop-timeout", "1"],
                   env=env, capture_output=True, timeout=RUN_S + 120, check=False)
    data = json.loads(out.read_text())
    fleet = data["fleet"]
    return {"cars": cars, "peak_connected": fleet.get("peak_connected", 0),
            "acked_per_s": fleet["telemetry_acked"] / RUN_S,
            "records_per_cpu_s": fleet["telemetry_sent"] / max(data["cpu_s"], 1e-9),
            "cpu_share": data["cpu_s"] / RUN_S, "rss_mb": data["max_rss_kb"] / 1024,
            "kb_per_car": data["max_rss_kb"] / cars}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, \
            start_child("ws sink", [sys.executable, "-m", "bench.ws_sink"]) as sink:
        for cars in SIZES:
            rows.append(one(cars, sink.url, Path(tmp)))
            print(rows[-1], flush=True)
    table = ["| cars | peak connected | acked records/s | records per CPU-second | CPU (cores) "
             "| max RSS MB | KB per car |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| {r['cars']:,} | {r['peak_connected']:,} | {r['acked_per_s']:,.0f} | "
                     f"{r['records_per_cpu_s']:,.0f} | {r['cpu_share']:.2f} | {r['rss_mb']:,.0f} |"
                     f" {r['kb_per_car']:.0f} |")
    body = (f"One Locust process (`CarUser` only, WebSocket transport, 1 record per 10 s per car, "
            f"20 fields), {RUN_S} s per size including a ramp of 500 cars/s, against a loopback "
            "sink that acks every record (bench/ws_sink.py). CPU and RSS are the Locust "
            "process's own (getrusage). Goal: 10,000 connected cars per process.\n\n"
            + "\n".join(table) + "\n\nNot measured yet: the phones' overhead against a bare "
            "FastHttpUser loop at the same request rate.\n")
    print(write_doc("fleet", "Fleet capacity per Locust process", COMMAND, body).read_text())


if __name__ == "__main__":
    main()

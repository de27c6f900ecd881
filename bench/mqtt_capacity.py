"""MQTT cars per Locust process (1 record per 10 s each, QoS 1), records per CPU-second and
memory per car, measured beside the WebSocket cars in the same run on the same machine.

The MQTT cars publish to a real Mosquitto (the run's broker child, no subscriber: PUBACK
is the ack); the WebSocket cars stream to the loopback sink of bench/fleet_capacity.py.
Same CarUser, same Locust, only the profile's transport differs.

Run: .venv/bin/python -m bench.mqtt_capacity
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

from bench.common import ensure_tool, write_doc
from fleetchaos.common.child_process import start_child

COMMAND = ".venv/bin/python -m bench.mqtt_capacity"
RUN_S = 40
SIZES = (1000, 5000, 10000)


def one(transport: str, cars: int, url: str, tmp: Path, ramp: int = 500,
        run_s: int = RUN_S) -> dict[str, Any]:
    out = tmp / f"{transport}-{cars}-{ramp}"
    out.mkdir()
    config = {"seed": 1, "cars": cars, "drivers": 0, "telemetry_url": url, "api_url": url,
              "profile": "reference-mqtt" if transport == "mqtt" else "reference",
              "telemetry": {"interval_s": 10.0, "asleep_share": 0.0}}
    env = dict(os.environ, FLEETCHAOS_FLEET_CONFIG=json.dumps(config), FLEET_BENCH_OUT=str(out))
    proc = subprocess.run([sys.executable, "-m", "locust", "-f",
                    str(Path(__file__).with_name("mqtt_locustfile.py")), "--headless",
                    "-u", str(cars), "-r", str(ramp), "-t", f"{run_s}s", "--host", "http://127.0.0.1:9",
                    "--only-summary", "--loglevel", "ERROR", "--stop-timeout", "1"],
                   env=env, capture_output=True, timeout=run_s + 180, check=False)
    parts = [json.loads(f.read_text()) for f in out.glob("*.json")]
    if not parts:  # Locust did not get to its end: say why rather than print a row of zeros
        sys.exit(f"{transport} {cars} cars: Locust exited {proc.returncode} without figures: "
                 f"{proc.stderr.decode(errors='replace')[-2000:]}")
    connects = [json.loads(f.read_text()) for f in out.glob("*.connects")]
    cpu = sum(p["cpu_s"] for p in parts)
    sent = sum(p["fleet"]["telemetry_sent"] for p in parts)
    rss_kb = sum(p["max_rss_kb"] for p in parts)
    return {"transport": transport, "cars": cars,
            "peak_connected": sum(p["fleet"].get("peak_connected", 0) for p in parts),
            "ramp": ramp, "run_s": run_s,
            "connects": sum(c["requests"] for c in connects),
            "connects_failed": sum(c["failures"] for c in connects),
            "acked_per_s": sum(p["fleet"]["telemetry_acked"] for p in parts) / run_s,
            "records_per_cpu_s": sent / max(cpu, 1e-9), "cpu_share": cpu / run_s,
            "rss_mb": rss_kb / 1024, "kb_per_car": rss_kb / cars}


def main() -> None:
    ensure_tool("mosquitto", "mosquitto")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the broker inherits it
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from fleetchaos import mqtt_broker

    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, \
            start_child("ws sink", [sys.executable, "-m", "bench.ws_sink"]) as sink:
        for cars in SIZES:
            with mqtt_broker.run_in_subprocess(Path(tmp) / f"broker-{cars}") as broker:
                rows.append(one("mqtt", cars, broker.url, Path(tmp)))
            print(rows[-1], flush=True)
            rows.append(one("websocket", cars, sink.url, Path(tmp)))
            print(rows[-1], flush=True)
        # the same 10,000 MQTT cars, ramped up five times slower (a smaller connect storm)
        with mqtt_broker.run_in_subprocess(Path(tmp) / "broker-slow") as broker:
            rows.append(one("mqtt", SIZES[-1], broker.url, Path(tmp), ramp=100, run_s=140))
        print(rows[-1], flush=True)
    table = ["| transport | cars | ramp (cars/s) | run s | peak connected | connects (failed) |"
             " acked records/s | records per CPU-second | CPU (cores) | RSS MB | KB per car |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| {r['transport']} | {r['cars']:,} | {r['ramp']} | {r['run_s']} | "
                     f"{r['peak_connected']:,} | {r['connects']:,} ({r['connects_failed']:,}) | "
                     f"{r['acked_per_s']:,.0f} | {r['records_per_cpu_s']:,.0f} | "
                     f"{r['cpu_share']:.2f} | {r['rss_mb']:,.0f} | {r['kb_per_car']:.0f} |")
    body = (f"`CarUser` only, one Locust process, 1 record per 10 s per car, 20 fields, {RUN_S} s "
            "per row including a ramp of 500 cars/s (the last row: 100 cars/s over 140 s). "
            "A car whose CONNACK does not come within 10 s backs off (1 s doubling), so a "
            "connect storm on a starved CPU leaves cars waiting to retry. "
            "MQTT: profile reference-mqtt (QoS 1, "
            "MQTT 3.1.1, keep-alive 30 s, one paho client per car run by libev watchers, "
            "no greenlet of its own; telemetry PUBLISHes built by the car's link) "
            "publishing to Mosquitto 2 with no subscriber, so the broker's PUBACK is the ack. "
            "WebSocket: profile reference against the loopback sink of bench/ws_sink.py. Rows "
            "alternate on the same machine in the same run. CPU is the Locust process's own "
            "(getrusage); RSS its peak. The broker's own CPU is not counted. Load average "
            f"(1 min) {load_before:.1f} before and {os.getloadavg()[0]:.1f} after: other work "
            "shared the machine, so compare the rows with each other. Goal (issue 26): at "
            "least 3,200 records per CPU-second with 10,000 MQTT cars at 500 cars/s (0.8 x "
            "the WebSocket goal of 4,000).\n\n"
            + "\n".join(table) + "\n")
    mqtt_rows = [r for r in rows if r["transport"] == "mqtt"]
    top = [r for r in mqtt_rows if r["cars"] == SIZES[-1]]
    ws = next(r for r in rows if r["transport"] == "websocket" and r["cars"] == SIZES[-1])
    peaks = ", ".join(f"{r['peak_connected']:,} at {r['ramp']} cars/s" for r in top)
    headline = (f"MQTT: of {SIZES[-1]:,} MQTT cars in one Locust process **{peaks}** were "
                f"connected at the peak ({top[0]['kb_per_car']:.0f} KB per car, "
                f"{top[0]['records_per_cpu_s']:,.0f} records per CPU-second; WebSocket cars "
                f"in the same run: {ws['peak_connected']:,} connected, "
                f"{ws['kb_per_car']:.0f} KB, {ws['records_per_cpu_s']:,.0f})")
    print(write_doc("mqtt", "MQTT cars per Locust process, beside WebSocket cars", COMMAND,
                    body, headline).read_text())


if __name__ == "__main__":
    main()

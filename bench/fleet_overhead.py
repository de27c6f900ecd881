"""The fleet's overhead against a bare FastHttpUser loop at the same request rate: CPU
seconds per request in the Locust process, same loopback sink, same users.

Run: .venv/bin/python -m bench.fleet_overhead
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

COMMAND = ".venv/bin/python -m bench.fleet_overhead"
USERS = 50
PER_USER_RPS = 10.0
RUN_S = 30
REPEATS = 2
LOCUSTFILE = Path(__file__).with_name("overhead_locustfile.py")


def run(mode: str, url: str, tmp: Path, attempt: int = 0) -> dict:
    out = tmp / f"{mode}-{attempt}.json"
    env = dict(os.environ, OVERHEAD_MODE=mode, OVERHEAD_OUT=str(out),
               OVERHEAD_PER_USER_RPS=str(PER_USER_RPS))
    if mode == "fleet":
        # one unlock per need; needs at PER_USER_RPS per driver (seeded exponential gaps)
        env["FLEETCHAOS_FLEET_CONFIG"] = json.dumps({
            "seed": 1, "cars": 0, "drivers": USERS, "profile": "generic-rest", "api_url": url,
            "telemetry_url": url, "need_interval_s": 1.0 / PER_USER_RPS})
    subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
                    "-u", str(USERS), "-r", str(USERS), "-t", f"{RUN_S}s", "--host", url,
                    "--only-summary", "--loglevel", "ERROR"],
                   env=env, capture_output=True, timeout=RUN_S + 60, check=False)
    data = json.loads(out.read_text())
    data["cpu_ms_per_request"] = 1000 * data["cpu_s"] / max(1, data["requests"])
    data["rps"] = data["requests"] / RUN_S
    return data


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            start_child("http sink", [sys.executable, "-m", "bench.http_sink"]) as sink:
        # alternate the two loops and keep each one's best (least disturbed) run
        bares, fleets = [], []
        for attempt in range(REPEATS):
            bares.append(run("bare", sink.url, Path(tmp), attempt))
            fleets.append(run("fleet", sink.url, Path(tmp), attempt))
        bare = min(bares, key=lambda r: r["cpu_ms_per_request"])
        fleet = min(fleets, key=lambda r: r["cpu_ms_per_request"])
    overhead = fleet["cpu_ms_per_request"] / bare["cpu_ms_per_request"] - 1
    rows = ["| loop | requests/s | failures | CPU ms per request |", "|---|---:|---:|---:|",
            f"| bare FastHttpUser (POST /x) | {bare['rps']:,.0f} | {bare['failures']} | "
            f"{bare['cpu_ms_per_request']:.3f} |",
            f"| fleet DriverUser (generic-rest unlock journeys) | {fleet['rps']:,.0f} | "
            f"{fleet['failures']} | {fleet['cpu_ms_per_request']:.3f} |"]
    body = (f"{USERS} users at about {PER_USER_RPS:g} requests/s each for {RUN_S} s, each loop "
            f"run {REPEATS} times alternately and its least-CPU run kept, against a "
            "loopback aiohttp sink (bench/http_sink.py); CPU is the Locust process's own "
            "(getrusage), divided by the requests it made. The fleet's requests are whole "
            "driver journeys (need → unlock → outcome event), seeded exponential needs, so "
            "its rate only approximates the bare loop's.\n\n"
            f"Fleet overhead per request against the bare loop: **{overhead:+.0%}** "
            "(goal: no more than +15 %).\n\n" + "\n".join(rows) + "\n")
    print(write_doc("fleet-overhead", "Fleet overhead against a bare FastHttpUser loop",
                    COMMAND, body).read_text())


if __name__ == "__main__":
    main()

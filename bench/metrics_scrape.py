"""What /metrics costs a run: scrapes of a real run, and the journal read behind the SLO
figures as the run grows.

    .venv/bin/python -m bench.metrics_scrape [--scenario api-latency] [--cars 60]

Part 1 runs the scenario (`fleetchaos run --metrics-port`, built-in Toxiproxy and
reference backend) and scrapes it once a second as Prometheus would. Each page is read
back by prometheus_client's parser, and the bench records how long each scrape took.

Part 2 times the journal read behind the SLO figures (``judge_journal``: read the
journal, then ``build_summary``). It uses that run's journal, repeated to the length of
longer runs: header kept, samples and drivers shifted by whole run lengths, phases
stretched to match. From that cost it gives the refresh interval ``RunSource`` would
use. Writes docs/benchmarks/metrics.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import write_doc
from fleetchaos.locust_app.metrics_source import BUDGET_FACTOR, MIN_REFRESH_S, judge_journal

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape_run(scenario: str, cars: int, tmp: Path) -> tuple[list[float], list[int], Path]:
    from prometheus_client.parser import text_string_to_metric_families

    port = free_port()
    journal = tmp / "run.jsonl"
    env = dict(os.environ)
    env.pop("TOXIPROXY_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fleetchaos.cli", "run", scenario, "--set", f"fleet.cars={cars}",
         "--set", f"fleet.drivers={cars}", "--metrics-port", str(port), "--no-live",
         "--out", str(tmp), "--journal", str(journal)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    times: list[float] = []
    series: list[int] = []
    url = f"http://127.0.0.1:{port}/metrics"
    next_at = time.monotonic()
    while proc.poll() is None:
        next_at += 1.0
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                text = response.read().decode("utf-8")
        except OSError:  # not up yet, or the run has just ended
            pass
        else:
            times.append(time.perf_counter() - start)
            series.append(sum(len(f.samples) for f in text_string_to_metric_families(text)))
        time.sleep(max(0.0, next_at - time.monotonic()))
    _, err = proc.communicate()
    if proc.returncode not in (0, 1):
        sys.exit(f"the run failed (exit {proc.returncode}): {err.strip()[-500:]}")
    return times, series, journal


def stretched(records: list[dict[str, Any]], copies: int) -> list[dict[str, Any]]:
    """The journal of a run ``copies`` times as long (mid-run: no slo/summary/cleanup)."""
    header = next(r for r in records if r["type"] == "header")
    length = float(header["duration_s"])
    head = dict(header, duration_s=length * copies,
                phases=[dict(p, start_s=p["start_s"] * copies, end_s=p["end_s"] * copies)
                        for p in header.get("phases", [])])
    body = [r for r in records if r["type"] in ("sample", "driver")]
    out = [head] + [r for r in records if r["type"] in ("schedule", "step")]
    for i in range(copies):
        for r in body:
            shifted = dict(r, t=r["t"] + i * length)
            for key in ("need_started_s", "need_ended_s"):
                if key in shifted:
                    shifted[key] = shifted[key] + i * length
            out.append(shifted)
    return out


def read_cost(path: Path, repeats: int = 3) -> float:
    costs = []
    for _ in range(repeats):
        start = time.perf_counter()
        judge_journal(str(path))
        costs.append(time.perf_counter() - start)
    return statistics.median(costs)


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenario", default="api-latency")
    parser.add_argument("--cars", type=int, default=60)
    args = parser.parse_args()
    from fleetchaos.scenarios.journal import read_journal

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        times, series, journal = scrape_run(args.scenario, args.cars, tmp)
        if not times:
            sys.exit("no scrape succeeded")
        records = read_journal(journal)
        length = float(next(r for r in records if r["type"] == "header")["duration_s"])
        rows = []
        for minutes in (1, 10, 60, 180):
            copies = max(1, round(minutes * 60 / length))
            path = tmp / f"x{copies}.jsonl"
            with path.open("w") as f:
                for r in stretched(records, copies):
                    f.write(json.dumps(r) + "\n")
            cost = read_cost(path)
            refresh = max(MIN_REFRESH_S, BUDGET_FACTOR * cost)
            rows.append(f"| {copies * length / 60:.0f} min | {path.stat().st_size / 1e6:.1f} MB | "
                        f"{cost * 1000:.0f} | {refresh:.1f} |")
    body = (
        f"`fleetchaos run {args.scenario}` with {args.cars} cars and {args.cars} drivers "
        "(built-in Toxiproxy and reference backend, one Locust process), scraped once a "
        f"second from another process: {len(times)} scrapes, each page read back by "
        "prometheus_client's parser.\n\n"
        "| scrape (GET /metrics, client side) | median ms | p95 ms | max ms | series per page |\n"
        "|---|---|---|---|---|\n"
        f"| {len(times)} scrapes | {statistics.median(times) * 1000:.1f} | {ms(times, 0.95):.1f} "
        f"| {max(times) * 1000:.1f} | {min(series)}-{max(series)} |\n\n"
        "The SLO figures come from re-reading the journal (`judge_journal`: read it, "
        "then `build_summary`). This runs in a thread of gevent's pool, off the scrape's "
        "path. The table below is that run's journal repeated to the length of longer "
        "runs. Phases are stretched to match, and the summary records are left out "
        "because the run is still going. The last column is how often `RunSource` "
        f"re-reads the journal at that length: `max({MIN_REFRESH_S:g} s, "
        f"{BUDGET_FACTOR:g} x the read's cost)`. It keeps the reads to about "
        f"1/{BUDGET_FACTOR:g} of the master's time, however often Prometheus scrapes; "
        "the SLO figures lag by up to that interval.\n\n"
        "| run length | journal | journal read ms (median of 3) | SLO refresh every s |\n"
        "|---|---|---|---|\n" + "\n".join(rows) + "\n")
    write_doc("metrics", "What /metrics costs a run",
              f"python -m bench.metrics_scrape --scenario {args.scenario} --cars {args.cars}",
              body)
    print(body)


if __name__ == "__main__":
    main()

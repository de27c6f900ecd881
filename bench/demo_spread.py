"""How much the demo's verdict moves between identical runs: the demo scenario five times
with its own seed (2021), through `fleetchaos run --repeat`, and per SLO the spread of
the observed value and how many of the five runs agree on the verdict.

The same seed gives the same fleet (identities, needs, cohorts, draws); what still moves
is the real backend on a real, shared scheduler. The doc says where a threshold sits
inside the observed spread (a verdict at the edge of what the machine can tell) rather
than tuning thresholds until they pass, and records the load average the runs shared
the machine with.

Run: .venv/bin/python -m bench.demo_spread   (about 6 minutes)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import write_doc
from fleetchaos.cli.main import DEMO_SCENARIO
from fleetchaos.runs.orchestrator import RunOptions
from fleetchaos.runs.repeat import run_repeated

COMMAND = ".venv/bin/python -m bench.demo_spread"
RUNS = 5


def _num(value: Any, none: str = "no data") -> str:
    if value is None:
        return none
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def reading(slo: dict[str, Any], recovery: list[str]) -> str:
    """What the spread says about this SLO's verdict."""
    spread, threshold = slo.get("spread"), float(slo["threshold"])
    if slo["agree"] < slo["runs"]:
        return "verdict moves between runs: the threshold is inside the noise"
    if spread and spread["min"] <= threshold <= spread["max"]:
        return "same verdict, but the threshold lies within the observed spread: fragile"
    held = slo["passed_runs"] == slo["runs"]
    verdict = "held in every run" if held else "breached in every run"
    if slo["metric"] == "recovery_s" and not held:
        counts = {st: recovery.count(st) for st in dict.fromkeys(recovery)}
        verdict += " (" + ", ".join(f"{st} {n}/{len(recovery)}" for st, n in counts.items()) + ")"
    if spread:
        gap = min(abs(spread["min"] - threshold), abs(spread["max"] - threshold))
        width = spread["max"] - spread["min"]
        if width > 0 and gap < width:
            verdict += ("; the threshold is closer to the observations than their own spread: "
                        "at the edge of what this machine can tell, it could flip elsewhere")
    return verdict


def body(agg: dict[str, Any], load: tuple[float, float], wall_s: float) -> str:
    lines = [
        f"Scenario `{agg['scenario']}` (`make demo`), seed {agg['seed']}, {agg['repeat']} runs "
        f"one after another, {wall_s:.0f} s of wall time. Verdict rule for the repeat: "
        f"{'every run must pass' if agg['rule'] == 'all' else 'a majority must pass'}.",
        "",
        f"The machine was shared: load average {load[0]:.1f} when the runs started and "
        f"{load[1]:.1f} when they ended, on {os.cpu_count()} cores (other work ran "
        "alongside). On a quiet machine the spread is expected to be smaller.",
        "",
        "| SLO | threshold | median | min | max | median margin | passed | verdicts agree | reading |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in agg["slos"]:
        spread = s.get("spread") or {}
        lines.append(
            f"| {s['name']} | {s['op']} {_num(s['threshold'])} | {_num(s['median'])} | "
            f"{_num(spread.get('min'))} | {_num(spread.get('max'))} | {_num(s['margin'], '-')} | "
            f"{s['passed_runs']}/{s['runs']} | {s['agree']}/{s['runs']} | "
            f"{reading(s, agg['recovery']['statuses'])} |")
    statuses = agg["recovery"]["statuses"]
    seconds = agg["recovery"]["seconds"]
    lines += [
        "",
        "Recovery per run (from the canary): " + ", ".join(
            f"{st} ({_num(sec)} s)" if sec is not None else str(st)
            for st, sec in zip(statuses, seconds, strict=False)) + ".",
        "",
        "Margin is the distance from the threshold in the metric's unit, positive on the "
        "passing side (\"-\": no run had one, as when no run recovered). The demo's "
        "flood is meant to breach its SLOs; what matters here is "
        "whether each SLO gives the same verdict every time. A not-recovered run's "
        "recovery figure is how long the run went on after the flood (a lower bound).",
    ]
    return "\n".join(lines)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="demo-spread-") as tmp:
        opts = RunOptions(scenario=DEMO_SCENARIO, out_dir=Path(tmp), live=False)
        load_start = os.getloadavg()[0]
        start = time.monotonic()
        code, agg = run_repeated(opts, RUNS, "all", Path(tmp) / "repeat.json")
        wall_s = time.monotonic() - start
        load_end = os.getloadavg()[0]
    if code not in (0, 1):
        print(f"the runs did not complete (exit {code}); nothing written", file=sys.stderr)
        return code
    same = sum(1 for s in agg["slos"] if s["agree"] == s["runs"])
    headline = (f"demo, {RUNS} runs with seed {agg['seed']}: {same} of {len(agg['slos'])} SLOs "
                f"gave the same verdict in every run")
    path = write_doc("demo-spread", "Demo verdict spread over repeated runs", COMMAND,
                     body(agg, (load_start, load_end), wall_s), headline)
    print(f"{headline}\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

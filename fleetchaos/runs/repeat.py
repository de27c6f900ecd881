"""`fleetchaos run SCENARIO --repeat N`: the same scenario N times with the same seed.

One run's verdict mixes the system under test with the noise of a shared machine: the
same seed gives the same fleet (identities, needs, cohorts, draws), but a real backend
on a real scheduler answers a little differently each time. Repeating says which part
is noise: per SLO, the median of the observations, their spread (min and max), the
median margin (distance from the threshold, positive on the passing side; "-" when no
run had one, as a recovery that did not happen) and how many runs passed.

Verdict rule (``--pass-rule``): ``all`` (default) passes an SLO only when every run
passed it; ``majority`` when more than half did. The repeat passes when every SLO
passes under the rule.

Samples pool (issue 22): each SLO's ``samples`` is the sum of the runs'. An SLO that
lacked data in some run (``insufficient``) is judged on the pool when the pool has its
``min_samples``: a ratio on the ratio of all the runs' observations (their ratios
weighted by their samples), another metric on the median run, and under ``all`` a run
that failed it still fails it; with too few samples even pooled it stays
``insufficient``. Exit codes: 0 the rule held, 1 it did not, 4 an SLO lacked data even
pooled (and none failed), 3 a run failed in the harness (the figures are then
incomplete), 2 bad input (before any run starts).
The aggregate is written as JSON (``--summary``, else ``<out>/repeat-<id>.summary.json``)
in the shape ``fleetchaos compare`` reads (``median``, ``spread``, ``observations``).
"""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleetchaos.common.errors import (
    EXIT_BREACH,
    EXIT_HARNESS,
    EXIT_NO_EFFECT,
    EXIT_PASS,
    UsageError,
)

PASS_RULES = ("all", "majority")


def _rule_passes(rule: str, passed: int, runs: int) -> bool:
    return passed == runs if rule == "all" else passed * 2 > runs


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def aggregate(summaries: list[dict[str, Any]], rule: str = "all") -> dict[str, Any]:
    """Per-SLO statistics over the runs' summaries (pure: the benchmark uses it too)."""
    if rule not in PASS_RULES:
        raise ValueError(f"pass rule must be one of {', '.join(PASS_RULES)}")
    runs = len(summaries)
    first = summaries[0] if summaries else {}
    slos: list[dict[str, Any]] = []
    for i, slo in enumerate(first.get("slos", [])):
        per_run = [(s.get("slos") or [])[i] if i < len(s.get("slos") or []) else {}
                   for s in summaries]
        observed = [float(r["observed"]) for r in per_run
                    if isinstance(r.get("observed"), int | float)]
        margins = [float(r["margin"]) for r in per_run if isinstance(r.get("margin"), int | float)]
        passed = sum(1 for r in per_run if r.get("passed"))
        pooled = _pooled(slo, per_run, rule, passed, runs)
        slos.append({
            "name": slo.get("name"), "phase": slo.get("phase"), "metric": slo.get("metric"),
            "op": slo.get("op"), "threshold": slo.get("threshold"),
            "median": _median(observed),
            "spread": {"min": min(observed), "max": max(observed)} if observed else None,
            "observations": [r.get("observed") for r in per_run],
            "margin": _median(margins), "passed_runs": passed, "runs": runs,
            "agree": max(passed, runs - passed),
            **pooled,
            "details": sorted({str(r["detail"]) for r in per_run if r.get("detail")}),
        })
    recoveries = [s.get("recovery") or {} for s in summaries]
    return {
        "scenario": first.get("scenario"), "title": first.get("title"),
        "seed": first.get("seed"), "repeat": runs, "rule": rule,
        "verdict": ("fail" if not slos or any(s["status"] == "fail" for s in slos) else
                    "insufficient" if any(s["status"] == "insufficient" for s in slos)
                    else "pass"),
        "slos": slos,
        "recovery": {"statuses": [r.get("status") for r in recoveries],
                     "seconds": [r.get("seconds") for r in recoveries]},
        "runs": [{"run_id": s.get("run_id"), "verdict": s.get("verdict"),
                  "duration_s": s.get("duration_s"), "journal": s.get("journal")}
                 for s in summaries],
    }


def _pooled(slo: dict[str, Any], per_run: list[dict[str, Any]], rule: str, passed: int,
            runs: int) -> dict[str, Any]:
    """``samples`` summed over the runs, and the SLO's status on the pool (see above)."""
    counts = [int(r["samples"]) for r in per_run if isinstance(r.get("samples"), int)]
    samples = sum(counts) if counts else None
    minimum = next((int(r["min_samples"]) for r in per_run
                    if isinstance(r.get("min_samples"), int)), None)
    short = [r for r in per_run if r.get("status") == "insufficient"]
    out: dict[str, Any] = {"samples": samples, "min_samples": minimum}
    if not short:
        ok = _rule_passes(rule, passed, runs)
        return {**out, "status": "pass" if ok else "fail", "passed": ok}
    if samples is None or minimum is None or samples < minimum:
        return {**out, "status": "insufficient", "passed": False}
    weighted = [(float(r["observed"]), int(r["samples"])) for r in per_run
                if isinstance(r.get("observed"), int | float) and isinstance(r.get("samples"), int)]
    observed = [v for v, _n in weighted]
    pool = sum(n for _v, n in weighted)
    if str(slo.get("metric", "")).endswith("_ratio") and pool > 0:
        value: float | None = sum(v * n for v, n in weighted) / pool
    else:
        value = statistics.median(observed) if observed else None
    threshold = float(slo.get("threshold") or 0.0)
    holds = value is not None and (value >= threshold if slo.get("op") == ">="
                                   else value <= threshold)
    failed_run = any(r.get("status") == "fail" for r in per_run) and rule == "all"
    ok = holds and not failed_run
    return {**out, "pooled": None if value is None else round(value, 4),
            "status": "pass" if ok else "fail", "passed": ok}


def _fmt(value: Any, none: str = "no data") -> str:
    if value is None:
        return none
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render(agg: dict[str, Any]) -> str:
    """The aggregate as a plain table: one line per SLO."""
    rule = ("every run must pass" if agg["rule"] == "all"
            else "more than half of the runs must pass")
    lines = [f"{agg['scenario']}: {agg['repeat']} runs, seed {agg['seed']}; rule: {rule}",
             f"{'SLO':<52} {'median':>9} {'min':>9} {'max':>9} {'margin':>9} {'passed':>7} "
             f"{'samples':>8}"]
    for s in agg["slos"]:
        spread = s["spread"] or {}
        name = str(s["name"])[:52]
        short = " insufficient" if s.get("status") == "insufficient" else ""
        lines.append(f"{name:<52} {_fmt(s['median']):>9} {_fmt(spread.get('min')):>9} "
                     f"{_fmt(spread.get('max')):>9} {_fmt(s['margin'], '-'):>9} "
                     f"{s['passed_runs']:>3}/{s['runs']:<3} {_fmt(s.get('samples'), '-'):>8}"
                     f"{short}")
    lines.append(f"verdict: {agg['verdict'].upper()} "
                 f"({sum(1 for s in agg['slos'] if s['passed'])}/{len(agg['slos'])} SLOs "
                 "under the rule)")
    return "\n".join(lines)


def run_repeated(opts: Any, times: int, rule: str = "all",
                 summary_path: Path | None = None) -> tuple[int, dict[str, Any]]:
    """Run ``opts`` ``times`` times with one seed; return (exit code, aggregate)."""
    from fleetchaos.runs.orchestrator import execute, load_validated_scenario
    from fleetchaos.scenarios.fault_control import new_run_id

    if times < 1:
        raise UsageError(f"--repeat must be at least 1, got {times}")
    if rule not in PASS_RULES:
        raise UsageError(f"--pass-rule must be one of {', '.join(PASS_RULES)}, got {rule!r}")
    for name in ("journal", "junit", "html", "markdown"):
        if getattr(opts, name, None) is not None:
            raise UsageError(f"--{name} names one run; with --repeat each run keeps its own "
                             f"journal in {opts.out_dir} (render one with `fleetchaos report`)")
    seed = opts.seed if opts.seed is not None else load_validated_scenario(opts).seed
    summaries: list[dict[str, Any]] = []
    harness_failed = False
    for k in range(times):
        one = replace(opts, run_id=new_run_id(), seed=seed, journal=None, summary=None,
                      junit=None, html=None, markdown=None, quiet=True, live=False)
        result = execute(one)
        summary = dict(result.summary or {"verdict": "incomplete", "slos": []})
        summary["journal"] = str(result.journal) if result.journal else None
        summaries.append(summary)
        harness_failed = harness_failed or result.exit_code == EXIT_HARNESS
        verdict = summary.get("verdict")
        recovery = (summary.get("recovery") or {}).get("text") or "no recovery figure"
        print(f"run {k + 1}/{times}: {verdict} (exit {result.exit_code}; {recovery}; journal "
              f"{summary['journal']})", flush=True)
        if result.exit_code == EXIT_HARNESS and result.message and not result.announced:
            print(f"fleetchaos: run {k + 1}: {result.message}", file=sys.stderr)
    agg = aggregate(summaries, rule)
    print(render(agg))
    path = summary_path or opts.out_dir / f"repeat-{summaries[0].get('run_id') or 'run'}.summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(agg, indent=2) + "\n")
    print(f" summary: {path}")
    if harness_failed:
        return EXIT_HARNESS, agg
    code = {"pass": EXIT_PASS, "insufficient": EXIT_NO_EFFECT}.get(agg["verdict"], EXIT_BREACH)
    if code == EXIT_NO_EFFECT:
        thin = [f"{s['name']} ({s.get('samples') or 0} of {s.get('min_samples')} samples)"
                for s in agg["slos"] if s["status"] == "insufficient"]
        print(f"fleetchaos: insufficient: {len(thin)} SLO(s) lacked data even pooled over "
              f"{times} runs: {'; '.join(thin)}", file=sys.stderr)
    return code, agg

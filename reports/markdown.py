"""Markdown for CI step summaries (e.g. $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from fleetchaos.reports.format import count_5xx, num, observed, pct, phase_unlock_ok, threshold
from fleetchaos.reports.model import RunReport


def render_markdown(report: RunReport) -> str:
    s = report.summary
    icon = {"pass": "✅", "fail": "❌"}.get(report.verdict, "⚠️")
    out = [f"## {icon} fleetchaos: {s.get('title') or s.get('scenario')}", "",
           f"Scenario `{s.get('scenario')}` · run `{s.get('run_id')}` · seed {s.get('seed')} · "
           f"verdict **{report.verdict.upper()}**", "", report.headline(), "",
           "| phase | window (s) | requests | 5xx | unlock ok | p95 ms | stranded |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for p in s.get("phases", []):
        out.append(f"| {p['name']} | {p['start_s']:g}–{p['end_s']:g} | {num(p.get('requests'))} | "
                   f"{num(count_5xx(p.get('by_status')))} | {pct(phase_unlock_ok(p))} | "
                   f"{num(p.get('p95_ms'))} | {num(p.get('stranded'))} |")
    out += ["", "| SLO | observed | threshold | |", "|---|---:|---:|---|"]
    for slo in s.get("slos", []):
        out.append(f"| {slo['name']} | {observed(slo)} | {threshold(slo)} | "
                   f"{'✅' if slo.get('passed') else '❌'} |")
    d = s.get("drivers", {})
    out += ["", f"Drivers who needed to get in: {num(d.get('needing'))} — by app "
                f"{num(d.get('app'))}, phone key {num(d.get('bluetooth'))}, key card "
                f"{num(d.get('keycard'))}, **stranded {num(d.get('stranded'))}**.", ""]
    return "\n".join(out)

"""Markdown for CI step summaries (e.g. $GITHUB_STEP_SUMMARY): pass/fail first, then the
SLOs, when and how long, the fault timeline, recovery, phases and drivers."""

from __future__ import annotations

from fleetchaos.reports.format import (
    count_5xx,
    duration_text,
    effect_text,
    num,
    observed,
    pct,
    phase_unlock_ok,
    recovery_text,
    started_text,
    threshold,
)
from fleetchaos.reports.model import RunReport


def render_markdown(report: RunReport) -> str:
    s, h = report.summary, report.header
    icon = {"pass": "✅", "fail": "❌"}.get(report.verdict, "⚠️")
    slos = s.get("slos", [])
    held = sum(1 for x in slos if x.get("passed"))
    out = [f"## {icon} {report.verdict.upper()}: {report.title}", "",
           f"**{held} of {len(slos)} SLOs held.** {report.headline()}", "",
           "| | SLO | observed | threshold |", "|---|---|---:|---:|"]
    for slo in slos:
        out.append(f"| {'✅ PASS' if slo.get('passed') else '❌ FAIL'} | {slo['name']} | "
                   f"{observed(slo)} | {threshold(slo)} |")
    out += ["", f"Run `{report.fact('run_id')}` of scenario `{report.scenario}` · "
                f"{started_text(h.get('started_at') or s.get('started_at'))} · "
                f"{duration_text(report)} · seed {report.fact('seed')}", "", "### Faults", ""]
    faults = report.faults()
    if faults:
        out += ["| on (s) | off (s) | fault | | effect |", "|---:|---:|---|---|---|"]
        for f in faults:
            out.append(f"| {f['start']:.1f} | {f['end']:.1f} | {f['label']} | "
                       f"{'by hand' if f.get('manual') else 'scheduled'} | "
                       f"{effect_text(f) or '-'} |")
    else:
        out.append("No faults were injected.")
    out += ["", f"Recovery: {recovery_text(s, short=True) or 'no fault to recover from'}.", "",
            "### Phases", "",
            "| phase | window (s) | requests | 5xx | unlock ok | p95 ms | stranded |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for p in s.get("phases", []):
        out.append(f"| {p['name']} | {p['start_s']:g}–{p['end_s']:g} | {num(p.get('requests'))} | "
                   f"{num(count_5xx(p.get('by_status')))} | {pct(phase_unlock_ok(p))} | "
                   f"{num(p.get('p95_ms'))} | {num(p.get('stranded'))} |")
    rows = report.broker_phases()
    if rows:
        out += ["", "### MQTT broker", "",
                "| phase | messages in | messages out | dropped | peak queued/inflight | "
                "clients at end |", "|---|---:|---:|---:|---:|---:|"]
        for b in rows:
            out.append(f"| {b['name']} | {num(b.get('messages_in'))} | "
                       f"{num(b.get('messages_out'))} | {num(b.get('dropped'))} | "
                       f"{num(b.get('peak_queued_inflight'))} | "
                       f"{num(b.get('clients_connected'))} |")
    d = s.get("drivers", {})
    out += ["", f"Drivers who needed to get in: {num(d.get('needing'))} — by app "
                f"{num(d.get('app'))}, phone key {num(d.get('bluetooth'))}, key card "
                f"{num(d.get('keycard'))}, **stranded {num(d.get('stranded'))}**.", ""]
    return "\n".join(out)

"""Markdown for CI step summaries (e.g. $GITHUB_STEP_SUMMARY): pass/fail first, then the
SLOs, when and how long, the fault timeline, recovery, phases and drivers."""

from __future__ import annotations

from fleetchaos.reports.format import (
    SLO_MARKS,
    count_5xx,
    effect_text,
    num,
    observed,
    pct,
    phase_unlock_ok,
    recovery_text,
    slo_status,
    started_text,
    threshold,
    verdict_reason,
)
from fleetchaos.reports.run.report import RunReport, duration_text

MARK_ICONS = {"PASS": "✅", "FAIL": "❌"}


def render_markdown(report: RunReport) -> str:
    s, h = report.summary, report.header
    icon = {"pass": "✅", "fail": "❌"}.get(report.verdict, "⚠️")
    out = [f"## {icon} {report.verdict.upper()}: {report.title}", "",
           f"**{s.slos_held} of {len(s.slos)} SLOs held.** {report.headline()}", "",
           *([f"> **{verdict_reason(s)}**", ""] if report.verdict == "error"
             and verdict_reason(s) else []),
           "| | SLO | observed | threshold |", "|---|---|---:|---:|"]
    for slo in s.slos:
        mark = SLO_MARKS[slo_status(slo)]
        out.append(f"| {MARK_ICONS.get(mark, '⚪')} {mark} | {slo.name} | "
                   f"{observed(slo)} | {threshold(slo)} |")
    out += ["", f"Run `{report.run_id}` of scenario `{report.scenario}` · "
                f"{started_text(h.started_at)} · {duration_text(report)} · seed {report.seed}",
            "", "### Faults", ""]
    faults = report.faults()
    if faults:
        out += ["| on (s) | off (s) | fault | | effect |", "|---:|---:|---|---|---|"]
        for f in faults:
            out.append(f"| {f.start:.1f} | {f.end:.1f} | {f.label} | "
                       f"{'by hand' if f.manual else 'scheduled'} | "
                       f"{effect_text(f.effect, manual=f.manual) or '-'} |")
    else:
        out.append("No faults were injected.")
    out += ["", f"Recovery: {recovery_text(s, short=True) or 'no fault to recover from'}.", "",
            "### Phases", "",
            "| phase | window (s) | requests | 5xx | unlock ok | p95 ms | stranded |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for p in s.phases:
        out.append(f"| {p.name} | {p.start_s:g}–{p.end_s:g} | {num(p.requests)} | "
                   f"{num(count_5xx(p.by_status))} | {pct(phase_unlock_ok(p))} | "
                   f"{num(p.p95_ms)} | {num(p.stranded)} |")
    rows = report.broker_phases()
    if rows:
        out += ["", "### MQTT broker", "",
                "| phase | messages in | messages out | dropped | peak queued/inflight | "
                "clients at end |", "|---|---:|---:|---:|---:|---:|"]
        for b in rows:
            out.append(f"| {b.name} | {num(b.messages_in)} | {num(b.messages_out)} | "
                       f"{num(b.dropped)} | {num(b.peak_queued_inflight)} | "
                       f"{num(b.clients_connected)} |")
    d = s.drivers
    out += ["", f"Drivers who needed to get in: {num(d.needing)} — by app "
                f"{num(d.app)}, phone key {num(d.bluetooth)}, key card "
                f"{num(d.keycard)}, **stranded {num(d.stranded)}**.", ""]
    return "\n".join(out)

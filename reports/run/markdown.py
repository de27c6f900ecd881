"""Markdown for CI step summaries (e.g. $GITHUB_STEP_SUMMARY): pass/fail first, then the
SLOs (observed, samples), the run's configuration, the fault timeline, recovery, phases
with the run's totals, telemetry and bytes, each action per phase, and drivers. Every
figure is the summary's, worded as the terminal report words it."""

from __future__ import annotations

from fleetchaos.reports.format import (
    config_items,
    delivery_text,
    effect_text,
    normal_text,
    num,
    observed,
    pct,
    recovery_text,
    samples,
    size,
    slo_mark,
    started_text,
    statuses,
    threshold,
    verdict_reason,
)
from fleetchaos.reports.run.report import RunReport, duration_text

MARK_ICON = {"PASS": "✅", "FAIL": "❌", "INSUFFICIENT": "⚠️", "NOT JUDGED": "⚪"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(report: RunReport) -> str:
    s, h = report.summary, report.header
    icon = {"pass": "✅", "fail": "❌"}.get(report.verdict, "⚠️")
    out = [f"## {icon} {report.verdict.upper()}: {report.title}", "",
           f"**{s.slos_held} of {len(s.slos)} SLOs held.** {report.headline()}", ""]
    reason = verdict_reason(s)  # why (a harness failure: which child died, when)
    if reason:
        out += [f"> **{reason}**" if report.verdict == "error" else f"Verdict: {reason}", ""]
    out += ["| | SLO | observed | samples | threshold |", "|---|---|---:|---:|---:|"]
    for slo in s.slos:
        mark = slo_mark(slo)
        out.append(f"| {MARK_ICON.get(mark, '')} {mark} | {_cell(slo.name)} | "
                   f"{observed(slo)} | {samples(slo)} | {threshold(slo)} |")
    out += ["", f"Run `{report.run_id}` of scenario `{report.scenario}` · "
                f"{started_text(h.started_at)} · {duration_text(report)}",
            "", "### Configuration", "", "| setting | value |", "|---|---|"]
    out += [f"| {what} | {_cell(value)} |" for what, value in config_items(s.config)]
    out += ["", "### Faults", ""]
    faults = report.faults()
    if faults:
        out += ["| on (s) | off (s) | fault | | effect |", "|---:|---:|---|---|---|"]
        judged = {str(f.step): f for f in s.faults}
        for f in faults:
            late = judged[f.step].timing_note if f.step in judged else None
            delivery = delivery_text(judged.get(f.step))  # asked vs delivered (issue 22)
            effect = "; ".join(x for x in (effect_text(f.effect, manual=f.manual), delivery, late)
                               if x)
            out.append(f"| {f.start:.1f} | {f.end:.1f} | {_cell(f.label)} | "
                       f"{'by hand' if f.manual else 'scheduled'} | {_cell(effect or '-')} |")
    else:
        out.append("No faults were injected.")
    out += ["", f"Recovery: {recovery_text(s, short=True) or 'no fault to recover from'}.", "",
            "### Phases", "",
            "| phase | window (s) | requests | failed | normal | 5xx (phone API) | unlock ok | "
            "unlock p95 ms | stranded drivers |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for p in s.phases:
        out.append(f"| {_cell(p.name)} | {p.start_s:g}–{p.end_s:g} | {num(p.requests)} | "
                   f"{num(p.failures)} | {num(_sum(p.normal))} | {num(p.errors_5xx)} | "
                   f"{pct(p.unlock_success_ratio)} | {num(p.unlock_p95_ms)} | "
                   f"{num(p.stranded)} |")
    t = s.totals
    if t is not None:
        out.append(f"| **run** | 0–{num(s.duration_s)} | **{num(t.requests)}** | "
                   f"**{num(t.failures)}** | **{num(_sum(t.normal))}** | "
                   f"**{num(t.errors_5xx)}** | **{pct(t.unlock_success_ratio)}** | "
                   f"**{num(t.unlock_p95_ms)}** | **{num(s.drivers.stranded_drivers)}** |")
    normal = normal_text(t.normal if t else None, h.target)
    out += ["", "Failed excludes the answers the profile declares normal"
                + (f" ({normal})." if normal else ".")]
    out += ["", "### Telemetry and payload bytes", "",
            "| phase | records sent | acked | resent | dropped | bytes sent | bytes received |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    rows = [(p.name, p.telemetry, p.bytes_sent, p.bytes_received) for p in s.phases]
    if t is not None:
        rows.append(("**run**", t.telemetry, t.bytes_sent, t.bytes_received))
    for name, tel, sent, received in rows:
        out.append(f"| {_cell(name)} | {num(tel.sent if tel else None)} | "
                   f"{num(tel.acked if tel else None)} | {num(tel.resent if tel else None)} | "
                   f"{num(tel.dropped if tel else None)} | {size(sent)} | {size(received)} |")
    out += ["", "Bytes: request bodies and telemetry records sent, response bodies received.",
            "", "<details><summary>Actions per phase (response times in ms, within each "
                "phase)</summary>", "",
            "| phase | action | reqs | failed | avg | min | med | max | p90 | p95 | answers |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for p in s.phases:
        for action, a in sorted(p.by_action.items(), key=lambda kv: (-kv[1].requests, kv[0])):
            out.append(f"| {_cell(p.name)} | {_cell(action)} | {num(a.requests)} | "
                       f"{num(a.failures)} | {num(a.avg_ms)} | {num(a.min_ms)} | "
                       f"{num(a.p50_ms)} | {num(a.max_ms)} | {num(a.p90_ms)} | "
                       f"{num(a.p95_ms)} | {statuses(a.by_status, limit=6)} |")
    out += ["", "</details>"]
    rows_b = report.broker_phases()
    if rows_b:
        out += ["", "### MQTT broker", "",
                "| phase | messages in | messages out | dropped | peak queued/inflight | "
                "clients at end |", "|---|---:|---:|---:|---:|---:|"]
        for b in rows_b:
            out.append(f"| {b.name} | {num(b.messages_in)} | {num(b.messages_out)} | "
                       f"{num(b.dropped)} | {num(b.peak_queued_inflight)} | "
                       f"{num(b.clients_connected)} |")
    d = s.drivers
    needs = d.needs if d.needs is not None else d.needing
    stranded = d.stranded_needs if d.stranded_needs is not None else d.stranded
    out += ["", "### Drivers", "",
            "| in fleet | needed to get in | attempts | by app | phone key | key card | "
            "stranded drivers | stranded attempts | p50 s | p95 s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {num(d.in_fleet)} | {num(d.drivers_with_needs)} | {num(needs)} | {num(d.app)} | "
            f"{num(d.bluetooth)} | {num(d.keycard)} | **{num(d.stranded_drivers)}** | "
            f"{num(stranded)} | {num(d.p50_time_to_access_s, 1)} | "
            f"{num(d.p95_time_to_access_s, 1)} |", ""]
    return "\n".join(out)


def _sum(counts: dict[str, int] | None) -> int | None:
    return None if counts is None else sum(counts.values())

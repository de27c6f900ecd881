"""`fleetchaos compare --markdown`: a pull request comment, regressions first."""

from __future__ import annotations

from fleetchaos.reports.compare.comparison import (
    Comparison,
    Row,
    format_delta,
    format_tolerance,
    format_value_of,
)
from fleetchaos.reports.compare.terminal import FIGURES, requests_cells
from fleetchaos.reports.format import format_value

ICON = {"regression": "🔴 worse", "lost": "🔴 worse (no data)", "improved": "🟢 better",
        "gained": "🟢 better (data)", "same": "same", "n/a": "-"}


def _mark(passed: bool | None) -> str:
    return "" if passed is None else (" ✅" if passed else " ❌")


def _cells(row: Row) -> str:
    return (f"{format_value_of(row, False)}{_mark(row.base_passed)} | "
            f"{format_value_of(row, True)}{_mark(row.new_passed)} | "
            f"{format_delta(row)} | {format_tolerance(row)} | {ICON[row.status]} |")


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_compare_markdown(c: Comparison) -> str:
    icon = "❌" if c.regressions else "✅"
    out = [f"## {icon} fleetchaos compare: {_escape(str(c.new.summary.scenario))}", "",
           f"BASE `{c.base.label}` ({_escape(c.base.path)}) · NEW `{c.new.label}` "
           f"({_escape(c.new.path)})", "", f"**{c.headline()}**", ""]
    if c.regressions:
        out.append("Regressions: " + "; ".join(
            f"{_escape(r.name if r.group == 'slo' else f'{r.group} {r.metric}')} "
            f"{format_value(r.metric, r.base)} → {format_value(r.metric, r.new)}"
            for r in c.regressions))
        out.append("")
    if c.base.summary.config is None or c.new.summary.config is None:
        out += ["Settings: not recorded for one side (a summary of an earlier version).", ""]
    elif c.settings:
        out += ["Settings that differ: " + "; ".join(
            f"{_escape(what)} `{_escape(b)}` → `{_escape(n)}`" for what, b, n in c.settings),
                ""]
    else:
        out += ["Settings: the same for both runs.", ""]
    out += ["| SLO | BASE | NEW | change | tolerance | |", "|---|---:|---:|---:|---:|---|"]
    out += [f"| {_escape(r.name)} | {_cells(r)}" for r in c.slos]
    out += ["", "<details><summary>Phases</summary>", "",
            "| phase | figure | BASE | NEW | change | tolerance | |",
            "|---|---|---:|---:|---:|---:|---|"]
    out += [f"| {_escape(r.group)} | {FIGURES.get(r.metric, r.metric)} | {_cells(r)}"
            for r in c.phases]
    if c.judged_by_slo:
        out += ["", "Judged once, as SLOs: " + ", ".join(c.judged_by_slo) + "."]
    out += ["", "</details>", ""]
    if c.requests:
        out += ["<details><summary>Requests per phase and action (retry amplification)"
                "</summary>", "", "| phase | action | BASE | NEW | NEW/BASE |",
                "|---|---|---:|---:|---:|"]
        out += [f"| {_escape(r.phase)} | {_escape(r.action or 'all')} | "
                + " | ".join(requests_cells(r)) + " |" for r in c.requests]
        out += ["", "</details>", ""]
    if c.only_base or c.only_new:
        out += [f"Only in BASE: {_escape(', '.join(c.only_base) or '-')}. "
                f"Only in NEW: {_escape(', '.join(c.only_new) or '-')}.", ""]
    return "\n".join(out)

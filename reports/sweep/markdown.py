"""`fleetchaos sweep` as Markdown: the same table, with each run's journal named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetchaos.reports.sweep.table import (
    Sweep,
    cell_text,
    combo_rows,
    differs,
    format_threshold,
    slo_infos,
)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_sweep_markdown(data: Mapping[str, Any]) -> str:
    """The sweep as Markdown, from ``sweep.json``'s content."""
    sweep = Sweep.from_json(data)
    rows, infos = combo_rows(sweep), slo_infos(sweep)
    varied = "; ".join(f"`{k}` = {', '.join(f'`{x}`' for x in v)}"
                       for k, v in sweep.vary.items())
    out = [f"## fleetchaos sweep: {_escape(str(sweep.scenario))}", "",
           f"Varied: {varied} · {sweep.repeat} run(s) per combination · "
           f"{len(sweep.runs)} runs", ""]
    changed = differs(rows, infos)
    out += [("SLOs that differ between combinations: " + "; ".join(_escape(c) for c in changed))
            if changed else "Every SLO came out the same in every combination.", ""]
    out.append("| combination | " + " | ".join(
        f"{_escape(i.name)} ({format_threshold(i)})" for i in infos) + " | journal |")
    out.append("|---|" + "---:|" * len(infos) + "---|")
    for row in rows:
        cells = [cell_text(i, row.cells.get(i.name), marks=("✅", "❌")) for i in infos]
        journals = "<br>".join(f"`{_escape(j)}`" for j in row.journals)
        out.append(f"| {_escape(row.label)} | " + " | ".join(cells) + f" | {journals} |")
    out.append("")
    return "\n".join(out)

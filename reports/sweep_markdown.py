"""`fleetchaos sweep` as Markdown: the same table, with each run's journal named."""

from __future__ import annotations

from typing import Any

from fleetchaos.reports.sweep_model import (
    cell_text,
    combo_rows,
    differs,
    format_threshold,
    slo_infos,
)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_sweep_markdown(sweep: dict[str, Any]) -> str:
    rows, infos = combo_rows(sweep), slo_infos(sweep)
    varied = "; ".join(f"`{k}` = {', '.join(f'`{x}`' for x in v)}"
                       for k, v in (sweep.get("vary") or {}).items())
    out = [f"## fleetchaos sweep: {_escape(str(sweep.get('scenario')))}", "",
           f"Varied: {varied} · {sweep.get('repeat', 1)} run(s) per combination · "
           f"{len(sweep.get('runs', []))} runs", ""]
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

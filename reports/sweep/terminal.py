"""`fleetchaos sweep` in the terminal: one row per combination, one column per SLO.

Readable at 80 columns: the combination column holds the varied values (the keys are in
its header); when one row per combination would be wider than the terminal, each
combination is a block instead (its values, then one line per SLO), so no cell wraps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from fleetchaos.reports.fit import Cell, Column, fitted_table
from fleetchaos.reports.sweep.table import (
    Sweep,
    cell_text,
    combo_rows,
    differs,
    format_threshold,
    slo_infos,
)


class SweepReport:
    """The sweep's table in the terminal, from ``sweep.json``'s content."""

    def __init__(self, sweep: Mapping[str, Any]) -> None:
        self.sweep = Sweep.from_json(sweep)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        sweep = self.sweep
        rows, infos = combo_rows(sweep), slo_infos(sweep)
        yield Text(f"sweep {sweep.scenario}: {sweep.varied()} · {sweep.repeat} run(s) "
                   f"each · {len(sweep.runs)} runs", style="bold")
        title = "SLO observed per combination (✓ held, ✗ breached)"
        keys = " · ".join(sweep.vary) or "combination"
        columns = [Column("#"), Column(keys, "left"),
                   *(Column(f"SLO {i}", drop=1) for i in range(1, len(infos) + 1))]
        table_rows: list[list[Cell]] = []
        for n, row in enumerate(rows, 1):
            cells: list[Cell] = [str(n), " · ".join(row.combo.values()) or row.label]
            for info in infos:
                cell = row.cells.get(info.name)
                style = ("green" if cell is not None and cell.passed else
                         "yellow" if cell is not None and cell.short else "red")
                cells.append(Text(cell_text(info, cell), style=style))
            table_rows.append(cells)
        table = fitted_table(console, options, columns, table_rows, title=title)
        if not table.dropped:
            yield table
        else:  # too narrow for a row per combination: a block per combination
            yield Text(title, style="italic")
            for n, (row, shown) in enumerate(zip(rows, table_rows, strict=True), 1):
                yield Text(f"{n:>3}  {row.label}")
                for i, text in enumerate(shown[2:], 1):
                    line = Text(f"       SLO {i}  ")
                    line.append_text(text if isinstance(text, Text) else Text(text))
                    yield line
        legend = Text()
        changed = set(differs(rows, infos))
        for i, info in enumerate(infos, 1):
            flag = "  (differs between combinations)" if info.name in changed else ""
            legend.append(f"SLO {i}  {info.name} ({format_threshold(info)}){flag}\n")
        yield legend
        journals = Text("journals:\n", style="dim")
        for n, row in enumerate(rows, 1):
            for path in row.journals:
                journals.append(f"{n:>3}  {path}\n", style="dim")
        yield journals

"""`fleetchaos sweep` in the terminal: one row per combination, one column per SLO."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

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
        table = Table(box=box.SIMPLE_HEAD, expand=True, title_justify="left",
                      title="SLO observed per combination (✓ held, ✗ breached)")
        table.add_column("#", justify="right")
        table.add_column("combination")
        for i in range(1, len(infos) + 1):
            table.add_column(f"SLO {i}", justify="right")
        for n, row in enumerate(rows, 1):
            cells: list[str | Text] = [str(n), row.label]
            for info in infos:
                cell = row.cells.get(info.name)
                style = "green" if cell is not None and cell.passed else "red"
                cells.append(Text(cell_text(info, cell), style=style))
            table.add_row(*cells)
        yield table
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

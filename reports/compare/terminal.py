"""`fleetchaos compare` in the terminal: one table for the SLOs, one for the phases."""

from __future__ import annotations

from rich import box
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.table import Table
from rich.text import Text

from fleetchaos.reports.compare.comparison import (
    Comparison,
    Row,
    format_delta,
    format_tolerance,
)
from fleetchaos.reports.format import format_value

STATUS_STYLE = {"regression": "bold red", "lost": "bold red", "improved": "green",
                "gained": "green", "same": "dim", "n/a": "dim"}
STATUS_TEXT = {"regression": "WORSE", "lost": "WORSE (no data)", "improved": "better",
               "gained": "better (data)", "same": "same", "n/a": "-"}
SLO_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("SLO", "left"), ("BASE", "right"), ("NEW", "right"), ("change", "right"),
    ("tolerance", "right"), ("", "left"))
PHASE_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("phase", "left"), ("figure", "left"), ("BASE", "right"), ("NEW", "right"),
    ("change", "right"), ("tolerance", "right"), ("", "left"))


def _verdict(passed: bool | None) -> str:
    return "" if passed is None else (" ✓" if passed else " ✗")


def _row_cells(row: Row) -> list[str | Text]:
    return [format_value(row.metric, row.base) + _verdict(row.base_passed),
            format_value(row.metric, row.new) + _verdict(row.new_passed),
            format_delta(row), format_tolerance(row),
            Text(STATUS_TEXT[row.status], style=STATUS_STYLE[row.status])]


class CompareReport:
    """Renders itself (rich), so the same object prints and exports."""

    def __init__(self, comparison: Comparison) -> None:
        self.c = comparison

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        c = self.c
        yield Text(f"BASE {c.base.label}  ({c.base.path})\nNEW  {c.new.label}  ({c.new.path})")
        style = "bold red" if c.regressions else "bold green"
        yield Text(c.headline(), style=style)
        slos = Table(title="SLOs (✓ held, ✗ breached)", box=box.SIMPLE_HEAD,
                     title_justify="left", expand=True)
        for col, justify in SLO_COLUMNS:
            slos.add_column(col, justify=justify)
        for row in c.slos:
            slos.add_row(row.name, *_row_cells(row))
        yield slos
        phases = Table(title="Phases", box=box.SIMPLE_HEAD, title_justify="left", expand=True)
        for col, justify in PHASE_COLUMNS:
            phases.add_column(col, justify=justify)
        for row in c.phases:
            phases.add_row(row.group, row.metric, *_row_cells(row))
        yield phases
        if c.only_base or c.only_new:
            yield Text("only in BASE: " + (", ".join(c.only_base) or "-") +
                       "\nonly in NEW: " + (", ".join(c.only_new) or "-"), style="yellow")

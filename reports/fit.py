"""Tables that fit the terminal they are printed in (80 columns and up), for every report.

A rich table squeezed below its natural width wraps its cells: a phase name over two
lines, ``200:38 500:15`` over three. Here a table is built from columns that say how
they may give way: each cell stays on one line (``no_wrap``), headers may stack over two
lines (``"unlock\\nok"``), and when the table is still wider than the console, the
columns with the highest ``drop`` rank go first, and the note under the table names them,
so the reader knows a wider terminal (``--width``) shows more. A column of rank 0 always
stays; its cells are cut with an ellipsis only when even the smallest table is too wide.
The note is printed under the table at the console's width (a table's own caption would
wrap at the table's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

Cell = str | Text


@dataclass(frozen=True)
class Column:
    header: str
    justify: JustifyMethod = "right"
    drop: int = 0  # 0: always kept; the highest rank is left out first when too wide
    name: str | None = None  # how the caption names it when it is left out

    @property
    def label(self) -> str:
        return self.name or self.header.replace("\n", " ")


@dataclass(frozen=True)
class Fitted:
    """A table that fits, the columns left out to make it fit, and the note under it."""

    table: Table
    dropped: tuple[str, ...]
    note: str | None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table
        if self.note:
            yield Text(self.note, style="dim")


def fitted_table(console: Console, options: ConsoleOptions, columns: Sequence[Column],
                 rows: Sequence[Sequence[Cell]], *, title: str | None = None,
                 caption: str | None = None, sections: Sequence[int] = ()) -> Fitted:
    """The table with as many columns as fit ``options.max_width``; ``sections``: row
    indices after which a rule is drawn; ``caption``: the note printed under it."""
    width = options.max_width
    keep = list(range(len(columns)))
    while True:
        table = _table(columns, rows, keep, title, sections)
        need = Measurement.get(console, options.update_width(10_000), table).maximum
        droppable = [i for i in keep if columns[i].drop > 0]
        if need <= width or not droppable:
            break
        keep.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    dropped = tuple(columns[i].label for i in range(len(columns)) if i not in keep)
    if dropped:
        note = f"{', '.join(dropped)} left out at {width} columns (a wider terminal or " \
               "--width shows them)"
        caption = f"{caption}; {note}" if caption else note
    return Fitted(table, dropped, caption)


def _table(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], keep: list[int],
           title: str | None, sections: Sequence[int]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, expand=False, title_justify="left",
                  pad_edge=False)
    for i in keep:
        col = columns[i]
        table.add_column(col.header, justify=col.justify, no_wrap=True,
                         overflow="ellipsis")
    for n, row in enumerate(rows):
        table.add_row(*(row[i] for i in keep), end_section=n in sections)
    return table

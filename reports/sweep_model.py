"""A sweep's results, grouped: one row per combination of the varied values, one cell per SLO.

The sweep writes its runs to ``sweep.json`` (every run: its combination, repeat number,
journal, exit code and SLO results); every renderer reads that dict and nothing else, so
a report can be rebuilt from the file. With ``--repeat N`` a cell holds the median of
the N observations, how many of them held, and their spread.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from fleetchaos.reports.compare_model import format_value as format_observed


@dataclass(frozen=True)
class Cell:
    observed: float | None  # median over the combination's runs
    held: int
    runs: int
    spread: float | None  # max - min over the runs, None for a single run

    @property
    def passed(self) -> bool:
        return self.runs > 0 and self.held == self.runs


@dataclass(frozen=True)
class ComboRow:
    combo: dict[str, str]
    cells: dict[str, Cell]  # SLO name -> cell
    journals: list[str]
    verdicts: list[str]

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.combo.items())


@dataclass(frozen=True)
class SloInfo:
    name: str
    metric: str
    op: str
    threshold: float


def slo_infos(sweep: dict[str, Any]) -> list[SloInfo]:
    """The SLOs in the order of the first run that has them."""
    seen: dict[str, SloInfo] = {}
    for run in sweep.get("runs", []):
        for slo in run.get("slos") or []:
            name = str(slo.get("name"))
            if name not in seen:
                seen[name] = SloInfo(name, str(slo.get("metric")), str(slo.get("op")),
                                     float(slo.get("threshold", 0.0)))
    return list(seen.values())


def combo_rows(sweep: dict[str, Any]) -> list[ComboRow]:
    """Rows in the order the combinations were run."""
    grouped: dict[tuple[tuple[str, str], ...], list[dict[str, Any]]] = {}
    for run in sweep.get("runs", []):
        key = tuple((str(k), str(v)) for k, v in (run.get("combo") or {}).items())
        grouped.setdefault(key, []).append(run)
    infos = slo_infos(sweep)
    rows = []
    for key, runs in grouped.items():
        cells = {}
        for info in infos:
            values: list[float] = []
            held = counted = 0
            for run in runs:
                slo = next((s for s in run.get("slos") or [] if s.get("name") == info.name),
                           None)
                if slo is None:
                    continue
                counted += 1
                held += bool(slo.get("passed"))
                if isinstance(slo.get("observed"), int | float):
                    values.append(float(slo["observed"]))
            cells[info.name] = Cell(statistics.median(values) if values else None, held,
                                    counted, max(values) - min(values) if len(values) > 1
                                    else None)
        rows.append(ComboRow(dict(key), cells, [str(r.get("journal")) for r in runs],
                             [str(r.get("verdict")) for r in runs]))
    return rows


def format_threshold(info: SloInfo) -> str:
    op = "≥" if info.op == ">=" else "≤"
    return f"{op} {format_observed(info.metric, info.threshold)}"


def cell_text(info: SloInfo, cell: Cell | None, *, marks: tuple[str, str] = ("✓", "✗")) -> str:
    """'97.5% ✓', or with repeats '97.5% ✗ 2/3 held'."""
    if cell is None or cell.runs == 0:
        return "-"
    mark = marks[0] if cell.passed else marks[1]
    text = f"{format_observed(info.metric, cell.observed)} {mark}"
    if cell.runs > 1:
        text += f" {cell.held}/{cell.runs} held"
    return text


def differs(rows: list[ComboRow], infos: list[SloInfo]) -> list[str]:
    """SLOs whose observed value or verdict is not the same in every combination."""
    out = []
    for info in infos:
        seen = {(rows_cell.observed, rows_cell.passed)
                for r in rows if (rows_cell := r.cells.get(info.name)) is not None}
        if len(seen) > 1:
            out.append(info.name)
    return out

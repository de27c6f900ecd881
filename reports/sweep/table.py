"""A sweep's results, grouped: one row per combination of the varied values, one cell per SLO.

The sweep writes its runs to ``sweep.json`` (every run: its combination, repeat number,
journal, exit code and SLO results; ``Sweep`` here is its typed form); every renderer
reads that file's content and nothing else, so a report can be rebuilt from the file.
With ``--repeat N`` a cell holds the median of the N observations, how many of them
held, and their spread.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetchaos.reports.format import format_value as format_observed
from fleetchaos.scenarios.records import JsonDict, JsonReader, SloResult, Wire


@dataclass(frozen=True)
class SweepRun(Wire):
    """One run of the sweep: its combination of varied values, repeat number, journal,
    exit code, verdict and SLO results."""

    combo: dict[str, str] = field(default_factory=dict)
    repeat: int | None = None
    journal: str | None = None
    rc: int | None = None
    seconds: float | None = None
    verdict: str | None = None
    error: str | None = None
    run_id: str | None = None
    slos: tuple[SloResult, ...] = ()
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SweepRun:
        r = JsonReader(raw)
        combo = r.mapping("combo") or {}
        return cls({k: str(v) for k, v in combo.items()}, r.integer("repeat"), r.text("journal"),
                   r.integer("rc"), r.number("seconds"), r.text("verdict"), r.text("error"),
                   r.text("run_id"), r.many("slos", SloResult.from_json) or (), r.extra())

    def slo(self, name: str) -> SloResult | None:
        return next((s for s in self.slos if s.name == name), None)


@dataclass(frozen=True)
class Sweep(Wire):
    """``sweep.json``: what was varied, how often each combination ran, and every run."""

    scenario: str | None = None
    vary: dict[str, tuple[str, ...]] = field(default_factory=dict)
    repeat: int = 1
    sets: tuple[str, ...] | None = None
    time_scale: float | None = None
    seed: int | None = None
    runs: tuple[SweepRun, ...] = ()
    extra: JsonDict = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Sweep:
        r = JsonReader(raw)
        vary = r.mapping("vary") or {}
        repeat = r.integer("repeat")
        return cls(r.text("scenario"),
                   {k: tuple(str(x) for x in v) for k, v in vary.items() if isinstance(v, list)},
                   1 if repeat is None else repeat, r.texts("sets"), r.number("time_scale"),
                   r.integer("seed"), r.many("runs", SweepRun.from_json) or (), r.extra())

    def varied(self, sep: str = ", ") -> str:
        """'fleet.retry_policy = fixed-1s, retry-budget' for every varied key."""
        return sep.join(f"{k} = {', '.join(v)}" for k, v in self.vary.items())


UNJUDGED = ("insufficient", "not_judged")  # an SLO status that is neither held nor broke


@dataclass(frozen=True)
class Cell:
    observed: float | None  # median over the combination's runs
    held: int
    runs: int
    spread: float | None  # max - min over the runs, None for a single run
    short: int = 0  # runs whose SLO was not judged: too few samples, or its phase unfinished

    @property
    def passed(self) -> bool:
        return self.runs > 0 and self.short == 0 and self.held == self.runs


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


def slo_infos(sweep: Sweep) -> list[SloInfo]:
    """The SLOs in the order of the first run that has them."""
    seen: dict[str, SloInfo] = {}
    for run in sweep.runs:
        for slo in run.slos:
            if slo.name not in seen:
                seen[slo.name] = SloInfo(slo.name, slo.metric, slo.op, slo.threshold or 0.0)
    return list(seen.values())


def combo_rows(sweep: Sweep) -> list[ComboRow]:
    """Rows in the order the combinations were run."""
    grouped: dict[tuple[tuple[str, str], ...], list[SweepRun]] = {}
    for run in sweep.runs:
        grouped.setdefault(tuple(run.combo.items()), []).append(run)
    infos = slo_infos(sweep)
    rows = []
    for key, runs in grouped.items():
        cells = {}
        for info in infos:
            values: list[float] = []
            held = counted = short = 0
            for run in runs:
                slo = run.slo(info.name)
                if slo is None:
                    continue
                counted += 1
                held += slo.held
                short += slo.status in UNJUDGED
                if slo.observed is not None:
                    values.append(float(slo.observed))
            cells[info.name] = Cell(statistics.median(values) if values else None, held,
                                    counted, max(values) - min(values) if len(values) > 1
                                    else None, short)
        rows.append(ComboRow(dict(key), cells, [str(r.journal) for r in runs],
                             [str(r.verdict) for r in runs]))
    return rows


def format_threshold(info: SloInfo) -> str:
    op = "≥" if info.op == ">=" else "≤"
    return f"{op} {format_observed(info.metric, info.threshold)}"


def cell_text(info: SloInfo, cell: Cell | None, *, marks: tuple[str, str] = ("✓", "✗")) -> str:
    """'97.5% ✓', with repeats '97.5% ✗ 2/3 held'; an SLO some run could not judge (issue
    22: an SLO on 3 samples is not printed like one on 3,000) '100.0% ? too few samples'."""
    if cell is None or cell.runs == 0:
        return "-"
    mark = marks[0] if cell.passed else "?" if cell.short else marks[1]
    text = f"{format_observed(info.metric, cell.observed)} {mark}"
    if cell.runs > 1:
        text += f" {cell.held}/{cell.runs} held"
    if cell.short:
        text += " too few samples" if cell.runs == 1 else f", {cell.short} too few samples"
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

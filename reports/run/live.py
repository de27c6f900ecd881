"""The live headless view: timeline progress and time left, phase, the faults on right
now (as they are: `verbosity x60 on 80 %`, not the values they will roll back to), rates,
5xx and stranded so far, and each SLO's live state - in place of Locust's scrolling
table. Fed record by record from the journal, so it needs no Locust hooks.

Once the summary arrives the last frame is the run's: its requests, 5xx on the phone API
and stranded drivers of the fleet as the summary counts them (the terminal report's
figures, not the last second's rate or a fleet already stopped), each SLO's observed value
with its samples. A time-scaled run shows its clock in tenths of a second below 100 s
and says the scale (``9.4/13.8 s, 4.4 s left, time scale 0.23``).

``LiveState`` is the pure part (records in, a rich renderable out; tested at a fixed
width); ``LiveView`` puts it on screen with ``rich.live``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from fleetchaos.reports.format import (
    errors_5xx_text,
    num,
    observed,
    observed_of,
    stranded_text,
    threshold,
)
from fleetchaos.reports.labels import record_label
from fleetchaos.scenarios.metrics import CANARY_PREFIX, TELEMETRY_ACTIONS
from fleetchaos.scenarios.records import (
    CleanupRecord,
    DriverRecord,
    HeaderRecord,
    JsonDict,
    SampleRecord,
    SloRecord,
    SloResult,
    StepRecord,
    Summary,
    SummaryRecord,
    parse_record,
    statuses_of,
)

SLO_EVERY_S = 1.0  # how often the SLOs are re-judged from the records so far
_KEPT = (HeaderRecord, SampleRecord, DriverRecord, StepRecord, SloRecord, SummaryRecord,
         CleanupRecord)  # what the SLOs are judged from


class LiveState:
    """What the live view knows, from the journal records seen so far."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.header: HeaderRecord | None = None
        self.last: SampleRecord | None = None
        self.records: list[JsonDict] = []  # the records so far, as read (build_summary's input)
        self.stranded: set[object] = set()  # drivers stranded so far (their index)
        self.errors_5xx = 0
        self.steps: list[str] = []
        self.active: dict[str, str] = {}      # step key -> label, while the fault is on
        self.slos: list[SloResult] = []  # judged on the records so far
        self.finished: Summary | None = None
        self.stopping_since: float | None = None
        self._clock = clock
        self._judged_at = -1e9

    # --- records ------------------------------------------------------------------------
    def on_record(self, raw: object) -> bool:
        """Take one record (as the journal holds it); True when the view changed."""
        record = parse_record(raw)
        if record is None:
            return False
        if isinstance(record, _KEPT):
            self.records.append(record.to_json())
        if isinstance(record, HeaderRecord):
            self.header = record
        elif isinstance(record, SampleRecord):
            self.last = record
            api = statuses_of(record.by_action, [a for a in record.by_action
                                                 if a not in TELEMETRY_ACTIONS
                                                 and not a.startswith(CANARY_PREFIX)])
            self.errors_5xx += sum(n for k, n in api.items() if k.startswith("5"))
            if self._ended() and self.stopping_since is None:
                self.stopping_since = self._clock()
            self._judge()
        elif isinstance(record, DriverRecord):
            if record.outcome != "stranded":
                return False
            self.stranded.add(record.driver if record.driver is not None
                              else ("need", len(self.stranded)))
        elif isinstance(record, StepRecord):
            self._step(record)
        elif isinstance(record, SummaryRecord):
            self.finished = record.summary
            self.slos = list(record.summary.slos)
        elif isinstance(record, CleanupRecord):
            if self.stopping_since is None:
                self.stopping_since = self._clock()
        else:
            return False
        return True

    def _step(self, record: StepRecord) -> None:
        when = f"{float(record.t or 0):.0f}s"
        if record.is_rollback:
            label = self.active.pop(record.key, None) or record_label(record)
            self.steps.append(f"{when} off: {label}")
            return
        if record.action in ("users", "toxic_remove") or record.fault is False:
            self.steps.append(f"{when} {record_label(record)}")
            return
        label = record_label(record)
        self.active[record.key] = ("by hand: " if record.manual else "") + label
        self.steps.append(f"{when} on: {label}")

    def _judge(self) -> None:
        """Re-judge the SLOs on what has happened so far (at most once a second)."""
        now = self._clock()
        if now - self._judged_at < SLO_EVERY_S or self.header is None or not self.header.slos:
            return
        self._judged_at = now
        from fleetchaos.scenarios.summary import build_summary

        try:
            self.slos = list(Summary.from_json(build_summary(self.records)).slos)
        except Exception:  # a view must never stop a run: keep the last judgement
            return

    # --- time ---------------------------------------------------------------------------
    def t(self) -> float:
        return float(self.last.t) if self.last is not None else 0.0

    def duration(self) -> float:
        return float(self.header.duration_s or 0.0) if self.header is not None else 0.0

    def _ended(self) -> bool:
        return bool(self.duration()) and self.t() >= self.duration()

    def phase_state(self, phase: str) -> str:
        """'waiting', 'now' or 'done' for a phase name ('all' is the whole run)."""
        if self.finished is not None:
            return "done"
        spans = {p.name: p for p in self.header.phases} if self.header is not None else {}
        span = spans.get(phase)
        start, end = (0.0, self.duration()) if span is None else (float(span.start_s),
                                                                   float(span.end_s))
        if self.t() < start:
            return "waiting"
        return "done" if self.t() >= end else "now"

    # --- rendering ----------------------------------------------------------------------
    def render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        title = self.header.title if self.header is not None else None
        table.add_row("scenario", title or "starting… (setting up Toxiproxy and the fleet)")
        table.add_row("timeline", self._timeline())
        faults = list(self.active.values())
        if self.finished is not None:
            self._final_rows(table, self.finished)
        else:
            table.add_row("faults on", Text("; ".join(faults), style="bold red") if faults
                          else Text("none", style="dim"))
            last = self.last or SampleRecord()
            table.add_row("requests/s", f"{last.requests:,}   users {last.users or 0:,}   cars "
                          f"online {last.fleet.cars_connected or 0:,}")
            table.add_row("5xx so far", Text(f"{self.errors_5xx:,} on the phone API",
                                             style="red" if self.errors_5xx else ""))
            table.add_row("stranded", Text(f"{len(self.stranded):,} drivers",
                                           style="bold red" if self.stranded else ""))
        for i, line in enumerate(self._slo_lines()):
            table.add_row("SLOs" if i == 0 else "", line)
        table.add_row("last steps", "; ".join(self.steps[-3:]) or "-")
        return table

    def _final_rows(self, table: Table, summary: Summary) -> None:
        """The run's own figures, as the summary (and so every report) counts them."""
        t = summary.totals
        if t is not None and t.requests is not None:
            seconds = summary.duration_s or self.t()
            rate = f" ({t.requests / seconds:,.0f}/s on average)" if seconds else ""
            table.add_row("requests", f"{t.requests:,} in {num(seconds)} s{rate}, "
                                      f"{num(t.failures)} failed")
        five = errors_5xx_text(summary)
        table.add_row("5xx", Text(five, style="red" if t is not None and t.errors_5xx else ""))
        stranded = stranded_text(summary)
        table.add_row("stranded", Text(stranded, style="bold red"
                                       if summary.drivers.stranded_drivers else ""))

    def _timeline(self) -> Text:
        duration, t = self.duration(), self.t()
        width = 30
        if self.header is None:
            return Text("waiting for the run to start…", style="dim")
        if self.finished is not None:
            verdict = self.finished.verdict.upper()
            return Text(f"finished at {t:.0f} s  verdict {verdict}",
                        style="bold green" if verdict == "PASS" else "bold red")
        if duration and (t >= duration or self.stopping_since is not None):
            return Text("█" * width, style="dim") + Text(
                f" stopping… timeline ended at {duration:.0f} s: rolling back faults, "
                "writing the verdict", style="bold yellow")
        done = min(width, int(width * t / duration)) if duration else 0
        left = max(0.0, duration - t)
        digits = 1 if duration < 100 and not float(duration).is_integer() else 0
        shown_t, shown_d = round(t, digits), round(duration, digits)
        left = max(0.0, shown_d - shown_t)  # the two shown figures and the rest add up
        clock = f"{shown_t:.{digits}f}/{shown_d:.{digits}f} s  {left:.{digits}f} s left"
        scale = self.header.time_scale
        if scale is not None and scale != 1:
            clock += f" (time scale {scale:g})"
        phase = self.last.phase if self.last is not None and self.last.phase is not None else "-"
        return Text("█" * done + "░" * (width - done)) + Text(f" {clock}  phase {phase}")

    def _slo_lines(self) -> list[Text]:
        out = []
        for slo in self.slos:
            state = judge_slo(slo, self.phase_state(slo.phase), finished=self.finished is not None)
            word, style = SLO_WORDS[state]
            if state == "waiting":
                detail = f"phase {slo.phase} not started"
            elif state == "pending":
                detail = "judged at the end"
            elif state == "nodata":
                detail = "no data yet"
            elif self.finished is not None:
                detail = f"{observed_of(slo)} (needs {threshold(slo)})"
            else:
                detail = f"{observed(slo)} (needs {threshold(slo)})"
            out.append(Text(f"{word:<5} {slo.name}: {detail}", style=style))
        return out


SLO_WORDS = {"waiting": ("…", "dim"), "pending": ("…", "dim"), "nodata": ("…", "dim"),
             "ok": ("ok", "green"), "break": ("BREAK", "bold red"),
             "pass": ("PASS", "green"), "fail": ("FAIL", "bold red")}


def judge_slo(slo: SloResult, phase_state: str, *, finished: bool) -> str:
    """An SLO's live state: waiting (its phase has not begun), pending (recovery, judged
    at the end), nodata, ok / break (its phase is running), pass / fail (it is over)."""
    if slo.metric == "recovery_s" and not finished:
        return "pending"
    if phase_state == "waiting":
        return "waiting"
    if slo.observed is None:
        return "nodata" if not finished else "fail"
    if phase_state == "done":
        return "pass" if slo.passed else "fail"
    return "ok" if slo.passed else "break"


class LiveView:
    """LiveState on screen, refreshed as records arrive."""

    def __init__(self, console: Console | None = None) -> None:
        self.state = LiveState()
        # Live re-renders ``self`` (``__rich__``) on each refresh, so the view is redrawn
        # from the state even between records.
        self.live = Live(self, console=console or Console(), refresh_per_second=4,
                         transient=False)
        self.live.start()

    def __rich__(self) -> Table:
        return self.state.render()

    @property
    def header(self) -> HeaderRecord | None:
        return self.state.header

    def on_record(self, record: JsonDict) -> None:
        if self.state.on_record(record):
            self.live.refresh()

    def render(self) -> Table:
        return self.state.render()

    def stop(self) -> None:
        self.live.stop()


class RecordSource(Protocol):
    """Anything that hands on journal records as they are written (the journal writer,
    the CLI's journal tail)."""

    def add_listener(self, listener: Callable[[JsonDict], None]) -> None: ...


def attach(journal_writer: RecordSource, console: Console | None = None) -> LiveView:
    view = LiveView(console)
    journal_writer.add_listener(view.on_record)
    return view

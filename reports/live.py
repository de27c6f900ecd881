"""The live headless view: timeline progress and time left, phase, the faults on right
now (as they are: `verbosity x60 on 80 %`, not the values they will roll back to), rates,
5xx and stranded so far, and each SLO's live state - in place of Locust's scrolling
table. Fed record by record from the journal, so it needs no Locust hooks.

``LiveState`` is the pure part (records in, a rich renderable out; tested at a fixed
width); ``LiveView`` puts it on screen with ``rich.live``.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from fleetchaos.reports.format import observed, threshold
from fleetchaos.reports.labels import record_label
from fleetchaos.reports.records import clean_record
from fleetchaos.scenarios.metrics import TELEMETRY_ACTIONS, statuses_of

SLO_EVERY_S = 1.0  # how often the SLOs are re-judged from the records so far


class LiveState:
    """What the live view knows, from the journal records seen so far."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.header: dict[str, Any] = {}
        self.last: dict[str, Any] = {}
        self.records: list[dict[str, Any]] = []
        self.stranded = 0
        self.errors_5xx = 0
        self.steps: list[str] = []
        self.active: dict[str, str] = {}      # step key -> label, while the fault is on
        self.slos: list[dict[str, Any]] = []  # judged on the records so far
        self.finished: dict[str, Any] | None = None
        self.stopping_since: float | None = None
        self._clock = clock
        self._judged_at = -1e9

    # --- records ------------------------------------------------------------------------
    def on_record(self, record: dict[str, Any]) -> bool:
        """Take one record; True when the view changed."""
        cleaned = clean_record(record)
        if cleaned is None:
            return False
        record = cleaned
        kind = record.get("type")
        if kind in ("header", "sample", "driver", "step", "slo", "summary", "cleanup"):
            self.records.append(record)
        if kind == "header":
            self.header = record
        elif kind == "sample":
            self.last = record
            by_action = record.get("by_action") or {}
            api = statuses_of(by_action, [a for a in by_action if a not in TELEMETRY_ACTIONS
                                          and not a.startswith("canary ")])
            self.errors_5xx += sum(n for k, n in api.items() if k.startswith("5"))
            if self._ended() and self.stopping_since is None:
                self.stopping_since = self._clock()
            self._judge()
        elif kind == "driver" and record.get("outcome") == "stranded":
            self.stranded += 1
        elif kind == "step":
            self._step(record)
        elif kind == "summary":
            self.finished = record
            self.slos = list(record.get("slos") or [])
        elif kind == "cleanup":
            if self.stopping_since is None:
                self.stopping_since = self._clock()
        else:
            return False
        return True

    def _step(self, record: dict[str, Any]) -> None:
        key = str(record.get("step"))
        detail = record.get("detail") or {}
        rollback = isinstance(detail, dict) and "rollback" in detail
        if rollback:
            label = self.active.pop(key, None) or record_label(record)
            self.steps.append(f"{float(record.get('t', 0)):.0f}s off: {label}")
            return
        if record.get("action") in ("users", "toxic_remove") or record.get("fault") is False:
            self.steps.append(f"{float(record.get('t', 0)):.0f}s {record_label(record)}")
            return
        label = record_label(record)
        self.active[key] = ("by hand: " if record.get("manual") else "") + label
        self.steps.append(f"{float(record.get('t', 0)):.0f}s on: {label}")

    def _judge(self) -> None:
        """Re-judge the SLOs on what has happened so far (at most once a second)."""
        now = self._clock()
        if now - self._judged_at < SLO_EVERY_S or not self.header.get("slos"):
            return
        self._judged_at = now
        from fleetchaos.scenarios.summary import build_summary

        try:
            self.slos = list(build_summary(self.records).get("slos") or [])
        except Exception:  # a view must never stop a run: keep the last judgement
            return

    # --- time ---------------------------------------------------------------------------
    def t(self) -> float:
        return float(self.last.get("t", 0.0))

    def duration(self) -> float:
        return float(self.header.get("duration_s") or 0.0)

    def _ended(self) -> bool:
        return bool(self.duration()) and self.t() >= self.duration()

    def phase_state(self, phase: str) -> str:
        """'waiting', 'now' or 'done' for a phase name ('all' is the whole run)."""
        if self.finished is not None:
            return "done"
        spans = {p.get("name"): p for p in self.header.get("phases") or []}
        p = spans.get(phase)
        start, end = (0.0, self.duration()) if p is None else (float(p.get("start_s", 0)),
                                                                float(p.get("end_s", 0)))
        if self.t() < start:
            return "waiting"
        return "done" if self.t() >= end else "now"

    # --- rendering ----------------------------------------------------------------------
    def render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row("scenario", str(self.header.get("title") or "starting… (setting up "
                                                                 "Toxiproxy and the fleet)"))
        table.add_row("timeline", self._timeline())
        faults = list(self.active.values())
        table.add_row("faults on", Text("; ".join(faults), style="bold red") if faults
                      else Text("none", style="dim"))
        fleet = self.last.get("fleet") or {}
        cars = fleet.get("cars_connected")
        table.add_row("requests/s", f"{self.last.get('requests', 0):,}   users "
                      f"{self.last.get('users', 0):,}   cars online "
                      f"{cars if isinstance(cars, int | float) else 0:,}")
        table.add_row("5xx so far", Text(f"{self.errors_5xx:,}", style="red" if self.errors_5xx
                                         else ""))
        table.add_row("stranded", Text(f"{self.stranded:,}", style="bold red" if self.stranded
                                       else ""))
        for i, line in enumerate(self._slo_lines()):
            table.add_row("SLOs" if i == 0 else "", line)
        table.add_row("last steps", "; ".join(self.steps[-3:]) or "-")
        return table

    def _timeline(self) -> Text:
        duration, t = self.duration(), self.t()
        width = 30
        if not self.header:
            return Text("waiting for the run to start…", style="dim")
        if self.finished is not None:
            verdict = str(self.finished.get("verdict", "incomplete")).upper()
            return Text(f"finished at {t:.0f} s  verdict {verdict}",
                        style="bold green" if verdict == "PASS" else "bold red")
        if duration and (t >= duration or self.stopping_since is not None):
            return Text("█" * width, style="dim") + Text(
                f" stopping… timeline ended at {duration:.0f} s: rolling back faults, "
                "writing the verdict", style="bold yellow")
        done = min(width, int(width * t / duration)) if duration else 0
        left = max(0.0, duration - t)
        return Text("█" * done + "░" * (width - done)) + Text(
            f" {t:.0f}/{duration:.0f} s  {left:.0f} s left  phase {self.last.get('phase', '-')}")

    def _slo_lines(self) -> list[Text]:
        out = []
        for slo in self.slos:
            state = judge_slo(slo, self.phase_state(str(slo.get("phase", "all"))),
                              finished=self.finished is not None)
            name = str(slo.get("name"))
            word, style = SLO_WORDS[state]
            if state == "waiting":
                detail = f"phase {slo.get('phase')} not started"
            elif state == "pending":
                detail = "judged at the end"
            elif state == "nodata":
                detail = "no data yet"
            else:
                detail = f"{observed(slo)} (needs {threshold(slo)})"
            out.append(Text(f"{word:<5} {name}: {detail}", style=style))
        return out


SLO_WORDS = {"waiting": ("…", "dim"), "pending": ("…", "dim"), "nodata": ("…", "dim"),
             "ok": ("ok", "green"), "break": ("BREAK", "bold red"),
             "pass": ("PASS", "green"), "fail": ("FAIL", "bold red")}


def judge_slo(slo: dict[str, Any], phase_state: str, *, finished: bool) -> str:
    """An SLO's live state: waiting (its phase has not begun), pending (recovery, judged
    at the end), nodata, ok / break (its phase is running), pass / fail (it is over)."""
    if slo.get("metric") == "recovery_s" and not finished:
        return "pending"
    if phase_state == "waiting":
        return "waiting"
    if slo.get("observed") is None:
        return "nodata" if not finished else "fail"
    if phase_state == "done":
        return "pass" if slo.get("passed") else "fail"
    return "ok" if slo.get("passed") else "break"


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
    def header(self) -> dict[str, Any]:
        return self.state.header

    def on_record(self, record: dict[str, Any]) -> None:
        if self.state.on_record(record):
            self.live.refresh()

    def render(self) -> Table:
        return self.state.render()

    def stop(self) -> None:
        self.live.stop()


def attach(journal_writer: Any, console: Console | None = None) -> LiveView:
    view = LiveView(console)
    journal_writer.add_listener(view.on_record)
    return view

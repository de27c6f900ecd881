"""The live headless view: timeline progress, phase, faults, rates, 5xx, stranded so far —
in place of Locust's scrolling table. Fed record by record from the journal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from fleetchaos.scenarios.metrics import TELEMETRY_ACTIONS, statuses_of


class LiveView:
    def __init__(self, console: Console | None = None) -> None:
        self.header: dict[str, Any] = {}
        self.last: dict[str, Any] = {}
        self.stranded = 0
        self.errors_5xx = 0
        self.steps: list[str] = []
        self.live = Live(self.render(), console=console or Console(), refresh_per_second=4,
                         transient=False)
        self.live.start()

    def on_record(self, record: dict[str, Any]) -> None:
        kind = record.get("type")
        if kind == "header":
            self.header = record
        elif kind == "sample":
            self.last = record
            by_action = record.get("by_action") or {}
            api = statuses_of(by_action, [a for a in by_action if a not in TELEMETRY_ACTIONS])
            self.errors_5xx += sum(n for k, n in api.items() if k.startswith("5"))
        elif kind == "driver" and record.get("outcome") == "stranded":
            self.stranded += 1
        elif kind == "step":
            self.steps.append(f"{record['t']:.0f}s {record.get('action')}")
        else:
            return
        self.live.update(self.render())

    def render(self) -> Table:
        duration = float(self.header.get("duration_s") or 1)
        t = float(self.last.get("t", 0.0))
        width = 30
        done = min(width, int(width * t / duration))
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("scenario", str(self.header.get("title", "starting…")))
        table.add_row("timeline", Text("█" * done + "░" * (width - done)) +
                      Text(f" {t:.0f}/{duration:.0f} s  phase {self.last.get('phase', '-')}"))
        faults = ", ".join(str(f) for f in self.last.get("active_faults") or []) or "none"
        table.add_row("faults", faults)
        fleet = self.last.get("fleet") or {}
        table.add_row("requests/s", f"{self.last.get('requests', 0):,}   users "
                      f"{self.last.get('users', 0):,}   cars online {fleet.get('cars_connected', 0):,}")
        table.add_row("5xx so far", Text(f"{self.errors_5xx:,}", style="red" if self.errors_5xx
                                         else ""))
        table.add_row("stranded", Text(f"{self.stranded:,}", style="bold red" if self.stranded
                                       else ""))
        table.add_row("last steps", "; ".join(self.steps[-3:]) or "-")
        return table

    def stop(self) -> None:
        self.live.stop()


def attach(journal_writer: Any, console: Console | None = None) -> LiveView:
    view = LiveView(console)
    journal_writer.add_listener(view.on_record)
    return view

"""The verdict printed when a plain ``locust -f locustfile.py --headless`` run quits.

Locust prints its own request tables when it quits and nothing else; this hooks
Locust's ``quit`` event to print the end-of-run report (``fleetchaos.reports.run.end_of_run``)
right after them, read back from the journal like every other report.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from fleetchaos.reports.run.end_of_run import print_end_of_run

if TYPE_CHECKING:
    from locust.env import Environment


def print_at_quit(environment: Environment, journal_path: Any) -> None:
    """Print the verdict when Locust quits, after its own tables (Locust's ``quit``
    event fires after ``print_stats``; the engine has finished by then)."""

    def on_quit(**_: Any) -> None:
        try:
            print_end_of_run(str(journal_path))
        except Exception as exc:  # the verdict is in the journal: never fail the exit
            print(f"fleetchaos: could not print the verdict: {exc}", file=sys.stderr)

    environment.events.quit.add_listener(on_quit)

"""The engine assembled with its Locust collaborators, as Locust's ``env.py`` assembles a run.

The engine (``fleetchaos.scenarios.engine``) is handed its run set-up and its outputs and
never builds them itself; this is the one place that does, for the plugin's ``init``
hook and the web UI's start form alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetchaos.locust_app.run_setup import LocustRunSetup, RunIdentity
from fleetchaos.scenarios.engine import Engine
from fleetchaos.scenarios.fault_control import new_run_id
from fleetchaos.scenarios.schema import Scenario

if TYPE_CHECKING:
    from locust.env import Environment

OUTPUT_OPTIONS = {"summary": "summary", "junit": "junit", "html": "html_report",
                  "markdown": "markdown"}  # output -> Locust option (parsed_options attribute)


class ReportOutputs:
    """--summary (JSON) and the JUnit, HTML and Markdown reports, all from the journal."""

    def __init__(self, paths: Mapping[str, str | None]) -> None:
        self.paths = dict(paths)

    def __call__(self, summary: dict[str, Any] | None, records: list[dict[str, Any]]) -> None:
        summary_path = self.paths.get("summary")
        if summary_path and summary is not None:
            Path(summary_path).parent.mkdir(parents=True, exist_ok=True)
            Path(summary_path).write_text(json.dumps(summary, indent=2) + "\n")
        wanted = {k: self.paths.get(k) for k in ("junit", "html", "markdown")}
        if any(wanted.values()):
            from fleetchaos.reports.run.export import write_all

            write_all(records, **wanted)


def outputs_from(opts: Any) -> dict[str, str | None]:
    """The report paths a Locust command line asked for (``--summary``, ``--junit``, ...)."""
    return {name: getattr(opts, option, "") or None for name, option in OUTPUT_OPTIONS.items()}


def build_engine(environment: Environment, scenario: Scenario, *, run_id: str | None = None,
                 journal_path: str | None = None, admin_token: str | None = None,
                 allow_remote: bool = False, seed: int | None = None,
                 outputs: Mapping[str, str | None] | None = None,
                 allow_host: str | None = None) -> Engine:
    """An engine for this Locust environment, with the real run set-up and report outputs."""
    run_id = run_id or new_run_id()  # names its owner: see fault_control
    seed = scenario.seed if seed is None else seed
    from fleetchaos.common.loopback import parse_hosts

    setup = LocustRunSetup(environment, scenario,
                           RunIdentity(run_id, seed, admin_token, allow_remote,
                                       parse_hosts(allow_host)))
    return Engine(environment, scenario, setup, run_id=run_id, journal_path=journal_path,
                  seed=seed, outputs=ReportOutputs(outputs or {}))

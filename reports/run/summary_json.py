"""The summary as JSON (the `--summary` file CI scripts read): its wire form is
``fleetchaos.scenarios.records.Summary.to_json``."""

from __future__ import annotations

import json

from fleetchaos.reports.run.report import RunReport


def render_summary_json(report: RunReport) -> str:
    return json.dumps(report.summary.to_json(), indent=2, default=str) + "\n"

"""The summary as JSON (the `--summary` file CI scripts read)."""

from __future__ import annotations

import json
from typing import Any

from fleetchaos.reports.model import RunReport


def render_summary_json(report: RunReport) -> str:
    summary: dict[str, Any] = dict(report.summary)
    return json.dumps(summary, indent=2, default=str) + "\n"

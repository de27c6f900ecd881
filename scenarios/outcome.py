"""The end of a run: its verdict and exit code, and the exports written from the journal.

Exit codes: 0 every SLO held, 1 an SLO breached (or the run was cut short), 2 bad input
or set-up failure (set by the engine before any verdict), 3 the harness failed, 4 a
scheduled fault touched nothing (``no-effect``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

EXIT_CODES = {"pass": 0, "fail": 1, "incomplete": 1, "error": 3, "no-effect": 4}


def final_verdict(summary: dict[str, Any], *, harness_error: str | None,
                  cut_short: bool) -> dict[str, Any]:
    """Override the SLO verdict when the run cannot have one; say why a no-effect is one."""
    if harness_error is not None:
        summary["verdict"] = "error"  # the harness failed: no verdict on the SLOs
        summary["error"] = harness_error
    elif cut_short:
        summary["verdict"] = "incomplete"  # cut short: no verdict on the SLOs
    elif summary.get("verdict") == "no-effect":
        for fault in summary.get("no_effect", []):
            print(f"fleetchaos: no-effect: {fault['message']}", file=sys.stderr, flush=True)
    return summary


def exit_code(verdict: str) -> int:
    return EXIT_CODES.get(verdict, 1)


def write_outputs(outputs: Mapping[str, str | None], summary: dict[str, Any] | None,
                  records: list[dict[str, Any]]) -> None:
    """--summary (JSON) and the JUnit, HTML and Markdown reports, all from the journal."""
    summary_path = outputs.get("summary")
    if summary_path and summary is not None:
        Path(summary_path).parent.mkdir(parents=True, exist_ok=True)
        Path(summary_path).write_text(json.dumps(summary, indent=2) + "\n")
    wanted = {k: outputs.get(k) for k in ("junit", "html", "markdown")}
    if any(wanted.values()):
        try:
            from fleetchaos.reports.export import write_all
        except ImportError:
            return
        write_all(records, **wanted)

"""The end of a run: its verdict and exit code (the exports are the Locust side's
``fleetchaos.locust_app.assembly.ReportOutputs``, handed to the engine).

Exit codes: 0 every SLO held, 1 an SLO breached (or the run was cut short), 2 bad input
or set-up failure (set by the engine before any verdict), 3 the harness failed, 4 a
scheduled fault touched nothing (``no-effect``).
"""

from __future__ import annotations

import sys
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


"""The end of a run: its verdict and exit code (the exports are the Locust side's
``fleetchaos.locust_app.assembly.ReportOutputs``, handed to the engine).

Exit codes (``fleetchaos.common.errors.VERDICT_EXIT_CODES``): 0 every SLO held, 1 an SLO
breached (or the run was cut short), 2 bad input or set-up failure, or the backend
refused the fleet's credentials (``refused``), 3 the harness failed, 4 the run proves
nothing (``no-effect``, ``under-delivered``, ``insufficient``).
"""

from __future__ import annotations

import sys
from typing import Any

from fleetchaos.common.errors import VERDICT_EXIT_CODES


def final_verdict(summary: dict[str, Any], *, harness_error: str | None,
                  cut_short: bool, refused: str | None = None) -> dict[str, Any]:
    """Override the SLO verdict when the run cannot have one; say why a no-effect, an
    under-delivered or an insufficient verdict is one (one line each on stderr)."""
    if harness_error is not None:
        summary["verdict"] = "error"  # the harness failed: no verdict on the SLOs
        summary["error"] = harness_error
        summary["verdict_reason"] = harness_error
    elif refused is not None:
        summary["verdict"] = "refused"  # the backend refused the fleet: nothing was tested
        summary["verdict_reason"] = refused
    elif cut_short:
        if summary.get("verdict") != "incomplete":  # the summary found the timeline ended
            summary["verdict_reason"] = "the run was cut short: " + str(
                summary.get("verdict_reason") or "no verdict")
        summary["verdict"] = "incomplete"  # cut short: no verdict on the SLOs
    elif summary.get("verdict") == "no-effect":
        for fault in summary.get("no_effect", []):
            print(f"fleetchaos: no-effect: {fault['message']}", file=sys.stderr, flush=True)
    elif summary.get("verdict") in ("under-delivered", "insufficient"):
        print(f"fleetchaos: {summary['verdict']}: {summary.get('verdict_reason')}",
              file=sys.stderr, flush=True)
    return summary


def exit_code(verdict: str) -> int:
    return VERDICT_EXIT_CODES.get(verdict, 1)


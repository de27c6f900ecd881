"""Exit codes and the exceptions that map to them, shared by the CLI and the Python API.

As pytest does, the code says what happened: 0 every SLO held, 1 an SLO breached,
2 bad input or a failed set-up (nothing ran, or nothing was left behind; the backend
refusing the fleet's credentials, before or during the run, is one), 3 the harness
itself failed (a child of the run died, stopped or stalled; an unexpected exception; a
step that failed mid-run), 4 the run proves
nothing: a fault had no effect or was delivered far below what the scenario asked, or
an SLO had too few samples to be judged.
"""

from __future__ import annotations

from pathlib import Path

EXIT_PASS = 0
EXIT_BREACH = 1
EXIT_BAD_INPUT = 2
EXIT_HARNESS = 3
EXIT_NO_EFFECT = 4  # also under-delivered and insufficient: the run proves nothing

# Every verdict a summary can carry (scenarios/verdict.py) and the exit code it means.
VERDICT_EXIT_CODES = {
    "pass": EXIT_PASS, "fail": EXIT_BREACH, "incomplete": EXIT_BREACH,
    "refused": EXIT_BAD_INPUT, "error": EXIT_HARNESS,
    "no-effect": EXIT_NO_EFFECT, "no_effect": EXIT_NO_EFFECT,
    "under-delivered": EXIT_NO_EFFECT, "insufficient": EXIT_NO_EFFECT,
}
# Exit codes of a run that ended with a verdict on its SLOs and faults.
VERDICT_CODES = (EXIT_PASS, EXIT_BREACH, EXIT_NO_EFFECT)

EXIT_CODES_HELP = """\
Exit codes: 0 every SLO held, 1 an SLO breached, 2 bad input or set-up failure
(refused credentials included), 3 the harness itself failed (a child of the run
died, stopped or stalled: named at once; or a traceback in the run's .cli.log),
4 no effect, under-delivered or insufficient (a fault never
reached the traffic or fell far short of its size, or an SLO lacked samples).
Every non-zero exit prints one line on stderr."""


class FleetchaosError(Exception):
    """Base of the errors fleetchaos raises on purpose."""


class UsageError(FleetchaosError, ValueError):
    """Bad input or a failed set-up: printed as one line, exit code 2, no traceback."""


class HarnessError(FleetchaosError, RuntimeError):
    """The harness failed (exit code 3): the message is one line, details are in ``log_path``."""

    def __init__(self, message: str, *, log_path: Path | None = None,
                 summary: object | None = None, announced: bool = False) -> None:
        super().__init__(message)
        self.log_path = log_path
        self.summary = summary
        self.announced = announced  # the line was printed when it happened: not again

"""Exit codes and the exceptions that map to them, shared by the CLI and the Python API.

As pytest does, the code says what happened: 0 every SLO held, 1 an SLO breached,
2 bad input or a failed set-up (nothing ran, or nothing was left behind), 3 the
harness itself failed (an unexpected exception, a step that failed mid-run),
4 no effect (the faults never reached the traffic, so the verdict proves nothing).
"""

from __future__ import annotations

from pathlib import Path

EXIT_PASS = 0
EXIT_BREACH = 1
EXIT_BAD_INPUT = 2
EXIT_HARNESS = 3
EXIT_NO_EFFECT = 4

EXIT_CODES_HELP = """\
Exit codes: 0 every SLO held, 1 an SLO breached, 2 bad input or set-up failure,
3 the harness itself failed (traceback in the run's .cli.log), 4 no effect (the
faults never reached the traffic). Every non-zero exit prints one line on stderr."""


class FleetchaosError(Exception):
    """Base of the errors fleetchaos raises on purpose."""


class UsageError(FleetchaosError, ValueError):
    """Bad input or a failed set-up: printed as one line, exit code 2, no traceback."""


class HarnessError(FleetchaosError, RuntimeError):
    """The harness failed (exit code 3): the message is one line, details are in ``log_path``."""

    def __init__(self, message: str, *, log_path: Path | None = None,
                 summary: object | None = None) -> None:
        super().__init__(message)
        self.log_path = log_path
        self.summary = summary

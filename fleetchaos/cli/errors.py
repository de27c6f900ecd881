"""One exception type for "the user gave us something we cannot use" (exit code 2)."""

from __future__ import annotations

EXIT_PASS = 0
EXIT_BREACH = 1
EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input or a failed set-up: printed as one line, exit code 2, no traceback."""

"""The two sides of `fleetchaos compare`, read from disk: a run's journal or its summary JSON.

A journal (JSON Lines with a header) keeps its records, so the HTML can overlay the two
runs' charts; a summary JSON (``--summary``, or a ``--repeat`` aggregate whose SLOs carry
a median and a spread) is taken as it is. Bad input is one line (UsageError, exit 2).
"""

from __future__ import annotations

from pathlib import Path

from fleetchaos.common.errors import UsageError
from fleetchaos.reports.compare.comparison import (
    CompareError,
    Comparison,
    RunInput,
    Tolerance,
    compare,
    parse_tolerance,
)


def load_run(path_text: str) -> RunInput:
    """A journal (JSON Lines with a header) or a summary JSON (an object with ``slos``).

    A file larger than one journal line may be is a journal: it is never read whole (a
    1 GB line costs no more memory than the line bound)."""
    from fleetchaos.scenarios.journal import (
        MAX_LINE_BYTES,
        JournalError,
        parse_line,
        read_journal,
    )

    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"{path_text}: no such file")
    whole = None
    try:
        if path.stat().st_size <= MAX_LINE_BYTES:
            text = path.read_text(encoding="utf-8", errors="replace")
            try:
                whole = parse_line(text, path_text)
            except JournalError:
                raise
            except ValueError:
                whole = None
    except OSError as exc:
        raise UsageError(f"{path_text}: cannot read: {exc.strerror}") from None
    if isinstance(whole, dict) and whole.get("type") not in ("header", "summary"):
        if not isinstance(whole.get("slos"), list):
            raise UsageError(f"{path_text}: a JSON object without 'slos': not a fleetchaos "
                             "summary")
        return RunInput.from_summary(path_text, whole)
    try:
        records = read_journal(path)
    except OSError as exc:
        raise UsageError(f"{path_text}: cannot read: {exc.strerror}") from None
    if not any(r.get("type") == "header" for r in records):
        raise UsageError(f"{path_text}: not a fleetchaos journal (no header record) "
                         "nor a summary JSON")
    return RunInput.from_records(path_text, records)


def run_compare(base: str, new: str, tolerances: list[str]) -> Comparison:
    try:
        given: dict[str, Tolerance] = dict(parse_tolerance(t) for t in tolerances)
        return compare(load_run(base), load_run(new), given)
    except CompareError as exc:
        raise UsageError(str(exc)) from None

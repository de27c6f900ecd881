"""The files of one web UI session: run 1 uses the command line's paths, each next run
(NEW -> START) the same names with ``.run2``, ``.run3``, ... before the suffix.

Free of Locust imports: ``fleetchaos ui`` (the runs layer) finds a session's journals and
reports with these functions after the Locust process has ended.
"""

from __future__ import annotations

import re
from pathlib import Path

JOURNAL_SUFFIX = ".journal.jsonl"
DOUBLE_SUFFIXES = (JOURNAL_SUFFIX, ".report.html", ".summary.json")  # what `ui` writes
_RUN_MARK = re.compile(r"\.run(\d+)$")


def _parts(path: Path) -> tuple[str, int, str]:
    """(base, run number, suffix): 'x.run3.journal.jsonl' -> ('x', 3, '.journal.jsonl')."""
    name = path.name
    suffix = next((d for d in DOUBLE_SUFFIXES if name.endswith(d)), path.suffix)
    stem = name[:len(name) - len(suffix)] if suffix else name
    found = _RUN_MARK.search(stem)
    if found is None:
        return stem, 1, suffix
    return stem[:found.start()], int(found.group(1)), suffix


def session_path(path: str | Path, run: int) -> Path:
    """The path of run ``run`` of a session whose first run used ``path`` (a journal, or a
    report: ``x.journal.jsonl`` -> ``x.run2.journal.jsonl``, ``r.html`` -> ``r.run2.html``)."""
    path = Path(path)
    base, _, suffix = _parts(path)
    return path.with_name(f"{base}{suffix}" if run <= 1 else f"{base}.run{run}{suffix}")


def run_number(path: str | Path) -> int:
    return _parts(Path(path))[1]


def sibling(path: str | Path, suffix: str) -> Path:
    """The same run's file of another kind: ``x.run2.journal.jsonl`` -> ``x.run2.report.html``."""
    path = Path(path)
    base, run, _ = _parts(path)
    return path.with_name(f"{base}{'' if run <= 1 else f'.run{run}'}{suffix}")


def session_journals(first: str | Path) -> list[Path]:
    """Every journal a web UI session wrote, run 1 first (the files that exist)."""
    first = Path(first)
    base, _, suffix = _parts(first)
    found = [(1, first)] if first.exists() else []
    if first.parent.is_dir():
        for path in first.parent.glob(f"{glob_escape(base)}.run*{glob_escape(suffix)}"):
            parts = _parts(path)
            if parts[0] == base and parts[2] == suffix and parts[1] > 1:
                found.append((parts[1], path))
    return [path for _, path in sorted(found)]


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)

"""Check every output path before anything starts, so a run never dies at its end.

A run that cannot write its journal or its report has wasted its minutes and, worse,
may have been killed by a traceback with faults in place. Each path the user named
(``--out``, ``--journal``, ``--summary``, ``--junit``, ``--html``, ``--markdown``) is
checked by really creating a file beside it — permission bits lie to root and do not
see read-only mounts — and a problem is one line naming the option and the path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from fleetchaos.common.errors import UsageError


class _Outputs(Protocol):
    out_dir: Path
    journal: Path | None
    summary: Path | None
    junit: Path | None
    html: Path | None
    markdown: Path | None

    @property
    def journal_path(self) -> Path: ...


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_directory(path: Path, label: str) -> None:
    """``path`` is (or can be made) a directory we can create files in; ``label`` starts errors."""
    for parent in [path, *path.parents]:
        if parent.exists():
            if not parent.is_dir():
                where = "" if parent == path else f" ({parent} is a file)"
                raise UsageError(f"{label}: not a directory{where}")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{label}: cannot create the directory: {_why(exc)}") from None
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".fleetchaos-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"{label}: cannot write there: {_why(exc)}") from None


def check_file(path: Path, option: str, *, may_exist: bool = True) -> None:
    """``path`` can be written (created, or replaced when it exists and ``may_exist``)."""
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory, expected a file path")
    if path.exists() and not may_exist:
        raise UsageError(f"{option} {path}: already exists; a journal is never appended to "
                         "(remove it or name a new file)")
    check_directory(path.parent, f"{option} {path}: its folder {path.parent}")
    if path.exists():
        try:
            with path.open("ab"):
                pass
        except OSError as exc:
            raise UsageError(f"{option} {path}: cannot write it: {_why(exc)}") from None


def check_output_paths(opts: _Outputs, *, api: bool = False) -> None:
    """Every output of a run is writable; raise UsageError (exit 2) naming the first that is not
    by its CLI option (``--summary``), or by its keyword argument (``summary=``) when ``api``."""

    def named(option: str) -> str:
        return f"{option}=" if api else f"--{option}"

    check_directory(opts.out_dir, f"{named('out')} {opts.out_dir}")
    check_file(opts.journal_path, named("journal"), may_exist=False)
    seen: dict[str, str] = {os.path.realpath(opts.journal_path): named("journal")}
    for option in ("summary", "junit", "html", "markdown"):
        path: Path | None = getattr(opts, option)
        if path is None:
            continue
        flag = named(option)
        real = os.path.realpath(path)
        if real in seen:
            raise UsageError(f"{flag} {path}: the same file as {seen[real]}")
        seen[real] = flag
        check_file(path, flag)

"""Check every output path before anything starts, so a run never dies at its end.

A run that cannot write its journal or its report has wasted its minutes and, worse,
may have been killed by a traceback with faults in place. Each path the user named
(``--out``, ``--journal``, ``--summary``, ``--junit``, ``--html``, ``--markdown``) is
checked by really creating a file beside it — permission bits lie to root and do not
see read-only mounts — and a problem is one line naming the option and the path.

No command writes over one of its inputs (issue 27: ``report j.jsonl --html j.jsonl``
replaced the journal with its report): every output is compared with every input before
anything is written, as the same file (``st_dev``/``st_ino``: a hard link, a symlink, a
``./`` spelling) when both exist, by resolved path when the output does not exist yet.
A device that refuses every write (``/dev/full``) is found by writing a newline to it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
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
    if path.exists() and not path.is_file():
        _probe_special(path, option)
        return
    check_directory(path.parent, f"{option} {path}: its folder {path.parent}")
    if path.exists():
        try:
            with path.open("ab"):
                pass
        except OSError as exc:
            raise UsageError(f"{option} {path}: cannot write it: {_why(exc)}") from None


def _probe_special(path: Path, option: str) -> None:
    """A device or a pipe named as an output: a character device gets one newline (what
    /dev/null swallows and /dev/full refuses); a FIFO must have a reader already."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISFIFO(mode):
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        elif stat.S_ISCHR(mode):
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            try:
                os.write(fd, b"\n")
            finally:
                os.close(fd)
        else:
            raise UsageError(f"{option} {path}: not a regular file, a pipe or a character "
                             "device: cannot write a report there")
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write it: {_why(exc)}") from None


def same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` name one file: the same inode when both exist (hard links, symlinks,
    other spellings), else the same resolved path (a file not created yet)."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def check_not_inputs(outputs: Mapping[str, Path | None],
                     inputs: Mapping[str, Path | None]) -> None:
    """No output is one of the inputs, and no two outputs are one file: UsageError (exit 2)
    naming the option and the input, before anything is written.

    ``outputs`` maps an option (``--html``) to its path, ``inputs`` a description (``the
    journal``, ``BASE``) to a file read; None entries are skipped."""
    given_inputs = [(what, path) for what, path in inputs.items() if path is not None]
    seen: list[tuple[str, Path]] = []
    for option, path in outputs.items():
        if path is None:
            continue
        for what, source in given_inputs:
            if same_file(path, source):
                raise UsageError(f"{option} {path}: that is {what} ({source}), an input of this "
                                 "command: writing it would destroy it; name another file")
        for other, earlier in seen:
            if same_file(path, earlier):
                raise UsageError(f"{option} {path}: the same file as {other}")
        seen.append((option, path))


def check_outputs(outputs: Mapping[str, Path | None], inputs: Mapping[str, Path | None]) -> None:
    """Every output is not an input, not another output, and writable: before any write."""
    check_not_inputs(outputs, inputs)
    for option, path in outputs.items():
        if path is not None:
            check_file(path, option)


def run_inputs(scenario: str, profiles: Iterable[str | None] = ()) -> dict[str, Path | None]:
    """The files a run reads: its scenario (a path, or the built-in's file) and its profile
    (when it is a file), for :func:`check_not_inputs`."""
    from fleetchaos.fleet_sim.profiles import resolve as resolve_profile
    from fleetchaos.scenarios.loader import resolve as resolve_scenario

    found: dict[str, Path | None] = {}
    with contextlib.suppress(ValueError):
        found["the scenario"] = resolve_scenario(scenario)
    for profile in profiles:
        if profile:
            with contextlib.suppress(ValueError):
                found["the profile"] = resolve_profile(profile)
    return found


def check_output_paths(opts: _Outputs, *, api: bool = False,
                       inputs: Mapping[str, Path | None] | None = None) -> None:
    """Every output of a run is writable and none is one of ``inputs`` (the scenario and
    profile files); raise UsageError (exit 2) naming the first that is not by its CLI option
    (``--summary``), or by its keyword argument (``summary=``) when ``api``."""

    def named(option: str) -> str:
        return f"{option}=" if api else f"--{option}"

    outputs: dict[str, Path | None] = {named("journal"): opts.journal_path}
    outputs.update({named(option): getattr(opts, option)
                    for option in ("summary", "junit", "html", "markdown")})
    check_not_inputs(outputs, inputs or {})
    check_directory(opts.out_dir, f"{named('out')} {opts.out_dir}")
    check_file(opts.journal_path, named("journal"), may_exist=False)
    for option in ("summary", "junit", "html", "markdown"):
        path: Path | None = getattr(opts, option)
        if path is not None:
            check_file(path, named(option))

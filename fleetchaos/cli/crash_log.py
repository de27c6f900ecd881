"""Where the traceback of an unexpected exception goes: never the terminal, never a pile.

A command that writes into a folder sends it there: a run's ``<out>/<run>.cli.log``,
``sweep``'s and ``breakpoint``'s ``<out>/fleetchaos-<pid>.cli.log``, beside what the user
will look at anyway. A command without one (``report``, ``compare``, ``validate``, or a
crash before the options are read) writes one file per user in the temporary folder,
``fleetchaos-<uid>.crash.log``, which the next crash replaces: before, every crash left a
``fleetchaos-<pid>.cli.log`` there that nothing removed (issue 27). That file is opened
without following a symlink and only when this user owns it, as /tmp is shared.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

_where: Path | None = None


def send_to(path: Path) -> None:
    """The traceback of a crash from now on goes to ``path`` (appended)."""
    global _where
    _where = path


def send_to_folder(folder: Path) -> None:
    send_to(folder / f"fleetchaos-{os.getpid()}.cli.log")


def fallback_path() -> Path:
    return Path(tempfile.gettempdir()) / f"fleetchaos-{os.getuid()}.crash.log"


def _append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def _replace_own(path: Path, text: str) -> None:
    """Write ``path`` afresh: no symlink followed, and only a file this user owns."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        if os.fstat(fd).st_uid != os.getuid():
            raise PermissionError(f"{path} belongs to another user")
        os.ftruncate(fd, 0)
        os.write(fd, text.encode("utf-8", errors="replace"))
    finally:
        os.close(fd)


def write(argv: list[str]) -> Path | None:
    """Write the current exception's traceback; return where it went (None: nowhere)."""
    text = (f"{datetime.now(UTC).isoformat()} fleetchaos {' '.join(argv)}\n"
            f"{traceback.format_exc()}\n")
    if _where is not None:
        try:
            _append(_where, text)
            return _where
        except OSError:
            pass
    try:
        _replace_own(fallback_path(), text)
        return fallback_path()
    except OSError:
        return None

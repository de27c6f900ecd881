"""Stop a run before its disk is full, and keep its journal whole if it fills anyway.

The journal, the child logs and the reference backend's database all live in the run's
output folder. On a full disk the journal's next line is cut in half and the run goes
on measuring nothing (an out dir on a 3 MB filesystem once never ended). So the CLI
watches the free space of the filesystems it writes to, stops the run gracefully while
there is still room for the rollback's records, and afterwards cuts a half-written last
line off the journal so that every reader sees a journal complete up to that point.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

LOW_WATER_BYTES = 1 << 20  # stop when less than 1 MiB is left ...
LOW_WATER_FRACTION = 0.15  # ... or, on a small filesystem, less than 15 % of it


class DiskWatch:
    """Reports when a filesystem the run writes to is nearly full."""

    def __init__(self, folders: list[Path]) -> None:
        seen: dict[int, Path] = {}
        for folder in folders:
            try:
                seen.setdefault(os.stat(folder).st_dev, folder)
            except OSError:
                continue
        self.folders = list(seen.values())

    def check(self) -> str | None:
        """None while there is room; otherwise a one-line reason naming the folder."""
        for folder in self.folders:
            try:
                usage = shutil.disk_usage(folder)
            except OSError:
                continue
            low = min(LOW_WATER_BYTES, int(usage.total * LOW_WATER_FRACTION))
            if usage.free < low:
                return (f"the disk holding {folder} is nearly full ({usage.free // 1024} KiB "
                        f"of {usage.total // 1024} KiB left)")
        return None


def cut_partial_last_line(path: Path) -> bool:
    """Drop a half-written last line (no newline: a write that failed); True if one was cut."""
    try:
        with path.open("rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return False
            fh.seek(max(0, size - 1))
            if fh.read(1) == b"\n":
                return False
            window = min(size, 4 << 20)
            fh.seek(size - window)
            data = fh.read(window)
            keep = size - window + data.rfind(b"\n") + 1 if b"\n" in data else 0
            fh.truncate(keep)
            return True
    except OSError:
        return False

"""Shared by the benchmarks: tools from Debian when missing, and writing the figures.

Figures are written by the benchmark that measured them, with the command and the
machine, into docs/benchmarks/NAME.md; nobody types them.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def ensure_tool(binary: str, package: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if os.path.exists(f"/usr/sbin/{binary}")
                                    else None)
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        path = shutil.which(binary) or f"/usr/sbin/{binary}"
        if os.path.exists(path):
            return path
    sys.exit(f"{binary} is needed (Debian package {package}); install it and rerun")


def machine() -> str:
    return (f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()},"
            f" {platform.system()} {platform.release()}")


README = DOCS.parents[1] / "README.md"


def write_doc(name: str, title: str, command: str, body: str, headline: str | None = None) -> Path:
    """Write docs/benchmarks/NAME.md and, given a headline, README's block for NAME."""
    if headline is not None:
        update_readme(name, f"{headline} ([details](docs/benchmarks/{name}.md), "
                            f"`{command}`, {datetime.now(UTC):%Y-%m-%d})")
    DOCS.mkdir(parents=True, exist_ok=True)
    path = DOCS / f"{name}.md"
    path.write_text(
        f"# {title}\n\n"
        f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {machine()}.\n"
        "Do not edit by hand: rerun the command.\n\n" + body.rstrip() + "\n")
    return path


def update_readme(name: str, line: str) -> None:
    """Replace the line between README's ``<!-- bench:NAME -->`` markers, if it has them."""
    update_marked(README, name, f"- {line}")


def update_marked(path: Path, name: str, text: str) -> None:
    """Replace what stands between ``<!-- bench:NAME -->`` markers in ``path``, if it has them."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    doc = path.read_text()
    if start not in doc or end not in doc:
        return
    head, rest = doc.split(start, 1)
    _old, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{text}\n{end}{tail}")

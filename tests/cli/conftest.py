"""Run the real `fleetchaos` entry point as a child process, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.pop("TOXIPROXY_URL", None)
    full_env["NO_COLOR"] = "1"
    full_env["COLUMNS"] = "100"
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "fleetchaos.cli", *args],
        cwd=cwd or REPO, env=full_env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def cli():
    return run_cli

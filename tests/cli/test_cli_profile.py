"""A scenario's `fleet.profile` is honoured by `fleetchaos run`, `fleetchaos ui` and plain
`locust -f` (issue 13: the orchestrator read it with getattr from a dict and always passed
`reference`, overriding the scenario)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import fleetchaos

PROFILES = Path(fleetchaos.__file__).resolve().parent / "fleet_sim" / "profiles"


def write_scenario(folder: Path, profile: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mine.yaml"
    path.write_text(textwrap.dedent(f"""\
        title: profile test
        duration: 20
        fleet: {{cars: 5, drivers: 5, profile: {profile}}}
        phases: [{{name: steady, start: 0, end: 20}}]
        slos:
          - {{metric: stranded_drivers, phase: all, max: 1000, min_samples: 0}}
        """))
    return path


@pytest.mark.parametrize("command", ["run", "ui"])
def test_a_builtin_profile_named_by_the_scenario_is_used(cli, tmp_path, command):
    """owner-api names no backend: the run must ask for --host instead of silently
    starting the reference backend with the reference profile."""
    scenario = write_scenario(tmp_path / "s", "owner-api")
    result = cli(command, str(scenario), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert "owner-api" in result.stderr and "Traceback" not in result.stderr


def header_of(journal: Path) -> dict[str, Any]:
    return json.loads(journal.read_text().splitlines()[0])


@pytest.mark.slow
def test_a_profile_path_relative_to_the_scenario_file_reaches_the_run(cli, backend, tmp_path):
    folder = tmp_path / "suite"
    (folder / "profiles").mkdir(parents=True)
    shutil.copy(PROFILES / "reference.yaml", folder / "profiles" / "ours.yaml")
    scenario = write_scenario(folder, "profiles/ours.yaml")
    journal = tmp_path / "j.jsonl"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    result = cli("run", str(scenario), "--host", backend.url, "--out", str(tmp_path / "out"),
                 "--journal", str(journal), "--time-scale", "0.3", "--no-live", cwd=elsewhere,
                 env={"FLEETCHAOS_ADMIN_TOKEN": "test-admin-token"}, timeout=240)
    assert result.returncode == 0, result.stderr
    assert header_of(journal)["target"]["profile"] == str(folder / "profiles" / "ours.yaml")


@pytest.mark.slow
def test_plain_locust_honours_the_scenario_profile(backend, tmp_path):
    folder = tmp_path / "suite"
    (folder / "profiles").mkdir(parents=True)
    shutil.copy(PROFILES / "reference.yaml", folder / "profiles" / "ours.yaml")
    scenario = write_scenario(folder, "profiles/ours.yaml")
    journal = tmp_path / "j.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"}
    env["FLEETCHAOS_ADMIN_TOKEN"] = "test-admin-token"
    locustfile = Path(fleetchaos.__file__).resolve().parent / "locustfile.py"
    result = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
         "--host", backend.url, "--scenario", str(scenario), "--time-scale", "0.3",
         "--journal", str(journal)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
        stdin=subprocess.DEVNULL)
    assert journal.exists(), result.stderr[-2000:]
    assert header_of(journal)["target"]["profile"] == str(folder / "profiles" / "ours.yaml")
    assert result.returncode == 0, result.stderr[-2000:]

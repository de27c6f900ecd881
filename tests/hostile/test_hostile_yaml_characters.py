"""A control character in a scenario or a profile (BEL, ESC, DEL, U+FFFE: YAML allows none
of them unescaped) is a line naming the file, the line and the character, exit 2 — for
`validate` and for `run`, before anything starts (issue 27: it was exit 3, "internal
error: ReaderError", and a traceback file in the system temp folder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleetchaos.fleet_sim.profiles import ProfileError, load_profile
from fleetchaos.scenarios.loader import load_scenario
from fleetchaos.scenarios.schema import ScenarioError

CHARACTERS = {"BEL": "\x07", "ESC": "\x1b", "DEL": "\x7f", "U+FFFE": "\ufffe"}


def _cli(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "fleetchaos.cli", *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, env=env)


@pytest.mark.parametrize("name", sorted(CHARACTERS))
def test_a_control_character_in_a_scenario_is_a_scenario_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"title: baseline\ndescription: a{CHARACTERS[name]}b\nduration: 10\n",
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path))
    message = str(info.value)
    code = f"U+{ord(CHARACTERS[name]):04X}"
    assert f"{path}:2:" in message and code in message, message
    assert "\n" not in message and CHARACTERS[name] not in message


@pytest.mark.parametrize("name", sorted(CHARACTERS))
def test_a_control_character_in_a_profile_is_a_profile_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"name: mine\nbase_url: http://127.0.0.1:1/{CHARACTERS[name]}\n",
                    encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(str(path))
    assert f"U+{ord(CHARACTERS[name]):04X}" in str(info.value) and ":2:" in str(info.value)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_validate_and_run_refuse_a_control_character_in_one_line(tmp_path: Path,
                                                                 command: str) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("title: bell\x07\nduration: 10\n", encoding="utf-8")
    profile = tmp_path / "p.yaml"
    profile.write_text("name: mine\nbase_url: http://127.0.0.1:1/\x1b\n", encoding="utf-8")
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "out"
    for args in ([str(scenario)], ["baseline", "--target", str(profile)]):
        extra = ["--out", str(out)] if command == "run" else []
        proc = _cli(command, *args, *extra, tmp=temp)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and ("U+0007" in lines[0] or "U+001B" in lines[0]), proc.stderr
    assert not list(temp.iterdir()), "no crash log anywhere"
    assert not out.exists() or not list(out.iterdir()), "nothing started, nothing written"

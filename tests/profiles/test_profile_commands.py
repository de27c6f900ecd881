"""`fleetchaos validate --target`, the scenario's own `fleet.profile`, `scenarios --show`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleetchaos.scenarios.loader import LIBRARY

FLEETCHAOS = str(Path(sys.executable).parent / "fleetchaos")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLEETCHAOS, *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_validate_a_profile_alone_and_with_a_scenario(tmp_path):
    proc = _cli("validate", "--target", "generic-rest")
    assert proc.returncode == 0 and proc.stdout.startswith("ok: profile generic-rest:")
    proc = _cli("validate", "baseline", "--target", "generic-rest")
    assert proc.returncode == 0, proc.stderr
    # the scenario's own profile is checked as well as the one named by --target
    assert "ok: profile reference:" in proc.stdout and "ok: profile generic-rest:" in proc.stdout


def test_validate_refuses_a_scenario_whose_own_profile_does_not_exist():
    """Issue 15: `validate baseline --set fleet.profile=nonexistent.yaml` said ok."""
    proc = _cli("validate", "baseline", "--set", "fleet.profile=nonexistent.yaml")
    assert proc.returncode == 2
    assert "nonexistent.yaml: no such profile file" in proc.stderr


def test_validate_reports_a_profile_error_with_file_line_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("actions:\n  unlock: {method: POST, path: \"/v/{VIN}/unlock\"}\n"
                   "telemetry: {transport: http, path: /t, retries: 3}\n")
    proc = _cli("validate", "--target", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{bad}:2: actions.unlock.path: unknown placeholder {{VIN}}; did you mean {{vin}}?" \
        in proc.stderr
    bad.write_text(bad.read_text().replace("{VIN}", "{vin}"))
    proc = _cli("validate", "--target", str(bad))
    assert f"{bad}:3: telemetry.retries: expected one of" in proc.stderr


def test_scenarios_show_prints_the_builtin_yaml():
    proc = _cli("scenarios", "--show", "api-500-storm")
    assert proc.returncode == 0
    assert proc.stdout == (LIBRARY / "api-500-storm.yaml").read_text()
    proc = _cli("scenarios", "--show", "nope")
    assert proc.returncode == 2 and "nope: not a built-in scenario (api-500-storm" in proc.stderr

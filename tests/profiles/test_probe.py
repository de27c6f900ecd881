"""`fleetchaos probe` and the checks `fleetchaos run` makes before it starts anything,
against the real reference backend."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fleetchaos.fleet_sim.probe import check_reachable
from fleetchaos.fleet_sim.profiles import BUILTIN_DIR, ProfileError, load_profile

FLEETCHAOS = str(Path(sys.executable).parent / "fleetchaos")


def _cli(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLEETCHAOS, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env}, stdin=subprocess.DEVNULL)


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_probe_the_reference_backend_end_to_end(backend):
    proc = _cli(["probe", "--target", "reference", "--host", backend.url],
                FLEETCHAOS_ADMIN_TOKEN="test-admin-token")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for label in ("registration", "login", "list_vehicles", "vehicle_data", "unlock",
                  "telemetry"):
        assert f"ok   {label}:" in proc.stdout
    assert '< 101 {"type": "ack", "seq": 1}' in proc.stdout  # the WebSocket ack contract
    # the probe's car is online on its WebSocket and acks the command: a real unlock
    assert '< 200 {"response": {"result": true' in proc.stdout.split("ok   unlock:")[1]
    assert "Bearer eyJ" in proc.stdout and "chars)" in proc.stdout  # the token is masked


def test_probe_names_what_to_fix_and_exits_2(backend, tmp_path):
    text = (BUILTIN_DIR / "reference.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("/command/door_unlock", "/command/unlock_door"))
    proc = _cli(["probe", "--target", str(bad), "--host", backend.url],
                FLEETCHAOS_ADMIN_TOKEN="test-admin-token")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "FAIL unlock: POST" in proc.stdout
    assert "fix: actions.unlock.path: the backend has no POST /api/1/vehicles/1/command/" \
           "unlock_door" in proc.stdout
    assert "1 of 8 answers were not what the profile expects" in proc.stdout


def test_check_reachable_refuses_a_closed_port_and_a_failed_login(backend, tmp_path):
    profile = load_profile("reference")
    check_reachable(profile, backend.url)  # registers later: any answer to the login is enough
    with pytest.raises(ProfileError, match=r"does not answer \(connection refused\)"):
        check_reachable(profile, _closed_port())
    text = (BUILTIN_DIR / "reference.yaml").read_text().split("registration:")[0]
    unregistered = tmp_path / "no-registration.yaml"
    unregistered.write_text(text)
    with pytest.raises(ProfileError, match=r"^the backend refused the fleet's credentials: "
                                           r"401 on auth.login \(POST .*/oauth/token; "):
        check_reachable(load_profile(str(unregistered)), backend.url)


def test_run_refuses_a_bad_profile_before_starting_anything(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((BUILTIN_DIR / "generic-rest.yaml").read_text()
                   .replace("{access_token}", "{acess_token}"))
    out = tmp_path / "out"
    proc = _cli(["run", "baseline", "--target", str(bad), "--host", _closed_port(),
                 "--out", str(out), "--no-live"])
    assert proc.returncode == 2
    assert "auth.header.Authorization: unknown placeholder {acess_token}; did you mean " \
           "{access_token}?" in proc.stderr
    assert not out.exists() or not any(out.iterdir())  # no Toxiproxy, no Locust, no log

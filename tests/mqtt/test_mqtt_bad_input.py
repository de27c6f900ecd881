"""Bad MQTT input stops `fleetchaos run` with exit 2 and one line, before the fleet starts:
no journal is written and nothing the run would start is left running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fleetchaos.mqtt_broker import find_mosquitto

REFERENCE_MQTT = Path(__file__).parents[2] / "fleet_sim/profiles/reference-mqtt.yaml"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "fleetchaos.cli", "run", "mqtt-verbosity-flood", "--no-live",
         "--out", str(out), *args],
        env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL)
    assert not list(out.glob("*.journal.jsonl")), "the fleet started"
    return proc


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def profile_with(tmp_path: Path, extra: str, replace: tuple[str, str] = ("", "")) -> Path:
    text = REFERENCE_MQTT.read_text().replace(*replace)
    path = tmp_path / "cars.yaml"
    path.write_text(text.replace("  keepalive_s: 30\n", f"  keepalive_s: 30\n{extra}"))
    return path


def test_an_unreachable_broker(tmp_path):
    port = _free_port()
    line = one_line(run(tmp_path, env={"MQTT_URL": f"mqtt://127.0.0.1:{port}"}))
    assert f"MQTT broker mqtt://127.0.0.1:{port} is unreachable" in line


def test_a_broker_url_with_port_0_is_refused_not_dialled_on_1883(tmp_path):
    line = one_line(run(tmp_path, env={"MQTT_URL": "mqtt://127.0.0.1:0"}))
    assert "mqtt://127.0.0.1:0" in line and "port 0" in line and "1883" not in line


def test_a_broker_url_off_loopback_is_refused(tmp_path):
    line = one_line(run(tmp_path, env={"MQTT_URL": "mqtt://192.0.2.1:1883"}))
    assert "MQTT_URL" in line and "not on loopback" in line


def test_an_invalid_topic_template(tmp_path):
    path = profile_with(tmp_path, "", ('topic: "fleet/{vin}/telemetry"', 'topic: "fleet/+/x"'))
    line = one_line(run(tmp_path, "--target", str(path)))
    assert f"{path}:31: telemetry.topic: expected a topic name to publish to, not a wildcard" \
        in line


@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto not installed: "
                    "`apt-get install -y mosquitto` (make test does it as root)")
def test_bad_credentials(tmp_path, backend):
    from fleetchaos import mqtt_broker

    path = profile_with(tmp_path, "", ('username: "{vin}"\n  password: "{mqtt_password}"',
                                       'username: "car"\n  password: "${CAR_PASSWORD}"'))
    assert "${CAR_PASSWORD}" in path.read_text()
    with mqtt_broker.run_in_subprocess(tmp_path / "b", users={"car": "right"}) as broker:
        line = one_line(run(tmp_path, "--target", str(path), "--host", backend.url,
                            env={"MQTT_URL": broker.url, "CAR_PASSWORD": "wrong"}))
    assert line.endswith(f"MQTT broker {broker.url} refused the profile's "
                         "telemetry.username/password: Not authorized")

"""`fleetchaos run mqtt-verbosity-flood` end to end (60 s; at half time a 10 s flood on a
busy machine did not always starve the pool): the 2021 lockout through
a real broker. Baseline holds, the flood's unlocks come back 500 because the MQTT
consumer's stores hold the shared pool (nothing returns 500 on purpose), recovery is
measured, the broker's $SYS figures are in the samples, and afterwards nothing the run
started is listening and no fault is left."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import pytest

from fleetchaos.mqtt_broker import find_mosquitto


def _listening(hostport: str) -> bool:
    host, port = hostport.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def _unlock_statuses(phase: dict[str, Any]) -> dict[str, int]:
    return phase["by_action"].get("unlock", {}).get("by_status", {})


@pytest.mark.slow
@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto not installed: "
                    "`apt-get install -y mosquitto` (make test does it as root)")
def test_the_2021_lockout_through_the_broker(tmp_path):
    summary_path = tmp_path / "summary.json"
    env = {k: v for k, v in os.environ.items() if k not in ("MQTT_URL", "TOXIPROXY_URL")}
    proc = subprocess.run(
        [sys.executable, "-m", "fleetchaos.cli", "run", "mqtt-verbosity-flood", "--no-live",
         "--out", str(tmp_path), "--summary", str(summary_path)],
        env=env, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc.stderr[-3000:]  # SLOs breached by the flood
    summary = json.loads(summary_path.read_text())
    phases = {p["name"]: p for p in summary["phases"]}
    baseline, flood = _unlock_statuses(phases["baseline"]), _unlock_statuses(phases["flood"])
    assert baseline.get("200", 0) > 0 and not any(s.startswith("5") for s in baseline)
    assert flood.get("500", 0) > 0
    assert summary["recovery"]["status"] in ("recovered", "not_recovered")
    assert summary["faults_left"] == 0
    [journal] = tmp_path.glob("*.journal.jsonl")
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    header = next(r for r in records if r["type"] == "header")
    brokers = [r["broker"] for r in records if r["type"] == "sample" and r.get("broker")]
    assert brokers and brokers[-1]["messages_in"] > brokers[0].get("messages_in", 0)
    assert {"messages_out", "dropped", "queued_inflight"} <= set(brokers[-1])
    target = header["target"]
    left = [hp for hp in [*target["proxies"].values(),
                          urlsplit(target["toxiproxy_url"]).netloc,
                          urlsplit(target["mqtt_url"]).netloc,
                          urlsplit(target["host"]).netloc] if _listening(hp)]
    assert left == []

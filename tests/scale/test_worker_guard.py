"""What a worker does with the fleet config its master sends (fleet_sim/knobs.py): it takes
its own share of several Toxiproxy servers, and it refuses to load proxies outside
loopback that its own --allow-host / --allow-remote do not name (exit code 2).

A real Locust master and two real workers in one child process (Environment's
create_master_runner / create_worker_runner over ZeroMQ on loopback, as Locust's own
tests run them); the child process keeps Locust's monkey-patching out of pytest's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHILD = r'''
import argparse
import json
import socket
import sys
import time

import gevent
from locust.env import Environment

from fleetchaos.fleet_sim import knobs
from fleetchaos.fleet_sim.locust_users import CarUser

allow_host = sys.argv[1]
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
master = Environment(user_classes=[CarUser])
master.create_master_runner("127.0.0.1", port)
knobs.install(master)
workers = []
for _ in range(2):
    env = Environment(user_classes=[CarUser])
    env.parsed_options = argparse.Namespace(allow_remote=False, allow_host=allow_host,
                                            web_base_path="")
    env.create_worker_runner("127.0.0.1", port)
    knobs.install(env)
    workers.append(env)
deadline = time.monotonic() + 30
while master.runner.worker_count < 2 and time.monotonic() < deadline:
    gevent.sleep(0.1)
shares = [{"api_url": "http://127.0.0.1:1001", "telemetry_url": "http://127.0.0.1:2001"},
          {"api_url": "http://10.9.9.9:1002", "telemetry_url": "http://10.9.9.9:2002"}]
knobs.broadcast(master, {"api_url": shares[0]["api_url"],
                         "telemetry_url": shares[0]["telemetry_url"], "proxy_shares": shares})
deadline = time.monotonic() + 10
while time.monotonic() < deadline and not all(
        knobs.current(w).api_url or w.process_exit_code is not None for w in workers):
    gevent.sleep(0.1)
out = [{"index": w.runner.worker_index, "api_url": knobs.current(w).api_url,
        "telemetry_url": knobs.current(w).telemetry_url, "exit": w.process_exit_code}
       for w in workers]
json.dump(sorted(out, key=lambda w: w["index"]), open(sys.argv[2], "w"))
for w in workers:
    w.runner.quit()
master.runner.quit()
'''


def run_child(tmp_path: Path, allow_host: str) -> tuple[list[dict[str, object]], str]:
    script = tmp_path / "guard.py"
    script.write_text(CHILD)
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, str(script), allow_host, str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.exists(), proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stderr


def test_each_worker_takes_its_share_of_the_toxiproxy_servers(tmp_path):
    workers, _ = run_child(tmp_path, "10.9.9.9")
    assert [w["index"] for w in workers] == [0, 1]
    assert [(w["api_url"], w["telemetry_url"]) for w in workers] == [
        ("http://127.0.0.1:1001", "http://127.0.0.1:2001"),
        ("http://10.9.9.9:1002", "http://10.9.9.9:2002")]
    assert [w["exit"] for w in workers] == [None, None]


def test_a_worker_refuses_proxies_outside_loopback_it_was_not_allowed(tmp_path):
    workers, stderr = run_child(tmp_path, "10.9.9.8")  # not the address its share names
    assert workers[0]["exit"] is None and workers[0]["api_url"] == "http://127.0.0.1:1001"
    assert workers[1]["exit"] == 2 and workers[1]["api_url"] == ""  # nothing applied
    refusals = [line for line in stderr.splitlines() if line.startswith("fleetchaos: error:")]
    assert refusals == ["fleetchaos: error: this worker refuses to load the master's api_url "
                        "'http://10.9.9.9:1002' is not on loopback (127.0.0.0/8 or ::1); "
                        "fleetchaos sends load and faults only to this machine unless you "
                        "allow exactly that address (--allow-host 10.9.9.9) or every address "
                        "(--allow-remote)"]

"""The harness under its own chaos (issue 27): 20 runs, each losing one random child —
the reference backend, the built-in Toxiproxy server, Mosquitto or a Locust worker — to
SIGKILL or SIGSTOP at a random moment while a toxic and a verbosity flood are on.

Every run must end with exit 3 and one line on stderr naming that child (and its pid),
printed within 2 s of the signal; leave no fault of its own on the surviving Toxiproxy
(an external one the test owns, so it can look after the run); leave nothing listening
and no process behind; and leave a journal that reads back with the verdict ``error``.

The random choices come from one seed, printed (and in every failure message): rerun
with ``FLEETCHAOS_SELF_CHAOS_SEED=<seed>`` to replay them. Two runs go at a time and
each is a few seconds long (small fleet, a 10 s scenario), so the whole test stays near
a minute and a half on a loaded 2-core machine.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from fleetchaos.mqtt_broker import find_mosquitto
from fleetchaos.scenarios.journal import read_journal

RUNS = 20
PARALLEL = 2
LINE_WITHIN_S = 2.0  # the bound: the child named within 2 s of its death
EXIT_WITHIN_S = 20.0  # the whole teardown (generous: a loaded machine)

SCENARIO = """\
title: self-chaos - a toxic and a flood on while a child of the run dies
duration: 10
fleet: {{cars: 6, drivers: 4, patience_s: 5, need_interval_s: 2, profile: {profile}}}
proxies: {{api: backend, telemetry: {telemetry}}}
phases: [{{name: chaos, start: 0, end: 10}}]
timeline:
  - {{at: 0.3, duration: 9.5, toxic: {{proxy: api, type: latency, attributes: {{latency: 30}}}}}}
  - {{at: 0.3, duration: 9.5, verbosity: {{level: 5, cohort: 0.5}}}}
slos:
  - {{name: unlocks work, metric: unlock_success_ratio, phase: chaos, min: 0.5}}
"""

VICTIMS = ("backend", "toxiproxy", "mosquitto", "locust worker")
NAMED = {"backend": "the reference backend", "toxiproxy": "the built-in Toxiproxy server",
         "mosquitto": "Mosquitto", "locust worker": "a Locust worker"}


@dataclass
class Plan:
    n: int
    victim: str
    sig: signal.Signals
    after_s: float  # after the journal's header


@dataclass
class Outcome:
    plan: Plan
    rc: int | None = None
    stderr: list[tuple[float, str]] = field(default_factory=list)
    killed_at: float | None = None
    ended_at: float | None = None
    victim_pid: int | None = None
    tree: list[int] = field(default_factory=list)  # every process of the run, at the kill
    journal: Path | None = None
    problem: str = ""


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _victim_pid(cli: int, victim: str) -> int | None:
    for pid in _children(cli):
        line = _cmdline(pid)
        if victim == "backend" and "fleetchaos.reference_backend" in line:
            return pid
        if victim == "toxiproxy" and "fleetchaos.toxiproxy_server" in line:
            return pid
        if victim == "mosquitto" and "mosquitto" in line.split(" ", 1)[0]:
            return pid
        if victim == "locust worker" and "-m locust" in line:
            workers = [w for w in _children(pid) if _cmdline(w) == line]  # forked copies
            return workers[0] if workers else None
    return None


def _refuses(url: str) -> bool:
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80),
                                      timeout=2):
            return False
    except OSError:
        return True


def one_run(plan: Plan, folder: Path, toxiproxy_url: str) -> Outcome:
    out = Outcome(plan)
    mqtt = plan.victim == "mosquitto"
    scenario = folder / f"run{plan.n:02d}.yaml"
    scenario.write_text(SCENARIO.format(profile="reference-mqtt" if mqtt else "reference",
                                        telemetry="broker" if mqtt else "backend"))
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("MQTT_URL", None)
    env.pop("TOXIPROXY_URL", None)
    if plan.victim != "toxiproxy":  # the survivor the test looks at afterwards
        env["TOXIPROXY_URL"] = toxiproxy_url
    workers = "2" if plan.victim == "locust worker" else "1"
    run_out = folder / f"out{plan.n:02d}"
    cli = subprocess.Popen(
        [sys.executable, "-m", "fleetchaos.cli", "run", str(scenario), "--no-live",
         "--workers", workers, "--out", str(run_out)], env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def read() -> None:
        assert cli.stderr is not None
        for line in cli.stderr:
            out.stderr.append((time.monotonic(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and cli.poll() is None:
            journals = list(run_out.glob("*.journal.jsonl"))
            if journals and b'"header"' in journals[0].read_bytes()[:65536]:
                out.journal = journals[0]
                break
            time.sleep(0.05)
        if out.journal is None:
            cli.wait(timeout=60)
            reader.join(timeout=10)
            out.problem = (f"the run never wrote its journal's header (exit {cli.returncode}: "
                           f"{[x for _, x in out.stderr][-3:]})")
            return out
        time.sleep(plan.after_s)
        out.victim_pid = _victim_pid(cli.pid, plan.victim)
        if out.victim_pid is None:
            out.problem = f"no {plan.victim} process under the CLI"
            return out
        out.tree = _tree(cli.pid)
        out.killed_at = time.monotonic()
        os.kill(out.victim_pid, plan.sig)
        out.rc = cli.wait(timeout=120)
        out.ended_at = time.monotonic()
        reader.join(timeout=10)
        return out
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        if out.victim_pid is not None and plan.sig == signal.SIGSTOP and _alive(out.victim_pid):
            os.kill(out.victim_pid, signal.SIGKILL)  # never leave a stopped process behind


def check(o: Outcome, toxiproxy_url: str, seed: int) -> list[str]:
    """Every promise of the issue for one run; the list of those it broke."""
    p = o.plan
    tag = f"run {p.n} ({p.victim}, {p.sig.name} {p.after_s:.2f} s after the header)"
    if o.problem:
        return [f"{tag}: {o.problem}"]
    broke = []
    assert o.killed_at is not None and o.ended_at is not None
    if o.rc != 3:
        broke.append(f"{tag}: exit {o.rc}, expected 3; stderr {[x for _, x in o.stderr]}")
    lines = [(t, x) for t, x in o.stderr if x.strip()]
    named = [(t, x) for t, x in lines if NAMED[p.victim] in x and f"pid {o.victim_pid}" in x]
    if len(lines) != 1 or not named:
        broke.append(f"{tag}: expected one line naming {NAMED[p.victim]} (pid {o.victim_pid}); "
                     f"got {[x for _, x in lines]}")
    elif named[0][0] - o.killed_at > LINE_WITHIN_S:
        broke.append(f"{tag}: named {named[0][0] - o.killed_at:.2f} s after the signal")
    if o.ended_at - o.killed_at > EXIT_WITHIN_S:
        broke.append(f"{tag}: exited {o.ended_at - o.killed_at:.1f} s after the signal")
    assert o.journal is not None
    records = read_journal(o.journal)  # readable, as every report reads it
    header = next(r for r in records if r["type"] == "header")
    summary = next(r for r in reversed(records) if r["type"] == "summary")
    failure = [r for r in records if r["type"] == "error" and r.get("what") == "child"]
    if summary.get("verdict") != "error" or not failure or failure[0].get("child") != p.victim:
        broke.append(f"{tag}: journal verdict {summary.get('verdict')}, failure {failure}")
    if any(s.get("passed") for s in summary.get("slos", [])):
        broke.append(f"{tag}: an SLO judged PASS on a dead part")
    marker = f"fc-{header['run_id']}-"
    if p.victim != "toxiproxy":
        proxies = requests.get(f"{toxiproxy_url}/proxies", timeout=10).json()
        left = [n for n, proxy in proxies.items() if n.startswith(marker)]
        left += [t["name"] for proxy in proxies.values() for t in proxy.get("toxics", [])
                 if t["name"].startswith(marker)]
        if left:
            broke.append(f"{tag}: left on the surviving Toxiproxy: {left}")
    target = header.get("target") or {}
    addresses = [target.get("host"), *(target.get("proxies") or {}).values()]
    if p.victim == "toxiproxy" or target.get("toxiproxy_server") == "built-in":
        addresses.append(target.get("toxiproxy_url"))
    if target.get("mqtt_url"):
        addresses.append(str(target["mqtt_url"]).replace("mqtt://", "tcp://"))
    listening = [a for a in addresses if isinstance(a, str) and a and not _refuses(a)]
    if listening:
        broke.append(f"{tag}: still listening: {listening}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in o.tree):
        time.sleep(0.1)
    survivors = [f"{pid} {_cmdline(pid)[:80]}" for pid in o.tree if _alive(pid)]
    if survivors:
        broke.append(f"{tag}: processes left: {survivors}")
    if list(o.journal.parent.glob(".*backend-db-*")):
        broke.append(f"{tag}: the backend's database folder was left")
    return [f"[seed {seed}] {x}" for x in broke]


@pytest.mark.slow
def test_every_child_death_is_named_within_2_s_and_leaves_nothing(tmp_path: Path,
                                                                  toxiproxy: Any) -> None:
    seed = int(os.environ.get("FLEETCHAOS_SELF_CHAOS_SEED") or random.SystemRandom().randrange(10**6))
    print(f"self-chaos seed {seed} (replay: FLEETCHAOS_SELF_CHAOS_SEED={seed})")
    rng = random.Random(seed)
    victims = [v for v in VICTIMS if v != "mosquitto" or find_mosquitto() is not None]
    plans = [Plan(n, rng.choice(victims), rng.choice((signal.SIGKILL, signal.SIGSTOP)),
                  round(rng.uniform(0.3, 4.0), 2)) for n in range(1, RUNS + 1)]
    started = time.monotonic()
    with ThreadPoolExecutor(PARALLEL) as pool:
        outcomes = list(pool.map(lambda p: one_run(p, tmp_path, toxiproxy.url), plans))
    broke = [x for o in outcomes for x in check(o, toxiproxy.url, seed)]
    delays = [next((t for t, x in o.stderr if x.strip()), o.ended_at or 0) - (o.killed_at or 0)
              for o in outcomes if o.killed_at is not None]
    exits = [(o.ended_at or 0) - (o.killed_at or 0) for o in outcomes if o.killed_at is not None]
    print(json.dumps({"seed": seed, "runs": len(outcomes), "seconds": round(time.monotonic() - started, 1),
                      "victims": {v: sum(1 for p in plans if p.victim == v) for v in victims},
                      "line_after_s_max": round(max(delays, default=0), 2),
                      "exit_after_s_max": round(max(exits, default=0), 2),
                      "exit_after_s_median": round(sorted(exits)[len(exits) // 2], 2) if exits else None}))
    assert not broke, "\n".join(broke)
    proxies = requests.get(f"{toxiproxy.url}/proxies", timeout=10).json()
    assert proxies == {}, f"[seed {seed}] the surviving Toxiproxy still holds {list(proxies)}"

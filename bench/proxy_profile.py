"""Where the built-in Toxiproxy server's time goes at 32 connections, measured, not guessed.

Four readings, each written into docs/benchmarks/toxiproxy.md by bench.toxiproxy_bench:
the whole machine's CPU per request, direct, through the proxy and through a forwarder
that stays inside the kernel (bench.sockmap_forwarder), which bounds what any proxy can
reach here; CPU time per request of each process (proxy, nginx, wrk) from /proc; the
floor the kernel sets for any user-space proxy (one loopback send + receive); and a
py-spy profile of the proxy (native frames included) folded into the system call it was
in or the Python code it was running.
"""

from __future__ import annotations

import collections
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

TICKS = os.sysconf("SC_CLK_TCK")
KERNEL = "in-kernel forwarder (BPF sockmap)"


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def children(pid: int) -> list[int]:
    """Child processes of every thread of ``pid``."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(p) for p in task.read_text().split()]
    return found


T = TypeVar("T")
Load = Callable[[int], dict[str, float]]  # runs wrk for N seconds, returns its figures


def wrk_pid() -> int:
    """The wrk process a Load started (from a thread of this process)."""
    for _ in range(50):
        for pid in children(os.getpid()):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "wrk":
                return pid
        time.sleep(0.02)
    raise RuntimeError("wrk did not start")


def steady_window(load: Load, sample: Callable[[], T], seconds: int,
                  started: Callable[[], None] = lambda: None) -> tuple[T, T, float]:
    """``sample()`` 1 s into a run of ``load`` and ``seconds`` later, and the run's req/s.
    ``started`` runs once the load is under way (to find its wrk process)."""
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(load, seconds + 2)
        started()
        time.sleep(1.0)
        before = sample()
        time.sleep(seconds)
        after = sample()
        return before, after, running.result()["rps"]


def cpu_per_request(load: Load, pids: dict[str, int], seconds: int = 5) -> dict[str, float]:
    """µs of CPU each process spends per request while the load runs."""
    def add_wrk() -> None:
        pids["wrk"] = wrk_pid()

    pids = dict(pids)
    before, after, rps = steady_window(
        load, lambda: {name: cpu_ticks(pid) for name, pid in pids.items()}, seconds, add_wrk)
    requests = rps * seconds
    result = {name: (after[name] - before[name]) / TICKS / requests * 1e6 for name in pids}
    result["share_of_core_proxy"] = (after["proxy"] - before["proxy"]) / TICKS / seconds
    result["rps"] = rps
    return result


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def machine_cpu(load: Load, seconds: int = 5) -> dict[str, float]:
    """req/s, cores busy and µs of the whole machine's CPU per request under ``load``."""
    (busy0, total0), (busy1, total1), rps = steady_window(load, machine_ticks, seconds)
    cores = os.cpu_count() or 1
    return {"rps": rps, "cores": (busy1 - busy0) / (total1 - total0) * cores,
            "us": (busy1 - busy0) / TICKS / (rps * seconds) * 1e6}


def machine_table(loads: dict[str, Load], rounds: int = 2) -> list[str]:
    """The same 11 B load on each path (direct first); what the CPU figures imply."""
    best: dict[str, dict[str, float]] = {}
    for _ in range(rounds):  # alternated; each one's cheapest run kept
        for name, load in loads.items():
            run = machine_cpu(load)
            if name not in best or run["us"] < best[name]["us"]:
                best[name] = run
    direct = best["direct"]
    lines = ["| path | req/s | of direct | cores busy | machine CPU per request µs |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {r['rps']:,.0f} | {r['rps'] / direct['rps']:.2f}x | "
              f"{r['cores']:.2f} | {r['us']:.1f} |" for name, r in best.items()]
    lines += ["", f"Direct, wrk and nginx keep {direct['cores']:.2f} cores busy. When a path is "
              "bound by CPU as well, its ratio to direct is about direct's CPU per request over "
              "the path's."]
    proxy, kernel = best["built-in proxy"], best.get(KERNEL)
    if kernel:
        lines[-1] += (
            f" The in-kernel forwarder never brings a byte to user space, yet the machine "
            f"spends {kernel['us']:.1f} µs per request through it (the built-in proxy: "
            f"{proxy['us']:.1f} µs): the second TCP connection's work in the kernel is paid "
            "whoever forwards the bytes.")
    paths = {name: r for name, r in best.items() if name != "direct"}
    cheapest = min(paths, key=lambda name: paths[name]["us"])
    lines[-1] += (f" The cheapest path measured here ({cheapest}, {paths[cheapest]['us']:.1f} µs) "
                  f"would keep about {direct['us'] / paths[cheapest]['us']:.2f}x of direct at 32 "
                  "connections when the cores are the limit.")
    return lines


def loopback_floor(rounds: int = 50_000) -> float:
    """µs for one 11-byte send and its receive on a loopback TCP connection (no wake-ups)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        with client, peer:
            for s in (client, peer):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            start = time.perf_counter()
            for _ in range(rounds):
                client.send(b"hello world")
                peer.recv(100)
            return (time.perf_counter() - start) / rounds * 1e6


def py_spy() -> str | None:
    found = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
    if found:
        return found
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=False)
    return shutil.which("py-spy", path=os.path.dirname(sys.executable))


CATEGORIES = (
    ("write() system call (loopback TCP send, peer's receive included)", ("write", "writev", "send")),
    ("read() system call", ("read", "recv")),
    ("epoll_wait (idle or polling)", ("epoll_wait", "epoll_pwait")),
)


def fold(raw: Path) -> list[tuple[str, float]]:
    """Self time per category from py-spy's collapsed stacks."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        frames = stack.split(";")
        leaf = frames[-1].split(" (")[0]
        for label, names in CATEGORIES:
            if leaf in names:
                counts[label] += int(n)
                break
        else:
            leaf_frame = frames[-1]
            if ".py:" in leaf_frame:
                counts[f"Python: {leaf}"] += int(n)
            else:
                counts["native code of uvloop, libuv and CPython"] += int(n)
    return [(label, n / total) for label, n in counts.most_common(8)] if total else []


def profile(load: Load, server_pid: int, seconds: int = 5) -> list[tuple[str, float]]:
    spy = py_spy()
    if not spy:
        return []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(1) as pool:
        raw = Path(tmp) / "profile.txt"
        running = pool.submit(load, seconds + 2)
        time.sleep(1)
        subprocess.run([spy, "record", "--native", "-r", "250", "-d", str(seconds),
                        "-p", str(server_pid), "-f", "raw", "-o", str(raw)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        running.result()
        return fold(raw) if raw.exists() else []


def section(loads: dict[str, Load], server_pid: int, nginx_pid: int, direct_rps: float) -> str:
    """``loads`` drive 11 B requests over 32 connections: direct first, then through the
    built-in proxy (key "built-in proxy"), then any other path to compare."""
    load = loads["built-in proxy"]
    workers = children(nginx_pid) or [nginx_pid]
    cpu = cpu_per_request(load, {"proxy": server_pid, "nginx": workers[0]})
    floor = loopback_floor()
    cores = os.cpu_count() or 1
    others = cpu["nginx"] + cpu["wrk"]
    bound = cores * 1e6 / (others + cpu["proxy"])
    floor_bound = cores * 1e6 / (others + 2 * floor)
    lines = [
        "## Where the time goes (11 B, 32 connections)",
        "",
        "The whole machine's CPU (all processes and the kernel, from /proc/stat, 5 s of "
        "steady load, the cheaper of 2 alternated runs):",
        "",
        *machine_table(loads),
        "",
        f"CPU per request while wrk drove {cpu['rps']:,.0f} req/s through the proxy "
        f"(from /proc, 5 s): proxy **{cpu['proxy']:.1f} µs** "
        f"({cpu['share_of_core_proxy']:.0%} of one core), nginx {cpu['nginx']:.1f} µs, "
        f"wrk {cpu['wrk']:.1f} µs.",
        "",
        f"The kernel's floor: one 11-byte send and its receive on a loopback TCP connection "
        f"cost **{floor:.1f} µs** here (Python loop, no wake-ups). A proxy does two of them per "
        f"request (request in and out, answer in and out), so about {2 * floor:.0f} µs of "
        "each request's proxy time is system calls that any user-space proxy pays.",
        "",
        f"At these costs, all {cores} cores busy would carry about {bound:,.0f} req/s "
        f"through the proxy, about **{bound / direct_rps:.2f}x** of the best direct run "
        f"({direct_rps:,.0f} req/s); a proxy spending only the floor ({2 * floor:.1f} µs) "
        f"would reach about {floor_bound / direct_rps:.2f}x. The figures move with what "
        "else the machine does, by about ±10 % between runs.",
        "",
    ]
    shares = profile(load, server_pid)
    if shares:
        lines += ["py-spy (`record --native`, 250 Hz, 5 s) on the proxy process, self time:", "",
                  "| where | share of samples |", "|---|---:|"]
        lines += [f"| {label} | {share:.1%} |" for label, share in shares]
    else:
        lines.append("(py-spy could not be installed: no profile this time.)")
    return "\n".join(lines) + "\n"

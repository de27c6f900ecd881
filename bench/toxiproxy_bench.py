"""The built-in Toxiproxy server's overhead: wrk against nginx, direct vs through a proxy
with no toxics, 1 and 32 connections, an 11-byte and a 64 KiB response; then the toxic
path beside it (latency 0 ms and 5 ms, bandwidth 10 MB/s, http_error at share 0, each
alternated with the no-toxic proxy), a slicer with 10 µs delays, and idle proxied
connections (memory, CPU).

Run: .venv/bin/python -m bench.toxiproxy_bench [--quick]
(installs wrk and nginx from Debian if root; --quick: one 4 s run per path and cell)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import requests

from bench.common import ensure_tool, write_doc
from bench.proxy_profile import KERNEL, cpu_per_request, cpu_ticks, section
from fleetchaos import toxiproxy_server

DURATION_S = 6
REPEATS = 3
COMMAND = ".venv/bin/python -m bench.toxiproxy_bench"
LABELS = {"direct": "direct", "proxy": "built-in proxy", "kernel": KERNEL,
          "toxiproxy": "Go Toxiproxy (toxiproxy-server)"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BODIES = {"/small": b"hello world", "/big": b"x" * 65536, "/huge": b"y" * (8 << 20)}


def start_nginx(nginx: str, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    # nginx started by root serves from workers running as nobody: the temporary
    # directory (0700) must be opened to them, or /big is a 403 page
    workdir.chmod(0o755)
    (workdir / "html").mkdir(mode=0o755)
    (workdir / "html" / "big").write_bytes(BODIES["/big"])
    (workdir / "html" / "huge").write_bytes(BODIES["/huge"])
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location = /small {{ return 200 "hello world"; }}
    location = /big {{ root {workdir}/html; }}
    location = /huge {{ root {workdir}/html; }}
  }}
}}
""")
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("nginx did not start")
    try:
        check_bodies(f"127.0.0.1:{port}")
    except RuntimeError:
        proc.kill()
        raise
    return proc


def check_bodies(address: str) -> None:
    """Each path answers 200 with the body the tables name, or the run stops."""
    for path, body in BODIES.items():
        answer = requests.get(f"http://{address}{path}", timeout=5)
        if answer.status_code != 200 or answer.content != body:
            raise RuntimeError(f"{address}{path} answered {answer.status_code} with "
                               f"{len(answer.content)} bytes, not 200 with {len(body)}")


def found(pattern: str, out: str) -> re.Match[str]:
    """A line wrk always prints; its absence is wrk's output changing, said with it."""
    match = re.search(pattern, out)
    if match is None:
        raise RuntimeError(f"wrk printed no {pattern!r}:\n{out}")
    return match


def wrk(wrk_bin: str, url: str, conns: int, seconds: int = DURATION_S) -> dict[str, float]:
    out = subprocess.run([wrk_bin, "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk against {url} counted failed requests:\n{out}")
    rps = float(found(r"Requests/sec:\s+([\d.]+)", out).group(1))
    transfer = found(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", out)
    bytes_s = float(transfer.group(1)) * {"B": 1, "KB": 1024, "MB": 1024**2,
                                           "GB": 1024**3}[transfer.group(2)]

    def pct(p: str) -> float:
        m = found(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]

    return {"rps": rps, "p50_us": pct("50"), "p99_us": pct("99"), "bytes_s": bytes_s}


def small_load(wrk_bin: str, address: str) -> Callable[[int], dict[str, float]]:
    return lambda seconds: wrk(wrk_bin, f"http://{address}/small", 32, seconds)


@contextlib.contextmanager
def sockmap_forwarder(upstream_port: int) -> Iterator[str | None]:
    """The in-kernel forwarder's address, or None where BPF is not allowed."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.sockmap_forwarder", str(port),
                             str(upstream_port)], stdout=subprocess.PIPE, text=True)
    try:
        status = proc.stdout.readline().strip() if proc.stdout else ""
        if status != "ready":
            print(f"in-kernel forwarder left out: {status or 'it did not start'}")
        yield f"127.0.0.1:{port}" if status == "ready" else None
    finally:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def real_toxiproxy() -> Iterator[tuple[str, int] | None]:
    """Shopify's toxiproxy-server when TOXIPROXY_SERVER_BIN names one: (API url, pid)."""
    binary = os.environ.get("TOXIPROXY_SERVER_BIN")
    if not binary:
        yield None
        return
    port = free_port()
    proc = subprocess.Popen([binary, "-host", "127.0.0.1", "-port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{url}/version", timeout=1).ok:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{binary} did not answer")
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def add_proxy(api: str, name: str, upstream_port: int) -> str:
    """A proxy on a free loopback port (Go's default listen is every interface)."""
    answer = requests.post(f"{api}/proxies", json={
        "name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream_port}"})
    answer.raise_for_status()
    return str(answer.json()["listen"])


# --- the toxic path ------------------------------------------------------------------------
BOTH = ("upstream", "downstream")
TOXIC_CELLS: list[tuple[str, str, int, list[dict[str, Any]]]] = [
    # (label, path, connections, toxics on the "toxic" proxy)
    ("latency 0 ms, both streams", "/small", 1,
     [{"type": "latency", "stream": s, "attributes": {"latency": 0}} for s in BOTH]),
    ("latency 0 ms, both streams", "/small", 32,
     [{"type": "latency", "stream": s, "attributes": {"latency": 0}} for s in BOTH]),
    ("http_error share 0 (upstream) + latency 0 ms (downstream)", "/small", 32,
     [{"type": "http_error", "stream": "upstream", "attributes": {"share": 0}},
      {"type": "latency", "stream": "downstream", "attributes": {"latency": 0}}]),
    ("latency 5 ms (downstream) + 0 ms (upstream)", "/small", 32,
     [{"type": "latency", "stream": s, "attributes": {"latency": 5 if s == "downstream" else 0}}
      for s in BOTH]),
    ("bandwidth 10 MB/s, both streams", "/huge", 1,
     [{"type": "bandwidth", "stream": s, "attributes": {"rate": 10_000}} for s in BOTH]),
]
IDEAL_DELAY_S = 0.005  # the 5 ms cell: at most connections / 5 ms requests per second
BANDWIDTH_SET = 10_000 * 1000  # bytes/s (Toxiproxy's KB = 1000 B)


def set_toxics(api: str, proxy: str, toxics: list[dict[str, Any]]) -> None:
    requests.post(f"{api}/reset").raise_for_status()
    for i, toxic in enumerate(toxics):
        requests.post(f"{api}/proxies/{proxy}/toxics",
                      json={**toxic, "name": f"t{i}"}).raise_for_status()


def toxic_cells(wrk_bin: str, servers: dict[str, tuple[str, str, str, int]]
                ) -> list[tuple[Any, ...]]:
    """Each cell on each server (name -> API url, no-toxic proxy, toxic proxy, pid): the toxic
    proxy alternated with the no-toxic one, each one's best kept."""
    rows = []
    for label, path, conns, toxics in TOXIC_CELLS:
        for server, (api, plain, toxic, pid) in servers.items():
            if server != "built-in" and any(t["type"] == "http_error" for t in toxics):
                continue  # an extension of the built-in only
            set_toxics(api, "toxic", toxics)
            runs: dict[str, list[dict[str, float]]] = {"plain": [], "toxic": []}
            for _ in range(REPEATS):
                for name, address in (("plain", plain), ("toxic", toxic)):
                    runs[name].append(wrk(wrk_bin, f"http://{address}{path}", conns))
            best = {n: max(r, key=lambda x: x["rps"]) for n, r in runs.items()}
            if path == "/small":  # the proxy's own CPU per request: steadier than req/s here
                for name, address in (("plain", plain), ("toxic", toxic)):
                    best[name]["cpu_us"] = cpu_per_request(
                        partial(wrk, wrk_bin, f"http://{address}{path}", conns), {"proxy": pid},
                        3)["proxy"]
            rows.append((label, path, conns, server, best))
            requests.post(f"{api}/reset").raise_for_status()
    return rows


def toxic_report(rows: list[tuple[Any, ...]]) -> str:
    lines = ["## The toxic path", "",
             f"The same wrk runs through a second proxy with toxics on both streams, alternated "
             f"{REPEATS} times with the no-toxic proxy, each one's best kept. Goal: within 10 % "
             "of the no-toxic req/s, or of the ideal where a delay or a rate is set. For the "
             f"{IDEAL_DELAY_S * 1000:.0f} ms latency the ideal is each connection's no-toxic "
             f"round trip plus {IDEAL_DELAY_S * 1000:.0f} ms (connections / (connections / "
             f"no-toxic req/s + {IDEAL_DELAY_S * 1000:.0f} ms)); the bare bound, connections / "
             f"{IDEAL_DELAY_S * 1000:.0f} ms, is shown beside it. Bandwidth is measured on one "
             "connection downloading 8 MiB answers (wrk's bytes per second, headers included) "
             f"against the {BANDWIDTH_SET / 1e6:.0f} MB/s set (1 KB = 1000 B, as Toxiproxy "
             "counts). The proxy's CPU per request (its process, from /proc, 3 s of steady "
             "load) is measured in separate runs: on a shared machine it moves less than "
             "req/s does.", "",
             "| toxics | response | connections | server | no-toxic req/s | with toxics req/s | "
             "ratio | against | proxy CPU µs/request, no-toxic → toxics | added p50 µs |",
             "|---|---|---:|---|---:|---:|---:|---|---|---:|"]
    for label, path, conns, server, best in rows:
        p, t = best["plain"], best["toxic"]
        size = {"/small": "11 B", "/big": "64 KiB", "/huge": "8 MiB"}[path]
        if "bandwidth" in label:
            ratio, against = t["bytes_s"] / BANDWIDTH_SET, \
                f"set rate ({t['bytes_s'] / 1e6:.2f} of {BANDWIDTH_SET / 1e6:.0f} MB/s)"
        elif "5 ms" in label:
            bare = conns / IDEAL_DELAY_S
            ideal = conns / (conns / p["rps"] + IDEAL_DELAY_S)
            ratio, against = t["rps"] / ideal, \
                f"ideal {ideal:,.0f} req/s (bare bound {bare:,.0f}: {t['rps'] / bare:.2f}x)"
        else:
            ratio, against = t["rps"] / p["rps"], "no-toxic proxy"
        cpu = (f"{p['cpu_us']:.1f} → {t['cpu_us']:.1f}" if "cpu_us" in t else "-")
        lines.append(f"| {label} | {size} | {conns} | {server} | {p['rps']:,.0f} | "
                     f"{t['rps']:,.0f} | "
                     f"{ratio:.2f}x | {against} | {cpu} | {t['p50_us'] - p['p50_us']:,.0f} |")
    return "\n".join(lines)


IDLE_UPSTREAM = """
import asyncio, resource
s, h = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
async def hold(r, w):
    await r.read()
async def main():
    srv = await asyncio.start_server(hold, "127.0.0.1", 0, backlog=4096)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


# --- slicer with microsecond delays (a kept difference, docs/toxiproxy-server.md) ------------
SLICER = {"average_size": 64, "size_variation": 32, "delay": 10}  # bytes, bytes, µs
SLICER_BYTES = 1 << 20


@contextlib.contextmanager
def echo_upstream() -> Iterator[int]:
    """A loopback echo server on its own thread (the slicer cell's upstream)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def slicer_cell(api: str) -> list[float]:
    """Seconds to echo 1 MiB through a slicer on the downstream stream, REPEATS times."""
    took = []
    with echo_upstream() as port:
        host, lport = add_proxy(api, "slicer", port).rsplit(":", 1)
        requests.post(f"{api}/proxies/slicer/toxics",
                      json={"type": "slicer", "attributes": SLICER}).raise_for_status()
        for _ in range(REPEATS):
            payload = os.urandom(SLICER_BYTES)
            with socket.create_connection((host, int(lport)), timeout=120) as sock:
                start = time.perf_counter()
                threading.Thread(target=sock.sendall, args=(payload,), daemon=True).start()
                got = 0
                while got < SLICER_BYTES:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise RuntimeError("the slicer proxy closed the connection")
                    got += len(chunk)
                took.append(time.perf_counter() - start)
        requests.delete(f"{api}/proxies/slicer").raise_for_status()
    return took


def slicer_report(cells: dict[str, list[float]]) -> str:
    slices = SLICER_BYTES // SLICER["average_size"]
    ideal = slices * SLICER["delay"] / 1e6
    lines = ["## Slicer with microsecond delays", "",
             f"1 MiB echoed through a proxy whose downstream has a slicer of "
             f"{SLICER['average_size']} ± {SLICER['size_variation']} B, {SLICER['delay']} µs "
             f"apart: about {slices:,} slices, so ideally {ideal:.2f} s of waiting. "
             f"{REPEATS} runs per server.", "",
             "| server | fastest s | slowest s | fastest / ideal |", "|---|---:|---:|---:|"]
    for name, took in cells.items():
        lines.append(f"| {name} | {min(took):.2f} | {max(took):.2f} | "
                     f"{min(took) / ideal:.1f}x |")
    return "\n".join(lines)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def idle_cell(with_toxics: bool, real: bool = False) -> dict[str, float]:
    """Open N connections through a proxy to a holding upstream; RSS per connection and the
    server's CPU over 5 s while they sit idle. N is capped by the descriptor limit (each
    proxied connection takes two descriptors in the server). Each cell has a server process
    of its own: memory freed by an earlier cell would hide this one's."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = min(10_000, (hard - 200) // 2)
    holder = subprocess.Popen([sys.executable, "-c", IDLE_UPSTREAM], stdout=subprocess.PIPE,
                              text=True)
    socks: list[socket.socket] = []
    if real:
        with real_toxiproxy() as found:
            assert found is not None
            return _idle(found[0], found[1], holder, socks, count, with_toxics)
    with toxiproxy_server.run_in_subprocess() as server:
        return _idle(server.url, server.pid, holder, socks, count, with_toxics)


def _idle(api: str, server_pid: int, holder: subprocess.Popen[str], socks: list[socket.socket],
          count: int, with_toxics: bool) -> dict[str, float]:
    try:
        port = int(holder.stdout.readline())  # type: ignore[union-attr]
        requests.delete(f"{api}/proxies/idle")
        listen = add_proxy(api, "idle", port)
        if with_toxics:
            set_toxics(api, "idle", TOXIC_CELLS[0][3])
        host, lport = listen.rsplit(":", 1)
        time.sleep(1.0)
        before = rss_kib(server_pid)
        for _ in range(count):
            socks.append(socket.create_connection((host, int(lport)), timeout=10))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # every upstream connection made (holder's fds)
            if len(list(Path(f"/proc/{holder.pid}/fd").iterdir())) >= count:
                break
            time.sleep(0.2)
        time.sleep(2.0)
        after = rss_kib(server_pid)
        ticks0, t0 = cpu_ticks(server_pid), time.monotonic()
        time.sleep(5.0)
        cpu = (cpu_ticks(server_pid) - ticks0) / 100 / (time.monotonic() - t0)
        return {"count": count, "kib_per_conn": (after - before) / count, "cpu": cpu}
    finally:
        for s in socks:
            s.close()
        requests.delete(f"{api}/proxies/idle")
        holder.kill()
        holder.wait(10)


def idle_report(cells: dict[str, dict[str, float]]) -> str:
    lines = ["## Idle proxied connections", "",
             "Connections opened through a proxy to an upstream that holds them, then left idle: "
             "the server's resident memory per connection (VmRSS before and after) and its CPU "
             "over 5 s. Goal: no more than 10 KB per idle connection.", "",
             "| proxy | connections | memory per connection | CPU while idle |",
             "|---|---:|---:|---:|"]
    for label, c in cells.items():
        lines.append(f"| {label} | {c['count']:,.0f} | {c['kib_per_conn'] * 1.024:.1f} KB | "
                     f"{c['cpu']:.1%} of a core |")
    return "\n".join(lines)


def main() -> None:
    global DURATION_S, REPEATS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="one 4 s run per path and cell (the doc says so)")
    args = parser.parse_args()
    if args.quick:
        DURATION_S, REPEATS = 4, 1
    wrk_bin = ensure_tool("wrk", "wrk")
    nginx = ensure_tool("nginx", "nginx")
    load_at_start = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        ng = start_nginx(nginx, Path(tmp), port)
        try:
            with toxiproxy_server.run_in_subprocess() as server, \
                    sockmap_forwarder(port) as kernel_via, real_toxiproxy() as real:
                servers = {"built-in": (server.url, add_proxy(server.url, "bench", port),
                                        add_proxy(server.url, "toxic", port), server.pid)}
                paths = {"direct": f"127.0.0.1:{port}", "proxy": servers["built-in"][1]}
                if kernel_via:
                    paths["kernel"] = kernel_via
                if real:
                    servers["Go Toxiproxy"] = (real[0], add_proxy(real[0], "bench", port),
                                               add_proxy(real[0], "toxic", port), real[1])
                    paths["toxiproxy"] = servers["Go Toxiproxy"][1]
                for address in paths.values():
                    check_bodies(address)
                for path, label in (("/small", "11 B"), ("/big", "64 KiB")):
                    for conns in (1, 32):
                        # alternate the paths' runs; keep each one's best (least disturbed
                        # by the rest of the machine)
                        runs: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
                        for _ in range(REPEATS):
                            for name, address in paths.items():
                                runs[name].append(wrk(wrk_bin, f"http://{address}{path}", conns))
                        rows.append((label, conns, {name: max(r, key=lambda x: x["rps"])
                                                    for name, r in runs.items()}))
                direct_32 = next(best["direct"]["rps"] for label, c, best in rows
                                 if label == "11 B" and c == 32)
                loads = {LABELS[name]: small_load(wrk_bin, address)
                         for name, address in paths.items()}
                profile = section(loads, server.pid, ng.pid, direct_32)
                toxic_rows = toxic_cells(wrk_bin, servers)
                slicer = {name: slicer_cell(api) for name, (api, *_rest) in servers.items()}
        finally:
            ng.terminate()
            ng.wait(10)
    idle = {"built-in, no toxics": idle_cell(False),
            "built-in, latency 0 ms on both streams": idle_cell(True)}
    if "toxiproxy" in paths:
        idle["Go Toxiproxy, no toxics"] = idle_cell(False, real=True)
        idle["Go Toxiproxy, latency 0 ms on both streams"] = idle_cell(True, real=True)
    load = (f"Machine load while it ran (1-minute load average, {os.cpu_count()} cores, shared "
            f"with other work): {load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at "
            "the end.\n\n")
    print(write_doc("toxiproxy", "Built-in Toxiproxy server: overhead", COMMAND,
                    load + report(rows, bool(kernel_via), bool(real)) + "\n\n"
                    + toxic_report(toxic_rows) + "\n\n"
                    + slicer_report(slicer) + "\n\n"
                    + idle_report(idle) + "\n\n" + profile,
                    headline(rows, toxic_rows)).read_text())


def report(rows: list[Any], with_kernel: bool, with_real: bool) -> str:
    head = ("| response | connections | direct req/s | via proxy req/s | ratio | "
            "added p50 µs | added p99 µs |")
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    if with_kernel:
        head += " in-kernel forwarder req/s | its ratio |"
        rule += "---:|---:|"
    if with_real:
        head += " Go Toxiproxy req/s | its ratio | built-in / Go |"
        rule += "---:|---:|---:|"
    table = [head, rule]
    for label, conns, best in rows:
        d, p = best["direct"], best["proxy"]
        line = (f"| {label} | {conns} | {d['rps']:,.0f} | {p['rps']:,.0f} | "
                f"{p['rps'] / d['rps']:.2f}x | {p['p50_us'] - d['p50_us']:,.0f} | "
                f"{p['p99_us'] - d['p99_us']:,.0f} |")
        if with_kernel:
            k = best["kernel"]
            line += f" {k['rps']:,.0f} | {k['rps'] / d['rps']:.2f}x |"
        if with_real:
            g = best["toxiproxy"]
            line += (f" {g['rps']:,.0f} | {g['rps'] / d['rps']:.2f}x | "
                     f"{p['rps'] / g['rps']:.2f}x |")
        table.append(line)
    kernel_note = (" The last two columns are a reference, not this server: "
                   "bench.sockmap_forwarder, a forwarder whose bytes stay in the kernel (a BPF "
                   "sockmap redirect), as fast as any proxy on this machine can forward."
                   if with_kernel else
                   " (The in-kernel reference forwarder could not run here: BPF not allowed.)")
    quick = " (a --quick run)" if REPEATS == 1 else ""
    reference = (
        "Go Toxiproxy's columns come from the same runs, alternated with the others, against "
        "toxiproxy-server (TOXIPROXY_SERVER_BIN) built from Shopify's source."
        if with_real else
        "Reference, quoted from issue 14 (not measured by this run; set TOXIPROXY_SERVER_BIN "
        "to measure it): Shopify's Go Toxiproxy keeps about 0.38x of direct on one connection "
        "and 0.58x at 32 on a 2-core machine like this.")
    return (f"wrk{quick}, 1 thread, {DURATION_S} s per run, runs of each path alternated {REPEATS} "
            "times per cell and each one's best kept, nginx upstream on loopback, a proxy "
            "with no toxics; latencies are from the kept runs. Each body is checked (200, "
            "11 or 65,536 bytes) before the runs, and a run with a non-2xx answer or a socket "
            f"error stops the benchmark.{kernel_note}\n{reference}\n\n" + "\n".join(table))


def headline(rows: list[Any], toxic_rows: list[Any]) -> str:
    ratios = ", ".join(
        f"{label} × {conns} conn{'s' if conns > 1 else ''} "
        f"**{best['proxy']['rps'] / best['direct']['rps']:.2f}x**" for label, conns, best in rows)
    kernel = next((best for label, conns, best in rows
                   if label == "11 B" and conns == 32 and "kernel" in best), None)
    reference = (f"a forwarder that keeps the bytes in the kernel: 11 B × 32 conns "
                 f"{kernel['kernel']['rps'] / kernel['direct']['rps']:.2f}x; " if kernel else "")
    lat0 = next(best for label, path, conns, server, best in toxic_rows
                if label.startswith("latency 0") and conns == 32 and server == "built-in")
    real = [best for label, conns, best in rows if "toxiproxy" in best]
    go = (", ".join(f"{label} × {conns} {best['toxiproxy']['rps'] / best['direct']['rps']:.2f}x"
                    for label, conns, best in rows) + " (measured)") if real else \
        "about 0.38x on 1 connection, 0.58x on 32 (quoted from issue 14)"
    return (f"Built-in Toxiproxy, no toxics, req/s relative to direct (wrk vs nginx): {ratios}"
            f" ({reference}Go Toxiproxy: {go}); "
            f"a latency toxic of 0 ms on both streams keeps "
            f"**{lat0['toxic']['rps'] / lat0['plain']['rps']:.2f}x** of the no-toxic proxy "
            "at 32 conns")

if __name__ == "__main__":
    main()

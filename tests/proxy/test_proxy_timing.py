"""Every toxic's timing with several connections and several messages in flight, as
Toxiproxy defines it (toxics/*.go, link.go), on both servers in comparison mode.

Lower bounds are what the definition guarantees; upper bounds add generous slack for a
loaded 2-core machine but stay below what the old, stacking behaviour produced.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path

import requests
from timing import Reader, add_toxic, connect, make_proxy
from upstreams import echo_server


def test_latency_stream_overlaps_in_flight(server):
    """latency.go: a chunk leaves at its read time + latency, so ten 1-byte messages sent
    20 ms apart through 200 ms come back 200 ms after each was sent (Toxiproxy: last echo
    at ~0.38 s), not 200 ms after each other (the old built-in: ~2.0 s)."""
    with echo_server() as port:
        addr = make_proxy(server.url, "lat", port)
        add_toxic(server.url, "lat", type="latency", attributes={"latency": 200})
        with connect(addr) as s:
            reader = Reader(s)
            sent = []
            for _ in range(10):
                sent.append(time.perf_counter())
                s.sendall(b"x")
                time.sleep(0.02)
            reader.wait(10)
            delays = [reader.when(i + 1) - sent[i] for i in range(10)]
            last = reader.when(10) - sent[0]
    assert min(delays) >= 0.195, delays
    assert last < 0.38 + 0.5, (last, delays)


def test_concurrent_connections_each_get_one_latency(server):
    """Each connection has its own chain: N connections at once each wait ~latency."""
    with echo_server() as port:
        addr = make_proxy(server.url, "conc", port)
        add_toxic(server.url, "conc", type="latency", attributes={"latency": 300})
        socks = [connect(addr) for _ in range(8)]
        readers = [Reader(s) for s in socks]
        start = time.perf_counter()
        for s in socks:
            s.sendall(b"ping")
        for r in readers:
            r.wait(4)
        elapsed = [r.when(4) - start for r in readers]
        for s in socks:
            s.close()
    assert min(elapsed) >= 0.295, elapsed
    assert max(elapsed) < 0.3 + 1.0, elapsed  # 8 x 300 ms would be 2.4 s


def test_latency_with_jitter_keeps_order_and_bounds(server):
    """latency.go draws latency +/- jitter per chunk and releases chunks in order: each
    echo comes between latency - jitter and latency + jitter after its send."""
    with echo_server() as port:
        addr = make_proxy(server.url, "jit", port)
        add_toxic(server.url, "jit", type="latency", attributes={"latency": 150, "jitter": 50})
        with connect(addr) as s:
            reader = Reader(s)
            sent = []
            for i in range(20):
                sent.append(time.perf_counter())
                s.sendall(bytes([65 + i]))
                time.sleep(0.01)
            reader.wait(20)
            delays = [reader.when(i + 1) - sent[i] for i in range(20)]
            assert bytes(reader.got) == bytes(range(65, 85))
    assert min(delays) >= 0.095, delays
    assert max(delays) < 0.2 + 0.5, delays


def test_bandwidth_is_per_connection_with_concurrent_writers(server):
    """bandwidth.go limits each connection's stream to rate KB/s (1 KB = 1000 B): three
    connections of 100 KB at 100 KB/s each finish in about 1 s, together."""
    payload = os.urandom(100_000)
    with echo_server() as port:
        addr = make_proxy(server.url, "bw", port)
        add_toxic(server.url, "bw", type="bandwidth", attributes={"rate": 100})
        socks = [connect(addr, 20) for _ in range(3)]
        readers = [Reader(s) for s in socks]
        start = time.perf_counter()
        for s in socks:
            threading.Thread(target=s.sendall, args=(payload,), daemon=True).start()
        for r in readers:
            r.wait(len(payload), 20)
        elapsed = [r.when(len(payload)) - start for r in readers]
        for r, s in zip(readers, socks, strict=True):
            assert bytes(r.got) == payload
            s.close()
    assert min(elapsed) >= 0.8, elapsed  # 100 KB at 100 KB/s, less the first 100 ms slice
    assert max(elapsed) < 1.0 + 1.2, elapsed  # a shared limit would take 3 s


def test_slicer_then_latency_measures_from_arrival(server):
    """slicer.go gives every slice the chunk's arrival time, and latency.go releases at
    arrival + latency: 1000 bytes cut into ~16 slices 20 ms apart, then 200 ms latency,
    arrive between 0.2 s and ~0.32 s (the old nested chain: 16 x 200 ms = 3.2 s)."""
    with echo_server() as port:
        addr = make_proxy(server.url, "sl", port)
        add_toxic(server.url, "sl", type="slicer", name="slice",
                  attributes={"average_size": 100, "size_variation": 0, "delay": 20000})
        add_toxic(server.url, "sl", type="latency", attributes={"latency": 200})
        payload = os.urandom(1000)
        with connect(addr) as s:
            reader = Reader(s)
            start = time.perf_counter()
            s.sendall(payload)
            reader.wait(1000)
            first, last = reader.when(1) - start, reader.when(1000) - start
            assert bytes(reader.got) == payload
            assert len(reader.times) >= 2  # still sliced
    assert first >= 0.195, first
    assert last < 0.32 + 0.6, last


def test_timeout_removed_mid_stream_closes_the_connections_it_held(server):
    """timeout.go drops data while present; its Cleanup closes the stub, so removing it
    closes every connection it held; new connections pass again."""
    with echo_server() as port:
        addr = make_proxy(server.url, "to", port)
        socks = [connect(addr) for _ in range(4)]
        readers = [Reader(s) for s in socks]
        for s in socks:
            s.sendall(b"before")
        for r in readers:
            r.wait(6)
        add_toxic(server.url, "to", type="timeout", stream="upstream",
                  attributes={"timeout": 0})
        for s in socks:
            s.sendall(b"during")
        time.sleep(0.3)
        assert all(bytes(r.got) == b"before" for r in readers)
        assert requests.delete(f"{server.url}/proxies/to/toxics/timeout_upstream").status_code \
            == 204
        for r in readers:
            r.wait_closed(10)
            assert r.closed_at is not None and bytes(r.got) == b"before"
        for s in socks:
            s.close()
        with connect(addr) as s:
            reader = Reader(s)
            s.sendall(b"after")
            reader.wait(5)
            assert bytes(reader.got) == b"after"


def test_limit_data_counts_per_connection_and_removal_lets_the_rest_through(server):
    """limit_data.go counts per connection and closes at exactly the limit; removed while
    a connection streams, the stream goes on byte-exact."""
    with echo_server() as port:
        addr = make_proxy(server.url, "ld", port)
        add_toxic(server.url, "ld", type="limit_data", attributes={"bytes": 3000})
        socks = [connect(addr) for _ in range(3)]
        readers = [Reader(s) for s in socks]
        for s in socks:
            for _ in range(5):
                with contextlib.suppress(OSError):  # the proxy may close before the last
                    s.sendall(b"y" * 1000)
        for r in readers:
            r.wait_closed(10)
            assert len(r.got) == 3000 and r.closed_at is not None
        requests.delete(f"{server.url}/proxies/ld/toxics/limit_data_downstream")
        add_toxic(server.url, "ld", type="limit_data", attributes={"bytes": 10_000_000})
        with connect(addr) as s:
            reader = Reader(s)
            s.sendall(b"a" * 2000)
            reader.wait(2000)
            requests.delete(f"{server.url}/proxies/ld/toxics/limit_data_downstream")
            s.sendall(b"b" * 2000)
            reader.wait(4000)
            assert bytes(reader.got) == b"a" * 2000 + b"b" * 2000
            assert reader.closed_at is None


def test_toxicity_is_drawn_per_connection_on_many_connections(server):
    """toxic.go: each connection's stub draws rand < toxicity once: of 40 connections
    through a latency of 300 ms at toxicity 0.5, some are slow for every message and the
    others fast for every message (binomial: 8..32 slow with p > 0.9999)."""
    with echo_server() as port:
        addr = make_proxy(server.url, "tx", port)
        add_toxic(server.url, "tx", type="latency", toxicity=0.5, attributes={"latency": 300})
        socks = [connect(addr) for _ in range(40)]
        readers = [Reader(s) for s in socks]
        start = time.perf_counter()
        for s in socks:
            s.sendall(b"1")
        for r in readers:
            r.wait(1)
        first = [r.when(1) - start for r in readers]
        start2 = time.perf_counter()
        for s in socks:
            s.sendall(b"2")
        for r in readers:
            r.wait(2)
        second = [r.when(2) - start2 for r in readers]
        for s in socks:
            s.close()
    slow = [a >= 0.295 for a in first]
    assert 8 <= sum(slow) <= 32, first
    for was_slow, a, b in zip(slow, first, second, strict=True):
        assert (b >= 0.295) == was_slow, (a, b)
        if not was_slow:
            assert a < 0.25 and b < 0.25, (a, b)


def test_removing_latency_releases_what_it_holds_at_once(server):
    """latency.go on Interrupt: "exit fast without applying latency", and link.go's
    RemoveToxic flushes the stage's buffer on: chunks held by a 1 s latency arrive right
    after the toxic is removed, complete and in order."""
    with echo_server() as port:
        addr = make_proxy(server.url, "rm", port)
        add_toxic(server.url, "rm", type="latency", attributes={"latency": 1000})
        with connect(addr) as s:
            reader = Reader(s)
            start = time.perf_counter()
            for i in range(5):
                s.sendall(bytes([48 + i]) * 1000)
                time.sleep(0.01)
            time.sleep(0.1)
            assert not reader.got
            requests.delete(f"{server.url}/proxies/rm/toxics/latency_downstream")
            reader.wait(5000)
            assert bytes(reader.got) == b"".join(bytes([48 + i]) * 1000 for i in range(5))
            assert reader.when(5000) - start < 0.7, reader.times


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_toxic_path_stops_reading_when_the_client_does_not(toxiproxy):
    """Backpressure through the stages: an upstream pushing 48 MB at a client that reads
    nothing for a while must not make the server buffer it (the stages hold at most about
    1 MiB before the source stops being read; Toxiproxy blocks on its channels)."""
    payload = b"z" * (48 << 20)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def firehose() -> None:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError):
            conn.sendall(payload)

    threading.Thread(target=firehose, daemon=True).start()
    try:
        addr = make_proxy(toxiproxy.url, "fire", port)
        add_toxic(toxiproxy.url, "fire", type="latency", attributes={"latency": 2000})
        before = _rss_kib(toxiproxy.pid)
        with connect(addr, 30) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            time.sleep(1.5)  # the client reads nothing; the latency stage holds what came
            grown = _rss_kib(toxiproxy.pid) - before
            requests.delete(f"{toxiproxy.url}/proxies/fire/toxics/latency_downstream")
            got = 0
            while got < len(payload):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        assert got == len(payload)
        assert grown < 24 * 1024, f"server grew {grown} KiB while the client did not read"
    finally:
        listener.close()

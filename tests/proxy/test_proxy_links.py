"""How a connection through a proxy lives and ends, as in Toxiproxy 2.12's link.go,
proxy.go and toxics/timeout.go (issue 25): each test runs against the built-in and, in
comparison mode (TOXIPROXY_SERVER_BIN), against the real binary."""

from __future__ import annotations

import socket
import threading
import time

import requests
from conftest import free_port
from timing import Reader, add_toxic, connect, make_proxy
from upstreams import delayed_reply_server, echo_server


def test_timeout_counts_from_the_last_chunk_it_dropped(server):
    """timeout.go re-arms time.After(timeout) on every chunk: a client sending a byte
    every 200 ms through a 500 ms timeout is never cut while it sends; the connection
    closes about 500 ms after its last byte (the old built-in closed at 500 ms flat)."""
    with echo_server() as port:
        addr = make_proxy(server.url, "t", port)
        add_toxic(server.url, "t", type="timeout", stream="upstream",
                  attributes={"timeout": 500})
        with connect(addr) as sock:
            reader = Reader(sock)
            for _ in range(8):  # 1.4 s of sending, one byte each 200 ms
                sock.sendall(b"x")
                time.sleep(0.2)
                assert reader.closed_at is None, "closed while data kept coming"
            last = time.perf_counter() - 0.2
            reader.wait_closed(10)
            assert reader.closed_at is not None
            assert 0.35 < reader.closed_at - last < 3.0, reader.closed_at - last
            assert reader.got == b""


def test_half_close_closes_the_connection_both_ways(server):
    """link.go: when one side's stream ends, the writer closes the other socket entirely
    (dest.Close()), and that ends the other direction: the client that half-closes gets
    EOF at once, not the answer the upstream sends 300 ms later."""
    with delayed_reply_server(0.3) as port:
        addr = make_proxy(server.url, "h", port)
        with connect(addr) as sock:
            reader = Reader(sock)
            sock.sendall(b"req")
            start = time.perf_counter()
            sock.shutdown(socket.SHUT_WR)
            reader.wait_closed(10)
            assert reader.closed_at is not None and reader.closed_at - start < 0.25
            assert reader.got == b""


def test_half_close_still_delivers_what_toxics_hold(server):
    """The other direction's end goes through its toxics: a chunk a latency toxic holds
    is still written before the close."""
    with echo_server() as port:
        addr = make_proxy(server.url, "hl", port)
        add_toxic(server.url, "hl", type="latency", attributes={"latency": 300})
        with connect(addr) as sock:
            reader = Reader(sock)
            sock.sendall(b"ping")
            time.sleep(0.1)  # echoed, now held downstream by the latency toxic
            sock.shutdown(socket.SHUT_WR)
            reader.wait_closed(10)
            assert reader.got == b"ping"


def upstream_down_answers(url: str, send: bool, tries: int) -> list[str]:
    requests.delete(f"{url}/proxies/down{send}")
    addr = make_proxy(url, f"down{send}", free_port())  # nothing listens there
    seen = []
    for _ in range(tries):
        with socket.create_connection(addr, timeout=5) as sock:
            if send:
                sock.sendall(b"x")
            try:
                seen.append("eof" if sock.recv(10) == b"" else "data")
            except ConnectionResetError:
                seen.append("rst")
    return seen


def test_upstream_down_resets_a_client_that_sent_data(server):
    """proxy.go: accept, Dial fails, client.Close(). A byte the client sent that reached
    the proxy before that close was never read, so the kernel answers with RST; a client
    that sent nothing gets a FIN. Whether the byte arrives first is a race: Go dials and
    closes within microseconds (0 of 8 here, 5 of 6 in issue 25's runs); the built-in
    dials on its event loop, after the byte has arrived (it used to answer EOF 6 of 6)."""
    quiet = upstream_down_answers(server.url, send=False, tries=4)
    assert quiet == ["eof"] * 4
    eager: list[str] = []
    # A loaded machine can delay the client's byte past the close (with a CPU-bound process
    # beside the suite: 1 RST in 24), so the built-in is held to "resets at all" over up to
    # 48 tries; the old code never did (EOF every time).
    for _ in range(6):
        eager += upstream_down_answers(server.url, send=True, tries=8)
        if server.kind != "built-in" or "rst" in eager:
            break
    assert set(eager) <= {"rst", "eof"}, eager
    if server.kind == "built-in":
        assert "rst" in eager, eager


def probe_latencies(socks: list[socket.socket]) -> list[bool]:
    """Which connections a 300 ms latency toxic acts on (one echo each, all at once)."""
    slow = [False] * len(socks)

    def probe(i: int) -> None:
        start = time.perf_counter()
        socks[i].sendall(b"p")
        socks[i].recv(10)
        slow[i] = time.perf_counter() - start > 0.2

    threads = [threading.Thread(target=probe, args=(i,)) for i in range(len(socks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return slow


def test_toxicity_is_drawn_again_when_a_toxic_is_appended_or_removed(server):
    """link.go AddToxic interrupts the chain's last stub and runs it again (RemoveToxic
    the one before the removed toxic), and ToxicStub.Run draws the toxicity anew: on open
    connections a 50 % toxic flips for about half of them each time."""
    with echo_server() as port:
        addr = make_proxy(server.url, "r", port)
        add_toxic(server.url, "r", name="half", type="latency", toxicity=0.5,
                  attributes={"latency": 300})
        socks = [connect(addr) for _ in range(40)]
        try:
            before = probe_latencies(socks)
            assert 5 <= sum(before) <= 35, before
            add_toxic(server.url, "r", name="after", type="noop")
            appended = probe_latencies(socks)
            requests.delete(f"{server.url}/proxies/r/toxics/after")
            removed = probe_latencies(socks)
        finally:
            for sock in socks:
                sock.close()
    assert sum(a != b for a, b in zip(before, appended, strict=True)) >= 5
    assert sum(a != b for a, b in zip(appended, removed, strict=True)) >= 5


def test_listen_all_interfaces_as_asked_and_loopback_by_default(server):
    """proxy.go net.Listen: 0.0.0.0 and [::] bind every interface, reported [::]:N. No
    host binds every interface on Toxiproxy, loopback on the built-in (our default)."""
    with echo_server() as port:
        for listen in ("0.0.0.0:0", "[::]:0"):
            resp = requests.post(f"{server.url}/proxies", json={
                "name": f"all{listen[0]}", "listen": listen, "upstream": f"127.0.0.1:{port}"})
            assert resp.status_code == 201, resp.text
            reported = resp.json()["listen"]
            assert reported.startswith("[::]:"), reported
            with connect(("127.0.0.1", int(reported.rsplit(":", 1)[1]))) as sock:
                sock.sendall(b"v4")
                assert sock.recv(10) == b"v4"
        resp = requests.post(f"{server.url}/proxies", json={
            "name": "nohost", "listen": f":{free_port()}", "upstream": f"127.0.0.1:{port}"})
        host = resp.json()["listen"].rsplit(":", 1)[0]
        assert host == ("127.0.0.1" if server.kind == "built-in" else "[::]")


def test_slicer_microsecond_delays_cost_what_they_say_here(server):
    """Kept difference (docs/toxiproxy-server.md): 256 KiB through a slicer of 64 +/- 32 B
    with 10 us between slices; the built-in stays near the ideal (4,096 slices x 10 us =
    0.04 s), Toxiproxy's Go timers take far longer (time.After per slice)."""
    with echo_server() as port:
        addr = make_proxy(server.url, "s", port)
        add_toxic(server.url, "s", type="slicer",
                  attributes={"average_size": 64, "size_variation": 32, "delay": 10})
        payload = bytes(range(256)) * 1024
        with connect(addr, 60) as sock:
            reader = Reader(sock)
            start = time.perf_counter()
            sock.sendall(payload)
            reader.wait(len(payload), 60)
            took = reader.when(len(payload)) - start
    assert bytes(reader.got) == payload
    if server.kind == "built-in":
        assert took < 1.0, took
    else:
        assert took > 0.2, took  # when Go's timers get this fine, drop the difference

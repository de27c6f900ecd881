"""Each toxic driven in memory through a MemoryStub (fake clock, seeded random source,
outputs in lists), as Toxiproxy's toxics/*_test.go drive theirs with NewToxicStub(input,
output): no socket, no event loop, no subprocess (issue 24). The behaviour pinned is
Toxiproxy 2.12's toxics/*.go, named in each test."""

from __future__ import annotations

import pytest

from fleetchaos.scenarios.steps.toxic import TOXIC_ATTRIBUTES
from fleetchaos.toxiproxy_server.stage import Stage
from fleetchaos.toxiproxy_server.stub import MemoryStub
from fleetchaos.toxiproxy_server.toxics import TOXICS, Toxic


def stage_of(type_name: str, stub: MemoryStub, at_start: bool = True, **attributes: int
             ) -> tuple[Toxic, Stage]:
    toxic = TOXICS[type_name](type_name, "downstream", 1.0, attributes)
    stage = toxic.new_stage(stub, True, at_start)
    stage.start()
    return toxic, stage


def test_noop_passes_chunks_and_the_end_in_order():
    stub = MemoryStub()
    _, stage = stage_of("noop", stub)
    for data in (b"a", b"bc"):
        stage.push(stub.now(), data)
    stage.push_eof()
    assert stub.output == [b"a", b"bc", None]


def test_latency_releases_each_chunk_at_its_arrival_plus_latency():
    """latency.go: sleep = delay - time.Since(c.Timestamp); chunks in flight overlap."""
    stub = MemoryStub()
    _, stage = stage_of("latency", stub, latency=100)
    start = stub.now()
    stage.push(start, b"one")
    stub.advance(0.02)
    stage.push(stub.now(), b"two")
    stage.push_eof()
    stub.advance(0.079)
    assert stub.output == []
    stub.advance(0.001)
    assert stub.output == [b"one"]
    stub.advance(0.02)
    assert stub.output == [b"one", b"two", None]
    assert stub.emitted_at[:2] == pytest.approx([start + 0.1, start + 0.12])
    # c.Timestamp.Add(sleep): the sleep counted from when the stage took the chunk ("two"
    # was taken at +0.1, after "one" went, and slept 0.02)
    assert stub.stamps == pytest.approx([start + 0.1, start + 0.04])


def test_latency_measures_from_the_stamp_not_from_arrival_at_the_stage():
    stub = MemoryStub()
    _, stage = stage_of("latency", stub, latency=100)
    stage.push(stub.now() - 0.06, b"late")  # read 60 ms ago, held by an earlier stage
    stub.advance(0.04)
    assert stub.output == [b"late"]


def test_latency_jitter_stays_within_its_bounds_and_keeps_order():
    """rand.Int63n(2*jitter) - jitter, per chunk; chunks never reorder."""
    stub = MemoryStub(seed=7)
    _, stage = stage_of("latency", stub, latency=50, jitter=20)
    start = stub.now()
    for i in range(200):
        stage.push(start, bytes([i]))
    stub.advance(1.0)
    assert stub.data == bytes(range(200))
    delays = [at - start for at in stub.emitted_at]
    assert min(delays) >= 0.03 - 1e-9 and max(delays) < 0.07
    assert delays == sorted(delays)


def test_latency_flush_hands_on_everything_held_at_once():
    """Interrupt: "Don't drop any data on the floor"."""
    stub = MemoryStub()
    _, stage = stage_of("latency", stub, latency=1000)
    stage.push(stub.now(), b"a")
    stage.push(stub.now(), b"b")
    stage.flush()
    assert stub.output == [b"a", b"b"] and stub.holding == 0


def test_bandwidth_takes_the_time_its_rate_says():
    """bandwidth.go: 100 ms slices of rate*100 bytes, then the remaining debt."""
    stub = MemoryStub()
    _, stage = stage_of("bandwidth", stub, rate=100)  # 100 KB/s
    start = stub.now()
    stage.push(start, b"x" * 50_000)
    stub.advance(0.35)
    assert len(stub.data) == 30_000  # three 10,000-byte slices, 100 ms apart
    stub.advance(1.0)
    assert len(stub.data) == 50_000
    assert stub.emitted_at[-1] - start == pytest.approx(0.5, abs=1e-6)


def test_bandwidth_zero_holds_data_until_flushed():
    stub = MemoryStub()
    _, stage = stage_of("bandwidth", stub, rate=0)
    stage.push(stub.now(), b"held")
    stub.advance(10)
    assert stub.output == [] and stub.holding == 4
    stage.flush()
    assert stub.output == [b"held"]


def test_slicer_cuts_within_its_sizes_and_waits_its_delay_between_slices():
    """slicer.go: halved until within size_variation of average_size; each slice keeps the
    chunk's timestamp; delay microseconds after each slice."""
    stub = MemoryStub(seed=3)
    _, stage = stage_of("slicer", stub, average_size=10, size_variation=4, delay=1000)
    start = stub.now()
    stage.push(start, bytes(range(200)))
    stub.advance(1.0)
    sizes = [len(chunk) for chunk in stub.output if chunk]
    assert bytes(b"".join(c for c in stub.output if c)) == bytes(range(200))
    assert len(sizes) > 10 and all(1 <= n <= 14 for n in sizes)
    assert set(stub.stamps) == {start}
    gaps = [b - a for a, b in zip(stub.emitted_at, stub.emitted_at[1:], strict=False)]
    assert all(g == pytest.approx(0.001) for g in gaps)


def test_slicer_without_delay_passes_slices_at_once():
    stub = MemoryStub(seed=1)
    _, stage = stage_of("slicer", stub, average_size=3, size_variation=0)
    stage.push(stub.now(), b"abcdefghij")
    assert b"".join(c for c in stub.output if c) == b"abcdefghij" and len(stub.output) > 2


def test_slow_close_passes_data_and_holds_the_end():
    stub = MemoryStub()
    _, stage = stage_of("slow_close", stub, delay=300)
    stage.push(stub.now(), b"data")
    stage.push_eof()
    assert stub.output == [b"data"]
    stub.advance(0.299)
    assert stub.output == [b"data"]
    stub.advance(0.001)
    assert stub.output == [b"data", None]


def test_timeout_drops_data_and_closes_after_its_timeout():
    """timeout.go: every chunk dropped; stub.Close() when time.After(timeout) fires."""
    stub = MemoryStub()
    _, stage = stage_of("timeout", stub, timeout=500)
    stage.push(stub.now(), b"dropped")
    stub.advance(0.6)
    assert stub.output == [] and stub.closed_by == "close"


def test_timeout_is_an_idle_timer_rearmed_by_every_chunk():
    """timeout.go's select loop calls time.After(timeout) anew for each chunk it drops."""
    stub = MemoryStub()
    _, stage = stage_of("timeout", stub, timeout=500)
    for _ in range(5):
        stub.advance(0.4)
        stage.push(stub.now(), b"x")
    assert not stub.closed  # 2 s in, never 500 ms without a chunk
    last = stub.now()
    stub.advance(1.0)
    assert stub.closed_by == "close" and stub.closed_at == pytest.approx(last + 0.5)


def test_timeout_zero_never_closes_and_the_end_closes():
    stub = MemoryStub()
    _, stage = stage_of("timeout", stub, timeout=0)
    stage.push(stub.now(), b"x")
    stub.advance(3600)
    assert not stub.closed
    stage.push_eof()  # a nil chunk: stub.Close()
    assert stub.closed_by == "close"


@pytest.mark.parametrize(("at_start", "how"), [(True, "reset"), (False, "close")])
def test_reset_peer_waits_its_timeout_after_the_first_data(at_start, how):
    """reset_peer.go; SO_LINGER 0 only when present as the connection started (link.go)."""
    stub = MemoryStub()
    _, stage = stage_of("reset_peer", stub, at_start=at_start, timeout=200)
    stub.advance(5)
    assert not stub.closed  # nothing happens before data
    stage.push(stub.now(), b"first")
    stub.advance(0.199)
    assert not stub.closed
    stub.advance(0.001)
    assert stub.closed_by == how and stub.output == []


def test_limit_data_cuts_at_the_limit_and_its_count_survives_a_new_stage():
    """limit_data.go: a StatefulToxic; the count lives on the stub across Run calls."""
    stub = MemoryStub()
    toxic, stage = stage_of("limit_data", stub, bytes=10)
    stage.push(stub.now(), b"123456")
    again = toxic.new_stage(stub)  # the toxic updated: a new stage, the same stub state
    again.push(stub.now(), b"7890abc")
    assert stub.data == b"1234567890" and stub.closed_by == "close"


def test_http_error_answers_the_share_it_is_given():
    stub = MemoryStub(seed=5)
    toxic = TOXICS["http_error"]("e", "upstream", 1.0, {"share": 1, "status": 503})
    stage = toxic.new_stage(stub)
    stage.push(stub.now(), b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    assert stub.output == [] and stub.replies[0].startswith(b"HTTP/1.1 503")
    toxic.update_attributes({"share": 0})
    stage.push(stub.now(), b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
    assert stub.data == b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n" and len(stub.replies) == 1


def test_a_stage_whose_toxicity_draw_said_no_passes_everything():
    stub = MemoryStub()
    toxic = TOXICS["timeout"]("t", "downstream", 0.0, {"timeout": 1})
    stage = toxic.new_stage(stub, active=False)
    stage.push(stub.now(), b"kept")
    stub.advance(1)
    assert stub.output == [b"kept"] and not stub.closed


def test_scenario_toxic_attributes_match_the_servers_toxics():
    """The scenario steps validate toxic attributes from TOXIC_ATTRIBUTES; the server
    defines them on each toxic: names and units must be the same (issue 24)."""
    server = {name: dict(cls.units) for name, cls in TOXICS.items() if not cls.extension}
    assert server == TOXIC_ATTRIBUTES
    for name, cls in TOXICS.items():
        assert set(cls.units) == set(cls.defaults), name

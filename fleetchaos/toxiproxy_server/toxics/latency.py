"""latency: each chunk leaves at its arrival + ``latency`` ms ± ``jitter`` ms.

Pinned to Toxiproxy's toxics/latency.go: the stage takes chunks in order; for each it draws
``delay = latency + rand[-jitter, jitter)`` and sleeps ``delay - (now - chunk.Timestamp)``,
where the timestamp is when the chunk was read from the socket. So chunks in flight
overlap: ten messages sent 20 ms apart through 200 ms come back 200 ms after each was sent,
not 200 ms after each other. The chunk's timestamp then moves by the time slept
(``c.Timestamp.Add(sleep)``), which is what a second latency toxic down the chain measures
from. Interrupting the stage (the toxic updated or removed) releases the chunks at once.
"""

from __future__ import annotations

from fleetchaos.toxiproxy_server.stage import QueueStage
from fleetchaos.toxiproxy_server.toxics.base import Toxic, register

CLOCK_SLACK_S = 1e-4  # the loop's clock ticks in ms: a float hair early is due, not a re-arm


class LatencyStage(QueueStage):
    due: tuple[float, float] | None = None  # the head's (release time, new stamp) once taken
    zero = False  # latency and jitter <= 0: every chunk passes at once (the fast path)

    def delay_s(self) -> float:
        attrs = self.toxic.attributes
        delay: int = attrs["latency"]
        jitter: int = attrs["jitter"]
        if jitter > 0:
            delay += self.stub.rng.randrange(jitter * 2) - jitter  # Go: rand.Int63n(2j) - j
        return delay / 1000.0

    def start(self) -> None:
        attrs = self.toxic.attributes
        self.zero = attrs["latency"] <= 0 and attrs["jitter"] <= 0

    def push(self, stamp: float, data: bytes) -> None:
        if self.zero and not self.queue and self.timer is None:
            self.stub.emit(stamp, data)  # sleep <= 0: Go's time.After fires at once
        else:
            QueueStage.push(self, stamp, data)

    def run(self) -> None:
        self.timer = None
        now = self.stub.now()
        while self.queue:
            head = self.queue[0]
            if head is None:
                self.queue.popleft()
                self.stub.emit_eof()
                return
            stamp, data = head
            due = self.due
            if due is None:
                sleep = self.delay_s() - (now - stamp)
                due = self.due = (now + sleep, stamp + sleep)
            release, new_stamp = due
            if release > now + CLOCK_SLACK_S:
                self.call_at(release, self.run)
                return
            self.due = None
            self.pop()
            self.stub.emit(new_stamp, data)
            if self.stub.closed:
                return

    def flush(self) -> None:
        self.due = None
        super().flush()

    def interrupt(self) -> None:
        self.due = None
        self.start()
        super().interrupt()


@register
class LatencyToxic(Toxic):
    type_name = "latency"
    go_struct = "LatencyToxic"
    defaults = {"latency": 0, "jitter": 0}
    units = {"latency": "ms", "jitter": "ms"}
    stage = LatencyStage

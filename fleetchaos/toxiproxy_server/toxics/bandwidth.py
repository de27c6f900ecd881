"""bandwidth: limits throughput to ``rate`` KB/s (1 KB = 1000 bytes, as Toxiproxy counts).

Pinned to Toxiproxy's toxics/bandwidth.go: the stage keeps a running debt of time; each
chunk adds ``len / rate``; a chunk larger than 100 ms worth (``rate * 100`` bytes) goes out
in slices of that size every 100 ms, each paying 100 ms of debt; the rest waits for the
remaining debt, and the time really slept is paid off (so oversleeping earns credit). A
rate of 0 or less holds the data until the toxic is changed. Interrupting the stage (the
toxic updated) sends the chunk in progress at once and starts a fresh debt.
"""

from __future__ import annotations

from fleetchaos.toxiproxy_server.stage import QueueStage
from fleetchaos.toxiproxy_server.toxics.base import Toxic, register

SLICE_S = 0.1


class BandwidthStage(QueueStage):
    debt = 0.0  # seconds
    taken = False  # the head's debt is counted
    wait_from: float | None = None  # when the final wait for the head began

    def run(self) -> None:
        self.timer = None
        while self.queue:
            head = self.queue[0]
            if head is None:
                self.queue.popleft()
                self.stub.emit_eof()
                return
            stamp, data = head
            rate = self.toxic.attributes["rate"]
            if rate <= 0:
                return  # held until the toxic is changed (interrupt) or removed (flush)
            now = self.stub.now()
            if not self.taken:
                self.taken = True
                self.debt += len(data) / (rate * 1000.0)
            piece = rate * 100
            if len(data) > piece:
                if self.wait_from is None:
                    self.wait_from = now
                    self.call_at(now + SLICE_S, self.run)
                    return
                self.wait_from = None
                self.queue[0] = (stamp, data[piece:])
                self.set_held(self.held - piece)
                self.debt -= SLICE_S
                self.stub.emit(stamp, data[:piece])
                if self.stub.closed:
                    return
                continue
            if self.wait_from is None:
                self.wait_from = now
                if self.debt > 0:
                    self.call_at(now + self.debt, self.run)
                    return
            self.debt -= now - self.wait_from
            self.wait_from = None
            self.taken = False
            self.pop()
            self.stub.emit(stamp, data)
            if self.stub.closed:
                return

    def interrupt(self) -> None:
        self.debt, self.taken, self.wait_from = 0.0, False, None
        super().interrupt()


@register
class BandwidthToxic(Toxic):
    type_name = "bandwidth"
    go_struct = "BandwidthToxic"
    defaults = {"rate": 0}  # 0 lets nothing through until changed
    units = {"rate": "KB/s"}
    stage = BandwidthStage

"""slicer: splits each chunk into slices of about ``average_size`` ± ``size_variation``
bytes, ``delay`` µs apart, to exercise a peer's handling of partial reads.

Pinned to Toxiproxy's toxics/slicer.go: a chunk is halved recursively (the cut moved by
up to ± ``size_variation``) until a piece is no more than ``size_variation`` bytes above
``average_size``; every slice keeps the chunk's arrival time (so a latency toxic after it
measures from the arrival) and the stage waits ``delay`` µs after each slice. Go recurses
without end on ``average_size`` <= 0; here such a slicer passes chunks through whole.
"""

from __future__ import annotations

import itertools

from fleetchaos.toxiproxy_server.stage import QueueStage
from fleetchaos.toxiproxy_server.toxics.base import Toxic, register


class SlicerStage(QueueStage):
    slices: list[bytes] | None = None  # the head chunk, cut, not yet sent

    def cut(self, data: bytes) -> list[bytes]:
        avg = self.toxic.attributes["average_size"]
        var = self.toxic.attributes["size_variation"]
        if avg <= 0:
            return [data]
        rng = self.stub.rng
        bounds: list[int] = []
        todo = [(0, len(data))]
        while todo:
            start, end = todo.pop()
            if (end - start) - avg <= var or end - start < 2:
                bounds.append(start)
                continue
            mid = start + (end - start) // 2
            if var > 0:
                mid += rng.randrange(var * 2) - var
            mid = min(max(mid, start + 1), end - 1)
            todo.append((mid, end))
            todo.append((start, mid))
        bounds.append(len(data))
        return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]

    def pass_now(self, stamp: float, data: bytes) -> bool:
        if self.toxic.attributes["delay"] > 0:
            return False
        for piece in self.cut(data):
            self.stub.emit(stamp, piece)
        return True

    def run(self) -> None:
        self.timer = None
        while self.queue:
            head = self.queue[0]
            if head is None:
                self.queue.popleft()
                self.stub.emit_eof()
                return
            stamp, data = head
            if self.slices is None:
                self.slices = self.cut(data)
            piece = self.slices.pop(0)
            if self.slices:
                self.queue[0] = (stamp, data[len(piece):])
                self.set_held(self.held - len(piece))
            else:
                self.slices = None
                self.pop()
            self.stub.emit(stamp, piece)
            if self.stub.closed:
                return
            delay = self.toxic.attributes["delay"]
            if delay > 0:
                self.call_at(self.stub.now() + delay / 1e6, self.run)
                return

    def interrupt(self) -> None:
        self.slices = None
        super().interrupt()


@register
class SlicerToxic(Toxic):
    type_name = "slicer"
    go_struct = "SlicerToxic"
    go_int = "int"
    defaults = {"average_size": 0, "size_variation": 0, "delay": 0}
    units = {"average_size": "bytes", "size_variation": "bytes", "delay": "µs"}
    stage = SlicerStage

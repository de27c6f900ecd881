"""timeout: stops all data; closes the connection once ``timeout`` ms pass with no data
reaching it (0 or less: never closes, data is dropped until the toxic is removed).

Pinned to Toxiproxy's toxics/timeout.go: the timer starts when the stage starts (the
connection opens, or the toxic is added to an open one) and starts again with every chunk
it drops (its select loop calls ``time.After`` anew each time round); the toxic's Cleanup
closes the stub, so removing it closes the connections it held (their streams lost bytes).
"""

from __future__ import annotations

from fleetchaos.toxiproxy_server.stage import Stage
from fleetchaos.toxiproxy_server.toxics.base import Toxic, register


class TimeoutStage(Stage):
    def start(self) -> None:
        ms = self.toxic.attributes["timeout"]
        if ms > 0:
            self.call_at(self.stub.now() + ms / 1000.0, self.stub.close)

    def interrupt(self) -> None:
        """Updated: Go runs Pipe again, so the timer starts afresh."""
        self.cancel()
        self.start()

    def push(self, stamp: float, data: bytes) -> None:
        """Dropped; Go's loop re-arms ``time.After(timeout)`` for every chunk it takes,
        so the timeout counts from the last chunk (an idle timer)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.start()

    def push_eof(self) -> None:
        self.stub.close()  # Go: a nil chunk closes the stub

    def cleanup(self) -> None:
        self.stub.close()


@register
class TimeoutToxic(Toxic):
    type_name = "timeout"
    go_struct = "TimeoutToxic"
    defaults = {"timeout": 0}
    units = {"timeout": "ms"}
    stage = TimeoutStage

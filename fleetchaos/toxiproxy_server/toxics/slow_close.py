"""slow_close: passes data on unchanged and delays passing on the close by ``delay`` ms.

Pinned to Toxiproxy's toxics/slow_close.go: data flows at once; the end of the stream is
held for ``delay`` ms, then passed on.
"""

from __future__ import annotations

from fleetchaos.toxiproxy_server.stage import Stage
from fleetchaos.toxiproxy_server.toxics.base import Toxic, register


class SlowCloseStage(Stage):
    eof_pending = False

    def push_eof(self) -> None:
        self.eof_pending = True
        self.call_at(self.stub.now() + self.toxic.attributes["delay"] / 1000.0, self.release)

    def release(self) -> None:
        self.timer = None
        self.eof_pending = False
        self.stub.emit_eof()

    def flush(self) -> None:
        self.cancel()
        if self.eof_pending:
            self.release()


@register
class SlowCloseToxic(Toxic):
    type_name = "slow_close"
    go_struct = "SlowCloseToxic"
    defaults = {"delay": 0}
    units = {"delay": "ms"}
    stage = SlowCloseStage

"""reset_peer: ``timeout`` ms after the first data reaches it, closes the connection with
a TCP RST (SO_LINGER 0), the way a crashed peer or a middlebox would.

Pinned to Toxiproxy's toxics/reset_peer.go and link.go: the stage waits for the first
chunk (or the end of the stream), drops it and everything after, sleeps ``timeout`` ms and
closes. SO_LINGER 0 is set only when the toxic was present as the connection started
(link.go sets it in ``Start``); added to an open connection it closes it with a FIN.
"""

from __future__ import annotations

from fleetchaos.toxiproxy_server.stage import Stage
from fleetchaos.toxiproxy_server.toxics.base import Toxic, register


class ResetPeerStage(Stage):
    triggered = False

    def push(self, stamp: float, data: bytes) -> None:
        self.trigger()

    def push_eof(self) -> None:
        self.trigger()

    def trigger(self) -> None:
        if self.triggered:
            return
        self.triggered = True
        close = self.stub.reset if self.at_start else self.stub.close
        ms = self.toxic.attributes["timeout"]
        if ms <= 0:
            close()
        else:
            self.call_at(self.stub.now() + ms / 1000.0, close)


@register
class ResetPeerToxic(Toxic):
    type_name = "reset_peer"
    go_struct = "ResetToxic"
    defaults = {"timeout": 0}
    units = {"timeout": "ms"}
    stage = ResetPeerStage

"""reset_peer: after ``timeout`` ms, closes the client connection with a TCP RST
(SO_LINGER 0), the way a crashed peer or a middlebox would."""

from __future__ import annotations

from typing import Any

from fleetchaos.toxiproxy_server.toxics.base import Emit, Toxic, register


@register
class ResetPeerToxic(Toxic):
    type_name = "reset_peer"
    defaults = {"timeout": 0}  # milliseconds

    def on_activate(self, link: Any, state: dict[str, Any]) -> None:
        link.call_later(float(self.attributes["timeout"]) / 1000.0, self, link.reset_now)

    async def handle(self, data: bytes, emit: Emit, state: dict[str, Any], link: Any) -> None:
        if float(self.attributes["timeout"]) <= 0:
            link.reset_now()
            return
        await emit(data)

"""timeout: stops all data; closes the connection after ``timeout`` ms (0: never closes,
data is dropped until the toxic is removed).

Removing the toxic closes the connections it held, as Toxiproxy does: bytes were dropped,
so letting the stream go on would hand the peer a corrupt one.
"""

from __future__ import annotations

from typing import Any

from fleetchaos.toxiproxy_server.toxics.base import Emit, Toxic, register


@register
class TimeoutToxic(Toxic):
    type_name = "timeout"
    defaults = {"timeout": 0}  # milliseconds

    def on_activate(self, link: Any, state: dict[str, Any]) -> None:
        ms = float(self.attributes["timeout"])
        if ms > 0:
            link.call_later(ms / 1000.0, self, link.close_now)

    async def handle(self, data: bytes, emit: Emit, state: dict[str, Any], link: Any) -> None:
        return  # data is dropped while the toxic is present

    def on_remove(self, link: Any, state: dict[str, Any]) -> None:
        link.close_now()

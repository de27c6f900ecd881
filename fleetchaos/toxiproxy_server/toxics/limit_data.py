"""limit_data: closes the connection once ``bytes`` bytes have passed in this direction."""

from __future__ import annotations

from typing import Any

from fleetchaos.toxiproxy_server.toxics.base import Emit, Toxic, register


@register
class LimitDataToxic(Toxic):
    type_name = "limit_data"
    defaults = {"bytes": 0}  # bytes

    async def handle(self, data: bytes, emit: Emit, state: dict[str, Any], link: Any) -> None:
        limit = int(self.attributes["bytes"])
        sent = state.get("sent", 0)
        room = max(0, limit - sent)
        if room:
            await emit(data[:room])
            state["sent"] = sent + min(room, len(data))
        if state.get("sent", 0) >= limit:
            await link.close_gracefully()

"""slicer: splits data into chunks of ``average_size`` ± ``size_variation`` bytes,
``delay`` µs apart, to exercise a peer's handling of partial reads."""

from __future__ import annotations

import asyncio
from typing import Any

from fleetchaos.toxiproxy_server.toxics.base import Emit, Toxic, register


@register
class SlicerToxic(Toxic):
    type_name = "slicer"
    defaults = {"average_size": 0, "size_variation": 0, "delay": 0}  # bytes, bytes, µs

    async def handle(self, data: bytes, emit: Emit, state: dict[str, Any], link: Any) -> None:
        avg = int(self.attributes["average_size"])
        var = int(self.attributes["size_variation"])
        delay_s = float(self.attributes["delay"]) / 1e6
        if avg <= 0:
            await emit(data)
            return
        pos = 0
        while pos < len(data):
            size = max(1, avg + (link.rng.randint(-var, var) if var else 0))
            await emit(data[pos : pos + size])
            pos += size
            if delay_s and pos < len(data):
                await asyncio.sleep(delay_s)

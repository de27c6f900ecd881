"""bandwidth: limits throughput to ``rate`` KB/s (1 KB = 1000 bytes, as Toxiproxy counts).

Data is passed on in slices of at most 100 ms worth, each after the time it would
take at that rate, so a large write is smoothed rather than released in one burst.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fleetchaos.toxiproxy_server.toxics.base import Emit, Toxic, register


@register
class BandwidthToxic(Toxic):
    type_name = "bandwidth"
    defaults = {"rate": 0}  # KB/s; 0 lets nothing through until changed

    async def handle(self, data: bytes, emit: Emit, state: dict[str, Any], link: Any) -> None:
        view = memoryview(data)
        while view:
            rate = float(self.attributes["rate"]) * 1000.0
            if rate <= 0:
                await asyncio.sleep(0.05)
                continue
            size = max(1, int(rate / 10))
            piece, view = view[:size], view[size:]
            # Pace against a running clock so sleep overshoot does not accumulate.
            now = time.monotonic()
            ready_at = max(state.get("ready_at", now), now - 0.1) + len(piece) / rate
            state["ready_at"] = ready_at
            wait = ready_at - now
            if wait > 0:
                await asyncio.sleep(wait)
            await emit(bytes(piece))

"""latency: delays each chunk by ``latency`` ms ± ``jitter`` ms (uniform)."""

from __future__ import annotations

import asyncio
from typing import Any

from fleetchaos.toxiproxy_server.toxics.base import Emit, Toxic, register


@register
class LatencyToxic(Toxic):
    type_name = "latency"
    defaults = {"latency": 0, "jitter": 0}  # both in milliseconds

    async def handle(self, data: bytes, emit: Emit, state: dict[str, Any], link: Any) -> None:
        delay_ms = float(self.attributes["latency"])
        jitter = float(self.attributes["jitter"])
        if jitter:
            delay_ms += link.rng.uniform(-jitter, jitter)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000.0)
        await emit(data)

"""slow_close: delays passing on the close (FIN) by ``delay`` ms."""

from __future__ import annotations

import asyncio
from typing import Any

from fleetchaos.toxiproxy_server.toxics.base import Toxic, register


@register
class SlowCloseToxic(Toxic):
    type_name = "slow_close"
    defaults = {"delay": 0}  # milliseconds

    async def before_close(self, state: dict[str, Any]) -> None:
        await asyncio.sleep(float(self.attributes["delay"]) / 1000.0)

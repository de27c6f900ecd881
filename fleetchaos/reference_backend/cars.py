"""Live car connections: the command channel back to each car, and its online state.

A command is answered when the car acks it over its own connection; if that link is
down the command fails even when the API is healthy (408), and a car that does not
answer in time gives the gateway-style 504.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


class CarUnavailable(Exception):
    """The car is asleep or not connected: 408, as the public API answers."""


class CarTimeout(Exception):
    """The car did not ack the command in time: 504."""


@dataclass
class CarLink:
    vin: str
    ws: web.WebSocketResponse
    state: str = "online"
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    transport: asyncio.BaseTransport | None = None  # the car's connection (cut at stop)

    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def cut(self) -> None:
        """Drop the connection without a close handshake (a car that did not answer)."""
        if isinstance(self.transport, asyncio.Transport):
            self.transport.abort()


class CarRegistry:
    def __init__(self) -> None:
        self.links: dict[str, CarLink] = {}

    def state(self, vin: str) -> str:
        link = self.links.get(vin)
        return link.state if link else "offline"

    def connect(self, vin: str, ws: web.WebSocketResponse) -> CarLink:
        old = self.links.get(vin)
        if old is not None:
            self._fail_pending(old)
        link = CarLink(vin, ws)
        self.links[vin] = link
        return link

    def disconnect(self, link: CarLink) -> None:
        if self.links.get(link.vin) is link:
            del self.links[link.vin]
        self._fail_pending(link)

    def _fail_pending(self, link: CarLink) -> None:
        for fut in link.pending.values():
            if not fut.done():
                fut.set_exception(CarUnavailable("car disconnected"))
        link.pending.clear()

    async def send_command(self, vin: str, command: str, timeout_s: float,
                           require_online: bool = True) -> dict[str, Any]:
        link = self.links.get(vin)
        if link is None or (require_online and link.state != "online"):
            raise CarUnavailable("vehicle unavailable: vehicle is offline or asleep")
        cid = uuid.uuid4().hex
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        link.pending[cid] = fut
        try:
            await link.ws.send_json({"type": "command", "id": cid, "command": command})
            return await asyncio.wait_for(fut, timeout_s)
        except TimeoutError:
            raise CarTimeout(f"vehicle did not answer {command} within {timeout_s:.0f} s") from None
        except ConnectionError:
            raise CarUnavailable("vehicle unavailable: connection lost") from None
        finally:
            link.pending.pop(cid, None)

    def command_acked(self, link: CarLink, msg: dict[str, Any]) -> bool:
        fut = link.pending.get(str(msg.get("id")))
        if fut is None or fut.done():
            return False
        fut.set_result(msg)
        return True

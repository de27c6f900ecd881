"""A named proxy: a listening socket, its upstream, its toxics and its live links."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from fleetchaos.toxiproxy_server.link import Link, Side
from fleetchaos.toxiproxy_server.toxics import TOXICS, Toxic, ToxicError

STREAMS = ("upstream", "downstream")


class ApiError(Exception):
    """An API failure with its HTTP status, answered as Toxiproxy's JSON error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def normalize_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep:
        raise ApiError(400, f"listen address {listen!r} must be host:port")
    host = host.strip("[]") or "127.0.0.1"
    if host == "localhost":
        host = "127.0.0.1"
    try:
        port_no = int(port)
    except ValueError:
        raise ApiError(400, f"listen port {port!r} is not a number") from None
    if not 0 <= port_no <= 65535:
        raise ApiError(400, f"listen port {port_no} is out of range")
    return host, port_no


class Proxy:
    def __init__(self, name: str, listen: str, upstream: str, rng: random.Random) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: dict[str, Toxic] = {}
        self.links: set[Link] = set()
        self.rng = rng
        self.server: asyncio.base_events.Server | None = None
        self.bytes = {"upstream": 0, "downstream": 0}  # of connections already closed
        self.connections_total = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.toxics.values()],
        }

    def has_toxics(self, stream: str) -> bool:
        return any(t.stream == stream for t in self.toxics.values())

    def sent_bytes(self) -> dict[str, int]:
        """Bytes read from each side so far, closed and live connections together."""
        totals = dict(self.bytes)
        for link in self.links:
            totals["upstream"] += link.upstream_pipe.nbytes
            totals["downstream"] += link.downstream_pipe.nbytes
        return totals

    async def start(self) -> None:
        if self.enabled:
            return
        host, port = normalize_listen(self.listen)
        try:
            self.server = await asyncio.get_running_loop().create_server(
                self._new_link, host, port, backlog=4096, reuse_address=True)
        except OSError as exc:
            raise ApiError(500, f"listen tcp {host}:{port}: {exc.strerror or exc}") from None
        real_port = self.server.sockets[0].getsockname()[1]
        self.listen = f"{host}:{real_port}" if ":" not in host else f"[{host}]:{real_port}"
        self.enabled = True

    async def stop(self) -> None:
        """Disable: stop listening and drop every live connection."""
        self.enabled = False
        if self.server is not None:
            self.server.close()
            self.server = None
        for link in list(self.links):
            link.close_now()

    def _new_link(self) -> Side:
        return Link(self, random.Random(self.rng.random())).client

    # --- toxics -------------------------------------------------------------------------
    def add_toxic(self, body: dict[str, Any]) -> Toxic:
        toxic_type = body.get("type")
        if not isinstance(toxic_type, str) or toxic_type not in TOXICS:
            raise ApiError(400, f"invalid toxic type: {toxic_type!r}")
        stream = body.get("stream") or "downstream"
        if stream not in STREAMS:
            raise ApiError(400, f"invalid stream: {stream!r}")
        name = body.get("name") or f"{toxic_type}_{stream}"
        if not isinstance(name, str):
            raise ApiError(400, "toxic name must be a string")
        if name in self.toxics:
            raise ApiError(409, "toxic already exists")
        toxicity = _toxicity(body.get("toxicity", 1.0))
        attributes = body.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise ApiError(400, "attributes must be an object")
        try:
            toxic = TOXICS[toxic_type](name, stream, toxicity, attributes)
        except ToxicError as exc:
            raise ApiError(400, str(exc)) from None
        self.toxics[name] = toxic
        for link in list(self.links):
            link.applies(toxic)  # also applies to connections already open
            link.toxics_changed()
        return toxic

    def update_toxic(self, name: str, body: dict[str, Any]) -> Toxic:
        toxic = self.get_toxic(name)
        attributes = body.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise ApiError(400, "attributes must be an object")
        try:
            toxic.update_attributes(attributes)
        except ToxicError as exc:
            raise ApiError(400, str(exc)) from None
        if "toxicity" in body:
            toxic.toxicity = _toxicity(body["toxicity"])
        return toxic

    def get_toxic(self, name: str) -> Toxic:
        toxic = self.toxics.get(name)
        if toxic is None:
            raise ApiError(404, "toxic not found")
        return toxic

    def remove_toxic(self, name: str) -> None:
        toxic = self.get_toxic(name)
        del self.toxics[name]
        for link in list(self.links):
            link.toxic_removed(toxic)
            link.toxics_changed()

    def remove_all_toxics(self) -> None:
        for name in list(self.toxics):
            self.remove_toxic(name)


def _toxicity(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ApiError(400, "toxicity must be a number between 0 and 1")
    return float(value)

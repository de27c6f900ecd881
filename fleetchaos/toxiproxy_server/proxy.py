"""A named proxy: a listening socket, its upstream, its toxics and its live links."""

from __future__ import annotations

import asyncio
import math
import os
import random
import socket
from typing import Any

from fleetchaos.toxiproxy_server.link import Link, Side
from fleetchaos.toxiproxy_server.toxics import TOXICS, Toxic, ToxicError
from fleetchaos.toxiproxy_server.toxics.base import go_fields, json_kind, number_text

STREAMS = ("upstream", "downstream")


class ApiError(Exception):
    """An API failure with its HTTP status, answered as Toxiproxy's JSON error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def go_errno_text(exc: OSError) -> str:
    """The OS error as Go words it ("address already in use", lower case)."""
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return text[:1].lower() + text[1:]


ALL_INTERFACES = ("0.0.0.0", "::")


def normalize_listen(listen: str) -> tuple[str, int]:
    """host:port as Go's net.Listen parses it; errors are its texts (answered 500, as
    Toxiproxy answers every listen failure). No host (``""``, ``:8080``) is loopback here,
    where Toxiproxy binds every interface: our default stays safe. An explicit
    ``0.0.0.0`` or ``[::]`` binds every interface, IPv4 and IPv6, as Go does."""
    if not listen:
        return "127.0.0.1", 0
    host, sep, port = listen.rpartition(":")
    if not sep:
        raise ApiError(500, f"listen tcp: address {listen}: missing port in address")
    host = host.strip("[]") or "127.0.0.1"
    if host == "localhost":
        host = "127.0.0.1"
    if host in ALL_INTERFACES:
        host = "::"
    if not port.isdigit() or int(port) > 65535:
        raise ApiError(500, f"listen tcp: address {port}: invalid port" if port.isdigit()
                       else f"listen tcp: lookup tcp/{port}: unknown port")
    return host, int(port)


def dual_stack_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", port))
    except OSError:
        sock.close()
        raise
    return sock


def resolved(listen: str) -> str:
    """The listen address as Toxiproxy compares it (``Proxy.Differs``)."""
    host, port = normalize_listen(listen)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


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
        """Go's proxyToxics: the Proxy struct's fields, its exported (empty) Logger
        included, then the toxics."""
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "Logger": {},
            "toxics": self.toxics_json(),
        }

    def ordered_toxics(self) -> list[Toxic]:
        """GetToxicArray: the upstream chain, then the downstream one, each in order."""
        return [t for stream in STREAMS for t in self.toxics.values() if t.direction == stream]

    def toxics_json(self) -> list[dict[str, Any]]:
        return [t.to_json() for t in self.ordered_toxics()]

    def has_toxics(self, stream: str) -> bool:
        return any(t.direction == stream for t in self.toxics.values())

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
        loop = asyncio.get_running_loop()
        try:
            if host == "::":  # every interface, both families, as Go's [::] listener
                self.server = await loop.create_server(
                    self._new_link, sock=dual_stack_socket(port), backlog=4096)
            else:
                self.server = await loop.create_server(
                    self._new_link, host, port, backlog=4096, reuse_address=True)
        except OSError as exc:  # Go: "listen tcp 127.0.0.1:3310: bind: address already in use"
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise ApiError(500, f"listen tcp {where}: bind: {go_errno_text(exc)}") from None
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

    # --- toxics (Toxiproxy's toxic_collection.go, in its order of checks) ----------------
    def add_toxic(self, body: Any, extensions: bool = True) -> Toxic:
        if not isinstance(body, dict):
            raise ApiError(400, "bad request body: json: cannot unmarshal "
                           f"{json_kind(body)} into Go value of type toxics.ToxicWrapper")
        body = go_fields(body, ("name", "type", "stream", "toxicity", "attributes"))
        for key in ("name", "type", "stream"):
            _go_string(body, key, "ToxicWrapper")
        toxicity = _toxicity(body.get("toxicity"), 1.0)
        attributes = body.get("attributes")
        if attributes is not None and not isinstance(attributes, dict):
            raise ApiError(400, f"bad request body: json: cannot unmarshal {json_kind(attributes)}"
                           " into Go struct field ToxicWrapper.attributes of type toxics.NoopToxic")
        stream = body.get("stream")
        stream = "downstream" if stream is None else stream
        if stream.lower() not in STREAMS:
            raise ApiError(400, "stream was invalid, can be either upstream or downstream")
        toxic_type = body.get("type") or ""
        name = body.get("name") or f"{toxic_type}_{stream}"  # the stream as given
        cls = TOXICS.get(toxic_type)
        if cls is None or (cls.extension and not extensions):
            raise ApiError(400, "invalid toxic type")
        if name in self.toxics:
            raise ApiError(409, "toxic already exists")
        try:
            toxic = cls(name, stream, toxicity, attributes or {})
        except ToxicError as exc:
            raise ApiError(400, str(exc)) from None
        self.toxics[name] = toxic
        for link in list(self.links):
            link.toxic_added(toxic)  # also acts on connections already open
        return toxic

    def update_toxic(self, name: str, body: Any) -> Toxic:
        toxic = self.get_toxic(name)
        if not isinstance(body, dict):
            raise ApiError(400, f"bad request body: json: cannot unmarshal {json_kind(body)} "
                           "into Go value of type struct { Attributes interface {} "
                           '"json:\\"attributes\\""; Toxicity float32 "json:\\"toxicity\\"" }')
        body = go_fields(body, ("attributes", "toxicity"))
        toxicity = _toxicity(body.get("toxicity"), toxic.toxicity, "")
        attributes = body.get("attributes")
        if attributes is not None and not isinstance(attributes, dict):
            raise ApiError(400, f"bad request body: json: cannot unmarshal {json_kind(attributes)}"
                           f" into Go struct field .attributes of type toxics.{toxic.go_struct}")
        try:
            toxic.update_attributes(attributes or {})
        except ToxicError as exc:
            raise ApiError(400, str(exc)) from None
        toxic.toxicity = toxicity
        for link in list(self.links):
            link.toxic_updated(toxic)
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

    def remove_all_toxics(self) -> None:
        for name in list(self.toxics):
            self.remove_toxic(name)


def _go_string(body: dict[str, Any], key: str, struct: str) -> None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"bad request body: json: cannot unmarshal {json_kind(value)} "
                       f"into Go struct field {struct}.{key} of type string")


def _toxicity(value: Any, default: float, struct: str = "ToxicWrapper") -> float:
    """Go decodes toxicity into a float32: any JSON number that fits (no range check)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or abs(value) > 3.4028234663852886e38:
        shown = f"number {number_text(value)}" if json_kind(value) == "number" \
            else json_kind(value)
        raise ApiError(400, f"bad request body: json: cannot unmarshal {shown} into Go struct "
                       f"field {struct}.toxicity of type float32")
    return float(value)

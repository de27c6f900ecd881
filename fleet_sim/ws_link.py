"""A car's WebSocket link (RFC 6455, ``ws://``) in what the wire needs and no more.

A library client (websocket-client) costs a car a reader greenlet blocked in ``recv``
(8 KB of stack per car), a lock per frame, a frame object per message and a thread-pool
round trip for every connect's name lookup. Ten thousand cars pay that ten thousand times.
Here a car's link is one socket and two small buffers:

- **connect** (in the car's greenlet, cooperative, 10 s timeout): a numeric address
  (looked up once per process), the upgrade request, the ``101`` answer and its
  ``Sec-WebSocket-Accept`` checked; ``TCP_NODELAY``, as browsers and websocket-client set.
- **receiving**: a libev watcher calls back when the socket is readable; the callback reads
  what is there, cuts it into frames and hands each message to the car (acks, commands).
  No greenlet waits on a car's socket.
- **sending**: a batch of records becomes one write of masked text frames (a fresh mask
  key per frame, as the RFC requires of clients); what the kernel does not take at once
  waits in the link and goes out when the socket is writable, so a car never blocks on
  a backend that stopped reading (TCP pushes back, the car's window fills, records wait
  in its outbox).

``wss://`` links (TLS) go through websocket-client (fleet_sim/car_link.py).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import random
import socket as std_socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from gevent import socket as gsocket
from gevent.hub import get_hub

from fleetchaos.fleet_sim.profiles import Profile, TelemetryContract, dig, render
from fleetchaos.fleet_sim.stats import FleetCounters

CONNECT_TIMEOUT_S = 10.0
MAX_HANDSHAKE_BYTES = 64 * 1024
READ_CHUNK = 256 * 1024
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_keys = random.Random()  # mask keys: fresh per frame (RFC 6455 5.3), no secret to keep

Fire = Callable[..., None]


@lru_cache(maxsize=64)
def address(host: str, port: int) -> tuple[int, tuple[Any, ...]]:
    """(family, sockaddr) of ``host``: looked up once per process, not once per car (a
    numeric address is not looked up at all: gevent would still ask its thread pool)."""
    for family in (std_socket.AF_INET, std_socket.AF_INET6):
        with contextlib.suppress(OSError):
            std_socket.inet_pton(family, host)
            return family, (host, port)
    family, _type, _proto, _name, sockaddr = std_socket.getaddrinfo(
        host, port, type=std_socket.SOCK_STREAM)[0]
    return family, sockaddr


def frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One masked client frame (FIN set) carrying ``payload``."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0xFE)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0xFF)) + n.to_bytes(8, "big")
    key = _keys.getrandbits(32).to_bytes(4, "big")
    if not n:
        return head + key
    mask = (key * ((n + 3) >> 2))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
    return head + key + masked


def as_ack(contract: TelemetryContract, msg: dict[str, Any]) -> dict[str, Any]:
    """A message that matches the contract's ack fields becomes {type: ack, seq: N}."""
    match = contract.ack_message
    if match is None or any(msg.get(k) != v for k, v in match.items()):
        return msg if msg.get("type") != "ack" else {**msg, "type": "ack (not matched)"}
    seq = dig(msg, contract.ack_seq)
    if isinstance(seq, bool) or not isinstance(seq, int):
        return {"type": "ack (no seq)"}
    return {"type": "ack", "seq": seq}


class HandshakeRefused(ConnectionError):
    """The server answered the upgrade with something other than a valid 101."""


class WebSocketTransport:
    """One car's ``ws://`` link: ``connect/send/send_control/close``, acks and commands
    delivered to ``on_message`` from the socket's watcher."""

    kind = "WS"

    def __init__(self, base_url: str, profile: Profile, variables: dict[str, Any],
                 fire: Fire, on_message: Callable[[dict[str, Any]], None],
                 counters: FleetCounters | None = None) -> None:
        self.counters = counters if counters is not None else FleetCounters()
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path.rstrip("/") + str(render(profile.telemetry["path"], variables))
        self.headers = render(dict(profile.telemetry.get("headers") or {}), variables)
        self.fire = fire
        self.on_message = on_message
        self.contract = profile.contract
        self.fd = -1
        self.reader: Any = None
        self.writer: Any = None
        self.inbuf = b""
        self.pending: deque[bytes] | None = None  # what the socket did not take yet
        self.parts: list[bytes] = []  # a fragmented message so far
        self.up = False

    @property
    def connected(self) -> bool:
        return self.up

    # --- connecting -----------------------------------------------------------------------

    def _request(self, key: bytes) -> bytes:
        host = self.host if self.port == 80 else f"{self.host}:{self.port}"
        lines = [f"GET {self.path or '/'} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key.decode()}",
                 "Sec-WebSocket-Version: 13",
                 *(f"{k}: {v}" for k, v in self.headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def connect(self) -> bool:
        start = time.perf_counter()
        sock = None
        try:
            family, sockaddr = address(self.host, self.port)
            sock = gsocket.socket(family, std_socket.SOCK_STREAM)
            sock.settimeout(CONNECT_TIMEOUT_S)
            sock.setsockopt(std_socket.IPPROTO_TCP, std_socket.TCP_NODELAY, 1)
            sock.connect(sockaddr)
            key = base64.b64encode(os.urandom(16))
            sock.sendall(self._request(key))
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = sock.recv(4096)
                if not chunk:
                    raise HandshakeRefused("connection closed during the WebSocket handshake")
                got += chunk
                if len(got) > MAX_HANDSHAKE_BYTES:
                    raise HandshakeRefused("no end to the handshake's answer headers")
            head, _, rest = got.partition(b"\r\n\r\n")
            self._check_answer(head, key)
        except (OSError, HandshakeRefused, ValueError, UnicodeError) as exc:
            if sock is not None:
                sock.close()
            self.fire(request_type="WS", name="telemetry_connect",
                      response_time=(time.perf_counter() - start) * 1000, response_length=0,
                      exception=exc)
            return False
        # from here on the link is the descriptor and our own watchers (gevent's socket
        # object would hold two more watchers per car that nothing waits on)
        self.fd = sock.detach()
        self.inbuf, self.pending, self.parts = rest, None, []
        self.up = True
        self.reader = get_hub().loop.io(self.fd, 1)
        self.reader.start(self._readable)
        self.fire(request_type="WS", name="telemetry_connect",
                  response_time=(time.perf_counter() - start) * 1000, response_length=0,
                  exception=None)
        if rest:
            self._frames()
        return True

    @staticmethod
    def _check_answer(head: bytes, key: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            raise HandshakeRefused(f"WebSocket upgrade refused: {lines[0][:200]}")
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        if fields.get("sec-websocket-accept") != expected:
            raise HandshakeRefused("WebSocket upgrade answered without the right "
                                   "Sec-WebSocket-Accept")

    # --- receiving (called by the hub when the socket is readable) ------------------------

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            self._lost()
            return
        if not data:
            self._lost()
            return
        self.inbuf = self.inbuf + data if self.inbuf else data
        self._frames()

    def _frames(self) -> None:
        buf, pos, end = self.inbuf, 0, len(self.inbuf)
        while end - pos >= 2 and self.up:
            b0, b1 = buf[pos], buf[pos + 1]
            length, at = b1 & 0x7F, pos + 2
            if length == 126:
                if end - at < 2:
                    break
                length, at = int.from_bytes(buf[at:at + 2], "big"), at + 2
            elif length == 127:
                if end - at < 8:
                    break
                length, at = int.from_bytes(buf[at:at + 8], "big"), at + 8
            key = b""
            if b1 & 0x80:  # a server must not mask; unmask anyway
                if end - at < 4:
                    break
                key, at = buf[at:at + 4], at + 4
            if end - at < length:
                break
            payload = buf[at:at + length]
            pos = at + length
            if key:
                mask = (key * ((length + 3) >> 2))[:length]
                payload = (int.from_bytes(payload, "big")
                           ^ int.from_bytes(mask, "big")).to_bytes(length, "big")
            self._frame(b0 & 0x80, b0 & 0x0F, payload)
        self.inbuf = buf[pos:] if pos < end else b""

    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode in (OP_TEXT, OP_BINARY, OP_CONT):
            if not fin:
                self.parts.append(payload)
                return
            if self.parts:
                payload, self.parts = b"".join([*self.parts, payload]), []
            self._message(payload)
        elif opcode == OP_PING:
            self._write(frame(payload, OP_PONG))
        elif opcode == OP_CLOSE:
            self._write(frame(payload[:2], OP_CLOSE))
            self._lost()

    def _message(self, payload: bytes) -> None:
        try:
            msg = json.loads(payload)
        except ValueError:
            return
        if isinstance(msg, dict):
            self.on_message(as_ack(self.contract, msg))

    # --- sending --------------------------------------------------------------------------

    def _write(self, data: bytes) -> bool:
        """Write now what the socket takes; the rest waits for it to be writable."""
        if not self.up:
            return False
        if self.pending:
            self.pending.append(data)
            return True
        try:
            written = os.write(self.fd, data)
        except BlockingIOError:
            written = 0
        except OSError:
            self._lost()
            return False
        if written < len(data):
            self.pending = deque((data[written:],))
            if self.writer is None:
                self.writer = get_hub().loop.io(self.fd, 2)
            self.writer.start(self._writable)
        return True

    def _writable(self) -> None:
        pending = self.pending
        while pending:
            chunk = pending[0]
            try:
                written = os.write(self.fd, chunk)
            except BlockingIOError:
                return
            except OSError:
                self._lost()
                return
            if written < len(chunk):
                pending[0] = chunk[written:]
                return
            pending.popleft()
        self.pending = None
        if self.writer is not None:
            self.writer.stop()

    def send(self, records: Sequence[tuple[int, str]]) -> list[int] | None:
        """Write ``(seq, JSON text)`` records, one frame each, in one write; acks come
        later through on_message. None means the link is down (nothing was written)."""
        if not self.up:
            return None
        frames = []
        size = 0
        for _seq, text in records:
            data = text.encode()
            size += len(data)
            frames.append(frame(data))
        if not self._write(b"".join(frames)):
            return None
        self.counters.add("telemetry_bytes", size)
        return [seq for seq, _text in records] if self.contract.acks_on_write else []

    def send_control(self, msg: dict[str, Any]) -> None:
        self._write(frame(json.dumps(msg).encode()))

    # --- closing --------------------------------------------------------------------------

    def _lost(self) -> None:
        """The link is gone (closed by the peer, reset, or by us): stop and close."""
        if self.fd < 0:
            return
        self.up = False
        for watcher in (self.reader, self.writer):
            if watcher is not None:
                watcher.stop()
                watcher.close()
        self.reader = self.writer = None
        fd, self.fd = self.fd, -1
        self.inbuf, self.pending = b"", None
        with contextlib.suppress(OSError):
            os.close(fd)

    def close(self) -> None:
        """A close frame if the socket takes it at once (no wait for the answer), then gone."""
        if self.up and not self.pending:
            with contextlib.suppress(OSError):
                os.write(self.fd, frame(b"\x03\xe8", OP_CLOSE))  # 1000: normal closure
        self._lost()


__all__ = ["HandshakeRefused", "WebSocketTransport", "address", "as_ack", "frame"]

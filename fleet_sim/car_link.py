"""A car's telemetry connection: WebSocket (acks and commands on the same link) or HTTP
batches. The transport is an object with ``connect/send/close``, so MQTT can be added.

Unacked records are resent after ``ack_timeout_s`` with ``is_resend`` set — so an
overloaded server gets more traffic, not less, as the facts file describes.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import gevent
import websocket

from fleetchaos.fleet_sim.profiles import Profile, render
from fleetchaos.fleet_sim.stats import COUNTERS

MAX_UNACKED = 2000  # per car; beyond it the oldest records are dropped (counted)

Fire = Callable[..., None]


class Unacked:
    """Records sent and not yet acked, oldest first."""

    def __init__(self) -> None:
        self.items: OrderedDict[int, tuple[float, dict[str, Any]]] = OrderedDict()

    def add(self, record: dict[str, Any]) -> None:
        self.items[record["seq"]] = (time.monotonic(), record)
        self.items.move_to_end(record["seq"])
        while len(self.items) > MAX_UNACKED:
            self.items.popitem(last=False)
            COUNTERS.add("telemetry_dropped")

    def ack(self, seq: int) -> float | None:
        item = self.items.pop(seq, None)
        return None if item is None else time.monotonic() - item[0]

    def due(self, timeout_s: float, limit: int) -> list[dict[str, Any]]:
        cutoff = time.monotonic() - timeout_s
        out: list[dict[str, Any]] = []
        for _seq, (sent, record) in self.items.items():
            if sent > cutoff or len(out) >= limit:
                break
            out.append(record)
        return out


class WebSocketTransport:
    kind = "WS"

    def __init__(self, base_url: str, profile: Profile, variables: dict[str, Any],
                 fire: Fire, on_message: Callable[[dict[str, Any]], None]) -> None:
        scheme_url = base_url.replace("https://", "wss://").replace("http://", "ws://")
        self.url = scheme_url.rstrip("/") + render(profile.telemetry["path"], variables)
        self.headers = [f"{k}: {v}" for k, v in
                        render(dict(profile.telemetry.get("headers") or {}), variables).items()]
        self.fire = fire
        self.on_message = on_message
        self.ws: websocket.WebSocket | None = None
        self.reader: gevent.Greenlet | None = None

    @property
    def connected(self) -> bool:
        return self.ws is not None and self.ws.connected

    def connect(self) -> bool:
        start = time.perf_counter()
        try:
            self.ws = websocket.create_connection(self.url, header=self.headers, timeout=10,
                                                  enable_multithread=True)
        except (OSError, websocket.WebSocketException) as exc:
            self.fire(request_type="WS", name="telemetry_connect",
                      response_time=(time.perf_counter() - start) * 1000, response_length=0,
                      exception=exc)
            self.ws = None
            return False
        self.ws.settimeout(None)
        self.fire(request_type="WS", name="telemetry_connect",
                  response_time=(time.perf_counter() - start) * 1000, response_length=0,
                  exception=None)
        self.reader = gevent.spawn(self._read)
        return True

    def _read(self) -> None:
        ws = self.ws
        while ws is not None and ws.connected:
            try:
                raw = ws.recv()
            except (OSError, websocket.WebSocketException):
                break
            if not raw:
                break
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if isinstance(msg, dict):
                self.on_message(msg)
        self.close()

    def send(self, records: list[dict[str, Any]]) -> list[int] | None:
        """Send; acks arrive later through on_message. None means the link is down."""
        if self.ws is None:
            return None
        try:
            for record in records:
                payload = json.dumps(record, separators=(",", ":"))
                self.ws.send(payload)
                COUNTERS.add("telemetry_bytes", len(payload))
        except (OSError, websocket.WebSocketException):
            self.close()
            return None
        return []

    def send_control(self, msg: dict[str, Any]) -> None:
        if self.ws is not None:
            try:
                self.ws.send(json.dumps(msg))
            except (OSError, websocket.WebSocketException):
                self.close()

    def close(self) -> None:
        ws, self.ws = self.ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.close(timeout=0.5)


class HttpBatchTransport:
    """POST records; the answer lists the acked seqs. No command channel."""

    kind = "POST"

    def __init__(self, session: Any, profile: Profile, variables: dict[str, Any]) -> None:
        self.session = session
        self.path = render(profile.telemetry["path"], variables)
        self.headers = render(dict(profile.telemetry.get("headers") or {}), variables)
        self.connected = True

    def connect(self) -> bool:
        return True

    def send(self, records: list[dict[str, Any]]) -> list[int] | None:
        body = {"records": records}
        payload = json.dumps(body, separators=(",", ":"))
        COUNTERS.add("telemetry_bytes", len(payload))
        with self.session.request("POST", self.path, name="telemetry", data=payload,
                                  headers={**self.headers, "Content-Type": "application/json"},
                                  catch_response=True) as resp:
            status = int(resp.status_code or 0)
            COUNTERS.status("telemetry", status)
            if status != 200:
                resp.failure(f"HTTP {status}" if status else "connection error")
                return None
            try:
                acked = resp.json().get("acked", [])
            except Exception:
                acked = []
            return [int(s) for s in acked if isinstance(s, int)]

    def send_control(self, msg: dict[str, Any]) -> None:
        return

    def close(self) -> None:
        self.connected = False

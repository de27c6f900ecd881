"""A car's telemetry connection: WebSocket (acks and commands on the same link) or HTTP
batches, or MQTT (fleet_sim/mqtt_link.py). A transport is an object with
``connect/send/send_control/close``: one car class, several transports. Each is handed
the counters of its Locust environment's runtime (fleet_sim/runtime.py); without them
(a link used on its own) it counts into a private FleetCounters.

What acknowledges a record is the profile's telemetry contract (TelemetryContract):
over HTTP an accepted status (default any 2xx) acks the whole batch unless the profile
names a JSON path listing the acked seqs; over WebSocket an incoming message with the
contract's fields carries the acked seq (or, with ``ack_message: none``, a record
written to the socket counts as acked).

What a car sends, when, and what it resends is the car's outbox (fleet_sim/outbox.py):
records come due on the car's clock (open model), wait in a bounded buffer, and leave in
batches of up to ``max_batch`` with at most ``max_in_flight`` requests (HTTP) or
unacknowledged records (WebSocket, MQTT) in flight; unacked records are resent with a
doubling wait, at most ``resend.max`` times, then dropped and counted.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import gevent
import websocket

from fleetchaos.fleet_sim.outbox import Unacked
from fleetchaos.fleet_sim.profiles import Profile, dig, render
from fleetchaos.fleet_sim.stats import FleetCounters
from fleetchaos.fleet_sim.ws_link import WebSocketTransport, as_ack

BATCH_MARK = "\u0000fleetchaos-records\u0000"  # stands for the batch in the rendered body

Fire = Callable[..., None]


class TlsWebSocketTransport:
    """A ``wss://`` link through websocket-client (TLS): a reader greenlet per car. Plain
    ``ws://`` links are fleet_sim/ws_link.py's, which need neither."""

    kind = "WS"

    def __init__(self, base_url: str, profile: Profile, variables: dict[str, Any],
                 fire: Fire, on_message: Callable[[dict[str, Any]], None],
                 counters: FleetCounters | None = None) -> None:
        self.counters = counters if counters is not None else FleetCounters()
        scheme_url = base_url.replace("https://", "wss://").replace("http://", "ws://")
        self.url = scheme_url.rstrip("/") + render(profile.telemetry["path"], variables)
        self.headers = [f"{k}: {v}" for k, v in
                        render(dict(profile.telemetry.get("headers") or {}), variables).items()]
        self.fire = fire
        self.on_message = on_message
        self.contract = profile.contract
        self.ws: websocket.WebSocket | None = None
        self.reader: gevent.Greenlet[[], None] | None = None

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
                self.on_message(as_ack(self.contract, msg))
        self.close()

    def send(self, records: Sequence[tuple[int, str]]) -> list[int] | None:
        """Send ``(seq, JSON text)`` records; acks arrive later through on_message. None
        means the link is down."""
        if self.ws is None:
            return None
        try:
            for _seq, text in records:
                self.ws.send(text)
                self.counters.add("telemetry_bytes", len(text))
        except (OSError, websocket.WebSocketException):
            self.close()
            return None
        return [seq for seq, _text in records] if self.contract.acks_on_write else []

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


def streaming_transport(url: str, profile: Profile, variables: dict[str, Any], fire: Fire,
                        on_message: Callable[[dict[str, Any]], None],
                        counters: FleetCounters | None = None) -> Any:
    """The car's long-lived link: WebSocket, or MQTT through a broker (fleet_sim/mqtt_link.py)."""
    if profile.contract.transport == "mqtt":
        from fleetchaos.fleet_sim.mqtt_link import MqttTransport

        return MqttTransport(url, profile, variables, fire, on_message, counters=counters)
    if url.startswith(("https://", "wss://")):
        return TlsWebSocketTransport(url, profile, variables, fire, on_message, counters)
    return WebSocketTransport(url, profile, variables, fire, on_message, counters=counters)


class HttpBatchTransport:
    """One request per batch; the contract says which answers accept it and what is acked.

    No command channel."""

    kind = "POST"

    def __init__(self, session: Any, profile: Profile, variables: dict[str, Any],
                 counters: FleetCounters | None = None) -> None:
        self.counters = counters if counters is not None else FleetCounters()
        self.session = session
        self.contract = profile.contract
        self.variables = dict(variables)
        self.path = render(self.contract.path, variables)
        self.headers = render(dict(self.contract.headers), variables)
        self.template: str | None = None  # the rendered body, the batch left to fill in
        self.connected = True

    def connect(self) -> bool:
        return True

    def send(self, records: Sequence[tuple[int, str]], intended: float | None = None
             ) -> list[int] | None:
        """Post ``(seq, JSON text)`` records as one batch: the seqs this answer
        acknowledges; None when the batch was not accepted.

        ``intended`` (time.monotonic()) is when the batch should have left: its oldest
        record's due time. Locust's ``telemetry`` response time is measured from it, not
        from the moment the request went out, so a backend that holds the car's batches
        back shows in the percentiles (the coordinated-omission correction of wrk2)."""
        c = self.contract
        payload = self._body(records)
        self.counters.add("telemetry_bytes", len(payload))
        with self.session.request(c.method, self.path, name="telemetry", data=payload,
                                  headers={**self.headers, "Content-Type": "application/json"},
                                  catch_response=True) as resp:
            if intended is not None:
                resp.request_meta["response_time"] = max(
                    resp.request_meta["response_time"], (time.monotonic() - intended) * 1000)
            status = int(resp.status_code or 0)
            self.counters.status("telemetry", status)
            if status not in c.accept:
                resp.failure(f"HTTP {status}" if status else "connection error")
                return None
            resp.success()
            if c.acked is None:
                return [seq for seq, _text in records]
            try:
                listed = dig(resp.json(), c.acked)
            except Exception:
                listed = None
            if not isinstance(listed, list):
                return []
            return [s for s in listed if isinstance(s, int) and not isinstance(s, bool)]

    def _body(self, records: Sequence[tuple[int, str]]) -> str:
        """The profile's body with the records' JSON text where ``{records}`` is."""
        batch = "[" + ",".join(text for _seq, text in records) + "]"
        if self.template is None:
            body = render(self.contract.json, {**self.variables, "records": BATCH_MARK})
            self.template = json.dumps(body, separators=(",", ":"))
        marked = json.dumps(BATCH_MARK)
        if marked in self.template:
            return self.template.replace(marked, batch, 1)
        # {records} inside a longer text (not a whole value): the records as objects
        body = render(self.contract.json,
                      {**self.variables, "records": [json.loads(t) for _s, t in records]})
        return json.dumps(body, separators=(",", ":"))

    def send_control(self, msg: dict[str, Any]) -> None:
        return

    def close(self) -> None:
        self.connected = False


__all__ = ["Fire", "HttpBatchTransport", "TlsWebSocketTransport", "Unacked", "WebSocketTransport",
           "streaming_transport"]

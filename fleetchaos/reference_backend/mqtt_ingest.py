"""The backend as an MQTT ingestion service: a consumer behind the broker that writes
telemetry through the SAME bounded pool the owner API uses.

The consumer subscribes to every car's telemetry topic through a shared subscription
(``$share/<group>/fleet/+/telemetry``: Mosquitto 2 and MQTT 5 brokers spread it over
the group's consumers), acknowledges a PUBLISH only once its record is stored
(``manual_ack``: the broker keeps it until then, so acked by the backend == stored),
and stores through ``BackendState.store_telemetry``, the very path the WebSocket uses.
Under a verbosity flood its stores queue for the shared pool like the WebSocket's do,
the owner API's requests wait behind them past their deadline and come back 500: the
same emergent failure, no branch that returns 500.

Its two capacity knobs: ``inflight`` (stores running at once; also the MQTT 5 Receive
Maximum times ``batch``, so past it the broker queues and, at its own limit, drops:
``$SYS/broker/...dropped``) and ``batch`` (records of one car stored in one transaction).
A store that fails (pool deadline) is retried after a short pause, as a consumer keeps
a message it could not write; the broker's queue is what grows.

Commands go to cars through the broker (``fleet/<vin>/command``); cars' replies
(``fleet/<vin>/reply``) and their state (``fleet/<vin>/state``, retained, the Last Will
saying offline) keep the same ``CarRegistry`` the WebSocket links use.

Trust (issue 27). MQTT carries no sender: the consumer believes a car's topics because
the broker lets only that car publish them (the run's ACL, ``mqtt_broker/access.py``;
a broker of the user's own must be configured the same way, docs/mqtt.md). It connects
with its own user and password. Whatever the broker lets through, a car's state on the
broker governs only the car's broker channel: a car connected over the WebSocket
(authenticated by the backend itself with its car token) is never cut, nor replaced by a
broker channel, by a message on ``fleet/<vin>/state``. Messages for a VIN the backend
does not know are refused. A message larger than the record limit of HTTP and the
WebSocket (``--max-telemetry-bytes``, 64 KiB) is refused before it is parsed and counted
(``too_large``).

paho runs its own network thread here (the backend is asyncio, not gevent); every
message is handed to the event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, cast

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fleetchaos.common.mqtt_credentials import BACKEND_PASSWORD_ENV, BACKEND_USERNAME_ENV
from fleetchaos.common.mqtt_url import parse_mqtt_url
from fleetchaos.reference_backend.db import PoolTimeout
from fleetchaos.reference_backend.state import BackendState
from fleetchaos.reference_backend.validate import BadInput, Record, parse_json, telemetry_record

log = logging.getLogger("reference_backend")
SHARE_GROUP = "fleetchaos-ingest"
TELEMETRY, COMMAND, REPLY, STATE_TOPIC = "telemetry", "command", "reply", "state"
RETRY_PAUSE_S = 0.2
CONNECT_TIMEOUT_S = 10.0
MAX_INFLIGHT, MAX_BATCH = 10_000, 1000


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    store_failures: int = 0  # a store that hit the pool deadline (or a DB error), then retried
    refused: int = 0  # not a telemetry record, or a car the backend does not know (acked)
    too_large: int = 0  # past --max-telemetry-bytes: refused unparsed (also in refused)
    state_ignored: int = 0  # a broker state for a car connected over the WebSocket
    queued_max: int = 0
    batches: int = 0
    connects: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class MqttCarChannel:
    """A car's command channel through the broker, in the shape CarLink expects of a socket."""

    def __init__(self, ingest: MqttIngest, vin: str) -> None:
        self.ingest = ingest
        self.vin = vin

    async def send_json(self, msg: dict[str, Any]) -> None:
        info = self.ingest.client.publish(f"fleet/{self.vin}/{COMMAND}", json.dumps(msg), qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"broker link down: {mqtt.error_string(info.rc)}")

    async def close(self, **_: Any) -> bool:
        return True


@dataclass
class _Pending:
    records: deque[tuple[Record, int]] = field(default_factory=deque)  # (record, mid)


class MqttIngest:
    def __init__(self, state: BackendState, url: str, *, inflight: int = 1024, batch: int = 20,
                 client_id: str = "fleetchaos-backend-ingest", username: str | None = None,
                 password: str | None = None) -> None:
        self.state = state
        self.address = parse_mqtt_url(url, what="--mqtt-url")
        self.inflight = inflight
        self.batch = batch
        self.stats = IngestStats()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: dict[str, deque[tuple[Record, int]]] = {}
        self.ready_vins: deque[str] = deque()  # cars with records waiting, oldest first
        self.queued = 0
        self.slots = asyncio.Semaphore(inflight)
        self.wake = asyncio.Event()
        self.stopping = False
        self.tasks: set[asyncio.Task[None]] = set()
        self.dispatcher: asyncio.Task[None] | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        self.client.max_inflight_messages_set(100)
        self.username = username
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message_thread
        self.connected: asyncio.Future[str | None] | None = None
        self.client.on_connect = self._on_connect_thread

    # --- connection ---------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, subscribe and start storing; ConnectionError with one line on failure."""
        self.loop = asyncio.get_running_loop()
        self.connected = self.loop.create_future()
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = min(65535, self.inflight * self.batch)
        props.SessionExpiryInterval = 300  # queued telemetry survives a consumer reconnect
        try:
            await self.loop.run_in_executor(None, lambda: self.client.connect(
                self.address.host, self.address.port, keepalive=30, clean_start=False,
                properties=props))
        except OSError as exc:
            raise ConnectionError(f"MQTT broker {self.address.url} unreachable: "
                                  f"{exc.strerror or exc}") from None
        self.client.loop_start()
        try:
            reason = await asyncio.wait_for(self.connected, CONNECT_TIMEOUT_S)
        except TimeoutError:
            reason = f"no CONNACK within {CONNECT_TIMEOUT_S:.0f} s"
        if reason is not None:
            self.client.loop_stop()
            who = (f"the backend's user {self.username!r}" if self.username is not None else
                   f"the backend (anonymous: set {BACKEND_USERNAME_ENV} and {BACKEND_PASSWORD_ENV})")
            raise ConnectionError(f"MQTT broker {self.address.url} refused {who}: {reason}")
        self.dispatcher = asyncio.create_task(self._dispatch())

    def _on_connect_thread(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                           properties: Any) -> None:
        ok = not reason.is_failure
        if ok:
            self.stats.connects += 1
            client.subscribe([(f"$share/{SHARE_GROUP}/fleet/+/{TELEMETRY}", 1),
                              (f"fleet/+/{STATE_TOPIC}", 1), (f"fleet/+/{REPLY}", 1)])
        fut = self.connected
        if fut is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(
                lambda: None if fut.done() else fut.set_result(None if ok else str(reason)))

    async def stop(self, timeout_s: float = 2.0) -> None:
        """Stop taking messages; stores running finish (within ``timeout_s``) and are acked,
        what is not stored stays unacked at the broker."""
        self.stopping = True
        self.wake.set()
        if self.dispatcher is not None:
            self.dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.dispatcher
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout_s)
        with contextlib.suppress(Exception):
            self.client.disconnect()
        await asyncio.get_running_loop().run_in_executor(None, self.client.loop_stop)

    # --- messages -----------------------------------------------------------------------

    def _on_message_thread(self, client: mqtt.Client, userdata: Any,
                           message: mqtt.MQTTMessage) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._on_message, message)

    def _ack(self, message_mid: int, qos: int) -> None:
        if qos:
            self.client.ack(message_mid, qos)

    def _refuse(self, message: mqtt.MQTTMessage) -> None:
        self.stats.refused += 1
        self._ack(message.mid, message.qos)

    def _on_message(self, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        if len(parts) != 3 or parts[0] != "fleet":
            self._ack(message.mid, message.qos)
            return
        vin, kind = parts[1], parts[2]
        if kind == TELEMETRY:
            self.stats.received += 1
            self.state.telemetry_received += 1
        if len(message.payload) > self.state.capacity.max_telemetry_bytes:
            self.stats.too_large += 1  # HTTP answers 413 and the WebSocket closes with 1009
            self._refuse(message)
            return
        if vin not in self.state.car_tokens:  # not a car of this backend's fleet
            self._refuse(message)
            return
        try:
            data = parse_json(bytes(message.payload))
        except BadInput:
            data = None
        if kind == TELEMETRY:
            self._telemetry(vin, data, message)
            return
        self._ack(message.mid, message.qos)
        if not isinstance(data, dict):
            return
        cars = self.state.cars
        link = cars.links.get(vin)
        on_broker = link is not None and isinstance(link.ws, MqttCarChannel)
        if kind == STATE_TOPIC:
            state = data.get("state")
            if link is not None and not on_broker:
                if state in ("online", "asleep", "offline"):
                    self.stats.state_ignored += 1  # the car's WebSocket link wins
                return
            if state == "offline":
                if link is not None:
                    cars.disconnect(link)
            elif state in ("online", "asleep"):
                if link is None:
                    link = cars.connect(vin, cast(Any, MqttCarChannel(self, vin)))
                link.state = str(state)
        elif kind == REPLY and data.get("type") == "command_ack" and link is not None \
                and on_broker:
            cars.command_acked(link, data)

    def _telemetry(self, vin: str, data: Any, message: mqtt.MQTTMessage) -> None:
        try:
            record = telemetry_record(data)
        except BadInput:
            self._refuse(message)
            return
        queue = self.pending.get(vin)
        if queue is None:
            queue = self.pending[vin] = deque()
            self.ready_vins.append(vin)
        queue.append((record, message.mid if message.qos else 0))
        self.queued += 1
        self.stats.queued_max = max(self.stats.queued_max, self.queued)
        self.wake.set()

    async def _dispatch(self) -> None:
        """Take a free slot, then up to ``batch`` records of the car waiting longest."""
        while not self.stopping:
            if not self.ready_vins:
                self.wake.clear()
                await self.wake.wait()
                continue
            await self.slots.acquire()
            vin = self.ready_vins.popleft()
            queue = self.pending.pop(vin)
            take = [queue.popleft() for _ in range(min(self.batch, len(queue)))]
            if queue:  # the rest waits its turn behind the other cars
                self.pending[vin] = queue
                self.ready_vins.append(vin)
            self.queued -= len(take)
            task = asyncio.create_task(self._store(vin, take))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _store(self, vin: str, items: list[tuple[Record, int]]) -> None:
        try:
            records = [r for r, _ in items]
            while not self.stopping:
                try:
                    await self.state.store_telemetry(vin, records)
                except Exception as exc:  # the pool's deadline under a flood, or a DB error
                    self.stats.store_failures += 1
                    self.state.telemetry_unstored += len(records)
                    if not isinstance(exc, PoolTimeout):
                        log.warning("mqtt telemetry from %s not stored: %s", vin, exc)
                    await asyncio.sleep(RETRY_PAUSE_S)
                    continue
                self.stats.stored += len(records)
                self.stats.batches += 1
                for _, mid in items:
                    if mid:
                        self.client.ack(mid, 1)
                return
        finally:
            self.slots.release()


def check_mqtt_options(url: str, inflight: int, batch: int, allow_remote: bool) -> None:
    """The backend's MQTT options, checked before anything starts (ValueError, one line)."""
    from fleetchaos.common.loopback import check_loopback

    parse_mqtt_url(url, what="--mqtt-url")
    check_loopback(url, what="--mqtt-url", allow_remote=allow_remote)
    if not 1 <= inflight <= MAX_INFLIGHT:
        raise ValueError(f"--mqtt-inflight must be from 1 to {MAX_INFLIGHT}, got {inflight}")
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"--mqtt-batch must be from 1 to {MAX_BATCH}, got {batch}")

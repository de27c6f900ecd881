"""A car's MQTT link (paho-mqtt): the same ``connect/send/send_control/close`` shape as the
WebSocket transport, so the car is one class with two transports, not two fleets.

- One client per car (client id from the profile's template), MQTT 3.1.1 or 5, clean or
  persistent session, keep-alive, username/password or a client certificate, and a
  Last Will (``{"type": "state", "state": "offline"}``, retained, on the state topic).
- Telemetry: one PUBLISH per record on the telemetry topic. QoS 0 counts as acked once
  written; QoS 1 is acked when the broker's PUBACK arrives (``acked = PUBACK``).
- Commands: the car subscribes to its command topic; its answers go to the reply topic.
- The network loop is paho's ``loop_read/loop_write/loop_misc`` called from libev watchers
  (no thread of paho's, no ``select`` and its 1024 file-descriptor limit, and no greenlet
  per car): the socket's readable watcher reads, a writable watcher runs only while
  paho has bytes it could not write at once, and a timer checks the keep-alive. paho's
  socket is the bare descriptor behind a small buffer (``_Link``): paho reads a packet a
  few bytes at a time, and one read of what arrived serves them all.
  Reconnecting is the car's own loop (1 s doubling to 256 s), not paho's.
- Telemetry at QoS 1 on a clean session: the link builds each PUBLISH and queues it on
  paho's socket writer (``_publish``), and the client hands its PUBACK back before paho's
  bookkeeping; a record whose PUBACK went with the link is resent by the car's outbox.
- Otherwise (a persistent session, QoS 0) ``client.publish``: paho keeps every QoS 1
  PUBLISH not yet acknowledged and sends it again after a reconnect (its
  ``_messages_reconnect_reset_out``): that is the car's MQTT outbox. The car's generic
  resend timer therefore does not publish a record paho still holds; the record is
  counted resent, paho delivers it once the link is back.

Locust stats: ``mqtt_connect`` (CONNECT to CONNACK), ``telemetry`` (PUBLISH to PUBACK)
and ``command`` (command received to the reply's PUBACK), request type ``MQTT``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket as std_socket
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.event
import paho.mqtt.client as mqtt
from gevent import socket as gsocket
from gevent.hub import get_hub
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from fleetchaos.common.mqtt_credentials import connect_credentials
from fleetchaos.fleet_sim.mqtt_profile import MqttSettings
from fleetchaos.fleet_sim.profiles import Profile, render
from fleetchaos.fleet_sim.stats import FleetCounters
from fleetchaos.fleet_sim.ws_link import address

CONNACK_TIMEOUT_S = 10.0
LOOP_WAKE_S = (1.0, 10.0)  # bounds of the loop's wait (a quarter of the keep-alive between)
OFFLINE = json.dumps({"type": "state", "state": "offline"})

Fire = Callable[..., None]


def broker_address(url: str) -> tuple[str, int]:
    """host and port from ``mqtt://h:p`` or the run's ``http://h:p`` telemetry proxy URL."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if not parts.hostname:
        raise ValueError(f"no broker address in {url!r}")
    return parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883)


def _remaining_length(n: int) -> bytes:
    """MQTT's variable-length integer (section 2.2.3)."""
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


class _Link:
    """paho's socket as paho uses it (recv, send, setblocking, fileno, close) over the
    bare non-blocking descriptor.

    paho reads each packet's header a byte at a time and writes each packet with its own
    call; here one read takes what arrived and serves those small reads, and what paho
    writes in one pass of the car's code (SUBSCRIBE and the state PUBLISH after a
    CONNACK; a batch of records; the offline state and DISCONNECT) leaves in one write at
    the end of the event loop's pass. What the socket does not take waits here and
    ``blocked`` asks the owner's writable watcher for it."""

    __slots__ = ("blocked", "buf", "error", "fd", "on_blocked", "out", "pos")

    def __init__(self, fd: int) -> None:
        self.fd, self.buf, self.pos = fd, b"", 0
        self.out: list[bytes] | None = None  # written by paho, not yet by us
        self.blocked = False  # the socket took only part: wait until it is writable
        self.error: OSError | None = None
        self.on_blocked: Callable[[], None] | None = None

    def recv(self, size: int) -> bytes:
        if self.pos >= len(self.buf):
            data = os.read(self.fd, 65536)  # BlockingIOError: nothing yet (paho waits)
            if not data:
                return b""  # closed by the peer
            self.buf, self.pos = data, 0
        start, self.pos = self.pos, self.pos + size
        return self.buf[start:self.pos]

    def buffered(self) -> bool:
        return self.pos < len(self.buf)

    def send(self, data: bytes) -> int:
        if self.error is not None or self.fd < 0:
            raise self.error or OSError("the link is closed")
        if self.out is None:
            self.out = [data]
            if not self.blocked:
                get_hub().loop.run_callback(self.flush)
        else:
            self.out.append(data)
        return len(data)

    def flush(self) -> None:
        out, self.out = self.out, None
        if not out or self.fd < 0:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        try:
            written = os.write(self.fd, data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            self.error = exc  # the next read or send reports the link lost
            return
        self.blocked = written < len(data)
        if self.blocked:
            self.out = [data[written:], *(self.out or ())]
            if self.on_blocked is not None:
                self.on_blocked()

    def setblocking(self, flag: bool) -> None:
        return  # the descriptor is non-blocking

    def settimeout(self, timeout: float | None) -> None:
        return

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if self.out and not self.blocked:
            self.flush()  # what paho wrote last (DISCONNECT) still goes out
        fd, self.fd = self.fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


class _CarClient(mqtt.Client):
    """paho's client with a cooperative connect to a numeric address (looked up once per
    process, not in gevent's thread pool per car) and the socket as a ``_Link``; PUBACKs
    of telemetry the transport published itself (``telemetry_mids``) go to ``on_telemetry``
    instead of paho's message bookkeeping, which holds no record of them."""

    telemetry_mids: dict[int, int]  # packet id -> record seq
    on_telemetry: Callable[[int, bool], None]  # (seq, accepted)

    def _handle_pubackcomp(self, cmd: Any) -> MQTTErrorCode:
        mids = self.telemetry_mids
        if cmd == "PUBACK" and mids:
            packet = self._in_packet["packet"]
            seq = mids.pop(int.from_bytes(packet[:2], "big"), None)
            if seq is not None:  # MQTT 5: a reason code of 0x80 or more refuses it
                self.on_telemetry(seq, len(packet) < 3 or packet[2] < 0x80)
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._handle_pubackcomp(cmd)

    def _create_socket_connection(self) -> Any:
        if self._ssl or self._get_proxy():
            return super()._create_socket_connection()
        family, sockaddr = address(self._host, self._port)
        sock = gsocket.socket(family, std_socket.SOCK_STREAM)
        try:
            sock.settimeout(self._connect_timeout)
            sock.setsockopt(std_socket.IPPROTO_TCP, std_socket.TCP_NODELAY, 1)
            sock.connect(sockaddr)
        except BaseException:
            sock.close()
            raise
        return _Link(sock.detach())


class ConnectRefused(ConnectionError):
    """The broker answered CONNACK with a failure (bad credentials, not authorised, ...)."""


class MqttTransport:
    kind = "MQTT"

    def __init__(self, url: str, profile: Profile, variables: dict[str, Any],
                 fire: Fire, on_message: Callable[[dict[str, Any]], None],
                 counters: FleetCounters | None = None) -> None:
        self.counters = counters if counters is not None else FleetCounters()
        settings = profile.contract.mqtt
        if settings is None:
            raise ValueError(f"profile {profile.name} does not use transport mqtt")
        self.settings: MqttSettings = settings
        self.host, self.port = broker_address(url)
        self.topic = str(render(settings.topic, variables))
        self.command_topic = str(render(settings.command_topic, variables))
        self.reply_topic = str(render(settings.reply_topic, variables))
        self.state_topic = str(render(settings.state_topic, variables))
        self.fire = fire
        self.on_message = on_message
        self.client = self._client(settings, variables)
        self.client.telemetry_mids = {}
        self.client.on_telemetry = self._telemetry_acked
        # telemetry PUBLISH packets built here (QoS 1, clean session): see _publish
        topic = self.topic.encode()
        self.publish_head = len(topic).to_bytes(2, "big") + topic
        self.v5 = settings.protocol == "5"
        self.direct = settings.qos == 1 and settings.clean_session \
            and hasattr(self.client, "_packet_queue") and hasattr(self.client, "_mid_generate")
        # the car's window (fleet_sim/outbox.py) is what paho may keep unacknowledged
        self.client.max_inflight_messages_set(profile.contract.max_in_flight)
        self.started_once = False
        self.up = False
        self.watchers: tuple[Any, Any, Any] | None = None  # readable, writable, keep-alive
        self.connack: gevent.event.AsyncResult[str] | None = None  # None accepted, else why not
        self.held: dict[int, tuple[int, float]] = {}  # mid -> (record seq, sent at): not PUBACKed
        self.held_seqs: set[int] = set()
        self.replies: dict[int, float] = {}  # mid of a command reply -> when the command came
        self.commands_at: dict[str, float] = {}  # command id -> when it arrived

    def _client(self, s: MqttSettings, variables: dict[str, Any]) -> _CarClient:
        v5 = s.protocol == "5"
        client = _CarClient(CallbackAPIVersion.VERSION2,
                             client_id=str(render(s.client_id, variables)),
                             clean_session=None if v5 else s.clean_session,
                             protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                             reconnect_on_failure=False)
        client.connect_timeout = CONNACK_TIMEOUT_S
        client.max_inflight_messages_set(20)  # the broker's default receive window
        credentials = connect_credentials(s.username, s.password, variables)
        if credentials is not None:  # {mqtt_password}: under the run's fleet secret
            client.username_pw_set(*credentials)
        if s.tls:
            client.tls_set(ca_certs=s.tls.get("ca"), certfile=s.tls.get("cert"),
                           keyfile=s.tls.get("key"))
        client.will_set(str(render(s.state_topic, variables)), OFFLINE, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_mqtt_message
        client.on_publish = self._on_publish
        return client

    @property
    def connected(self) -> bool:
        return self.up

    # --- connection ---------------------------------------------------------------------

    def connect(self) -> bool:
        """CONNECT and wait for the CONNACK; False (a failed ``mqtt_connect``) otherwise."""
        start = time.perf_counter()
        self.connack = gevent.event.AsyncResult()
        try:
            if not self.started_once:
                props = None
                if self.settings.protocol == "5":
                    from paho.mqtt.packettypes import PacketTypes
                    from paho.mqtt.properties import Properties

                    props = Properties(PacketTypes.CONNECT)
                    # a persistent v5 session outlives the connection; clean_start says restart
                    props.SessionExpiryInterval = 0 if self.settings.clean_session else 3600
                self.client.connect(self.host, self.port, self.settings.keepalive_s,
                                    clean_start=self.settings.clean_session
                                    if self.settings.protocol == "5" else
                                    mqtt.MQTT_CLEAN_START_FIRST_ONLY, properties=props)
            else:
                self.client.telemetry_mids.clear()  # their PUBACKs went with the link
                self.client.reconnect()
            self.started_once = True
            self._start_loop()
            reason = self.connack.get(timeout=CONNACK_TIMEOUT_S)
            if reason is not None:
                raise ConnectRefused(f"broker refused the connection: {reason}")
        except (OSError, gevent.Timeout, ValueError) as exc:
            if isinstance(exc, gevent.Timeout):
                exc = TimeoutError(f"no CONNACK within {CONNACK_TIMEOUT_S:.0f} s")
            self._fire_connect(start, exc)
            self._drop_socket()
            return False
        self.client.subscribe(self.command_topic, qos=1)
        self._want_write()
        self._fire_connect(start, None)
        return True

    def _fire_connect(self, start: float, exc: BaseException | None) -> None:
        self.fire(request_type="MQTT", name="mqtt_connect",
                  response_time=(time.perf_counter() - start) * 1000, response_length=0,
                  exception=exc)

    def _start_loop(self) -> None:
        """Watch paho's socket: reads when readable, writes while paho has bytes waiting,
        keep-alive checks at a quarter of the keep-alive (1-10 s)."""
        self._stop_loop()
        sock = self.client.socket()
        if sock is None:
            return
        loop = get_hub().loop
        fd = sock.fileno()
        low, high = LOOP_WAKE_S
        every = min(high, max(low, self.settings.keepalive_s / 4))
        reader, writer, timer = loop.io(fd, 1), loop.io(fd, 2), loop.timer(every, every)
        self.watchers = (reader, writer, timer)
        reader.start(self._readable)
        timer.start(self._keepalive)
        if isinstance(sock, _Link):
            sock.on_blocked = self._want_write
        self._want_write()

    def _stop_loop(self) -> None:
        watchers, self.watchers = self.watchers, None
        for watcher in watchers or ():
            watcher.stop()
            watcher.close()

    def _readable(self) -> None:
        client = self.client
        sock = client.socket()
        while True:
            rc = client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._lost(rc)
                return
            if not isinstance(sock, _Link) or not sock.buffered() or client.socket() is not sock:
                break
        self._want_write()

    def _writable(self) -> None:
        sock = self.client.socket()
        if isinstance(sock, _Link) and sock.blocked:
            sock.flush()
            if sock.blocked:
                return
        rc = self.client.loop_write()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._lost(rc)
            return
        self._want_write()

    def _keepalive(self) -> None:
        rc = self.client.loop_misc()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or self.client.socket() is None:
            self._lost(rc)

    def _want_write(self) -> None:
        """The writable watcher runs only while paho has something it could not write."""
        if self.watchers is None:
            return
        writer = self.watchers[1]
        sock = self.client.socket()
        if self.client.want_write() or (isinstance(sock, _Link) and sock.blocked):
            if not writer.active:
                writer.start(self._writable)
        elif writer.active:
            writer.stop()

    def _lost(self, rc: Any) -> None:
        self.up = False
        self._stop_loop()
        if self.connack is not None and not self.connack.ready():
            self.connack.set_exception(ConnectionError(f"link lost before CONNACK: "
                                                       f"{mqtt.error_string(rc)}"))

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        ok = not reason.is_failure
        self.up = ok
        if self.connack is not None and not self.connack.ready():
            self.connack.set(None if ok else str(reason))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        self.up = False

    def _drop_socket(self) -> None:
        self.up = False
        self._stop_loop()
        with contextlib.suppress(Exception):
            sock = self.client.socket()
            if sock is not None:
                sock.close()

    # --- telemetry ----------------------------------------------------------------------

    def send(self, records: Sequence[tuple[int, str]]) -> list[int] | None:
        """Publish ``(seq, JSON text)`` records; QoS 0: the seqs (acked on write); QoS 1:
        [] (PUBACKs come through on_message as acks). None means the link is down."""
        if not self.up:
            return None
        if self.direct:
            for seq, payload in records:
                self._publish(seq, payload)
            self._want_write()
            return [] if self.up else None
        qos = self.settings.qos
        written: list[int] = []
        for seq, payload in records:
            if seq in self.held_seqs:
                continue  # still in paho's outbox: it sends it again after a reconnect
            info = self.client.publish(self.topic, payload, qos=qos)
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                continue
            self.counters.add("telemetry_bytes", len(payload))
            if qos:
                self.held[info.mid] = (seq, time.perf_counter())
                self.held_seqs.add(seq)
            elif info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                written.append(seq)
            if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
                self.up = False
                return None
        self._want_write()
        return written

    def _publish(self, seq: int, payload: str) -> None:
        """One QoS 1 PUBLISH built here and queued on paho's socket writer: what paho's
        publish() sends, without its per-message objects (a message, its info and a
        condition variable) and its outbox. A clean session keeps nothing across a
        reconnect anyway (MQTT 3.1.1 section 3.1.2.4): a record whose PUBACK is lost
        with the link is resent by the car's outbox, as over WebSocket."""
        client = self.client
        data = payload.encode()
        mid = client._mid_generate()
        body = self.publish_head + mid.to_bytes(2, "big") + (b"\x00" if self.v5 else b"") + data
        client.telemetry_mids[mid] = seq
        client._packet_queue(0x30, b"\x32" + _remaining_length(len(body)) + body, mid, 1)
        self.counters.add("telemetry_bytes", len(data))

    def _telemetry_acked(self, seq: int, accepted: bool) -> None:
        if accepted:
            self.on_message({"type": "ack", "seq": seq})

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any,
                    properties: Any) -> None:
        held = self.held.pop(mid, None)
        if held is not None:
            seq, _sent = held
            self.held_seqs.discard(seq)
            if self.settings.qos:
                self.on_message({"type": "ack", "seq": seq})
            return
        came = self.replies.pop(mid, None)
        if came is not None:
            self.fire(request_type="MQTT", name="command",
                      response_time=(time.perf_counter() - came) * 1000, response_length=0,
                      exception=None)

    # --- commands and state -------------------------------------------------------------

    def _on_mqtt_message(self, client: mqtt.Client, userdata: Any,
                         message: mqtt.MQTTMessage) -> None:
        try:
            msg = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(msg, dict):
            msg.setdefault("type", "command")
            if len(self.commands_at) < 1000:
                self.commands_at[str(msg.get("id"))] = time.perf_counter()
            self.on_message(msg)

    def send_control(self, msg: dict[str, Any]) -> None:
        """state -> the state topic (retained, as the Last Will); command_ack -> the reply topic."""
        if not self.up:
            return
        if msg.get("type") == "state":
            self.client.publish(self.state_topic, json.dumps(msg), qos=1, retain=True)
        else:
            received = self.commands_at.pop(str(msg.get("id")), None)
            info = self.client.publish(self.reply_topic, json.dumps(msg), qos=1)
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                self.replies[info.mid] = received if received is not None \
                    else time.perf_counter()
        self._want_write()

    def close(self) -> None:
        """DISCONNECT (the Last Will is not sent: a car switched off cleanly says offline)."""
        if self.up:  # paho writes both packets at once (no loop of its own runs)
            with contextlib.suppress(Exception):
                self.client.publish(self.state_topic, OFFLINE, qos=0, retain=True)
                self.client.disconnect()
        self.up = False
        self._drop_socket()

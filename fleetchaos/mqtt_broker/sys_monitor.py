"""The broker's own figures, from its ``$SYS`` topics, for the journal's samples.

Mosquitto publishes its counters under ``$SYS/broker/...`` every ``sys_interval`` (the
built-in broker: 1 s). The monitor connects straight to the broker (not through the
run's Toxiproxy proxy: a cut car link must not blind it) and keeps the latest value
of each figure. Mosquitto 2.0 publishes no separate inflight or queued count: the
messages it holds (``store/messages/count``) minus the retained ones are the messages
queued for or in flight to subscribers, reported as ``queued_inflight``.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fleetchaos.common.mqtt_credentials import monitor_credentials
from fleetchaos.common.mqtt_url import parse_mqtt_url

FIGURES = {  # journal key -> $SYS topic (Mosquitto 2.0)
    "messages_in": "$SYS/broker/publish/messages/received",
    "messages_out": "$SYS/broker/publish/messages/sent",
    "dropped": "$SYS/broker/publish/messages/dropped",
    "stored": "$SYS/broker/store/messages/count",
    "retained": "$SYS/broker/retained messages/count",
    "clients_connected": "$SYS/broker/clients/connected",
}
_BY_TOPIC = {topic: key for key, topic in FIGURES.items()}


class SysMonitor:
    """Latest ``$SYS`` figures of one broker; ``figures()`` is a sample's ``broker`` entry."""

    def __init__(self, url: str, client_id: str = "fleetchaos-sys-monitor",
                 credentials: tuple[str, str] | None = None) -> None:
        """``credentials`` default to the monitor's under the run's fleet secret
        (``FLEETCHAOS_MQTT_SECRET``; the run's ACL lets that user read ``$SYS`` only), or
        none (anonymous) without a secret."""
        self.address = parse_mqtt_url(url, what="MQTT_URL")
        self.values: dict[str, int] = {}
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        credentials = credentials if credentials is not None else monitor_credentials()
        if credentials is not None:
            self.client.username_pw_set(*credentials)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.started = False

    def start(self) -> None:
        """Connect and subscribe; OSError when the broker does not answer."""
        self.client.connect(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()
        self.started = True

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if not reason.is_failure:
            client.subscribe([(topic, 0) for topic in FIGURES.values()])

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        key = _BY_TOPIC.get(message.topic)
        if key is None:
            return
        with contextlib.suppress(ValueError):
            value = int(message.payload.split()[0])
            with self.lock:
                self.values[key] = value

    def figures(self) -> dict[str, int]:
        with self.lock:
            out = dict(self.values)
        if "stored" in out:
            out["queued_inflight"] = max(0, out["stored"] - out.get("retained", 0))
        return out

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(Exception):
                self.client.disconnect()
            self.client.loop_stop()
            self.started = False

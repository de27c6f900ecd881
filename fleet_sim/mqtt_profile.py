"""A profile's MQTT settings (``telemetry.transport: mqtt``): parsed and checked here, used
by the car's MQTT link (fleet_sim/mqtt_link.py). Pure: no paho, no gevent.

Topic templates take the car's variables (``{vin}``, ``{car_token}``); the credentials
also ``{mqtt_password}``, the car's password under the run's fleet secret
(``common/mqtt_credentials.py``). Rendered, topics must be valid MQTT topic names for
publishing (MQTT 3.1.1 section 4.7: no ``+`` or ``#`` wildcards, not empty, no NUL, at
most 65535 bytes in UTF-8); a topic starting with ``$`` is the broker's own (``$SYS``)
and is refused too. Defaults match the reference backend's MQTT ingestion (docs/mqtt.md).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetchaos.common.mqtt_credentials import PASSWORD_VAR

if TYPE_CHECKING:
    from fleetchaos.fleet_sim.profiles import _Reader

MQTT_KEYS = frozenset({"broker", "topic", "command_topic", "reply_topic", "state_topic",
                       "client_id", "qos", "protocol", "clean_session", "keepalive_s",
                       "username", "password", "tls"})
PROTOCOLS = ("3.1.1", "5")
TOPIC_DEFAULTS = {"topic": "fleet/{vin}/telemetry", "command_topic": "fleet/{vin}/command",
                  "reply_topic": "fleet/{vin}/reply", "state_topic": "fleet/{vin}/state",
                  "client_id": "car-{vin}"}


@dataclass(frozen=True)
class MqttSettings:
    """How a car talks MQTT: topics (templates), QoS, session, keep-alive, credentials."""

    broker: str | None = None  # mqtt://host:port; None: the run's broker (MQTT_URL / built-in)
    topic: str = TOPIC_DEFAULTS["topic"]  # telemetry, one record per PUBLISH
    command_topic: str = TOPIC_DEFAULTS["command_topic"]  # the car subscribes
    reply_topic: str = TOPIC_DEFAULTS["reply_topic"]  # command acks
    state_topic: str = TOPIC_DEFAULTS["state_topic"]  # online/asleep, and the Last Will
    client_id: str = TOPIC_DEFAULTS["client_id"]
    qos: int = 1  # 0: acked when written; 1: acked when the broker's PUBACK arrives
    protocol: str = "3.1.1"
    clean_session: bool = True  # false: a persistent session the broker keeps across reconnects
    keepalive_s: int = 60
    username: str | None = None
    password: str | None = None
    tls: dict[str, str] = field(default_factory=dict)  # ca, cert, key (file paths)



MAX_PEM_BYTES = 1024 * 1024  # a CA bundle is ~200 KB; /dev/zero is endless


def _not_a_pem_file(path: Path) -> str | None:
    """What ``path`` is when it cannot be a certificate or key file (a TLS setting), else
    None: missing, a folder, a device (``/dev/zero``), unreadable, too large, empty."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "is a pipe or socket, not a file"
    try:
        with path.open("rb") as fh:
            head = fh.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if len(head) > MAX_PEM_BYTES:
        return f"is larger than {MAX_PEM_BYTES // 1024} KiB: not a certificate or key"
    if b"-----BEGIN" not in head:
        return "holds no PEM block (-----BEGIN ...)" if head.strip() else "is empty"
    return None

def topic_problem(topic: str) -> str | None:
    """Why a rendered topic cannot be published to, or None."""
    if not topic:
        return "an empty topic"
    if "+" in topic or "#" in topic:
        return "a wildcard (+ or #), which only subscriptions may use"
    if "\x00" in topic:
        return "a NUL character"
    if topic.startswith("$"):
        return "a topic starting with $ (reserved for the broker, like $SYS)"
    if len(topic.encode()) > 65535:
        return "more than 65535 bytes"
    return None


def topic_filter(template: str) -> str:
    """A subscription filter for every car: each ``{placeholder}`` level becomes ``+``."""
    import re

    return "/".join("+" if re.search(r"\{[a-z_][a-z0-9_]*\}", level) else level
                    for level in template.split("/"))


def parse_mqtt(r: _Reader, t: dict[str, Any], car_vars: frozenset[str]) -> MqttSettings:
    """The ``telemetry`` mapping's MQTT keys, each error naming file, line and key."""
    from fleetchaos.common.mqtt_url import parse_mqtt_url

    values: dict[str, Any] = {}
    broker = t.get("broker")
    if broker is not None:
        try:
            parse_mqtt_url(r.text(broker, "telemetry.broker"), what="broker")
        except ValueError as exc:
            raise r.fail("telemetry.broker", str(exc), prefix="") from None
        values["broker"] = broker
    sample = {v: "WVWZZZ1JZXW000001" if v == "vin" else "token" for v in car_vars}
    for key, default in TOPIC_DEFAULTS.items():
        text = r.text(t.get(key, default), f"telemetry.{key}")
        r.placeholders(text, f"telemetry.{key}", car_vars)
        if key != "client_id":
            rendered = text
            for name, value in sample.items():
                rendered = rendered.replace("{" + name + "}", value)
            problem = topic_problem(rendered.replace("{{", "{").replace("}}", "}"))
            if problem is not None:
                raise r.fail(f"telemetry.{key}", f"a topic name to publish to, not {problem}")
        values[key] = text
    qos = t.get("qos", 1)
    if qos not in (0, 1) or isinstance(qos, bool):
        raise r.fail("telemetry.qos", "0 or 1 (QoS 2 is not simulated)")
    values["qos"] = int(qos)
    protocol = str(t.get("protocol", "3.1.1"))
    if protocol not in PROTOCOLS:
        raise r.fail("telemetry.protocol", "3.1.1 or 5")
    values["protocol"] = protocol
    clean = t.get("clean_session", True)
    if not isinstance(clean, bool):
        raise r.fail("telemetry.clean_session", "true or false")
    values["clean_session"] = clean
    values["keepalive_s"] = int(r.number(t.get("keepalive_s", 60), "telemetry.keepalive_s", 5, 65535))
    for key in ("username", "password"):  # credentials may also use {mqtt_password}
        if t.get(key) is not None:
            values[key] = r.text(t[key], f"telemetry.{key}")
            r.placeholders(values[key], f"telemetry.{key}", car_vars | {PASSWORD_VAR})
    if values.get("password") is not None and values.get("username") is None:
        raise r.fail("telemetry.password", "telemetry.username too (MQTT sends a password "
                                           "only with a user name)")
    if t.get("tls") is not None:
        tls = r.mapping(t["tls"], "telemetry.tls", {"ca", "cert", "key"})
        for key, value in tls.items():
            path = r.text(value, f"telemetry.tls.{key}")
            problem = _not_a_pem_file(Path(path))
            if problem is not None:
                raise r.fail(f"telemetry.tls.{key}", f"a readable PEM file ({path} {problem})")
        if ("cert" in tls) != ("key" in tls):
            raise r.fail("telemetry.tls", "cert and key together (a client certificate)")
        values["tls"] = {str(k): str(v) for k, v in tls.items()}
    return MqttSettings(**values)

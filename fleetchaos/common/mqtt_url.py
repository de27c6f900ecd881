"""``mqtt://host:port`` (and ``mqtts://``): the one way a broker is named (MQTT_URL, profiles,
``--mqtt-url``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class MqttAddress:
    host: str
    port: int
    tls: bool

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt_url(url: str, *, what: str = "MQTT URL") -> MqttAddress:
    """Parse ``mqtt://host[:port]``; ValueError names ``what`` and says what was expected."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"{what} {url!r}: expected mqtt://host:port") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname \
            or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"{what} {url!r}: expected mqtt://host:port (or mqtts://)")
    if port == 0:  # a port given as 0 is no broker's port (it used to read as the default)
        raise ValueError(f"{what} {url!r}: port 0 is not a port a broker listens on "
                         "(expected 1..65535, or no port for the default)")
    return MqttAddress(parts.hostname, DEFAULT_PORTS[parts.scheme] if port is None else port,
                       parts.scheme == "mqtts")

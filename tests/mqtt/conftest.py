"""MQTT tests need Mosquitto (Debian's package; `make test` installs it as root): without it
they skip and say so. A broker fixture starts one per test on a free loopback port."""

from __future__ import annotations

import os

import pytest

from fleetchaos.mqtt_broker import find_mosquitto

os.environ.pop("MQTT_URL", None)  # never a developer's own broker

needs_mosquitto = pytest.mark.skipif(
    find_mosquitto() is None,
    reason="mosquitto not installed: `apt-get install -y mosquitto` (make test does it as root)")


@pytest.fixture
def broker(tmp_path):
    from fleetchaos import mqtt_broker

    if find_mosquitto() is None:
        pytest.skip("mosquitto not installed: `apt-get install -y mosquitto` "
                    "(make test does it as root)")
    child = mqtt_broker.run_in_subprocess(tmp_path / "broker")
    try:
        yield child
    finally:
        child.stop()

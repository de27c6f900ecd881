"""The broker child: Mosquitto on a free loopback port, persistence in its folder, $SYS on."""

from __future__ import annotations

import socket
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from fleetchaos import mqtt_broker
from fleetchaos.common.child_process import ChildProcessError
from fleetchaos.mqtt_broker import parse_mqtt_url

from .conftest import needs_mosquitto


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@needs_mosquitto
def test_broker_listens_on_loopback_only_keeps_its_files_in_its_folder_and_stops_by_pid(tmp_path):
    folder = tmp_path / "run.mqtt"
    child = mqtt_broker.run_in_subprocess(folder)
    try:
        assert child.url.startswith("mqtt://127.0.0.1:")
        conf = (folder / "mosquitto.conf").read_text()
        assert f"listener {child.port} 127.0.0.1" in conf  # never 0.0.0.0
        assert f"persistence_location {folder / 'mosquitto-data'}/" in conf
        seen: dict[str, bytes | bytearray] = {}
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="t-sys")
        client.on_message = lambda c, u, m: seen.__setitem__(m.topic, m.payload)
        client.connect("127.0.0.1", child.port)
        client.subscribe("$SYS/broker/publish/messages/#")
        client.loop_start()
        try:
            assert _wait(lambda: "$SYS/broker/publish/messages/dropped" in seen), seen
        finally:
            client.loop_stop()
    finally:
        child.stop()
    assert not child.alive()
    assert not _listening(child.port)
    assert (folder / "mosquitto-data" / "mosquitto.db").exists()  # saved where we said, at stop


@needs_mosquitto
def test_two_brokers_side_by_side_get_different_ports(tmp_path):
    with mqtt_broker.run_in_subprocess(tmp_path / "a") as a, \
            mqtt_broker.run_in_subprocess(tmp_path / "b") as b:
        assert a.port != b.port and a.alive() and b.alive()


def test_without_mosquitto_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr("fleetchaos.mqtt_broker.process.find_mosquitto", lambda: None)
    with pytest.raises(ChildProcessError, match="apt-get install -y mosquitto"):
        mqtt_broker.run_in_subprocess(tmp_path)


@pytest.mark.parametrize("url", ["http://127.0.0.1:1883", "mqtt://", "mqtt://h:99999",
                                 "mqtt://h:1/path", "127.0.0.1:1883"])
def test_a_broker_url_must_be_mqtt_host_port(url):
    with pytest.raises(ValueError, match="expected mqtt://host:port"):
        parse_mqtt_url(url, what="MQTT_URL")


def test_default_ports():
    assert parse_mqtt_url("mqtt://localhost").port == 1883
    assert parse_mqtt_url("mqtt://localhost/").port == 1883
    assert parse_mqtt_url("mqtts://localhost").port == 8883


def test_port_zero_is_refused_not_read_as_the_default():
    """Issue 27: MQTT_URL=mqtt://127.0.0.1:0 was reported (and dialled) as :1883."""
    with pytest.raises(ValueError, match="port 0 is not a port a broker listens on"):
        parse_mqtt_url("mqtt://127.0.0.1:0", what="MQTT_URL")

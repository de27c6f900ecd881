"""`telemetry.transport: mqtt` in a profile: checked like the rest, file:line: key: what."""

from __future__ import annotations

import textwrap

import pytest

from fleetchaos.fleet_sim.mqtt_profile import topic_filter
from fleetchaos.fleet_sim.profiles import ProfileError, load_profile

HEAD = """\
name: t
actions:
  unlock: {method: POST, path: "/u/{vin}"}
telemetry:
  transport: mqtt
"""


def _load(tmp_path, telemetry: str):
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(telemetry), "  "))
    return load_profile(str(path)), str(path)


def test_defaults_match_the_reference_backends_topics(tmp_path):
    profile, _ = _load(tmp_path, "")
    s = profile.contract.mqtt
    assert s is not None and profile.contract.transport == "mqtt"
    assert (s.topic, s.command_topic, s.qos, s.protocol, s.clean_session) == \
        ("fleet/{vin}/telemetry", "fleet/{vin}/command", 1, "3.1.1", True)
    assert load_profile("reference-mqtt").contract.mqtt is not None


def test_every_key_is_read(tmp_path):
    profile, _ = _load(tmp_path, """\
        broker: mqtt://127.0.0.1:1884
        topic: "cars/{vin}/t"
        command_topic: "cars/{vin}/c"
        qos: 0
        protocol: "5"
        clean_session: false
        keepalive_s: 15
        username: "{vin}"
        password: "{car_token}"
        resend: {max: 7}
        """)
    s = profile.contract.mqtt
    assert (s.broker, s.topic, s.qos, s.protocol, s.clean_session, s.keepalive_s, s.username,
            s.password) == ("mqtt://127.0.0.1:1884", "cars/{vin}/t", 0, "5", False, 15,
                            "{vin}", "{car_token}")
    assert profile.contract.max_resends == 7


@pytest.mark.parametrize(("telemetry", "line", "key", "says"), [
    ('topic: "fleet/+/telemetry"\n', 6, "telemetry.topic", "wildcard"),
    ('topic: "fleet/{vin}/#"\n', 6, "telemetry.topic", "wildcard"),
    ('topic: "$SYS/{vin}"\n', 6, "telemetry.topic", "reserved for the broker"),
    ('topic: "fleet/{vim}/telemetry"\n', 6, "telemetry.topic", "vim"),
    ('command_topic: ""\n', 6, "telemetry.command_topic", "non-empty"),
    ("qos: 2\n", 6, "telemetry.qos", "0 or 1"),
    ("protocol: 3\n", 6, "telemetry.protocol", "3.1.1 or 5"),
    ("clean_session: maybe\n", 6, "telemetry.clean_session", "true or false"),
    ("keepalive_s: 1\n", 6, "telemetry.keepalive_s", "from 5"),
    ("password: x\n", 6, "telemetry.password", "username too"),
    ("broker: http://127.0.0.1:1883\n", 6, "telemetry.broker", "mqtt://host:port"),
    ('path: "/x"\n', 6, "telemetry.path", "no path with transport mqtt"),
    ("tls: {cert: /nonexistent.pem}\n", 6, "telemetry.tls.cert", "does not exist"),
    # issue 27: /dev/zero was said not to exist; each says what the path is
    ("tls: {ca: /dev/zero}\n", 6, "telemetry.tls.ca", "/dev/zero is a device, not a file"),
    ("tls: {ca: /}\n", 6, "telemetry.tls.ca", "/ is a directory"),
])
def test_bad_mqtt_keys_name_file_line_and_key(tmp_path, telemetry, line, key, says):
    with pytest.raises(ProfileError) as err:
        _load(tmp_path, telemetry)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'p.yaml'}:{line}: {key}:"), message
    assert says in message and "\n" not in message


def test_mqtt_keys_with_another_transport_are_refused(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(HEAD.replace("transport: mqtt", "transport: websocket\n  path: /s\n  qos: 1"))
    with pytest.raises(ProfileError, match=r"p.yaml:7: telemetry.qos: no qos with transport "
                                           r"websocket"):
        load_profile(str(path))


def test_topic_filter_turns_each_placeholder_level_into_plus():
    assert topic_filter("fleet/{vin}/telemetry") == "fleet/+/telemetry"
    assert topic_filter("a/b") == "a/b"


@pytest.mark.parametrize(("content", "says"), [
    (b"", "is empty"), (b"not a certificate\n", "no PEM block"),
    (b"-----BEGIN CERTIFICATE-----\n" + b"A" * (1024 * 1024 + 10), "larger than 1024 KiB"),
])
def test_tls_files_must_hold_pem(tmp_path, content, says):
    bad = tmp_path / "ca.pem"
    bad.write_bytes(content)
    with pytest.raises(ProfileError) as err:
        _load(tmp_path, f"tls: {{ca: {bad}}}\n")
    assert "telemetry.tls.ca" in str(err.value) and says in str(err.value)
    bad.write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    _load(tmp_path, f"tls: {{ca: {bad}}}\n")  # a PEM file is taken (ssl reads it at connect)

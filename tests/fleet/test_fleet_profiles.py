"""Backend profiles: the built-ins load, and every mistake names the file and the key."""

from __future__ import annotations

import pytest
import yaml

from fleetchaos.fleet_sim.profiles import BUILTIN_DIR, ProfileError, builtin_profiles, load_profile, render

BASE = yaml.safe_load((BUILTIN_DIR / "generic-rest.yaml").read_text())


def test_builtin_profiles_load():
    assert {"generic-rest", "owner-api", "reference"} <= set(builtin_profiles())
    for name in builtin_profiles():
        load_profile(name)  # every built-in passes the same checks as a user's profile
    ref = load_profile("reference")
    assert ref.registration is not None and ref.telemetry["transport"] == "websocket"
    assert load_profile("generic-rest").telemetry["transport"] == "http"


def test_render_keeps_whole_placeholders_typed():
    out = render({"vehicles": "{vehicles}", "p": "/v/{vin}/x"}, {"vehicles": [1, 2], "vin": "V"})
    assert out == {"vehicles": [1, 2], "p": "/v/V/x"}


@pytest.mark.parametrize(("mutate", "key"), [
    (lambda d: d["actions"].pop("unlock"), "actions.unlock"),
    (lambda d: d["actions"]["unlock"].update(method="FETCH"), "actions.unlock.method"),
    (lambda d: d["actions"]["unlock"].update(path="vehicles"), "actions.unlock.path"),
    (lambda d: d["actions"]["unlock"].update(path="/v/{car_colour}"), "actions.unlock.path"),
    (lambda d: d["actions"].update(fly={"method": "GET", "path": "/"}), "actions.fly"),
    (lambda d: d["actions"]["unlock"].update(success=["ok"]), "actions.unlock.success.0"),
    (lambda d: d["telemetry"].update(transport="pigeon"), "telemetry.transport"),
    (lambda d: d.update(colour="red"), "colour"),
    (lambda d: d["auth"].pop("login"), "auth.header.Authorization"),  # nothing sets {access_token}
    (lambda d: d.update(base_url="localhost"), "base_url"),
    (lambda d: d["telemetry"].update(buffer=0), "telemetry.buffer"),
    (lambda d: d["telemetry"].update(max_batch=2.5), "telemetry.max_batch"),
    (lambda d: d["telemetry"].update(max_in_flight=True), "telemetry.max_in_flight"),
    (lambda d: d["telemetry"].update(max_in_flight=10_001), "telemetry.max_in_flight"),
])
def test_validation_names_file_and_key(tmp_path, mutate, key):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    mutate(data)
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ProfileError) as info:
        load_profile(str(path))
    assert str(path) in str(info.value)
    assert f": {key}:" in str(info.value)


def test_sending_settings_default_by_transport_and_can_be_set(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for key in ("buffer", "max_batch", "max_in_flight"):
        data["telemetry"].pop(key, None)
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    http = load_profile(str(path)).contract
    assert (http.buffer, http.max_batch, http.max_in_flight) == (10_000, 25, 2)
    data["telemetry"].update(transport="websocket", max_batch=5)
    path.write_text(yaml.safe_dump(data))
    ws = load_profile(str(path)).contract
    assert (ws.buffer, ws.max_batch, ws.max_in_flight) == (10_000, 5, 100)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ProfileError, match="no such profile"):
        load_profile(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("actions: [unclosed")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(str(bad))

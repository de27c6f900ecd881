"""Profiles are checked when they load: unknown keys, placeholders, statuses, the telemetry
contract, retries and optional login, each error as ``file:line: key: what``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fleetchaos.fleet_sim.profiles import ProfileError, load_profile

GOOD = """\
name: mine
auth:
  login:
    method: POST
    path: /login
    json: {user: "{owner_email}", password: "{owner_password}"}
    extract: {access_token: token}
  header: {Authorization: "Bearer {access_token}"}
actions:
  unlock:
    method: POST
    path: /vehicles/{vin}/unlock
    json: {vehicle: "{vin}"}
telemetry:
  transport: http
  path: /telemetry/{vin}
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mine.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def refused(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert message.startswith(f"{path}:"), message
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("old", "new", "line", "key", "closest"), [
    ("/vehicles/{vin}/unlock", "/vehicles/{vehicle-id}/unlock", 12, "actions.unlock.path",
     "{vehicle_id}"),
    ("/vehicles/{vin}/unlock", "/vehicles/{VIN}/unlock", 12, "actions.unlock.path", "{vin}"),
    ("/vehicles/{vin}/unlock", "/vehicles/{vin/unlock", 12, "actions.unlock.path", "{vin}"),
    ('"Bearer {access_token}"', '"Bearer {acess_token}"', 8, "auth.header.Authorization",
     "{access_token}"),
    ('{vehicle: "{vin}"}', '{vehicle: "{vehicleid}"}', 13, "actions.unlock.json.vehicle",
     "{vehicle_id}"),
    ("path: /telemetry/{vin}", "path: /telemetry/{vni}", 16, "telemetry.path", "{vin}"),
])
def test_unknown_placeholders_are_refused_naming_the_closest(tmp_path, old, new, line, key,
                                                              closest):
    message = refused(tmp_path, GOOD.replace(old, new))
    assert f":{line}: {key}: " in message
    assert f"did you mean {closest}" in message


def test_a_placeholder_set_by_an_extract_is_known(tmp_path):
    text = GOOD.replace("extract: {access_token: token}",
                        "extract: {access_token: token, account: user.id}")
    text = text.replace("/vehicles/{vin}/unlock", "/accounts/{account}/unlock")
    assert load_profile(write(tmp_path, text)).actions["unlock"].path == \
        "/accounts/{account}/unlock"


@pytest.mark.parametrize(("extra", "key"), [
    ("  acks: {ids: acked}\n", "telemetry.acks"),
    ("  batch_size: 10\n", "telemetry.batch_size"),
    ("  resend: {max: 3, jitter: 1}\n", "telemetry.resend.jitter"),
])
def test_unknown_telemetry_keys_are_refused(tmp_path, extra, key):
    message = refused(tmp_path, GOOD + extra)
    assert f"{key}: expected one of" in message
    assert f"mine.yaml:17: {key}:" in message


def test_unknown_keys_in_a_request_are_refused_with_their_line(tmp_path):
    message = refused(tmp_path, GOOD.replace("    json: {vehicle", "    body: {vehicle"))
    assert ":13: actions.unlock.body: expected one of" in message


def test_auth_is_optional_a_static_api_key_is_enough(tmp_path):
    text = GOOD.split("actions:")[1]
    profile = load_profile(write(tmp_path, "auth:\n  header: {X-Api-Key: abc123}\nactions:"
                                 + text))
    assert not profile.has_login and profile.auth_header == {"X-Api-Key": "abc123"}
    bare = load_profile(write(tmp_path, "actions:" + text))
    assert not bare.has_login and bare.auth_header == {}


def test_an_api_key_can_come_from_the_environment(tmp_path):
    text = "auth:\n  header: {X-Api-Key: \"${MY_KEY}\"}\nactions:" + GOOD.split("actions:")[1]
    path = write(tmp_path, text)
    assert load_profile(path, env={"MY_KEY": "k{1}"}).auth_header == {"X-Api-Key": "k{{1}}"}
    with pytest.raises(ProfileError, match=r"mine.yaml:2: auth.header.X-Api-Key: environment "
                                           r"variable MY_KEY is not set"):
        load_profile(path, env={})


def test_access_token_without_a_login_is_refused(tmp_path):
    message = refused(tmp_path, GOOD.replace("  login:", "  xlogin:").split("  xlogin:")[0]
                      + "  header: {Authorization: \"Bearer {access_token}\"}\nactions:"
                      + GOOD.split("actions:")[1])
    assert "auth.header.Authorization: unknown placeholder {access_token}" in message
    assert "no request extracts access_token" in message


def test_telemetry_contract_defaults_and_declared(tmp_path):
    default = load_profile(write(tmp_path, GOOD)).contract
    assert default.accept == tuple(range(200, 300)) and default.acked is None
    assert default.max_resends == 3 and default.json == {"records": "{records}"}
    declared = load_profile(write(tmp_path, GOOD + (
        "  accept: [201]\n  acked: result.ids\n  json: {data: {items: \"{records}\"}}\n"
        "  resend: {max: 1, backoff_s: 2, backoff_max_s: 8}\n"))).contract
    assert declared.accept == (201,) and declared.acked == "result.ids"
    assert (declared.max_resends, declared.backoff_s, declared.backoff_max_s) == (1, 2.0, 8.0)


def test_websocket_ack_contract(tmp_path):
    ws = GOOD.replace("transport: http", "transport: websocket")
    c = load_profile(write(tmp_path, ws + "  ack_message: {event: stored}\n  ack_seq: data.seq\n"
                           )).contract
    assert c.ack_message == {"event": "stored"} and c.ack_seq == "data.seq"
    assert load_profile(write(tmp_path, ws + "  ack_message: none\n")).contract.acks_on_write
    message = refused(tmp_path, ws + "  acked: acked\n")
    assert "telemetry.acked: no acked with transport websocket" in message


def test_retry_statuses_default_and_declared(tmp_path):
    default = load_profile(write(tmp_path, GOOD))
    assert default.worth_retrying(503) and default.worth_retrying(429)
    assert default.worth_retrying(408) and default.worth_retrying(0)
    assert not default.worth_retrying(404) and not default.worth_retrying(401)
    mine = load_profile(write(tmp_path, GOOD + "retry: {statuses: [503], connection_errors: "
                                               "false}\n"))
    assert mine.worth_retrying(503) and not mine.worth_retrying(500)
    assert not mine.worth_retrying(0)
    assert ":18: retry.statuses.0: expected an HTTP status" in refused(
        tmp_path, GOOD + "retry:\n  statuses: [five hundred]\n")


def test_idempotent_defaults_by_method_and_can_be_declared(tmp_path):
    p = load_profile(write(tmp_path, GOOD.replace("    json: {vehicle: \"{vin}\"}",
                                                  "    idempotent: true")))
    assert p.actions["unlock"].idempotent
    assert not load_profile(write(tmp_path, GOOD)).actions["unlock"].idempotent


def test_registration_knows_only_its_own_variables(tmp_path):
    reg = ("registration:\n  method: POST\n  path: /admin/{vin}\n"
           "  json: {vehicles: \"{vehicles}\"}\n")
    message = refused(tmp_path, GOOD + reg)
    assert ":19: registration.path: unknown placeholder {vin}" in message
    ok = load_profile(write(tmp_path, GOOD + reg.replace("/admin/{vin}", "/admin/fleet")))
    assert ok.registration is not None and ok.registration.json == {"vehicles": "{vehicles}"}

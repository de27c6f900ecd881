"""Property-based: whatever a car or a phone sends, the backend answers 2xx or 4xx with
the documented error body (WebSocket: an ack, an error frame or a documented close code),
never a 500, never a hang, and keeps answering and storing afterwards (acked == stored).

Hypothesis generates telemetry batches and frames, logins and commands with arbitrary
JSON values (NaN, huge integers, lone surrogates, deep nesting, wrong types) against one
real backend process on loopback.
"""

from __future__ import annotations

import itertools
import json
import urllib.parse
from typing import Any

import pytest
import requests
from client import ADMIN, bearer, login, register
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from poison import (
    ACK_DEADLINE_S,
    ERROR_KEYS,
    http_record_acked,
    open_ws,
    stored_count,
    ws_answer,
    ws_record_acked,
)

from fleetchaos import reference_backend

FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TIMEOUT_S = 15  # a request slower than this is a hang
MAX_FRAME = 64 * 1024  # the backend's default --max-telemetry-bytes
SENTINEL = itertools.count(10**12)

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
           | st.floats() | st.text(max_size=12))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=16)
nested = st.integers(min_value=1, max_value=40_000).map(lambda n: "[" * n + "]" * n)
# The edges of each type a record's values end up in (double, int64, unsigned 64-bit).
extremes = st.sampled_from([1.7976931348623157e308, 5e-324, -0.0, 2**63 - 1, 2**63, -(2**63),
                            2**64])
seqs = st.integers(min_value=0, max_value=2**63 - 1) | json_values
wild_records = st.fixed_dictionaries({}, optional={
    "seq": seqs, "ts": st.floats() | st.integers(min_value=0, max_value=2**40) | extremes
    | json_values,
    "is_resend": st.booleans() | json_values,
    "fields": st.dictionaries(st.text(max_size=10), json_values, max_size=6) | json_values,
    "extra": json_values})
valid_records = st.fixed_dictionaries({
    "seq": st.integers(min_value=0, max_value=2**63 - 1),
    "ts": st.just(0) | st.floats(min_value=1e9, max_value=2e9),
    "is_resend": st.booleans(),
    "fields": st.dictionaries(st.text(max_size=10), json_values, max_size=6)})


def _perturb(record: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**record, key: value}


# A valid record with one value replaced: gets past the checks that come first, so the
# later ones (and what is stored, then served) are reached often.
perturbed_records = st.builds(_perturb, valid_records,
                              st.sampled_from(["seq", "ts", "is_resend", "fields", "extra"]),
                              st.one_of(extremes, extremes, json_values))  # edges: 2 in 3
records = wild_records | valid_records | perturbed_records

def dumps(value: Any) -> bytes:
    """JSON as a careless client writes it: NaN allowed, lone surrogates escaped."""
    return json.dumps(value, allow_nan=True).encode()


def bodies(typed: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return (typed.map(dumps) | json_values.map(dumps) | nested.map(str.encode)
            | st.binary(max_size=64))


class World:
    def __init__(self, be: Any, db: str) -> None:
        self.be, self.url, self.db = be, be.url, db
        self.car, self.owner = register(self.url, 2)
        self.tokens = login(self.url, self.owner)
        self.car_owner_token = login(self.url, self.car)["access_token"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("fuzz") / "backend.db")
    be = reference_backend.run_in_subprocess(db_path=db, admin_token="test-admin-token")
    try:
        yield World(be, db)
    finally:
        be.stop()


def assert_answer(resp: requests.Response) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.text[:300])
    if resp.status_code >= 400:
        body = resp.json()
        assert isinstance(body, dict) and set(body) == ERROR_KEYS, body


@FUZZ
@given(body=bodies(st.fixed_dictionaries({"records": st.lists(records, max_size=4)})
                   | st.lists(records, max_size=3).map(lambda r: {"records": r})),
       ctype=st.sampled_from(["application/json", "application/json; charset=utf-8",
                              "text/plain", "application/x-www-form-urlencoded"]),
       own=st.booleans())
def test_any_telemetry_batch_is_2xx_or_4xx(world, body, ctype, own):
    vin = world.car["vin"] if own else "NOT" + world.car["vin"]
    resp = requests.post(f"{world.url}/api/1/telemetry/{urllib.parse.quote(vin)}", data=body,
                         headers={"Authorization": f"Bearer {world.car['car_token']}",
                                  "Content-Type": ctype}, timeout=TIMEOUT_S)
    assert_answer(resp)
    if resp.status_code == 200:
        assert set(resp.json()) == {"acked"}


logins = st.fixed_dictionaries(
    {"grant_type": st.sampled_from(["password", "refresh_token"]) | json_values},
    optional={"email": st.sampled_from(["owner1@example.com"]) | json_values,
              "password": st.sampled_from(["pw1"]) | json_values,
              "refresh_token": json_values})


@FUZZ
@given(body=bodies(logins), form=st.none() | st.dictionaries(st.text(max_size=8),
                                                             st.text(max_size=12), max_size=4))
def test_any_login_is_2xx_or_4xx(world, body, form):
    if form is not None:
        resp = requests.post(f"{world.url}/oauth/token", data=form, timeout=TIMEOUT_S)
    else:
        resp = requests.post(f"{world.url}/oauth/token", data=body,
                             headers={"Content-Type": "application/json"}, timeout=TIMEOUT_S)
    assert_answer(resp)


@FUZZ
@given(vid=st.text(max_size=30) | st.integers().map(str)
       | st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=25),
       command=st.sampled_from(["door_unlock", "remote_start_drive", "wake_up", "vehicle_data"])
       | st.text(max_size=20),
       token=st.sampled_from(["good", "none"])
       # header-legal characters: bytes the HTTP parser refuses never reach the API (the
       # parser's own 400 is checked in test_backend_poison)
       | st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                               exclude_characters="\x7f"), max_size=40),
       body=st.none() | bodies(json_values))
def test_any_command_is_2xx_or_4xx(world, vid, command, token, body):
    if token == "good":
        headers = bearer(world.tokens["access_token"])
    elif token == "none":
        headers = {}
    else:
        headers = {"Authorization": "Bearer " + token}
    vid = vid if vid and not vid.startswith("good") else str(world.owner["id"])
    path = urllib.parse.quote(vid, safe="")
    if command in ("vehicle_data", "wake_up"):
        url = f"{world.url}/api/1/vehicles/{path}/{command}"
        resp = (requests.get if command == "vehicle_data" else requests.post)(
            url, headers=headers, timeout=TIMEOUT_S)
    else:
        url = f"{world.url}/api/1/vehicles/{path}/command/{urllib.parse.quote(command, safe='')}"
        resp = requests.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
    assert_answer(resp)


telemetry_frames = records.map(lambda r: {"type": "telemetry", **r}).map(dumps).map(bytes.decode)
other_frames = (
    st.fixed_dictionaries({"type": st.sampled_from(["state", "command_ack", "telemetry"])
                             | json_values},
                            optional={"state": json_values, "id": json_values,
                                      "result": json_values}).map(dumps).map(bytes.decode)
    | json_values.map(dumps).map(bytes.decode) | nested | st.text(max_size=40)
)


def fuzz_seq(frame: str) -> int | None:
    """The seq of a telemetry frame the server will answer (ack or error), else None."""
    try:
        msg = json.loads(frame)
    except (ValueError, RecursionError):
        return None
    if isinstance(msg, dict) and msg.get("type") == "telemetry":
        seq = msg.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            return seq
    return None


@FUZZ
@given(frame=telemetry_frames | other_frames)
def test_any_websocket_frame_gets_an_ack_an_error_frame_or_a_documented_close(world, frame):
    """After the fuzz frame the same link must still ack a sentinel record: every answer
    before that ack is an ack or an error frame, never a 500 written into the stream; and
    the car's vehicle_data, read from what was stored, still answers."""
    ws = open_ws(world.url, world.car)
    try:
        ws.send(frame)
        if fuzz_seq(frame) is not None:  # a record: wait until it is stored or refused ...
            kind, msg = ws_answer(ws, TIMEOUT_S)
            if kind == "close":
                assert msg == 1009 and len(frame.encode()) > MAX_FRAME, msg
                return
            assert msg["type"] == "error" or msg == {"type": "ack", "seq": fuzz_seq(frame)}, msg
            # ... then what was stored is served back: it must not break vehicle_data.
            assert_answer(requests.get(
                f"{world.url}/api/1/vehicles/{world.car['id']}/vehicle_data",
                headers=bearer(world.car_owner_token), timeout=TIMEOUT_S))
        sentinel = next(SENTINEL)
        ws.send(json.dumps({"type": "telemetry", "seq": sentinel, "ts": 0, "fields": {}}))
        while True:
            kind, msg = ws_answer(ws, TIMEOUT_S)
            if kind == "close" and len(frame.encode()) > MAX_FRAME:
                assert msg == 1009  # message too big, the documented close
                return
            assert kind == "frame", (kind, msg)
            assert msg["type"] in ("ack", "error"), msg
            if msg["type"] == "error":
                assert isinstance(msg["error"], str) and isinstance(msg["error_description"], str)
            elif msg["seq"] == sentinel:
                break
    finally:
        ws.close()


def test_the_backend_still_answers_and_stores_after_the_fuzz(world):
    """Runs last in this module: healthy records are acked at once, acked == stored."""
    assert requests.get(f"{world.url}/healthz", timeout=TIMEOUT_S).json() == {"ok": True}
    assert http_record_acked(world.url, world.car, next(SENTINEL)) < ACK_DEADLINE_S
    assert ws_record_acked(world.url, world.car, next(SENTINEL)) < ACK_DEADLINE_S
    stats = requests.get(f"{world.url}/admin/stats", headers=ADMIN, timeout=TIMEOUT_S).json()
    assert stats["telemetry"]["acked"] == stats["telemetry"]["stored"] == stored_count(world.db)
    assert "500" not in stats["responses_by_status"], stats["responses_by_status"]
    assert stats["pool"]["size"] == stats["pool"]["idle"] == 4


@settings(FUZZ, max_examples=300)
@given(frame=telemetry_frames)
def test_any_telemetry_frame_gets_an_ack_or_an_error_frame(world, frame):
    """Records alone, so that odd but valid ones (ts 1.8e308, seq 2^63-1) are stored and
    then served back by vehicle_data often enough to be found."""
    # hypothesis gives each test it wraps a .hypothesis.inner_test (the undecorated body)
    test_any_websocket_frame_gets_an_ack_an_error_frame_or_a_documented_close.hypothesis.inner_test(  # type: ignore[attr-defined]
        world, frame)

"""The reference backend's API contract over real HTTP and WebSocket on loopback."""

from __future__ import annotations

import json
import time

import pytest
import requests
from client import ADMIN, Car, bearer, login, register

from fleetchaos import reference_backend


def test_token_vehicles_and_vehicle_data(backend):
    url = backend.url
    v = register(url, 1)[0]
    tokens = login(url, v)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 300
    listing = requests.get(f"{url}/api/1/vehicles", headers=bearer(tokens["access_token"])).json()
    assert listing["count"] == 1
    assert listing["response"][0]["vin"] == v["vin"]
    assert listing["response"][0]["state"] == "offline"
    data_url = f"{url}/api/1/vehicles/{v['id']}/vehicle_data"
    offline = requests.get(data_url, headers=bearer(tokens["access_token"]))
    assert offline.status_code == 408
    assert offline.json()["error_description"].startswith("vehicle unavailable")
    car = Car(url, v)
    try:
        car.telemetry(1)
        deadline = time.time() + 5
        while 1 not in car.acked and time.time() < deadline:
            time.sleep(0.02)
        online = requests.get(data_url, headers=bearer(tokens["access_token"]))
        assert online.status_code == 200
        assert 4000 <= len(online.content) <= 6500
        assert online.json()["response"]["telemetry"]["f3"] == 4.5
    finally:
        car.close()


def test_wrong_password_forged_token_and_other_owners_cars(backend):
    url = backend.url
    a, b = register(url, 2)
    bad = requests.post(f"{url}/oauth/token", json={"grant_type": "password",
                                                    "email": a["owner_email"], "password": "no"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_grant"
    token = login(url, a)["access_token"]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    resp = requests.get(f"{url}/api/1/vehicles", headers=bearer(forged))
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_token"
    other = requests.post(f"{url}/api/1/vehicles/{b['id']}/command/door_unlock",
                          headers=bearer(token))
    assert other.status_code == 404


def test_token_expiry_and_refresh(tmp_path):
    with reference_backend.run_in_subprocess(db_path=str(tmp_path / "b.db"),
                                             admin_token="test-admin-token",
                                             token_ttl_s=1) as be:
        v = register(be.url, 1)[0]
        tokens = login(be.url, v)
        time.sleep(1.5)
        expired = requests.get(f"{be.url}/api/1/vehicles", headers=bearer(tokens["access_token"]))
        assert expired.status_code == 401 and expired.json()["error"] == "token_expired"
        fresh = requests.post(f"{be.url}/oauth/token", json={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
        ok = requests.get(f"{be.url}/api/1/vehicles", headers=bearer(fresh["access_token"]))
        assert ok.status_code == 200


def test_commands_round_trip_and_408_when_disconnected(backend):
    url = backend.url
    v = register(url, 1)[0]
    token = login(url, v)["access_token"]
    unlock = f"{url}/api/1/vehicles/{v['id']}/command/door_unlock"
    assert requests.post(unlock, headers=bearer(token)).status_code == 408
    car = Car(url, v)
    try:
        time.sleep(0.2)
        resp = requests.post(unlock, headers=bearer(token))
        assert resp.status_code == 200
        assert resp.json() == {"response": {"result": True, "reason": ""}}
        start = requests.post(f"{url}/api/1/vehicles/{v['id']}/command/remote_start_drive",
                              headers=bearer(token))
        assert start.status_code == 200
        assert car.commands == ["door_unlock", "remote_start_drive"]
        car.send({"type": "state", "state": "asleep"})
        time.sleep(0.2)
        assert requests.post(unlock, headers=bearer(token)).status_code == 408
        wake = requests.post(f"{url}/api/1/vehicles/{v['id']}/wake_up", headers=bearer(token))
        assert wake.json()["response"]["state"] == "asleep"
        time.sleep(0.2)
        assert car.commands[-1] == "wake_up"
    finally:
        car.close()
    time.sleep(0.2)
    assert requests.post(unlock, headers=bearer(token)).status_code == 408


def test_a_car_that_does_not_answer_gives_504(tmp_path):
    with reference_backend.run_in_subprocess(db_path=str(tmp_path / "b.db"),
                                             admin_token="test-admin-token",
                                             command_timeout_s=0.5) as be:
        v = register(be.url, 1)[0]
        token = login(be.url, v)["access_token"]
        car = Car(be.url, v, mute=True)
        try:
            time.sleep(0.2)
            resp = requests.post(f"{be.url}/api/1/vehicles/{v['id']}/command/door_unlock",
                                 headers=bearer(token))
            assert resp.status_code == 504
            assert resp.json()["error"] == "gateway_timeout"
        finally:
            car.close()


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"data": b"{nope", "headers": {"Content-Type": "application/json"}}, 400),
    ({"data": b"grant_type=password", "headers": {"Content-Type": "text/plain"}}, 415),
    ({"json": {"grant_type": "magic"}}, 400),
    ({"json": ["not", "an", "object"]}, 400),
])
def test_bad_token_requests(backend, kwargs, status):
    resp = requests.post(f"{backend.url}/oauth/token", **kwargs)
    assert resp.status_code == status
    assert "error" in resp.json()


def test_telemetry_batch_bad_input(backend):
    url = backend.url
    v = register(url, 1)[0]
    batch = f"{url}/api/1/telemetry/{v['vin']}"
    auth = {"Authorization": f"Bearer {v['car_token']}"}
    assert requests.post(batch, json={"records": []}, headers={"Authorization": "Bearer no"}
                         ).status_code == 401
    assert requests.post(f"{url}/api/1/telemetry/NOSUCHVIN", json={}, headers=auth
                         ).status_code == 404
    big = {"records": [{"seq": 1, "fields": {"x": "y" * 70_000}}]}
    assert requests.post(batch, json=big, headers=auth).status_code == 413
    assert requests.post(batch, data="[]", headers={**auth, "Content-Type": "text/csv"}
                         ).status_code == 415
    assert requests.post(batch, json={"records": [{"seq": "x"}]}, headers=auth
                         ).status_code == 400
    ok = requests.post(batch, json={"records": [{"seq": 1, "fields": {}}, {"seq": 2}]},
                       headers=auth)
    assert ok.status_code == 200 and ok.json() == {"acked": [1, 2]}


def test_garbage_websocket_frames_get_errors_then_a_close(backend):
    url = backend.url
    v = register(url, 1)[0]
    car = Car(url, v)
    for i in range(12):
        car.send("this is not json" if i % 2 else json.dumps({"type": "launch_missiles"}))
    deadline = time.time() + 5
    while car.closed_code is None and time.time() < deadline:
        time.sleep(0.05)
    assert car.errors, "the server should answer garbage with error frames"
    assert car.closed_code == 1008
    assert requests.get(f"{url}/healthz").json() == {"ok": True}


def test_admin_needs_the_token(backend):
    assert requests.get(f"{backend.url}/admin/stats").status_code == 401
    assert requests.get(f"{backend.url}/admin/stats", headers={"X-Admin-Token": "x"}
                        ).status_code == 401
    stats = requests.get(f"{backend.url}/admin/stats", headers=ADMIN).json()
    assert stats["pool"]["size"] == 4
    assert requests.post(f"{backend.url}/admin/knobs", json={"no_such": 1}, headers=ADMIN
                         ).status_code == 400
    assert "backend_db_pool_waiting" in requests.get(f"{backend.url}/metrics").text


def test_bad_options_exit_2_without_traceback(tmp_path):
    import subprocess
    import sys

    for args in (["--db-pool-size", "0"], ["--host", "192.0.2.1"], ["--port", "99999"],
                 ["--db-pool-size", "100000"], ["--db-acquire-timeout-s", "nan"],
                 ["--command-timeout-s", "inf"], ["--sqlite-synchronous", "FULL; VACUUM"]):
        r = subprocess.run([sys.executable, "-m", "fleetchaos.reference_backend", "--db",
                            str(tmp_path / "x.db"), *args], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2, args
        assert "Traceback" not in r.stderr
        assert args[0] in r.stderr.strip().splitlines()[-1], r.stderr

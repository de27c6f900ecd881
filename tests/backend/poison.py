"""Helpers for the hostile-input tests: raw WebSocket frames, a healthy car's next record,
and the stored rows counted in the SQLite file itself."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import requests
import websocket

# Well under the 30 s SQLite busy wait a leaked write lock costs, generous on a loaded box.
ACK_DEADLINE_S = 5.0
ERROR_KEYS = {"error", "error_description"}


def assert_error_body(resp: requests.Response, statuses: set[int] | None = None) -> None:
    """A 4xx with the documented body: {"error": <code>, "error_description": <text>}."""
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:200])
    if statuses is not None:
        assert resp.status_code in statuses, (resp.status_code, resp.text[:200])
    body = resp.json()
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, body
    assert all(isinstance(body[k], str) and body[k] for k in ERROR_KEYS), body


def open_ws(url: str, vehicle: dict[str, Any]) -> websocket.WebSocket:
    ws = websocket.create_connection(
        url.replace("http://", "ws://") + f"/api/1/streaming/{vehicle['vin']}",
        header=[f"Authorization: Bearer {vehicle['car_token']}"], timeout=30)
    ws.send(json.dumps({"type": "state", "state": "online"}))
    return ws


def ws_answer(ws: websocket.WebSocket, timeout_s: float = 10.0) -> tuple[str, Any]:
    """The server's next answer: ("frame", parsed JSON) or ("close", close code).

    Anything else on the upgraded stream (an HTTP 500 written into it, say) fails here."""
    ws.settimeout(timeout_s)
    frame = ws.recv_frame()  # raw: no close reply sent (the server may have reset already)
    op, data = frame.opcode, frame.data
    if op == websocket.ABNF.OPCODE_CLOSE:
        return "close", int.from_bytes(data[:2], "big") if len(data) >= 2 else None
    assert op == websocket.ABNF.OPCODE_TEXT and frame.fin, (op, data[:200])
    return "frame", json.loads(data)


def http_record_acked(url: str, vehicle: dict[str, Any], seq: int) -> float:
    """Post one healthy record over HTTP; return the seconds until its ack."""
    start = time.monotonic()
    resp = requests.post(f"{url}/api/1/telemetry/{vehicle['vin']}",
                         json={"records": [{"seq": seq, "ts": time.time(), "fields": {"ok": 1}}]},
                         headers={"Authorization": f"Bearer {vehicle['car_token']}"},
                         timeout=ACK_DEADLINE_S)
    elapsed = time.monotonic() - start
    assert resp.status_code == 200, (resp.status_code, resp.text[:200])
    assert resp.json() == {"acked": [seq]}
    return elapsed


def ws_record_acked(url: str, vehicle: dict[str, Any], seq: int) -> float:
    """Send one healthy record over a fresh WebSocket; return the seconds until its ack."""
    ws = open_ws(url, vehicle)
    try:
        start = time.monotonic()
        ws.send(json.dumps({"type": "telemetry", "seq": seq, "ts": time.time(),
                            "is_resend": False, "fields": {"ok": 1}}))
        deadline = start + ACK_DEADLINE_S
        while True:
            kind, msg = ws_answer(ws, max(0.01, deadline - time.monotonic()))
            assert kind == "frame", (kind, msg)
            if msg.get("type") == "ack" and msg.get("seq") == seq:
                return time.monotonic() - start
    finally:
        ws.close()


def stored_seqs(db_path: str, vin: str) -> set[int]:
    """The seqs stored for a car, read from the database file (not from the server)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return {int(r[0]) for r in conn.execute("SELECT seq FROM telemetry WHERE vin=?", (vin,))}
    finally:
        conn.close()


def stored_count(db_path: str) -> int:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT count(*) FROM telemetry").fetchone()[0])
    finally:
        conn.close()

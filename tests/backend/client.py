"""A small blocking client for the reference backend, for tests (no Locust, no gevent)."""

from __future__ import annotations

import json
import threading
from typing import Any

import requests
import websocket

ADMIN = {"X-Admin-Token": "test-admin-token"}


def register(url: str, n: int, start: int = 0) -> list[dict[str, Any]]:
    vehicles = [{"vin": f"5YJ3E1EA{i:09d}", "owner_email": f"owner{i}@example.com",
                 "owner_password": f"pw{i}", "car_token": f"car-token-{i}"}
                for i in range(start, start + n)]
    resp = requests.post(f"{url}/admin/fleet", json={"vehicles": vehicles}, headers=ADMIN)
    resp.raise_for_status()
    ids = {v["vin"]: v["id"] for v in resp.json()["vehicles"]}
    for v in vehicles:
        v["id"] = ids[v["vin"]]
    return vehicles


def login(url: str, vehicle: dict[str, Any]) -> dict[str, Any]:
    resp = requests.post(f"{url}/oauth/token", json={
        "grant_type": "password", "email": vehicle["owner_email"],
        "password": vehicle["owner_password"]})
    resp.raise_for_status()
    return resp.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Car:
    """A car on the WebSocket: acks commands (unless mute), counts acks."""

    def __init__(self, url: str, vehicle: dict[str, Any], mute: bool = False) -> None:
        self.ws = websocket.create_connection(
            url.replace("http://", "ws://") + f"/api/1/streaming/{vehicle['vin']}",
            header=[f"Authorization: Bearer {vehicle['car_token']}"], timeout=30)
        self.ws.settimeout(None)  # an idle car waits for commands as long as it takes
        self.mute = mute
        self.acked: set[int] = set()
        self.errors: list[dict[str, Any]] = []
        self.commands: list[str] = []
        self.closed_code: int | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.send({"type": "state", "state": "online"})

    def send(self, msg: dict[str, Any] | str) -> None:
        self.ws.send(msg if isinstance(msg, str) else json.dumps(msg))

    def telemetry(self, seq: int, fields: int = 20) -> None:
        self.send({"type": "telemetry", "seq": seq, "ts": 0, "is_resend": False,
                   "fields": {f"f{i}": i * 1.5 for i in range(fields)}})

    def _read(self) -> None:
        while True:
            try:
                op, data = self.ws.recv_data()
            except (OSError, websocket.WebSocketException):
                return
            if op == websocket.ABNF.OPCODE_CLOSE:
                self.closed_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                return
            msg = json.loads(data)
            if msg["type"] == "ack":
                self.acked.add(msg["seq"])
            elif msg["type"] == "error":
                self.errors.append(msg)
            elif msg["type"] == "command":
                self.commands.append(msg["command"])
                if not self.mute:
                    self.send({"type": "command_ack", "id": msg["id"], "result": True,
                               "reason": ""})

    def close(self) -> None:
        self.ws.close()

    def abort(self) -> None:
        """Drop the connection at once (no close handshake), as a crashed car would."""
        self.ws.abort()
        self.ws.shutdown()

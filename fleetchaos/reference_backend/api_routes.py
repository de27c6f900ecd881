"""The phone app's API, shaped like the public Owner/Fleet API (docs/reference-backend-api.md)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from typing import Any

from aiohttp import web

from fleetchaos.reference_backend.auth import TokenError, check_password
from fleetchaos.reference_backend.cars import CarTimeout, CarUnavailable
from fleetchaos.reference_backend.db import transaction
from fleetchaos.reference_backend.errors import api_error, read_form, read_json
from fleetchaos.reference_backend.state import BackendState
from fleetchaos.reference_backend.validate import text_field, vehicle_id

routes = web.RouteTableDef()
STATE = web.AppKey("state", BackendState)
COMMANDS = {"door_unlock", "remote_start_drive"}


def _state(request: web.Request) -> BackendState:
    return request.app[STATE]


@routes.post("/oauth/token")
async def token(request: web.Request) -> web.Response:
    st = _state(request)
    if request.content_type == "application/x-www-form-urlencoded":
        body: dict[str, Any] = await read_form(request)
    else:
        body = await read_json(request)
    grant = body.get("grant_type")
    if grant == "password":
        email, password = text_field(body, "email"), text_field(body, "password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise api_error(400, "invalid_request", "email and password are required")

        def find(conn: sqlite3.Connection) -> tuple[int, str] | None:
            row: tuple[int, str] | None = conn.execute(
                "SELECT id, password_hash FROM owners WHERE email=?", (email,)).fetchone()
            return row

        row = await st.api_db(find)
        if row is None or not check_password(password, row[1]):
            raise api_error(401, "invalid_grant", "unknown email or wrong password")
        owner_id = int(row[0])
    elif grant == "refresh_token":
        refresh = text_field(body, "refresh_token")
        if not isinstance(refresh, str):
            raise api_error(400, "invalid_request", "refresh_token is required")

        def lookup(conn: sqlite3.Connection) -> tuple[int] | None:
            row: tuple[int] | None = conn.execute(
                "SELECT owner_id FROM refresh_tokens WHERE token=?", (refresh,)).fetchone()
            return row

        row = await st.api_db(lookup)
        if row is None:
            raise api_error(401, "invalid_grant", "unknown refresh token")
        owner_id = int(row[0])
    else:
        raise api_error(400, "unsupported_grant_type", "grant_type: password or refresh_token")
    new_refresh = secrets.token_urlsafe(24)

    def save(conn: sqlite3.Connection) -> None:
        with transaction(conn):
            conn.execute("INSERT INTO refresh_tokens (token, owner_id) VALUES (?, ?)",
                         (new_refresh, owner_id))

    await st.api_db(save)
    return web.json_response({
        "access_token": st.signer.issue(owner_id), "refresh_token": new_refresh,
        "token_type": "Bearer", "expires_in": int(st.capacity.token_ttl_s),
    })


async def _owner_vehicle(request: web.Request) -> tuple[BackendState, int, str]:
    """Authenticate, then load the caller's vehicle: both need the shared pool."""
    st = _state(request)
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        raise api_error(401, "invalid_token", "Authorization: Bearer <token> is required")
    try:
        owner_id = st.signer.verify(auth[7:])
    except TokenError as exc:
        raise api_error(401, exc.code, exc.description) from None
    raw_id = request.match_info.get("id", "")
    vid = vehicle_id(raw_id)  # checked before the pool: ids SQLite cannot hold are 404 here
    if vid is None:
        raise api_error(404, "not_found", f"no vehicle {raw_id[:40]!r}")

    def find(conn: sqlite3.Connection) -> tuple[str] | None:
        row: tuple[str] | None = conn.execute(
            "SELECT vin FROM vehicles WHERE id=? AND owner_id=?", (vid, owner_id)).fetchone()
        return row

    row = await st.api_db(find)
    if row is None:
        raise api_error(404, "not_found", f"no vehicle {vid} for this account")
    return st, vid, str(row[0])


@routes.get("/api/1/vehicles")
async def vehicles(request: web.Request) -> web.Response:
    st = _state(request)
    auth = request.headers.get("Authorization", "")
    try:
        owner_id = st.signer.verify(auth[7:] if auth.startswith("Bearer ") else "")
    except TokenError as exc:
        raise api_error(401, exc.code, exc.description) from None

    def find(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
        rows: list[tuple[int, str, str]] = conn.execute(
            "SELECT id, vin, display_name FROM vehicles WHERE owner_id=?", (owner_id,)).fetchall()
        return rows

    rows = await st.api_db(find)
    out = [{"id": vid, "vehicle_id": vid, "vin": vin, "display_name": name,
            "state": st.cars.state(vin)} for vid, vin, name in rows]
    return web.json_response({"response": out, "count": len(out)})


@routes.get("/api/1/vehicles/{id}/vehicle_data")
async def vehicle_data(request: web.Request) -> web.Response:
    st, vid, vin = await _owner_vehicle(request)
    if st.cars.state(vin) != "online":
        raise api_error(408, "vehicle_unavailable",
                        "vehicle unavailable: vehicle is offline or asleep")

    def latest(conn: sqlite3.Connection) -> tuple[str, float] | None:
        row: tuple[str, float] | None = conn.execute(
            "SELECT body, ts FROM vehicle_state WHERE vin=?", (vin,)).fetchone()
        return row

    row = await st.api_db(latest)
    fields = json.loads(row[0]) if row else {}
    return web.json_response({"response": vehicle_document(vid, vin, fields, row[1] if row else 0)})


def vehicle_document(vid: int, vin: str, fields: dict[str, Any], ts: float) -> dict[str, Any]:
    """A vehicle_data body of the public API's size (about 4–6 KB)."""
    def section(prefix: str, n: int) -> dict[str, Any]:
        return {f"{prefix}_{i:02d}": fields.get(f"{prefix}_{i:02d}", 0) for i in range(n)}

    return {
        "id": vid, "vin": vin, "state": "online", "timestamp": int(ts * 1000),
        "charge_state": {**section("charge", 70), "battery_level": fields.get("soc", 0)},
        "drive_state": {**section("drive", 40), "latitude": fields.get("lat"),
                        "longitude": fields.get("lon"), "shift_state": fields.get("gear")},
        "vehicle_state": {**section("vehicle", 70), "locked": fields.get("locked", True)},
        "climate_state": section("climate", 60),
        "telemetry": fields,
    }


@routes.post("/api/1/vehicles/{id}/wake_up")
async def wake_up(request: web.Request) -> web.Response:
    st, vid, vin = await _owner_vehicle(request)
    state = st.cars.state(vin)
    link = st.cars.links.get(vin)
    if link is not None and state == "asleep":
        await link.ws.send_json({"type": "command", "id": uuid.uuid4().hex, "command": "wake_up"})
    return web.json_response({"response": {"id": vid, "vin": vin, "state": state}})


@routes.post("/api/1/vehicles/{id}/command/{command}")
async def command(request: web.Request) -> web.Response:
    name = request.match_info["command"]
    if name not in COMMANDS:
        raise api_error(404, "not_found", f"unknown command {name[:40]!r}")
    st, _vid, vin = await _owner_vehicle(request)
    started = time.time()
    try:
        ack = await st.cars.send_command(vin, name, st.capacity.command_timeout_s)
    except CarUnavailable as exc:
        raise api_error(408, "vehicle_unavailable", str(exc)) from None
    except CarTimeout as exc:
        raise api_error(504, "gateway_timeout", str(exc)) from None
    result, reason = bool(ack.get("result", False)), str(ack.get("reason", ""))

    def audit(conn: sqlite3.Connection) -> None:
        with transaction(conn):
            conn.execute("INSERT INTO commands (id, vin, command, result, created) "
                         "VALUES (?,?,?,?,?)",
                         (uuid.uuid4().hex, vin, name, "ok" if result else reason, started))

    await st.api_db(audit)
    return web.json_response({"response": {"result": result, "reason": reason}})

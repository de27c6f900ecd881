"""Loopback-only admin: fleet registration for the harness, stats, run-time knobs, metrics.

Loopback clients only, unless ``--admin-from ADDR[,ADDR]`` names the harness's other
hosts exactly (a master on another machine registers the fleet and turns the knobs);
the admin token is asked of every client either way."""

from __future__ import annotations

import ipaddress
import sqlite3
import time
from typing import Any

from aiohttp import web

from fleetchaos.reference_backend.api_routes import STATE
from fleetchaos.reference_backend.auth import hash_password, same_secret
from fleetchaos.reference_backend.db import transaction
from fleetchaos.reference_backend.errors import api_error, read_json
from fleetchaos.reference_backend.state import BackendState

routes = web.RouteTableDef()


def _admin(request: web.Request) -> BackendState:
    st = request.app[STATE]
    try:
        client = ipaddress.ip_address((request.remote or "").split("%")[0])
        local = client.is_loopback or str(client) in st.admin_clients
    except ValueError:
        local = False
    if not local:
        raise api_error(403, "forbidden", "admin endpoints answer loopback clients only "
                                          "(and those named by --admin-from)")
    if not same_secret(request.headers.get("X-Admin-Token", ""), st.admin_token):
        raise api_error(401, "invalid_admin_token", "X-Admin-Token is missing or wrong")
    return st


@routes.post("/admin/fleet")
async def register_fleet(request: web.Request) -> web.Response:
    st = _admin(request)
    body = await read_json(request)
    vehicles = body.get("vehicles")
    keys = ("vin", "owner_email", "owner_password", "car_token")
    if not isinstance(vehicles, list) or not all(
        isinstance(v, dict) and all(isinstance(v.get(k), str) and v.get(k) for k in keys)
        and isinstance(v.get("display_name") or "", str)
        for v in vehicles
    ):
        raise api_error(400, "invalid_fleet", f"vehicles: a list of objects with {', '.join(keys)}"
                        " (strings) and an optional display_name string")

    def register(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        with transaction(conn):
            return [_register_one(conn, v) for v in vehicles]

    registered = await st.pool.run(register, 60.0)
    for v in vehicles:
        st.car_tokens[v["vin"]] = v["car_token"]
    return web.json_response({"vehicles": registered})


def _register_one(conn: sqlite3.Connection, v: dict[str, Any]) -> dict[str, Any]:
    """Insert or update one vehicle and its owner (idempotent by VIN)."""
    conn.execute("INSERT OR IGNORE INTO owners (email, password_hash) VALUES (?, ?)",
                 (v["owner_email"], hash_password(v["owner_password"])))
    owner_id = conn.execute("SELECT id FROM owners WHERE email=?",
                            (v["owner_email"],)).fetchone()[0]
    conn.execute(
        "INSERT INTO vehicles (vin, display_name, owner_id, car_token) VALUES (?,?,?,?) "
        "ON CONFLICT(vin) DO UPDATE SET car_token=excluded.car_token, "
        "owner_id=excluded.owner_id, display_name=excluded.display_name",
        (v["vin"], v.get("display_name") or v["vin"], owner_id, v["car_token"]))
    vid = conn.execute("SELECT id FROM vehicles WHERE vin=?", (v["vin"],)).fetchone()[0]
    return {"vin": v["vin"], "id": vid}


def stats_snapshot(st: BackendState) -> dict[str, Any]:
    out = {
        "uptime_s": round(time.time() - st.started, 1),
        "pool": st.pool.stats(),
        "telemetry": {"received": st.telemetry_received, "acked": st.telemetry_acked,
                      "stored": st.pool.count_telemetry(),
                      "rate_limited": st.telemetry_rate_limited,
                      "unstored_pool_timeout": st.telemetry_unstored},
        "cars": {"connected": len(st.cars.links),
                 "online": sum(1 for c in st.cars.links.values() if c.state == "online")},
        "responses_by_status": dict(st.responses),
        "client_aborts": st.client_aborts,
        "capacity": st.capacity.to_dict(),
    }
    if st.mqtt is not None:
        out["mqtt"] = st.mqtt.to_dict()
    return out


@routes.get("/admin/stats")
async def stats(request: web.Request) -> web.Response:
    return web.json_response(stats_snapshot(_admin(request)))


@routes.post("/admin/knobs")
async def knobs(request: web.Request) -> web.Response:
    st = _admin(request)
    body = await read_json(request)
    try:
        st.capacity.update(body)
    except ValueError as exc:
        raise api_error(400, "invalid_knob", str(exc)) from None
    st.pool.resize(st.capacity.db_pool_size)
    st.signer.ttl_s = st.capacity.token_ttl_s
    return web.json_response({"capacity": st.capacity.to_dict()})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    st = request.app[STATE]
    pool = st.pool.stats()
    lines = [
        "# TYPE backend_db_pool_waiting gauge", f"backend_db_pool_waiting {pool['waiting']}",
        "# TYPE backend_db_pool_timeouts_total counter",
        f"backend_db_pool_timeouts_total {pool['timeouts']}",
        "# TYPE backend_telemetry_acked_total counter",
        f"backend_telemetry_acked_total {st.telemetry_acked}",
        "# TYPE backend_cars_connected gauge", f"backend_cars_connected {len(st.cars.links)}",
        "# TYPE backend_client_aborts_total counter",
        f"backend_client_aborts_total {st.client_aborts}",
        "# TYPE backend_responses_total counter",
    ]
    if st.mqtt is not None:
        lines[-1:-1] = [
            "# TYPE backend_mqtt_refused_total counter",
            f"backend_mqtt_refused_total {st.mqtt.refused}",
            "# TYPE backend_mqtt_too_large_total counter",
            f"backend_mqtt_too_large_total {st.mqtt.too_large}",
        ]
    lines += [f'backend_responses_total{{status="{s}"}} {n}' for s, n in sorted(st.responses.items())]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})

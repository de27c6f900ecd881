"""The cars' side: a long-lived WebSocket for telemetry (acked after storing) and
commands, and an HTTP batch endpoint for cars that post telemetry instead."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from typing import Any

from aiohttp import WSMsgType, web

from fleetchaos.reference_backend.api_routes import STATE
from fleetchaos.reference_backend.db import PoolTimeout
from fleetchaos.reference_backend.errors import api_error
from fleetchaos.reference_backend.state import BackendState

routes = web.RouteTableDef()
MAX_GARBAGE = 10


def _car_auth(st: BackendState, request: web.Request, vin: str) -> None:
    auth = request.headers.get("Authorization", "")
    expected = st.car_tokens.get(vin)
    if expected is None:
        raise api_error(404, "not_found", f"unknown vehicle {vin!r}")
    if auth != f"Bearer {expected}":
        raise api_error(401, "invalid_token", "bad car credential")


def _valid_record(msg: Any) -> bool:
    return (isinstance(msg, dict) and isinstance(msg.get("seq"), int)
            and isinstance(msg.get("fields", {}), dict))


@routes.post("/api/1/telemetry/{vin}")
async def telemetry_batch(request: web.Request) -> web.Response:
    st = request.app[STATE]
    vin = request.match_info["vin"]
    _car_auth(st, request, vin)
    if request.content_length and request.content_length > st.capacity.max_telemetry_bytes:
        raise api_error(413, "payload_too_large",
                        f"telemetry batches are limited to {st.capacity.max_telemetry_bytes} bytes")
    if request.content_type != "application/json":
        raise api_error(415, "unsupported_media_type", "send Content-Type: application/json")
    raw = await request.read()
    if len(raw) > st.capacity.max_telemetry_bytes:
        raise api_error(413, "payload_too_large", "telemetry batch too large")
    try:
        body = json.loads(raw)
    except ValueError:
        raise api_error(400, "invalid_json", "the body is not valid JSON") from None
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(_valid_record(r) for r in records):
        raise api_error(400, "invalid_records", "records must be a list of {seq, fields}")
    st.telemetry_received += len(records)
    acked = await st.store_telemetry(vin, records) if records else []
    return web.json_response({"acked": acked})


@routes.get("/api/1/streaming/{vin}")
async def streaming(request: web.Request) -> web.WebSocketResponse:
    st = request.app[STATE]
    vin = request.match_info["vin"]
    _car_auth(st, request, vin)
    ws = web.WebSocketResponse(heartbeat=None, max_msg_size=st.capacity.max_telemetry_bytes)
    await ws.prepare(request)
    link = st.cars.connect(vin, ws)
    window: deque[float] = deque()
    garbage = 0
    tasks: set[asyncio.Task[None]] = set()
    # Bounded work per connection: past it we stop reading and TCP pushes back on the car.
    inflight = asyncio.Semaphore(st.capacity.ws_inflight)

    async def ingest(record: dict[str, Any]) -> None:
        try:
            await st.store_telemetry(vin, [record])
        except PoolTimeout:
            st.telemetry_unstored += 1  # not acked: the car will resend
            return
        finally:
            inflight.release()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_json({"type": "ack", "seq": record["seq"]})

    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                garbage += 1
                if msg.type == WSMsgType.ERROR:
                    break
                await ws.send_json({"type": "error", "error": "text JSON frames only"})
            else:
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    data = None
                kind = data.get("type") if isinstance(data, dict) else None
                if kind == "telemetry" and _valid_record(data):
                    st.telemetry_received += 1
                    now = time.monotonic()
                    while window and window[0] < now - st.capacity.ws_rate_window_s:
                        window.popleft()
                    if len(window) >= st.capacity.ws_rate_limit:
                        st.telemetry_rate_limited += 1  # dropped unacked, as the guard does
                        continue
                    window.append(now)
                    await inflight.acquire()
                    task = asyncio.create_task(ingest(data))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif kind == "state" and data.get("state") in ("online", "asleep"):
                    link.state = data["state"]
                elif kind == "command_ack":
                    st.cars.command_acked(link, data)
                else:
                    garbage += 1
                    await ws.send_json({"type": "error", "error": "unknown or malformed message"})
            if garbage >= MAX_GARBAGE:
                await ws.close(code=1008, message=b"too many malformed messages")
                break
    finally:
        st.cars.disconnect(link)
        if tasks:  # finish what we started storing; acks may no longer be deliverable
            await asyncio.gather(*tasks, return_exceptions=True)
    return ws

"""The cars' side: a long-lived WebSocket for telemetry (acked after storing) and
commands, and an HTTP batch endpoint for cars that post telemetry instead."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

from aiohttp import WSMsgType, web

from fleetchaos.reference_backend.api_routes import STATE
from fleetchaos.reference_backend.auth import same_secret
from fleetchaos.reference_backend.db import PoolTimeout
from fleetchaos.reference_backend.errors import api_error, log
from fleetchaos.reference_backend.state import BackendState
from fleetchaos.reference_backend.validate import (
    MAX_INT64,
    BadInput,
    Record,
    parse_json,
    telemetry_record,
)
from fleetchaos.reference_backend.validate import telemetry_batch as telemetry_batch_records

routes = web.RouteTableDef()
MAX_GARBAGE = 10


def _car_auth(st: BackendState, request: web.Request, vin: str) -> None:
    auth = request.headers.get("Authorization", "")
    expected = st.car_tokens.get(vin)
    if expected is None:
        raise api_error(404, "not_found", f"unknown vehicle {vin!r}")
    if not same_secret(auth, f"Bearer {expected}"):
        raise api_error(401, "invalid_token", "bad car credential")


@routes.post("/api/1/telemetry/{vin}")
async def telemetry_batch(request: web.Request) -> web.Response:
    st = request.app[STATE]
    vin = request.match_info["vin"]
    _car_auth(st, request, vin)
    limit = st.capacity.max_telemetry_bytes
    if request.content_length and request.content_length > limit:
        raise api_error(413, "payload_too_large", f"telemetry batches are limited to {limit} bytes")
    if request.content_type != "application/json":
        raise api_error(415, "unsupported_media_type", "send Content-Type: application/json")
    raw = await request.read()
    if len(raw) > limit:
        raise api_error(413, "payload_too_large", f"telemetry batches are limited to {limit} bytes")
    records = telemetry_batch_records(parse_json(raw))  # BadInput -> 400, before the pool
    st.telemetry_received += len(records)
    acked = await st.store_telemetry(vin, records)
    return web.json_response({"acked": acked})


def error_frame(code: str, description: str, seq: Any = None) -> dict[str, Any]:
    """The WebSocket's error frame: the HTTP error body plus type (and the record's seq)."""
    frame: dict[str, Any] = {"type": "error", "error": code, "error_description": description}
    if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= MAX_INT64:
        frame["seq"] = seq
    return frame


@routes.get("/api/1/streaming/{vin}")
async def streaming(request: web.Request) -> web.WebSocketResponse:
    st = request.app[STATE]
    vin = request.match_info["vin"]
    _car_auth(st, request, vin)
    ws = web.WebSocketResponse(heartbeat=None, max_msg_size=st.capacity.max_telemetry_bytes)
    await ws.prepare(request)
    link = st.cars.connect(vin, ws)
    link.transport = request.transport
    window: deque[float] = deque()
    garbage = 0
    tasks: set[asyncio.Task[None]] = set()
    # Bounded work per connection: past it we stop reading and TCP pushes back on the car.
    inflight = asyncio.Semaphore(st.capacity.ws_inflight)

    async def ingest(record: Record) -> None:
        try:
            await st.store_telemetry(vin, [record])
        except Exception as exc:  # a pool deadline (flood) or the database's own error
            st.telemetry_unstored += 1  # not acked: the car will resend
            if not isinstance(exc, PoolTimeout):
                log.warning("telemetry from %s not stored: %s", vin, exc)
            return
        finally:
            inflight.release()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_json({"type": "ack", "seq": record.seq})

    async def refuse(frame: dict[str, Any]) -> None:
        """Answer a bad frame; the MAX_GARBAGE-th closes the link with 1008."""
        nonlocal garbage
        garbage += 1
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_json(frame)
        if garbage >= MAX_GARBAGE:
            await ws.close(code=1008, message=b"too many malformed messages")

    try:
        async for msg in ws:
            if st.pool.stopping:
                # The server is stopping: what is still queued is read but not stored (nor
                # acked). The handler waits for the stop's close, which cuts a car that does
                # not answer it: leaving here would hand the link to aiohttp's own close,
                # which waits 10 s for the car's reply past the stop's budget.
                continue
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.ERROR:
                    break  # aiohttp already closed with the reader's code (1007, 1009)
                await refuse(error_frame("text_frames_only", "send JSON in text frames"))
            else:
                try:
                    data = parse_json(msg.data)
                except BadInput as exc:
                    await refuse(error_frame(exc.code, exc.description))
                    continue
                kind = data.get("type") if isinstance(data, dict) else None
                if kind == "telemetry":
                    try:
                        record = telemetry_record(data)
                    except BadInput as exc:
                        await refuse(error_frame(exc.code, exc.description, data.get("seq")))
                        continue
                    st.telemetry_received += 1
                    now = time.monotonic()
                    while window and window[0] < now - st.capacity.ws_rate_window_s:
                        window.popleft()
                    if len(window) >= st.capacity.ws_rate_limit:
                        st.telemetry_rate_limited += 1  # dropped unacked, as the guard does
                        continue
                    window.append(now)
                    await inflight.acquire()
                    task = asyncio.create_task(ingest(record))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif kind == "state" and data.get("state") in ("online", "asleep"):
                    link.state = data["state"]
                elif kind == "command_ack":
                    st.cars.command_acked(link, data)
                else:
                    await refuse(error_frame("unknown_message",
                                             "expected a JSON object with type telemetry, "
                                             "state or command_ack"))
            if ws.closed:
                break
    except Exception as exc:  # never a 500 into the upgraded stream: close it instead
        log.warning("car link %s failed: %s", vin, exc)
        await ws.close(code=1011, message=b"internal error")
    finally:
        st.cars.disconnect(link)
        if tasks:  # finish what we started storing; acks may no longer be deliverable
            await asyncio.gather(*tasks, return_exceptions=True)
    return ws

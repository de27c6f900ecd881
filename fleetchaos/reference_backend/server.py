"""Start the backend: options, the app, the readiness line, and a graceful stop."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import secrets
import sys
import tempfile
from dataclasses import fields

from aiohttp import web

from fleetchaos.common.loopback import is_loopback_host
from fleetchaos.common.mqtt_credentials import BACKEND_PASSWORD_ENV, BACKEND_USERNAME_ENV
from fleetchaos.common.serving import serve_until_signalled
from fleetchaos.reference_backend import admin_routes, api_routes, car_routes
from fleetchaos.reference_backend.api_routes import STATE
from fleetchaos.reference_backend.auth import TokenSigner
from fleetchaos.reference_backend.capacity import Capacity, check_knob
from fleetchaos.reference_backend.db import DbPool
from fleetchaos.reference_backend.errors import make_error_middleware
from fleetchaos.reference_backend.shutdown import (
    DEFAULT_STOP_TIMEOUT_S,
    StopReport,
    handler_timeout,
    log_stopped,
    stop_cars_and_writes,
)
from fleetchaos.reference_backend.state import BackendState

EPILOG = """\
example: fleetchaos backend --host 127.0.0.1 --port 8080 --db backend.db --db-pool-size 4
The admin token comes from --admin-token or FLEETCHAOS_ADMIN_TOKEN (random if unset,
printed in the readiness line on stdout)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fleetchaos backend",
        description="The reference access backend (HTTP + WebSocket, SQLite WAL).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--db", default=None, help="SQLite file (default: a temporary file)")
    parser.add_argument("--admin-token", default=os.environ.get("FLEETCHAOS_ADMIN_TOKEN"))
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow binding a non-loopback address")
    parser.add_argument("--admin-from", default="", metavar="ADDR[,ADDR]",
                        help="the admin API also answers these client IP addresses (a "
                             "harness on another host); loopback clients only by default, "
                             "the admin token asked of every client")
    parser.add_argument("--stop-timeout-s", type=float, default=DEFAULT_STOP_TIMEOUT_S,
                        help="how long a stop (SIGTERM/SIGINT) may take, cars closed and the "
                             "database checkpointed (default %(default)s; the harness SIGKILLs "
                             "a child after 5 s)")
    parser.add_argument("--mqtt-url", default=None,
                        help="also ingest telemetry from this MQTT broker (mqtt://host:port); "
                             "see docs/mqtt.md")
    parser.add_argument("--mqtt-username", default=os.environ.get(BACKEND_USERNAME_ENV),
                        help=f"the consumer's MQTT user (default ${BACKEND_USERNAME_ENV}); its "
                             f"password comes from ${BACKEND_PASSWORD_ENV}, never the command "
                             "line; see docs/mqtt.md")
    parser.add_argument("--mqtt-inflight", type=int, default=1024,
                        help="MQTT consumer: stores running at once (default 1024)")
    parser.add_argument("--mqtt-batch", type=int, default=20,
                        help="MQTT consumer: records of one car per transaction (default 20)")
    for f in fields(Capacity):
        default = getattr(Capacity(), f.name)
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(default), default=default,
                            help=f"capacity (default {default})")
    ns = parser.parse_args(argv)
    try:
        ns.admin_from = frozenset(str(ipaddress.ip_address(a.strip().strip("[]")))
                                  for a in ns.admin_from.split(",") if a.strip())
    except ValueError as exc:
        parser.error(f"--admin-from: {exc} (IP addresses, separated by commas)")
    if not ns.allow_remote and not is_loopback_host(ns.host):
        parser.error(f"--host {ns.host} is not loopback; pass --allow-remote to bind it")
    if not 0.1 <= ns.stop_timeout_s <= 600:
        parser.error(f"--stop-timeout-s must be from 0.1 to 600, got {ns.stop_timeout_s:g}")
    if not 0 <= ns.port <= 65535:
        parser.error(f"--port {ns.port} is out of range")
    for f in fields(Capacity):
        try:
            check_knob(f.name, getattr(ns, f.name))
        except ValueError as exc:
            parser.error(f"--{f.name.replace('_', '-')}: {exc}")
    if ns.mqtt_url is not None:
        from fleetchaos.reference_backend.mqtt_ingest import check_mqtt_options

        try:
            check_mqtt_options(ns.mqtt_url, ns.mqtt_inflight, ns.mqtt_batch, ns.allow_remote)
        except ValueError as exc:
            parser.error(str(exc))
        if os.environ.get(BACKEND_PASSWORD_ENV) and not ns.mqtt_username:
            parser.error(f"${BACKEND_PASSWORD_ENV} is set but no MQTT user: set "
                         f"${BACKEND_USERNAME_ENV} or --mqtt-username (MQTT sends a password "
                         "only with a user name)")
    return ns


def build_app(state: BackendState) -> web.Application:
    app = web.Application(middlewares=[make_error_middleware(state)],
                          client_max_size=max(state.capacity.max_telemetry_bytes, 1 << 20))
    app[STATE] = state
    app.add_routes(api_routes.routes)
    app.add_routes(car_routes.routes)
    app.add_routes(admin_routes.routes)
    return app


async def serve(ns: argparse.Namespace) -> int:
    capacity = Capacity(**{f.name: getattr(ns, f.name) for f in fields(Capacity)})
    db_path = ns.db or os.path.join(tempfile.mkdtemp(prefix="fleetchaos-backend-"), "backend.db")
    try:
        pool = DbPool(db_path, capacity.db_pool_size, capacity.sqlite_synchronous)
    except Exception as exc:  # sqlite3 errors name the problem; no traceback for a bad path
        print(f"fleetchaos backend: error: cannot open database {db_path}: {exc}", file=sys.stderr)
        return 2
    state = BackendState(pool=pool, capacity=capacity,
                         signer=TokenSigner(secrets.token_bytes(32), capacity.token_ttl_s),
                         admin_token=ns.admin_token or secrets.token_urlsafe(16),
                         admin_clients=ns.admin_from)
    state.car_tokens.update(pool.query("SELECT vin, car_token FROM vehicles"))
    ingest = None
    if ns.mqtt_url is not None:
        from fleetchaos.reference_backend.mqtt_ingest import MqttIngest

        ingest = MqttIngest(state, ns.mqtt_url, inflight=ns.mqtt_inflight, batch=ns.mqtt_batch,
                            username=ns.mqtt_username,
                            password=os.environ.get(BACKEND_PASSWORD_ENV) or None)
        state.mqtt = ingest.stats
        try:
            await ingest.start()
        except ConnectionError as exc:
            print(f"fleetchaos backend: error: {exc}", file=sys.stderr)
            pool.close()
            return 2

    report: StopReport | None = None

    async def stop_cars() -> None:
        nonlocal report
        report = StopReport(ns.stop_timeout_s)
        await stop_cars_and_writes(state, ingest, report)

    try:
        return await serve_until_signalled(
            build_app(state), ns.host, ns.port, name="fleetchaos backend",
            ready_info={"admin_token": state.admin_token, "db": db_path,
                        "mqtt_url": ns.mqtt_url}, on_stop=stop_cars,
            shutdown_timeout=handler_timeout(ns.stop_timeout_s))
    finally:
        if report is not None:
            report.step("handlers")
        wal = pool.close()  # checkpoint, then every connection: SQLite removes -wal and -shm
        if report is not None:
            report.step("checkpoint")
            log_stopped(report, wal)


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="backend %(levelname)s %(message)s")
    logging.getLogger("reference_backend").setLevel(logging.ERROR)
    try:
        import uvloop

        return uvloop.run(serve(ns))
    except ImportError:
        return asyncio.run(serve(ns))

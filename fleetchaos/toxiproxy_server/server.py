"""Run the API and the proxies in one asyncio loop (uvloop when installed) until signalled."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import resource
import sys
import time
from pathlib import Path
from typing import Any

from fleetchaos.common.serving import serve_until_signalled
from fleetchaos.toxiproxy_server.api import VERSION, Collection, build_app
from fleetchaos.toxiproxy_server.proxy import ApiError

EPILOG = """\
example: fleetchaos toxiproxy --host 127.0.0.1 --port 8474 --config proxies.json
The config file is a JSON array of proxies, as toxiproxy-server's -config takes
(extension: each proxy may carry a "toxics" array)."""


def port_number(text: str) -> int:
    """A TCP port, 0..65535 (argparse turns the ValueError into exit 2 with a message)."""
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range 0..65535")
    return port


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fleetchaos toxiproxy",
        description="The built-in Toxiproxy-compatible server (Toxiproxy 2.x HTTP API).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=8474,
                        help="API port (default 8474; 0 = free)")
    parser.add_argument("--config", type=Path, help="JSON array of proxies to create at start")
    parser.add_argument("--seed", type=int, help="seed every random draw (toxicity, jitter, ...)")
    parser.add_argument("--no-extensions", action="store_true",
                        help="behave exactly like Toxiproxy 2.x: no http_error, no /extensions,"
                             " no /metrics unless --proxy-metrics")
    parser.add_argument("--proxy-metrics", action="store_true",
                        help="serve GET /metrics (always served with extensions on)")
    return parser.parse_args(argv)


def load_config(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror}"
        raise SystemExit(f"fleetchaos toxiproxy: error: {msg}") from None
    except ValueError as exc:
        raise SystemExit(f"fleetchaos toxiproxy: error: {path}: not valid JSON: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
        raise SystemExit(f"fleetchaos toxiproxy: error: {path}: expected a JSON array of proxies")
    return data


async def serve(args: argparse.Namespace, config: list[dict[str, Any]]) -> int:
    collection = Collection(seed=args.seed, extensions=not args.no_extensions,
                            proxy_metrics=args.proxy_metrics)
    try:
        proxies, error = await collection.populate(config)
        if error is not None:
            raise error
        for i, (proxy, item) in enumerate(zip(proxies, config, strict=True), 1):
            toxics = item.get("toxics") or []
            if not isinstance(toxics, list):
                raise ApiError(400, f"toxics must be a JSON array at proxy {i}")
            for toxic in toxics:
                proxy.add_toxic(toxic, collection.extensions)
    except ApiError as exc:
        await collection.close()
        print(f"fleetchaos toxiproxy: error: {args.config}: {exc.message}", file=sys.stderr)
        return 2
    rc = await serve_until_signalled(build_app(collection), args.host, args.port,
                                     name="fleetchaos toxiproxy",
                                     ready_info={"version": VERSION}, on_stop=collection.close)
    if rc:
        await collection.close()
    return rc


class OneLinePerSecond(logging.Filter):
    """At most one line a second per logger, never a traceback: a server whose stderr may be
    a pipe must not write one per bad request (aiohttp logs each malformed HTTP request
    with its traceback; a full, unread pipe would freeze the server)."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, float] = {}
        self.suppressed: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self.last.get(record.name, -1e9) < 1.0:
            self.suppressed[record.name] = self.suppressed.get(record.name, 0) + 1
            return False
        self.last[record.name] = now
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            first = (str(exc).strip().splitlines() or [""])[0]
            message += f": {type(exc).__name__}: {first}"
        more = self.suppressed.pop(record.name, 0)
        if more:
            message += f" ({more} more since the last line)"
        record.msg, record.args = message[:500], ()
        record.exc_info = record.exc_text = None
        record.stack_info = None
        return True


def quiet_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(OneLinePerSecond())
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)


def raise_fd_limit() -> None:
    """Thousands of proxied connections need twice as many descriptors."""
    with contextlib.suppress(ValueError, OSError):
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_config(args.config) if args.config else []
    quiet_logging()
    raise_fd_limit()
    try:
        import uvloop

        return uvloop.run(serve(args, config))
    except ImportError:
        return asyncio.run(serve(args, config))

"""JSON error bodies and the one place unexpected failures become 500s.

A handler never decides to fail: when a pool or queue deadline passes the exception
travels up to ``error_middleware``, which answers 500 ``internal_error`` and counts it,
as a framework's default error handler would.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger("reference_backend")


class ApiError(web.HTTPException):
    """An answer with a status and the JSON error body, raised from anywhere in a handler."""

    def __init__(self, status: int, code: str, description: str) -> None:
        self.status_code = status
        super().__init__(text=json.dumps({"error": code, "error_description": description}),
                         content_type="application/json")


def api_error(status: int, code: str, description: str) -> web.HTTPException:
    return ApiError(status, code, description)


async def read_json(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise api_error(415, "unsupported_media_type", "send Content-Type: application/json")
    try:
        body = await request.json()
    except ValueError:
        raise api_error(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise api_error(400, "invalid_json", "the body must be a JSON object")
    return body


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_error_middleware(counter: Any) -> Any:
    @web.middleware
    async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.content_type != "application/json":
                exc = api_error(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
            counter[str(exc.status)] += 1
            raise exc from None
        except Exception as exc:
            log.warning("500 on %s %s: %s", request.method, request.path, exc)
            counter["500"] += 1
            return web.json_response(
                {"error": "internal_error", "error_description": "Internal Server Error"},
                status=500)
        counter[str(response.status)] += 1
        return response

    return error_middleware

"""JSON error bodies and the one place unexpected failures become 500s.

A handler never decides to fail: when a pool or queue deadline passes the exception
travels up to ``error_middleware``, which answers 500 ``internal_error`` and counts it,
as a framework's default error handler would. Malformed input never gets that far:
``validate.BadInput`` raised anywhere in a handler becomes its documented 4xx.

A client that disconnects before its request is answered (mid-body: reading the body
raises ``ConnectionResetError``) is no server error: nothing is answered, it is counted
apart (``client_aborts`` in /admin/stats, ``backend_client_aborts_total`` in /metrics),
never under ``responses_by_status``.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from fleetchaos.reference_backend.validate import BadInput, parse_object

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
    """The body as a JSON object, checked by ``validate.parse_object`` (depth, UTF-8, ...).

    Bodies past the app's ``client_max_size`` are refused by aiohttp with 413."""
    if request.content_type != "application/json":
        raise api_error(415, "unsupported_media_type", "send Content-Type: application/json")
    return parse_object(await request.read())


async def read_form(request: web.Request) -> dict[str, Any]:
    """An x-www-form-urlencoded body, strictly UTF-8 (aiohttp's own parser would replace
    or, for raw non-UTF-8 bytes, raise)."""
    try:
        text = (await request.read()).decode("utf-8")
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="utf-8",
                                           errors="strict", max_num_fields=100))
    except (UnicodeDecodeError, ValueError):
        raise api_error(400, "invalid_request", "the form is not valid UTF-8 "
                        "x-www-form-urlencoded (at most 100 fields)") from None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Counts(Protocol):
    """Where the middleware counts: answers by status, and clients gone before an answer."""

    responses: Counter[str]
    client_aborts: int


def client_gone(request: web.Request) -> bool:
    """The client's connection is closed: whatever we answer now reaches nobody."""
    transport = request.transport
    return transport is None or transport.is_closing()


def make_error_middleware(counts: Counts) -> Any:
    counter = counts.responses

    @web.middleware
    async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except BadInput as exc:
            counter[str(exc.status)] += 1
            raise api_error(exc.status, exc.code, exc.description) from None
        except web.HTTPException as exc:
            if exc.content_type != "application/json":
                exc = api_error(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
            counter[str(exc.status)] += 1
            raise exc from None
        except Exception as exc:
            if isinstance(exc, ConnectionError) and client_gone(request):
                counts.client_aborts += 1
                # Never sent (aiohttp ignores a write to a closed connection); 499 is nginx's
                # "client closed request", for anyone reading the object.
                return web.Response(status=499, reason="Client Closed Request")
            log.warning("500 on %s %s: %s", request.method, request.path, exc)
            counter["500"] += 1
            return web.json_response(
                {"error": "internal_error", "error_description": "Internal Server Error"},
                status=500)
        counter[str(response.status)] += 1
        return response

    return error_middleware

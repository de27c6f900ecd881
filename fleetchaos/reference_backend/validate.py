"""Input checks at the edge, before any request takes a pooled database connection.

Everything that reaches SQLite has passed through here, so an insert can only fail
for a reason of the database's own (a lock, a full disk), never because a car sent
``ts: NaN`` or ``seq: 2**64``: bad input costs no pool time and cannot leave a
transaction behind. Each check raises ``BadInput`` with the code and text of the
documented error body (docs/reference-backend-api.md).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 32          # JSON nesting accepted in any body or frame
MAX_INT64 = 2**63 - 1   # SQLite INTEGER range: seq and vehicle ids beyond it are refused
MAX_TS = 1e11           # unix seconds (year 5138): vehicle_data serves ts * 1000 as an integer
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_VEHICLE_ID = re.compile(r"[0-9]{1,19}")
# Built once: json.dumps(..., allow_nan=False) would build an encoder for every record.
_STRICT_JSON = json.JSONEncoder(allow_nan=False)


class BadInput(ValueError):
    """Malformed input: answered 4xx (HTTP) or with an error frame (WebSocket)."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status


def _reject_constant(name: str) -> Any:
    raise BadInput("invalid_json", f"{name} is not JSON")


def _depth_within(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return False
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return True


def parse_json(raw: bytes | str) -> Any:
    """Parse a body or frame: UTF-8, standard JSON (no NaN/Infinity), at most MAX_DEPTH
    levels deep, no lone surrogate escapes (SQLite cannot bind them as text)."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("invalid_json", "the body is not UTF-8") from None
    else:
        text = raw
    too_deep = BadInput("invalid_json", f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise too_deep from None
    except BadInput:
        raise
    except ValueError:
        raise BadInput("invalid_json", "the body is not valid JSON") from None
    # Counting brackets is C-speed and bounds the depth from above; walk only when it may be deep.
    if (text.count("[") + text.count("{") > MAX_DEPTH
            and isinstance(value, dict | list) and not _depth_within(value, MAX_DEPTH)):
        raise too_deep
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput("invalid_json", "the JSON holds a lone surrogate (\\ud800-\\udfff)"
                           ) from None
    return value


def parse_object(raw: bytes | str) -> dict[str, Any]:
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise BadInput("invalid_json", "the body must be a JSON object")
    return value


def vehicle_id(raw: str) -> int | None:
    """The numeric vehicle id of a path, or None when no vehicle can have it (404)."""
    if not _VEHICLE_ID.fullmatch(raw):  # ASCII digits only: '²'.isdigit() is True
        return None
    vid = int(raw)
    return vid if vid <= MAX_INT64 else None


def text_field(body: dict[str, Any], key: str) -> str | None:
    """A string field that SQLite can bind (forms may carry lone surrogates too)."""
    value = body.get(key)
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("invalid_request", f"{key} is not valid UTF-8 text") from None
    return value


@dataclass(frozen=True, slots=True)
class Record:
    """A telemetry record that can be stored: every value already in its column's type."""

    seq: int
    ts: float
    is_resend: bool
    fields: dict[str, Any]
    body: str  # the fields as JSON text


def telemetry_record(msg: Any) -> Record:
    """Check one record ``{seq, ts, is_resend, fields}``; raises BadInput naming the field."""
    if not isinstance(msg, dict):
        raise BadInput("invalid_record", "a telemetry record must be a JSON object")
    seq = msg.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_INT64:
        raise BadInput("invalid_record", f"seq must be an integer from 0 to {MAX_INT64}")
    ts_raw = msg.get("ts")
    if isinstance(ts_raw, bool) or not isinstance(ts_raw, int | float | None):
        raise BadInput("invalid_record", "ts must be a number (unix seconds)")
    if not ts_raw:
        ts = time.time()  # no timestamp from the car (null or 0): the time it arrived
    elif not 0 < ts_raw <= MAX_TS:  # also refuses NaN; 1e308 would overflow ts * 1000 later
        raise BadInput("invalid_record", f"ts must be unix seconds from 0 to {MAX_TS:.0e}")
    else:
        ts = float(ts_raw)
    is_resend = msg.get("is_resend")
    if is_resend is not None and not isinstance(is_resend, bool):
        raise BadInput("invalid_record", "is_resend must be true or false")
    fields = msg.get("fields")
    if fields is None:
        fields = {}
    elif not isinstance(fields, dict):
        raise BadInput("invalid_record", "fields must be a JSON object")
    try:  # the stored text is standard JSON: 1e400 parsed to inf is refused here, for free
        body = _STRICT_JSON.encode(fields)
    except ValueError:
        raise BadInput("invalid_record", "fields hold a number too large for a double") from None
    return Record(seq, ts, bool(is_resend), fields, body)


def telemetry_batch(body: Any) -> list[Record]:
    """A batch ``{"records": [...]}``: all records valid, or none is stored."""
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        raise BadInput("invalid_records", "the body must be {\"records\": [records]}")
    out = []
    for i, rec in enumerate(records):
        try:
            out.append(telemetry_record(rec))
        except BadInput as exc:
            raise BadInput("invalid_records", f"records[{i}]: {exc.description}") from None
    return out

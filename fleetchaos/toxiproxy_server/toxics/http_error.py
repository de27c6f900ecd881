"""http_error (extension, not in Toxiproxy 2.x): answers a ``share`` of HTTP/1.1 requests
itself, drawn per request, with ``status`` (default 500), ``body`` and ``headers``;
only requests matching ``method`` (empty: any) and ``path`` (a glob; empty: any).

Toxiproxy's toxicity is drawn per connection, so a kept-alive client is either always
or never hit; real 500 storms hit some requests on every connection. This toxic works on
the upstream stream: it parses request framing (Content-Length and chunked bodies),
forwards untouched every request it does not answer, and swallows the body of every
request it does answer, so the keep-alive connection stays in step. Clients that
pipeline requests may see an injected answer before earlier upstream answers.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from http import HTTPStatus
from typing import Any

from fleetchaos.toxiproxy_server.stage import Stage, Stub
from fleetchaos.toxiproxy_server.toxics.base import Toxic, ToxicError, register

MAX_HEAD = 64 * 1024


@register
class HttpErrorToxic(Toxic):
    type_name = "http_error"
    extension = True
    defaults = {"status": 500, "share": 1.0}
    units = {"status": "HTTP status code", "share": "share of requests, 0..1"}
    injected = 0  # requests this toxic answered itself (shown as "injected" in its JSON)
    matched = 0  # requests it saw that matched method and path, answered or not ("matched")

    def to_json(self) -> dict[str, Any]:
        # Extension fields: the scenario engine reads them to tell a fault that touched
        # nothing (aimed at a path the backend does not have) from one that did, and the
        # share it delivered (injected / matched) from the share it was asked for.
        return {**super().to_json(), "injected": self.injected, "matched": self.matched}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        out = dict(attrs)
        for key in self.defaults:
            value = out.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value < 0:
                raise ToxicError(f"attribute {key!r} of http_error must be a number >= 0")
        if not 100 <= out["status"] <= 599 or out["status"] != int(out["status"]):
            raise ToxicError("attribute 'status' of http_error must be 100..599")
        if out["share"] > 1:
            raise ToxicError("attribute 'share' of http_error must be between 0 and 1")
        for key in ("method", "path", "body"):
            if not isinstance(out.setdefault(key, ""), str):
                raise ToxicError(f"attribute {key!r} of http_error must be a string")
        headers = out.setdefault("headers", {})
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and "\n" not in k + v
            for k, v in headers.items()
        ):
            raise ToxicError("attribute 'headers' of http_error must map strings to strings")
        return out

    def response(self) -> bytes:
        """The injected answer; called once per injected request, so it also counts it
        (``injected``, read by the scenario engine to tell a fault that touched nothing)."""
        self.injected += 1
        status = int(self.attributes["status"])
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        body = self.attributes["body"] or json.dumps(
            {"error": "injected by fleetchaos http_error toxic", "status": status}
        )
        raw = body.encode()
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(raw)}",
                 "Connection: keep-alive"]
        headers = dict(self.attributes["headers"])
        headers.setdefault("Content-Type", "application/json")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw

    def matches(self, method: str, path: str) -> bool:
        want_method = self.attributes["method"]
        want_path = self.attributes["path"]
        if want_method and want_method.upper() != method.upper():
            return False
        return not want_path or fnmatch.fnmatchcase(path.split("?", 1)[0], want_path)



BODY_HEADER = re.compile(rb"\r\n(content-length|transfer-encoding)[ \t]*:[ \t]*([^\r]*)")


class HttpErrorStage(Stage):
    """Parses request framing as it passes; answers the drawn requests itself.

    Works on positions in the chunk: forwarded bytes are a run of it, passed on as one
    slice (the chunk itself when every byte of it goes on, the common case: no copy).
    The parser's state lives on the stage, in locals while a chunk is parsed: this runs
    for every request of a chaos run, so it is kept to a few C-level calls per request."""

    def __init__(self, toxic: Toxic, stub: Stub, at_start: bool) -> None:
        super().__init__(toxic, stub, at_start)
        self.mode = "head"  # head, body, chunk_size, chunk_data, trailer, raw
        self.left = 0  # bytes left in a body or a chunk (with its CRLF)
        self.forward = True  # the current request goes upstream (not answered here)
        self.buf = b""  # an incomplete head

    def push(self, stamp: float, data: bytes) -> None:
        toxic: HttpErrorToxic = self.toxic  # type: ignore[assignment]  # its new_stage made us
        attrs = toxic.attributes
        share = attrs["share"]
        filtered = bool(attrs["method"] or attrs["path"])
        buf = self.buf + data if self.buf else data
        self.buf = b""
        mode, left, forward = self.mode, self.left, self.forward
        n = len(buf)
        pos = run = 0  # buf[run:pos] is forwarded and not yet passed on
        while pos < n:
            if mode == "head":
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    if n - pos > MAX_HEAD:  # not HTTP we understand: stop interfering
                        mode = "raw"
                        continue
                    break
                inject = not filtered or toxic.matches(*_request_line(buf, pos))
                if inject:
                    toxic.matched += 1
                    inject = share > 0 and self.stub.rng.random() < share
                if inject:
                    if pos > run:
                        self.stub.emit(stamp, buf[run:pos])
                    self.stub.reply(toxic.response())
                    run = end + 4
                forward = not inject
                length, chunked = _body_framing(buf, pos, end)
                pos = end + 4
                if chunked:
                    mode = "chunk_size"
                elif length:
                    mode, left = "body", length
            elif mode == "body" or mode == "chunk_data":
                take = min(left, n - pos)
                pos += take
                if not forward:
                    run = pos
                left -= take
                if left == 0:
                    mode = "head" if mode == "body" else "chunk_size"
            elif mode == "chunk_size" or mode == "trailer":
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    break
                line = buf[pos:end]
                pos = end + 2
                if not forward:
                    run = pos
                if mode == "trailer":
                    if not line:
                        mode = "head"
                    continue
                try:
                    size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                    if size < 0:
                        raise ValueError(size)
                except ValueError:  # not chunked framing we understand: stop interfering
                    mode = "raw"
                    continue
                mode = "chunk_data" if size else "trailer"
                left = size + 2  # data + CRLF
            else:  # raw
                pos = n
        self.mode, self.left, self.forward = mode, left, forward
        if pos < n:
            self.buf = buf[pos:]
        if pos > run:
            self.stub.emit(stamp, buf if run == 0 and pos == n else buf[run:pos])


def _request_line(buf: bytes, start: int) -> tuple[str, str]:
    """Method and path of the request whose head starts at ``start``."""
    parts = buf[start:buf.find(b"\r\n", start)].split(b" ", 2)
    return parts[0].decode("latin-1"), (parts[1].decode("latin-1") if len(parts) > 1 else "")


def _body_framing(buf: bytes, start: int, end: int) -> tuple[int, bool]:
    """Content-Length and chunked-ness of the head ``buf[start:end]`` (first of each).
    Most requests have neither: two finds in the lower-cased head tell, before any regex."""
    head = buf[start:end + 2].lower()
    has_length = head.find(b"\r\ncontent-length") >= 0
    has_encoding = head.find(b"\r\ntransfer-encoding") >= 0
    if not has_length and not has_encoding:
        return 0, False
    length, chunked = 0, False
    for match in BODY_HEADER.finditer(head):
        name, value = match.group(1), match.group(2).strip()
        if name == b"content-length":
            if value.isdigit() and len(value) < 19:
                length = int(value)
        elif b"chunked" in value:
            chunked = True
    return length, chunked


HttpErrorToxic.stage = HttpErrorStage

"""One HTTP/1.1 exchange over a plain socket, the answer kept as bytes (status line,
headers in the order sent, body), so tests see exactly what a server wrote."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Answer:
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line.split(" ")[1])

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def names(self) -> list[str]:
        return [key for key, _ in self.headers]


def exchange(url: str, method: str, path: str, body: bytes = b"",
             headers: dict[str, str] | None = None, timeout: float = 30.0) -> Answer:
    """Send one request with ``Connection: close`` and read the whole answer."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    fields = {"User-Agent": "fleetchaos-tests/1", **(headers or {})}
    if body or method in ("POST", "PATCH", "PUT"):
        fields["Content-Length"] = str(len(body))
    fields["Connection"] = "close"
    lines += [f"{k}: {v}" for k, v in fields.items()]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    pairs = [tuple(line.split(": ", 1)) for line in header_lines]
    return Answer(status_line, [(k, v) for k, v in pairs], rest)


XID = re.compile("[0-9a-v]{20}")

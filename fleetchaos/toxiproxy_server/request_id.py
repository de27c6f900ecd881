"""``X-Toxiproxy-Request-Id`` values shaped as Toxiproxy's: zerolog's hlog.RequestIDHandler
gives each request an xid (github.com/rs/xid): 12 bytes (4 of Unix time, 3 of machine
id, 2 of process id, 3 of a counter from a random start), written as 20 lower-case
base32hex characters, e.g. ``dc9o87pksdua0ojain0g``. Sortable by time, unique per process."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import socket
import time

_MACHINE = hashlib.md5(socket.gethostname().encode(), usedforsecurity=False).digest()[:3]
_PID = (os.getpid() & 0xFFFF).to_bytes(2, "big")
_COUNTER = itertools.count(int.from_bytes(os.urandom(3), "big"))


def new_request_id() -> str:
    raw = (int(time.time()) & 0xFFFFFFFF).to_bytes(4, "big") + _MACHINE + _PID \
        + (next(_COUNTER) & 0xFFFFFF).to_bytes(3, "big")
    return base64.b32hexencode(raw).decode("ascii").rstrip("=").lower()

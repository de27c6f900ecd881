"""Is a port option usable? One check for every port a fleetchaos command listens on.

``fleetchaos run/demo/ui --metrics-port``, ``fleetchaos ui --web-port`` and a plain
``locust -f locustfile.py --web-port/--metrics-port`` ask here before anything starts,
so a port that is out of range or already taken is one line and exit code 2 (no
"web UI: http://127.0.0.1:N/" pointing at someone else's server, no gevent traceback).
The servers run alone (``fleetchaos toxiproxy/backend --port``) find out by binding, the
same answer (``serving.serve_until_signalled``).
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def bind_problem(port: int, host: str = LOOPBACK) -> str | None:
    """Why ``host:port`` cannot be listened on right now (None: it can).

    Asked before anything starts; the bind itself (the answer could change) has the last
    word. SO_REUSEADDR as gevent's and aiohttp's listeners set it, so a port in TIME_WAIT
    is not refused. ``host`` "" binds every interface (Locust's ``--web-host '*'``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(1)
        except OSError as exc:
            where = f"{host or '*'}:{port}" if ":" not in host else f"[{host}]:{port}"
            return f"cannot listen on {where}: {exc.strerror or exc}"
    return None


MAX_PORT = 65535
NOT_A_PORT = f"not a TCP port (0..{MAX_PORT}; 0 picks a free one)"


def out_of_range(port: int) -> bool:
    """The one range check of a port (the declared port options use it too)."""
    return not 0 <= port <= MAX_PORT


def port_problem(option: str, port: int, *, host: str = LOOPBACK,
                 zero: str = "0 picks a free one") -> str | None:
    """The one-line refusal of ``option PORT`` (out of range, or taken), or None.

    Port 0 is never taken (the kernel picks a free port when the server binds)."""
    if out_of_range(port):
        return f"{option} {port}: not a TCP port (0..{MAX_PORT}; {zero})"
    if port == 0:
        return None
    problem = bind_problem(port, host)
    return None if problem is None else f"{option} {port}: {problem}"

"""The loopback guard: load and faults go only to this machine unless the user says otherwise.

A chaos harness pointed at the wrong host is an outage. Every target (backend URL,
Toxiproxy URL, proxy upstream) is checked here; anything outside 127.0.0.0/8 and ::1
is refused unless the user passes the explicit allow flag (``--allow-remote``).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class TargetNotAllowed(ValueError):
    """A target outside loopback was given without the explicit allow flag."""


def is_loopback_host(host: str) -> bool:
    """True when every address ``host`` resolves to is loopback (names are resolved)."""
    host = host.strip("[]")
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    addrs = {str(info[4][0]) for info in infos}
    return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)


def host_of(target: str) -> str:
    """The host part of a URL (``http://h:p/x``) or an address (``h:p``)."""
    if "://" in target:
        return urlsplit(target).hostname or ""
    if target.startswith("["):
        return target[1 : target.index("]")] if "]" in target else target
    return target.rsplit(":", 1)[0] if target.count(":") == 1 else target


def check_loopback(target: str, *, what: str, allow_remote: bool = False) -> None:
    """Raise TargetNotAllowed naming ``what`` unless target is loopback or allow_remote is set."""
    if allow_remote:
        return
    host = host_of(target)
    if not is_loopback_host(host):
        raise TargetNotAllowed(
            f"{what} {target!r} is not on loopback (127.0.0.0/8 or ::1); "
            "fleetchaos sends load and faults only to this machine unless you pass --allow-remote"
        )

"""The loopback guard: load and faults go only to this machine unless the user says otherwise.

A chaos harness pointed at the wrong host is an outage. Every target (backend URL,
Toxiproxy URL, proxy upstream, the master's bind address, what a worker is told to
load) is checked here; anything outside 127.0.0.0/8 and ::1 is refused unless the user
names exactly that address (``--allow-host 10.0.0.5``, several separated by commas) or
allows every address (``--allow-remote``). ``--allow-host`` matches the host as written:
an IP address equals the same address however it is spelled (``::1`` and
``0:0:0:0:0:0:0:1``), a name only the same name (case aside), never what it resolves to,
so a name that later resolves elsewhere is not let through by an address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
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


def parse_hosts(text: str | None) -> tuple[str, ...]:
    """``--allow-host``'s value: addresses or names separated by commas."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _normal(host: str) -> str:
    host = host.strip().strip("[]").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.rstrip(".")


def host_allowed(host: str, allowed: Collection[str]) -> bool:
    """Whether ``host`` is one of the ``--allow-host`` entries, exactly (see the docstring)."""
    return bool(host) and _normal(host) in {_normal(a) for a in allowed}


def check_loopback(target: str, *, what: str, allow_remote: bool = False,
                   allowed_hosts: Collection[str] = ()) -> None:
    """Raise TargetNotAllowed naming ``what`` unless target is loopback, is one of
    ``allowed_hosts`` exactly, or allow_remote is set."""
    if allow_remote:
        return
    host = host_of(target)
    if not is_loopback_host(host) and not host_allowed(host, allowed_hosts):
        shown = f"[{host}]" if ":" in host else host
        raise TargetNotAllowed(
            f"{what} {target!r} is not on loopback (127.0.0.0/8 or ::1); "
            "fleetchaos sends load and faults only to this machine unless you allow exactly "
            f"that address (--allow-host {shown}) or every address (--allow-remote)"
        )

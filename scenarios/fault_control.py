"""The one place that talks to Toxiproxy, through toxiproxy-python.

Everything the harness creates carries the run marker ``fc-<run_id>-`` in its name,
so a later run (or the orchestrator's final sweep) can find and remove what a killed
run left behind. A run id names its owner, ``<hex8>.<pid>.<host>`` (the process whose
death ends the run, and the machine it runs on): a later run removes only the leftovers
of runs whose owner is gone from this machine, never those of a live run or of a run on
another machine.

Works against a real Toxiproxy 2.x; the built-in server's extensions are detected
with GET /extensions (404 on a real Toxiproxy). toxiproxy-python keeps the server's
address on its ``APIConsumer`` class, one for the whole process; each ``FaultControl``
talks through a subclass of its own, so several servers (``fault_servers.FaultServers``)
can be driven at once.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists
from toxiproxy.utils import can_connect_to

from fleetchaos.common.loopback import is_loopback_host
from fleetchaos.scenarios.steps.base import ProxyCounters

PREFIX = "fc-"
CALL_TIMEOUT_S = 10.0  # a fault call that takes longer is a failed step, not a hung run


def marker(run_id: str) -> str:
    return f"{PREFIX}{run_id}-"


def host_tag(hostname: str | None = None) -> str:
    """This machine's name as it appears in run ids: lower-case letters and digits only."""
    tag = re.sub(r"[^a-z0-9]", "", (hostname or socket.gethostname()).lower())[:16]
    return tag or "host"


def new_run_id(pid: int | None = None) -> str:
    """``<hex8>.<pid>.<host>``: unique, and says which process on which machine owns the run."""
    return f"{uuid.uuid4().hex[:8]}.{os.getpid() if pid is None else pid}.{host_tag()}"


_OWNED = re.compile(r"^fc-([0-9a-f]{8})\.(\d+)\.([a-z0-9]+)-")


@dataclass(frozen=True)
class Owner:
    """Who a marked name belongs to: the run id and, when it says so, its owner process."""

    run_id: str
    pid: int
    host: str

    def alive(self) -> bool | None:
        """True/False for a run of this machine; None when it cannot be told (another machine)."""
        if self.host != host_tag():
            return None
        return _pid_alive(self.pid)


def owner_of(name: str) -> Owner | None:
    """The run a marked proxy or toxic name belongs to (None for names we did not create)."""
    m = _OWNED.match(name)
    if m is None:
        return None
    return Owner(f"{m.group(1)}.{m.group(2)}.{m.group(3)}", int(m.group(2)), m.group(3))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:  # a zombie has exited; only its parent has not reaped it yet
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


@dataclass
class Sweep:
    """What a start-of-run sweep removed, and what it left because its run may be alive."""

    removed: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # run id -> why it was kept


class FaultError(RuntimeError):
    pass


class FaultControl:
    """One Toxiproxy server, through toxiproxy-python."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        self.url = url
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 8474
        # toxiproxy-python's consumer keeps one address per class: a subclass per server
        self.api: Any = type("ServerAPI", (APIConsumer,), {"host": self.host, "port": self.port})

    def reachable(self) -> bool:
        return bool(can_connect_to(self.host, self.port))

    def extensions(self) -> set[str]:
        """Extensions the server offers; a real Toxiproxy answers 404 and offers none."""
        try:
            resp = self.api.get("/extensions", timeout=CALL_TIMEOUT_S)
        except NotFound:
            return set()
        if resp.status_code != 200:
            return set()
        return set(resp.json().get("extensions", []))

    # --- proxies ------------------------------------------------------------------------
    def proxies(self) -> dict[str, dict[str, Any]]:
        """Every proxy on the server by name (Toxiproxy's JSON: listen, upstream, toxics)."""
        resp = self._call("get", "/proxies", "list proxies")
        found = resp.json()
        return found if isinstance(found, dict) else {}

    def listen_host(self) -> str:
        """Where a new proxy listens: loopback for a server on loopback; otherwise the
        address the server is reached at (the fleet's workers reach its proxies there too),
        or every interface when that address is a name rather than an IP address."""
        if is_loopback_host(self.host):
            return "127.0.0.1"
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return "0.0.0.0"
        return f"[{self.host}]" if ":" in self.host else self.host

    def create_proxy(self, name: str, upstream: str, listen: str | None = None) -> str:
        """Create (or replace) a proxy listening on ``listen`` (default: a free port on
        ``listen_host()``); return where to reach it (host:port: a proxy listening on every
        interface is reached at the server's host)."""
        if name in self.proxies():
            self.delete_proxy(name)
        resp = self._call("post", "/proxies", f"create proxy {name}",
                          json={"name": name, "upstream": upstream,
                                "listen": listen or f"{self.listen_host()}:0"})
        listen = str(resp.json()["listen"])
        host, _, port = listen.rpartition(":")
        if host.strip("[]") in ("0.0.0.0", "::", ""):
            host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{port}"

    def set_enabled(self, name: str, enabled: bool) -> None:
        self._call("post", f"/proxies/{name}", f"{'enable' if enabled else 'disable'} proxy "
                   f"{name}", json={"enabled": enabled})

    def delete_proxy(self, name: str) -> None:
        self._call("delete", f"/proxies/{name}", f"delete proxy {name}", missing_ok=True)

    # --- toxics -------------------------------------------------------------------------
    def add_toxic(self, proxy: str, name: str, toxic_type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, Any] | None = None) -> None:
        """One POST (no lookup first: a fault goes on as soon as the call returns)."""
        self._call("post", f"/proxies/{proxy}/toxics", f"add toxic {name} to {proxy}",
                   json={"name": name, "type": toxic_type, "stream": stream,
                         "toxicity": toxicity, "attributes": attributes or {}})

    def update_toxic(self, proxy: str, name: str, attributes: dict[str, Any]) -> None:
        self._call("post", f"/proxies/{proxy}/toxics/{name}", f"update toxic {name}",
                   json={"attributes": attributes})

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Delete a toxic; one that is already gone (or whose proxy is) counts as removed."""
        self._call("delete", f"/proxies/{proxy}/toxics/{name}",
                   f"remove toxic {name} from {proxy}", missing_ok=True)

    def _call(self, method: str, path: str, what: str, *, missing_ok: bool = False,
              **kwargs: Any) -> Any:
        """A Toxiproxy API call through toxiproxy-python that fails loudly: any answer but
        2xx raises FaultError with Toxiproxy's error text (toxiproxy-python lets a 500
        through silently), and nothing waits longer than CALL_TIMEOUT_S for a hung server.
        ``missing_ok``: a 404 (already gone) is no error."""
        try:
            resp = getattr(self.api, method)(path, timeout=CALL_TIMEOUT_S, **kwargs)
        except NotFound as exc:
            if missing_ok:
                return None
            raise FaultError(f"{what}: not on the Toxiproxy server at {self.url} "
                             f"({_error_text(exc.args)})") from None
        except (InvalidToxic, ProxyExists) as exc:
            raise FaultError(f"{what}: Toxiproxy refused it: {_error_text(exc.args)}") from None
        except requests.RequestException as exc:
            raise FaultError(f"{what}: Toxiproxy at {self.url} did not answer: {exc}") from None
        if not 200 <= resp.status_code < 300:
            raise FaultError(f"{what}: Toxiproxy answered {resp.status_code}: "
                             f"{_error_text((resp.content,))}")
        return resp

    def toxic_counter(self, proxy: str, name: str, counter: str) -> int | None:
        """An extension counter the built-in server adds to a toxic's JSON (``injected`` of
        http_error); None when the server does not keep it (a real Toxiproxy)."""
        try:
            resp = self.api.get(f"/proxies/{proxy}/toxics/{name}", timeout=CALL_TIMEOUT_S)
        except NotFound:
            return None
        value = resp.json().get(counter) if resp.status_code == 200 else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def proxy_counters(self, proxy: str) -> ProxyCounters | None:
        """Connections of one proxy from the server's Prometheus /metrics (the built-in
        server keeps them); None when the server has no such metrics."""
        try:
            resp = self.api.get("/metrics", timeout=CALL_TIMEOUT_S)
        except NotFound:
            return None
        if resp.status_code != 200:
            return None
        found: dict[str, int] = {}
        for line in resp.text.splitlines():
            for metric in ("toxiproxy_proxy_connections_total", "toxiproxy_proxy_live_connections"):
                if line.startswith(f'{metric}{{proxy="{proxy}"}} '):
                    with contextlib.suppress(ValueError):
                        found[metric] = int(float(line.rsplit(" ", 1)[1]))
        if len(found) < 2:
            return None
        return ProxyCounters(connections_total=found["toxiproxy_proxy_connections_total"],
                             live=found["toxiproxy_proxy_live_connections"])

    def toxics(self) -> list[tuple[str, str]]:
        """(proxy, toxic) for every toxic on the server."""
        out = []
        for pname, proxy in self.proxies().items():
            out += [(pname, str(t.get("name"))) for t in proxy.get("toxics") or []
                    if isinstance(t, dict)]
        return out

    # --- leftovers ----------------------------------------------------------------------
    def marked(self, run_id: str | None = None) -> list[str]:
        """Names of every marked proxy and toxic (of one run, or of any run)."""
        prefix = marker(run_id) if run_id else PREFIX
        names = [f"{p}/{t}" for p, t in self.toxics() if t.startswith(prefix)]
        names += [p for p in self.proxies() if p.startswith(prefix)]
        return names

    def remove_leftovers(self, run_id: str | None = None,
                         keep_run: str | None = None) -> list[str]:
        """Remove one run's marked toxics and proxies (``run_id``), or, without it, the
        leftovers of dead runs only (never ``keep_run``'s, never a live run's)."""
        if run_id is not None:
            return self._remove(lambda name: name.startswith(marker(run_id)))
        return self.sweep_dead(keep_run=keep_run).removed

    def sweep_dead(self, keep_run: str | None = None) -> Sweep:
        """Remove what runs whose owner process is gone left behind; say what was kept."""
        sweep = Sweep()
        verdicts: dict[str, bool] = {}

        def dead(name: str) -> bool:
            owner = owner_of(name)
            if owner is None or owner.run_id == keep_run:
                return False
            if owner.run_id not in verdicts:
                alive = owner.alive()
                verdicts[owner.run_id] = alive is False
                if alive is None:
                    sweep.kept[owner.run_id] = f"run of another machine ({owner.host})"
                elif alive:
                    sweep.kept[owner.run_id] = f"run in progress (pid {owner.pid})"
            return verdicts[owner.run_id]

        sweep.removed = self._remove(dead)
        return sweep

    def _remove(self, wanted: Callable[[str], bool]) -> list[str]:
        removed = []
        for pname, tname in self.toxics():
            if wanted(tname):
                self.remove_toxic(pname, tname)
                removed.append(f"{pname}/{tname}")
        for pname in list(self.proxies()):
            if wanted(pname):
                self.delete_proxy(pname)
                removed.append(pname)
        return removed


def _error_text(args: tuple[Any, ...]) -> str:
    """Toxiproxy's ``{"error": ...}`` text from an answer body, else the body itself."""
    raw = args[0] if args else b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:200]
    return str(data.get("error", data))[:200] if isinstance(data, dict) else text[:200]

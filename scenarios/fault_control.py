"""The one place that talks to Toxiproxy, through toxiproxy-python.

Everything the harness creates carries the run marker ``fc-<run_id>-`` in its name,
so a later run (or the orchestrator's final sweep) can find and remove what a killed
run left behind. Works against a real Toxiproxy 2.x; the built-in server's extensions
are detected with GET /extensions (404 on a real Toxiproxy).
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlsplit

from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import NotFound
from toxiproxy.server import Toxiproxy

PREFIX = "fc-"


def marker(run_id: str) -> str:
    return f"{PREFIX}{run_id}-"


class FaultError(RuntimeError):
    pass


class FaultControl:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        self.url = url
        self.server = Toxiproxy()
        self.server.update_api_consumer(parts.hostname or "127.0.0.1", parts.port or 8474)

    def reachable(self) -> bool:
        return bool(self.server.running())

    def extensions(self) -> set[str]:
        """Extensions the server offers; a real Toxiproxy answers 404 and offers none."""
        try:
            resp = APIConsumer.get("/extensions")
        except NotFound:
            return set()
        if resp.status_code != 200:
            return set()
        return set(resp.json().get("extensions", []))

    # --- proxies ------------------------------------------------------------------------
    def create_proxy(self, name: str, upstream: str) -> str:
        """Create (or replace) a proxy listening on a free loopback port; return its listen."""
        existing = self.server.get_proxy(name)
        if existing is not None:
            existing.destroy()
        proxy = self.server.create(upstream=upstream, name=name, listen="127.0.0.1:0")
        return str(proxy.listen)

    def set_enabled(self, name: str, enabled: bool) -> None:
        self._proxy(name).enable() if enabled else self._proxy(name).disable()

    def delete_proxy(self, name: str) -> None:
        proxy = self.server.get_proxy(name)
        if proxy is not None:
            proxy.destroy()

    def _proxy(self, name: str) -> Any:
        proxy = self.server.get_proxy(name)
        if proxy is None:
            raise FaultError(f"proxy {name!r} is not on the Toxiproxy server at {self.url}")
        return proxy

    # --- toxics -------------------------------------------------------------------------
    def add_toxic(self, proxy: str, name: str, toxic_type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, Any] | None = None) -> None:
        self._proxy(proxy).add_toxic(name=name, type=toxic_type, stream=stream,
                                     toxicity=toxicity, attributes=attributes or {})

    def update_toxic(self, proxy: str, name: str, attributes: dict[str, Any]) -> None:
        APIConsumer.post(f"/proxies/{proxy}/toxics/{name}", json={"attributes": attributes})

    def remove_toxic(self, proxy: str, name: str) -> None:
        with contextlib.suppress(NotFound):
            self._proxy(proxy).destroy_toxic(name)

    def toxics(self) -> list[tuple[str, str]]:
        """(proxy, toxic) for every toxic on the server."""
        out = []
        for pname, proxy in self.server.proxies().items():
            out += [(pname, t) for t in proxy.toxics()]
        return out

    # --- leftovers ----------------------------------------------------------------------
    def marked(self, run_id: str | None = None) -> list[str]:
        """Names of every marked proxy and toxic (of one run, or of any run)."""
        prefix = marker(run_id) if run_id else PREFIX
        names = [f"{p}/{t}" for p, t in self.toxics() if t.startswith(prefix)]
        names += [p for p in self.server.proxies() if p.startswith(prefix)]
        return names

    def remove_leftovers(self, run_id: str | None = None,
                         keep_run: str | None = None) -> list[str]:
        """Remove marked toxics and proxies (one run's, or every run's but ``keep_run``)."""
        prefix = marker(run_id) if run_id else PREFIX
        keep = marker(keep_run) if keep_run else None
        removed = []
        for pname, tname in self.toxics():
            if tname.startswith(prefix) and not (keep and tname.startswith(keep)):
                self.remove_toxic(pname, tname)
                removed.append(f"{pname}/{tname}")
        for pname in list(self.server.proxies()):
            if pname.startswith(prefix) and not (keep and pname.startswith(keep)):
                self.delete_proxy(pname)
                removed.append(pname)
        return removed

"""pytest plugin: Toxiproxy faults as context managers, and whole fleetchaos runs, in your tests.

Registered through the ``pytest11`` entry point, so installing fleetchaos is enough.
Fixtures:

``toxiproxy``
    A handle on a Toxiproxy server: the one at ``TOXIPROXY_URL`` when set, otherwise the
    built-in server started once per session on a free loopback port. Proxies created
    through it are removed when the test ends, pass or fail::

        api = toxiproxy.proxy("api", upstream="127.0.0.1:8080")
        with api.latency(800, jitter=50):
            ...  # talk to f"http://{api.listen}"

    Faults (``latency``, ``down``, ``timeout``, ``bandwidth``, ``http_error``, ``toxic``)
    are applied on entering the ``with`` block and always undone on leaving it.
    ``http_error`` is the built-in server's extension: against a server without it
    (a real Toxiproxy) it raises :class:`ExtensionMissing` with a clear message.

``fleetchaos_run``
    Runs a scenario (built-in name, or a YAML path; relative paths also tried beside
    the test file) like ``fleetchaos run`` and returns its :class:`fleetchaos.Summary`.

Everything goes through toxiproxy-python (wrapped by ``fleetchaos.scenarios.fault_control``);
proxy names carry a run marker naming this pytest process, so if pytest itself is killed
the next fleetchaos run on the same server removes what it left.
"""

from __future__ import annotations

import contextlib
import os
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fleetchaos.common.errors import FleetchaosError, UsageError

if TYPE_CHECKING:
    from fleetchaos.api import Summary
    from fleetchaos.scenarios.fault_control import FaultControl

__all__ = ["ExtensionMissing", "Fault", "Proxy", "Toxiproxy"]


class ExtensionMissing(FleetchaosError):
    """A fault needs a built-in server extension the Toxiproxy in use does not have."""


class Fault:
    """One fault on one proxy: applied by ``__enter__``, undone by ``__exit__`` (always)."""

    def __init__(self, proxy: Proxy, label: str, apply: Callable[[], None],
                 undo: Callable[[], None]) -> None:
        self.proxy = proxy
        self.label = label
        self._apply = apply
        self._undo = undo
        self.active = False

    def __repr__(self) -> str:
        return f"<Fault {self.label} on {self.proxy.name} {'on' if self.active else 'off'}>"

    def __enter__(self) -> Fault:
        self._apply()
        self.active = True
        self.proxy._active.append(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: types.TracebackType | None) -> None:
        self.undo()

    def undo(self) -> None:
        """Remove the fault now (idempotent; a proxy already gone counts as undone)."""
        if not self.active:
            return
        self.active = False
        with contextlib.suppress(ValueError):
            self.proxy._active.remove(self)
        self._undo()


class Proxy:
    """A proxy on the server: listens on ``listen`` (``host:port``), forwards to ``upstream``."""

    def __init__(self, owner: Toxiproxy, name: str, server_name: str, listen: str,
                 upstream: str) -> None:
        self._owner = owner
        self.name = name  # as the test named it
        self.server_name = server_name  # as the server knows it (carries the run marker)
        self.listen = listen
        self.upstream = upstream
        self._active: list[Fault] = []
        self._count = 0

    def __repr__(self) -> str:
        return f"<Proxy {self.name} {self.listen} -> {self.upstream}>"

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def url(self) -> str:
        """``http://host:port`` of the listening side, for HTTP upstreams."""
        return f"http://{self.listen}"

    # --- faults ---------------------------------------------------------------------
    def toxic(self, type: str, attributes: dict[str, Any] | None = None, *,
              stream: str = "downstream", toxicity: float = 1.0) -> Fault:
        """Any Toxiproxy toxic by type name, with its attributes (Toxiproxy's units)."""
        control = self._owner.control
        self._count += 1
        toxic_name = f"{self.server_name}-{self._count}-{type}"
        attrs = dict(attributes or {})

        def apply() -> None:
            control.add_toxic(self.server_name, toxic_name, type, stream, toxicity, attrs)

        def undo() -> None:
            control.remove_toxic(self.server_name, toxic_name)

        return Fault(self, f"{type} {attrs}", apply, undo)

    def latency(self, ms: float, jitter: float = 0, *, stream: str = "downstream",
                toxicity: float = 1.0) -> Fault:
        """Delay every chunk by ``ms`` milliseconds (± ``jitter`` ms), as Toxiproxy's latency."""
        return self.toxic("latency", {"latency": ms, "jitter": jitter}, stream=stream,
                          toxicity=toxicity)

    def timeout(self, ms: float = 0, *, stream: str = "downstream",
                toxicity: float = 1.0) -> Fault:
        """Stop all data; close the connection after ``ms`` (0: hold it until undone)."""
        return self.toxic("timeout", {"timeout": ms}, stream=stream, toxicity=toxicity)

    def bandwidth(self, kb_per_s: float, *, stream: str = "downstream",
                  toxicity: float = 1.0) -> Fault:
        """Limit throughput to ``kb_per_s`` kilobytes per second (Toxiproxy's ``rate``)."""
        return self.toxic("bandwidth", {"rate": kb_per_s}, stream=stream, toxicity=toxicity)

    def http_error(self, status: int = 500, rate: float = 1.0, *, method: str = "",
                   path: str = "", body: str = "", headers: dict[str, str] | None = None) -> Fault:
        """Answer a share (``rate``, 0..1, drawn per request) of HTTP requests with ``status``.

        The built-in server's ``http_error`` extension; a real Toxiproxy lacks it.
        """
        missing = "http_error" not in self._owner.extensions()
        if missing:
            raise ExtensionMissing(
                f"http_error needs the http_error extension of fleetchaos's built-in Toxiproxy; "
                f"the server at {self._owner.url} does not offer it (a real Toxiproxy has no "
                "extensions): unset TOXIPROXY_URL to use the built-in server")
        attrs: dict[str, Any] = {"status": status, "share": rate, "method": method,
                                 "path": path, "body": body, "headers": dict(headers or {})}
        fault = self.toxic("http_error", attrs, stream="upstream")
        fault.label = f"http_error {status} x {rate:g}"
        return fault

    def down(self) -> Fault:
        """Disable the proxy: connections are closed and refused until undone."""
        control = self._owner.control

        def apply() -> None:
            control.set_enabled(self.server_name, False)

        def undo() -> None:
            with contextlib.suppress(Exception):  # the proxy may already be gone
                control.set_enabled(self.server_name, True)

        return Fault(self, "down", apply, undo)


class Toxiproxy:
    """The ``toxiproxy`` fixture's value: creates proxies, removes them all at teardown."""

    def __init__(self, url: str, *, allow_remote: bool = False) -> None:
        from fleetchaos.scenarios.fault_control import FaultControl, new_run_id

        self.url = url
        self.allow_remote = allow_remote
        self.run_id = new_run_id()
        self.control: FaultControl = FaultControl(url)
        self.proxies: dict[str, Proxy] = {}
        self._extensions: set[str] | None = None

    def __repr__(self) -> str:
        return f"<Toxiproxy {self.url} proxies={sorted(self.proxies)}>"

    def extensions(self) -> set[str]:
        if self._extensions is None:
            self._extensions = self.control.extensions()
        return self._extensions

    def proxy(self, name: str, upstream: str, *, listen: str = "127.0.0.1:0") -> Proxy:
        """Create the proxy ``name`` forwarding to ``upstream`` (``host:port``), or return it."""
        from fleetchaos.common.loopback import TargetNotAllowed, check_loopback
        from fleetchaos.scenarios.fault_control import marker

        if name in self.proxies:
            existing = self.proxies[name]
            if existing.upstream != upstream:
                raise UsageError(f"proxy {name!r} already forwards to {existing.upstream}")
            return existing
        try:
            check_loopback(upstream, what=f"proxy {name!r} upstream",
                           allow_remote=self.allow_remote)
        except TargetNotAllowed as exc:
            raise UsageError(str(exc)) from None
        server_name = f"{marker(self.run_id)}{name}"
        created = self.control.create_proxy(server_name, upstream, listen=listen)
        proxy = Proxy(self, name, server_name, created, upstream)
        self.proxies[name] = proxy
        return proxy

    def close(self) -> list[str]:
        """Undo every fault and delete every proxy this handle created; return what failed."""
        problems: list[str] = []
        for proxy in self.proxies.values():
            for fault in list(proxy._active):
                try:
                    fault.undo()
                except Exception as exc:  # deleting the proxy below removes it anyway
                    problems.append(f"{fault!r}: {exc}")
            try:
                self.control.delete_proxy(proxy.server_name)
            except Exception as exc:
                problems.append(f"proxy {proxy.server_name}: {exc}")
        self.proxies.clear()
        with contextlib.suppress(Exception):
            self.control.remove_leftovers(run_id=self.run_id)
        return problems


# --- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def fleetchaos_toxiproxy_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Toxiproxy the session uses: ``TOXIPROXY_URL``, or the built-in server started once."""
    url = os.environ.get("TOXIPROXY_URL")
    if url:
        from fleetchaos.common.loopback import TargetNotAllowed, check_loopback

        try:
            check_loopback(url, what="TOXIPROXY_URL",
                           allow_remote=bool(os.environ.get("FLEETCHAOS_ALLOW_REMOTE")))
        except TargetNotAllowed as exc:
            pytest.fail(f"{exc} (here: set FLEETCHAOS_ALLOW_REMOTE=1)", pytrace=False)
        _sweep_dead_runs(url)
        yield url
        return
    from fleetchaos import toxiproxy_server

    log = tmp_path_factory.mktemp("fleetchaos-toxiproxy") / "toxiproxy.log"
    server = toxiproxy_server.run_in_subprocess(log_path=str(log))
    try:
        yield server.url
    finally:
        server.stop()


def _sweep_dead_runs(url: str) -> None:
    """Remove what killed sessions and runs left on a shared server (never a live run's)."""
    import warnings

    from fleetchaos.scenarios.fault_control import FaultControl

    try:
        removed = FaultControl(url).sweep_dead().removed
    except Exception:  # an unreachable server fails the first test that uses it, clearly
        return
    if removed:
        warnings.warn(f"fleetchaos: removed {len(removed)} fault(s) left on {url} by dead "
                      f"run(s): {', '.join(removed)}", stacklevel=1)


@pytest.fixture
def toxiproxy(fleetchaos_toxiproxy_url: str) -> Iterator[Toxiproxy]:
    """Create proxies and faults; everything created is removed when the test ends."""
    handle = Toxiproxy(fleetchaos_toxiproxy_url,
                       allow_remote=bool(os.environ.get("FLEETCHAOS_ALLOW_REMOTE")))
    try:
        yield handle
    finally:
        problems = handle.close()
        if problems:
            pytest.fail("fleetchaos: could not remove: " + "; ".join(problems), pytrace=False)


@pytest.fixture
def fleetchaos_run(request: pytest.FixtureRequest,
                   tmp_path: Path) -> Callable[..., Summary]:
    """``fleetchaos_run(scenario, host=None, **options) -> Summary``: a whole headless run.

    Options are those of :func:`fleetchaos.run` (``overrides``, ``seed``, ``time_scale``,
    ``target``, ...); outputs go to the test's ``tmp_path`` unless ``out`` is given.
    """
    from fleetchaos.api import run

    def _run(scenario: str | os.PathLike[str], host: str | None = None,
             **options: Any) -> Summary:
        path = Path(scenario) if isinstance(scenario, str | os.PathLike) else None
        beside_test = Path(request.path).parent / path if path is not None else None
        with contextlib.suppress(OSError, ValueError):  # a name no file can have: run() says so
            if (path is not None and beside_test is not None and not path.is_absolute()
                    and not path.exists() and beside_test.is_file()):
                scenario = beside_test
        options.setdefault("out", tmp_path / "fleetchaos-out")
        return run(scenario, host=host, **options)

    return _run

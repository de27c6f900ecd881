"""Private network namespaces as hosts, joined by a bridge, for the cross-host tests.

Each host is a network namespace with its own loopback and one interface on a bridge
that lives in a namespace of its own; addresses exist only inside those namespaces
(10.77.N.0/24, N random per run), so the machine's own network never sees them.
``ip netns add`` needs root (CAP_SYS_ADMIN); where it cannot be done, ``hosts`` says why
in one line and the test skips. Everything is removed when the block ends, failure
included: the processes started in the hosts (by their PIDs), then the namespaces.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


class NoNamespaces(RuntimeError):
    """Network namespaces cannot be made here (the reason, one line)."""


def _ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise NoNamespaces(f"ip {' '.join(args)}: {proc.stderr.strip() or proc.returncode}")


@dataclass
class Hosts:
    """Namespaces by role, their addresses, and what was started in them."""

    netns: dict[str, str]  # role -> namespace name
    addr: dict[str, str]  # role -> its IPv4 address
    switch: str
    procs: list[subprocess.Popen[Any]] = field(default_factory=list)
    children: list[Any] = field(default_factory=list)  # servers (ChildProcess: .stop())

    def argv(self, role: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside the host (``ip netns exec`` execs it: the PID is the program's)."""
        return ["ip", "netns", "exec", self.netns[role], *argv]

    def start(self, role: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(self.argv(role, argv), stdin=subprocess.DEVNULL, **kwargs)
        self.procs.append(proc)
        return proc

    def serve(self, role: str, name: str, argv: Sequence[str], log_path: str) -> Any:
        """A server in the host, once it printed its readiness line (common.start_child)."""
        from fleetchaos.common import start_child

        child = start_child(name, self.argv(role, argv), log_path=log_path, ready_timeout_s=60)
        self.children.append(child)
        return child

    def tx_bytes(self, role: str) -> int:
        """Bytes the host sent on its interface so far (its own counters)."""
        out = subprocess.run(["ip", "-n", self.netns[role], "-s", "-j", "link", "show", "eth0"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        return int(json.loads(out)[0]["stats64"]["tx"]["bytes"])

    def stop_all(self) -> None:
        """The runs first (they roll their faults back), then the servers."""
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for child in reversed(self.children):
            child.stop()


def unavailable() -> str | None:
    """Why network namespaces cannot be made here, or None."""
    if shutil.which("ip") is None:
        return "network namespaces: the ip command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces: ip netns add needs root"
    return None


@contextlib.contextmanager
def hosts(roles: Sequence[str]) -> Iterator[Hosts]:
    """One namespace per role on a /24 of their own (.1, .2, ... in the order given)."""
    why = unavailable()
    if why:
        raise NoNamespaces(why)
    tag = f"fc{os.getpid() % 100000}{secrets.token_hex(2)}"
    net = f"10.77.{random.randrange(1, 255)}"
    made: list[str] = []
    found = Hosts({role: f"{tag}-{role}" for role in roles},
                  {role: f"{net}.{i}" for i, role in enumerate(roles, start=1)}, f"{tag}-sw")
    try:
        for name in [found.switch, *found.netns.values()]:
            _ip("netns", "add", name)
            made.append(name)
        _ip("-n", found.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", found.switch, "link", "set", "br0", "up")
        for i, role in enumerate(roles):
            ns = found.netns[role]
            _ip("link", "add", "name", "eth0", "netns", ns, "type", "veth",
                "peer", "name", f"p{i}", "netns", found.switch)
            _ip("-n", found.switch, "link", "set", f"p{i}", "master", "br0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"{found.addr[role]}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
        yield found
    finally:
        found.stop_all()
        for name in reversed(made):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)

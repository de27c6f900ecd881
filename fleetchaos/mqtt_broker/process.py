"""Start Mosquitto on a free loopback port with a generated config; stop it by PID."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from fleetchaos.common.child_process import ChildProcess, ChildProcessError
from fleetchaos.common.parent_death import preexec_die_with_parent
from fleetchaos.mqtt_broker.access import BrokerAccess, write_password_file

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")
INSTALL_HINT = "install it with `apt-get install -y mosquitto` (or `make broker` as root)"
READY_TIMEOUT_S = 20.0
PORT_ATTEMPTS = 3  # a free port can be taken between our pick and Mosquitto's bind
# The largest MQTT packet the broker takes: the reference backend's record limit (64 KiB,
# the same for HTTP batches and WebSocket frames) plus room for the topic and properties.
# The consumer refuses (and counts) a record past 64 KiB that fits here; anything larger
# never enters the broker's queues (a 10 MiB record queued for 1,000 messages per client
# is 10 GB). A v5 client learns the limit from CONNACK; a 3.1.1 client that sends a larger
# packet is disconnected.
RECORD_LIMIT_BYTES = 64 * 1024
MAX_PACKET_BYTES = RECORD_LIMIT_BYTES + 4096


class BrokerUnavailable(ChildProcessError):
    """No mosquitto binary, or it would not start."""


class BrokerProcess(ChildProcess):
    """A started Mosquitto: ``url`` is ``mqtt://127.0.0.1:<port>``."""

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def find_mosquitto() -> str | None:
    """The mosquitto binary (it lives in sbin, which a non-root PATH often lacks)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in MOSQUITTO_PATHS if os.access(p, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_config(port: int, data_dir: Path, *, password_file: Path | None = None,
                  acl_file: Path | None = None, username_as_client_id: bool = False,
                  max_queued: int = 1000, max_inflight: int = 20,
                  max_packet_size: int = MAX_PACKET_BYTES) -> str:
    """Mosquitto 2.0 config: one loopback listener, persistence in ``data_dir`` only,
    ``$SYS`` every second, packets up to ``max_packet_size``. ``user`` is ourselves, so a
    root run does not drop to the ``mosquitto`` user and lose write access to the run
    folder. With ``password_file`` anonymous clients are refused; ``acl_file`` limits what
    each user may publish and subscribe to (``access.py``)."""
    lines = [f"listener {port} 127.0.0.1"]
    if username_as_client_id:  # a listener setting: right after its listener line
        lines.append("use_username_as_clientid true")
    lines += [
        f"user {pwd.getpwuid(os.getuid()).pw_name}",
        "persistence true",
        f"persistence_location {data_dir}/",
        "autosave_interval 30",
        "sys_interval 1",
        f"max_queued_messages {max_queued}",
        f"max_inflight_messages {max_inflight}",
        f"max_packet_size {max_packet_size}",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages false",
    ]
    if password_file is not None:
        lines += ["allow_anonymous false", f"password_file {password_file}"]
    else:
        lines.append("allow_anonymous true")
    if acl_file is not None:
        lines.append(f"acl_file {acl_file}")
    return "\n".join(lines) + "\n"


def _answers_mqtt(port: int) -> bool:
    """A minimal MQTT 3.1.1 CONNECT; any CONNACK (even 'not authorized') means it is up."""
    connect = bytes([0x10, 16, 0, 4]) + b"MQTT" + bytes([4, 0x02, 0, 5, 0, 4]) + b"rdy0"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(connect)
            return sock.recv(4)[:1] == b"\x20"
    except OSError:
        return False


def run_in_subprocess(log_dir: str | os.PathLike[str] | None = None, *,
                      log_path: str | os.PathLike[str] | None = None,
                      users: dict[str, str] | None = None, access: BrokerAccess | None = None,
                      max_queued: int = 1000, max_inflight: int = 20,
                      max_packet_size: int = MAX_PACKET_BYTES) -> BrokerProcess:
    """Start Mosquitto; return once it answers MQTT (a context manager, stopped by PID).

    ``log_dir`` holds the generated config, the persistence file and (unless ``log_path``
    names one) ``mosquitto.log``; default a temporary folder. ``access`` (a password file
    and an ACL: ``access.fleet_access``, what ``fleetchaos run`` uses) or ``users`` (name ->
    password, no ACL) turns anonymous access off; with neither the broker is anonymous
    (tests and benchmarks on loopback).
    """
    if access is None and users:
        access = BrokerAccess(users)
    binary = find_mosquitto()
    if binary is None:
        raise BrokerUnavailable(f"mqtt broker: mosquitto not found; {INSTALL_HINT}")
    folder = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="fleetchaos-mqtt-"))
    folder.mkdir(parents=True, exist_ok=True)
    data_dir = folder / "mosquitto-data"
    data_dir.mkdir(exist_ok=True)
    password_file = acl_file = None
    if access is not None:
        password_file = folder / "mosquitto.passwd"
        write_password_file(password_file, access.users)
        if access.acl is not None:
            acl_file = folder / "mosquitto.acl"
            acl_file.write_text(access.acl)
    log = Path(log_path) if log_path is not None else folder / "mosquitto.log"
    reason = "no attempt"
    for _ in range(PORT_ATTEMPTS):
        port = _free_port()
        conf = folder / "mosquitto.conf"
        conf.write_text(broker_config(
            port, data_dir, password_file=password_file, acl_file=acl_file,
            username_as_client_id=access is not None and access.username_as_client_id,
            max_queued=max_queued, max_inflight=max_inflight, max_packet_size=max_packet_size))
        log_file: IO[bytes] = log.open("ab")
        popen = subprocess.Popen(
            [binary, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log_file,
            stderr=log_file, start_new_session=True, preexec_fn=preexec_die_with_parent())
        child = BrokerProcess(name="mqtt broker", popen=popen, log_path=log, log_file=log_file,
                              info={"host": "127.0.0.1", "port": port, "config": str(conf),
                                    "data_dir": str(data_dir)})
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and child.alive():
            if _answers_mqtt(port):
                return child
            time.sleep(0.05)
        tail = child.log_tail()
        with contextlib.suppress(Exception):
            child.stop()
        reason = "; ".join(tail) or f"exit code {popen.returncode}"
        if "in use" not in reason:
            break
    raise BrokerUnavailable(f"mqtt broker failed to start: {reason}")

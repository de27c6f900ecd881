"""Two off-the-shelf HTTP backends from PyPI (the `test` extra), started on loopback the
way docs/backend-profiles.md tells a user to, and the profiles read out of that page."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

DOCS = Path(__file__).resolve().parents[2] / "docs" / "backend-profiles.md"
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60.0


@dataclass
class App:
    url: str
    env: dict[str, str]  # what the user exports (tokens) before running fleetchaos
    profile: Path


def docs_profile(name: str, dest: Path) -> Path:
    """The YAML block headed ``# file: <name>`` in docs/backend-profiles.md, written out."""
    text = DOCS.read_text(encoding="utf-8")
    for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S):
        if block.startswith(f"# file: {name}\n"):
            dest.write_text(block, encoding="utf-8")
            return dest
    raise AssertionError(f"docs/backend-profiles.md has no yaml block '# file: {name}'")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {START_TIMEOUT_S} s")


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _spawn(argv: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                stdin=subprocess.DEVNULL)


@pytest.fixture
def datasette(tmp_path: Path, started: list[subprocess.Popen[bytes]]) -> App:
    """docs/backend-profiles.md, example 1, step by step."""
    db = tmp_path / "fleet.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "create table commands (id integer primary key, vin text, command text);"
            "create table telemetry (id integer primary key, type text, seq integer,"
            " ts real, is_resend integer, fields text);")
    port = free_port()
    started.append(_spawn([str(BIN / "datasette"), "serve", str(db), "--host", "127.0.0.1",
                           "--port", str(port), "--secret", "s3cret", "--root"],
                          tmp_path / "datasette.log", tmp_path))
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/-/versions.json", started[-1], tmp_path / "datasette.log")
    token = subprocess.run([str(BIN / "datasette"), "create-token", "root", "--secret",
                            "s3cret"], capture_output=True, text=True, check=True,
                           timeout=60).stdout.strip()
    return App(url, {"DATASETTE_TOKEN": token}, docs_profile("datasette.yaml",
                                                            tmp_path / "datasette.yaml"))


@pytest.fixture
def kinto(tmp_path: Path, started: list[subprocess.Popen[bytes]]) -> App:
    """docs/backend-profiles.md, example 2, step by step."""
    ini = tmp_path / "kinto.ini"
    subprocess.run([str(BIN / "kinto"), "init", "--ini", str(ini), "--backend", "memory",
                    "--cache-backend", "memory"], check=True, capture_output=True, timeout=60,
                   cwd=tmp_path)
    text = ini.read_text(encoding="utf-8")  # the docs' two sed lines
    text = text.replace("[server:main]\n", "[server:main]\nconnection_limit = 1000\n", 1)
    text = text.replace("[app:main]\n", "[app:main]\nkinto.account_cache_ttl_seconds = 3600\n", 1)
    ini.write_text(text, encoding="utf-8")
    port = free_port()
    started.append(_spawn([str(BIN / "kinto"), "start", "--ini", str(ini), "--port", str(port)],
                          tmp_path / "kinto.log", tmp_path))
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/v1/", started[-1], tmp_path / "kinto.log")
    resp = requests.put(url + "/v1/accounts/fleet", json={"data": {"password": "s3cret"}},
                        timeout=30)
    assert resp.status_code == 201, resp.text
    basic = base64.b64encode(b"fleet:s3cret").decode()
    warm = requests.get(url + "/v1/", headers={"Authorization": f"Basic {basic}"}, timeout=60)
    assert warm.ok and warm.json().get("user", {}).get("id") == "account:fleet", warm.text
    return App(url, {"KINTO_BASIC": basic}, docs_profile("kinto.yaml", tmp_path / "kinto.yaml"))


def fleetchaos(args: list[str], env: dict[str, str], timeout: float = 240
               ) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run([str(BIN / "fleetchaos"), *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=timeout, stdin=subprocess.DEVNULL)
    return proc, time.monotonic() - start

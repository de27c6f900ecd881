"""Fixtures shared by every suite: real servers in child processes on free loopback ports,
always stopped when the test ends (pass or fail)."""

from __future__ import annotations

import os
import resource

import pytest

# tests/plugin drives fleetchaos's pytest plugin from the outside, as a user's suite would.
pytest_plugins = ["pytester"]

# Thousands of sockets in some tests: raise our own soft limit to the hard limit.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))
os.environ.pop("TOXIPROXY_URL", None)


@pytest.fixture
def toxiproxy():
    from fleetchaos import toxiproxy_server

    child = toxiproxy_server.run_in_subprocess(seed=1234)
    try:
        yield child
    finally:
        child.stop()


@pytest.fixture
def backend(tmp_path):
    from fleetchaos import reference_backend

    child = reference_backend.run_in_subprocess(db_path=str(tmp_path / "backend.db"),
                                                admin_token="test-admin-token")
    try:
        yield child
    finally:
        child.stop()

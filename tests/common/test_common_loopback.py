"""The loopback guard decides where load and faults may go: a wrong 'yes' is an incident."""

from __future__ import annotations

import pytest

from fleetchaos.common.loopback import TargetNotAllowed, check_loopback, host_of, is_loopback_host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_hosts_pass(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", ["10.0.0.1", "192.168.1.1", "8.8.8.8", "::2", "", "nonexistent.invalid"]
)
def test_other_hosts_fail(host):
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    ("target", "host"),
    [("http://127.0.0.1:8080/x", "127.0.0.1"), ("127.0.0.1:8474", "127.0.0.1"),
     ("[::1]:80", "::1"), ("http://[::1]:80", "::1"), ("localhost", "localhost")],
)
def test_host_of(target, host):
    assert host_of(target) == host


def test_check_names_what_was_refused():
    with pytest.raises(TargetNotAllowed, match=r"TOXIPROXY_URL.*--allow-remote"):
        check_loopback("http://192.0.2.1:8474", what="TOXIPROXY_URL")
    check_loopback("http://192.0.2.1:8474", what="TOXIPROXY_URL", allow_remote=True)
    check_loopback("http://127.0.0.1:8474", what="TOXIPROXY_URL")

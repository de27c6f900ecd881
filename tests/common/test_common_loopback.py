"""The loopback guard decides where load and faults may go: a wrong 'yes' is an incident."""

from __future__ import annotations

import pytest

from fleetchaos.common.loopback import (
    TargetNotAllowed,
    check_loopback,
    host_of,
    is_loopback_host,
    parse_hosts,
)


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


def test_allow_host_lets_exactly_the_named_address_through():
    """--allow-host names one address (or name) exactly; its neighbours stay refused."""
    allowed = ("10.77.3.4", "toxiproxy.internal", "FD00::5")
    for target in ("http://10.77.3.4:8474", "10.77.3.4:5557", "http://TOXIPROXY.internal:8474",
                   "http://[fd00::5]:80", "[fd00:0:0:0:0:0:0:5]:1"):
        check_loopback(target, what="x", allowed_hosts=allowed)
    for target in ("http://10.77.3.5:8474", "http://10.77.3.40:1", "toxiproxy.internal.evil:1",
                   "http://[fd00::6]:80"):
        with pytest.raises(TargetNotAllowed, match=r"--allow-host"):
            check_loopback(target, what="x", allowed_hosts=allowed)


def test_a_refusal_says_which_address_to_allow():
    with pytest.raises(TargetNotAllowed) as info:
        check_loopback("http://[fd00::7]:8474", what="TOXIPROXY_URL")
    assert "--allow-host [fd00::7]" in str(info.value) and "--allow-remote" in str(info.value)
    assert parse_hosts(" 10.0.0.1, ,b.example,") == ("10.0.0.1", "b.example")
    assert parse_hosts(None) == ()

"""The counters the engine reads to say what a fault touched, against the real built-in
Toxiproxy through FaultControl: an http_error toxic's `injected` count and a proxy's
connection counters in /metrics. If either stops counting, every run would end
`no-effect`, so this contract is pinned here as well as in the live runs."""

from __future__ import annotations

import pytest
import requests

from fleetchaos.scenarios.fault_control import FaultControl


def test_http_error_counts_what_it_answered_and_proxies_count_connections(toxiproxy,
                                                                         upstream):
    faults = FaultControl(toxiproxy.url)
    listen = faults.create_proxy("fc-count-api", upstream)
    before = faults.proxy_counters("fc-count-api")
    assert before is not None and before.connections_total == 0
    faults.add_toxic("fc-count-api", "fc-count-unlock", "http_error", "upstream", 1.0,
                     {"share": 1.0, "status": 503, "method": "POST", "path": "/unlock/*"})
    assert faults.toxic_counter("fc-count-api", "fc-count-unlock", "injected") == 0
    with requests.Session() as session:
        statuses = [session.post(f"http://{listen}{path}", data=b"{}", timeout=10).status_code
                    for path in ("/unlock/1", "/unlock/2", "/other", "/unlock/3")]
    assert statuses == [503, 503, 200, 503]
    assert faults.toxic_counter("fc-count-api", "fc-count-unlock", "injected") == 3
    after = faults.proxy_counters("fc-count-api")
    assert after is not None and after.connections_total >= 1
    assert faults.toxic_counter("fc-count-api", "no-such-toxic", "injected") is None
    faults.delete_proxy("fc-count-api")


def test_fault_calls_fail_loudly(toxiproxy, upstream):
    """toxiproxy-python lets some errors through silently; FaultControl raises on every
    refusal with Toxiproxy's own error text, so a step that did not apply is never journaled
    as on (the engine then rolls back and exits 3)."""
    from fleetchaos.scenarios.fault_control import FaultError

    faults = FaultControl(toxiproxy.url)
    faults.create_proxy("fc-loud-api", upstream)
    with pytest.raises(FaultError, match="add toxic fc-loud-x to fc-loud-api: Toxiproxy "):
        faults.add_toxic("fc-loud-api", "fc-loud-x", "latency", "sideways", 1.0,
                         {"latency": 1})
    with pytest.raises(FaultError, match="Toxiproxy "):
        faults.add_toxic("fc-loud-api", "fc-loud-y", "no_such_toxic")
    faults.add_toxic("fc-loud-api", "fc-loud-z", "latency", attributes={"latency": 1})
    with pytest.raises(FaultError):  # same name twice: Toxiproxy answers 409
        faults.add_toxic("fc-loud-api", "fc-loud-z", "latency", attributes={"latency": 1})
    faults.remove_toxic("fc-loud-api", "fc-loud-z")
    faults.remove_toxic("fc-loud-api", "fc-loud-z")  # already gone: fine
    faults.set_enabled("fc-loud-api", False)
    faults.set_enabled("fc-loud-api", True)
    faults.delete_proxy("fc-loud-api")
    with pytest.raises(FaultError, match="not on the Toxiproxy server"):
        faults.add_toxic("fc-loud-api", "fc-loud-w", "latency")

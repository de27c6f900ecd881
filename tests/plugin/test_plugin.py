"""The pytest plugin, run by pytest's own pytester in a separate pytest process, as a user's
suite would run it: the example of docs/pytest.md passes as written, a failing test leaves
no proxy on the server, and http_error is refused by a server without the extension."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from fleetchaos import toxiproxy_server
from fleetchaos.scenarios.fault_control import new_run_id

DOCS = Path(__file__).resolve().parents[2] / "docs" / "pytest.md"


def docs_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    return next(b for b in blocks if "def test_" in b)


def server_proxies(url: str) -> dict[str, Any]:
    return requests.get(f"{url}/proxies", timeout=5).json()


def test_the_plugin_is_registered_by_the_entry_point():
    from importlib.metadata import entry_points

    names = {ep.value for ep in entry_points(group="pytest11")}
    assert "fleetchaos.pytest_plugin" in names


@pytest.mark.slow
def test_the_documented_example_passes(pytester, monkeypatch):
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)  # the built-in server, per session
    pytester.makepyfile(test_resilience=docs_example())
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=5)


FAILING = '''
import requests

def test_fails_inside_a_fault(toxiproxy):
    api = toxiproxy.proxy("api", upstream="127.0.0.1:9")
    with api.latency(500):
        assert False, "deliberately failing inside the with block"

def test_fails_with_a_fault_left_on(toxiproxy):
    api = toxiproxy.proxy("api", upstream="127.0.0.1:9")
    toxiproxy.proxy("other", upstream="127.0.0.1:9")
    api.down().__enter__()          # applied and never undone by the test itself
    api.timeout(0).__enter__()
    raise RuntimeError("deliberately failing with faults on")

def test_sees_what_the_server_holds(toxiproxy):
    names = requests.get(toxiproxy.url + "/proxies", timeout=5).json()
    assert names == {}, names       # nothing left by the two failures above
'''


def test_a_failing_test_leaves_no_proxy_behind(pytester, monkeypatch, tmp_path):
    with toxiproxy_server.run_in_subprocess(log_path=str(tmp_path / "tp.log")) as server:
        monkeypatch.setenv("TOXIPROXY_URL", server.url)
        pytester.makepyfile(test_failing=FAILING)
        result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", timeout=120)
        result.assert_outcomes(failed=2, passed=1)
        result.stdout.fnmatch_lines(["*deliberately failing inside the with block*"])
        assert server_proxies(server.url) == {}


def test_a_session_removes_what_a_killed_session_left(pytester, monkeypatch, tmp_path):
    """A pytest killed mid-test cannot tear down; the next session on the server sweeps it."""
    corpse = subprocess.Popen([sys.executable, "-c", "pass"])
    corpse.wait()
    dead = f"fc-{new_run_id(pid=corpse.pid)}-api"
    with toxiproxy_server.run_in_subprocess(log_path=str(tmp_path / "tp.log")) as server:
        requests.post(f"{server.url}/proxies", json={"name": dead, "upstream": "127.0.0.1:9",
                                                     "listen": "127.0.0.1:0"}, timeout=5)
        monkeypatch.setenv("TOXIPROXY_URL", server.url)
        pytester.makepyfile(test_next="def test_x(toxiproxy):\n    pass\n")
        result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", timeout=120)
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines([f"*removed 1 fault(s)*{dead}*"])
        assert server_proxies(server.url) == {}


REFUSED = '''
import pytest
from fleetchaos.pytest_plugin import ExtensionMissing

def test_http_error_is_refused(toxiproxy):
    api = toxiproxy.proxy("api", upstream="127.0.0.1:9")
    with pytest.raises(ExtensionMissing, match="does not offer it.*unset TOXIPROXY_URL"):
        api.http_error(status=500, rate=0.3)
    assert toxiproxy.control.toxics() == []    # nothing was changed on the server

def test_plain_toxics_still_work(toxiproxy):
    api = toxiproxy.proxy("api", upstream="127.0.0.1:9")
    with api.bandwidth(10) as fault:
        assert fault.active and toxiproxy.control.toxics()
    assert toxiproxy.control.toxics() == []
'''


def test_http_error_is_refused_by_a_server_without_the_extension(pytester, monkeypatch,
                                                                 tmp_path):
    with toxiproxy_server.run_in_subprocess(extensions=False,
                                            log_path=str(tmp_path / "tp.log")) as plain:
        monkeypatch.setenv("TOXIPROXY_URL", plain.url)
        pytester.makepyfile(test_refused=REFUSED)
        result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", timeout=120)
        result.assert_outcomes(passed=2)
        assert server_proxies(plain.url) == {}


def test_a_remote_toxiproxy_url_is_refused(pytester, monkeypatch):
    monkeypatch.setenv("TOXIPROXY_URL", "http://192.0.2.1:8474")
    pytester.makepyfile(test_remote="def test_x(toxiproxy):\n    pass\n")
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*TOXIPROXY_URL*not on loopback*FLEETCHAOS_ALLOW_REMOTE=1*"])
    assert "Traceback" not in result.stdout.str()

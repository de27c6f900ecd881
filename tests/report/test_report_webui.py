"""The web UI's Chaos tab on a real Locust web UI process (real Flask/gevent server, real
built-in Toxiproxy, real backend): who may drive it (webui_guard), its endpoints, and
the tab and page in headless Chromium (installed by `make test`'s set-up; skipped with the
reason otherwise)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from png import has_color, read_png

from fleetchaos.locust_app.webui_guard import TOKEN_HEADER
from fleetchaos.scenarios.journal import read_journal

REPO = Path(__file__).resolve().parents[2]
EVIL = "http://evil.example"

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=4000"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=90)



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WebUI:
    base: str
    port: int
    journal: Path
    stderr_lines: list[str] = field(default_factory=list)

    def token(self, timeout: float = 30.0) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in list(self.stderr_lines):
                found = re.search(r"Chaos API token: ([A-Za-z0-9_-]+)", line)
                if found:
                    return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no token banner on stderr: {self.stderr_lines[-5:]}")

    def same_origin(self, token: str | None = None) -> dict[str, str]:
        """The headers a browser sends for the page's own fetch()."""
        headers = {"Origin": self.base, "Sec-Fetch-Site": "same-origin"}
        if token:
            headers[TOKEN_HEADER] = token
        return headers

    def state(self) -> str:
        return str(requests.get(f"{self.base}/stats/requests", timeout=10).json()["state"])

    def wait_state(self, *states: str, timeout: float = 60.0) -> str:
        deadline = time.time() + timeout
        while (state := self.state()) not in states and time.time() < deadline:
            time.sleep(0.3)
        return state


def start_web_ui(backend: Any, tmp_path: Path, *, autostart: bool, host: str | None = None
                 ) -> tuple[subprocess.Popen[str], WebUI]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("TOXIPROXY_URL", "FLEETCHAOS_UI_TOKEN")}
    env["FLEETCHAOS_ADMIN_TOKEN"] = "test-admin-token"
    argv = [sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"), "--host",
            host or backend.url, "--scenario", "api-latency", "--web-port", str(port),
            "--journal", str(tmp_path / "ui.jsonl"), "--loglevel", "WARNING"]
    if autostart:
        argv.append("--autostart")
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)
    ui = WebUI(f"http://127.0.0.1:{port}", port, tmp_path / "ui.jsonl")

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            ui.stderr_lines.append(line)

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(f"{ui.base}/", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert proc.poll() is None, "".join(ui.stderr_lines[-20:])
        time.sleep(0.2)
    return proc, ui


def stop_web_ui(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_running(ui: WebUI, token: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            status = requests.get(f"{ui.base}/chaos/status", headers={TOKEN_HEADER: token},
                                  timeout=5).json()
            if status.get("elapsed_s", 0) > 0:
                return dict(status)
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.3)
    raise AssertionError("the run did not start: " + "".join(ui.stderr_lines[-15:]))


def template_args(page: str) -> Any:
    """The arguments Locust's web UI page hands its script (window.templateArgs)."""
    found = re.search(r"window.templateArgs = (\{.*?\});?\n", page)
    assert found is not None, "no templateArgs in the page"
    return json.loads(found.group(1))


def toxics_on_toxiproxy(journal: Path) -> list[dict[str, Any]]:
    header = next(r for r in read_journal(journal) if r["type"] == "header")
    proxies = requests.get(f"{header['target']['toxiproxy_url']}/proxies", timeout=10).json()
    return [t for p in proxies.values() for t in p.get("toxics", [])]


@pytest.fixture
def idle_web_ui(backend, tmp_path):
    proc, ui = start_web_ui(backend, tmp_path, autostart=False)
    try:
        yield ui
    finally:
        stop_web_ui(proc)


@pytest.fixture
def web_ui(backend, tmp_path):
    proc, ui = start_web_ui(backend, tmp_path, autostart=True)
    try:
        wait_running(ui, ui.token())
        yield ui
    finally:
        stop_web_ui(proc)
    # SIGTERM on a web UI run still rolls back and stops the built-in Toxiproxy it started
    assert any(r["type"] == "cleanup" for r in read_journal(ui.journal))


@pytest.mark.slow
def test_other_pages_cannot_start_stop_or_inject_but_the_page_itself_can(idle_web_ui):
    """Issue 17 item 2: Locust's UI installs flask-cors with defaults (every Origin echoed)
    and has no Host check, so any web page could POST /swarm or /chaos/toxic."""
    ui = idle_web_ui
    token = ui.token()
    form = {"user_count": "5", "spawn_rate": "5", "host": "http://evil.example"}
    # a page on another site: plain form POST (no preflight), and a fetch with Sec-Fetch-Site
    for headers in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"},
                    {"Referer": f"{EVIL}/attack.html"}):
        refused = requests.post(f"{ui.base}/swarm", data=form, headers=headers, timeout=10)
        assert refused.status_code == 403, headers
        assert "refused" in refused.json()["error"]
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, so Host is the attacker's
    rebound = {"Host": f"evil.example:{ui.port}"}
    assert requests.get(f"{ui.base}/", headers=rebound, timeout=10).status_code == 403
    assert requests.get(f"{ui.base}/chaos/", headers=rebound, timeout=10).status_code == 403
    assert requests.post(f"{ui.base}/swarm", data=form, timeout=10,
                         headers={**rebound, "Origin": f"http://evil.example:{ui.port}"}
                         ).status_code == 403
    # CORS: no Origin is echoed, on a plain read or on a preflight
    read = requests.get(f"{ui.base}/stats/requests", headers={"Origin": EVIL}, timeout=10)
    pre = requests.options(f"{ui.base}/chaos/toxic", timeout=10, headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": f"content-type,{TOKEN_HEADER}"})
    for answer in (read, pre):
        assert not [h for h in answer.headers if h.lower().startswith("access-control-")]
    assert ui.state() == "ready"  # nothing started

    # the page's own request starts the run
    started = requests.post(f"{ui.base}/swarm", data={}, headers=ui.same_origin(), timeout=10)
    assert started.status_code == 200 and started.json()["success"] is True
    wait_running(ui, token)

    toxic = {"proxy": "api", "type": "timeout", "attributes": {"timeout": 0}}
    for headers in ({"Origin": EVIL, TOKEN_HEADER: token},          # right token, wrong site
                    {"Origin": EVIL, "Content-Type": "text/plain"},  # no-preflight form
                    ui.same_origin(),                                # the site, no token
                    ui.same_origin("wrong-token"), {}):
        refused = requests.post(f"{ui.base}/chaos/toxic", json=toxic, headers=headers,
                                timeout=10)
        assert refused.status_code == 403, headers
    assert requests.get(f"{ui.base}/chaos/status", timeout=10).status_code == 403  # no token
    status = requests.get(f"{ui.base}/chaos/status", headers={TOKEN_HEADER: token},
                          timeout=10).json()
    assert status["active_faults"] == [] and toxics_on_toxiproxy(ui.journal) == []
    assert not [r for r in read_journal(ui.journal) if r["type"] == "step" and r.get("manual")]

    # a cross-site stop is refused: the run goes on; the page's own stop works
    assert requests.post(f"{ui.base}/stop", headers={"Origin": EVIL}, timeout=10
                         ).status_code == 403
    assert requests.post(f"{ui.base}/stats/reset", headers={"Sec-Fetch-Site": "same-site"},
                         timeout=10).status_code == 403
    assert ui.wait_state("running", "spawning") in ("running", "spawning")
    added = requests.post(f"{ui.base}/chaos/toxic", json=toxic, headers=ui.same_origin(token),
                          timeout=10)
    assert added.status_code == 200, added.text
    assert [t["type"] for t in toxics_on_toxiproxy(ui.journal)] == ["timeout"]
    assert requests.post(f"{ui.base}/stop", headers=ui.same_origin(), timeout=10
                         ).status_code == 200
    assert ui.wait_state("stopped") == "stopped"
    # the clock stops with the run
    first = requests.get(f"{ui.base}/chaos/status", headers={TOKEN_HEADER: token},
                         timeout=10).json()["live"]
    time.sleep(1.5)
    again = requests.get(f"{ui.base}/chaos/status", headers={TOKEN_HEADER: token},
                         timeout=10).json()["live"]
    assert first["stopped"] and first["clock"].startswith("stopped at ")
    assert again["elapsed_s"] == first["elapsed_s"]


@pytest.mark.slow
def test_start_form_parameters_are_honoured(idle_web_ui):
    """Issue 18: the start form's time scale / seed were silently ignored (60 s, seed 2021).
    Issue 23: it showed "users 0 / ramp 0" (ignored); it shows the scenario's fleet now, a
    changed ramp-up is the run's spawn rate and a changed user count or run time is
    refused with what to change instead - nothing in the form is silently ignored."""
    ui = idle_web_ui
    token = ui.token()
    page = requests.get(f"{ui.base}/", timeout=10).text
    args = template_args(page)
    # api-latency's fleet: 60 cars + 60 drivers + 1 canary; ramp-up its 200 users/s default
    assert (args["num_users"], args["spawn_rate"], args["hide_common_options"]) == (121, 200,
                                                                                    False)
    bad = requests.post(f"{ui.base}/swarm", headers=ui.same_origin(), timeout=10,
                        data={"scenario": "no-such-one"})
    assert bad.status_code == 400 and "no-such-one" in bad.json()["message"]
    assert requests.post(f"{ui.base}/swarm", headers=ui.same_origin(), timeout=10, data={
        "time_scale": "-2"}).status_code == 400
    users = requests.post(f"{ui.base}/swarm", headers=ui.same_origin(), timeout=10,
                          data={"user_count": "5", "spawn_rate": "200"})
    assert users.status_code == 400
    assert users.json()["message"].startswith("users 5: the scenario sets the fleet, 60 cars "
                                              "+ 60 drivers + 1 canary = 121 users")
    run_time = requests.post(f"{ui.base}/swarm", headers=ui.same_origin(), timeout=10,
                             data={"user_count": "121", "run_time": "10s"})
    assert run_time.status_code == 400 and "timeline" in run_time.json()["message"]
    assert ui.state() == "ready"  # nothing started
    started = requests.post(f"{ui.base}/swarm", headers=ui.same_origin(), timeout=10, data={
        "user_count": "121", "spawn_rate": "50", "scenario": "api-latency",
        "time_scale": "0.5", "seed": "7", "target_profile": ""})
    assert started.status_code == 200 and started.json()["success"] is True, started.text
    status = wait_running(ui, token)
    assert status["duration_s"] == 20.0  # api-latency's 40 s at time scale 0.5
    header = next(r for r in read_journal(ui.journal) if r["type"] == "header")
    assert header["seed"] == 7 and header["duration_s"] == 20.0
    page = requests.get(f"{ui.base}/", timeout=10).text
    args = template_args(page)
    assert args["spawn_rate"] == 50  # the ramp-up asked for is the scenario's fleet.spawn_rate
    again = requests.post(f"{ui.base}/swarm", headers=ui.same_origin(), timeout=10, data={})
    assert again.status_code == 400 and "a run is going on" in again.json()["message"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make test installs it)")
def test_a_set_up_error_is_shown_in_the_ui_not_only_stopped_with_zeros(backend, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: registration fails
    proc, ui = start_web_ui(backend, tmp_path, autostart=False, host=closed)
    try:
        token = ui.token()
        assert requests.post(f"{ui.base}/swarm", headers=ui.same_origin(), timeout=10,
                             data={}).status_code == 200
        deadline = time.time() + 60
        status: dict[str, Any] = {}
        while time.time() < deadline and not status.get("setup_error"):
            status = requests.get(f"{ui.base}/chaos/status", headers={TOKEN_HEADER: token},
                                  timeout=10).json()
            time.sleep(0.3)
        assert status.get("setup_error") and status["live"]["clock"].startswith("set-up failed")
        rows = requests.get(f"{ui.base}/stats/requests", timeout=10).json()["extended_stats"]
        values = {r["item"]: r["value"] for r in rows[0]["data"]}
        assert values["setup error"] == status["setup_error"]
        page = chromium(tmp_path, "--dump-dom", f"{ui.base}/chaos/").stdout
        found = re.search(r'<section id="error" role="alert" style="display: block;">([^<]*)<',
                          page)
        assert found and found.group(1).startswith("set-up failed: "), page[:2000]
    finally:
        stop_web_ui(proc)


@pytest.mark.slow
def test_chaos_endpoints_inject_and_remove_by_hand(web_ui):
    ui = web_ui
    h = ui.same_origin(ui.token())
    status = requests.get(f"{ui.base}/chaos/status", headers=h).json()
    assert status["scenario"] == "api-latency" and set(status["proxies"]) == {"api", "telemetry"}
    added = requests.post(f"{ui.base}/chaos/toxic", headers=h,
                          json={"proxy": "api", "type": "latency", "attributes": {"latency": 40}})
    assert added.status_code == 200 and added.json()["manual"] is True
    name = added.json()["detail"]["name"]
    assert [f["name"] for f in requests.get(f"{ui.base}/chaos/status", headers=h
                                            ).json()["active_faults"]] == [name]
    bad = requests.post(f"{ui.base}/chaos/toxic", headers=h,
                        json={"proxy": "nowhere", "type": "latency"})
    assert bad.status_code == 400 and "proxies" in bad.json()["error"]
    for junk in ([1], "x", 3):  # not an object: a 400 naming it, never a 500
        answer = requests.post(f"{ui.base}/chaos/verbosity", headers=h, json=junk)
        assert answer.status_code == 400 and "JSON object" in answer.json()["error"]
    # issue 27: hostile bodies with a valid token are JSON 400s (100,000 levels was a
    # text/plain 500 and a traceback on the UI's stderr)
    json_h = {**h, "Content-Type": "application/json"}
    for body, says in (("[" * 30_000 + "]" * 30_000, "nested deeper"),
                       ('{"proxy": "api", "attributes": ' + "{\"a\": " * 20 + "1"
                        + "}" * 20 + "}", "nested deeper"),
                       ("{not json", "not JSON"),
                       ('{"pad": "' + "x" * 70_000 + '"}', "larger than 64 KiB")):
        answer = requests.post(f"{ui.base}/chaos/toxic", headers=json_h, data=body)
        assert answer.status_code == 400, answer.text[:200]
        assert answer.headers["Content-Type"].startswith("application/json")
        assert says in answer.json()["error"]
    assert not [x for x in ui.stderr_lines if "Traceback" in x or "RecursionError" in x]
    # "action" in the body cannot turn an add into something else
    sneaky = requests.post(f"{ui.base}/chaos/verbosity", headers=h,
                           json={"action": "toxic_remove", "name": "x", "level": 2})
    assert sneaky.status_code == 200 and sneaky.json()["action"] == "verbosity"
    assert requests.delete(f"{ui.base}/chaos/toxic/{name}", headers=h).json() == {"removed": name}
    assert requests.post(f"{ui.base}/chaos/verbosity", json={"level": 3, "cohort": 0.5},
                         headers=h).status_code == 200
    http = requests.post(f"{ui.base}/chaos/http_error", headers=h,
                         json={"actions": ["unlock"], "status": 503, "share": 0.5})
    assert http.status_code == 200, http.text
    bad_share = requests.post(f"{ui.base}/chaos/http_error", headers=h,
                              json={"actions": ["unlock"], "share": 7})
    assert bad_share.status_code == 400 and "share" in bad_share.json()["error"]
    rows = requests.get(f"{ui.base}/stats/requests").json()["extended_stats"][0]
    assert rows["key"] == "chaos" and any(r["item"] == "scenario" for r in rows["data"])
    values = {r["item"]: r["value"] for r in rows["data"]}
    # labels, never raw dicts; the SLOs' live state; manual faults listed as steps
    assert not any("{" in r["value"] for r in rows["data"]), rows["data"]
    assert "s left" in values["time"]
    slo_rows = [v for k, v in values.items() if k.startswith("SLO ")]
    assert slo_rows and all(v.split(":")[0] in ("waiting for its phase", "holding", "BREAKING",
                                                "no data yet", "judged at the end")
                            for v in slo_rows), slo_rows
    by_hand = [r["value"] for r in rows["data"] if r["item"].startswith("by hand")]
    assert any(v.startswith("latency 40 ms on api") and v.endswith("(removed)") for v in by_hand)
    assert any(v.startswith("verbosity x3 on 50 %") and v.endswith("(on)") for v in by_hand)
    assert any(v.startswith("http_error 503") for v in by_hand)
    live = requests.get(f"{ui.base}/chaos/status", headers=h).json()["live"]
    assert live["stopped"] is False and {c["state"] for c in live["slos"]} <= {
        "waiting", "pending", "nodata", "ok", "break"}
    manual = [r for r in read_journal(ui.journal) if r["type"] == "step" and r.get("manual")
              and r["action"] != "toxic_remove"]  # a removal by hand may be journaled as manual
    assert [r["action"] for r in manual] == ["toxic_add", "verbosity", "verbosity",
                                             "http_error_add"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make test installs it)")
def test_chaos_tab_and_page_render_in_chromium_mid_run(web_ui, tmp_path):
    ui = web_ui
    token = ui.token()
    added = requests.post(f"{ui.base}/chaos/toxic", headers=ui.same_origin(token),
                          json={"proxy": "api", "type": "latency", "attributes": {"latency": 30}})
    assert added.status_code == 200
    dom = chromium(tmp_path, "--dump-dom", f"{ui.base}/?tab=chaos").stdout
    assert "Chaos" in dom
    # the page's own fetch() carries the embedded token: what it loads is on the page
    page = chromium(tmp_path, "--dump-dom", "--window-size=1200,1100", f"{ui.base}/chaos/").stdout
    assert "API latency" in page
    assert re.search(r'id="clock">\d+ / 40 s · \d+ s left · phase \w+<', page), page[:3000]
    assert "<title>phase baseline:" in page and "<title>now:" in page  # the timeline strip
    assert re.search(r"by hand: latency 30 ms on api[^<]* \(on\)", page)
    assert len(re.findall(r'class="card s-[a-z]+"', page)) == 2  # one card per SLO
    assert 'class="gauge"' in page and ">remove<" in page
    assert "needs this run's token" not in page
    assert re.search(r'id="error" role="alert"[^>]*></section>', page)  # no error shown
    shot = tmp_path / "chaos.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,900", f"{ui.base}/chaos/")
    width, height, rows = read_png(shot)
    assert (width, height) == (1200, 900)
    assert has_color(rows, (0x15, 0x80, 0x3D), y1=30)      # Locust's green header bar
    assert has_color(rows, (0xFE, 0xCA, 0xCA), y1=250)     # the fault on now, in the strip
    assert has_color(rows, (0x15, 0x80, 0x3D), y0=300)     # the controls' buttons


ATTACK = """<!doctype html><title>cute cats</title><script>
const BASE = %(base)s;
window.attack = (what) => Promise.allSettled(what === 'swarm' ? [
  fetch(BASE + '/swarm', {method: 'POST', mode: 'no-cors',
                          body: new URLSearchParams({user_count: '5', spawn_rate: '5'})}),
  fetch(BASE + '/stop', {method: 'POST', mode: 'no-cors'}),
] : [
  fetch(BASE + '/chaos/toxic', {method: 'POST', mode: 'no-cors',
        headers: {'Content-Type': 'text/plain'},
        body: JSON.stringify({proxy: 'api', type: 'timeout', attributes: {timeout: 0}})}),
  fetch(BASE + '/chaos/toxic', {method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({proxy: 'api', type: 'timeout', attributes: {timeout: 0}})}),
]).then(rs => rs.map(r => r.status));
</script>"""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make test installs it)")
def test_in_chromium_another_site_cannot_drive_the_ui_but_its_own_pages_can(idle_web_ui,
                                                                              tmp_path):
    """The attack of issue 17 item 2 from a real browser: a page on another origin sends
    the requests (Chromium sets Origin / Sec-Fetch-Site itself); the UI's own pages -
    Locust's and the Chaos page's form - still work."""
    import functools
    import http.server
    import json as json_module

    from cdp import Browser

    ui = idle_web_ui
    token = ui.token()
    evil_dir = tmp_path / "evil"
    evil_dir.mkdir()
    (evil_dir / "attack.html").write_text(ATTACK % {"base": json_module.dumps(ui.base)})
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(evil_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    evil = f"http://127.0.0.1:{server.server_address[1]}/attack.html"
    browser = Browser(str(CHROMIUM), tmp_path / "cdp-profile")
    try:
        browser.goto(evil)
        browser.js("attack('swarm')")
        deadline = time.time() + 20
        while time.time() < deadline and "refused POST /swarm" not in "".join(ui.stderr_lines):
            time.sleep(0.2)
        assert "web UI refused POST /swarm" in "".join(ui.stderr_lines)  # it reached the UI
        assert ui.state() == "ready"  # and started nothing

        browser.goto(f"{ui.base}/")  # Locust's own page starts the run with its own fetch
        started = browser.js("fetch('swarm', {method: 'POST', body: new URLSearchParams("
                             "{})}).then(r => r.status)")
        assert started == 200
        wait_running(ui, token)

        browser.goto(evil)
        browser.js("attack('toxic')")
        deadline = time.time() + 20
        while time.time() < deadline and "refused POST /chaos/toxic" not in "".join(
                ui.stderr_lines):
            time.sleep(0.2)
        assert "web UI refused POST /chaos/toxic" in "".join(ui.stderr_lines)
        assert toxics_on_toxiproxy(ui.journal) == []

        # the Chaos page's own form (token embedded), and a bad value told in the page
        browser.goto(f"{ui.base}/chaos/",
                     ready="document.getElementById('clock').textContent.includes('left')")
        browser.js("document.querySelector('#toxic-form button').click()")
        added = browser.wait_for("document.getElementById('toxic-msg').textContent")
        assert added.startswith("added"), added
        assert [t["type"] for t in toxics_on_toxiproxy(ui.journal)] == ["latency"]
        browser.js("document.querySelector('#toxic-form [name=toxicity]').value = '7';"
                   "document.querySelector('#toxic-form button').click()")
        refused = browser.wait_for("document.getElementById('toxic-msg').className"
                                   ".includes('bad') && document.getElementById('toxic-msg')"
                                   ".textContent")
        assert "toxicity" in refused
        browser.js("document.querySelector('#verbosity-form [name=cohort]').value = '0.8';"
                   "document.querySelector('#verbosity-form button').click()")
        assert browser.wait_for("document.getElementById('verbosity-msg').textContent"
                                ).startswith("added")
        browser.wait_for("document.getElementById('faults').textContent.includes('x60')")
    finally:
        browser.close()
        server.shutdown()

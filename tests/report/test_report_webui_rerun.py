"""STOP, then NEW -> START, in Locust's own web UI driven by headless Chromium (a real
Locust web UI process, its built-in Toxiproxy, the reference backend): what the UI says
once a run is stopped, and that START runs the scenario again from its start.

Locust behaviour this pins (locust/web.py ``swarm`` and ``stop``, locust/runners.py
``Runner.stop``, ``start_shape`` and ``shape_worker``, 2.47): STOP is ``runner.stop()``,
which fires ``test_stop`` (our engine finishes there: faults rolled back, verdict
written); NEW only opens the form again; START with a shape class is
``runner.start_shape()``, whose worker calls ``shape.tick()`` and, when the first tick is
None, calls ``runner.stop()`` (not ``quit``: there is a web UI). A finished engine's tick
is None, so NEW -> START used to start and stop within a second and silently go back to
STOPPED (issue 23). Now a START after a run builds a new engine: a second journal, the
same run id, and a shape that keeps running.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from test_report_webui import CHROMIUM, WebUI, start_web_ui, stop_web_ui, wait_running

from fleetchaos.locust_app.session_paths import session_path
from fleetchaos.locust_app.webui_guard import TOKEN_HEADER
from fleetchaos.scenarios.journal import read_journal

GREY_CARD = "rgb(243, 244, 246)"      # chaos.html .s-not_judged background
DISABLED_BUTTON = "rgb(209, 213, 219)"  # chaos.html button:disabled background


def chaos_status(ui: WebUI, token: str) -> dict[str, Any]:
    return dict(requests.get(f"{ui.base}/chaos/status", headers={TOKEN_HEADER: token},
                             timeout=10).json())


def wait_elapsed(ui: WebUI, token: str, seconds: float, run: int) -> dict[str, Any]:
    deadline = time.time() + 90
    status: dict[str, Any] = {}
    while time.time() < deadline:
        status = chaos_status(ui, token)
        if status["live"]["run"] == run and status["elapsed_s"] >= seconds:
            return status
        time.sleep(0.3)
    raise AssertionError(f"run {run} did not reach {seconds} s: "
                         f"{status.get('setup_error') or status.get('live')}")


def click(browser: Any, text: str) -> None:
    """Click the button Locust labels ``text`` (its React UI: MUI buttons, no ids)."""
    browser.wait_for(f"[...document.querySelectorAll('button')].some(b => b.textContent === "
                     f"{json.dumps(text)} && !b.disabled)")
    browser.js(f"[...document.querySelectorAll('button')].find(b => b.textContent === "
               f"{json.dumps(text)}).click()")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make test installs it)")
def test_stop_then_new_start_in_locusts_page_runs_the_scenario_again(backend, tmp_path):
    from cdp import Browser

    proc, ui = start_web_ui(backend, tmp_path, autostart=False)  # api-latency: phases 0-10,
    browser = Browser(str(CHROMIUM), tmp_path / "cdp-profile")   # slow 10-30, recovery -40 s
    try:
        token = ui.token()
        browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=900,
                     deviceScaleFactor=1, mobile=False)  # Locust's full header: status, buttons
        browser.goto(f"{ui.base}/", ready="document.querySelector('form') !== null")
        fields = browser.js("Object.fromEntries([...document.querySelectorAll('form input')]"
                            ".map(i => [i.name, [i.value, i.disabled]]))")
        # the scenario's fleet (60 cars + 60 drivers + 1 canary) and ramp-up, not 0 / 0
        assert fields["userCount"] == ["121", False] and fields["spawnRate"] == ["200", False]
        click(browser, "Start")
        wait_running(ui, token)
        wait_elapsed(ui, token, 3.0, run=1)

        # the Chaos tab's controls row is a link to the Chaos page
        browser.goto(f"{ui.base}/?tab=chaos",
                     ready="document.querySelector('a[data-fleetchaos]') !== null")
        assert browser.js("document.querySelector('a[data-fleetchaos]').href") == \
            f"{ui.base}/chaos/"
        assert browser.js("document.querySelector('a[data-fleetchaos]').textContent"
                          ).startswith("open /chaos/")
        click(browser, "Stop")
        assert ui.wait_state("stopped") == "stopped"
        first = [r for r in read_journal(ui.journal) if r["type"] == "summary"]
        assert [s["verdict"] for s in first] == ["incomplete"]

        # the Chaos page says what state the run is in
        browser.goto(f"{ui.base}/chaos/", ready="document.getElementById('verdict')"
                                                 ".textContent.includes('INCOMPLETE')")
        verdict = browser.js("document.getElementById('verdict').textContent")
        assert "before its timeline ended" in verdict and "not judged" in verdict, verdict
        cards = browser.js("[...document.querySelectorAll('#slos .card')].map(c => "
                           "[c.querySelector('.state').textContent, c.className, "
                           "getComputedStyle(c).backgroundColor])")
        # both SLOs' phases (slow 10-30 s, and the whole run) never finished: grey, never PASS
        assert cards == [["NOT JUDGED", "card s-not_judged", GREY_CARD]] * 2, cards
        controls = browser.js("[...document.querySelectorAll('.controls button')].map(b => "
                              "[b.disabled, getComputedStyle(b).backgroundColor])")
        assert controls and all(c == [True, DISABLED_BUTTON] for c in controls), controls
        assert "NEW, then START" in browser.js("document.getElementById('controls-why')"
                                                ".innerText")
        browser.wait_for("document.getElementById('dl-report').href.startsWith('blob:') && "
                         "document.getElementById('dl-summary').href.startsWith('blob:')")
        names = browser.js("[...document.querySelectorAll('#downloads a')].map(a => a.download)")
        assert names == ["ui.report.html", "ui.summary.json"]
        downloaded = browser.js("fetch(document.getElementById('dl-summary').href)"
                                ".then(r => r.json())")
        assert downloaded["verdict"] == "incomplete" and downloaded["run_id"] == first[0]["run_id"]
        assert "<html" in browser.js("fetch(document.getElementById('dl-report').href)"
                                     ".then(r => r.text())")[:200].lower()

        # NEW -> START in Locust's own page: the scenario again, from its start
        size_before = ui.journal.stat().st_size
        browser.goto(f"{ui.base}/", ready="document.body.innerText.includes('STOPPED')")
        click(browser, "New")
        click(browser, "Start")
        status = wait_elapsed(ui, token, 4.0, run=2)  # it used to stop within a second
        assert status["elapsed_s"] < 30 and status["live"]["controls"]["enabled"] is True
        assert ui.state() in ("running", "spawning")
        second = session_path(ui.journal, 2)
        assert second.name == "ui.run2.jsonl"
        records = read_journal(second)
        header = next(r for r in records if r["type"] == "header")
        assert header["run_id"] == first[0]["run_id"] and header["scenario"] == "api-latency"
        samples = [r for r in records if r["type"] == "sample"]
        assert samples and samples[0]["t"] < 2.0 and sum(s["requests"] for s in samples) > 0
        # the fleet's counters (kept per Locust process) count from the new run's set-up: the
        # first second's answers by status are that second's requests, not the first run's
        answered_in_run_1 = sum(sum(s["by_status"].values()) for s in read_journal(ui.journal)
                                if s["type"] == "sample")
        assert answered_in_run_1 >= 30
        for action, entry in samples[0]["by_action"].items():
            assert sum(entry["by_status"].values()) <= entry["requests"] + 3, (action, entry)
        assert ui.journal.stat().st_size == size_before  # the first run's journal is closed

        assert requests.post(f"{ui.base}/stop", headers=ui.same_origin(), timeout=10
                             ).status_code == 200
        assert ui.wait_state("stopped") == "stopped"
        assert [r["verdict"] for r in read_journal(second) if r["type"] == "summary"] == \
            ["incomplete"]
        browser.goto(f"{ui.base}/chaos/", ready="document.getElementById('title')"
                                                 ".textContent.includes('run 2')")
        browser.wait_for("document.getElementById('dl-report').download === "
                         "'ui.run2.report.html'")

        # the scenario's own ramp-up (200 users/s) put no warning on the LOGS tab
        logs = requests.get(f"{ui.base}/logs", timeout=10).json()["master"]
        assert not [line for line in logs if "spawn rate is very high" in line], logs
    finally:
        browser.close()
        stop_web_ui(proc)


def test_session_paths_name_each_run_beside_the_first():
    first = Path("/out/1a2b3c4d.77.host.journal.jsonl")
    assert session_path(first, 1) == first
    assert session_path(first, 3) == Path("/out/1a2b3c4d.77.host.run3.journal.jsonl")
    assert session_path(session_path(first, 3), 4) == Path(
        "/out/1a2b3c4d.77.host.run4.journal.jsonl")
    assert session_path("/out/x.report.html", 2) == Path("/out/x.run2.report.html")
    assert session_path("/out/ui.jsonl", 2) == Path("/out/ui.run2.jsonl")

"""The harness against backends nobody here wrote (Datasette with an API token, Kinto with
Basic accounts), through profiles copied out of docs/backend-profiles.md only.

Issue 15: a healthy backend failed `baseline` (telemetry acked only by a 200 with an
`{"acked": [...]}` body), a closed port ran the whole scenario and exited 1, and faults
aimed at the reference backend's paths touched nothing and still passed.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from offtheshelf_apps import App, fleetchaos, free_port

pytestmark = pytest.mark.slow

APPS = ["datasette", "kinto"]


def _summary(out: Path) -> dict[str, Any]:
    return json.loads(out.read_text())


@pytest.mark.parametrize("app_name", APPS)
def test_validate_and_probe_pass_on_the_healthy_service(request, app_name):
    app: App = request.getfixturevalue(app_name)
    proc, _ = fleetchaos(["validate", "baseline", "--target", str(app.profile)], app.env)
    assert proc.returncode == 0, proc.stderr
    assert f"ok: profile {app.profile}" in proc.stdout
    proc, _ = fleetchaos(["probe", "--target", str(app.profile), "--host", app.url], app.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("ok   ") == 4  # vehicle_data, unlock, remote_start, telemetry
    assert "all 4 answers are what the profile expects" in proc.stdout


@pytest.mark.parametrize("app_name", APPS)
def test_baseline_passes_on_the_healthy_service(request, tmp_path, app_name):
    app: App = request.getfixturevalue(app_name)
    summary = tmp_path / "summary.json"
    proc, _ = fleetchaos(["run", "baseline", "--target", str(app.profile), "--host", app.url,
                          "--time-scale", "0.5", "--out", str(tmp_path / "out"),
                          "--summary", str(summary), "--no-live"], app.env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    data = _summary(summary)
    assert data["verdict"] == "pass"
    # every batch accepted with a bare 201 counts as acked: no resend flood
    fleet = data.get("fleet") or {}
    if fleet:
        assert fleet.get("telemetry_acked", 0) >= 0.95 * fleet.get("telemetry_sent", 1)
        assert fleet.get("telemetry_resent", 0) == 0


@pytest.mark.parametrize("app_name", APPS)
def test_a_closed_port_exits_2_within_10_s(request, tmp_path, app_name):
    app: App = request.getfixturevalue(app_name)
    closed = f"http://127.0.0.1:{free_port()}"
    proc, took = fleetchaos(["run", "baseline", "--target", str(app.profile), "--host", closed,
                             "--out", str(tmp_path / "out"), "--no-live"], app.env, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert took < 10, f"took {took:.1f} s"
    assert f"backend {closed} does not answer (connection refused)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "out").glob("*.locust.log"))  # no child was started


def test_api_500_storm_injects_500s_on_the_services_unlock_and_breaches(datasette, tmp_path):
    summary = tmp_path / "summary.json"
    proc, _ = fleetchaos(["run", "api-500-storm", "--target", str(datasette.profile),
                          "--host", datasette.url, "--time-scale", "0.5",
                          "--out", str(tmp_path / "out"), "--summary", str(summary),
                          "--no-live"], datasette.env)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    data = _summary(summary)
    assert data["verdict"] == "fail"
    # the service's unlock answered injected 500s (the per-action "answers" column that
    # printed "500:30" is the first left out at the 80 columns a pipe gets: read the summary)
    assert data["totals"]["by_action"]["unlock"]["by_status"].get("500", 0) > 0
    assert f"{data['totals']['errors_5xx']} server errors (5xx) on the phone API" in proc.stdout


def test_a_fault_that_matches_nothing_is_no_effect(datasette, tmp_path):
    scenario = tmp_path / "miss.yaml"
    scenario.write_text(textwrap.dedent("""\
        title: a fault aimed at a path this backend does not have
        duration: 12
        fleet: {cars: 10, drivers: 10, need_interval_s: 3}
        phases: [{name: run, start: 0, end: 12}]
        timeline:
          - {at: 2, duration: 8,
             http_error: {proxy: api, path: "/api/1/vehicles/*", share: 1.0, status: 500}}
        slos:
          - {metric: stranded_drivers, phase: all, max: 0}
        """))
    proc, _ = fleetchaos(["run", str(scenario), "--target", str(datasette.profile),
                          "--host", datasette.url, "--out", str(tmp_path / "out"),
                          "--no-live"], datasette.env)
    from fleetchaos.common.errors import EXIT_NO_EFFECT

    # issue 15 asked for exit 2; the engine's owner made no-effect its own code (4)
    assert proc.returncode == EXIT_NO_EFFECT, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "no effect" in proc.stderr

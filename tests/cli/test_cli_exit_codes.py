"""Exit codes say what happened, as pytest's do (issue 16): 0 held, 1 breached, 2 bad input
or set-up, 3 the harness failed; one line on stderr, tracebacks only in the run's log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fleetchaos.common.child_process import start_child

SMALL = ["--time-scale", "0.2", "--set", "fleet.cars=5", "--set", "fleet.drivers=5", "--no-live"]


def one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.strip().splitlines() if not ln.startswith("fleetchaos: warning:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_help_documents_every_exit_code(cli):
    out = cli("--help").stdout
    for text in ("0 every SLO held", "1 an SLO breached", "2 bad input", "3 the harness",
                 "4 no effect"):
        assert text in " ".join(out.split()), text


@pytest.mark.slow
def test_a_breached_slo_exits_1_naming_it(cli, tmp_path):
    """A real measurement against a threshold no run can meet (unlock p95 <= 0 ms)."""
    scenario = tmp_path / "strict.yaml"
    scenario.write_text(textwrap.dedent("""\
        title: strict - unlock p95 of zero
        duration: 30
        fleet: {cars: 5, drivers: 5, need_interval_s: 2}
        phases: [{name: steady, start: 0, end: 30}]
        slos:
          - {metric: unlock_p95_ms, phase: steady, max: 0, min_samples: 1}
        """))
    result = cli("run", str(scenario), "--out", str(tmp_path / "out"), *SMALL, timeout=240)
    assert result.returncode == 1, result.stderr
    assert "SLO(s) breached: unlock_p95_ms" in one_line_error(result.stderr)


def test_an_unexpected_exception_exits_3_with_the_traceback_in_the_log(tmp_path):
    """Any exception the CLI did not expect: exit 3, one line, traceback in <run>.cli.log."""
    code = textwrap.dedent("""
        import sys
        import fleetchaos.runs.orchestrator as orchestrator
        def boom(opts):
            raise ZeroDivisionError("injected by the test")
        orchestrator.load_validated_scenario = boom
        from fleetchaos.cli.main import main
        sys.exit(main(sys.argv[1:]))
        """)
    result = subprocess.run([sys.executable, "-c", code, "run", "baseline", "--out",
                             str(tmp_path)], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 3
    line = one_line_error(result.stderr)
    assert "internal error: ZeroDivisionError: injected by the test" in line
    logs = list(tmp_path.glob("*.cli.log"))
    assert len(logs) == 1 and logs[0].name in line
    assert "Traceback" in logs[0].read_text() and "def boom" not in line


def _crash(tmp_path, target: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with ``target`` (module.function) raising, TMPDIR in ``tmp_path``."""
    module, function = target.rsplit(".", 1)
    code = textwrap.dedent(f"""
        import sys
        import {module} as victim
        def boom(*args, **kwargs):
            raise ZeroDivisionError("injected by the test")
        victim.{function} = boom
        from fleetchaos.cli.main import main
        sys.exit(main(sys.argv[1:]))
        """)
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL,
                          env={**os.environ, "TMPDIR": str(temp)})


def test_crash_logs_go_to_the_output_folder_or_replace_one_file_per_user(tmp_path):
    """Issue 27: every crash of a command without a run left a fleetchaos-<pid>.cli.log in
    the system temp folder that nothing removed. A sweep's crash goes to its --out; a
    report's to one file per user in the temp folder, which the next crash replaces."""
    sweep_out = tmp_path / "sweep"
    result = _crash(tmp_path, "fleetchaos.runs.sweep.run_once", "sweep", "baseline",
                    "--vary", "fleet.cars=5,6", "--out", str(sweep_out))
    assert result.returncode == 3
    [log] = list(sweep_out.glob("fleetchaos-*.cli.log"))
    assert log.name in one_line_error(result.stderr) and "Traceback" in log.read_text()
    assert not list((tmp_path / "tmp").iterdir())
    journal = tmp_path / "j.jsonl"
    journal.write_text('{"type":"header","t":0}\n')
    for _ in range(3):
        result = _crash(tmp_path, "fleetchaos.reports.run.export.write_all", "report", str(journal))
        assert result.returncode == 3, result.stderr
        assert "injected by the test" in one_line_error(result.stderr)
    [log] = list((tmp_path / "tmp").iterdir())
    assert log.name == f"fleetchaos-{os.getuid()}.crash.log" and log.name in result.stderr
    assert log.read_text().count("Traceback") == 1  # the last crash's, not a pile
    # a symlink planted under that name is not followed
    log.unlink()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    log.symlink_to(victim)
    result = _crash(tmp_path, "fleetchaos.reports.run.export.write_all", "report", str(journal))
    assert result.returncode == 3 and victim.read_text() == "keep me"
    assert "traceback in" not in result.stderr


@pytest.mark.slow
def test_a_step_that_fails_mid_run_exits_3(tmp_path):
    """The Toxiproxy the run uses goes away before the fault's time: the step fails, the
    engine stops the run, the CLI says so in one line and exits 3 (not 1, a breach)."""
    toxiproxy = start_child("toxiproxy", [sys.executable, "-m", "fleetchaos.toxiproxy_server",
                                          "--port", "0"])
    journal = tmp_path / "j.jsonl"
    env = dict(os.environ, TOXIPROXY_URL=toxiproxy.url, NO_COLOR="1")
    cli = subprocess.Popen([sys.executable, "-m", "fleetchaos.cli", "run", "api-latency",
                            "--time-scale", "0.3", "--set", "fleet.cars=5",
                            "--set", "fleet.drivers=5", "--out", str(tmp_path),
                            "--journal", str(journal), "--no-live"],
                           env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and cli.poll() is None:
            if journal.exists() and '"header"' in journal.read_text():
                break
            time.sleep(0.1)
        header = json.loads(journal.read_text().splitlines()[0])
        assert header["timeline"][0]["at_s"] >= 2.0  # the fault is still to come
        toxiproxy.stop()
        _out, err = cli.communicate(timeout=180)
    finally:
        toxiproxy.stop()
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert cli.returncode == 3, err
    line = one_line_error(err)
    assert line.startswith("fleetchaos: error: the run failed: step 0") and ".locust.log" in line


def out_options(path: Path) -> list[str]:
    return ["--out", str(path), *SMALL]


@pytest.mark.parametrize("case", ["out-under-file", "summary-under-file", "html-is-dir",
                                  "journal-exists", "junit-same-as-summary"])
def test_unusable_output_paths_exit_2_before_anything_starts(cli, tmp_path, case):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = tmp_path / "out"
    args = {
        "out-under-file": ["--out", str(blocker / "out")],
        "summary-under-file": ["--summary", str(blocker / "s.json")],
        "html-is-dir": ["--html", str(tmp_path)],
        "journal-exists": ["--journal", str(blocker)],
        "junit-same-as-summary": ["--summary", str(out / "r.xml"), "--junit", str(out / "r.xml")],
    }[case]
    started = time.monotonic()
    result = cli("run", "baseline", *out_options(out), *args)
    assert result.returncode == 2, result.stderr
    line = one_line_error(result.stderr)
    assert line.startswith("fleetchaos: error: --")
    assert time.monotonic() - started < 30
    assert not list(out.glob("*.log")) and not list(out.glob("*.db"))  # no child ever started


def _read_only_dir(tmp_path: Path) -> Path | None:
    """A directory writes to which fail: a read-only tmpfs as root, chmod 0500 otherwise."""
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)],
                              capture_output=True)
        return ro if done.returncode == 0 else None
    ro.chmod(0o500)
    return ro


def test_out_under_a_read_only_parent_exits_2(cli, tmp_path):
    ro = _read_only_dir(tmp_path)
    if ro is None:
        pytest.skip("root, but cannot mount a read-only tmpfs here")
    try:
        result = cli("run", "baseline", *out_options(ro / "out"))
        assert result.returncode == 2, result.stderr
        assert "Read-only file system" in one_line_error(result.stderr) \
            or "Permission denied" in result.stderr
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(ro)], check=False)


def test_toxiproxy_with_a_missing_config_exits_2(cli, tmp_path):
    result = cli("toxiproxy", "--config", str(tmp_path / "missing.json"))
    assert result.returncode == 2
    assert "missing.json" in one_line_error(result.stderr)

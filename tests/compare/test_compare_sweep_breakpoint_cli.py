"""`fleetchaos sweep` and `fleetchaos breakpoint` as a user runs them: bad input refused
before anything starts (fast), and tiny real runs (slow: real Toxiproxy, backend, Locust)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TINY = ["--time-scale", "0.1", "--set", "fleet.cars=10", "--set", "fleet.drivers=5"]
FLOOD_SLO = "unlocks keep working during the flood"


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"}
    env.update(NO_COLOR="1", COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "fleetchaos.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def one_line_exit_2(res: subprocess.CompletedProcess[str], message: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


@pytest.mark.parametrize("vary, message", [
    # the name the issue uses is not the fleet's: refused, naming the valid one
    ("fleet.retry_policy=fixed-1s,exp-full-jitter,retry-budget", "exponential-full-jitter"),
    ("fleet.bogus=1,2", "fleet.bogus"),
    ("timeline.7.verbosity.level=1,2", "timeline.7: no such list item"),
    ("fleet.cars=10,-5", "fleet.cars"),
    ("fleet.cars", "expected KEY=V1,V2"),
    ("fleet.cars=1,,2", "an empty value"),
])
def test_sweep_refuses_any_bad_combination_before_the_first_run(tmp_path: Path, vary: str,
                                                                message: str) -> None:
    out = tmp_path / "out"
    res = cli("sweep", "verbosity-flood-2021", "--vary", "fleet.drivers=3,4", "--vary", vary,
              "--out", str(out))
    one_line_exit_2(res, message)
    assert not out.exists()  # nothing ran, nothing was written


def test_sweep_refuses_a_used_folder_and_unwritable_reports(tmp_path: Path) -> None:
    """Journals are appended to: a second sweep into the same folder would mix runs."""
    used = tmp_path / "used"
    used.mkdir()
    (used / "sweep.json").write_text("{}")
    args = ["sweep", "verbosity-flood-2021", "--vary", "fleet.drivers=3,4"]
    one_line_exit_2(cli(*args, "--out", str(used)), "already holds a sweep (sweep.json)")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = tmp_path / "fresh"
    one_line_exit_2(cli(*args, "--out", str(out), "--html", str(blocker / "r.html")),
                    "a-file: not a directory")
    assert not any(out.glob("*.journal.jsonl"))


@pytest.mark.parametrize("args, message", [
    (["--search", "fleet.cars=10..1", "--slo", FLOOD_SLO], "LO must be below HI"),
    (["--search", "fleet.cars", "--slo", FLOOD_SLO], "expected KEY=LO..HI"),
    (["--search", "fleet.cars=1..9", "--slo", "no such slo"], "has no such SLO"),
    (["--search", "fleet.bogus=1..9", "--slo", FLOOD_SLO], "fleet.bogus"),
    (["--search", "fleet.cars=1..9", "--slo", FLOOD_SLO, "--budget", "soon"],
     "expected a duration"),
])
def test_breakpoint_refuses_bad_input_before_the_first_run(tmp_path: Path, args: list[str],
                                                           message: str) -> None:
    out = tmp_path / "out"
    one_line_exit_2(cli("breakpoint", "verbosity-flood-2021", *args, "--out", str(out)),
                    message)
    assert not out.exists()


@pytest.mark.slow
def test_sweep_two_policies_tiny_real_runs(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    res = cli("sweep", "verbosity-flood-2021", "--vary",
              "fleet.retry_policy=fixed-1s,retry-budget", *TINY, "--out", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads((out / "sweep.json").read_text())
    assert [r["combo"] for r in data["runs"]] == [{"fleet.retry_policy": "fixed-1s"},
                                                   {"fleet.retry_policy": "retry-budget"}]
    for run in data["runs"]:
        journal = Path(run["journal"])
        header = json.loads(journal.read_text().splitlines()[0])
        assert header["type"] == "header" and run["slos"]
        # the policy really reached the run: the engine's header carries the fleet it used
        assert run["combo"]["fleet.retry_policy"] in journal.read_text()
        assert run["journal"] in res.stdout and run["journal"] in (out / "sweep.md").read_text()
    rows = [ln for ln in res.stdout.splitlines()  # a row per combination (or a block at 80)
            if re.match(r"\s*\d+\s+(fleet\.retry_policy=)?(fixed-1s|retry-budget)\b", ln)]
    assert len(rows) == 2
    page = (out / "sweep.html").read_text()
    assert page.count('<figure class="chart"') == len(data["runs"][0]["slos"])  # one per SLO
    assert ">fixed-1s</span>" in page and ">retry-budget</span>" in page


@pytest.mark.slow
def test_breakpoint_real_runs_budget_then_resume(tmp_path: Path) -> None:
    """A budget that fits one to three tiny runs stops the search (exit 1) with every run in
    its journal; the same command again resumes from that journal instead of starting over."""
    # 5 drivers at --time-scale 0.1 make a handful of unlocks in the flood: below the SLO's
    # default min_samples every run would measure nothing (exit 4, tested apart), so the
    # SLO is judged here on what there is. Whatever the outcomes, no conclusion comes in
    # fewer than --repeat-near 5 runs, and 22 s fits the first (estimated at the scaled
    # 6 s scenario + 15 s) and at most three of 6 s or more: the budget always stops it.
    args = ["breakpoint", "verbosity-flood-2021", "--search",
            "timeline.0.verbosity.level=1..60", "--slo", FLOOD_SLO, *TINY,
            "--set", "slos.0.min_samples=1", "--repeat-near", "5", "--out", str(tmp_path)]
    first = cli(*args, "--budget", "22s")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "budget ran out" in first.stderr
    [journal] = list(tmp_path.glob("breakpoint-*/search.jsonl"))
    records = [json.loads(x) for x in journal.read_text().splitlines()]
    runs = [r for r in records if r["type"] == "run"]
    assert records[0]["type"] == "search" and records[-1]["type"] == "result"
    assert 1 <= len(runs) <= 3 and runs[0]["value"] == 1
    assert all(r["status"] in ("pass", "fail") and r["samples"] >= 1 for r in runs)
    assert all(Path(r["journal"]).is_file() for r in runs)
    second = cli(*args, "--budget", "1s")  # no room for another run: replay only
    assert second.returncode == 1
    assert f"resuming: {len(runs)} runs already made" in second.stdout
    assert "so far (stopped by the budget)" in second.stdout
    again = [json.loads(x) for x in journal.read_text().splitlines()]
    assert [r for r in again if r["type"] == "run"] == runs


@pytest.mark.slow
def test_breakpoint_stops_on_a_run_whose_slo_lacked_samples(tmp_path: Path) -> None:
    """The flood phase of a tiny run holds a few unlocks, fewer than the SLO's min_samples:
    the run says nothing about level 1, so the search stops there (exit 4) instead of
    calling level 1 broken on three such runs, as it did before."""
    result = cli("breakpoint", "verbosity-flood-2021", "--search",
                 "timeline.0.verbosity.level=1..60", "--slo", FLOOD_SLO, *TINY,
                 "--out", str(tmp_path), "--budget", "5m")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "level=1: not measured: the run judged the SLO on" in result.stdout
    assert "fewer than its min_samples 20" in result.stderr
    assert "it places nothing, so the search stopped" in result.stderr
    assert "Traceback" not in result.stderr

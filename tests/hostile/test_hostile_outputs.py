"""No command writes over one of its inputs, and every output that cannot be written is
one line and exit 2, before anything is written (issue 27).

`report j.jsonl --html j.jsonl` replaced the journal with its report; a hard link, a
symlink or another spelling of the journal did the same; `--html DIR` and `--html
/dev/full` were exit 3 and a traceback file. Each case here is the issue's reproduction,
run through the real CLI on a journal written by the real JournalWriter."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "compare"))  # the journal factory
from compare_journals import write_run

OUTPUTS = ["--html", "--summary", "--junit", "--markdown"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "TMPDIR": str(cwd)}
    env.pop("TOXIPROXY_URL", None)
    return subprocess.run([sys.executable, "-m", "fleetchaos.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    lines = [x for x in proc.stderr.strip().splitlines() if ": warning:" not in x]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return write_run(tmp_path / "j.jsonl", run_id="r1", unlock_500=3, stranded=0)


def no_crash_log(folder: Path) -> None:
    assert not list(folder.glob("fleetchaos-*.log")), "a crash log was written"


@pytest.mark.parametrize("option", OUTPUTS)
def test_report_refuses_to_write_over_its_journal_however_it_is_named(
        tmp_path: Path, journal: Path, option: str) -> None:
    os.link(journal, tmp_path / "hard.jsonl")
    (tmp_path / "sym.jsonl").symlink_to(journal)
    before = digest(journal)
    for name in ("j.jsonl", "./j.jsonl", str(journal), "hard.jsonl", "sym.jsonl",
                 "sub/../j.jsonl"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        proc = cli("report", "j.jsonl", option, name, cwd=tmp_path)
        assert proc.returncode == 2, (name, proc.stderr)
        assert option in one_line(proc) and "input" in one_line(proc)
        assert digest(journal) == before
    # a symlink named as the journal, the real file as the output: the same
    proc = cli("report", "sym.jsonl", option, "j.jsonl", cwd=tmp_path)
    assert proc.returncode == 2 and digest(journal) == before
    assert cli("report", "j.jsonl", cwd=tmp_path).returncode == 1  # still a journal
    no_crash_log(tmp_path)


@pytest.mark.parametrize("option", OUTPUTS)
def test_report_refuses_an_unwritable_output_before_writing_any(tmp_path: Path, journal: Path,
                                                               option: str) -> None:
    other = "--summary" if option != "--summary" else "--html"
    for target, words in ((str(tmp_path), "directory"), ("/dev/full", "No space")):
        if target == "/dev/full" and not Path("/dev/full").exists():
            continue
        proc = cli("report", "j.jsonl", other, "first.out", option, target, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert words in one_line(proc) and option in one_line(proc)
        assert not (tmp_path / "first.out").exists(), "nothing written before the refusal"
    no_crash_log(tmp_path)


def test_two_outputs_on_one_file_are_refused(tmp_path: Path, journal: Path) -> None:
    proc = cli("report", "j.jsonl", "--html", "r.out", "--markdown", "./r.out", cwd=tmp_path)
    assert proc.returncode == 2 and "the same file as --html" in one_line(proc)


def test_compare_refuses_to_write_over_base_or_new(tmp_path: Path, journal: Path) -> None:
    new = write_run(tmp_path / "new.jsonl", run_id="r2", unlock_500=3, stranded=0)
    before = digest(new)
    for option in ("--markdown", "--html"):
        for target, words in (("new.jsonl", "NEW"), ("j.jsonl", "BASE"),
                              (str(tmp_path), "directory"), ("/dev/full", "No space")):
            proc = cli("compare", "j.jsonl", "new.jsonl", option, target, cwd=tmp_path)
            assert proc.returncode == 2, proc.stderr
            assert words in one_line(proc)
    assert digest(new) == before
    no_crash_log(tmp_path)


def _scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text("title: tiny\nduration: 10\nfleet: {cars: 5, drivers: 5}\n"
                    "phases: [{name: steady, start: 0, end: 10}]\n"
                    "slos: [{name: fast, metric: unlock_p95_ms, phase: steady, max: 1000}]\n")
    return path


@pytest.mark.parametrize("option", ["--journal", "--summary", "--html", "--junit", "--markdown"])
def test_run_refuses_to_write_over_its_scenario_or_profile(tmp_path: Path, option: str) -> None:
    scenario = _scenario(tmp_path)
    profile = tmp_path / "p.yaml"
    profile.write_text((Path(__file__).parents[2] / "fleet_sim/profiles/reference.yaml")
                       .read_text())
    before = digest(scenario), digest(profile)
    for target, words in (("s.yaml", "the scenario"), ("p.yaml", "the profile")):
        proc = cli("run", "s.yaml", "--target", "p.yaml", option, target, "--out", "out",
                   cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert words in one_line(proc) and option in one_line(proc)
    assert (digest(scenario), digest(profile)) == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("option", ["--summary", "--html", "--junit", "--markdown"])
def test_run_refuses_an_unwritable_output_before_it_starts(tmp_path: Path, option: str) -> None:
    _scenario(tmp_path)
    for target, words in ((str(tmp_path), "directory"), ("/dev/full", "No space")):
        proc = cli("run", "s.yaml", option, target, "--out", "out", cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert words in one_line(proc) and option in one_line(proc)
        assert not list((tmp_path / "out").glob("*.journal.jsonl")), "the run started"


def test_sweep_checks_every_output_before_its_first_run(tmp_path: Path) -> None:
    _scenario(tmp_path)
    for option in ("--html", "--markdown"):
        for target, words in (("s.yaml", "the scenario"), (str(tmp_path), "directory"),
                              ("/dev/full", "No space")):
            out = tmp_path / f"sw{abs(hash((option, target)))}"
            proc = cli("sweep", "s.yaml", "--vary", "fleet.cars=5,6", "--out", str(out),
                       option, target, cwd=tmp_path)
            assert proc.returncode == 2, proc.stderr
            assert words in one_line(proc)
            assert not list(out.glob("*.journal.jsonl")), "no run started"


SLO = "fast"


@pytest.mark.parametrize("content", [
    "run-journal", "text", "garbage", "scenario"])
def test_breakpoint_refuses_a_journal_that_is_not_its_own(tmp_path: Path, content: str) -> None:
    scenario = _scenario(tmp_path)
    target = tmp_path / "given.jsonl"
    if content == "run-journal":
        write_run(target, run_id="r1", unlock_500=0, stranded=0)
    elif content == "text":
        target.write_text("some notes\nmore notes\n")
    elif content == "garbage":
        target.write_bytes(bytes(range(1, 256)).replace(b"\n", b""))
    else:
        target = scenario
    before = digest(target)
    proc = cli("breakpoint", "s.yaml", "--search", "fleet.cars=5..9", "--slo", SLO,
               "--journal", str(target), "--out", "bp", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    one_line(proc)
    assert digest(target) == before, "nothing appended"
    assert not list((tmp_path / "bp").rglob("*.journal.jsonl"))


def test_breakpoint_with_a_budget_shorter_than_one_run_exits_1(tmp_path: Path) -> None:
    """docs/compare-sweep-breakpoint.md: the budget ran out first is exit 1, also before
    the first run (it was exit 0 with status no_runs)."""
    _scenario(tmp_path)
    proc = cli("breakpoint", "s.yaml", "--search", "fleet.cars=5..9", "--slo", SLO,
               "--budget", "2s", "--out", "bp", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "shorter than one run" in one_line(proc)
    [journal] = list((tmp_path / "bp").glob("breakpoint-*/search.jsonl"))
    records = [json.loads(x) for x in journal.read_text().splitlines()]
    assert [r["type"] for r in records] == ["search", "result"]
    assert records[-1]["status"] == "stopped" and records[-1]["runs"] == 0
    # the same command again: its own journal is accepted (resumed), still nothing to run
    again = cli("breakpoint", "s.yaml", "--search", "fleet.cars=5..9", "--slo", SLO,
                "--budget", "2s", "--out", "bp", "--journal", str(journal), cwd=tmp_path)
    assert again.returncode == 1, again.stderr

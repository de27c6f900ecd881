"""A journal no run writes is one line and exit 2 from every command that reads one, and
what makes a reading weaker than it looks is said (issue 27).

A line nested 100,000 levels deep was a RecursionError (exit 3) from `report`, `compare`
and `breakpoint`; a 1 GB line cost 2.1 GB of memory (`compare` 3.3 GB): lines are
bounded at the JSON-parsing step (scenarios/journal.py), so every reader shares it. A
journal claiming a newer fleetchaos, and `compare` of two different scenarios, rendered
without a word."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fleetchaos.common.errors import UsageError
from fleetchaos.scenarios.journal import MAX_LINE_BYTES, JournalError, read_journal

sys.path.insert(0, str(Path(__file__).parents[1] / "compare"))  # the journal factory
from compare_journals import write_run


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "TMPDIR": str(cwd)}
    return subprocess.run([sys.executable, "-m", "fleetchaos.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text + "\n")


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_run(tmp_path / "good.jsonl", run_id="r1", unlock_500=0, stranded=0)


@pytest.mark.parametrize("depth", [100_000, 900, 65])
def test_a_deeply_nested_line_is_refused_by_report_and_compare(tmp_path: Path, good: Path,
                                                               depth: int) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text(good.read_text())
    _append(deep, '{"type":"sample","x":' + "[" * depth + "]" * depth + "}")
    for args in (["report", "deep.jsonl"], ["compare", "good.jsonl", "deep.jsonl"],
                 ["compare", "deep.jsonl", "good.jsonl"]):
        proc = cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        line = error_line(proc)
        assert "deep.jsonl:" in line and "nested deeper than 64" in line
    assert not list(tmp_path.glob("fleetchaos-*.log"))


def test_depth_up_to_the_bound_reads_and_one_past_it_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    inner = "[" * 63 + "]" * 63  # the record itself is level 1
    path.write_text('{"type":"sample","x":' + inner + "}\n")
    assert len(read_journal(path)) == 1
    path.write_text('{"type":"sample","x":[' + inner + "]}\n")
    with pytest.raises(JournalError) as info:
        read_journal(path)
    assert isinstance(info.value, UsageError) and f"{path}:1:" in str(info.value)


def test_a_deep_summary_json_is_refused_by_compare(tmp_path: Path, good: Path) -> None:
    (tmp_path / "deep.json").write_text('{"slos":' + "[" * 100_000 + "]" * 100_000 + "}")
    proc = cli("compare", "good.jsonl", "deep.json", cwd=tmp_path)
    assert proc.returncode == 2 and "nested deeper" in error_line(proc)


def test_breakpoint_refuses_a_deep_line_in_its_journal(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "title: tiny\nduration: 10\nfleet: {cars: 5, drivers: 5}\n"
        "phases: [{name: steady, start: 0, end: 10}]\n"
        "slos: [{name: fast, metric: unlock_p95_ms, phase: steady, max: 1000}]\n")
    args = ["breakpoint", "s.yaml", "--search", "fleet.cars=5..9", "--slo", "fast",
            "--budget", "1s", "--out", "bp"]
    assert cli(*args, cwd=tmp_path).returncode == 1  # writes the search's own journal
    [journal] = list((tmp_path / "bp").glob("breakpoint-*/search.jsonl"))
    _append(journal, '{"type":"run","value":' + "[" * 100_000 + "]" * 100_000 + "}")
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 2 and "nested deeper than 64" in error_line(proc)


def _peak_rss_mb(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    code = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], "
            "capture_output=True, text=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); "
            "print(p.returncode); sys.stderr.write(p.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "fleetchaos.cli",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=180)
    peak, rc = proc.stdout.split()
    return subprocess.CompletedProcess(args, int(rc), "", proc.stderr), float(peak)


def test_an_over_long_line_is_refused_without_holding_it(tmp_path: Path, good: Path) -> None:
    """A line 4x the bound (64 MiB): refused with one line, and the reader's peak memory
    stays far below the line's size (before the bound: the line, its text and more)."""
    big = tmp_path / "big.jsonl"
    big.write_text(good.read_text())
    with big.open("a", encoding="utf-8") as fh:
        fh.write('{"type":"sample","x":"')
        chunk = "a" * (1 << 20)
        for _ in range(4 * MAX_LINE_BYTES // len(chunk)):
            fh.write(chunk)
        fh.write('"}\n')
    _append(big, json.dumps({"type": "sample", "t": 99.0}))
    for args in (["report", "big.jsonl"], ["compare", "big.jsonl", "good.jsonl"]):
        proc, peak_mb = _peak_rss_mb(args, tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "big.jsonl:" in error_line(proc) and "at most 16 MiB" in proc.stderr
        assert peak_mb < 64 + 40, f"{args[0]} peaked at {peak_mb:.0f} MB for a 64 MiB line"


def _edited(source: Path, target: Path, **header: object) -> Path:
    out = []
    for line in source.read_text().splitlines():
        record = json.loads(line)
        if record["type"] == "header":
            record.update(header)
        if record["type"] == "summary" and "scenario" in header:
            record["scenario"] = header["scenario"]
        out.append(json.dumps(record))
    target.write_text("\n".join(out) + "\n")
    return target


def test_a_journal_from_a_newer_fleetchaos_is_read_with_a_warning(tmp_path: Path,
                                                                  good: Path) -> None:
    _edited(good, tmp_path / "v99.jsonl", versions={"fleetchaos": "99.0.0"})
    for args in (["report", "v99.jsonl"], ["compare", "good.jsonl", "v99.jsonl"]):
        proc = cli(*args, cwd=tmp_path)
        assert proc.returncode in (0, 1), proc.stderr
        warnings = [x for x in proc.stderr.splitlines() if "warning" in x]
        assert len(warnings) == 1 and "99.0.0" in warnings[0] and "newer" in warnings[0]
    quiet = cli("report", "good.jsonl", cwd=tmp_path)
    assert "warning" not in quiet.stderr


def test_compare_of_two_scenarios_warns(tmp_path: Path, good: Path) -> None:
    _edited(good, tmp_path / "other.jsonl", scenario="api-latency")
    proc = cli("compare", "good.jsonl", "other.jsonl", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    [warning] = [x for x in proc.stderr.splitlines() if "warning" in x]
    assert "verbosity-flood-2021" in warning and "api-latency" in warning
    same = cli("compare", "good.jsonl", "good.jsonl", cwd=tmp_path)
    assert "warning" not in same.stderr

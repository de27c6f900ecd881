"""`fleetchaos compare`: the regression gate, on journals and summaries made without a run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from compare_journals import write_run, write_summary

from fleetchaos.reports.compare.comparison import Tolerance, compare
from fleetchaos.runs.compare import load_run

GOOD = {"unlock_500": 0, "stranded": 0}
BAD = {"unlock_500": 10, "stranded": 2}  # flood unlocks 20/30 ok, two drivers stranded


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleetchaos.cli", "compare", *args],
                          capture_output=True, text=True, timeout=60,
                          env={"NO_COLOR": "1", "COLUMNS": "120", "PATH": "/usr/bin:/bin"})


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, Path]:
    return {"good": write_run(tmp_path / "good.journal.jsonl", run_id="good0001", **GOOD),
            "good2": write_run(tmp_path / "good2.journal.jsonl", run_id="good0002", **GOOD),
            "bad": write_run(tmp_path / "bad.journal.jsonl", run_id="bad00001", **BAD)}


def test_worse_new_run_is_a_regression_exit_1(runs: dict[str, Path], tmp_path: Path) -> None:
    md, page = tmp_path / "pr.md", tmp_path / "cmp.html"
    res = cli(str(runs["good"]), str(runs["bad"]), "--markdown", str(md), "--html", str(page))
    assert res.returncode == 1, res.stderr
    assert "REGRESSION" in res.stdout and "BASE (good0001) is better" in res.stdout
    row = next(ln for ln in res.stdout.splitlines() if "unlocks work in the flood" in ln)
    assert re.search(r"100\.0% ✓\s+66\.7% ✗\s+-33\.3 pt\s+±2\.0 pt\s+WORSE", row), row
    text = md.read_text()
    assert text.startswith("## ❌ fleetchaos compare") and "🔴 worse" in text
    assert "| nobody stranded | 0 ✅ | 2 ❌ | +2 |" in text
    html = page.read_text()
    # both runs' series drawn on the same axes: one dashed BASE path and one NEW path per chart
    assert sum(html.count(f'<figure class="chart" data-title="{t}"') for t in (
        "Unlock success ratio", "Share of phone API answers that were 5xx",
        "p95 latency of all requests", "Stranded (cumulative, attempts)",
        "Telemetry records acked per second")) == 5
    assert html.count('data-series="BASE good0001"') >= 5
    assert html.count('data-series="NEW bad00001"') >= 5
    assert "stroke-dasharray" in html  # BASE dashed
    assert "REGRESSION" in html


def test_better_new_run_is_no_regression_and_named_better(runs: dict[str, Path]) -> None:
    res = cli(str(runs["bad"]), str(runs["good"]))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no regression; on balance NEW (good0001) is better" in res.stdout


def test_same_figures_are_no_regression(runs: dict[str, Path]) -> None:
    res = cli(str(runs["good"]), str(runs["good2"]))
    assert res.returncode == 0
    assert "no difference beyond tolerance" in res.stdout


def test_tolerance_option_widens_the_gate(runs: dict[str, Path]) -> None:
    worse = write_run(runs["good"].parent / "slightly.journal.jsonl", run_id="slight01",
                      unlock_500=1, stranded=0)  # 20/21 = 95.2 %: 4.8 points worse
    assert cli(str(runs["good"]), str(worse)).returncode == 1
    res = cli(str(runs["good"]), str(worse), "--tolerance", "unlock_success_ratio=0.05",
              "--tolerance", "error_5xx_ratio=0.05", "--tolerance", "api_p95_ms=50%")
    assert res.returncode == 0, res.stdout


def test_repeat_spread_sets_the_tolerance(runs: dict[str, Path], tmp_path: Path) -> None:
    """Summaries carrying a measured spread per SLO: a change inside it is noise."""
    worse = write_run(tmp_path / "w.journal.jsonl", run_id="w0000001", unlock_500=1, stranded=0)
    base = load_run(str(write_summary(tmp_path / "b.json", runs["good"], spread=0.06)))
    new = load_run(str(write_summary(tmp_path / "n.json", worse, spread=0.01)))
    slo = next(r for r in compare(base, new).slos if r.metric == "unlock_success_ratio")
    assert slo.tolerance == Tolerance(0.06) and slo.tolerance_source == "spread"
    assert slo.status == "same"
    narrow = load_run(str(write_summary(tmp_path / "b2.json", runs["good"], spread=0.01)))
    slo = next(r for r in compare(narrow, new).slos if r.metric == "unlock_success_ratio")
    assert slo.status == "regression"


def test_direction_comes_from_the_slo_operator(runs: dict[str, Path]) -> None:
    """>= : a lower observation is worse; <= : a higher one is."""
    c = compare(load_run(str(runs["good"])), load_run(str(runs["bad"])))
    by_name = {r.name: r for r in c.slos}
    assert by_name["unlocks work in the flood"].higher_is_better
    assert by_name["unlocks work in the flood"].worse_by == pytest.approx(1 / 3, abs=1e-3)
    assert not by_name["nobody stranded"].higher_is_better
    assert by_name["nobody stranded"].worse_by == 2
    flood = {r.metric: r for r in c.phases if r.group == "flood"}
    assert flood["error_5xx_ratio"].status == "regression"
    assert flood["telemetry_ack_ratio"].status == "regression"
    assert {r.status for r in c.phases if r.group == "baseline"} == {"same"}


def test_summary_json_sides_compare_without_charts(runs: dict[str, Path], tmp_path: Path) -> None:
    base = write_summary(tmp_path / "base.json", runs["good"])
    page = tmp_path / "c.html"
    res = cli(str(base), str(runs["bad"]), "--html", str(page))
    assert res.returncode == 1
    assert "No charts" in page.read_text()


@pytest.mark.parametrize("args, message", [
    (["missing.jsonl", "{good}"], "missing.jsonl: no such file"),
    (["{junk}", "{good}"], "not a fleetchaos journal"),
    (["{obj}", "{good}"], "without 'slos'"),
    (["{good}", "{bad}", "--tolerance", "latency=5"], "unknown metric 'latency'"),
    (["{good}", "{bad}", "--tolerance", "unlock_success_ratio=lots"], "is not a number"),
    (["{good}", "{bad}", "--tolerance", "unlock_success_ratio"], "expected METRIC=VALUE"),
])
def test_bad_input_exit_2_one_line(runs: dict[str, Path], tmp_path: Path, args: list[str],
                                   message: str) -> None:
    (tmp_path / "junk.txt").write_text("hello\nworld\n")
    (tmp_path / "obj.json").write_text('{"verdict": "pass"}')
    paths = {"good": runs["good"], "bad": runs["bad"], "junk": tmp_path / "junk.txt",
             "obj": tmp_path / "obj.json"}
    res = cli(*(a.format(**paths) for a in args))
    assert res.returncode == 2
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


def test_nothing_in_common_is_bad_input(runs: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"slos": [{"name": "x", "metric": "recovery_s", "op": "<=", '
                     '"threshold": 1, "observed": 1}], "phases": []}')
    res = cli(str(runs["good"]), str(other))
    assert res.returncode == 2 and "nothing to compare" in res.stderr


def test_latency_tolerance_has_a_floor_so_milliseconds_are_not_a_regression() -> None:
    """8 -> 10 ms is +25 %, but 2 ms of a tiny p95 is noise: the 20 % default has a 50 ms
    floor (two tiny real runs were flagged as a regression on exactly this before)."""
    from fleetchaos.reports.compare.comparison import DEFAULT_TOLERANCES, Row

    tol = DEFAULT_TOLERANCES["api_p95_ms"]
    small = Row("flood", "api_p95_ms", "api_p95_ms", False, 8.0, 10.0, tol, "default")
    assert small.status == "same"
    large = Row("flood", "api_p95_ms", "api_p95_ms", False, 1000.0, 1300.0, tol, "default")
    assert large.status == "regression"
    assert Row("flood", "api_p95_ms", "api_p95_ms", False, 1000.0, 1150.0, tol,
               "default").status == "same"


def test_reads_the_repeat_summary_that_fleetchaos_run_repeat_writes(tmp_path: Path) -> None:
    """The contract with `--repeat` (fleetchaos/runs/repeat.py aggregate): each SLO's
    ``median`` is compared, and the tolerance is the larger ``spread`` (min..max)."""
    import json

    from fleetchaos.runs.repeat import aggregate
    from fleetchaos.scenarios.journal import read_journal

    def summary(i: int, **kw: int) -> dict[str, object]:
        path = write_run(tmp_path / f"{i}.journal.jsonl", run_id=f"rep{i:05d}", **kw)
        return next(r for r in read_journal(path) if r["type"] == "summary")

    # BASE: 20/20, 20/21, 20/22 ok in the flood (spread 9 points); NEW: 20/21 each time
    base = aggregate([summary(i, unlock_500=i, stranded=0) for i in range(3)])
    new = aggregate([summary(10 + i, unlock_500=1, stranded=0) for i in range(3)])
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "new.json").write_text(json.dumps(new))
    c = compare(load_run(str(tmp_path / "base.json")), load_run(str(tmp_path / "new.json")))
    flood = next(r for r in c.slos if r.metric == "unlock_success_ratio")
    assert flood.base == pytest.approx(20 / 21, abs=1e-4) and flood.tolerance_source == "spread"
    assert flood.tolerance.value == pytest.approx(1 - 20 / 22, abs=1e-3)
    assert flood.status == "same" and not c.regressions
    single = aggregate([summary(20, unlock_500=0, stranded=0)])  # one run: no spread measured
    (tmp_path / "one.json").write_text(json.dumps(single))
    c = compare(load_run(str(tmp_path / "one.json")), load_run(str(tmp_path / "new.json")))
    assert next(r for r in c.slos if r.metric == "unlock_success_ratio").tolerance_source \
        == "default"

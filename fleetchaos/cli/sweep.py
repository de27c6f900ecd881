"""`fleetchaos sweep SCENARIO --vary KEY=V1,V2 ...`: one real run per combination, one report.

Each run is what `fleetchaos run SCENARIO --set KEY=V` does (the same function,
``fleetchaos.api.run``: its own Toxiproxy, backend and Locust, its own journal), so a
sweep's figures mean what a single run's mean. Every combination is validated before
the first run starts: a bad key or value ends the sweep with exit 2 before anything
runs. The sweep prints one line per run and then the table; ``sweep.json`` holds every
run, and the reports are rendered from it.

Exit codes: 0 every run completed (their verdicts are the table's content, not the
sweep's), 2 bad input, 3 a run could not run (the report lists the runs made so far).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetchaos.cli.errors import EXIT_BAD_INPUT, EXIT_BREACH, EXIT_PASS, UsageError

EXIT_RUN_FAILED = 3  # as `fleetchaos run`: the harness failed
EXIT_NO_EFFECT = 4  # as `fleetchaos run`: the faults never reached the traffic

EPILOG = """\
examples:
  fleetchaos sweep verbosity-flood-2021 \\
      --vary fleet.retry_policy=fixed-1s,exponential-full-jitter,retry-budget
  fleetchaos sweep api-500-storm --vary fleet.retry_policy=fixed-1s,retry-budget \\
      --vary fleet.cars=100,300 --repeat 3 --out sweep-out

KEY is any scenario field --set accepts (fleet.cars, timeline.0.verbosity.level, ...).
Writes DIR/sweep.json, DIR/sweep.html, DIR/sweep.md and every run's journal in DIR.
exit codes: 0 every run completed, 2 bad input (nothing was started), 3 a run failed"""


@dataclass
class RunSettings:
    """What every run of a sweep (or a breakpoint search) shares: `fleetchaos run`'s options."""

    scenario: str
    sets: list[str] = field(default_factory=list)
    seed: int | None = None
    time_scale: float = 1.0
    target: str | None = None
    host: str | None = None
    workers: int = 1
    allow_remote: bool = False
    out_dir: Path = Path("fleetchaos-out")


@dataclass
class RunResult:
    """One finished run: its exit code, its journal and the summary read back from it."""

    rc: int
    journal: Path
    seconds: float
    summary: dict[str, Any]
    error: str | None = None

    @property
    def verdict(self) -> str:
        return str(self.summary.get("verdict", "incomplete"))

    @property
    def completed(self) -> bool:
        return self.error is None and self.rc in (EXIT_PASS, EXIT_BREACH, EXIT_NO_EFFECT)

    def slo(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.summary.get("slos") or [] if s.get("name") == name), None)


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The `fleetchaos run` options a sweep or a search passes to every run."""
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario field in every run (repeatable)")
    p.add_argument("--seed", type=int, metavar="N", help="seed for every run")
    p.add_argument("--time-scale", type=float, default=1.0, metavar="X",
                   help="multiply every time in the timeline (0.5 = twice as fast)")
    p.add_argument("--target", metavar="PROFILE", help="backend profile (default: the scenario's)")
    p.add_argument("--host", metavar="URL", help="your backend's base URL")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="Locust worker processes per run")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow targets outside 127.0.0.0/8 and ::1")


def settings_from(ns: argparse.Namespace, out_dir: Path) -> RunSettings:
    if not ns.time_scale > 0:
        raise UsageError(f"--time-scale must be a positive number, got {ns.time_scale}")
    if ns.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {ns.workers}")
    return RunSettings(scenario=ns.scenario, sets=list(ns.sets), seed=ns.seed,
                       time_scale=ns.time_scale, target=ns.target, host=ns.host,
                       workers=ns.workers, allow_remote=ns.allow_remote, out_dir=out_dir)


def validate_overrides(settings: RunSettings, extra: list[str], what: str) -> None:
    """Load the scenario with these overrides as the run would, and check the fleet too
    (the fleet's own validation otherwise runs only once the processes are up)."""
    from fleetchaos.fleet_sim.config import FleetConfig
    from fleetchaos.scenarios.loader import load_scenario

    try:
        scenario = load_scenario(settings.scenario, overrides=[*settings.sets, *extra],
                                 time_scale=settings.time_scale)
    except ValueError as exc:  # ScenarioError: the message names file, line and key
        raise UsageError(f"{what}: {exc}") from None
    known = set(FleetConfig.__dataclass_fields__)
    try:
        FleetConfig.from_dict({k: v for k, v in scenario.fleet.items() if k in known})
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{what}: {scenario.source}: fleet: {exc}") from None


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_")[:80] or "run"


def _summary_from_journal(journal: Path) -> dict[str, Any]:
    from fleetchaos.scenarios.journal import read_journal
    from fleetchaos.scenarios.summary import build_summary

    if not journal.is_file():
        return {"verdict": "incomplete", "slos": []}
    records = read_journal(journal)
    summary = next((r for r in reversed(records) if r.get("type") == "summary"), None)
    if summary is None:
        summary = build_summary(records) if records else {"verdict": "incomplete", "slos": []}
    return {k: v for k, v in summary.items() if k not in ("type", "t")}


def run_once(settings: RunSettings, extra_sets: list[str], name: str) -> RunResult:
    """One `fleetchaos run` with ``--set`` for each of ``extra_sets``; journal ``name``.

    Goes through :func:`fleetchaos.api.run`, the function behind `fleetchaos run`, with
    the terminal report off so the caller's output stays one line per run (the journal
    re-renders with `fleetchaos report`). A harness failure is a result, not an exception;
    Ctrl-C stops the run and propagates.
    """
    from fleetchaos.api import run
    from fleetchaos.cli.errors import HarnessError

    settings.out_dir.mkdir(parents=True, exist_ok=True)
    journal = settings.out_dir / f"{name}.journal.jsonl"
    overrides = dict(item.partition("=")[::2] for item in [*settings.sets, *extra_sets])
    started = time.monotonic()
    error = None
    try:
        summary = run(settings.scenario, target=settings.target, host=settings.host,
                      seed=settings.seed, time_scale=settings.time_scale, overrides=overrides,
                      out=settings.out_dir, workers=settings.workers,
                      allow_remote=settings.allow_remote, journal=journal, quiet=True)
        rc = summary.exit_code
    except UsageError as exc:
        rc, error = EXIT_BAD_INPUT, str(exc)
    except HarnessError as exc:
        rc, error = EXIT_RUN_FAILED, str(exc)
    return RunResult(rc, journal, round(time.monotonic() - started, 1),
                     _summary_from_journal(journal), error)


def parse_vary(items: list[str]) -> dict[str, list[str]]:
    if not items:
        raise UsageError("sweep needs at least one --vary KEY=V1,V2,...")
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        values = [v.strip() for v in raw.split(",")]
        if not sep or not key or not raw.strip():
            raise UsageError(f"--vary {item!r}: expected KEY=V1,V2,..., e.g. "
                             "fleet.retry_policy=fixed-1s,retry-budget")
        if any(not v for v in values):
            raise UsageError(f"--vary {item!r}: an empty value (two commas, or one at an end)")
        if key in out:
            raise UsageError(f"--vary {key}: given twice; list every value in one --vary")
        if len(set(values)) != len(values):
            raise UsageError(f"--vary {item!r}: a value is listed twice")
        out[key] = values
    return out


def combinations(vary: dict[str, list[str]]) -> list[dict[str, str]]:
    keys = list(vary)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*vary.values())]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fleetchaos sweep", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a scenario once per combination of the --vary values (a matrix "
                    "when several are given) and write one report: a row per combination, "
                    "a column per SLO, a chart of each SLO against the varied value.")
    p.add_argument("scenario", metavar="SCENARIO", help="built-in name or YAML path")
    p.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a scenario field and its values (repeatable: the runs are the matrix)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="runs per combination (cells show the median and how many held)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="where the journals and reports go (default: fleetchaos-out/sweep-ID)")
    p.add_argument("--html", type=Path, metavar="FILE", help="HTML report (default DIR/sweep.html)")
    p.add_argument("--markdown", type=Path, metavar="FILE",
                   help="Markdown report (default DIR/sweep.md)")
    p.add_argument("--width", type=int, default=None, help="terminal width to render at")
    add_run_arguments(p)
    return p


def write_reports(sweep: dict[str, Any], out_dir: Path, html_path: Path,
                  md_path: Path) -> None:
    from fleetchaos.reports.sweep_html import render_sweep_html
    from fleetchaos.reports.sweep_markdown import render_sweep_markdown

    (out_dir / "sweep.json").write_text(json.dumps(sweep, indent=2, default=str) + "\n",
                                        encoding="utf-8")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_sweep_html(sweep), encoding="utf-8")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(render_sweep_markdown(sweep), encoding="utf-8")


def _check_writable(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{uuid.uuid4().hex[:6]}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"{what}: cannot write to {folder}: {exc.strerror}") from None


def plan(combos: list[dict[str, str]], repeat: int) -> list[tuple[dict[str, str], int, str]]:
    """(combination, repeat number, journal name) of every run, in the order they run."""
    out = []
    for index, combo in enumerate(combos, 1):
        name = f"{index:02d}-" + slug("_".join(f"{k}={v}" for k, v in combo.items()))
        for r in range(1, repeat + 1):
            out.append((combo, r, f"{name}-r{r}" if repeat > 1 else name))
    return out


def _check_fresh(out_dir: Path, runs: list[tuple[dict[str, str], int, str]]) -> None:
    """A journal is appended to, never truncated: a second sweep into the same folder
    would mix two runs in one file, so it is refused before anything starts."""
    taken = [out_dir / "sweep.json"] + [out_dir / f"{name}.journal.jsonl" for *_, name in runs]
    for path in taken:
        if path.exists():
            raise UsageError(f"--out {out_dir}: already holds a sweep ({path.name}); "
                             "choose another --out")


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from fleetchaos.reports.sweep_terminal import SweepReport

    ns = build_parser().parse_args(argv)
    if ns.repeat < 1:
        raise UsageError(f"--repeat must be at least 1, got {ns.repeat}")
    vary = parse_vary(ns.vary)
    out_dir: Path = ns.out or Path("fleetchaos-out") / f"sweep-{uuid.uuid4().hex[:8]}"
    settings = settings_from(ns, out_dir)
    combos = combinations(vary)
    for combo in combos:  # every combination checked before the first run starts
        sets = [f"{k}={v}" for k, v in combo.items()]
        validate_overrides(settings, sets, "--vary " + " ".join(sets))
    runs = plan(combos, ns.repeat)
    _check_fresh(out_dir, runs)
    html_path = ns.html or out_dir / "sweep.html"
    md_path = ns.markdown or out_dir / "sweep.md"
    _check_writable(out_dir, "--out")
    _check_writable(html_path.parent, "--html")
    _check_writable(md_path.parent, "--markdown")
    sweep: dict[str, Any] = {"scenario": ns.scenario, "vary": vary, "repeat": ns.repeat,
                             "sets": settings.sets, "time_scale": settings.time_scale,
                             "seed": settings.seed, "runs": []}
    rc = EXIT_PASS
    print(f"sweep {ns.scenario}: {len(combos)} combination(s) x {ns.repeat} = {len(runs)} "
          f"runs into {out_dir}", flush=True)
    for n, (combo, repeat, name) in enumerate(runs, 1):
        sets = [f"{k}={v}" for k, v in combo.items()]
        try:
            result = run_once(settings, sets, name)
        except KeyboardInterrupt:
            print("fleetchaos sweep: interrupted; the report lists the runs made so far",
                  file=sys.stderr)
            rc = 130
            break
        sweep["runs"].append({"combo": combo, "repeat": repeat, "journal": str(result.journal),
                              "rc": result.rc, "seconds": result.seconds,
                              "verdict": result.verdict, "error": result.error,
                              "run_id": result.summary.get("run_id"),
                              "slos": result.summary.get("slos") or []})
        print(f"[{n}/{len(runs)}] {' '.join(sets)}: {result.verdict.upper()} "
              f"({result.seconds:g} s, exit {result.rc}) {result.journal}", flush=True)
        if not result.completed:
            print(f"fleetchaos sweep: run {n} did not complete (exit {result.rc}"
                  f"{': ' + result.error if result.error else ''}); "
                  f"its log is in {out_dir}", file=sys.stderr)
            rc = result.rc if result.rc >= 128 else EXIT_RUN_FAILED
            break
    try:
        write_reports(sweep, out_dir, html_path, md_path)
    except OSError as exc:
        raise UsageError(f"cannot write the sweep's report: {exc}") from None
    Console(width=ns.width).print(SweepReport(sweep))
    for label, path in (("data", out_dir / "sweep.json"), ("HTML", html_path),
                        ("Markdown", md_path)):
        print(f"{label:>8}: {path}")
    return rc


if __name__ == "__main__":
    sys.exit(main())

"""A sweep as library code: one real run per combination of values, one report.

Each run is what `fleetchaos run SCENARIO --set KEY=V` does (the same function,
:func:`fleetchaos.runs.orchestrator.execute`: its own Toxiproxy, backend and Locust, its
own journal), so a sweep's figures mean what a single run's mean. Every combination is
validated before the first run starts: a bad key or value ends the sweep with exit 2
before anything runs. ``sweep.json`` holds every run, and the reports are rendered from
it. `fleetchaos sweep` (``fleetchaos.cli.sweep``) parses the options and prints.

Exit codes: 0 every run completed (their verdicts are the table's content, not the
sweep's), 2 bad input, 3 a run could not run (the report lists the runs made so far).
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetchaos.common.errors import EXIT_BAD_INPUT, EXIT_BREACH, EXIT_PASS, UsageError
from fleetchaos.common.run_options import BY_NAME
from fleetchaos.runs.output_paths import check_outputs, run_inputs

if TYPE_CHECKING:
    from fleetchaos.runs.options import RunOptions

EXIT_RUN_FAILED = 3  # as `fleetchaos run`: the harness failed
EXIT_NO_EFFECT = 4  # as `fleetchaos run`: the faults never reached the traffic

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
    allow_host: str | None = None
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


def validate_overrides(settings: RunSettings, extra: list[str], what: str) -> None:
    """Load the scenario with these overrides as the run would, check the fleet too (the
    fleet's own validation otherwise runs only once the processes are up) and that the
    machine can hold the run (workers, open files)."""
    from fleetchaos.fleet_sim.config import FleetConfig
    from fleetchaos.runs.orchestrator import check_machine, scenario_profile
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
    opts = run_options(settings, extra, settings.out_dir / "validate.journal.jsonl")
    try:
        check_machine(scenario, opts, scenario_profile(scenario, opts))
    except UsageError as exc:
        raise UsageError(f"{what}: {exc}") from None


def split_combo(settings: RunSettings, combo: dict[str, str]) -> tuple[RunSettings, list[str]]:
    """One combination as the run's settings and its ``--set`` items: a key that names a
    run option every run takes (``workers``, ``seed``, ``time_scale``, ...: declared
    ``varies``) sets that option, parsed and checked by its declaration; any other key
    is a scenario field."""
    changes: dict[str, Any] = {}
    sets: list[str] = []
    for key, text in combo.items():
        declared = BY_NAME.get(key)
        if declared is not None and declared.varies:
            changes[key] = declared.parse(text, "cli", named=f"--vary {key}=")
        else:
            sets.append(f"{key}={text}")
    return replace(settings, **changes), sets


def run_options(settings: RunSettings, extra_sets: list[str], journal: Path) -> RunOptions:
    """The options of one run of a sweep or a search (quiet: one line per run)."""
    from fleetchaos.runs.options import RunOptions

    return RunOptions(scenario=settings.scenario, target=settings.target, host=settings.host,
                      seed=settings.seed, time_scale=settings.time_scale,
                      sets=[*settings.sets, *extra_sets], out_dir=settings.out_dir,
                      workers=settings.workers, allow_remote=settings.allow_remote,
                      allow_host=settings.allow_host, journal=journal, live=False, quiet=True, api=False)


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

    Goes through :func:`fleetchaos.runs.orchestrator.execute`, the function behind
    `fleetchaos run`, with the terminal report off so the caller's output stays one line
    per run (the journal re-renders with `fleetchaos report`). A harness failure is a
    result, not an exception; Ctrl-C stops the run and propagates.
    """
    from fleetchaos.runs.orchestrator import execute

    settings.out_dir.mkdir(parents=True, exist_ok=True)
    journal = settings.out_dir / f"{name}.journal.jsonl"
    started = time.monotonic()
    error = None
    opts = run_options(settings, extra_sets, journal)
    try:
        result = execute(opts)
    except UsageError as exc:
        rc, error = EXIT_BAD_INPUT, str(exc)
    else:
        if result.exit_code == 128 + signal.SIGINT:
            raise KeyboardInterrupt  # Ctrl-C stopped the run (everything it started is stopped)
        rc = result.exit_code
        if result.summary is None or rc not in (EXIT_PASS, EXIT_BREACH, EXIT_NO_EFFECT):
            rc, error = EXIT_RUN_FAILED, result.message or "the run ended without a summary"
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


def write_reports(sweep: dict[str, Any], out_dir: Path, html_path: Path,
                  md_path: Path) -> None:
    from fleetchaos.reports.sweep.html import render_sweep_html
    from fleetchaos.reports.sweep.markdown import render_sweep_markdown

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


Say = Callable[[str], None]  # one line of progress (the CLI prints it)


@dataclass
class SweepPlan:
    """A checked sweep: every combination validated, every output writable, nothing run."""

    settings: RunSettings
    vary: dict[str, list[str]]
    repeat: int
    out_dir: Path
    html_path: Path
    md_path: Path
    runs: list[tuple[dict[str, str], int, str]]


def default_out_dir() -> Path:
    return Path("fleetchaos-out") / f"sweep-{uuid.uuid4().hex[:8]}"


def prepare(settings: RunSettings, vary: dict[str, list[str]], repeat: int, *,
            html: Path | None = None, markdown: Path | None = None) -> SweepPlan:
    """Validate every combination and every output before the first run (UsageError, exit 2)."""
    if repeat < 1:
        raise UsageError(f"--repeat must be at least 1, got {repeat}")
    combos = combinations(vary)
    for combo in combos:  # every combination checked before the first run starts
        varied, sets = split_combo(settings, combo)
        validate_overrides(varied, sets, "--vary " + " ".join(f"{k}={v}" for k, v in combo.items()))
    out_dir = settings.out_dir
    runs = plan(combos, repeat)
    _check_fresh(out_dir, runs)
    html_path = html or out_dir / "sweep.html"
    md_path = markdown or out_dir / "sweep.md"
    _check_writable(out_dir, "--out")
    # every output before the first run: not an input, not a folder, writable (/dev/full)
    check_outputs({"--html": html_path, "--markdown": md_path,
                   f"--out {out_dir}: sweep.json": out_dir / "sweep.json"},
                  run_inputs(settings.scenario, [settings.target]))
    return SweepPlan(settings, vary, repeat, out_dir, html_path, md_path, runs)


def run_sweep(sweep_plan: SweepPlan, *, say: Say, warn: Say) -> tuple[int, dict[str, Any]]:
    """Run every planned run in order, then write sweep.json and the reports; return the
    exit code and the sweep's record. Stops at the first run that did not complete."""
    p, settings = sweep_plan, sweep_plan.settings
    runs = p.runs
    sweep: dict[str, Any] = {"scenario": settings.scenario, "vary": p.vary, "repeat": p.repeat,
                             "sets": settings.sets, "time_scale": settings.time_scale,
                             "seed": settings.seed, "runs": []}
    rc = EXIT_PASS
    say(f"sweep {settings.scenario}: {len(combinations(p.vary))} combination(s) x {p.repeat} = "
        f"{len(runs)} runs into {p.out_dir}")
    for n, (combo, repeat, name) in enumerate(runs, 1):
        varied, extra = split_combo(settings, combo)
        sets = [f"{k}={v}" for k, v in combo.items()]
        try:
            result = run_once(varied, extra, name)
        except KeyboardInterrupt:
            warn("fleetchaos sweep: interrupted; the report lists the runs made so far")
            rc = 130
            break
        sweep["runs"].append({"combo": combo, "repeat": repeat, "journal": str(result.journal),
                              "rc": result.rc, "seconds": result.seconds,
                              "verdict": result.verdict, "error": result.error,
                              "run_id": result.summary.get("run_id"),
                              "slos": result.summary.get("slos") or []})
        say(f"[{n}/{len(runs)}] {' '.join(sets)}: {result.verdict.upper()} "
            f"({result.seconds:g} s, exit {result.rc}) {result.journal}")
        if not result.completed:
            warn(f"fleetchaos sweep: run {n} did not complete (exit {result.rc}"
                 f"{': ' + result.error if result.error else ''}); "
                 f"its log is in {p.out_dir}")
            rc = result.rc if result.rc >= 128 else EXIT_RUN_FAILED
            break
    try:
        write_reports(sweep, p.out_dir, p.html_path, p.md_path)
    except OSError as exc:
        raise UsageError(f"cannot write the sweep's report: {exc}") from None
    return rc, sweep

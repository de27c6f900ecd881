"""How `fleetchaos ui` ends: every run made in the web UI, reported like `run` reports one.

A web UI session may hold several runs (NEW -> START runs the scenario again: journals
``<run>.journal.jsonl``, ``<run>.run2.journal.jsonl``, ...; the Locust side names them,
``fleetchaos.locust_app.session_paths``). Each run's engine writes its HTML
report and summary beside its journal when it ends (Locust's ``--html-report`` and
``--summary``, which ``ui`` always passes), so the Chaos page can offer them at once.
As each run ends, its verdict and files are said at once on the terminal
(``SessionWatch``: the UI stays open for the next run). When the UI is closed (Ctrl-C, or
the process told to stop) this prints, for each run, the terminal report (verdict first)
and its files, then the logs; nothing to say is said too ("no run was started").

The exit code is the last run's verdict, as `run` would give it (0 pass, 1 fail or
stopped before the end, 3 harness error, 4 no effect), and 128+N when the signal that
closed the UI also cut a run short.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fleetchaos.common.errors import EXIT_BAD_INPUT, EXIT_HARNESS, UsageError


class Options(Protocol):  # the orchestrator's RunOptions, as far as a session needs it
    out_dir: Path
    run_id: str
    summary: Path | None
    html: Path | None
    quiet: bool

    @property
    def journal_path(self) -> Path: ...


@dataclass
class SessionEnd:
    """How the session ended (the orchestrator turns it into its RunResult)."""

    exit_code: int
    summary: dict[str, Any] | None
    journal: Path | None
    message: str


REPORT_SUFFIXES = {"summary": ".summary.json", "html": ".report.html"}


def default_report_paths(opts: Options) -> None:
    """`ui` writes each run's summary and HTML report beside its journal."""
    base = opts.out_dir / opts.run_id
    for name, suffix in REPORT_SUFFIXES.items():
        if getattr(opts, name) is None:
            setattr(opts, name, Path(f"{base}{suffix}"))


def session_runs(opts: Options) -> list[tuple[Path, dict[str, Path]]]:
    """(journal, {"summary": path, "html": path}) of each run the session made, in order;
    report paths only where the file was written."""
    from fleetchaos.locust_app.session_paths import run_number, session_journals, session_path

    runs = []
    for journal in session_journals(opts.journal_path):
        try:
            if journal.stat().st_size == 0:
                continue  # an engine that never set up (or was replaced by the start form)
        except OSError:
            continue
        number = run_number(journal)
        files = {}
        for name in REPORT_SUFFIXES:
            first = getattr(opts, name)
            path = session_path(first, number) if first is not None else None
            if path is not None and path.exists():
                files[name] = path
        runs.append((journal, files))
    return runs


class SessionWatch:
    """Says each run's verdict and files as soon as the run ends (its engine writes the
    summary file last but one, the HTML report last: both are waited for)."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.said = 0

    def poll(self) -> None:
        import json

        from fleetchaos.locust_app.session_paths import session_path

        opts = self.opts
        if opts.summary is None:
            return
        run = self.said + 1
        summary_path = session_path(opts.summary, run)
        html = session_path(opts.html, run) if opts.html is not None else None
        if not summary_path.exists() or (html is not None and not html.exists()):
            return
        try:
            summary = json.loads(summary_path.read_text())
        except (OSError, ValueError):
            return  # being written: next time
        self.said = run
        verdict = str(summary.get("verdict") or "?")
        why = str(summary.get("verdict_reason") or summary.get("error") or _why(summary))
        journal = session_path(opts.journal_path, run)
        files = [f"journal {journal}", f"summary {summary_path}"]
        if html is not None:
            files.append(f"HTML {html}")
        print(f"fleetchaos: run {run} ended: verdict {verdict.upper()}"
              f"{': ' + why if why else ''}\n  {'; '.join(files)}", flush=True)


def run_in_progress(opts: Options) -> bool:
    """Did the session's last run have a header but no summary yet (it is going on)?"""
    from fleetchaos.scenarios.journal import read_journal

    runs = session_runs(opts)
    if not runs:
        return False
    try:
        types = {r.get("type") for r in read_journal(runs[-1][0])}
    except OSError:
        return False
    return "header" in types and "summary" not in types


def end_of_session(opts: Options, *, rc: int, signalled: int | None, cut_a_run_short: bool,
                   logs: dict[str, Path], reason: str | None) -> SessionEnd:
    """Print every run's report and files; the RunResult of the session (see the module)."""
    from rich.console import Console

    from fleetchaos.reports.run.report import RunReport
    from fleetchaos.reports.run.terminal import render_terminal
    from fleetchaos.scenarios.journal import read_journal
    from fleetchaos.scenarios.outcome import exit_code

    runs = session_runs(opts)
    locust_log = logs.get("locust")
    if not runs and signalled is None and rc == EXIT_BAD_INPUT:
        raise UsageError(reason or f"the web UI could not start; see {locust_log}")
    console = Console()
    summaries: list[dict[str, Any] | None] = []
    for i, (journal, files) in enumerate(runs, 1):
        records = read_journal(journal)
        summary = next((r for r in reversed(records) if r.get("type") == "summary"), None)
        summaries.append(summary)
        if len(runs) > 1:
            console.rule(f"run {i} of {len(runs)} in the web UI")
        if not opts.quiet:
            render_terminal(RunReport.from_records(records), console)
            for label, path in (("journal", journal), ("summary", files.get("summary")),
                                ("HTML", files.get("html"))):
                if path is not None:
                    print(f"{label:>8}: {path}")
    if logs and not opts.quiet:
        print(f"{'logs':>8}: {', '.join(str(p) for p in logs.values())}")
    last = summaries[-1] if summaries else None
    journal_path = runs[-1][0] if runs else None
    if last is None:
        said = "no run was started in the web UI: nothing to report" if not runs else \
            "the web UI's last run ended without a verdict (see its journal)"
        code = 128 + signalled if signalled is not None else (
            EXIT_HARNESS if runs else 0)
        return SessionEnd(code, None, journal_path, said)
    summary = {k: v for k, v in last.items() if k not in ("type", "t")}
    verdict = str(summary.get("verdict") or "")
    why = str(summary.get("verdict_reason") or summary.get("error") or _why(summary))
    message = f"verdict {verdict.upper()}: {why}" if why else f"verdict {verdict.upper()}"
    if signalled is not None and cut_a_run_short:
        return SessionEnd(128 + signalled, summary, journal_path,
                          f"interrupted by signal {signalled} mid-run: {message}")
    return SessionEnd(exit_code(verdict), summary, journal_path, message)


def _why(summary: dict[str, Any]) -> str:
    verdict = summary.get("verdict")
    slos = summary.get("slos") or []
    if verdict == "fail":
        failed = [str(s.get("name") or s.get("metric")) for s in slos if not s.get("passed")]
        return f"{len(failed)} SLO(s) breached: {'; '.join(failed)}"
    if verdict == "incomplete":
        return (f"the run was stopped at {float(summary.get('duration_s') or 0):.0f} s, "
                "before its timeline ended: no verdict on the SLOs whose phase never finished")
    if verdict == "pass":
        return "every SLO held"
    return ""


def say(result: Any) -> None:
    """The session's last line on stderr (as `run` says its verdict)."""
    if result.message:
        print(f"fleetchaos: {result.message}", file=sys.stderr)

"""The breakpoint search as library code: where does an SLO break along one field?

`fleetchaos breakpoint SCENARIO --search KEY=LO..HI --slo NAME` (``fleetchaos.cli.breakpoint``)
parses its options and prints; the search (``Space``, ``next_value``, ``conclude``,
``search``) and its journal live here.

Bisection on one numeric scenario field for the smallest value at which the named SLO
breaks, assuming more of it is never better (more verbosity, more cars, more latency).
One run per probe while the interval is wide; once the two values that bracket the
break are within the resolution, each is run again until it has ``--repeat-near`` runs,
and a value counts as broken when most of its runs broke. A value that flips on a
repeat moves the bracket and the bisection goes on from there, so a single unlucky run
cannot place the breaking point. The answer is the smallest broken value with its band:
the largest value that held in every run below any failure, and the smallest value that
broke in every run above any success; values in between behaved both ways.

Every run is appended to the search's own journal (JSON Lines) as it ends, and the
search is a function of the outcomes recorded there: rerunning with the same arguments
replays them and continues where it stopped. ``--budget`` bounds one invocation: no run
starts when it would end past the budget (its length estimated from the runs so far).

A run that measured nothing at its value (its SLO lacked samples or never finished its
phase, or its fault was under-delivered) is not a break: the search stops at it
(``Probe.measured``). The exit codes are the command's (:mod:`fleetchaos.cli.breakpoint`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleetchaos.common.errors import VERDICT_CODES, UsageError
from fleetchaos.runs.output_paths import check_not_inputs, run_inputs
from fleetchaos.runs.sweep import (
    EXIT_RUN_FAILED,
    RunResult,
    RunSettings,
    run_once,
    slug,
    validate_overrides,
)

RUN_OVERHEAD_S = 15.0  # start-up and teardown of one run, before any run has been timed

@dataclass(frozen=True)
class Space:
    """The searched field and its range."""

    key: str
    lo: float
    hi: float
    integer: bool
    resolution: float

    def text(self, value: float) -> str:
        """The value as ``--set`` gets it and the report prints it."""
        return str(int(value)) if self.integer else f"{value:.6g}"

    def midpoint(self, a: float, b: float) -> float:
        mid = (a + b) / 2
        return float(math.floor(mid)) if self.integer else float(f"{mid:.6g}")


Outcomes = dict[float, list[bool]]  # value -> one entry per run: True when the SLO held


def _state(runs: list[bool]) -> str:
    held = sum(runs)
    broke = len(runs) - held
    return "held" if held > broke else "broke" if broke > held else "tie"


def next_value(space: Space, outcomes: Outcomes, repeat_near: int) -> float | None:
    """The value to run next, or None when the search is finished. Pure: replayable."""
    for value, runs in sorted(outcomes.items()):
        if runs and _state(runs) == "tie":
            return value  # an even split decides nothing: one more run
    for edge, bad in ((space.lo, "broke"), (space.hi, "held")):
        runs = outcomes.get(edge, [])
        if not runs:
            return edge
        if _state(runs) == bad:  # broken already at LO, or holding even at HI
            return edge if len(runs) < repeat_near else None
    hi = min(v for v, r in outcomes.items() if r and _state(r) == "broke")
    lo = max(v for v, r in outcomes.items() if r and _state(r) == "held" and v < hi)
    if hi - lo > space.resolution:
        mid = space.midpoint(lo, hi)
        if lo < mid < hi:
            return mid
    for edge in (hi, lo):
        if len(outcomes[edge]) < repeat_near:
            return edge
    return _tighten_band(space, outcomes, repeat_near)


def _tighten_band(space: Space, outcomes: Outcomes, repeat_near: int) -> float | None:
    """Narrow the band once the majority boundary stands: below the first value that ever
    broke, find a value that held in ``repeat_near`` runs within the resolution (and above
    the last value that ever held, one that broke in as many), each by bisection."""
    first_fail = min((v for v, r in outcomes.items() if not all(r)), default=None)
    last_held = max((v for v, r in outcomes.items() if any(r)), default=None)
    if first_fail is not None:
        solid = max((v for v, r in outcomes.items() if all(r) and v < first_fail),
                    default=None)
        if solid is not None:
            if len(outcomes[solid]) < repeat_near:
                return solid
            if first_fail - solid > space.resolution:
                mid = space.midpoint(solid, first_fail)
                if solid < mid < first_fail:
                    return mid
    if last_held is not None:
        solid = min((v for v, r in outcomes.items() if not any(r) and v > last_held),
                    default=None)
        if solid is not None:
            if len(outcomes[solid]) < repeat_near:
                return solid
            if solid - last_held > space.resolution:
                mid = space.midpoint(last_held, solid)
                if last_held < mid < solid:
                    return mid
    return None


@dataclass(frozen=True)
class Finding:
    status: str  # found, breaks_at_lo, holds_at_hi, stopped, no_runs
    breaking_point: float | None
    held_at: float | None  # the largest value that held in every run below any failure
    broke_at: float | None  # the smallest value that broke in every run above any success
    flaky: list[float]
    runs: int

    def sentence(self, space: Space, slo: str) -> str:
        t = space.text
        band = (f"band: held in every run at {t(self.held_at) if self.held_at is not None else '-'}"
                f", broke in every run at {t(self.broke_at) if self.broke_at is not None else '-'}")
        if self.flaky:
            band += f"; both ways at {', '.join(t(v) for v in self.flaky)}"
        if self.status == "holds_at_hi":
            return f"'{slo}' holds up to {space.key} = {t(space.hi)}: no breaking point in range"
        if self.status == "breaks_at_lo":
            return f"'{slo}' is broken already at {space.key} = {t(space.lo)} ({band})"
        if self.status == "no_runs":
            return f"no run made yet for '{slo}'"
        if self.status == "stopped" and not self.runs:
            return f"no run made for '{slo}': the budget ran out before the first run"
        prefix = "so far (stopped by the budget): " if self.status == "stopped" else ""
        if self.breaking_point is None:
            return f"{prefix}no run broke '{slo}' yet ({band}; {self.runs} runs)"
        bp = t(self.breaking_point)
        return f"{prefix}'{slo}' breaks at {space.key} = {bp} ({band}; {self.runs} runs)"


def conclude(space: Space, outcomes: Outcomes, *, finished: bool) -> Finding:
    runs = sum(len(r) for r in outcomes.values())
    if not runs:  # not finished: the budget was shorter than the first run
        return Finding("no_runs" if finished else "stopped", None, None, None, [], 0)
    failed_any = [v for v, r in outcomes.items() if not all(r)]
    held_any = [v for v, r in outcomes.items() if any(r)]
    first_fail = min(failed_any, default=math.inf)
    last_held = max(held_any, default=-math.inf)
    held_at = max((v for v, r in outcomes.items() if all(r) and v < first_fail), default=None)
    broke_at = min((v for v, r in outcomes.items() if not any(r) and v > last_held),
                   default=None)
    flaky = sorted(v for v, r in outcomes.items() if any(r) and not all(r))
    broken = [v for v, r in outcomes.items() if _state(r) == "broke"]
    point = min(broken) if broken else None
    if not finished:
        status = "stopped"
    elif space.lo in broken:
        status = "breaks_at_lo"
    elif point is None:
        status = "holds_at_hi"
    else:
        status = "found"
    return Finding(status, point, held_at, broke_at, flaky, runs)


@dataclass
class Probe:
    """One run of the search, as its journal records it."""

    value: float
    held: bool
    observed: float | None
    verdict: str
    rc: int
    journal: str
    seconds: float
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    status: str = ""  # the SLO's: pass, fail, insufficient, not_judged ("" in older journals)
    samples: int | None = None  # how many observations the SLO was judged on
    min_samples: int | None = None

    @property
    def measured(self) -> bool:
        """Whether this run places the SLO at its value. A run whose SLO lacked samples,
        or whose fault fell short of the size searched for, says nothing about that value:
        counting it as a break would bisect on noise (an 'insufficient' SLO is never PASS)."""
        return (self.rc in VERDICT_CODES and self.status not in ("insufficient", "not_judged")
                and self.verdict != "under-delivered")

    def why_not_measured(self) -> str:
        if self.rc not in VERDICT_CODES:
            return f"failed (exit {self.rc})"
        if self.status == "insufficient":
            return (f"judged the SLO on {self.samples} sample(s), fewer than its min_samples "
                    f"{self.min_samples}")
        if self.status == "not_judged":
            return "ended before the SLO's phase finished"
        return "delivered its fault far short of the size searched for (under-delivered)"


Runner = Callable[[float], Probe]


class SearchJournal:
    """The search's JSON Lines: a ``search`` record, then one ``run`` record per run."""

    def __init__(self, path: Path, identity: dict[str, Any]) -> None:
        self.path = path
        self.identity = identity

    def load(self) -> list[Probe]:
        """The runs recorded so far. Refused (UsageError, exit 2) unless the file is new,
        empty, or this search's own journal: a run's journal, a text file or garbage named
        by ``--journal`` is never appended to (only its last line may be cut short: a kill)."""
        from fleetchaos.scenarios.journal import JournalError, iter_lines, parse_line

        if not self.path.exists():
            return []
        if not self.path.is_file():
            raise UsageError(f"{self.path}: not a regular file: not a search journal")
        probes: list[Probe] = []
        try:
            lines = [(n, raw) for n, raw in iter_lines(self.path) if raw.strip()]
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot read: {exc.strerror}") from None
        last = lines[-1][0] if lines else 0
        for n, raw in lines:
            where = f"{self.path}:{n}"
            try:
                record = parse_line(raw.decode("utf-8", errors="replace"), where)
            except JournalError:
                raise
            except ValueError:
                if n == last and n != lines[0][0] and not raw.endswith(b"\n"):
                    continue  # the last line after the search record, cut short by a kill
                raise UsageError(f"{where}: not JSON: not the journal of a breakpoint search "
                                 "(refused; name a new file or the search's own journal)"
                                 ) from None
            kind = record.get("type") if isinstance(record, dict) else None
            if kind not in ("search", "run", "result") or (n == lines[0][0]
                                                           and kind != "search"):
                what = f"a {kind!r} record" if isinstance(kind, str) else "not a record"
                hint = " (a run's journal)" if kind == "header" else ""
                raise UsageError(f"{where}: {what[:80]}{hint}: not the journal of a breakpoint "
                                 "search (refused; name a new file or the search's own journal)")
            if kind == "search":
                theirs = {k: record.get(k) for k in self.identity}
                if theirs != self.identity:
                    diff = ", ".join(f"{k}: {theirs[k]!r} there, {v!r} here"
                                     for k, v in self.identity.items() if theirs[k] != v)
                    raise UsageError(f"{where}: the journal of another search ({diff})")
            elif kind == "run":
                fields = {k: record[k] for k in Probe.__dataclass_fields__ if k in record}
                try:
                    probes.append(Probe(**fields))
                except TypeError:
                    continue
        return probes

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=str) + "\n")

    def start(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._append({"type": "search", **self.identity})

    def add(self, probe: Probe) -> None:
        self._append({"type": "run", **asdict(probe)})

    def result(self, finding: Finding) -> None:
        self._append({"type": "result", "at": datetime.now(UTC).isoformat(timespec="seconds"),
                      **asdict(finding)})


def outcomes_of(probes: list[Probe]) -> Outcomes:
    out: Outcomes = {}
    for p in probes:
        if p.measured:
            out.setdefault(p.value, []).append(p.held)
    return out


@dataclass
class SearchRun:
    finding: Finding
    probes: list[Probe]
    failed: Probe | None = None


def search(space: Space, runner: Runner, journal: SearchJournal, *, repeat_near: int,
           budget_s: float, first_estimate_s: float,
           clock: Callable[[], float] = time.monotonic,
           on_probe: Callable[[Probe], None] | None = None) -> SearchRun:
    """Run probes until the search is finished, the budget would be exceeded, or a run fails."""
    probes = journal.load()
    journal.start()
    started = clock()
    durations: list[float] = []  # of this invocation's runs: the next one is assumed as long
    while True:
        value = next_value(space, outcomes_of(probes), repeat_near)
        if value is None:
            return SearchRun(conclude(space, outcomes_of(probes), finished=True), probes)
        estimate = max(durations) if durations else first_estimate_s
        if clock() - started + estimate > budget_s:
            return SearchRun(conclude(space, outcomes_of(probes), finished=False), probes)
        t0 = clock()
        probe = runner(value)
        durations.append(clock() - t0)
        journal.add(probe)
        probes.append(probe)
        if on_probe is not None:
            on_probe(probe)
        if not probe.measured:
            return SearchRun(conclude(space, outcomes_of(probes), finished=False), probes,
                             failed=probe)


def parse_budget(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise UsageError(f"--budget {text!r}: expected a duration like 600s, 10m or 1h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def parse_space(text: str, resolution: float | None) -> Space:
    key, sep, rng = text.partition("=")
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d*)?)\s*\.\.\s*(-?\d+(?:\.\d*)?)\s*", rng)
    if not sep or not key.strip() or not m:
        raise UsageError(f"--search {text!r}: expected KEY=LO..HI, e.g. "
                         "timeline.0.verbosity.level=1..60")
    lo_text, hi_text = m.group(1), m.group(2)
    integer = "." not in lo_text and "." not in hi_text
    lo, hi = float(lo_text), float(hi_text)
    if not lo < hi:
        raise UsageError(f"--search {text!r}: LO must be below HI")
    if resolution is None:
        resolution = 1.0 if integer else (hi - lo) / 20
    elif not resolution > 0:
        raise UsageError(f"--resolution must be positive, got {resolution}")
    if integer:
        resolution = max(1.0, float(math.ceil(resolution)))
    return Space(key.strip(), lo, hi, integer, resolution)


def resolve_slo(settings: RunSettings, space: Space, wanted: str) -> tuple[str, str, float]:
    """The SLO's exact name, its metric and the run's length; both ends of the range checked."""
    from fleetchaos.scenarios.loader import load_scenario

    for value in (space.lo, space.hi):
        validate_overrides(settings, [f"{space.key}={space.text(value)}"],
                           f"--search {space.key}={space.text(value)}")
    scenario = load_scenario(settings.scenario, overrides=settings.sets,
                             time_scale=settings.time_scale)
    names = [s.name for s in scenario.slos]
    match = ([s for s in scenario.slos if s.name == wanted]
             or [s for s in scenario.slos if s.name.lower() == wanted.lower()])
    if not match:
        raise UsageError(f"--slo {wanted!r}: {scenario.source} has no such SLO; its SLOs: "
                         + "; ".join(repr(n) for n in names))
    return match[0].name, match[0].metric, float(scenario.duration_s)


def runner_for(settings: RunSettings, space: Space, slo: str, run_dir: Path,
            first: int) -> Runner:
    count = [first]

    def run(value: float) -> Probe:
        text = space.text(value)
        while True:  # journals are appended to: never reuse a name (a deleted search journal)
            count[0] += 1
            name = f"{count[0]:03d}-" + slug(f"{space.key}={text}")
            if not (run_dir / f"{name}.journal.jsonl").exists():
                break
        result: RunResult = run_once(
            RunSettings(**{**asdict(settings), "out_dir": run_dir}),
            [f"{space.key}={text}"], name)
        entry = result.slo(slo)
        held = bool(entry and entry.get("passed"))
        observed = entry.get("observed") if entry else None
        rc = result.rc if result.completed and entry is not None else EXIT_RUN_FAILED
        samples, least = (entry.get(k) if entry else None for k in ("samples", "min_samples"))
        return Probe(value, held, observed if isinstance(observed, int | float) else None,
                     result.verdict, rc, str(result.journal), result.seconds,
                     status=str(entry.get("status", "")) if entry else "",
                     samples=samples if isinstance(samples, int) else None,
                     min_samples=least if isinstance(least, int) else None)

    return run


def search_journal(settings: RunSettings, space: Space, slo: str, repeat_near: int,
                   out: Path, journal_path: Path | None) -> tuple[SearchJournal, Path]:
    """The search's journal and the folder its runs go to. The folder's id comes from the
    arguments, so the same command resumes the same search."""
    if journal_path is not None:  # never a file this search reads (its scenario, profile)
        check_not_inputs({"--journal": journal_path},
                         run_inputs(settings.scenario, [settings.target]))
    identity = {"scenario": settings.scenario, "key": space.key, "lo": space.lo, "hi": space.hi,
                "resolution": space.resolution, "slo": slo, "repeat_near": repeat_near,
                "sets": settings.sets, "time_scale": settings.time_scale, "seed": settings.seed,
                "target": settings.target, "host": settings.host}
    search_id = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    run_dir = out / f"breakpoint-{search_id}"
    journal = SearchJournal(journal_path or run_dir / "search.jsonl", identity)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there: {exc.strerror}") from None
    return journal, run_dir

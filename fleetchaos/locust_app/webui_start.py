"""The web UI's start form: what it shows, what pressing Start (or NEW -> Start) does.

The engine is built when Locust starts, from the command line; the start form shows the
same options (``include_in_web_ui``) and Locust copies what the user typed into
``parsed_options`` when they press Start, long after the engine was built. This hook
sees ``POST /swarm`` before Locust does (``on_swarm``) and:

- before the first run has set up: if the form asks for another scenario, profile, seed,
  time scale or ramp-up, it loads that scenario (validated like the command line; a bad
  value is refused with Locust's own ``{"success": false, "message": ...}`` and nothing
  starts) and replaces the engine, on the same journal path (still empty then);
- after a run has ended (STOP, or the timeline's end): a new run of the scenario from its
  start, with a new engine, journal and reports (``<journal>.run2...``, same run id).
  Locust's own semantics make this necessary: STOP is ``runner.stop()``, which fires
  ``test_stop`` (the engine finishes: faults rolled back, verdict written), and START
  with a shape class is ``runner.start_shape()``, whose first ``tick()`` returning None
  stops the runner again (locust/runners.py ``shape_worker``): a finished engine's tick
  is None, so START used to stop within a second and silently go back to STOPPED.

The form's "Number of users" and "Ramp up" show the scenario's fleet (the shape sets
the user count: cars + drivers + canary; ramp-up is ``fleet.spawn_rate``). A ramp-up
the user changed is honoured as ``fleet.spawn_rate``; a changed user count or a run time
is refused with what to change instead (the timeline sets both), never silently ignored.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetchaos.common.run_options import option
from fleetchaos.locust_app.session_paths import run_number, session_path

if TYPE_CHECKING:
    from locust.env import Environment

FORM_KEYS = ("scenario", "target_profile", "seed", "time_scale")
RAMP_ATTR = "fc_form_spawn_rate"  # parsed_options: the ramp-up the form asked for, or None


# --- the form ---------------------------------------------------------------------------
def fleet_size(scenario: Any) -> tuple[int, int, int]:
    """(cars, drivers, canaries) at the fleet's peak: what the load shape will ask for."""
    peak: tuple[int, int, int] = scenario.peak_fleet()  # Scenario.peak_fleet, one count for all
    return peak


def spawn_rate(scenario: Any) -> float:
    return float(scenario.fleet.get("spawn_rate", 200))


def show_fleet_in_form(environment: Environment, scenario: Any) -> None:
    """Locust's form shows "users 0 / ramp 0", disabled, for a shape that does not read
    Locust's common options (its React form forces 0 when ``hide_common_options``); as a
    shape that does (``use_common_options`` on this instance only, so headless runs keep
    Locust's warnings) the form shows ``num_users`` / ``spawn_rate``: the scenario's."""
    shape = getattr(environment, "shape_class", None)
    opts = environment.parsed_options
    if shape is None or opts is None:
        return
    shape.use_common_options = True
    opts.num_users = sum(fleet_size(scenario))
    opts.spawn_rate = spawn_rate(scenario)


def _number(form: Any, key: str) -> float | None:
    raw = form.get(key)
    if raw is None or str(raw).strip() in ("", "None"):
        return None
    try:
        return float(str(raw).strip())
    except ValueError:
        return None  # Locust refuses it with its own message


def _given(form: Any, key: str) -> bool:
    raw = form.get(key)
    return raw is not None and str(raw).strip() not in ("", "None")


def _current(opts: Any, key: str) -> Any:
    """The option as it stands. Locust copies the form's text into ``parsed_options`` after
    we saw it (a seed left empty becomes "", not None), so text is parsed here too."""
    value = getattr(opts, key, None)
    if isinstance(value, str) and key in ("seed", "time_scale"):
        text = value.strip()
        if text in ("", "None"):
            return None
        try:
            return option(key).parse(text, "locust")
        except ValueError:  # UsageError: refused when the form asks for it
            return None
    return value


def _wanted(form: Any, opts: Any) -> dict[str, Any]:
    """The form's values, parsed; missing or empty fields keep the command line's."""
    out: dict[str, Any] = {}
    for key in FORM_KEYS:
        if not _given(form, key):
            out[key] = _current(opts, key)
            continue
        text = str(form.get(key)).strip()
        if key in ("seed", "time_scale"):  # converted and range-checked as declared
            out[key] = option(key).parse(text, "locust", named=f"{key}: ")
        else:
            out[key] = text
    return out


def _check_common_options(form: Any, shown: Any, loaded: Any) -> str | None:
    """A user count the form did not show (for the scenario shown or the one asked for),
    or a run time: refused with what to change instead."""
    run_time = str(form.get("run_time") or "").strip()
    if run_time:
        return (f"run time {run_time!r}: the scenario's timeline sets how long a run lasts "
                f"({loaded.duration_s:g} s); change it with the time scale")
    users = _number(form, "user_count")
    if users is None:
        return None
    allowed = {sum(fleet_size(shown)), sum(fleet_size(loaded))}
    if int(users) in allowed:
        return None
    cars, drivers, canary = fleet_size(loaded)
    return (f"users {users:g}: the scenario sets the fleet, {cars} cars + {drivers} drivers + "
            f"{canary} canary = {cars + drivers + canary} users; change it with --set "
            "fleet.cars=N and --set fleet.drivers=N on the command line")


def on_swarm(environment: Environment, form: Any) -> str | None:
    """``POST /swarm``: rebuild the engine or start a new run as the form asks; return the
    refusal (shown in Locust's message box, nothing starts) or None (Locust starts)."""
    from fleetchaos.scenarios.engine import current_engine
    from fleetchaos.scenarios.loader import load_scenario
    from fleetchaos.scenarios.schema import ScenarioError

    engine = current_engine(environment)
    opts = environment.parsed_options
    if engine is None or opts is None:
        return None
    if engine.set_up and not engine.finished:  # Locust would log "Editing is disabled"
        return ("a run is going on: its fleet and timeline are fixed until it ends "
                "(STOP, then NEW starts the scenario again from its start)")
    try:
        wanted = _wanted(form, opts)
    except ValueError as exc:
        return str(exc)
    built_with = {key: _current(opts, key) for key in FORM_KEYS}
    if built_with["seed"] is None:
        built_with["seed"] = engine.seed
    if wanted["seed"] is None:
        wanted["seed"] = built_with["seed"]
    overrides = list(opts.fc_set)
    ramp_before = getattr(opts, RAMP_ATTR, None)
    ramp = _number(form, "spawn_rate")
    wanted_ramp = ramp_before  # a ramp-up changed in the form stays until changed again
    if ramp is not None and ramp > 0 and ramp != spawn_rate(engine.scenario):
        wanted_ramp = ramp
    if wanted == built_with and wanted_ramp == ramp_before and not engine.finished:
        return _check_common_options(form, engine.scenario, engine.scenario)  # as built
    if wanted_ramp is not None:
        overrides.append(f"fleet.spawn_rate={wanted_ramp:g}")
    if wanted["target_profile"]:
        overrides.append(f"fleet.profile={wanted['target_profile']}")
    try:
        scenario = load_scenario(wanted["scenario"], overrides=overrides,
                                 time_scale=wanted["time_scale"])
        scenario = replace(scenario, overrides=tuple(opts.fc_set))  # --set as given
    except ScenarioError as exc:
        return str(exc)
    problem = _check_common_options(form, engine.scenario, scenario)
    if problem is not None:
        return problem
    _replace_engine(environment, engine, scenario, wanted["seed"])
    for key in FORM_KEYS:  # Locust then copies the form's text over them, cast to their type:
        if _given(form, key):  # an empty seed field must stay None, never int("")
            setattr(opts, key, wanted[key])
    setattr(opts, RAMP_ATTR, wanted_ramp)
    return None


def _replace_engine(environment: Environment, engine: Any, scenario: Any, seed: int) -> None:
    """A new engine for the next run. A journal still empty (never set up) is reused; after
    a run, the next run's journal and reports are ``.run<N>`` beside the first ones."""
    from fleetchaos.locust_app.assembly import build_engine, outputs_from
    from fleetchaos.scenarios.engine import ENGINE_ATTR

    opts = environment.parsed_options
    assert opts is not None  # the web UI runs with Locust's parsed options
    path = Path(engine.journal.path)
    engine.finish("replaced by the start form")  # a finished engine: nothing happens
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            path.unlink()
    run = run_number(path)
    while path.exists():  # after a run (or a leftover of another session): the next number
        run += 1
        path = session_path(path, run)
    outputs = {name: None if value is None else str(session_path(value, run))
               for name, value in outputs_from(opts).items()}
    new = build_engine(environment, scenario, run_id=engine.run_id, journal_path=str(path),
                       admin_token=opts.admin_token or None, allow_remote=opts.allow_remote,
                       seed=seed, outputs=outputs,
                       allow_host=getattr(opts, "allow_host", "") or None)
    environment.process_exit_code = None  # the new run's verdict decides it
    setattr(environment, ENGINE_ATTR, new)
    show_fleet_in_form(environment, scenario)

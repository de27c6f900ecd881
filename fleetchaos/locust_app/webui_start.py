"""Honour the web UI start form's scenario parameters (scenario, profile, seed, time scale).

The engine is built when Locust starts, from the command line; the start form shows the
same options (``include_in_web_ui``) and Locust copies what the user typed into
``parsed_options`` when they press Start, long after the engine was built, so the run
silently kept the command line's 60 s and seed 2021. This hook sees ``POST /swarm``
before Locust does: if the engine has not set up yet and the form asks for something
else, it loads that scenario (validated like the command line; a bad value is refused
with Locust's own ``{"success": false, "message": ...}`` and nothing starts) and
replaces the engine. The first engine's journal is still empty then (the header is
written at set-up), so it is closed and removed and the new engine takes its path.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

FORM_KEYS = ("scenario", "target_profile", "seed", "time_scale")


def _wanted(form: Any, opts: Any) -> dict[str, Any]:
    """The form's values, parsed; missing or empty fields keep the command line's."""
    out: dict[str, Any] = {}
    for key in FORM_KEYS:
        raw = form.get(key)
        if raw is None or str(raw).strip() in ("", "None"):
            out[key] = getattr(opts, key, None)
            continue
        text = str(raw).strip()
        if key == "seed":
            try:
                out[key] = int(text)
            except ValueError:
                raise ValueError(f"seed: a whole number, got {text!r}") from None
        elif key == "time_scale":
            try:
                out[key] = float(text)
            except ValueError:
                raise ValueError(f"time_scale: a number, got {text!r}") from None
            if not 0 < out[key] < float("inf"):
                raise ValueError(f"time_scale: a positive number, got {text!r}")
        else:
            out[key] = text
    return out


def rebuild_if_asked(environment: Any, form: Any) -> str | None:
    """Rebuild the engine from the start form; return an error message or None."""
    from fleetchaos.locust_app.assembly import build_engine, outputs_from
    from fleetchaos.scenarios.engine import ENGINE_ATTR, current_engine
    from fleetchaos.scenarios.loader import load_scenario
    from fleetchaos.scenarios.schema import ScenarioError

    engine = current_engine(environment)
    opts = environment.parsed_options
    if engine is None or opts is None or engine.set_up or engine.finished:
        return None
    try:
        wanted = _wanted(form, opts)
    except ValueError as exc:
        return str(exc)
    built_with = {"scenario": opts.scenario, "target_profile": opts.target_profile,
                  "seed": engine.seed if opts.seed is None else opts.seed,
                  "time_scale": opts.time_scale}
    if wanted["seed"] is None:
        wanted["seed"] = built_with["seed"]
    if wanted == built_with:
        return None
    overrides = list(opts.fc_set)
    if wanted["target_profile"]:
        overrides.append(f"fleet.profile={wanted['target_profile']}")
    try:
        scenario = load_scenario(wanted["scenario"], overrides=overrides,
                                 time_scale=wanted["time_scale"])
    except ScenarioError as exc:
        return str(exc)
    path = Path(engine.journal.path)
    engine.finish("replaced by the start form")  # never set up: only closes its journal
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            path.unlink()
    new = build_engine(environment, scenario, run_id=engine.run_id, journal_path=str(path),
                       admin_token=opts.admin_token or None, allow_remote=opts.allow_remote,
                       seed=wanted["seed"], outputs=outputs_from(opts))
    setattr(environment, ENGINE_ATTR, new)
    for key in FORM_KEYS:
        setattr(opts, key, wanted[key])
    return None

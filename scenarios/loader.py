"""From a name or a path to a validated Scenario: read safely, fill ``${VAR}``, apply
``--set key=value`` overrides, scale the timeline, validate."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from fleetchaos.common.checker import shown
from fleetchaos.common.errors import UsageError
from fleetchaos.common.run_options import option
from fleetchaos.common.suggest import did_you_mean
from fleetchaos.common.yaml_safe import YamlRefused, load_with_lines, printable
from fleetchaos.scenarios.schema import RECOVERY_WINDOW_S, Scenario, ScenarioError, validate

LIBRARY = Path(__file__).parent / "library"
MIN_WINDOW_S = 1.0  # a journal sample is one second: no recovery window is shorter
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def list_builtin() -> list[tuple[str, str]]:
    out = []
    for path in sorted(LIBRARY.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError:
            continue
        out.append((path.stem, str(data.get("title", "")).strip()))
    return out


SUFFIXES = (".yaml", ".yml")
MAX_NAME = 4096  # PATH_MAX on Linux


def resolve(name_or_path: str) -> Path:
    """A built-in scenario's file, or the user's ``.yaml``/``.yml`` file.

    Only YAML files are read: a scenario name can come from someone who cannot read the
    machine's files (Locust's start form), and a refusal quotes what it could not parse,
    so ``../../../../etc/shadow`` is refused by its name, never opened."""
    if not name_or_path or len(name_or_path) > MAX_NAME or "\0" in name_or_path:
        raise ScenarioError(f"{shown(name_or_path, 60)!r}: not a scenario name or path "
                            f"(at most {MAX_NAME} characters)")
    path = Path(name_or_path)
    builtins = sorted(p.stem for p in LIBRARY.glob("*.yaml"))
    try:
        if path.suffix in SUFFIXES or "/" in name_or_path or path.exists():
            if path.suffix not in SUFFIXES:
                raise ScenarioError(f"{shown(name_or_path, 300)}: not a scenario file (a scenario is "
                                    f"a .yaml or .yml file, or a built-in name)"
                                    f"{did_you_mean(name_or_path, builtins)}")
            if not path.exists():
                raise ScenarioError(f"{shown(name_or_path, 300)}: no such file")
            if not path.is_file():
                raise ScenarioError(f"{shown(name_or_path, 300)}: not a file")
            return path
    except OSError as exc:  # a name too long for the file system, a loop of links, ...
        raise ScenarioError(f"{shown(name_or_path, 300)}: cannot open: {exc.strerror or exc}") from None
    builtin = LIBRARY / f"{name_or_path}.yaml"
    if builtin.exists():
        return builtin
    raise ScenarioError(f"{shown(name_or_path, 300)}: not a file and not a built-in scenario"
                        f"{did_you_mean(name_or_path, builtins)} (built-in: {', '.join(builtins)})")


def substitute_env(value: Any, env: Mapping[str, str], path: str, source: str) -> Any:
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ScenarioError(f"{source}: {printable(path)}: environment variable {name} is not set "
                                f"(use ${{{name}:-default}} for a default)")

        whole = ENV_REF.fullmatch(value)
        result = ENV_REF.sub(repl, value)
        if whole:  # a whole-value reference takes the YAML type of what it holds
            try:
                return yaml.safe_load(result)
            except yaml.YAMLError:
                return result
        return result
    if isinstance(value, dict):
        return {k: substitute_env(v, env, f"{path}.{k}" if path else k, source)
                for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, env, f"{path}.{i}", source) for i, v in enumerate(value)]
    return value


def apply_override(data: dict[str, Any], item: str, source: str) -> str:
    """Put ``--set KEY=VALUE`` into the scenario's data; return the key path it set."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(f"--set {shown(item)!r}: expected key=value, e.g. fleet.cars=500")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    parts = key.strip().split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError(f"{source}: --set {shown(item)}: {printable(where)}: no such "
                                    f"list item (the list has {len(node)})")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            inside = printable(".".join(parts[:depth]))
            raise ScenarioError(f"{source}: --set {shown(item)}: {inside} holds a "
                                f"{type(node).__name__}, not a mapping, so {printable(where)} "
                                "cannot be set")
    return ".".join(parts)


def scale_times(data: dict[str, Any], factor: float) -> None:
    def scale(container: dict[str, Any], key: str) -> None:
        value = container.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            container[key] = value * factor

    scale(data, "duration")
    for phase in data.get("phases") or []:
        if isinstance(phase, dict):
            scale(phase, "start")
            scale(phase, "end")
    for step in data.get("timeline") or []:
        if isinstance(step, dict):
            scale(step, "at")
            scale(step, "duration")
    # The canary's recovery window is a time of the scenario too (issue 22: at 0.3 the 5 s
    # window did not fit in a 4.5 s recovery phase), but never under one sample (1 s).
    fleet = data.get("fleet")
    if fleet is None or isinstance(fleet, dict):
        fleet = data.setdefault("fleet", {}) if fleet is None else fleet
        canary = fleet.get("canary")
        if canary is None or isinstance(canary, dict):
            canary = dict(canary or {})
            window = canary.get("window_s", RECOVERY_WINDOW_S)
            if isinstance(window, int | float) and not isinstance(window, bool):
                canary["window_s"] = max(MIN_WINDOW_S, window * factor) if factor < 1 \
                    else window * factor
                fleet["canary"] = canary


def load_scenario(name_or_path: str, overrides: Sequence[str] = (), time_scale: float = 1.0,
                  env: Mapping[str, str] | None = None) -> Scenario:
    path = resolve(name_or_path)
    source = str(path) if path.parent != LIBRARY else f"{path.stem} (built-in)"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{name_or_path}: cannot read: {exc.strerror}") from None
    try:
        data, lines = load_with_lines(raw)
    except YamlRefused as exc:
        where = f"{source}:{exc.line}" if exc.line else source
        raise ScenarioError(f"{where}: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping at the top (title, fleet, timeline…)")
    data = substitute_env(data, os.environ if env is None else env, "", source)
    applied: dict[str, str] = {}
    for item in overrides:
        applied[apply_override(data, item, source)] = item
    try:
        time_scale = option("time_scale").check(time_scale, "cli")
    except UsageError as exc:
        raise ScenarioError(str(exc)) from None
    if time_scale != 1.0:
        scale_times(data, time_scale)
    scenario = validate(data, source, lines, path.stem, overrides=applied)
    return replace(scenario, overrides=tuple(overrides), time_scale=float(time_scale))

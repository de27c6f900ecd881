"""From a name or a path to a validated Scenario: read safely, fill ``${VAR}``, apply
``--set key=value`` overrides, scale the timeline, validate."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from fleetchaos.common.yaml_safe import YamlRefused, load_with_lines, printable
from fleetchaos.scenarios.schema import Scenario, ScenarioError, validate

LIBRARY = Path(__file__).parent / "library"
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


def resolve(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists() or "/" in name_or_path:
        if not path.exists():
            raise ScenarioError(f"{name_or_path}: no such file")
        if not path.is_file():
            raise ScenarioError(f"{name_or_path}: not a file")
        return path
    builtin = LIBRARY / f"{name_or_path}.yaml"
    if builtin.exists():
        return builtin
    names = ", ".join(n for n, _ in list_builtin())
    raise ScenarioError(f"{name_or_path}: not a file and not a built-in scenario ({names})")


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


def apply_override(data: dict[str, Any], item: str, source: str) -> None:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(f"--set {item!r}: expected key=value, e.g. fleet.cars=500")
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
                raise ScenarioError(f"--set {key}: {where}: no such list item")
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
            raise ScenarioError(f"--set {key}: {where}: cannot go inside a {type(node).__name__}")


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
    for item in overrides:
        apply_override(data, item, source)
    if not time_scale > 0:
        raise ScenarioError(f"--time-scale must be positive, got {time_scale}")
    if time_scale != 1.0:
        scale_times(data, time_scale)
    return validate(data, source, lines, path.stem)

"""Whatever a scenario or profile file holds, loading it ends in a validated object or in
the loader's own error (exit 2 with a message) — never another exception, never a hang.

Hypothesis generates whole documents (arbitrary JSON-like trees) and also mutates the
built-in library's files one key at a time, which reaches far deeper into validation
than random trees do: wrong types, NaN and infinity, huge and negative numbers, empty
containers, each placed where a real value belongs.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetchaos.fleet_sim.profiles import BUILTIN_DIR, ProfileError, load_profile
from fleetchaos.scenarios.loader import LIBRARY, load_scenario
from fleetchaos.scenarios.schema import ScenarioError

SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["1e400", "-.inf", ".nan", "0x10", "2021-02-30", "{vin}", "${HOME}",
                     "${NOPE_NOT_SET}", "upstream", "latency", "unlock", "all"]),
)
TREES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.text(min_size=1, max_size=10), inner, max_size=4)), max_leaves=25)

HYPOTHESIS = settings(max_examples=150, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, (*prefix, i))
    return out


def _replace(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {k: (_replace(v, rest, value) if k == head else v) for k, v in tree.items()}
    return [(_replace(v, rest, value) if i == head else v) for i, v in enumerate(tree)]


def _dump(tree: Any) -> str:
    # yaml.safe_dump writes NaN/inf as .nan/.inf, which is exactly the hostile spelling.
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


def _refusal_is_one_line(exc: Exception) -> None:
    message = str(exc).strip()
    assert message, "a refusal must say what is wrong"
    assert "\n" not in message, f"a refusal is one line: {message!r}"


def _load_scenario_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    try:
        scenario = load_scenario(str(path))
    except ScenarioError as exc:
        _refusal_is_one_line(exc)
        return
    # Accepted: then every number the run will use is finite.
    assert math.isfinite(scenario.duration_s) and scenario.duration_s > 0
    for step in scenario.timeline:
        assert math.isfinite(step.at_s)
        assert step.duration_s is None or math.isfinite(step.duration_s)


def _load_profile_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    try:
        load_profile(str(path))
    except ProfileError as exc:
        _refusal_is_one_line(exc)


def _one_value_replaced(data: st.DataObject, trees: dict[str, Any], value: Any) -> str:
    """A built-in file with the value at one drawn key path replaced: deep, typed mutations."""
    tree = trees[data.draw(st.sampled_from(sorted(trees)))]
    path = data.draw(st.sampled_from(_paths(tree)[1:]))
    return _dump(_replace(tree, path, value))


LIBRARY_TREES = {p.stem: yaml.safe_load(p.read_text()) for p in sorted(LIBRARY.glob("*.yaml"))}
PROFILE_TREES = {p.stem: yaml.safe_load(p.read_text()) for p in sorted(BUILTIN_DIR.glob("*.yaml"))}


@HYPOTHESIS
@given(tree=TREES)
def test_any_tree_is_a_scenario_or_a_scenario_error(tmp_path: Path, tree: Any) -> None:
    _load_scenario_text(tmp_path, _dump(tree))


@HYPOTHESIS
@given(data=st.data(), value=TREES)
def test_library_scenario_with_one_value_replaced(tmp_path: Path, data: st.DataObject,
                                                  value: Any) -> None:
    _load_scenario_text(tmp_path, _one_value_replaced(data, LIBRARY_TREES, value))


@HYPOTHESIS
@given(tree=TREES)
def test_any_tree_is_a_profile_or_a_profile_error(tmp_path: Path, tree: Any) -> None:
    _load_profile_text(tmp_path, _dump(tree))


@HYPOTHESIS
@given(data=st.data(), value=TREES)
def test_builtin_profile_with_one_value_replaced(tmp_path: Path, data: st.DataObject,
                                                 value: Any) -> None:
    _load_profile_text(tmp_path, _one_value_replaced(data, PROFILE_TREES, value))


@pytest.mark.parametrize("text", [
    "duration: .nan\n", "duration: .inf\n",
    "timeline: 5\n", "title: 2021-02-30\n", "duration: !!float abc\n",
    "duration: " + "9" * 5001 + "\n", "duration: " + "9" * 400 + "\n",
    "a: " + "[" * 10_000 + "]" * 10_000 + "\n",
])
def test_hostile_scenario_file_is_refused_by_validate_in_one_line(tmp_path: Path, text: str) -> None:
    """`fleetchaos validate` on each file from the hostile-input pass: exit 2, one line."""
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "fleetchaos.cli", "validate", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr

"""Hostile YAML is refused while it is parsed, for scenarios and profiles alike, through
`fleetchaos validate` (exit 2, one line, no traceback) and within a few seconds each.

The bounds are safety bounds for a loaded machine: every refusal here takes
milliseconds on an idle one (before the fix: 300 KB of ``[`` ran past 300 s, 4,000
levels took 38 s, a profile alias bomb took 64 s and 3 GB).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from fleetchaos.fleet_sim.profiles import ProfileError, load_profile
from fleetchaos.scenarios.loader import load_scenario
from fleetchaos.scenarios.schema import ScenarioError

BOUND_S = 3.0

BOMB = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
"""

HOSTILE = {
    "brackets-300KB": b"[" * 300_000,
    "brackets-250KB": b"[" * 250_000,  # under the size limit: the depth bound stops it
    "flow-10000-deep": b"[" * 10_000 + b"]" * 10_000,
    "block-10000-deep": b"- " * 10_000 + b"x\n",
    "mapping-5000-deep": b"".join(b" " * i + b"k:\n" for i in range(5_000))[:250_000],
    "ones-1MiB": b"1," * (512 * 1024 - 8),
    "ones-flow-250KB": b"[" + b"1," * 120_000 + b"1]",
    "alias-bomb": BOMB,
    "many-keys": b"".join(b"k%d: 1\n" % i for i in range(30_000)),
    "many-keys-200KB": b"".join(b"k%d: 1\n" % i for i in range(20_000)),
}

TYPED = {
    "bad-date": (b"title: 2021-02-30\n", 1, "title", "a valid date"),
    "float-abc": (b"title: x\nduration: !!float abc\n", 2, "duration", "a number"),
    "int-5001": (b"title: x\nduration: " + b"9" * 5001 + b"\n", 2, "duration", "at most 40"),
    "float-400": (b"title: x\nduration: " + b"9" * 400 + b".0\n", 2, "duration", "at most 40"),
    "float-inf": (b"title: x\nduration: 1.0e+400\n", 2, "duration", "a finite number"),
    "python-tag": (b"title: !!python/object/apply:os.system [id]\n", 1, "title", "not allowed"),
}


def _validate(args: list[str]) -> tuple[int, str, float]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "fleetchaos.cli", "validate", *args],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_scenario_and_profile_are_refused_fast_in_process(tmp_path, name):
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(HOSTILE[name])
    for load, error in ((load_scenario, ScenarioError), (load_profile, ProfileError)):
        start = time.monotonic()
        with pytest.raises(error) as info:
            load(str(path))
        took = time.monotonic() - start
        assert took < BOUND_S, f"{load.__name__} took {took:.1f} s on {name}"
        assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["brackets-300KB", "alias-bomb", "mapping-5000-deep"])
def test_validate_refuses_a_hostile_profile_with_exit_2(tmp_path, name):
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(HOSTILE[name])
    rc, out, took = _validate(["--target", str(path)])
    assert rc == 2, out
    assert "Traceback" not in out and str(path) in out and len(out.strip().splitlines()) == 1
    assert took < 20  # includes interpreter start-up on a loaded machine


@pytest.mark.parametrize("name", sorted(TYPED))
def test_typed_scalars_give_file_line_key(tmp_path, name):
    raw, line, key, expected = TYPED[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(raw)
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: {key}: "), message
    assert expected in message


def test_typed_scalars_through_validate_exit_2_without_traceback(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(TYPED["int-5001"][0])
    rc, out, _ = _validate([str(path)])
    assert rc == 2 and "Traceback" not in out and f"{path}:2: duration:" in out


def test_profile_scalars_and_duplicates_give_file_line_key(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"name: x\nname: y\n")
    with pytest.raises(ProfileError, match=r"p.yaml:2: name: key given twice"):
        load_profile(str(path))
    path.write_bytes(b"asleep_status: [" + b"4" * 500 + b"]\n")
    with pytest.raises(ProfileError, match=r"p.yaml:1: asleep_status.0: a number of 500"):
        load_profile(str(path))


def test_valid_dates_stay_text(tmp_path):
    from fleetchaos.common.yaml_safe import load_with_lines

    data, lines = load_with_lines(b"title: 2021-02-28\n")
    assert data == {"title": "2021-02-28"} and lines == {"title": 1}

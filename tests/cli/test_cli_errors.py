"""Errors that help (issue 23): a refusal names what the user typed, echoes the bad value,
offers the nearest known word, and a bad option shows the command's own usage."""

from __future__ import annotations

import pytest


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_bad_set_value_names_the_override_and_echoes_it(cli):
    """It was blamed on "api-500-storm (built-in):13", the line of the value it replaced."""
    result = cli("validate", "api-500-storm", "--set", "fleet.cars=lots")
    assert result.returncode == 2
    line = one_line(result)
    assert line == ("fleetchaos: error: api-500-storm (built-in): --set fleet.cars=lots: "
                    "expected a whole number between 0 and 1000000")


def test_a_set_inside_a_value_that_is_not_a_mapping_says_so(cli):
    line = one_line(cli("validate", "baseline", "--set", "fleet.cars.x=3"))
    assert "--set fleet.cars.x=3: fleet.cars holds a int, not a mapping" in line


@pytest.mark.parametrize(("args", "words"), [
    (["validate", "basline"], "basline: not a file and not a built-in scenario; did you mean "
                              "'baseline'?"),
    (["validate", "baseline", "--set", "fleet.carz=3"], "(unknown key 'carz'; did you mean 'cars'?)"),
    (["validate", "baseline", "--set", "fleet.retry_policy=retry-budgt"],
     "did you mean 'retry-budget'?"),
    (["validate", "baseline", "--set", "time_scale=0.5"],
     "--set time_scale=0.5: time_scale is a run option, not a scenario field: pass --time-scale"),
    (["run", "baseline", "--seed", "x"], "--seed x: expected a whole number from 0 to "),
])
def test_refusals_offer_the_nearest_known_word(cli, args, words):
    result = cli(*args)
    assert result.returncode == 2
    assert words in one_line(result)


def test_an_unknown_option_shows_the_commands_usage_and_the_nearest_option(cli):
    result = cli("run", "baseline", "--workerz", "3")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: fleetchaos run ")  # was the top-level usage
    assert result.stderr.strip().endswith(
        "fleetchaos run: error: unrecognized arguments: --workerz 3 (did you mean --workers?)")
    sweep = cli("sweep", "baseline", "--vary", "fleet.cars=1,2", "--tim-scale", "2")
    assert sweep.stderr.startswith("usage: fleetchaos sweep ")
    assert "(did you mean --time-scale?)" in sweep.stderr


def test_a_misspelt_command_names_the_nearest_one(cli):
    result = cli("rn", "baseline")
    assert result.returncode == 2
    assert "unknown command 'rn' (did you mean run?)" in result.stderr

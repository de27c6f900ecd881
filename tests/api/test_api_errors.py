"""The Python API refuses bad input with its documented error class (issues 23 and 27):
``fleetchaos.UsageError`` naming the keyword, never a bare TypeError/OSError, a child's
usage text, or a line of a file that is not a scenario."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import fleetchaos


@pytest.mark.parametrize(("options", "words"), [
    ({"workers": "4"}, "workers='4': expected a whole number from 1 to "),
    ({"workers": 2.5}, "workers=2.5: expected a whole number"),
    ({"seed": "x"}, "seed='x': expected a whole number from 0 to 9223372036854775807, got a str"),
    ({"seed": -1}, "seed=-1: expected a whole number from 0 to"),
    ({"time_scale": "fast"}, "time_scale='fast': expected a number above 0, got a str"),
    ({"time_scale": float("inf")}, "time_scale=inf: expected a number above 0"),
    ({"allow_remote": "yes"}, "allow_remote='yes': expected True or False, got a str"),
    ({"out": 5}, "out=5: expected a path, got an int"),
    ({"overrides": "fleet.cars=5"}, "overrides='fleet.cars=5': expected a mapping"),
    ({"overrides": {1: 2}}, "expected text keys"),
    ({"metrics_port": 70000}, "metrics_port=70000: not a TCP port (0..65535; 0 picks a free one)"),
    ({"target": 3}, "target=3: expected a text, got an int"),
])
def test_wrong_types_and_ranges_raise_usage_error_naming_the_keyword(tmp_path, options, words):
    with pytest.raises(fleetchaos.UsageError) as refused:
        fleetchaos.run("baseline", **{"out": tmp_path / "out", **options})
    assert words in str(refused.value)
    assert not list(tmp_path.iterdir())  # refused before anything was made


def test_seed_x_is_not_the_toxiproxy_servers_usage(tmp_path):
    """It reached the built-in Toxiproxy's argparse, whose usage text came back."""
    with pytest.raises(fleetchaos.UsageError) as refused:
        fleetchaos.run("baseline", seed="x", out=tmp_path)  # type: ignore[arg-type]
    assert "usage:" not in str(refused.value) and str(refused.value).startswith("seed='x': ")


@pytest.mark.parametrize("call", ["run", "load_scenario"])
def test_a_10000_character_scenario_name_is_a_usage_error(tmp_path, call):
    with pytest.raises(fleetchaos.UsageError, match="at most 4096 characters"):
        if call == "run":
            fleetchaos.run("x" * 10_000, out=tmp_path)
        else:
            fleetchaos.load_scenario("x" * 10_000)
    with pytest.raises(fleetchaos.UsageError, match="expected a text, got an int"):
        fleetchaos.run(42, out=tmp_path)  # type: ignore[arg-type]


def test_a_path_to_a_file_that_is_not_yaml_is_never_read(tmp_path, monkeypatch):
    """``../../../../etc/shadow`` echoed a line of that file (its first key, unknown), as a
    scenario and as a profile (both are fields of Locust's start form)."""
    secret = tmp_path / "etc" / "shadow"
    secret.parent.mkdir()
    secret.write_text("root:$6$s3cr3tSALT$hash:19000:0:99999:7:::\n")
    work = tmp_path / "a" / "b" / "c" / "d"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    name = os.path.join("..", "..", "..", "..", "etc", "shadow")
    assert Path(name).read_text().startswith("root:")  # the file is there and readable
    for call, words in ((lambda: fleetchaos.run(name, out=tmp_path / "out"), "not a scenario "
                         "file (a scenario is a .yaml or .yml file"),
                        (lambda: fleetchaos.load_scenario(name), "not a scenario file"),
                        (lambda: fleetchaos.run("baseline", target=name, out=tmp_path / "out"),
                         "not a profile file (a .yaml or .yml file) nor a built-in profile")):
        with pytest.raises(fleetchaos.UsageError) as refused:
            call()
        assert "s3cr3t" not in str(refused.value) and "root" not in str(refused.value)
        assert words in str(refused.value)


def test_summary_slo_refuses_an_ambiguous_metric_and_takes_a_name():
    def slo(name, phase, observed):
        return {"name": name, "metric": "unlock_success_ratio", "phase": phase, "op": ">=",
                "threshold": 0.9, "observed": observed, "passed": observed >= 0.9}

    summary = fleetchaos.Summary.from_dict({"verdict": "fail", "slos": [
        slo("unlocks work in the flood", "flood", 0.5), slo("unlocks come back", "recovery", 0.95),
        {"name": "p95", "metric": "unlock_p95_ms", "phase": "flood", "op": "<=",
         "threshold": 500, "observed": 100, "passed": True}]})
    with pytest.raises(KeyError, match=r"2 SLOs match 'unlock_success_ratio'.*'unlocks work in "
                                       r"the flood' \(flood\); 'unlocks come back' \(recovery\)"):
        summary.slo("unlock_success_ratio")  # once silently the first of the two
    assert summary.slo("unlocks come back").observed == 0.95
    assert summary.slo("unlock_success_ratio", phase="flood").name == "unlocks work in the flood"
    assert summary.slo("unlock_p95_ms").name == "p95"  # one SLO on a metric: found by it
    with pytest.raises(KeyError, match="did you mean 'unlocks come back'"):
        summary.slo("unlocks comes back")

"""Run options declared once (issue 24): every face offers what the declaration says, with
the declared default, and refuses a bad value with the declaration's words.

The faces: the CLI's commands (argparse), ``fleetchaos.run``'s keyword arguments, the Locust
plugin's parser (read in a child process, since importing Locust patches gevent in), the
flags the orchestrator hands Locust, and the records the runs layer builds.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import fleetchaos
from fleetchaos.cli.main import _subparsers, build_parser
from fleetchaos.cli.options import values_from
from fleetchaos.common.errors import UsageError
from fleetchaos.common.run_options import (
    OPTIONS,
    for_api,
    for_command,
    for_locust_plugin,
    option,
    usable_cpus,
)
from fleetchaos.runs.options import RunOptions
from fleetchaos.runs.orchestrator import Services, locust_argv
from fleetchaos.runs.sweep import RunSettings, split_combo

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ("run", "demo", "ui", "validate", "sweep", "breakpoint")
# A sweep's and a search's own folder and reports, not a run's: the same spelling, another option.
OWN_OPTIONS = {"sweep": {"--out", "--html", "--markdown"}, "breakpoint": {"--out", "--journal"}}

# Prints, for the plugin's parser (fleetchaos.locust_app.plugin added to Locust's own), each
# declared option's default and the value parsed from the argv given, after the plugin's
# own conversion (_checked_options), as JSON.
LOCUST_SIDE = r"""
import json, sys
from locust import argument_parser
from fleetchaos.common.run_options import for_locust_plugin
import fleetchaos.locust_app.plugin as plugin
parser = argument_parser.get_parser()
argv = json.loads(sys.argv[1])
defaults = vars(parser.parse_args(["-f", "x.py"]))
parsed = parser.parse_args(["-f", "x.py", *argv])
plugin._checked_options(parsed)
out = {"web_ui": sorted(parser.args_included_in_web_ui), "secret":
       sorted(parser.secret_args_included_in_web_ui), "options": {}}
for o in for_locust_plugin():
    out["options"][o.name] = {"default": defaults[o.locust_attr], "parsed": parsed.__dict__[o.locust_attr]}
print(json.dumps(out, default=str))
"""


def locust_side(argv: list[str]) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("FLEETCHAOS_ADMIN_TOKEN", None)
    proc = subprocess.run([sys.executable, "-c", LOCUST_SIDE, json.dumps(argv)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def same_default(declared, value):
    """A face's default means the declared one ("" and None both say "not given")."""
    return declared.check(None if value in ("", None) else value, "api") == declared.check(None, "api") \
        if not declared.positional else True


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_offers_its_declared_options_with_their_defaults(command):
    parser = _subparsers(build_parser())[command]
    flags = set(parser._option_string_actions)
    positionals = {a.dest for a in parser._actions if not a.option_strings}
    for declared in for_command(command):
        if declared.positional:
            assert declared.name in positionals, (command, declared.name)
        else:
            assert declared.cli_flag in flags, (command, declared.cli_flag)
    # Options a command does not declare are not offered by it either.
    for declared in OPTIONS:
        if command not in declared.commands and not declared.positional and \
                declared.cli_flag not in OWN_OPTIONS.get(command, set()):
            assert declared.cli_flag not in flags, (command, declared.cli_flag)
    args = [] if command in ("demo", "validate") else ["baseline"]
    if command == "breakpoint":
        args += ["--search", "fleet.cars=1..2", "--slo", "x"]
    ns = build_parser().parse_args([command, *args])
    values = values_from(ns, command)
    for declared in for_command(command):
        if not declared.positional:
            assert values[declared.name] == declared.default, (command, declared.name)


def test_the_api_keywords_are_the_declared_options_with_their_defaults():
    params = inspect.signature(fleetchaos.run).parameters
    declared = {o.api: o for o in for_api()}
    assert set(params) == set(declared)
    for name, param in params.items():
        o = declared[name]
        if o.positional:
            assert param.default is inspect.Parameter.empty
            assert param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        else:
            assert param.kind is inspect.Parameter.KEYWORD_ONLY, name
            assert o.check(param.default, "api") == o.default, name
    assert "``workers``" in (fleetchaos.run.__doc__ or "")  # the help comes from the declaration


def test_the_locust_plugin_declares_the_options_with_their_defaults():
    side = locust_side([])
    assert set(side["options"]) == {o.name for o in for_locust_plugin()}
    for declared in for_locust_plugin():
        default = side["options"][declared.name]["default"]
        assert same_default(declared, default), (declared.name, default)
        assert (declared.locust_attr in side["web_ui"]) == declared.web_ui, declared.name
        assert (declared.locust_attr in side["secret"]) == (declared.secret and declared.web_ui)


def test_the_flags_handed_to_locust_read_back_as_the_run_asked(tmp_path):
    opts = RunOptions(scenario="api-latency", target="owner-api", seed=7, time_scale=0.25,
                      sets=["fleet.cars=5", "fleet.drivers=3"], out_dir=tmp_path,
                      allow_remote=True, metrics_port=9999)
    argv = locust_argv(opts, Services("http://127.0.0.1:1", "http://127.0.0.1:2", None),
                       "owner-api")
    parsed = {k: v["parsed"] for k, v in
              locust_side(argv[argv.index("-f") + 2:])["options"].items()}
    assert parsed["scenario"] == "api-latency" and parsed["target"] == "owner-api"
    assert (parsed["seed"], parsed["time_scale"]) == (7, 0.25)
    assert parsed["sets"] == ["fleet.cars=5", "fleet.drivers=3"]
    assert parsed["allow_remote"] is True and parsed["metrics_port"] == 9999
    assert parsed["journal"] == str(opts.journal_path) and parsed["run_id"] == opts.run_id


def test_the_records_take_the_declared_defaults():
    record = {f.name: f for f in dataclasses.fields(RunOptions)}
    for declared in OPTIONS:
        field = record.get("out_dir" if declared.name == "out" else declared.name)
        if field is None or declared.positional or declared.name in ("quiet", "run_id"):
            continue  # the API's quiet defaults on; run ids are made per run
        default = field.default_factory() if field.default_factory is not dataclasses.MISSING \
            else field.default
        assert default == declared.default, declared.name
    settings = {f.name for f in dataclasses.fields(RunSettings)}
    assert settings == {o.name for o in for_command("sweep")} | {"out_dir"}


@pytest.mark.parametrize(("name", "text", "words"), [
    ("workers", "0", "expected a whole number from 1 to"),
    ("workers", str(4 * usable_cpus() + 1), f"at most {4 * usable_cpus()} here"),
    ("time_scale", "0", "expected a number above 0"),
    ("time_scale", "nan", "expected a number above 0"),
    ("seed", "-1", "expected a whole number from 0 to 9223372036854775807"),
    ("seed", "x", "expected a whole number from 0 to 9223372036854775807"),
    ("metrics_port", "70000", "not a TCP port (0..65535; 0 picks a free one)"),
])
def test_each_range_is_refused_in_the_same_words_by_every_face(name, text, words):
    declared = option(name)
    with pytest.raises(UsageError) as cli:
        declared.parse(text, "cli")
    assert str(cli.value) == f"{declared.cli_flag} {text}: " + str(cli.value).split(": ", 1)[1]
    assert words in str(cli.value)
    if declared.api is not None and text not in ("x", "nan"):
        number = float(text) if declared.kind == "number" else int(text)
        with pytest.raises(UsageError) as api:
            declared.check(number, "api")
        assert str(api.value).startswith(f"{declared.api}={number!r}: ")
        assert str(api.value).split(": ", 1)[1] == str(cli.value).split(": ", 1)[1]


def test_sweep_varies_a_declared_option_through_its_declaration():
    settings = RunSettings(scenario="baseline")
    varied, sets = split_combo(settings, {"workers": "2", "fleet.cars": "5", "seed": "9"})
    assert (varied.workers, varied.seed, sets) == (2, 9, ["fleet.cars=5"])
    with pytest.raises(UsageError, match=r"^--vary workers=0: expected a whole number from 1"):
        split_combo(settings, {"workers": "0"})


@pytest.mark.parametrize(("flag", "value", "words"), [
    ("--time-scale", "0", "--time-scale 0: expected a number above 0"),
    ("--seed", "x", "--seed x: expected a whole number from 0 to 9223372036854775807"),
])
def test_plain_locust_refuses_a_bad_value_in_the_declarations_words(tmp_path, flag, value, words):
    """`locust -f locustfile.py` reads the plugin's flags through the same declaration."""
    journal = tmp_path / "j.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"}
    proc = subprocess.run([sys.executable, "-m", "locust", "-f", str(REPO / "locustfile.py"),
                           "--headless", "--scenario", "baseline", "--journal", str(journal),
                           flag, value], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    ours = [ln for ln in proc.stderr.splitlines() if ln.startswith("fleetchaos:")]
    assert ours == [f"fleetchaos: error: {words}"], proc.stderr
    assert "Traceback" not in proc.stderr and not journal.exists()

"""The CLI contract: every subcommand listed, helpful --help, bad input exits 2 untraced."""

from __future__ import annotations

import pytest

SUBCOMMANDS = ["demo", "run", "ui", "report", "validate", "scenarios", "toxiproxy", "backend"]


def test_help_lists_every_subcommand(cli):
    result = cli("--help")
    assert result.returncode == 0, result.stderr
    for name in SUBCOMMANDS:
        assert f"    {name}" in result.stdout, f"{name} missing from --help"


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help_with_an_example(cli, name):
    result = cli(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "example" in result.stdout.lower(), result.stdout
    assert "Traceback" not in result.stderr


def test_no_subcommand_is_a_usage_error(cli):
    result = cli()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_validate_missing_file_names_it(cli, tmp_path):
    missing = tmp_path / "nope.yaml"
    result = cli("validate", str(missing))
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_builtin_scenarios(cli):
    listing = cli("scenarios")
    assert listing.returncode == 0, listing.stderr
    names = [line.split()[0] for line in listing.stdout.splitlines() if line.strip()]
    assert "verbosity-flood-2021" in names and "baseline" in names
    for name in names:
        result = cli("validate", name)
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_run_refuses_a_remote_target_before_starting_anything(cli, tmp_path):
    result = cli("run", "baseline", "--host", "http://192.0.2.10:8080", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "loopback" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.log"))  # not even the built-in Toxiproxy was started


def test_run_rejects_bad_numbers(cli, tmp_path):
    for args in (["--workers", "0"], ["--time-scale", "-1"]):
        result = cli("run", "baseline", *args, "--out", str(tmp_path))
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr


def test_validate_checks_extensions_against_toxiproxy_url(cli):
    from fleetchaos import toxiproxy_server

    with toxiproxy_server.run_in_subprocess(extensions=False) as plain:
        result = cli("validate", "api-500-storm", env={"TOXIPROXY_URL": plain.url})
        assert result.returncode == 2
        assert "needs the http_error extension" in result.stderr
        assert cli("validate", "api-latency", env={"TOXIPROXY_URL": plain.url}).returncode == 0

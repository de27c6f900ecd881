"""The 0.0.4 text format as prometheus_client's parser reads it: HELP/TYPE per family,
escaping in HELP text (backslash, newline) and label values (backslash, quote, newline),
Go float spellings (NaN, +Inf, -Inf), and names the format refuses."""

from __future__ import annotations

import math

import pytest
from metrics_parse import number, parse, value

from fleetchaos.metrics.exposition import CONTENT_TYPE, Family, format_value, render


def test_content_type_names_the_text_format_version():
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_label_values_and_help_round_trip_through_the_parser():
    """Pinned: prometheus_client's generate_latest escapes HELP with \\\\ and \\n, label
    values with \\\\, \\" and \\n; its parser undoes exactly that."""
    hostile = 'back\\slash "quoted"\nnew line ünïcödé {x="y"},'
    family = Family("fleetchaos_test_total", "counter", "help with \\ and\nnewline")
    family.add(3, {"slo": hostile, "phase": ""})
    families, samples = parse(render([family]))
    assert families["fleetchaos_test"].type == "counter"
    assert families["fleetchaos_test"].documentation == "help with \\ and\nnewline"
    assert value(samples, "fleetchaos_test_total", slo=hostile, phase="") == 3


def test_each_family_has_one_help_and_one_type_line_before_its_samples():
    a = Family("fleetchaos_a", "gauge", "a").add(1, {"k": "1"}).add(2, {"k": "2"})
    b = Family("fleetchaos_b_total", "counter", "b").add(5)
    empty = Family("fleetchaos_c", "gauge", "nothing yet")
    text = render([a, b, empty])
    lines = text.splitlines()
    assert text.endswith("\n")
    for name, kind in (("fleetchaos_a", "gauge"), ("fleetchaos_b_total", "counter"),
                       ("fleetchaos_c", "gauge")):
        assert lines.count(f"# TYPE {name} {kind}") == 1
        assert sum(line.startswith(f"# HELP {name} ") for line in lines) == 1
    assert lines.index("# TYPE fleetchaos_a gauge") < lines.index('fleetchaos_a{k="1"} 1')
    families, _ = parse(text)
    assert families["fleetchaos_c"].samples == []


@pytest.mark.parametrize(("raw", "text"), [(7, "7"), (0.25, "0.25"), (True, "1"),
                                           (math.nan, "NaN"), (math.inf, "+Inf"),
                                           (-math.inf, "-Inf")])
def test_values_are_spelled_as_go_parses_them(raw, text):
    assert format_value(raw) == text


def test_special_values_parse():
    family = Family("fleetchaos_x", "gauge", "x")
    for i, v in enumerate((math.nan, math.inf, -math.inf, 1e-9)):
        family.add(v, {"i": str(i)})
    _, samples = parse(render([family]))
    got = [number(samples, "fleetchaos_x", i=str(i)) for i in range(4)]
    assert math.isnan(got[0]) and got[1:] == [math.inf, -math.inf, 1e-9]


@pytest.mark.parametrize("name", ["9lives", "has-dash", "has space", ""])
def test_a_bad_metric_name_is_refused(name):
    with pytest.raises(ValueError, match="not a Prometheus name"):
        Family(name, "gauge", "x")


@pytest.mark.parametrize("label", ["has-dash", "__reserved", "1st"])
def test_a_bad_label_name_is_refused(label):
    with pytest.raises(ValueError, match="label name"):
        Family("fleetchaos_x", "gauge", "x").add(1, {label: "v"})


def test_a_family_given_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        render([Family("fleetchaos_x", "gauge", "x"), Family("fleetchaos_x", "gauge", "y")])


def test_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="type"):
        Family("fleetchaos_x", "histogramm", "x")

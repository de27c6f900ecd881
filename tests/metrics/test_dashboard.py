"""docs/grafana-dashboard.json is valid JSON, every query names only metrics the exporter
emits (with labels those metrics carry), and every metric has a panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from metrics_sample import SLOS, status

from fleetchaos.metrics.collect import families, metric_names

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
METRIC = re.compile(r"\bfleetchaos_[a-zA-Z0-9_]+")
SELECTOR = re.compile(r"\b(fleetchaos_[a-zA-Z0-9_]+)\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"')
LEGEND = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
TARGET_LABELS = {"instance", "job"}  # what Prometheus adds to every scraped series
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


@pytest.fixture(scope="module")
def dashboard():
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def targets(dashboard):
    """(panel title, expr, legendFormat) of every query panel."""
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"], target.get("legendFormat", "")))
    return out


def labels_of() -> dict[str, set[str]]:
    """Label names each family carries in a full scrape (mid-run, faults on, SLOs judged)."""
    out: dict[str, set[str]] = {}
    for family in families(status(), SLOS, users=3):
        out[family.name] = {k for labels, _ in family.samples for k in labels}
    return out


def test_it_is_a_dashboard_with_unique_panel_ids(dashboard):
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"


def test_every_query_uses_the_chosen_prometheus(dashboard):
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


def test_every_expr_names_only_metrics_the_exporter_emits(dashboard):
    known = set(metric_names())
    exprs = [expr for _, expr, _ in targets(dashboard)]
    exprs += [a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    for expr in exprs:
        named = set(METRIC.findall(expr))
        assert named, f"{expr!r} names no fleetchaos metric"
        assert named <= known, f"{expr!r}: {sorted(named - known)} not emitted"
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}")
        assert expr.count("[") == expr.count("]")


def test_every_metric_the_exporter_emits_has_a_panel(dashboard):
    shown = {m for _, expr, _ in targets(dashboard) for m in METRIC.findall(expr)}
    assert set(metric_names()) <= shown, sorted(set(metric_names()) - shown)


def test_label_names_in_matchers_and_legends_exist_on_the_metrics(dashboard):
    labels = labels_of()
    for title, expr, legend in targets(dashboard):
        carried: set[str] = set(TARGET_LABELS)
        for name, matchers in SELECTOR.findall(expr):
            used = set(MATCHER.findall(matchers))
            assert used <= labels[name] | TARGET_LABELS, f"{title}: {name}{{{matchers}}}"
        for name in METRIC.findall(expr):
            carried |= labels[name]
        grouped = GROUPING.findall(expr)
        if grouped:  # an aggregation keeps only its grouping labels
            carried = {g.strip() for group in grouped for g in group.split(",")}
        assert set(LEGEND.findall(legend)) <= carried, f"{title}: legend {legend!r}"


def test_docs_metrics_lists_every_metric():
    text = (DASHBOARD.parent / "metrics.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(fleetchaos_[a-z_]+)` \|", text, flags=re.M))
    assert listed == set(metric_names())

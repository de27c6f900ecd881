"""Prometheus metrics of a run in progress: the exposition text and its families (docs/metrics.md).

Pure: ``families`` turns the engine's status and the SLO results into metric families,
``render`` writes them in the text format 0.0.4. Serving them from the Locust master
(the run's source, the endpoint, ``--metrics-port``) is the Locust side's job:
:mod:`fleetchaos.locust_app.metrics_source` and :mod:`fleetchaos.locust_app.metrics_server`.
"""

from __future__ import annotations

from fleetchaos.metrics.collect import families, metric_names
from fleetchaos.metrics.exposition import CONTENT_TYPE, Family, render

__all__ = ["CONTENT_TYPE", "Family", "families", "metric_names", "render"]

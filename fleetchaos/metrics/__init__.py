"""Prometheus metrics of a run in progress, served by the Locust master (docs/metrics.md).

``install(environment, port)`` starts the endpoint for the run of one Locust
environment; the exposition writer and the family builder are importable on their own.
"""

from __future__ import annotations

import sys
from typing import Any

from fleetchaos.metrics.collect import families, metric_names
from fleetchaos.metrics.exposition import CONTENT_TYPE, Family, render
from fleetchaos.metrics.server import MetricsServer

__all__ = ["CONTENT_TYPE", "Family", "MetricsServer", "families", "install", "metric_names",
           "render"]

ANNOUNCE = "fleetchaos: metrics for Prometheus at {url}"


def install(environment: Any, port: int) -> MetricsServer:
    """Serve /metrics for this environment's run on 127.0.0.1:``port`` (0: a free one),
    say where on stderr, and stop serving when Locust quits. OSError if it cannot bind."""
    from fleetchaos.metrics.source import RunSource

    server = MetricsServer(RunSource(environment).page, port)
    server.start()
    print(ANNOUNCE.format(url=server.url), file=sys.stderr, flush=True)

    def stop(**_: Any) -> None:
        server.stop()

    environment.events.quitting.add_listener(stop)
    return server

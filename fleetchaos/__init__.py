"""fleetchaos: a simulated fleet of cars and phones, through Toxiproxy faults, with SLO verdicts.

Everything lives in the subpackages (``fleetchaos.scenarios``, ``fleetchaos.fleet_sim``,
``fleetchaos.reports``, ``fleetchaos.toxiproxy_server``, ``fleetchaos.reference_backend``,
``fleetchaos.cli``). Importing this package is cheap and does not import Locust, which
monkey-patches gevent into the importing process.
"""

from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["__version__"]

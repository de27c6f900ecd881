"""Locust entry point: the fleet's users and the scenario timeline as the load shape.

Run it through ``fleetchaos run``/``fleetchaos ui`` (which start the built-in
backend and Toxiproxy for you), or directly::

    locust -f locustfile.py --headless --host http://127.0.0.1:8080 \
        --scenario verbosity-flood-2021 --journal run.jsonl --summary summary.json

The scenario options (``--scenario``, ``--seed``, ``--time-scale``, ``--set``, ...)
are custom Locust arguments, so they also appear in the web UI's start form.
"""

import fleetchaos.locust_app.plugin  # noqa: F401  (registers arguments and event hooks)
from fleetchaos.common.parent_death import die_with_parent_after_fork
from fleetchaos.fleet_sim.canary import CanaryUser
from fleetchaos.fleet_sim.locust_users import CarUser, DriverUser
from fleetchaos.locust_app.shape import ScenarioShape

__all__ = ["CanaryUser", "CarUser", "DriverUser", "ScenarioShape"]

# Workers forked by `--processes N` end when this (master) process dies, even by SIGKILL.
die_with_parent_after_fork()

"""No "spawn rate is very high" warning for the ramp-up a scenario sets itself.

Locust warns when ``runner.start`` is asked for more than 100 users a second (more than
100 per worker on a master: locust/runners.py ``LocalRunner.start`` /
``MasterRunner.start``). The warning is meant for a rate someone typed in the start
form; in a fleetchaos run every rate comes from the scenario's load shape
(``fleet.spawn_rate``, 200 a second by default: the fleet comes up at once, as cars and
phones do), so each web UI run put it on the LOGS tab for a setting the user never
made. The filter drops that one message while a ``ScenarioShape`` drives the runner;
every other record of Locust's runner logger passes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from locust.env import Environment

RUNNER_LOGGER = "locust.runners"
MESSAGE = "Your selected spawn rate is very high"


class ScenarioSpawnRateFilter(logging.Filter):
    def __init__(self, environment: Environment) -> None:
        super().__init__()
        self.environment = environment

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(MESSAGE):
            return True
        from fleetchaos.locust_app.shape import ScenarioShape

        return not isinstance(getattr(self.environment, "shape_class", None), ScenarioShape)


def install(environment: Environment) -> ScenarioSpawnRateFilter:
    found = ScenarioSpawnRateFilter(environment)
    logging.getLogger(RUNNER_LOGGER).addFilter(found)
    return found

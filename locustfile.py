"""Checkout shim: lets ``locust -f locustfile.py`` run from a clone of the repository.

The real locustfile ships inside the package (``fleetchaos/locustfile.py``), which is
what ``fleetchaos run`` and ``fleetchaos ui`` hand to Locust; this file only re-exports
its users and load shape so Locust finds them here too.
"""

from fleetchaos.locustfile import CanaryUser, CarUser, DriverUser, ScenarioShape

__all__ = ["CanaryUser", "CarUser", "DriverUser", "ScenarioShape"]

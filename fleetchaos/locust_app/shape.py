"""The scenario as Locust's load shape: each tick asks the engine what to run now."""

from __future__ import annotations

from typing import Any

from locust import LoadTestShape

from fleetchaos.scenarios.engine import current_engine


class ScenarioShape(LoadTestShape):
    """Delegates to the engine the plugin created on the master or local runner."""

    def tick(self) -> tuple[int, float, list[Any]] | None:
        engine = current_engine(self.runner.environment) if self.runner else None
        if engine is None:
            return None
        return engine.tick()

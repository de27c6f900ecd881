"""fleetchaos: a simulated fleet of cars and phones, through Toxiproxy faults, with SLO verdicts.

The public Python API is small and lives here::

    import fleetchaos

    summary = fleetchaos.run("verbosity-flood-2021", seed=7, overrides={"fleet.cars": 200})
    assert summary.slo("unlock_success_ratio", phase="flood").passed

``run`` does what ``fleetchaos run`` does and returns a :class:`Summary`;
``load_scenario`` validates a scenario without running it. Everything else lives in the
subpackages, in layers that import one way (docs/architecture.md): ``common``; the
servers and ``fleet_sim``; ``scenarios``; ``reports`` and ``metrics``; ``locust_app``;
``runs``; the faces ``api``, ``cli`` and ``pytest_plugin``.
Importing this package is cheap and never imports Locust, which monkey-patches gevent
into the importing process: the public names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from fleetchaos.api import (
        EXIT_BAD_INPUT,
        EXIT_BREACH,
        EXIT_HARNESS,
        EXIT_NO_EFFECT,
        EXIT_PASS,
        FleetchaosError,
        HarnessError,
        PhaseResult,
        SloResult,
        Summary,
        UsageError,
        load_scenario,
        run,
    )

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BREACH",
    "EXIT_HARNESS",
    "EXIT_NO_EFFECT",
    "EXIT_PASS",
    "FleetchaosError",
    "HarnessError",
    "PhaseResult",
    "SloResult",
    "Summary",
    "UsageError",
    "__version__",
    "load_scenario",
    "run",
]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        from fleetchaos import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fleetchaos' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Timeline steps as plug-ins: one module per YAML action, registered by name in ``STEPS``.

Adding an action is one new module here (its schema, apply, undo, label and journal
form) and one import below; the engine and the schema look steps up by name.
"""

from fleetchaos.scenarios.steps import (  # noqa: F401  (each registers itself)
    backend_knob,
    http_error,
    proxy_down,
    toxic,
    users,
    verbosity,
)
from fleetchaos.scenarios.steps.base import (
    STEPS,
    Applied,
    Effect,
    ParseContext,
    ProxyCounters,
    Route,
    StepEnv,
    StepSpec,
    register,
)

__all__ = ["STEPS", "Applied", "Effect", "ParseContext", "ProxyCounters", "Route", "StepEnv",
           "StepSpec", "register"]

"""Small pieces every fleetchaos process shares, the bottom layer (it imports nothing of
fleetchaos): errors and exit codes (``errors``), every run option declared once
(``run_options``), "did you mean" (``suggest``), the hardened YAML loader (``yaml_safe``),
the ``file:line: key`` checker (``checker``), placeholders, MQTT URLs (``mqtt_url``),
child-process handling and the loopback guard (re-exported here).

Nothing here imports locust, and only ``serving`` (the asyncio servers' start-up helper,
never imported by this ``__init__``) imports asyncio, so any part (the gevent-patched
Locust process, the asyncio servers, the CLI) can import it without side effects.
"""

from fleetchaos.common.child_process import ChildProcess, ChildProcessError, start_child
from fleetchaos.common.loopback import TargetNotAllowed, check_loopback, is_loopback_host

__all__ = [
    "ChildProcess",
    "ChildProcessError",
    "TargetNotAllowed",
    "check_loopback",
    "is_loopback_host",
    "start_child",
]

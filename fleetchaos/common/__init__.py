"""Small pieces every fleetchaos process shares: child-process handling and the loopback guard.

Kept free of locust and asyncio imports so that any part (the gevent-patched Locust
process, the asyncio servers, the CLI) can import it without side effects.
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

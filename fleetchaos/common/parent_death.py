"""Children that end when the process that started them dies, however it dies.

Every server and Locust process fleetchaos starts runs in its own session (so a
Ctrl-C in the terminal reaches only the CLI, which then stops them in order). The
price: killing the CLI's process group — or SIGKILL to the CLI alone — would leave
them running with parent pid 1. On Linux the kernel can deliver a signal to a child
when its parent dies (``prctl(PR_SET_PDEATHSIG)``); we ask for SIGTERM, so servers
and Locust still take their own clean-shutdown path (Locust's rolls faults back).

The death signal is tied to the *thread* that forked the child and is not inherited
across fork, so processes that fork workers themselves (Locust ``--processes``) call
:func:`die_with_parent_after_fork` so each forked child inherits the same guarantee.
Elsewhere (macOS, Windows) these functions do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


_PRCTL = _libc_prctl()


def set_parent_death_signal(sig: int = signal.SIGTERM, *, expected_parent: int | None = None) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies.

    If the parent already died before the request (``getppid()`` no longer the expected
    one), the signal is raised at once. Returns False where the platform cannot do it.
    """
    if _PRCTL is None:
        return False
    if _PRCTL(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if expected_parent is not None and os.getppid() != expected_parent:
        os.kill(os.getpid(), sig)
    return True


def preexec_die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` for subprocess.Popen: the child gets ``sig`` when we die.

    Returns None where unsupported, so callers can pass it straight to Popen.
    """
    if _PRCTL is None:
        return None
    parent = os.getpid()

    def _preexec() -> None:  # runs in the child between fork and exec: keep it tiny
        set_parent_death_signal(sig, expected_parent=parent)

    return _preexec


_registered = False


def die_with_parent_after_fork(sig: int = signal.SIGTERM) -> None:
    """Every process forked from this one from now on gets ``sig`` when this one dies."""
    global _registered
    if _registered or _PRCTL is None:
        return
    _registered = True

    forker = [os.getpid()]

    def _before() -> None:
        forker[0] = os.getpid()

    def _in_child() -> None:
        set_parent_death_signal(sig, expected_parent=forker[0])

    os.register_at_fork(before=_before, after_in_child=_in_child)

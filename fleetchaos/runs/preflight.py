"""Before a run starts any child: the profile loads, and a backend already named answers.

Bad input found here is one line (UsageError, exit 2) and nothing has been started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetchaos.common.errors import UsageError

if TYPE_CHECKING:
    from fleetchaos.fleet_sim.profiles import Profile


def load_profile_or_exit(name: str) -> Profile:
    """The profile, or UsageError with its one-line ``file:line: key`` message."""
    from fleetchaos.fleet_sim.profiles import ProfileError, load_profile

    try:
        return load_profile(name)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None


def preflight(profile_name: str, host: str | None, *, allow_remote: bool = False,
              allowed_hosts: tuple[str, ...] = ()) -> Profile:
    """Before a run starts any child: the profile loads, and a backend that is already
    named (``--host`` or the profile's ``base_url``) answers and accepts the login.

    Raises UsageError (exit 2, one line); returns the loaded profile."""
    from fleetchaos.common import TargetNotAllowed, check_loopback
    from fleetchaos.fleet_sim.probe import check_reachable
    from fleetchaos.fleet_sim.profiles import ProfileError

    profile = load_profile_or_exit(profile_name)
    host = host or profile.base_url
    if host:
        try:
            check_loopback(host, what="backend --host", allow_remote=allow_remote,
                           allowed_hosts=allowed_hosts)
            check_reachable(profile, host)
        except (TargetNotAllowed, ProfileError) as exc:
            raise UsageError(str(exc)) from None
    return profile

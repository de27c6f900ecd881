"""`fleetchaos probe` (try a profile against a live backend, print every exchange) and
`scenarios --show` (a built-in scenario's YAML, for copying). The profile checks of
`fleetchaos validate` and of a run's start are library code in ``fleetchaos.runs``.
"""

from __future__ import annotations

import argparse
import os

from fleetchaos.common.errors import EXIT_BAD_INPUT, EXIT_PASS, UsageError
from fleetchaos.runs.preflight import load_profile_or_exit

HELP = ("try a backend profile against a live backend: one login, each action, one "
              "telemetry batch; exit 0 when every answer is what the profile expects")
DESCRIPTION = HELP
EPILOG = "example: fleetchaos probe --target my-profile.yaml --host http://127.0.0.1:8080"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", metavar="PROFILE", required=True,
                   help="backend profile: a built-in name or a YAML path")
    p.add_argument("--host", metavar="URL",
                   help="the backend's base URL (default: the profile's base_url)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a host outside 127.0.0.0/8 and ::1 (off by default)")


def run(ns: argparse.Namespace) -> int:
    from fleetchaos.common import TargetNotAllowed, check_loopback
    from fleetchaos.fleet_sim.probe import probe

    profile = load_profile_or_exit(ns.target)
    host = ns.host or profile.base_url
    if not host:
        raise UsageError(f"profile {ns.target!r} names no base_url: pass --host URL")
    try:
        check_loopback(host, what="probe --host", allow_remote=ns.allow_remote)
    except TargetNotAllowed as exc:
        raise UsageError(str(exc)) from None
    exchanges = probe(profile, host, os.environ.get("FLEETCHAOS_ADMIN_TOKEN"))
    for ex in exchanges:
        mark = "ok  " if ex.ok else "FAIL"
        print(f"{mark} {ex.label}: {ex.method} {ex.url}")
        for k, v in ex.headers.items():
            print(f"       > {k}: {_masked(k, v)}")
        if ex.body is not None:
            print(f"       > {_short_json(ex.body)}")
        print(f"       < {ex.status or '-'} {ex.answer}")
        for note in ex.notes:
            print(f"       note: {note}")
        if not ex.ok and ex.fix:
            print(f"       fix: {ex.fix}")
    bad = [ex for ex in exchanges if not ex.ok]
    if bad:
        print(f"{len(bad)} of {len(exchanges)} answers were not what the profile expects")
        return EXIT_BAD_INPUT
    print(f"all {len(exchanges)} answers are what the profile expects")
    return EXIT_PASS


def _masked(name: str, value: str) -> str:
    """Credentials shown by their start only (the probe's output ends up in CI logs)."""
    secret = any(w in name.lower() for w in ("auth", "token", "key", "secret", "cookie"))
    if not secret or len(value) <= 16:
        return value
    return f"{value[:14]}... ({len(value)} chars)"


def _short_json(body: object, limit: int = 300) -> str:
    import json

    text = json.dumps(body, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show_scenario(name: str) -> str:
    """A built-in scenario's YAML, as shipped (UsageError naming the built-ins otherwise)."""
    from fleetchaos.scenarios.loader import LIBRARY, list_builtin

    path = LIBRARY / f"{name}.yaml"
    if "/" in name or not path.is_file():
        names = ", ".join(n for n, _ in list_builtin())
        raise UsageError(f"{name}: not a built-in scenario ({names})")
    return path.read_text(encoding="utf-8")


__all__ = ["DESCRIPTION", "EPILOG", "HELP", "add_arguments", "run", "show_scenario"]

"""The run options a command offers, as argparse arguments derived from their declaration.

Each option is declared once (``fleetchaos.common.run_options``); this module adds the
ones a command offers to its parser and reads them back, converted and range-checked by
the declaration, so `run`, `demo`, `ui`, `validate`, `sweep` and `breakpoint` accept the
same spelling, the same values and the same help for the same option. argparse keeps the
raw text (and None when the option is not given); a bad value is refused after parsing,
in one line naming the option and the value, like every other bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from fleetchaos.common.run_options import RunOption, for_command


def _help(option: RunOption) -> str:
    extra = []
    if option.limit is not None:
        extra.append(f"at most {option.limit().value} here")
    if option.default is not None and option.kind not in ("flag", "sets") and not option.positional:
        extra.append(f"default {option.default}")
    return option.help + (f" ({'; '.join(extra)})" if extra else "")


def add_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Add the run options ``command`` offers to its parser (declaration order)."""
    for option in for_command(command):
        if option.positional:
            parser.add_argument(option.name, metavar=option.metavar, help=option.help,
                                nargs="?" if command == "validate" else None)
        elif option.kind == "flag":
            negated = option.default is True  # --no-live turns a default-on flag off
            parser.add_argument(option.cli_flag, dest=option.name, help=option.help,
                                action="store_false" if negated else "store_true",
                                default=option.default)
        elif option.kind == "sets":
            parser.add_argument(option.cli_flag, dest=option.name, action="append", default=[],
                                metavar=option.metavar, help=option.help)
        else:
            parser.add_argument(option.cli_flag, dest=option.name, default=None,
                                metavar=option.metavar, help=_help(option))


def values_from(ns: argparse.Namespace, command: str) -> dict[str, Any]:
    """The command's run options from parsed arguments, keyed by option name: each
    converted and checked by its declaration (UsageError names the first bad one)."""
    values: dict[str, Any] = {}
    for option in for_command(command):
        raw = getattr(ns, option.name, None)
        if raw is None and option.positional:  # `validate --target P` checks a profile alone
            values[option.name] = None
        elif option.kind in ("flag", "sets") or raw is None:
            values[option.name] = option.check(raw, "cli")
        else:
            values[option.name] = option.parse(raw, "cli")
    return values

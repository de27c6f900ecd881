""""Did you mean ...?": the nearest known word to a misspelt one, for every refusal that
names something unknown (a scenario, a ``--set`` key, an option, a command).

difflib's ratio, as Python 3.12's NameError hints and argparse 3.14's
``suggest_on_error`` do; one suggestion, and none when nothing is close.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's default: "carz" -> "cars", "basline" -> "baseline", "x" -> nothing


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known word nearest to ``word``, or None when none is close enough."""
    choices = [k for k in known if k != word]
    if not word or len(word) > 200 or not choices:
        return None
    found = difflib.get_close_matches(word, choices, n=1, cutoff=CUTOFF)
    return found[0] if found else None


def did_you_mean(word: str, known: Iterable[str], *, quote: bool = True) -> str:
    """``"; did you mean 'cars'?"`` (to append to a refusal), or ``""``."""
    match = closest(word, known)
    if match is None:
        return ""
    return f"; did you mean {match!r}?" if quote else f"; did you mean {match}?"

"""Valid 17-character VINs (ISO 3779 / FMVSS 115 check digit in position 9).

Backends validate VINs; a fleet of invalid ones would test the wrong code path.
"""

from __future__ import annotations

import random

ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q
_VALUES = {**{str(d): d for d in range(10)},
           **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
           **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
           **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
WMIS = ("5YJ", "7SA", "LRW", "XP7", "1N4", "WBA", "WVW", "KNA")  # EV makers' prefixes
YEARS = "LMNPRS"  # model years 2020-2025


def check_digit(vin: str) -> str:
    total = sum(_VALUES[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    rem = total % 11
    return "X" if rem == 10 else str(rem)


def is_valid(vin: str) -> bool:
    return (len(vin) == 17 and all(c in ALPHABET for c in vin)
            and check_digit(vin) == vin[8])


def make_vin(rng: random.Random, serial: int) -> str:
    """A valid VIN whose last six characters carry ``serial`` (so VINs never collide)."""
    wmi = rng.choice(WMIS)
    vds = "".join(rng.choice(ALPHABET) for _ in range(5))
    year = rng.choice(YEARS)
    plant = rng.choice("ABFPS")
    body = f"{wmi}{vds}0{year}{plant}{serial % 1_000_000:06d}"
    return body[:8] + check_digit(body) + body[9:]

"""JSON written byte for byte as Go's ``encoding/json`` Marshal writes it (Toxiproxy's
answers): compact, keys in the order given (Go's struct field order; a Go map's keys
sorted, which the caller does), ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, non-ASCII
written as UTF-8, bytes that are not UTF-8 as U+FFFD, and numbers as ``strconv`` formats
them: a float32 ``1.0`` is ``1``, ``0.1`` is ``0.1`` (the shortest text that reads back as
the same float32), an exponent only below 1e-6 or from 1e21 on (``1e-7``, ``1e+21``)."""

from __future__ import annotations

import json
import re
import struct
from decimal import Decimal
from typing import Any


class Float32(float):
    """A number Go holds in a float32 field (a toxic's ``toxicity``)."""

    def __new__(cls, value: float) -> Float32:
        return super().__new__(cls, struct.unpack("f", struct.pack("f", value))[0])


_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
         "\u2029": "\\u2029"}
_ESCAPE = re.compile("[<>&\u2028\u2029]")
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes kept by surrogateescape
_PLAIN = json.JSONEncoder(ensure_ascii=False)


def _shortest(value: float, bits: int) -> str:
    """Python's shortest round-trip digits for a float64; for a float32 the fewest
    significant digits that read back as the same float32 (Go's FormatFloat(f, 'g', -1, 32))."""
    if bits == 64:
        return repr(value)
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == value:
            return text
    return repr(value)


def format_float(value: float, bits: int = 64) -> str:
    """A finite float as Go's encoding/json floatEncoder writes it."""
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    exact = Decimal(_shortest(value, bits)).normalize()
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        sign, digits, exponent = exact.as_tuple()
        assert isinstance(exponent, int)
        text = "".join(map(str, digits))
        exp = exponent + len(text) - 1
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        written = f"{'-' if sign else ''}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
        # Go: "clean up e-09 to e-9"
        return re.sub(r"e-0(\d)$", r"e-\1", written)
    return format(exact, "f")


def _string(value: str) -> str:
    text = _PLAIN.encode(_NOT_UTF8.sub("\ufffd", value))
    return _ESCAPE.sub(lambda m: _HTML[m.group(0)], text)


def dumps(value: Any) -> str:
    """Go's json.Marshal of a value made of dicts, lists, str, int, float, bool and None."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Float32):
        return format_float(value, 32)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")

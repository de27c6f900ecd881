"""The toxic contract: attributes decoded as Toxiproxy's Go structs decode them, and the
stage class that acts on each connection (fleetchaos.toxiproxy_server.stage).

Toxiproxy unmarshals ``attributes`` into a Go struct of integer fields (toxics/*.go), so a
JSON integer in range is accepted (negative ones too: Go does not check them, the toxic
treats them as "no effect"), ``null`` leaves the field as it was, unknown keys are
ignored, and anything else (1.5, 1e400, "x", [], {}, true) is a 400 ``bad request body:
json: cannot unmarshal ...`` naming the struct field. This module reproduces those rules
and that wording.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from fleetchaos.toxiproxy_server.gojson import Float32
from fleetchaos.toxiproxy_server.stage import Stage

if TYPE_CHECKING:
    from fleetchaos.toxiproxy_server.stage import Stub

TOXICS: dict[str, type[Toxic]] = {}
INT64 = (-(2**63), 2**63 - 1)


class ToxicError(ValueError):
    """A toxic's attributes are wrong: answered as HTTP 400 with this text."""


def register(cls: type[Toxic]) -> type[Toxic]:
    TOXICS[cls.type_name] = cls
    return cls


def json_kind(value: Any) -> str:
    """The JSON type word Go's decoder uses in its messages."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "number"


class JsonFloat(float):
    """A JSON number with a fraction or exponent, keeping its literal text (Go quotes it)."""

    text: str

    def __new__(cls, text: str) -> JsonFloat:
        obj = super().__new__(cls, text)
        obj.text = text
        return obj


def number_text(value: float | int) -> str:
    return getattr(value, "text", None) or repr(value)


def go_fields(body: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """A JSON object's values for a Go struct's fields, as encoding/json matches them: a key
    names the field spelled the same, else one equal ignoring case; keys are taken in order,
    so a later key for the same field wins, and a null leaves the field as it was; keys
    naming no field are ignored."""
    known = list(fields)
    folded = {name.lower(): name for name in known}
    out: dict[str, Any] = {}
    for key, value in body.items():
        field = key if key in known else folded.get(key.lower())
        if field is not None and value is not None:
            out[field] = value
    return out


def decode_int(value: Any, where: str, go_type: str = "int64") -> int:
    """A JSON value into a Go integer field, or the error text Go's decoder gives."""
    if isinstance(value, int) and not isinstance(value, bool) and INT64[0] <= value <= INT64[1]:
        return value
    kind = json_kind(value)
    shown = f"number {number_text(value)}" if kind == "number" else kind
    raise ToxicError(f"bad request body: json: cannot unmarshal {shown} into Go struct field "
                     f"{where} of type {go_type}")


class Toxic:
    """Base class. Subclasses set ``type_name``, ``defaults`` (attribute → default value),
    ``units`` (attribute → unit; the scenario steps' TOXIC_ATTRIBUTES must agree),
    ``go_struct`` (the Go type name, for error texts) and ``stage`` (the per-connection
    behaviour)."""

    type_name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    units: ClassVar[dict[str, str]] = {}  # attribute -> unit, as Toxiproxy documents them
    go_struct: ClassVar[str] = ""
    go_int: ClassVar[str] = "int64"
    extension: ClassVar[bool] = False  # not in Toxiproxy 2.x: named in GET /extensions
    stage: ClassVar[type[Stage]] = Stage

    def __init__(self, name: str, stream: str, toxicity: float, attributes: dict[str, Any]):
        self.name = name
        self.stream = stream  # as the client wrote it ("UPSTREAM"): Toxiproxy echoes it
        self.direction = stream.lower()  # "upstream" or "downstream"
        self.toxicity = toxicity
        self.attributes: dict[str, Any] = dict(self.defaults)
        self.update_attributes(attributes)

    def update_attributes(self, attributes: dict[str, Any]) -> None:
        """Known fields matched as Go matches them (go_fields); other keys kept for
        ``validate`` (Go's toxics drop them, an extension may read them)."""
        merged = dict(self.attributes)
        merged.update({k: v for k, v in (attributes or {}).items()
                       if k not in self.defaults and k.lower() not in self._folded()})
        merged.update(go_fields(attributes or {}, self.defaults))
        self.attributes = self.validate(merged)

    @classmethod
    def _folded(cls) -> set[str]:
        return {name.lower() for name in cls.defaults}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Go's rules for the known integer fields; unknown keys are dropped, as Go does."""
        out = {}
        for key in self.defaults:
            where = f".attributes.{key}"  # Go decodes through an anonymous struct
            out[key] = decode_int(attrs.get(key, self.defaults[key]), where, self.go_int)
        return out

    @property
    def toxicity(self) -> float:
        return self._toxicity

    @toxicity.setter
    def toxicity(self, value: float) -> None:
        self._toxicity = Float32(value)  # Go keeps it in a float32

    def to_json(self) -> dict[str, Any]:
        """Go's ToxicWrapper: the embedded toxic (``attributes``) first, then its fields."""
        return {
            "attributes": self.attributes,
            "name": self.name,
            "type": self.type_name,
            "stream": self.stream,
            "toxicity": self.toxicity,
        }

    def new_stage(self, stub: Stub, active: bool = True, at_start: bool = True) -> Stage:
        """This toxic's stage on one connection; ``active`` False (the toxicity draw said
        no) gives a stage that passes everything on."""
        return (self.stage if active else Stage)(self, stub, at_start)

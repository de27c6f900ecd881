"""Toxics, registered by name: one module each, as in Toxiproxy's Go source.

Importing this package imports every toxic module, which registers itself with
``register``. ``TOXICS`` maps a type name ("latency", "http_error", ...) to its class.
"""

from fleetchaos.toxiproxy_server.toxics import (  # noqa: F401  (imported for registration)
    bandwidth,
    http_error,
    latency,
    limit_data,
    noop,
    reset_peer,
    slicer,
    slow_close,
    timeout,
)
from fleetchaos.toxiproxy_server.toxics.base import TOXICS, Toxic, ToxicError, register

EXTENSIONS = sorted(name for name, cls in TOXICS.items() if cls.extension)

__all__ = ["EXTENSIONS", "TOXICS", "Toxic", "ToxicError", "register"]

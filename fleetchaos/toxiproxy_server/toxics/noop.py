"""noop: passes data unchanged; useful to check a client's toxic plumbing."""

from fleetchaos.toxiproxy_server.toxics.base import Toxic, register


@register
class NoopToxic(Toxic):
    type_name = "noop"
    go_struct = "NoopToxic"

"""limit_data: closes the connection once ``bytes`` bytes have passed in this direction.

Pinned to Toxiproxy's toxics/limit_data.go: the count is per connection and survives an
update of the toxic (stub state); a chunk that crosses the limit is cut at it; once the
count reaches the limit (or at the first chunk when the limit is <= 0) the stage closes,
which closes the connection. Removing the toxic lets the rest through.
"""

from __future__ import annotations

from fleetchaos.toxiproxy_server.stage import Stage
from fleetchaos.toxiproxy_server.toxics.base import Toxic, register


class LimitDataStage(Stage):
    def push(self, stamp: float, data: bytes) -> None:
        state = self.stub.state
        sent = state.get("sent", 0)
        limit = self.toxic.attributes["bytes"]
        room = max(0, limit - sent)
        if room < len(data):
            data = data[:room]
        if data:
            self.stub.emit(stamp, data)
            state["sent"] = sent = sent + len(data)
        if limit - sent <= 0:
            self.stub.close()


@register
class LimitDataToxic(Toxic):
    type_name = "limit_data"
    go_struct = "LimitDataToxic"
    defaults = {"bytes": 0}
    units = {"bytes": "bytes"}
    stage = LimitDataStage

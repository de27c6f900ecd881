"""What every handler shares: the pool, the signer, the car links, counters."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fleetchaos.reference_backend.auth import TokenSigner
from fleetchaos.reference_backend.capacity import Capacity
from fleetchaos.reference_backend.cars import CarRegistry
from fleetchaos.reference_backend.db import DbPool, PoolTimeout, transaction
from fleetchaos.reference_backend.validate import Record


@dataclass
class BackendState:
    pool: DbPool
    capacity: Capacity
    signer: TokenSigner
    admin_token: str
    admin_clients: frozenset[str] = frozenset()  # --admin-from: non-loopback admin clients
    cars: CarRegistry = field(default_factory=CarRegistry)
    car_tokens: dict[str, str] = field(default_factory=dict)  # vin -> car credential
    responses: Counter[str] = field(default_factory=Counter)
    client_aborts: int = 0  # requests whose client left before the answer (not a status)
    telemetry_received: int = 0
    telemetry_acked: int = 0
    telemetry_rate_limited: int = 0
    telemetry_unstored: int = 0
    started: float = field(default_factory=time.time)
    mqtt: Any = None  # the MQTT consumer's IngestStats (with --mqtt-url), for /admin/stats

    async def store_telemetry(self, vin: str, records: list[Record]) -> list[int]:
        """Store checked records in one transaction; return the seqs that are now durable.

        Only what this returns may be acked: acked == stored. The records were checked at
        the edge (``validate``), and the transaction rolls back on any error, so a failed
        write leaves neither a partial batch nor a held write lock behind.
        """
        if not records:
            return []
        if self.pool.stopping:  # fail before the per-signal work, not after it
            raise PoolTimeout("the server is stopping")
        rows = [(vin, r.seq, r.ts, 1 if r.is_resend else 0, r.body) for r in records]

        def write(conn: sqlite3.Connection) -> None:
            # One row per signal as well, as time-series telemetry stores keep them: the
            # cost of a record grows with its field count, which is what verbosity
            # multiplies. Built here, on the connection's thread once a connection is ours,
            # not before the wait: under a flood most records time out in the pool's queue
            # and are resent, and their per-field encoding on the event loop was 47 % of
            # its samples (py-spy, verbosity-flood-2021), work thrown away.
            signals = [(vin, name, r.ts, json.dumps(value))
                       for r in records for name, value in r.fields.items()]
            with transaction(conn):
                conn.executemany(
                    "INSERT INTO telemetry (vin, seq, ts, is_resend, body) VALUES (?,?,?,?,?)",
                    rows)
                conn.executemany("INSERT INTO signals (vin, name, ts, value) VALUES (?,?,?,?)",
                                 signals)
                conn.execute("INSERT INTO vehicle_state (vin, ts, body) VALUES (?,?,?) "
                             "ON CONFLICT(vin) DO UPDATE SET ts=excluded.ts, body=excluded.body",
                             (vin, rows[-1][2], rows[-1][4]))

        await self.pool.run(write, self.capacity.telemetry_acquire_timeout_s)
        self.telemetry_acked += len(rows)
        return [r.seq for r in records]

    async def api_db(self, fn: Any) -> Any:
        """The API path's access to the shared pool, under the API deadline."""
        return await self.pool.run(fn, self.capacity.db_acquire_timeout_s)

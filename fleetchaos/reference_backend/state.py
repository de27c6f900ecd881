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
from fleetchaos.reference_backend.db import DbPool


@dataclass
class BackendState:
    pool: DbPool
    capacity: Capacity
    signer: TokenSigner
    admin_token: str
    cars: CarRegistry = field(default_factory=CarRegistry)
    car_tokens: dict[str, str] = field(default_factory=dict)  # vin -> car credential
    responses: Counter[str] = field(default_factory=Counter)
    telemetry_received: int = 0
    telemetry_acked: int = 0
    telemetry_rate_limited: int = 0
    telemetry_unstored: int = 0
    started: float = field(default_factory=time.time)

    async def store_telemetry(self, vin: str, records: list[dict[str, Any]]) -> list[int]:
        """Store records in one transaction; return the seqs that are now durable.

        Only what this returns may be acked: acked == stored.
        """
        rows = [(vin, int(r["seq"]), float(r.get("ts") or time.time()),
                 1 if r.get("is_resend") else 0, json.dumps(r.get("fields") or {}))
                for r in records]
        # One row per signal as well, as time-series telemetry stores keep them: the cost
        # of a record grows with its field count, which is what verbosity multiplies.
        signals = [(vin, name, row[2], json.dumps(value))
                   for r, row in zip(records, rows, strict=True)
                   for name, value in (r.get("fields") or {}).items()]

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO telemetry (vin, seq, ts, is_resend, body) VALUES (?,?,?,?,?)", rows)
            conn.executemany("INSERT INTO signals (vin, name, ts, value) VALUES (?,?,?,?)",
                             signals)
            conn.execute("INSERT INTO vehicle_state (vin, ts, body) VALUES (?,?,?) "
                         "ON CONFLICT(vin) DO UPDATE SET ts=excluded.ts, body=excluded.body",
                         (vin, rows[-1][2], rows[-1][4]))
            conn.execute("COMMIT")

        await self.pool.run(write, self.capacity.telemetry_acquire_timeout_s)
        self.telemetry_acked += len(rows)
        return [row[1] for row in rows]

    async def api_db(self, fn: Any) -> Any:
        """The API path's access to the shared pool, under the API deadline."""
        return await self.pool.run(fn, self.capacity.db_acquire_timeout_s)

"""Telemetry's per-field work is paid only by records that get a database connection.

Seen in the verbosity-flood demo (py-spy of the backend during the flood): 47 % of the
event loop's samples were ``json.dumps`` of each signal of records that then waited 5 s
for the pool, timed out unacked and were resent, so the loop saturated on work that was
thrown away. The signal rows are now built inside the write, on the connection's worker
thread, once the connection is ours.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import threading

from fleetchaos.reference_backend.auth import TokenSigner
from fleetchaos.reference_backend.capacity import Capacity
from fleetchaos.reference_backend.db import DbPool, PoolTimeout
from fleetchaos.reference_backend.state import BackendState
from fleetchaos.reference_backend.validate import telemetry_record

FIELDS = 300


def record(seq: int):
    return telemetry_record({"seq": seq, "ts": 1.0e9 + seq,
                             "fields": {f"f{i:03d}": i * 0.5 for i in range(FIELDS)}})


def test_a_record_that_times_out_in_the_pool_queue_costs_no_per_field_work(tmp_path,
                                                                           monkeypatch):
    calls: list[int] = []  # the thread of every json.dumps made for a signal value
    real_dumps = json.dumps

    def counting_dumps(value, *args, **kwargs):
        calls.append(threading.get_ident())
        return real_dumps(value, *args, **kwargs)

    path = str(tmp_path / "b.db")
    release = threading.Event()

    async def scenario() -> tuple[int, int, list[int], int]:
        pool = DbPool(path, 1)
        st = BackendState(pool=pool, capacity=Capacity(telemetry_acquire_timeout_s=0.2),
                          signer=TokenSigner(secrets.token_bytes(32), 300.0), admin_token="t")
        loop_thread = threading.get_ident()
        try:
            holder = asyncio.create_task(pool.run(lambda conn: release.wait(20), 20))
            while pool.idle.qsize():  # the only connection is taken
                await asyncio.sleep(0.01)
            monkeypatch.setattr(json, "dumps", counting_dumps)
            doomed = await asyncio.gather(*(st.store_telemetry("VIN1", [record(s)])
                                            for s in range(20)), return_exceptions=True)
            timed_out = sum(isinstance(r, PoolTimeout) for r in doomed)
            on_loop_while_waiting = sum(t == loop_thread for t in calls)
            release.set()
            await holder
            stored = await st.store_telemetry("VIN1", [record(99)])
            return timed_out, on_loop_while_waiting, stored, loop_thread
        finally:
            release.set()
            pool.close()

    timed_out, on_loop_while_waiting, stored, loop_thread = asyncio.run(
        asyncio.wait_for(scenario(), 30))
    assert timed_out == 20  # the flood's fate: no connection within the deadline
    assert on_loop_while_waiting == 0, (
        f"{on_loop_while_waiting} per-field encodings on the event loop for records "
        "that were never stored")
    assert stored == [99]
    assert len(calls) == FIELDS  # the stored record's signals, and only those
    assert loop_thread not in calls  # encoded on the connection's thread
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM signals WHERE vin='VIN1'").fetchone()[0] \
            == FIELDS
        assert conn.execute("SELECT count(*) FROM telemetry").fetchone()[0] == 1
    finally:
        conn.close()


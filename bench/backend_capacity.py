"""The reference backend's capacity on this machine: the unlock rate and the telemetry
rate at which p99 crosses 1 s, alone and mixed. The demo's flood must pass that knee.

Run: .venv/bin/python -m bench.backend_capacity
The load comes from this process (asyncio + aiohttp), the backend runs in its own.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from typing import Any

import aiohttp

from bench.common import write_doc
from fleetchaos import reference_backend

STEP_S = 5.0
CARS = 200
FIELDS = 100  # flood-shaped records (verbosity 60 on a cohort: fields x5, capped at 100)
COMMAND = ".venv/bin/python -m bench.backend_capacity"


def p99(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(0.99 * len(values)))]


async def setup(session: aiohttp.ClientSession, url: str, admin: str) -> list[dict[str, Any]]:
    vehicles = [{"vin": f"5YJ3E1EA{i:09d}", "owner_email": f"o{i}@bench", "owner_password": "pw",
                 "car_token": f"ct{i}"} for i in range(CARS)]
    async with session.post(f"{url}/admin/fleet", json={"vehicles": vehicles},
                            headers={"X-Admin-Token": admin}) as r:
        ids = {v["vin"]: v["id"] for v in (await r.json())["vehicles"]}
    for v in vehicles:
        v["id"] = ids[v["vin"]]
    return vehicles


async def run_step(url: str, vehicles: list[dict[str, Any]], tel_rate: float, unlock_rate: float
                   ) -> dict[str, float | None]:
    """Offer tel_rate records/s over the cars' WebSockets and unlock_rate unlocks/s."""
    # limit=0: one connection per car, past aiohttp's default pool of 100
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        # the owners log in before the step's clock starts: logins inside it queued behind
        # the flood for the step's whole 5 s in some runs, and the row read "none answered"
        # for unlocks that were never sent
        tokens = []
        for v in vehicles[:20] if unlock_rate > 0 else []:
            async with s.post(f"{url}/oauth/token", json={
                    "grant_type": "password", "email": v["owner_email"], "password": "pw"}) as login:
                tokens.append((v["id"], (await login.json())["access_token"]))
        stop = time.monotonic() + STEP_S
        ack_lat: list[float] = []
        unlock_lat: list[float] = []
        statuses: dict[int, int] = {}
        sockets = []
        for v in vehicles:
            ws = await s.ws_connect(f"{url}/api/1/streaming/{v['vin']}",
                                    headers={"Authorization": f"Bearer {v['car_token']}"})
            await ws.send_json({"type": "state", "state": "online"})
            sockets.append(ws)
        sent: dict[tuple[int, int], float] = {}

        async def reader(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                data = json.loads(msg.data)
                if data["type"] == "ack":
                    t = sent.pop((i, data["seq"]), None)
                    if t is not None:
                        ack_lat.append(time.monotonic() - t)
                elif data["type"] == "command":
                    await ws.send_json({"type": "command_ack", "id": data["id"], "result": True})

        readers = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(sockets)]
        fields = {f"debug_{k:03d}": k * 1.5 for k in range(FIELDS)}

        async def telemetry() -> None:
            if tel_rate <= 0:
                return
            seq = 0
            interval = 1.0 / tel_rate
            next_at = time.monotonic()
            while time.monotonic() < stop:
                seq += 1
                i = seq % len(sockets)
                sent[(i, seq)] = time.monotonic()
                await sockets[i].send_json({"type": "telemetry", "seq": seq, "ts": time.time(),
                                            "is_resend": False, "fields": fields})
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

        async def unlocks() -> None:
            if unlock_rate <= 0:
                return
            interval = 1.0 / unlock_rate
            tasks = []
            n = 0

            async def one(vid: int, token: str) -> None:
                start = time.monotonic()
                async with s.post(f"{url}/api/1/vehicles/{vid}/command/door_unlock",
                                  headers={"Authorization": f"Bearer {token}"}) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                unlock_lat.append(time.monotonic() - start)

            while time.monotonic() < stop:
                vid, token = tokens[n % len(tokens)]
                n += 1
                tasks.append(asyncio.create_task(one(vid, token)))
                await asyncio.sleep(interval)
            await asyncio.gather(*tasks, return_exceptions=True)

        await asyncio.gather(telemetry(), unlocks())
        await asyncio.sleep(1.0)
        unacked = len(sent)
        for r in readers:  # stop reading first: aiohttp's close() waits for the reader
            r.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for ws in sockets:
            await ws.close()
    unlock_p99 = p99(unlock_lat)
    if unlock_rate > 0 and not unlock_lat:
        unlock_p99 = float("inf")  # offered and none answered within the step
    ack_p99 = p99(ack_lat)
    if tel_rate > 0 and not ack_lat:
        ack_p99 = float("inf")
    return {"acked_per_s": len(ack_lat) / STEP_S, "ack_p99_s": ack_p99,
            "unlocks_per_s": len(unlock_lat) / STEP_S, "unlock_p99_s": unlock_p99,
            "unlock_500": statuses.get(500, 0), "unacked": unacked}


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return "none answered" if v == float("inf") else f"{v:.2f}"


async def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for tel, unl in [(0, 50), (0, 200), (0, 400), (0, 800),
                         (100, 0), (200, 0), (400, 0), (800, 0),
                         (100, 5), (200, 5), (400, 5), (800, 5)]:
            with reference_backend.run_in_subprocess(db_path=f"{tmp}/b{tel}-{unl}.db") as be:
                async with aiohttp.ClientSession() as s:
                    vehicles = await setup(s, be.url, be.info["admin_token"])
                result = await run_step(be.url, vehicles, tel, unl)
            rows.append((tel, unl, result))
            print(tel, unl, result, flush=True)
    table = ["| offered telemetry rec/s | offered unlocks/s | acked rec/s | ack p99 s | "
             "unlocks/s done | unlock p99 s | unlock 500s |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for tel, unl, r in rows:
        table.append(f"| {tel} | {unl} | {r['acked_per_s']:.0f} | {fmt(r['ack_p99_s'])} | "
                     f"{r['unlocks_per_s']:.0f} | {fmt(r['unlock_p99_s'])} | {r['unlock_500']} |")

    def knee(kind: str, unit: str) -> str:
        """The first offered rate whose p99 passed 1 s, or how far the steps went without it."""
        key = "ack_p99_s" if kind == "tel" else "unlock_p99_s"
        tried = [tel if kind == "tel" else unl for tel, unl, _ in rows]
        for tel, unl, r in rows:
            alone = (unl == 0) if kind == "tel" else (tel == 0)
            if alone and (p99 := r[key]) is not None and p99 > 1.0:
                return f"{tel if kind == 'tel' else unl} {unit}"
        return f"more than {max(tried)} {unit} (the highest rate tried)"

    mixed = next((f"{tel} records/s" for tel, unl, r in rows if tel and unl and
                  (r["unlock_p99_s"] or 0) > 1.0),
                 f"more than {max(tel for tel, _, _ in rows)} records/s (the highest rate tried)")
    body = (f"{CARS} cars on WebSockets, {FIELDS}-field records, each step {STEP_S:g} s on a fresh "
            "backend with default capacity (pool 4, API deadline 2 s). The load generator is one "
            "asyncio process on the same 2 cores, so the highest offered rates may not be reached."
            f"\n\nTelemetry p99 ack latency crosses 1 s at **{knee('tel', 'records/s')}** offered; "
            f"unlock p99 crosses 1 s alone at **{knee('unl', 'unlocks/s')}**; with 5 unlocks/s "
            f"mixed in, unlock p99 crosses 1 s at **{mixed}** of telemetry.\n\n"
            + "\n".join(table) + "\n")
    headline = (f"Reference backend: telemetry ack p99 passes 1 s at **{knee('tel', 'records/s')}**; "
                f"with 5 unlocks/s mixed in, unlock p99 passes 1 s at **{mixed}**")
    print(write_doc("backend", "Reference backend capacity", COMMAND, body, headline).read_text())


if __name__ == "__main__":
    asyncio.run(main())

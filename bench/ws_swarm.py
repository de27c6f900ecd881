"""Many WebSocket cars in one asyncio process, for the stop-under-load test (issue 27).

Run as ``python ws_swarm.py BACKEND_URL VEHICLES_JSON OUT_JSON [--rate R] [--deaf F]
[--http F] [--fields N]``: each car opens ``/api/1/streaming/<vin>`` with its car token,
says it is online and sends one telemetry record of N fields every ``1/R`` s (jittered),
recording the seqs the backend acks. A share ``--deaf`` of the cars stops reading after
connecting (it never answers the backend's close: a stalled client, like a Locust process
under load); a share ``--http`` posts its records as HTTP batches instead (mixed senders).
Prints ``connected N`` once every car is up. On SIGTERM (or when every link is closed)
it writes ``{vin: [acked seqs]}`` to OUT_JSON and exits: the test compares that with the
database file. Cheap on purpose (no Locust, no threads): 1,100 cars use a few MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
from typing import Any

import aiohttp


def record(seq: int, fields: int) -> dict[str, object]:
    return {"type": "telemetry", "seq": seq, "ts": 0, "is_resend": False,
            "fields": {f"f{i}": i * 1.5 for i in range(fields)}}


async def http_car(session: aiohttp.ClientSession, url: str, vehicle: dict[str, str],
                   rate: float, fields: int, acked: list[int], stop: asyncio.Event) -> None:
    """Posts one record at a time and records what the answer acks, until stopped."""
    rng = random.Random(vehicle["vin"])
    headers = {"Authorization": f"Bearer {vehicle['car_token']}"}
    seq = 0
    while not stop.is_set():
        await asyncio.sleep(rng.expovariate(rate))
        seq += 1
        try:
            async with session.post(f"{url}/api/1/telemetry/{vehicle['vin']}", headers=headers,
                                    json={"records": [record(seq, fields)]}) as resp:
                if resp.status == 200:
                    acked.extend(int(s) for s in (await resp.json())["acked"])
        except (TimeoutError, aiohttp.ClientError, OSError):
            if stop.is_set():
                return
            await asyncio.sleep(0.5)


async def car(session: aiohttp.ClientSession, url: str, vehicle: dict[str, str], rate: float,
              fields: int, deaf: bool, acked: list[int], up: asyncio.Event,
              connected: list[int], total: int, stop: asyncio.Event) -> None:
    ws_url = url.replace("http://", "ws://") + f"/api/1/streaming/{vehicle['vin']}"
    try:
        ws = await session.ws_connect(ws_url, headers={
            "Authorization": f"Bearer {vehicle['car_token']}"}, autoping=False, heartbeat=None,
            timeout=aiohttp.ClientWSTimeout(ws_close=60))
    except (aiohttp.ClientError, OSError) as exc:
        print(f"connect failed: {exc}", file=sys.stderr, flush=True)
        connected[1] += 1
        return
    connected[0] += 1
    if connected[0] + connected[1] == total:
        up.set()
    await ws.send_str(json.dumps({"type": "state", "state": "online"}))
    rng = random.Random(vehicle["vin"])

    async def send() -> None:
        seq = 0
        while not ws.closed and not stop.is_set():
            await asyncio.sleep(rng.expovariate(rate))
            seq += 1
            try:
                await ws.send_str(json.dumps(record(seq, fields)))
            except (ConnectionError, RuntimeError, aiohttp.ClientError):
                return

    sender = asyncio.create_task(send())
    try:
        if deaf:
            await stop.wait()  # never reads: the backend's close frame is never answered
            return
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                if data.get("type") == "ack":
                    acked.append(int(data["seq"]))
            elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR):
                break
    finally:
        sender.cancel()


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("vehicles")
    parser.add_argument("out")
    parser.add_argument("--rate", type=float, default=1.0, help="records per second per car")
    parser.add_argument("--deaf", type=float, default=0.0, help="share of cars that stop reading")
    parser.add_argument("--http", type=float, default=0.0, help="share of cars posting HTTP")
    parser.add_argument("--fields", type=int, default=20, help="fields per record")
    ns = parser.parse_args()
    with open(ns.vehicles) as f:
        vehicles = json.load(f)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    up = asyncio.Event()
    acked: dict[str, list[int]] = {v["vin"]: [] for v in vehicles}
    rng = random.Random(27)
    over_http = [v for v in vehicles if rng.random() < ns.http]
    streaming = [v for v in vehicles if v not in over_http]
    connected = [0, 0]  # up, failed
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = []
        for v in streaming:
            tasks.append(asyncio.create_task(car(session, ns.url, v, ns.rate, ns.fields,
                                                 rng.random() < ns.deaf, acked[v["vin"]], up,
                                                 connected, len(streaming), stop)))
            await asyncio.sleep(0)  # do not open 1,100 connections in one loop pass
        tasks += [asyncio.create_task(http_car(session, ns.url, v, ns.rate, ns.fields,
                                               acked[v["vin"]], stop)) for v in over_http]
        if streaming:
            await up.wait()
        print(f"connected {connected[0]} failed {connected[1]} http {len(over_http)}",
              flush=True)
        everyone = asyncio.gather(*tasks, return_exceptions=True)
        stopping = asyncio.create_task(stop.wait())
        either: list[asyncio.Future[Any]] = [everyone, stopping]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        with open(ns.out, "w") as f:
            json.dump(acked, f)
        print("written", flush=True)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

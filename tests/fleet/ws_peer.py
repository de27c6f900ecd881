"""A WebSocket server written from RFC 6455 for the car link's tests (no library: every
byte it sends is chosen here). Prints ``{"port": N}``, then serves one connection per
``case`` (argv[1]):

- ``echo``: checks the upgrade, unmasks each text frame the car sends (refusing an
  unmasked one), answers {"type": "ack", "seq": N} for each record; after 3 records it
  sends a ping, a message in three fragments, a 70,000-byte message (64-bit length) and
  a 300-byte one (16-bit length), then waits for the pong and reports what it saw as a
  final message {"type": "report", ...}, then closes with 1000.
- ``refuse``: answers the upgrade 401.
- ``stall``: completes the upgrade, then reads nothing for 2 s (the car's writes pile up
  in the kernel), then reads everything and reports the record count and bytes.
"""

import asyncio
import base64
import hashlib
import json
import sys
from typing import Any

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + n.to_bytes(2, "big")
    else:
        head += bytes([127]) + n.to_bytes(8, "big")
    return head + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    b0, b1 = await reader.readexactly(2)
    if not b1 & 0x80:
        raise ValueError("unmasked client frame")
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await reader.readexactly(8), "big")
    key = await reader.readexactly(4)
    data = await reader.readexactly(n)
    mask = (key * (n // 4 + 1))[:n]
    return b0 & 0x0F, (int.from_bytes(data, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")


async def handshake(reader, writer, status: int = 101) -> dict[str, str]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    lines = head.split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    if status != 101:
        writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        return fields
    accept = base64.b64encode(hashlib.sha1(fields["sec-websocket-key"].encode() + GUID).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    await writer.drain()
    return {"request": lines[0], **fields}


async def serve(case: str, reader, writer) -> None:
    if case == "refuse":
        await handshake(reader, writer, 401)
        writer.close()
        return
    fields = await handshake(reader, writer)
    if case == "stall":
        await asyncio.sleep(2.0)
        count = size = 0
        while count < int(fields.get("x-expect", "0")):
            _op, data = await read_frame(reader)
            count, size = count + 1, size + len(data)
        writer.write(frame(json.dumps({"type": "report", "records": count, "bytes": size}).encode()))
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()
        return
    records: list[dict[str, Any]] = []
    seen: dict[str, Any] = {"request": fields["request"], "auth": fields.get("authorization"),
                            "records": records, "pong": None}
    while len(records) < 3:
        op, data = await read_frame(reader)
        if op == 1:
            msg = json.loads(data)
            records.append(msg)
            writer.write(frame(json.dumps({"type": "ack", "seq": msg["seq"]}).encode()))
    big = json.dumps({"type": "big", "pad": "x" * 70_000}).encode()
    mid = json.dumps({"type": "mid", "pad": "y" * 300}).encode()
    whole = json.dumps({"type": "fragmented", "parts": 3}).encode()
    writer.write(frame(b"ping!", opcode=9) + frame(whole[:5], fin=False)
                 + frame(whole[5:10], opcode=0, fin=False) + frame(whole[10:], opcode=0)
                 + frame(big) + frame(mid))
    await writer.drain()
    while seen["pong"] is None:
        op, data = await read_frame(reader)
        if op == 10:
            seen["pong"] = data.decode()
    writer.write(frame(json.dumps({"type": "report", "seen": seen}).encode())
                 + frame((1000).to_bytes(2, "big"), opcode=8))
    await writer.drain()
    try:
        op, data = await asyncio.wait_for(read_frame(reader), 5)
        seen_close = op == 8
    except (TimeoutError, asyncio.IncompleteReadError, ValueError):
        seen_close = False
    print(json.dumps({"close_answered": seen_close}), flush=True)
    writer.close()


async def main() -> None:
    case = sys.argv[1]
    server = await asyncio.start_server(lambda r, w: serve(case, r, w), "127.0.0.1", 0)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    await asyncio.sleep(30)


if __name__ == "__main__":
    asyncio.run(main())

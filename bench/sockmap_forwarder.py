"""A TCP forwarder whose bytes never reach user space: the most any proxy can do here.

The proxy benchmark asks how close a proxy can get to direct req/s on this machine. A
BPF sockmap program answers the part no user-space proxy can: each byte a socket
receives is redirected by the kernel to its peer's send path, with no read(), write(),
wake-up or copy in this process. If even this forwarder stays far from direct, the
limit is the kernel's TCP work for the second connection, not the proxy's code.

Only the benchmark runs it. It is not a proxy one could ship: it has no toxics, and
handing a stream back to user space (when a toxic is set) could reorder bytes still
queued in the kernel. Data that arrives before a pair is in the map is read and
written by this process, which is correct only for request/response clients such as
wrk. Needs Linux, x86_64 and root (CAP_BPF); prints ``ready`` or ``unavailable: why``.

Run: python -m bench.sockmap_forwarder LISTEN_PORT UPSTREAM_PORT
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import select
import socket
import struct
import sys

NR_BPF = 321  # x86_64
MAP_CREATE, MAP_UPDATE_ELEM, MAP_DELETE_ELEM, PROG_LOAD, PROG_ATTACH = 0, 2, 3, 5, 8
MAP_HASH, MAP_SOCKMAP = 1, 15
PROG_SK_SKB, ATTACH_SK_SKB_VERDICT = 14, 38
HELPER_MAP_LOOKUP, HELPER_GET_SOCKET_COOKIE, HELPER_SK_REDIRECT_MAP = 1, 46, 52
SK_PASS = 1
SO_COOKIE = 57
TCP_ESTABLISHED = 1
SLOTS = 4096  # sockets in the map: 2,048 connections

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def bpf(cmd: int, attr: bytes) -> int:
    buf = ctypes.create_string_buffer(attr, 128)
    result = _libc.syscall(NR_BPF, ctypes.c_int(cmd), buf, ctypes.c_uint(128))
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def map_create(kind: int, key_size: int, value_size: int, entries: int) -> int:
    return bpf(MAP_CREATE, struct.pack("5I", kind, key_size, value_size, entries, 0))


def map_update(fd: int, key: bytes, value: bytes) -> None:
    k, v = ctypes.create_string_buffer(key, len(key)), ctypes.create_string_buffer(value, len(value))
    bpf(MAP_UPDATE_ELEM, struct.pack("IIQQQ", fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0))


def map_delete(fd: int, key: bytes) -> None:
    k = ctypes.create_string_buffer(key, len(key))
    bpf(MAP_DELETE_ELEM, struct.pack("IIQ", fd, 0, ctypes.addressof(k)))


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def load_map_fd(dst: int, fd: int) -> bytes:
    return insn(0x18, dst, 1, 0, fd) + insn(0)  # ld_imm64 with BPF_PSEUDO_MAP_FD


def verdict_program(peers_fd: int, sockets_fd: int) -> bytes:
    """peer = peers[cookie(this socket)]; redirect to sockets[peer], or pass to user space."""
    return b"".join([
        insn(0xBF, 6, 1),                            # r6 = skb
        insn(0x85, imm=HELPER_GET_SOCKET_COOKIE),    # r0 = cookie(skb's socket)
        insn(0x7B, 10, 0, -8),                       # *(u64 *)(fp - 8) = r0
        insn(0xBF, 2, 10), insn(0x07, 2, imm=-8),    # r2 = fp - 8
        load_map_fd(1, peers_fd),
        insn(0x85, imm=HELPER_MAP_LOOKUP),           # r0 = &peers[cookie]
        insn(0x15, 0, 0, 7),                         # if r0 == 0: goto pass
        insn(0x61, 3, 0, 0),                         # r3 = *(u32 *)r0
        load_map_fd(2, sockets_fd),
        insn(0xBF, 1, 6), insn(0xB7, 4, imm=0),      # r1 = skb, r4 = 0 (egress)
        insn(0x85, imm=HELPER_SK_REDIRECT_MAP),
        insn(0x95),                                  # return its verdict
        insn(0xB7, 0, imm=SK_PASS), insn(0x95),      # pass: return SK_PASS
    ])


def prog_load(code: bytes) -> int:
    license_ = ctypes.create_string_buffer(b"GPL")
    text = ctypes.create_string_buffer(code, len(code))
    log = ctypes.create_string_buffer(1 << 16)
    attr = struct.pack("IIQQIIQII16sII", PROG_SK_SKB, len(code) // 8, ctypes.addressof(text),
                       ctypes.addressof(license_), 1, len(log), ctypes.addressof(log), 0, 0,
                       b"fc_forward", 0, ATTACH_SK_SKB_VERDICT)
    try:
        return bpf(PROG_LOAD, attr)
    except OSError as exc:
        raise OSError(exc.errno, f"{exc.strerror}: {log.value.decode(errors='replace')}") from exc


def cookie(sock: socket.socket) -> bytes:
    return sock.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8)


class Forwarder:
    def __init__(self, listen_port: int, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.sockets = map_create(MAP_SOCKMAP, 4, 4, SLOTS)
        self.peers = map_create(MAP_HASH, 8, 4, SLOTS)
        program = prog_load(verdict_program(self.peers, self.sockets))
        bpf(PROG_ATTACH, struct.pack("4I", self.sockets, program, ATTACH_SK_SKB_VERDICT, 0))
        self.listener = socket.create_server(("127.0.0.1", listen_port), backlog=512)
        self.free = list(range(SLOTS - 2, -1, -2))
        self.pairs: dict[socket.socket, tuple[socket.socket, int]] = {}

    def accept(self) -> None:
        client, _ = self.listener.accept()
        upstream = socket.create_connection(self.upstream)
        slot = self.free.pop()
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            map_update(self.peers, cookie(client), struct.pack("I", slot + 1))
            map_update(self.peers, cookie(upstream), struct.pack("I", slot))
            map_update(self.sockets, struct.pack("I", slot), struct.pack("I", client.fileno()))
            map_update(self.sockets, struct.pack("I", slot + 1), struct.pack("I", upstream.fileno()))
        except OSError:  # the client already closed (a socket must be established to enter)
            self.close(client, upstream, slot)
            return
        self.pairs[client] = (upstream, slot)
        self.pairs[upstream] = (client, slot)
        try:  # bytes that came before the pair was in the map (one request, for wrk)
            early = client.recv(1 << 16, socket.MSG_DONTWAIT)
        except BlockingIOError:
            early = b""
        if early:
            upstream.sendall(early)

    def sweep(self) -> None:
        """Close the pairs whose client or upstream has gone. Their sockets are not polled:
        a socket in a sockmap can report readable with nothing to read, and polling them
        made this process spin."""
        for sock, (peer, slot) in list(self.pairs.items()):
            if sock in self.pairs and sock.getsockopt(
                    socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != TCP_ESTABLISHED:
                self.close(sock, peer, slot)

    def close(self, one: socket.socket, other: socket.socket, slot: int) -> None:
        for sock in (one, other):
            self.pairs.pop(sock, None)
            with contextlib.suppress(OSError):  # already gone with its socket
                map_delete(self.peers, cookie(sock))
            sock.close()  # closing also takes it out of the sockmap
        self.free.append(slot)

    def serve(self) -> None:
        print("ready", flush=True)
        while True:
            if select.select([self.listener], [], [], 1.0)[0]:
                self.accept()
            else:
                self.sweep()


def main() -> None:
    listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    if sys.platform != "linux" or platform.machine() != "x86_64":
        print("unavailable: needs Linux on x86_64", flush=True)
        sys.exit(1)
    try:
        forwarder = Forwarder(listen_port, upstream_port)
    except OSError as exc:
        print(f"unavailable: {exc}", flush=True)
        sys.exit(1)
    forwarder.serve()


if __name__ == "__main__":
    main()

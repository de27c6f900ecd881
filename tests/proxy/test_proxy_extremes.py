"""The API and the proxies under races and extremes (issue 27), against the built-in and,
in comparison mode, the real Toxiproxy: resets racing creations never answer 500 nor
leave a toxic, 10,000 toxics on one proxy still forward, and odd names can be deleted
(where Toxiproxy cannot reach a name holding '/', docs/toxiproxy-server.md says why)."""

from __future__ import annotations

import threading
from urllib.parse import quote

import requests
from timing import Reader, connect, make_proxy
from upstreams import echo_server


def test_resets_racing_creations_never_fail_and_leave_no_toxic(server):
    """ToxicCollection and ProxyCollection hold a mutex for every change; the built-in
    used to answer 500 'dictionary changed size during iteration' here."""
    answers: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def note(what: str, resp: requests.Response) -> None:
        with lock:
            answers.append((what, resp.status_code, resp.text[:200]))

    def creator(t: int) -> None:
        with requests.Session() as http:
            for i in range(15):
                name = f"race{t}_{i}"
                note("create", http.post(f"{server.url}/proxies", json={
                    "name": name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}))
                note("toxic", http.post(f"{server.url}/proxies/{name}/toxics",
                                        json={"type": "latency", "attributes": {"latency": 1}}))
                note("populate", http.post(f"{server.url}/populate", json=[
                    {"name": f"pop{t}", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}]))
                if i % 3 == 0:
                    note("delete", http.delete(f"{server.url}/proxies/race{t}_{i - 1}"))

    def resetter() -> None:
        with requests.Session() as http:
            while not stop.is_set():
                note("reset", http.post(f"{server.url}/reset"))

    creators = [threading.Thread(target=creator, args=(t,)) for t in range(4)]
    resetters = [threading.Thread(target=resetter) for _ in range(2)]
    for thread in creators + resetters:
        thread.start()
    for thread in creators:
        thread.join(120)
    stop.set()
    for thread in resetters:
        thread.join(60)
    failed = [a for a in answers if a[1] >= 500]
    assert not failed, failed[:5]
    assert all(code in (204,) for what, code, _ in answers if what == "reset")
    assert sum(what == "reset" for what, _, _ in answers) >= 2
    assert requests.post(f"{server.url}/reset").status_code == 204
    proxies = requests.get(f"{server.url}/proxies").json()
    assert len(proxies) >= 40
    assert all(p["toxics"] == [] and p["enabled"] for p in proxies.values())


def test_ten_thousand_toxics_on_one_proxy_still_forward(server):
    """Stages hand chunks on in a loop, not by recursion (1,000 latency toxics used to
    close every connection with RecursionError)."""
    with echo_server() as port, requests.Session() as http:
        addr = make_proxy(server.url, "deep", port)
        for i in range(10_000):
            resp = http.post(f"{server.url}/proxies/deep/toxics", json={
                "type": "latency", "name": f"l{i}",
                "stream": "downstream" if i % 2 else "upstream"})
            assert resp.status_code == 200, resp.text
        with connect(addr, 60) as sock:
            reader = Reader(sock)
            payload = bytes(range(256)) * 64
            sock.sendall(payload)
            reader.wait(len(payload), 60)
            assert bytes(reader.got) == payload
        assert requests.post(f"{server.url}/reset").status_code == 204
        assert requests.get(f"{server.url}/proxies/deep/toxics").json() == []


def test_odd_names_are_deletable_url_escaped(server):
    """Toxiproxy checks no name. Braces and 10,000 characters work on both; a name holding
    '/' is reached escaped on the built-in, and never on Toxiproxy (mux decodes the path
    before routing: 404 page not found)."""
    long = "x" * 10_000
    proxies = ["{p}", long, "p/q"]
    for name in proxies:
        resp = requests.post(f"{server.url}/proxies", json={
            "name": name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"})
        assert resp.status_code == 201, resp.text[:200]
    for toxic in ["{t}", long, "a/b", "%2F"]:
        resp = requests.post(f"{server.url}/proxies/{quote('{p}', safe='')}/toxics",
                             json={"type": "noop", "name": toxic})
        assert resp.status_code == 200, resp.text[:200]
        url = f"{server.url}/proxies/{quote('{p}', safe='')}/toxics/{quote(toxic, safe='')}"
        reachable = server.kind == "built-in" or "/" not in toxic
        assert requests.get(url).status_code == (200 if reachable else 404)
        deleted = requests.delete(url)
        if reachable:
            assert deleted.status_code == 204
            assert requests.get(url).json() == {"error": "toxic not found", "status": 404}
        else:
            assert (deleted.status_code, deleted.text) == (404, "404 page not found\n")
    for name in proxies:
        url = f"{server.url}/proxies/{quote(name, safe='')}"
        reachable = server.kind == "built-in" or "/" not in name
        assert requests.delete(url).status_code == (204 if reachable else 404)
    left = set(requests.get(f"{server.url}/proxies").json())
    assert left == ({"p/q"} if server.kind != "built-in" else set())

"""The API's HTTP details as Toxiproxy 2.12 writes them (api.go through Go's net/http and
gorilla/mux v1.8.1), each pinned against the built-in in Toxiproxy mode and, in comparison
mode (TOXIPROXY_SERVER_BIN), against the real binary (issue 25)."""

from __future__ import annotations

import json

import pytest
import requests
from rawhttp import XID, exchange


def create(url: str, name: str = "a", **extra: object) -> dict[str, object]:
    resp = requests.post(f"{url}/proxies", json={"name": name, "upstream": "127.0.0.1:1",
                                                 "listen": "127.0.0.1:0", **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_no_server_header_and_headers_in_gos_order(plain_server):
    """net/http writes no Server header; the handler's headers sorted, then Date,
    Content-Length (and Connection)."""
    for method, path in [("GET", "/version"), ("GET", "/proxies"), ("GET", "/nope"),
                         ("GET", "/proxies/missing"), ("PUT", "/version")]:
        answer = exchange(plain_server.url, method, path)
        assert answer.header("Server") is None, (path, answer.headers)
        names = answer.names()
        own = [n for n in names if n not in ("Date", "Content-Length", "Connection")]
        assert own == sorted(own) and names[len(own):][:1] == ["Date"], (path, names)


def test_api_errors_are_json_text_through_http_error(plain_server):
    """apiError marshals {"error", "status"} and writes it with http.Error: text/plain,
    nosniff, a newline after the JSON, the request id."""
    answer = exchange(plain_server.url, "GET", "/proxies/missing")
    assert answer.status == 404
    assert answer.header("Content-Type") == "text/plain; charset=utf-8"
    assert answer.header("X-Content-Type-Options") == "nosniff"
    assert answer.body == b'{"error":"proxy not found","status":404}\n'
    assert XID.fullmatch(answer.header("X-Toxiproxy-Request-Id") or "")
    bad = exchange(plain_server.url, "POST", "/proxies", b"nonsense")
    assert bad.status == 400
    assert json.loads(bad.body) == {
        "error": "bad request body: invalid character 'o' in literal null (expecting 'u')",
        "status": 400}


def test_request_ids_are_xids_only_on_routed_answers(plain_server):
    """hlog.RequestIDHandler is a mux middleware: routed answers (403 included) carry a
    20-character xid; 404 and 405 from the router carry none."""
    ids = {exchange(plain_server.url, "GET", "/proxies").header("X-Toxiproxy-Request-Id")
           for _ in range(5)}
    assert len(ids) == 5 and all(XID.fullmatch(i or "") for i in ids)
    browser = exchange(plain_server.url, "GET", "/proxies", headers={"User-Agent": "Mozilla/5"})
    assert browser.status == 403 and XID.fullmatch(
        browser.header("X-Toxiproxy-Request-Id") or "")
    assert exchange(plain_server.url, "GET", "/nope").header("X-Toxiproxy-Request-Id") is None
    assert exchange(plain_server.url, "DELETE", "/version").header(
        "X-Toxiproxy-Request-Id") is None


@pytest.mark.parametrize("path", ["/nope", "/proxies/", "/proxies/a/b/c/d", "/metrics",
                                  "/extensions", "/"])
def test_unknown_routes_are_gos_404_page(plain_server, path):
    """http.NotFoundHandler; /metrics is routed only with -proxy-metrics, /extensions is ours."""
    answer = exchange(plain_server.url, "GET", path)
    assert (answer.status, answer.body) == (404, b"404 page not found\n")
    assert answer.header("Content-Type") == "text/plain; charset=utf-8"
    assert answer.header("X-Content-Type-Options") == "nosniff"


def test_browser_user_agent_on_unknown_route_gets_404_not_403(plain_server):
    answer = exchange(plain_server.url, "GET", "/nope", headers={"User-Agent": "Mozilla/5.0"})
    assert (answer.status, answer.body) == (404, b"404 page not found\n")


@pytest.mark.parametrize(("method", "path"), [("POST", "/version"), ("PUT", "/proxies/a"),
                                              ("GET", "/reset"), ("DELETE", "/proxies")])
def test_wrong_method_is_405_with_an_empty_body(plain_server, method, path):
    answer = exchange(plain_server.url, method, path)
    assert (answer.status, answer.body) == (405, b"")
    assert answer.header("Content-Length") == "0"
    assert answer.header("Content-Type") is None


def test_head_version_is_405_without_a_length(plain_server):
    """Routes name GET only; Go writes no Content-Length on a HEAD answer with no body."""
    answer = exchange(plain_server.url, "HEAD", "/version")
    assert answer.status == 405
    assert answer.header("Content-Length") is None


def test_unclean_paths_redirect_to_the_clean_one(plain_server):
    answer = exchange(plain_server.url, "GET", "//proxies?x=1")
    assert answer.status == 301
    assert answer.header("Location") == "/proxies?x=1"
    assert exchange(plain_server.url, "GET", "/proxies/../version").header(
        "Location") == "/version"


def test_success_bodies_have_no_newline_and_version_has_one(plain_server):
    create(plain_server.url)
    for path in ["/proxies", "/proxies/a", "/proxies/a/toxics"]:
        answer = exchange(plain_server.url, "GET", path)
        assert answer.header("Content-Type") == "application/json"
        assert not answer.body.endswith(b"\n"), path
    version = exchange(plain_server.url, "GET", "/version")
    assert version.body == b'{"version": "2.12.0"}\n'
    assert version.header("Content-Type") == "application/json;charset=utf-8"


def test_no_content_answers_have_no_type_nor_length(plain_server):
    create(plain_server.url)
    for method, path in [("POST", "/reset"), ("DELETE", "/proxies/a")]:
        answer = exchange(plain_server.url, method, path)
        assert answer.status == 204 and answer.body == b""
        assert answer.header("Content-Type") is None and answer.header("Content-Length") is None


def test_toxic_json_is_gos_struct_order_and_float32(plain_server):
    """ToxicWrapper embeds the toxic as "attributes" first; toxicity is a float32."""
    create(plain_server.url)
    answer = exchange(plain_server.url, "POST", "/proxies/a/toxics",
                      b'{"type":"latency","attributes":{"latency":5}}')
    assert answer.body == (b'{"attributes":{"latency":5,"jitter":0},"name":"latency_downstream",'
                           b'"type":"latency","stream":"downstream","toxicity":1}')
    answer = exchange(plain_server.url, "POST", "/proxies/a/toxics",
                      b'{"type":"noop","name":"n","toxicity":0.1}')
    assert answer.body.endswith(b'"toxicity":0.1}')
    answer = exchange(plain_server.url, "PATCH", "/proxies/a/toxics/n", b'{"toxicity":0.7}')
    assert answer.body.endswith(b'"toxicity":0.7}')


def test_stream_is_echoed_as_written(plain_server):
    """ParseDirection lowercases to choose the chain; the JSON and the default name keep
    what the client wrote."""
    create(plain_server.url)
    resp = requests.post(f"{plain_server.url}/proxies/a/toxics",
                         json={"type": "latency", "stream": "UPSTREAM"})
    assert resp.json()["stream"] == "UPSTREAM" and resp.json()["name"] == "latency_UPSTREAM"


def test_toxics_are_listed_upstream_chain_first(plain_server):
    """GetToxicArray walks chain[Upstream] then chain[Downstream]."""
    create(plain_server.url)
    for name, stream in [("d1", "downstream"), ("u1", "upstream"), ("d2", "downstream"),
                         ("u2", "Upstream")]:
        requests.post(f"{plain_server.url}/proxies/a/toxics",
                      json={"type": "noop", "name": name, "stream": stream})
    listed = [t["name"] for t in requests.get(f"{plain_server.url}/proxies/a/toxics").json()]
    assert listed == ["u1", "u2", "d1", "d2"]
    shown = [t["name"] for t in requests.get(f"{plain_server.url}/proxies/a").json()["toxics"]]
    assert shown == listed


def test_proxies_are_listed_by_sorted_name_with_gos_logger_field(plain_server):
    """ProxyIndex marshals a map (keys sorted); Proxy's exported Logger marshals as {}."""
    for name in ["zeta", "alpha", "mid"]:
        create(plain_server.url, name)
    answer = exchange(plain_server.url, "GET", "/proxies")
    assert list(json.loads(answer.body)) == ["alpha", "mid", "zeta"]
    assert b'"enabled":true,"Logger":{},"toxics":[]' in answer.body


def test_populate_errors_are_application_json_with_the_proxies(plain_server):
    """Populate marshals its own answer (not through http.Error)."""
    answer = exchange(plain_server.url, "POST", "/populate", b'[{"name":"x"}]')
    assert answer.status == 400
    assert answer.header("Content-Type") == "application/json"
    assert answer.body == (b'{"error":"missing required field: upstream at proxy 1",'
                           b'"status":400,"proxies":null}')
    assert exchange(plain_server.url, "POST", "/populate", b"[]").body == b'{"proxies":null}'

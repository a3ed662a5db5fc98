"""The record/replay seam: one scrubbed cassette format for requests, httplib2 and httpx."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httplib2
import httpx
import pytest
import requests

from analyser.config import Settings
from analyser.errors import FixtureMissingError, TransientError
from connectors.fakeapi import serve
from connectors.replay import (
    FORMAT,
    Cassette,
    HttpRequest,
    HttpResponse,
    Seam,
    cassette_path,
    httplib2_http,
    httpx_transport,
    iter_cassettes,
    request_key,
    requests_adapter,
    scrub_text,
    scrub_url,
)
from tests.conftest import FAKE_FACEBOOK_TOKEN, FAKE_SECRETS, FAKE_TWITTER_TOKEN, FAKE_YOUTUBE_KEY

RECORDED_AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def echo(request: HttpRequest) -> HttpResponse:
    """A server that answers with what it was asked, a Graph-style paging URL holding a token,
    a cookie and a rate-limit header."""
    payload = {
        "path": request.path,
        "query": {k: v for k, v in request.query.items() if k != "access_token"},
        "paging": {"next": f"https://graph.facebook.com/v26.0/1/feed?access_token={FAKE_FACEBOOK_TOKEN}&after=x"},
    }  # fmt: skip
    headers = {
        "x-rate-limit-reset": "1772456400",
        "set-cookie": f"sid={FAKE_TWITTER_TOKEN}",
        "x-served-by": "cache-1",
    }
    return HttpResponse.json(200, payload, headers)


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with serve(echo) as base_url:
        yield base_url


# -- pure helpers ------------------------------------------------------------------------------


def test_scrub_url_and_request_key_drop_credentials_and_host() -> None:
    url = f"https://api.example/v1/x?b=2&key={FAKE_YOUTUBE_KEY}&a=1&access_token=t"
    assert scrub_url(url) == "https://api.example/v1/x?b=2&a=1"
    assert request_key("get", url) == ("GET", "/v1/x", "a=1&b=2")
    assert request_key("GET", "http://127.0.0.1:9/v1/x?a=1&b=2") == request_key("get", url)


def test_scrub_text_removes_tokens_in_bodies(settings: Settings) -> None:
    text = f'{{"next": "https://g/v1?access_token={FAKE_FACEBOOK_TOKEN}&after=x", "t": "{FAKE_TWITTER_TOKEN}"}}'  # noqa: E501
    scrubbed = scrub_text(text)
    assert not any(secret in scrubbed for secret in FAKE_SECRETS)
    assert "access_token=REDACTED&after=x" in scrubbed


def test_cassette_path_is_safe_and_listed(tmp_path: Path) -> None:
    path = cassette_path(tmp_path, "twitter", "Harbour Coffee/../x")
    assert path.parent == tmp_path / "twitter"
    assert path.name == "harbour_coffee_.._x.json"
    Cassette(path, platform="twitter", recorded_at=RECORDED_AT).save()
    assert list(iter_cassettes(tmp_path)) == [path]


# -- the cassette ------------------------------------------------------------------------------


def recorded_cassette(path: Path) -> Cassette:
    cassette = Cassette(path, platform="facebook", recorded_at=RECORDED_AT)
    request = HttpRequest(
        "GET",
        f"https://graph.facebook.com/v26.0/1/feed?limit=5&access_token={FAKE_FACEBOOK_TOKEN}",
        {"Authorization": f"Bearer {FAKE_FACEBOOK_TOKEN}", "Cookie": "c=1"},
    )
    cassette.record(request, echo(HttpRequest("GET", request.url)))
    cassette.record(
        HttpRequest("GET", "https://graph.facebook.com/v26.0/2"),
        HttpResponse(502, {"content-type": "text/html"}, b"<html>bad gateway</html>"),
    )
    cassette.record(
        HttpRequest("GET", "https://graph.facebook.com/v26.0/2"),
        HttpResponse.json(200, {"id": "2"}),
    )
    return cassette


def test_recording_scrubs_before_anything_is_written(tmp_path: Path) -> None:
    cassette = recorded_cassette(tmp_path / "c.json")
    cassette.save()
    text = (tmp_path / "c.json").read_text(encoding="utf-8")
    assert not any(secret in text for secret in FAKE_SECRETS)
    for word in ("authorization", "cookie", "x-served-by"):
        assert word not in text.lower()
    doc = json.loads(text)
    assert doc["format"] == FORMAT and doc["platform"] == "facebook"
    first = doc["interactions"][0]
    assert first["request"] == {
        "method": "GET",
        "url": "https://graph.facebook.com/v26.0/1/feed?limit=5",
    }
    assert first["response"]["headers"]["x-rate-limit-reset"] == "1772456400"
    assert "access_token=REDACTED" in first["response"]["json"]["paging"]["next"]
    assert doc["interactions"][1]["response"]["text"] == "<html>bad gateway</html>"


def test_replay_is_strict_ordered_and_host_blind(tmp_path: Path) -> None:
    recorded_cassette(tmp_path / "c.json").save()
    cassette = Cassette.load(tmp_path / "c.json")
    assert cassette.recorded_at == RECORDED_AT
    # Identical requests replay in recorded order (a 502, then its retry's 200); the last
    # recording repeats.
    statuses = [
        cassette.play(HttpRequest("GET", "http://127.0.0.1:1/v26.0/2")).status for _ in range(3)
    ]
    assert statuses == [502, 200, 200]
    feed = cassette.play(
        HttpRequest("GET", "https://gw.example/v26.0/1/feed?access_token=other&limit=5")
    )
    assert json.loads(feed.body)["path"] == "/v26.0/1/feed"
    assert feed.headers["x-rate-limit-reset"] == "1772456400"
    with pytest.raises(FixtureMissingError) as caught:
        cassette.play(HttpRequest("GET", f"https://g/v26.0/1/feed?limit=6&key={FAKE_YOUTUBE_KEY}"))
    message = caught.value.message
    assert "GET https://g/v26.0/1/feed?limit=6" in message and "uptake record" in message
    assert FAKE_YOUTUBE_KEY not in message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "no recording"),
        ("{not json", "cannot read"),
        ('{"format": "vcr"}', "not an uptake-cassette/1"),
        ("[1, 2]", "not an uptake-cassette/1"),
    ],
)
def test_unusable_cassettes_are_fixture_errors(
    tmp_path: Path, content: str | None, words: str
) -> None:
    path = tmp_path / "c.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(FixtureMissingError, match=words):
        Cassette.load(path)


def test_seams() -> None:
    cassette = Cassette(Path("unused.json"))
    assert Seam.replaying(cassette).offline and Seam.handled_by(echo).offline
    assert not Seam.live().offline and not Seam.recording(cassette).offline
    with pytest.raises(RuntimeError):
        Seam.live().canned(HttpRequest("GET", "http://x/"))


# -- the three stacks --------------------------------------------------------------------------


def requests_session(seam: Seam, base_url: str | None, timeout: float = 5.0) -> requests.Session:
    session = requests.Session()
    session.mount(
        "https://api.twitter.com",
        requests_adapter(
            seam, canonical="https://api.twitter.com", base_url=base_url, timeout=timeout
        ),
    )
    return session


def test_requests_adapter_rebases_the_hard_coded_host() -> None:
    seen: list[str] = []

    def handler(request: HttpRequest) -> HttpResponse:
        seen.append(request.url)
        return HttpResponse.json(201, {"ok": True}, {"x-rate-limit-remaining": "3"})

    session = requests_session(Seam.handled_by(handler), "http://gateway.example:8080/x")
    response = session.get("https://api.twitter.com/2/users/1?a=b")
    assert seen == ["http://gateway.example:8080/x/2/users/1?a=b"]
    assert response.status_code == 201 and response.json() == {"ok": True}
    assert response.headers["X-Rate-Limit-Remaining"] == "3"


def test_sixteen_threads_share_the_requests_adapter_without_discarding_connections(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`uptake batch --concurrency 16` runs 16 X workers through one tweepy session: with
    urllib3's default pool of 10, the 6 extra connections were thrown away with a warning each."""
    workers = 16
    together = threading.Barrier(workers, timeout=10)  # every request in flight at once

    def handler(_request: HttpRequest) -> HttpResponse:
        together.wait()
        return HttpResponse.json(200, {"ok": True})

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")
    with serve(handler) as base_url:
        session = requests_session(Seam.live(), base_url)
        with ThreadPoolExecutor(workers) as pool:
            statuses = list(
                pool.map(
                    lambda _i: session.get("https://api.twitter.com/2/x").status_code,
                    range(workers),
                )
            )
    assert statuses == [200] * workers
    full = [r for r in caplog.records if "Connection pool is full" in r.getMessage()]
    assert full == []


def test_the_httpx_transport_keeps_a_connection_for_each_of_many_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx keeps 20 idle connections by default and silently closes the rest: 32 Facebook
    workers would reconnect on every request. Counted on a keep-alive (HTTP/1.1) server."""
    workers, rounds = 32, 2
    together = threading.Barrier(workers, timeout=10)
    connections: set[int] = set()

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            connections.add(self.client_address[1])
            together.wait()
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            return None

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = workers  # a backlog of 5 makes the other connects wait a second

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = Server(("127.0.0.1", 0), KeepAlive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v26.0/x"
    try:
        with (
            httpx.Client(transport=httpx_transport(Seam.live(), timeout=5)) as client,
            ThreadPoolExecutor(workers) as pool,
        ):
            for _ in range(rounds):
                statuses = list(pool.map(lambda _i: client.get(url).status_code, range(workers)))
                assert statuses == [200] * workers
    finally:
        server.shutdown()
        server.server_close()
    assert len(connections) == workers  # the second round reused every connection


def test_all_three_stacks_record_into_one_cassette_and_replay_offline(
    local: str, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.json"
    cassette = Cassette(path, platform="mixed", recorded_at=RECORDED_AT)
    record = Seam.recording(cassette)

    live_requests = requests_session(record, local).get("https://api.twitter.com/2/a?x=1")
    http = httplib2_http(record, timeout=5)
    live_resp, live_httplib2 = http.request(f"{local}/youtube/v3/b?key={FAKE_YOUTUBE_KEY}")
    with httpx.Client(transport=httpx_transport(record, timeout=5)) as client:
        live_httpx = client.get(f"{local}/v26.0/c", params={"access_token": FAKE_FACEBOOK_TOKEN})
    assert (live_requests.status_code, live_resp.status, live_httpx.status_code) == (200, 200, 200)
    assert live_httpx.json()["path"] == "/v26.0/c"
    cassette.save()

    text = path.read_text(encoding="utf-8")
    assert not any(secret in text for secret in FAKE_SECRETS)
    assert len(json.loads(text)["interactions"]) == 3

    replay = Seam.replaying(Cassette.load(path))
    offline_requests = requests_session(replay, None).get("https://api.twitter.com/2/a?x=1")
    resp, offline_httplib2 = httplib2_http(replay, timeout=5).request(
        "https://youtube.googleapis.com/youtube/v3/b?key=other"
    )
    with httpx.Client(transport=httpx_transport(replay, timeout=5)) as client:
        offline_httpx = client.get("https://graph.facebook.com/v26.0/c?access_token=other")
    # Same answers, except the token in the paging URL, scrubbed at recording.
    assert offline_requests.json()["query"] == live_requests.json()["query"] == {"x": "1"}
    assert "access_token=REDACTED" in offline_requests.json()["paging"]["next"]
    assert resp.status == 200
    assert json.loads(offline_httplib2)["path"] == json.loads(live_httplib2)["path"]
    assert offline_httpx.json()["path"] == live_httpx.json()["path"] == "/v26.0/c"
    assert offline_httpx.headers["x-rate-limit-reset"] == "1772456400"
    with pytest.raises(FixtureMissingError):
        requests_session(replay, None).get("https://api.twitter.com/2/never")


def test_httplib2_canned_error_status_is_kept() -> None:
    seam = Seam.handled_by(lambda _r: HttpResponse.json(403, {"error": {"code": 403}}))
    resp, body = httplib2_http(seam, timeout=5).request("https://youtube.googleapis.com/x")
    assert resp.status == 403 and json.loads(body)["error"]["code"] == 403
    assert isinstance(resp, httplib2.Response)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("stack", ["requests", "httplib2"])
def test_live_connection_refused_is_transient(stack: str) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(TransientError, match=r"cannot connect to 127\.0\.0\.1"):
        if stack == "requests":
            requests_session(Seam.live(), base).get("https://api.twitter.com/2/x")
        else:
            httplib2_http(Seam.live(), timeout=5).request(f"{base}/youtube/v3/x")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections (kernel backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_live_timeout_is_transient_and_names_no_secret(silent_server: str) -> None:
    session = requests_session(Seam.live(), silent_server, timeout=0.05)
    with pytest.raises(TransientError, match="timed out") as caught:
        session.get(f"https://api.twitter.com/2/x?access_token={FAKE_FACEBOOK_TOKEN}")
    assert FAKE_FACEBOOK_TOKEN not in caught.value.message


def test_handler_seam_passes_request_headers_and_body() -> None:
    seen: dict[str, Any] = {}

    def handler(request: HttpRequest) -> HttpResponse:
        seen.update(method=request.method, body=request.body, auth=request.headers.get("auth"))
        return HttpResponse(204)

    with httpx.Client(transport=httpx_transport(Seam.handled_by(handler), timeout=5)) as client:
        response = client.post(
            "https://graph.facebook.com/v26.0/x", content=b"a=1", headers={"auth": "z"}
        )
    assert response.status_code == 204
    assert seen == {"method": "POST", "body": b"a=1", "auth": "z"}

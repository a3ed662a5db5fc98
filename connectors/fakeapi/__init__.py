"""A simulated X / YouTube / Graph API that serves API-shaped responses rendered from snapshots.

The snapshots are the truth; each platform module renders them the way the real API would, so
the real connector code parses them back. Used to record the demo fixtures, by `uptake evaluate`
on generated brands, by tests, and (over 127.0.0.1) by the batch benchmark.
"""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from analyser.models import AccountSnapshot, Platform
from connectors.replay import Handler, HttpRequest, HttpResponse

__all__ = ["FakeApi", "PlatformFake", "serve"]


class PlatformFake(Protocol):
    def handle(self, request: HttpRequest) -> HttpResponse | None:
        """The response, or None when the request is not for this platform."""
        ...


_MODULES = {
    Platform.TWITTER: "connectors.fakeapi.twitter",
    Platform.YOUTUBE: "connectors.fakeapi.youtube",
    Platform.FACEBOOK: "connectors.fakeapi.facebook",
}


class FakeApi:
    """A Handler over the given snapshots on all platforms; counts the requests it serves."""

    def __init__(self, snapshots: Iterable[AccountSnapshot]) -> None:
        by_platform: dict[Platform, list[AccountSnapshot]] = {p: [] for p in Platform}
        for snap in snapshots:
            by_platform[snap.account.platform].append(snap)
        self._fakes: dict[Platform, PlatformFake] = {}
        for platform, module_name in _MODULES.items():
            module = importlib.import_module(module_name)
            self._fakes[platform] = module.Fake(by_platform[platform])
        self.requests: Counter[Platform] = Counter()
        self._lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for platform, fake in self._fakes.items():
            response = fake.handle(request)
            if response is not None:
                with self._lock:
                    self.requests[platform] += 1
                return response
        return HttpResponse.json(404, {"error": {"message": f"no route for {request.path}"}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 makes the 17th simultaneous client wait about a
    # second to connect: a batch of 16 workers a platform would measure the backlog, not itself.
    request_queue_size = 256
    handler: Handler


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        host, port = str(self.server.server_address[0]), self.server.server_address[1]
        url = f"http://{host}:{port}{self.path}"
        request = HttpRequest(self.command, url, dict(self.headers.items()), body)
        response = self.server.handler(request)
        self.send_response(response.status)
        for key, value in response.headers.items():
            if key.lower() not in {"content-length", "transfer-encoding", "connection"}:
                self.send_header(key, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: object) -> None:
        return None  # request lines would carry key= parameters


@contextmanager
def serve(handler: Handler, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `handler` over HTTP on loopback; yields the base URL (http://127.0.0.1:PORT)."""
    if not host.startswith("127.") and host not in {"localhost", "::1"}:
        raise ValueError("the simulated API only listens on loopback")
    server = _Server((host, port), _RequestHandler)
    server.handler = handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

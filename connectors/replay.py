"""Record and replay HTTP traffic for all three client stacks through one cassette format.

Why our own thin layer rather than vcrpy: vcrpy works by patching the HTTP libraries globally,
while every connector here takes its HTTP seam as a constructor argument (a requests adapter for
tweepy, an httplib2-compatible object for google-api-python-client, an httpx transport for
Graph). One small adapter per stack, all writing the same JSON cassette, keeps recording
explicit, thread-safe for batch runs, scrubbed before anything touches disk, and strict on
replay. See docs/fixtures.md.
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httplib2
import httpx
import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from analyser.errors import FixtureMissingError, TransientError, redact

__all__ = [
    "FORMAT",
    "POOL_MAXSIZE",
    "Cassette",
    "Handler",
    "HttpRequest",
    "HttpResponse",
    "Seam",
    "cassette_path",
    "httplib2_http",
    "httpx_transport",
    "request_key",
    "requests_adapter",
    "scrub_text",
]

FORMAT = "uptake-cassette/1"

# Idle connections kept per host for the threads that share one client: the batch's workers on a
# platform (--concurrency, at most 64) all go through one tweepy session or one httpx client.
# Below that, urllib3 throws connections away with a "Connection pool is full" warning (its
# default keeps 10) and httpx closes them silently (it keeps 20), and both reconnect. Connections
# are opened only on demand, so a large pool costs nothing when few workers run. (httplib2 needs
# none: each thread has its own Http.)
POOL_MAXSIZE = 64

# Query parameters and headers that carry credentials; never written, never matched on.
SECRET_PARAMS = frozenset({"key", "access_token", "appsecret_proof", "client_secret", "token"})
SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "x-goog-api-key", "proxy-authorization"}
)
# Response headers worth keeping: rate-limit and usage information the connectors read.
KEPT_HEADERS = re.compile(
    r"(?i)^(content-type|x-rate-limit-.*|x-app-usage|x-business-use-case-usage|x-page-usage"
    r"|retry-after|x-fb-.*-usage|www-authenticate)$"
)
# Headers that no longer describe a body once it has been read and decoded.
_DECODED_AWAY = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_BODY_SECRET = re.compile(r"(?i)((?:access_token|key|appsecret_proof)=)[^&\"'\s]+")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        merged = {"content-type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, merged, json.dumps(payload).encode())


Handler = Callable[[HttpRequest], HttpResponse]


def scrub_url(url: str) -> str:
    """The URL without credential query parameters."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in SECRET_PARAMS
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def scrub_text(text: str) -> str:
    """Remove tokens from a response body (Graph paging URLs carry access_token=).

    redact() runs first: run after, it would turn `access_token=REDACTED` into `access_token=***`,
    which the fixture secret scanner rightly reads as a token.
    """
    return _BODY_SECRET.sub(r"\1REDACTED", redact(text))


def request_key(method: str, url: str) -> tuple[str, str, str]:
    """What replay matches on: method, path and sorted non-secret query. Host is ignored so that
    a cassette recorded against a gateway or local server replays against the default host."""
    parts = urlsplit(url)
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in SECRET_PARAMS
    )
    return method.upper(), parts.path, urlencode(query)


class Cassette:
    """A JSON file of request/response pairs for one account on one platform.

    Identical requests replay in recorded order (a retried 5xx then its 200). Replay is strict:
    a request with no recording raises FixtureMissingError naming the request.
    """

    def __init__(
        self,
        path: Path,
        *,
        platform: str = "",
        recorded_at: datetime | None = None,
        interactions: list[dict[str, Any]] | None = None,
    ) -> None:
        self.path = path
        self.platform = platform
        self.recorded_at = recorded_at
        self.interactions: list[dict[str, Any]] = interactions or []
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, str, str], deque[dict[str, Any]]] | None = None

    @classmethod
    def load(cls, path: Path) -> Cassette:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FixtureMissingError(
                f"no recording at {path}: record it with `uptake record` (needs credentials)"
            ) from None
        except (OSError, ValueError) as exc:
            raise FixtureMissingError(f"cannot read recording {path}: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise FixtureMissingError(f"{path} is not an {FORMAT} cassette")
        recorded = doc.get("recorded_at")
        return cls(
            path,
            platform=str(doc.get("platform", "")),
            recorded_at=datetime.fromisoformat(recorded) if recorded else None,
            interactions=list(doc.get("interactions", [])),
        )

    def save(self) -> None:
        doc = {
            "format": FORMAT,
            "platform": self.platform,
            "recorded_at": (self.recorded_at or datetime.now(UTC)).isoformat(),
            "interactions": self.interactions,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
        self.path.write_text(scrub_text(text), encoding="utf-8")

    def record(self, request: HttpRequest, response: HttpResponse) -> None:
        """Append one exchange, scrubbed of credentials before it is kept in memory."""
        headers = {
            k.lower(): v
            for k, v in response.headers.items()
            if KEPT_HEADERS.match(k) and k.lower() not in SECRET_HEADERS
        }
        entry: dict[str, Any] = {
            "request": {"method": request.method.upper(), "url": scrub_url(request.url)},
            "response": {"status": response.status, "headers": headers},
        }
        text = scrub_text(response.body.decode("utf-8", errors="replace"))
        try:
            entry["response"]["json"] = json.loads(text)
        except ValueError:
            entry["response"]["text"] = text
        with self._lock:
            self.interactions.append(entry)
            self._queues = None

    def play(self, request: HttpRequest) -> HttpResponse:
        key = request_key(request.method, request.url)
        with self._lock:
            if self._queues is None:
                self._queues = defaultdict(deque)
                for entry in self.interactions:
                    req = entry["request"]
                    self._queues[request_key(req["method"], req["url"])].append(entry)
            queue = self._queues.get(key)
            if not queue:
                raise FixtureMissingError(
                    f"{self.path.name} has no recording of {request.method.upper()} "
                    f"{scrub_url(request.url)}: re-record with `uptake record` or change "
                    "--max-posts to what was recorded"
                )
            entry = queue.popleft() if len(queue) > 1 else queue[0]
        resp = entry["response"]
        if "json" in resp:
            body = json.dumps(resp["json"]).encode()
        else:
            body = str(resp.get("text", "")).encode()
        return HttpResponse(int(resp["status"]), dict(resp.get("headers", {})), body)


@dataclass(frozen=True)
class Seam:
    """How a connector reaches HTTP: the real network, the network while recording to a
    cassette, a cassette only (offline), or an in-process handler (simulated API, tests)."""

    kind: Literal["live", "record", "replay", "handler"]
    cassette: Cassette | None = None
    handler: Handler | None = None

    @classmethod
    def live(cls) -> Seam:
        return cls("live")

    @classmethod
    def recording(cls, cassette: Cassette) -> Seam:
        return cls("record", cassette=cassette)

    @classmethod
    def replaying(cls, cassette: Cassette) -> Seam:
        return cls("replay", cassette=cassette)

    @classmethod
    def handled_by(cls, handler: Handler) -> Seam:
        return cls("handler", handler=handler)

    @property
    def offline(self) -> bool:
        return self.kind in ("replay", "handler")

    def canned(self, request: HttpRequest) -> HttpResponse:
        """The response for replay/handler seams (no network)."""
        if self.kind == "replay" and self.cassette is not None:
            return self.cassette.play(request)
        if self.kind == "handler" and self.handler is not None:
            return self.handler(request)
        raise RuntimeError(f"seam {self.kind} has no canned responses")

    def observe(self, request: HttpRequest, response: HttpResponse) -> None:
        if self.kind == "record" and self.cassette is not None:
            self.cassette.record(request, response)


def _rebase(url: str, canonical: str, base_url: str | None) -> str:
    if base_url and url.startswith(canonical):
        return base_url.rstrip("/") + url[len(canonical) :]
    return url


# -- requests (tweepy) -------------------------------------------------------------------------


class _SeamAdapter(HTTPAdapter):
    """Mounted on tweepy's requests.Session: rewrites the hard-coded host to the configured base
    URL, applies a timeout (tweepy sets none), and records or replays."""

    def __init__(self, seam: Seam, canonical: str, base_url: str | None, timeout: float) -> None:
        super().__init__(max_retries=0, pool_maxsize=POOL_MAXSIZE)
        self._seam = seam
        self._canonical = canonical
        self._base = base_url
        self._timeout = timeout

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        request.url = _rebase(request.url or "", self._canonical, self._base)
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        neutral = HttpRequest(request.method or "GET", request.url, dict(request.headers), body)
        if self._seam.offline:
            return _to_requests(request, self._seam.canned(neutral))
        kwargs["timeout"] = kwargs.get("timeout") or self._timeout
        try:
            response = super().send(request, **kwargs)
        except requests.Timeout:
            raise TransientError(
                f"timed out after {self._timeout:.0f} s: {scrub_url(request.url)}"
            ) from None
        except requests.ConnectionError as exc:
            raise TransientError(
                f"cannot connect to {urlsplit(request.url).netloc}: {type(exc).__name__}"
            ) from None
        if self._seam.kind == "record":
            content = response.content
            self._seam.observe(
                neutral, HttpResponse(response.status_code, dict(response.headers), content)
            )
        return response


def _to_requests(request: requests.PreparedRequest, canned: HttpResponse) -> requests.Response:
    response = requests.Response()
    response.status_code = canned.status
    response.headers = CaseInsensitiveDict(canned.headers)
    response._content = canned.body
    response.url = request.url or ""
    response.request = request
    response.encoding = "utf-8"
    response.reason = "OK" if canned.status < 400 else "Error"
    return response


def requests_adapter(
    seam: Seam, *, canonical: str, base_url: str | None, timeout: float
) -> HTTPAdapter:
    """An adapter to mount on a requests.Session for the prefix `canonical` (and http/https);
    it keeps POOL_MAXSIZE connections per host for the threads sharing the session."""
    return _SeamAdapter(seam, canonical, base_url, timeout)


# -- httplib2 (google-api-python-client) -------------------------------------------------------


class _SeamHttp:
    """Duck-types httplib2.Http for googleapiclient: `request(uri, method, body, headers, ...)`."""

    def __init__(self, seam: Seam, timeout: float) -> None:
        self._seam = seam
        self._timeout = timeout
        self._local = threading.local()

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        raw = body.encode() if isinstance(body, str) else (body or b"")
        neutral = HttpRequest(method, uri, dict(headers or {}), raw)
        if self._seam.offline:
            canned = self._seam.canned(neutral)
            return _to_httplib2(canned), canned.body
        # httplib2.Http is not thread-safe: one per thread.
        real = getattr(self._local, "http", None)
        if real is None:
            real = httplib2.Http(timeout=int(self._timeout))
            self._local.http = real
        try:
            resp, content = real.request(
                uri, method, body=body, headers=dict(headers or {}), redirections=redirections
            )
        except TimeoutError:
            raise TransientError(
                f"timed out after {self._timeout:.0f} s: {scrub_url(uri)}"
            ) from None
        except (OSError, httplib2.HttpLib2Error) as exc:
            raise TransientError(
                f"cannot connect to {urlsplit(uri).netloc}: {type(exc).__name__}"
            ) from None
        self._seam.observe(neutral, HttpResponse(resp.status, dict(resp.items()), content))
        return resp, content

    # googleapiclient calls close() on some paths.
    def close(self) -> None:
        return None


def _to_httplib2(canned: HttpResponse) -> httplib2.Response:
    msg = Message()
    for k, v in canned.headers.items():
        if k.lower() != "status":
            msg[k] = v
    msg["status"] = str(canned.status)  # httplib2.Response(Message) reads the status from here
    response = httplib2.Response(msg)
    response.status = canned.status
    response["status"] = str(canned.status)
    response.reason = "OK" if canned.status < 400 else "Error"
    return response


def httplib2_http(seam: Seam, *, timeout: float) -> Any:
    """An httplib2-compatible object for `googleapiclient.discovery.build(http=...)`."""
    return _SeamHttp(seam, timeout)


# -- httpx (Facebook Graph) --------------------------------------------------------------------


class _SeamTransport(httpx.BaseTransport):
    def __init__(self, seam: Seam, timeout: float) -> None:
        self._seam = seam
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=POOL_MAXSIZE)
        self._real = None if seam.offline else httpx.HTTPTransport(limits=limits)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        neutral = HttpRequest(request.method, str(request.url), dict(request.headers), body)
        if self._seam.offline:
            canned = self._seam.canned(neutral)
            return httpx.Response(
                canned.status, headers=dict(canned.headers), content=canned.body, request=request
            )
        assert self._real is not None
        response = self._real.handle_request(request)
        if self._seam.kind == "record":
            content = response.read()
            self._seam.observe(
                neutral, HttpResponse(response.status_code, dict(response.headers), content)
            )
            headers = [
                (k, v) for k, v in response.headers.multi_items() if k.lower() not in _DECODED_AWAY
            ]
            return httpx.Response(
                response.status_code, headers=headers, content=content, request=request
            )
        return response

    def close(self) -> None:
        if self._real is not None:
            self._real.close()


def httpx_transport(seam: Seam, *, timeout: float) -> httpx.BaseTransport:
    """A transport for `httpx.Client(transport=...)`. Timeouts are set on the client."""
    return _SeamTransport(seam, timeout)


def cassette_path(fixtures_dir: Path, platform: str, handle: str) -> Path:
    """Where the recording of one account lives: fixtures/<platform>/<handle, lower case>.json."""
    safe = re.sub(r"[^a-z0-9_.-]", "_", handle.lower())
    return fixtures_dir / platform / f"{safe}.json"


def iter_cassettes(root: Path) -> Iterator[Path]:
    """Every cassette under a fixtures directory."""
    yield from sorted(root.rglob("*.json"))

"""Every Graph error path: decided by Graph's error code, retried only when retrying can help."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from analyser.config import Settings
from analyser.errors import (
    ApiError,
    AuthError,
    DataError,
    MalformedBodyError,
    RateLimitError,
    TransientError,
    UptakeError,
)
from analyser.handles import parse_handle
from analyser.models import AccountStatus
from connectors.base import Gate, Meter, RetryPolicy
from connectors.facebook import FacebookConnector, build
from connectors.replay import Seam
from tests.conftest import FAKE_FACEBOOK_TOKEN

GRAPH = "https://graph.facebook.com"
PAGE_ID = "104729"
PAGE_URL = f"{GRAPH}/v26.0/harbourfresh"
POSTS_URL = f"{GRAPH}/v26.0/{PAGE_ID}/posts"
PAGE_BODY = {"id": PAGE_ID, "name": "Harbour Fresh Markets", "followers_count": 10}
HANDLE = parse_handle("facebook", "harbourfresh")


class Clock:
    """One fake clock for the retry sleeps and the gate, so waits add up as in real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def connector(
    settings: Settings, clock: Clock | None = None, *, max_wait_s: float = 900.0
) -> FacebookConnector:
    clock = clock or Clock()
    policy = RetryPolicy(
        max_attempts=3,
        base_delay_s=1.0,
        max_rate_limit_wait_s=max_wait_s,
        sleep=clock.sleep,
        jitter=lambda _lo, hi: hi,
    )
    gate = Gate(clock=clock, sleep=clock.sleep)
    return build(settings, Seam.live(), policy=policy, gate=gate)


def graph_error(
    status: int, code: int, message: str, *, subcode: int | None = None, **headers: str
) -> httpx.Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEf",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error}, headers=headers)


def ok_page() -> httpx.Response:
    return httpx.Response(200, json=PAGE_BODY)


def no_leak(exc: BaseException) -> None:
    assert FAKE_FACEBOOK_TOKEN not in str(exc)
    assert "\n" not in str(exc)


# -- fatal: token and permissions --------------------------------------------------------------

AUTH_CASES = [
    pytest.param(400, 190, None, "Error validating access token: Session has expired", id="190"),
    pytest.param(400, 190, 463, "Session has expired on Tuesday", id="190-463-expired"),
    pytest.param(400, 190, 467, f"Malformed access token {FAKE_FACEBOOK_TOKEN}", id="190-echo"),
    pytest.param(401, 102, None, "Session key invalid or no longer valid", id="102"),
]


@pytest.mark.parametrize(("status", "code", "subcode", "message"), AUTH_CASES)
def test_bad_token_fails_fast_and_names_the_variable(
    settings: Settings,
    respx_mock: respx.MockRouter,
    status: int,
    code: int,
    subcode: int | None,
    message: str,
) -> None:
    route = respx_mock.get(PAGE_URL).mock(
        return_value=graph_error(status, code, message, subcode=subcode)
    )
    with pytest.raises(AuthError, match="UPTAKE_FACEBOOK_ACCESS_TOKEN") as caught:
        connector(settings).fetch(HANDLE, max_posts=10)
    assert route.call_count == 1  # never retried
    assert "invalid or expired" in str(caught.value)
    no_leak(caught.value)


@pytest.mark.parametrize("code", [10, 200, 210, 299])
def test_permission_codes_explain_page_public_content_access(
    settings: Settings, respx_mock: respx.MockRouter, code: int
) -> None:
    route = respx_mock.get(PAGE_URL).mock(
        return_value=graph_error(403, code, "(#10) Requires Page Public Content Access")
    )
    with pytest.raises(AuthError, match="Page Public Content Access") as caught:
        connector(settings).fetch(HANDLE, max_posts=10)
    assert route.call_count == 1
    assert "pages you do not manage" in str(caught.value)
    no_leak(caught.value)


def test_permission_refused_on_the_posts_edge_is_fatal_too(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(PAGE_URL).mock(return_value=ok_page())
    respx_mock.get(POSTS_URL).mock(
        return_value=graph_error(400, 100, "Unsupported get request.", subcode=33)
    )
    with pytest.raises(AuthError, match="Page Public Content Access"):
        connector(settings).fetch(HANDLE, max_posts=10)


# -- rate limits -------------------------------------------------------------------------------

APP_FULL = json.dumps({"call_count": 100, "total_cputime": 40, "total_time": 55})


def buc(minutes: int) -> str:
    entry = {
        "type": "pages",
        "call_count": 100,
        "total_cputime": 12,
        "total_time": 9,
        "estimated_time_to_regain_access": minutes,
    }
    return json.dumps({PAGE_ID: [entry]})


RATE_CASES = [
    pytest.param(403, 4, "(#4) Application request limit reached", "X-App-Usage", APP_FULL, 1.0),
    pytest.param(403, 17, "(#17) User request limit reached", "X-App-Usage", APP_FULL, 1.0),
    pytest.param(
        400, 32, "(#32) Page request limit reached", "X-Business-Use-Case-Usage", buc(3), 180.0
    ),
    pytest.param(
        400, 613, "Calls to this api have exceeded the rate limit.", "X-App-Usage", APP_FULL, 1.0
    ),
    pytest.param(
        400,
        80001,
        "There have been too many calls to this Page account.",
        "X-Business-Use-Case-Usage",
        buc(2),
        120.0,
    ),
]


@pytest.mark.parametrize(("status", "code", "message", "header", "value", "wait"), RATE_CASES)
def test_rate_limits_back_off_as_the_usage_headers_say_then_succeed(
    settings: Settings,
    respx_mock: respx.MockRouter,
    status: int,
    code: int,
    message: str,
    header: str,
    value: str,
    wait: float,
) -> None:
    clock = Clock()
    route = respx_mock.get(PAGE_URL).mock(
        side_effect=[graph_error(status, code, message, **{header: value}), ok_page()]
    )
    respx_mock.get(POSTS_URL).respond(200, json={"data": []})
    snap = connector(settings, clock).fetch(HANDLE, max_posts=10)
    assert snap.account.status is AccountStatus.FOUND
    assert route.call_count == 2
    assert snap.requests == 3  # every attempt counts
    # With a regain estimate the wait is exactly that (in minutes on the wire); without one,
    # the first exponential step. The gate held the same span, so nothing waited twice.
    assert clock.slept == [wait]


def test_a_rate_limit_that_outlasts_the_wait_budget_fails_at_once(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    clock = Clock()
    route = respx_mock.get(PAGE_URL).mock(
        return_value=graph_error(
            400, 80001, "Too many calls", **{"X-Business-Use-Case-Usage": buc(30)}
        )
    )
    with pytest.raises(RateLimitError, match="about 30 min") as caught:
        connector(settings, clock, max_wait_s=900).fetch(HANDLE, max_posts=10)
    assert route.call_count == 1
    assert clock.slept == []
    no_leak(caught.value)


def test_rate_limit_retries_are_bounded(settings: Settings, respx_mock: respx.MockRouter) -> None:
    clock = Clock()
    route = respx_mock.get(PAGE_URL).mock(
        return_value=graph_error(
            403, 4, "(#4) Application request limit reached", **{"X-App-Usage": APP_FULL}
        )
    )
    with pytest.raises(RateLimitError, match="usage at 100%") as caught:
        connector(settings, clock).fetch(HANDLE, max_posts=10)
    assert route.call_count == 3
    assert clock.slept == [1.0, 2.0]
    assert "#4" in str(caught.value)
    no_leak(caught.value)


def test_http_429_without_a_graph_body_is_a_rate_limit(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(PAGE_URL).mock(side_effect=[httpx.Response(429), ok_page()])
    respx_mock.get(POSTS_URL).respond(200, json={"data": []})
    connector(settings).fetch(HANDLE, max_posts=10)
    assert route.call_count == 2


# -- not found is a finding --------------------------------------------------------------------

MISSING_CASES = [
    pytest.param(
        404, 803, None, "(#803) Some of the aliases you requested do not exist: x", "#803", id="803"
    ),
    pytest.param(
        400,
        100,
        33,
        "Unsupported get request. Object with ID 'x' does not exist",
        "#100/33",
        id="100-33",
    ),
    pytest.param(
        400,
        100,
        None,
        "(#100) Tried accessing nonexisting field (fan_count) on node type (User)",
        "personal profile",
        id="user-profile",
    ),
]


@pytest.mark.parametrize(("status", "code", "subcode", "message", "detail"), MISSING_CASES)
def test_missing_pages_are_a_not_found_snapshot(
    settings: Settings,
    respx_mock: respx.MockRouter,
    status: int,
    code: int,
    subcode: int | None,
    message: str,
    detail: str,
) -> None:
    route = respx_mock.get(PAGE_URL).mock(
        return_value=graph_error(status, code, message, subcode=subcode)
    )
    snap = connector(settings).fetch(HANDLE, max_posts=10)
    assert snap.account.status is AccountStatus.NOT_FOUND
    assert detail in (snap.account.status_detail or "")
    assert snap.account.handle == "harbourfresh"
    assert snap.posts == ()
    assert snap.requests == route.call_count == 1


# -- transient ---------------------------------------------------------------------------------

TRANSIENT_CASES = [
    pytest.param(graph_error(500, 1, "An unknown error has occurred."), id="code-1"),
    pytest.param(graph_error(503, 2, "Service temporarily unavailable"), id="code-2"),
    pytest.param(
        httpx.Response(
            400,
            json={"error": {"code": 1200, "message": "Temporary", "is_transient": True}},
        ),
        id="is_transient",
    ),
    pytest.param(httpx.Response(502, text="<html>Bad Gateway</html>"), id="502-html"),
    pytest.param(httpx.Response(500), id="500-empty"),
    pytest.param(httpx.ConnectTimeout("timed out"), id="connect-timeout"),
    pytest.param(httpx.ReadTimeout("timed out"), id="read-timeout"),
    pytest.param(httpx.ConnectError("refused"), id="connect-error"),
]


@pytest.mark.parametrize("failure", TRANSIENT_CASES)
def test_transient_failures_are_retried(
    settings: Settings, respx_mock: respx.MockRouter, failure: httpx.Response | Exception
) -> None:
    clock = Clock()
    route = respx_mock.get(PAGE_URL).mock(side_effect=[failure, ok_page()])
    respx_mock.get(POSTS_URL).respond(200, json={"data": []})
    snap = connector(settings, clock).fetch(HANDLE, max_posts=10)
    assert snap.account.status is AccountStatus.FOUND
    assert route.call_count == 2
    assert clock.slept == [1.0]


@pytest.mark.parametrize("failure", TRANSIENT_CASES)
def test_transient_failures_give_up_after_bounded_tries(
    settings: Settings, respx_mock: respx.MockRouter, failure: httpx.Response | Exception
) -> None:
    route = respx_mock.get(PAGE_URL).mock(side_effect=[failure] * 3)
    with pytest.raises(TransientError) as caught:
        connector(settings).fetch(HANDLE, max_posts=10)
    assert route.call_count == 3
    assert type(caught.value) is TransientError  # an error page is a 5xx, not a cut-off body
    no_leak(caught.value)


def test_a_timeout_says_so(settings: Settings, respx_mock: respx.MockRouter) -> None:
    respx_mock.get(PAGE_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError, match="timed out after 20 s"):
        connector(settings).fetch(HANDLE, max_posts=10)


def test_a_timeout_on_a_later_page_is_retried_with_the_same_cursor(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(PAGE_URL).mock(return_value=ok_page())
    first = {
        "data": [
            {"id": f"{PAGE_ID}_{i}", "created_time": "2024-05-01T10:00:00+0000"} for i in range(100)
        ],
        "paging": {"cursors": {"after": "C1"}, "next": f"{POSTS_URL}?after=C1"},
    }
    posts = respx_mock.get(POSTS_URL).mock(
        side_effect=[
            httpx.Response(200, json=first),
            httpx.ReadTimeout("slow"),
            httpx.Response(200, json={"data": []}),
        ]
    )
    snap = connector(settings).fetch(HANDLE, max_posts=150)
    assert [c.request.url.params.get("after") for c in posts.calls] == [None, "C1", "C1"]
    assert snap.requests == 4


# -- malformed and unexpected ------------------------------------------------------------------

WRONG_SHAPE_CASES = [
    pytest.param(PAGE_URL, httpx.Response(200, json=["a", "list"]), id="page-list"),
    pytest.param(PAGE_URL, httpx.Response(200, json="a string"), id="page-json-string"),
    pytest.param(PAGE_URL, httpx.Response(200, json={"name": "no id"}), id="page-without-id"),
    pytest.param(POSTS_URL, httpx.Response(200, json={"data": "oops"}), id="posts-data-not-list"),
    pytest.param(PAGE_URL, httpx.Response(302, text="<html>moved</html>"), id="redirect-html"),
]


@pytest.mark.parametrize(("url", "response"), WRONG_SHAPE_CASES)
def test_json_of_the_wrong_shape_is_a_data_error_not_retried(
    settings: Settings, respx_mock: respx.MockRouter, url: str, response: httpx.Response
) -> None:
    if url == POSTS_URL:
        respx_mock.get(PAGE_URL).mock(return_value=ok_page())
    route = respx_mock.get(url).mock(return_value=response)
    with pytest.raises(DataError) as caught:
        connector(settings).fetch(HANDLE, max_posts=10)
    assert not isinstance(caught.value, MalformedBodyError)
    assert route.call_count == 1  # asking again would bring back the same body
    no_leak(caught.value)


NOT_JSON_CASES = [
    pytest.param(PAGE_URL, b"<html>not json</html>", id="page-html"),
    pytest.param(PAGE_URL, b"", id="page-empty"),
    pytest.param(PAGE_URL, b'{"name": "caf\xc3', id="page-cut-mid-character"),
    pytest.param(POSTS_URL, b'{"data": [trunc', id="posts-truncated"),
]


def not_json(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize(("url", "body"), NOT_JSON_CASES)
def test_a_body_that_is_not_json_is_retried_and_every_attempt_counted(
    settings: Settings, respx_mock: respx.MockRouter, url: str, body: bytes
) -> None:
    good = ok_page() if url == PAGE_URL else httpx.Response(200, json={"data": []})
    if url == POSTS_URL:
        respx_mock.get(PAGE_URL).mock(return_value=ok_page())
    else:
        respx_mock.get(POSTS_URL).mock(return_value=httpx.Response(200, json={"data": []}))
    route = respx_mock.get(url).mock(side_effect=[not_json(body), good])
    meter = Meter()
    snap = connector(settings).fetch(HANDLE, max_posts=10, meter=meter)
    assert snap.account.status is AccountStatus.FOUND
    assert route.call_count == 2
    assert snap.requests == meter.requests == 3  # page, posts, and the retry of the bad one


@pytest.mark.parametrize(("url", "body"), NOT_JSON_CASES)
def test_a_body_that_is_never_json_fails_after_bounded_attempts(
    settings: Settings, respx_mock: respx.MockRouter, url: str, body: bytes
) -> None:
    if url == POSTS_URL:
        respx_mock.get(PAGE_URL).mock(return_value=ok_page())
    route = respx_mock.get(url).mock(return_value=not_json(body))
    meter = Meter()
    with pytest.raises(MalformedBodyError) as caught:
        connector(settings).fetch(HANDLE, max_posts=10, meter=meter)
    assert route.call_count == 3
    assert meter.requests == (3 if url == PAGE_URL else 4)
    assert "not JSON" in caught.value.message and "(3 attempts)" in caught.value.message
    assert isinstance(caught.value, TransientError) and caught.value.exit_code == 5
    no_leak(caught.value)


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (graph_error(400, 100, "(#100) Invalid parameter"), ApiError),
        (graph_error(400, 3, "(#3) Application does not have the capability"), ApiError),
        (httpx.Response(401, text="Unauthorized"), AuthError),
        (httpx.Response(404, text="Not Found"), ApiError),
    ],
)
def test_other_refusals_are_not_retried(
    settings: Settings,
    respx_mock: respx.MockRouter,
    response: httpx.Response,
    kind: type[UptakeError],
) -> None:
    route = respx_mock.get(PAGE_URL).mock(return_value=response)
    with pytest.raises(kind) as caught:
        connector(settings).fetch(HANDLE, max_posts=10)
    assert type(caught.value) is kind
    assert route.call_count == 1
    no_leak(caught.value)

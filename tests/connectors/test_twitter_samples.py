"""Every recorded real X response for an endpoint uptake calls parses through the real connector."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from analyser.config import load_settings
from analyser.errors import ApiError, AuthError, RateLimitError, UptakeError
from analyser.handles import parse_handle
from analyser.models import AccountSnapshot, AccountStatus
from connectors.base import RetryPolicy
from connectors.replay import HttpRequest, HttpResponse, Seam
from connectors.twitter import build

# Copied from ../shared/real-samples/twitter (provenance and licences: data/SOURCES.md) so a
# fresh clone tests them wherever it stands.
SAMPLES = Path(__file__).resolve().parent / "data" / "twitter"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Recorded:
    status: int
    headers: dict[str, str]
    body: bytes


def load(name: str) -> Recorded:
    """One recorded response, whatever container the sample collection stored it in."""
    doc: Any = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    if isinstance(doc, dict) and "interactions" in doc:  # decoded tweepy cassette
        first = doc["interactions"][0]
        headers = {k: v[0] for k, v in first["headers"].items()}
        return Recorded(first["status"]["code"], headers, _bytes(first["body"]))
    if isinstance(doc, dict) and "example_name" in doc:  # TwitterDev Postman example
        headers = {k: v for k, v in doc["headers"] if k.lower() != "content-encoding"}
        return Recorded(doc["status"], headers, _bytes(doc["body"]))
    if isinstance(doc, dict) and "status_code" in doc:  # academictwitteR httr response
        headers = {k: v for k, v in doc["headers"].items() if k != "content-encoding"}
        return Recorded(doc["status_code"], headers, _bytes(doc["body"]))
    return Recorded(200, {"content-type": "application/json"}, _bytes(doc))  # bare body


def _bytes(body: Any) -> bytes:
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


USER = HttpResponse.json(200, {"data": {"id": "2244994945", "username": "TwitterDev"}})
EMPTY_PAGE = HttpResponse.json(200, {"meta": {"result_count": 0}})


def serve(user: Recorded | HttpResponse, timeline: Recorded | None = None) -> Any:
    """A handler answering the user lookup and the first timeline page with recordings; later
    pages are empty (the recordings hold one page)."""

    def as_response(recorded: Recorded | HttpResponse) -> HttpResponse:
        if isinstance(recorded, HttpResponse):
            return recorded
        return HttpResponse(recorded.status, recorded.headers, recorded.body)

    def handler(request: HttpRequest) -> HttpResponse:
        if "/by/username/" in request.path:
            return as_response(user)
        if timeline is not None and "pagination_token" not in request.query:
            return as_response(timeline)
        return EMPTY_PAGE

    return handler


def run(handler: Any, max_posts: int = 200) -> AccountSnapshot:
    connector = build(
        load_settings(),
        Seam.handled_by(handler),
        policy=RetryPolicy.no_wait(max_attempts=2),
        clock=lambda: NOW,
    )
    return connector.fetch(parse_handle("twitter", "TwitterDev"), max_posts=max_posts)


# User lookups. /2/users/:id answers with the same shape as /2/users/by/username/:username,
# so those recordings are served for the username lookup the connector makes.
USER_SAMPLES = {
    "postman_official/postman__user_by_username__200_default_payload.json": (
        AccountStatus.FOUND, {"id": "2244994945", "display_name": "Twitter Dev"}),
    "postman_official/postman__user_by_username__200_request_fields_for_user_and_expanded_pinned_tweet.json": (  # noqa: E501
        AccountStatus.FOUND,
        {"created_at": datetime(2013, 12, 14, 4, 35, 55, tzinfo=UTC), "followers": None}),
    "postman_official/postman__user_by_username__200_user_not_found.json": (
        AccountStatus.NOT_FOUND,
        {"status_detail": "Could not find user with username: [TwitterDec]."}),
    "postman_official/postman__user_by_id__200_default_payload.json": (
        AccountStatus.FOUND, {"id": "2244994945"}),
    "postman_official/postman__user_by_id__200_request_fields_for_user_and_expanded_pinned_tweet.json": (  # noqa: E501
        AccountStatus.FOUND, {"url": "https://x.com/TwitterDev"}),
    "postman_official/postman__user_by_id__200_user_by_id.json": (
        AccountStatus.PROTECTED, {"id": "1273332037970202626", "description": ""}),
    "postman_official/postman__user_by_id__200_user_not_found.json": (
        AccountStatus.NOT_FOUND, {"status_detail": "Could not find user with id: [2244994946]."}),
    "python_twitter/pytw__user_by_id__public_metrics.json": (
        AccountStatus.FOUND, {"followers": 514020, "following": 2038, "post_count": 3639}),
    "tweepy_decoded/tweepy__client_get_user.json": (
        AccountStatus.FOUND, {"id": "783214", "followers": None, "created_at": None}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(USER_SAMPLES))
def test_recorded_user_lookups_parse(name: str) -> None:
    status, expected = USER_SAMPLES[name]
    got = run(serve(load(name)))
    assert got.account.status is status
    for field_name, value in expected.items():
        assert getattr(got.account, field_name) == value, field_name
    if status is not AccountStatus.FOUND:
        assert got.posts == () and got.requests == 1


TIMELINE_SAMPLES = {
    # (posts, first post id, likes of the first post, requests made)
    "python_twitter/pytw__users_tweets__public_metrics.json": (
        5, "1364275610764201984", 37, 3),  # next_token -> a second, empty page
    "tweepy_decoded/tweepy__client_get_users_tweets.json": (
        2, "1577730467436138524", None, 3),  # default fields: no created_at, no metrics
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(TIMELINE_SAMPLES))
def test_recorded_user_timelines_parse(name: str) -> None:
    count, first_id, likes, requests = TIMELINE_SAMPLES[name]
    got = run(serve(USER, load(name)))
    assert len(got.posts) == count and got.post_reads == count
    assert got.posts[0].id == first_id
    assert got.posts[0].likes == likes
    assert got.requests == requests
    assert got.window_start is not None and got.window_start <= got.posts[0].created_at
    assert all(p.url and p.url.startswith("https://x.com/TwitterDev/status/") for p in got.posts)


def test_recorded_timeline_metrics_are_read() -> None:
    got = run(serve(USER, load("python_twitter/pytw__users_tweets__public_metrics.json")))
    first = got.posts[0]
    assert (first.reposts, first.replies, first.likes, first.quotes) == (10, 2, 37, 1)
    assert first.views is None  # impression_count was not in the 2021 response
    assert first.created_at == datetime(2021, 2, 23, 18, 7, 7, tzinfo=UTC)


ERROR_SAMPLES: dict[str, tuple[type[UptakeError], str]] = {
    "postman_official/postman__retrieve_rules__401_unauthorized.json": (
        AuthError, "UPTAKE_TWITTER_BEARER_TOKEN"),
    "postman_official/postman__retrieve_rules__403_forbidden_client_not_enrolled.json": (
        AuthError, "client-forbidden"),
    "postman_official/postman__user_by_username__429_rate_limit_exceeded.json": (
        RateLimitError, "rate limit"),
    "postman_official/postman__user_by_id__429_rate_limit_exceeded.json": (
        RateLimitError, "rate limit"),
    "errors/academictwitter__liked_tweets_429_rate_limit.json": (RateLimitError, "rate limit"),
    "errors/pytw__stream_rules_400_invalid_request.json": (ApiError, "invalid"),
    "postman_official/postman__users_by_username__400_too_many_users.json": (ApiError, "400"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ERROR_SAMPLES))
def test_recorded_error_bodies_map_to_the_error_table(name: str) -> None:
    error, words = ERROR_SAMPLES[name]
    recorded = load(name)
    if name.startswith("errors/pytw__"):  # stored as a bare body; SOURCES.md: HTTP 400
        recorded = Recorded(400, recorded.headers, recorded.body)
    with pytest.raises(error) as caught:
        run(serve(recorded))
    assert type(caught.value) is error
    assert words.lower() in caught.value.message.lower()
    assert "\n" not in caught.value.message


def test_recorded_429_reset_in_the_past_retries_after_one_second() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=2, sleep=sleeps.append)
    recorded = load("postman_official/postman__user_by_username__429_rate_limit_exceeded.json")
    connector = build(load_settings(), Seam.handled_by(serve(recorded)), policy=policy)
    with pytest.raises(RateLimitError):
        connector.fetch(parse_handle("twitter", "TwitterDev"), max_posts=5)
    assert sleeps == [1.0]  # the 2020 reset time has passed: wait the 1 s of slack, not 0


_OUR_ENDPOINTS = re.compile(r"/2/users/(?:by/username/[^/?\s]+|[0-9]+|:id)(?:/tweets)?(?=[?\s]|$)")


def _request_line(path: Path) -> str:
    """The recorded request of a sample: from its container, else from SOURCES.md."""
    doc: Any = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(doc, dict) and "interactions" in doc:
        return str(doc["interactions"][0]["uri"])
    if isinstance(doc, dict) and isinstance(doc.get("request"), dict):
        return str(doc["request"]["url"])
    if isinstance(doc, dict) and "url" in doc:
        return str(doc["url"])
    relative = f"`twitter/{path.relative_to(SAMPLES)}`"
    sources = (SAMPLES.parent / "SOURCES.md").read_text(encoding="utf-8")
    row = next(line for line in sources.splitlines() if line.startswith(f"| {relative}"))
    return row.split("|")[6]


def test_every_sample_for_an_endpoint_we_call_is_covered() -> None:
    covered = set(USER_SAMPLES) | set(TIMELINE_SAMPLES) | set(ERROR_SAMPLES)
    ours = {
        str(path.relative_to(SAMPLES))
        for path in sorted(SAMPLES.rglob("*.json"))
        if _OUR_ENDPOINTS.search(_request_line(path).split("?")[0] + " ")
    }
    assert ours, "no sample matched: the matcher is broken"
    assert ours <= covered, sorted(ours - covered)

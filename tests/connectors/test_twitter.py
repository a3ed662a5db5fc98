"""X connector against the simulated X API: the round-trip contract, paging, statuses, errors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import tweepy

from analyser.config import Settings, load_settings
from analyser.errors import (
    ApiError,
    AuthError,
    ConfigError,
    DataError,
    ExitCode,
    MalformedBodyError,
    QuotaExceededError,
    RateLimitError,
    TransientError,
    UptakeError,
)
from analyser.handles import parse_handle
from analyser.models import (
    Account,
    AccountSnapshot,
    AccountStatus,
    Platform,
    Post,
    PostKind,
    ReplyPolicy,
)
from connectors import planned_cost as registry_planned_cost
from connectors.base import Gate, Meter, RetryPolicy
from connectors.fakeapi.twitter import Fake
from connectors.replay import Handler, HttpRequest, HttpResponse, Seam, requests_adapter
from connectors.twitter import (
    DEFAULT_RATE_LIMIT_WAIT_S,
    MAX_TIMELINE_POSTS,
    PROTECTED_DETAIL,
    TwitterConnector,
    build,
    estimated_usd,
    page_sizes,
    planned_cost,
)
from tests.conftest import FAKE_SECRETS

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BRAND_ID = "1500000000000000001"


# -- helpers other platform tests may copy -----------------------------------------------------


def fake_handler(snapshots: Sequence[AccountSnapshot], **kwargs: Any) -> Handler:
    """The simulated X API as a Handler (404 for anything it does not serve)."""
    fake = Fake(snapshots, **kwargs)

    def handle(request: HttpRequest) -> HttpResponse:
        return fake.handle(request) or HttpResponse.json(404, {"detail": "not an X path"})

    return handle


@dataclass
class Recorder:
    """Wraps a Handler and keeps every request it saw."""

    inner: Handler
    seen: list[HttpRequest] = field(default_factory=list)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.seen.append(request)
        return self.inner(request)

    def paths(self) -> list[str]:
        return [r.path for r in self.seen]


def connector(
    handler: Handler,
    *,
    policy: RetryPolicy | None = None,
    gate: Gate | None = None,
    settings: Settings | None = None,
) -> TwitterConnector:
    return build(
        settings or load_settings(),
        Seam.handled_by(handler),
        policy=policy or RetryPolicy.no_wait(),
        gate=gate,
        clock=lambda: NOW,
    )


def fetch(handler: Handler, handle: str = "HarbourCoffee", **kwargs: Any) -> AccountSnapshot:
    max_posts = kwargs.pop("max_posts", 200)
    since = kwargs.pop("since", None)
    return connector(handler, **kwargs).fetch(
        parse_handle("twitter", handle), max_posts=max_posts, since=since
    )


def assert_round_trip(expected: AccountSnapshot, got: AccountSnapshot) -> None:
    """The contract: what the simulated API renders, the real connector reads back unchanged."""
    assert got.account == expected.account
    assert got.posts == expected.posts
    assert got.thread_samples == expected.thread_samples
    assert (got.window_start, got.window_end) == (expected.window_start, expected.window_end)


def post(n: int, kind: PostKind = PostKind.ORIGINAL, **fields: Any) -> Post:
    post_id = str(1890000000000000000 + n)
    defaults: dict[str, Any] = {
        "id": post_id,
        "created_at": NOW - timedelta(hours=n),
        "text": f"post number {n}",
        "kind": kind,
        "url": f"https://x.com/HarbourCoffee/status/{post_id}",
        "conversation_id": post_id,
        "likes": n,
        "reposts": 1,
        "replies": 2,
        "quotes": 0,
        "views": 100 + n,
        "reply_policy": ReplyPolicy.OPEN,
    }
    defaults.update(fields)
    return Post(**defaults)


def account(status: AccountStatus = AccountStatus.FOUND, **fields: Any) -> Account:
    defaults: dict[str, Any] = {
        "platform": Platform.TWITTER,
        "handle": "HarbourCoffee",
        "status": status,
        "id": BRAND_ID,
        "display_name": "Harbour Coffee",
        "url": "https://x.com/HarbourCoffee",
        "created_at": datetime(2012, 5, 1, 8, 0, tzinfo=UTC),
        "followers": 15234,
        "following": 310,
        "post_count": 8812,
        "description": "Roasters on the quay. Ask us anything #coffee",
    }
    defaults.update(fields)
    return Account(**defaults)


def snapshot(posts: Sequence[Post] = (), **account_fields: Any) -> AccountSnapshot:
    ordered = tuple(sorted(posts, key=lambda p: p.created_at, reverse=True))
    times = [p.created_at for p in ordered]
    return AccountSnapshot(
        account=account(**account_fields),
        posts=ordered,
        fetched_at=NOW,
        window_start=min(times) if times else None,
        window_end=max(times) if times else None,
    )


def varied_posts() -> list[Post]:
    long_text = "A long note on how we roast. " * 14 + "#roasting @beanfarm"
    first = post(1)
    return [
        post(
            1,
            text="New single origin from @beanfarm is in #coffee #ethiopia https://t.co/abc",
            mentions=("beanfarm",),
            hashtags=("coffee", "ethiopia"),
            links=("https://harbour.example/ethiopia",),
        ),
        post(
            2,
            PostKind.REPLY,
            text="@ana_k thanks, the oat flat white is back tomorrow",
            reply_to_user_id="42",
            referenced_author_id="42",
            conversation_id="1880000000000000042",
            mentions=("ana_k",),
            views=None,
        ),
        post(
            3,
            PostKind.REPOST,
            text="RT @fan77: best espresso on the coast",
            referenced_author_id="77",
            mentions=("fan77",),
        ),
        post(
            4,
            PostKind.QUOTE,
            text="This is what a community looks like",
            referenced_author_id="88",
            links=("https://x.com/someone/status/1",),
        ),
        post(5, text=long_text, hashtags=("roasting",), mentions=("beanfarm",)),
        post(6, PostKind.REPOST, text="RT @gone: deleted since", referenced_author_id=None),
        post(
            7,
            PostKind.REPLY,
            text="and the second part of the thread",
            reply_to_user_id=BRAND_ID,
            referenced_author_id=BRAND_ID,
            conversation_id=first.id,
            reply_policy=ReplyPolicy.RESTRICTED,
        ),
        post(
            8,
            likes=None,
            reposts=None,
            replies=None,
            quotes=None,
            views=None,
            reply_policy=None,
            conversation_id=None,
        ),
        post(9, likes=0, reposts=0, replies=0, quotes=0, views=0),
    ]


# -- the round trip ----------------------------------------------------------------------------


def test_round_trip_found_account_with_every_kind_of_post() -> None:
    expected = snapshot(varied_posts())
    got = fetch(fake_handler([expected]))
    assert_round_trip(expected, got)
    assert got.account.status is AccountStatus.FOUND
    assert got.requests == 2  # user lookup + one timeline page
    assert got.post_reads == len(expected.posts)
    assert got.fetched_at == NOW


def test_round_trip_keeps_unknown_metrics_apart_from_zero() -> None:
    expected = snapshot(varied_posts())
    got = {p.id: p for p in fetch(fake_handler([expected])).posts}
    unknown, zero = got[post(8).id], got[post(9).id]
    assert (unknown.likes, unknown.views, unknown.reply_policy) == (None, None, None)
    assert (zero.likes, zero.views, zero.replies) == (0, 0, 0)


def test_long_post_is_read_from_note_tweet_in_full() -> None:
    expected = snapshot(varied_posts())
    long_post = next(p for p in expected.posts if len(p.text) > 280)
    got = {p.id: p for p in fetch(fake_handler([expected])).posts}
    assert got[long_post.id].text == long_post.text
    assert got[long_post.id].hashtags == ("roasting",)


def test_round_trip_account_without_metrics_or_posts() -> None:
    expected = snapshot(
        followers=None, following=None, post_count=None, description=None, created_at=None
    )
    got = fetch(fake_handler([expected]))
    assert_round_trip(expected, got)
    assert got.posts == () and got.window_start is None


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (AccountStatus.NOT_FOUND, "Could not find user with username: [HarbourCoffee]."),
        (AccountStatus.SUSPENDED, "User has been suspended: [HarbourCoffee]."),
    ],
)
def test_missing_accounts_are_a_status_not_a_crash(status: AccountStatus, detail: str) -> None:
    expected = AccountSnapshot(
        account=Account(
            platform=Platform.TWITTER, handle="HarbourCoffee", status=status, status_detail=detail
        ),
        fetched_at=NOW,
    )
    recorder = Recorder(fake_handler([expected]))
    got = fetch(recorder)
    assert_round_trip(expected, got)
    assert got.requests == 1 and recorder.paths() == ["/2/users/by/username/HarbourCoffee"]


def test_unknown_handle_is_not_found() -> None:
    got = fetch(fake_handler([snapshot()]), "nobody_here")
    assert got.account.status is AccountStatus.NOT_FOUND
    assert got.account.handle == "nobody_here"


def test_protected_account_keeps_profile_and_skips_the_timeline() -> None:
    expected = snapshot(status=AccountStatus.PROTECTED, status_detail=PROTECTED_DETAIL)
    recorder = Recorder(fake_handler([expected]))
    got = fetch(recorder)
    assert_round_trip(expected, got)
    assert recorder.paths() == ["/2/users/by/username/HarbourCoffee"]


def test_timeline_not_authorized_means_protected() -> None:
    """The profile said public, the timeline said not authorized (protected in between)."""
    public = snapshot([post(1)])
    private = snapshot([post(1)], status=AccountStatus.PROTECTED)
    user_api, timeline_api = fake_handler([public]), fake_handler([private])

    def handler(request: HttpRequest) -> HttpResponse:
        return (timeline_api if request.path.endswith("/tweets") else user_api)(request)

    got = fetch(handler)
    assert got.account.status is AccountStatus.PROTECTED
    assert got.account.status_detail == PROTECTED_DETAIL
    assert got.account.followers == 15234 and got.posts == ()


# -- paging and cost ---------------------------------------------------------------------------


def many_posts(count: int) -> AccountSnapshot:
    return snapshot([post(n) for n in range(1, count + 1)])


@pytest.mark.parametrize(
    ("available", "max_posts", "pages", "kept"),
    [
        (250, 200, [100, 100], 200),
        (250, 250, [100, 100, 50], 250),
        (250, 1000, [100, 100, 100], 250),  # stops when X offers no next_token
        (250, 101, [100, 5], 101),  # the endpoint's minimum page is 5
        (250, 3, [5], 3),
        (40, 200, [100], 40),
        (250, 0, [], 0),
    ],
)
def test_paging_stops_at_max_posts(
    available: int, max_posts: int, pages: list[int], kept: int
) -> None:
    recorder = Recorder(fake_handler([many_posts(available)]))
    got = fetch(recorder, max_posts=max_posts)
    sizes = [int(r.query["max_results"]) for r in recorder.seen if r.path.endswith("/tweets")]
    assert sizes == pages
    assert len(got.posts) == kept
    assert got.requests == 1 + len(pages)
    assert got.post_reads == min(available, sum(pages))
    assert [p.created_at for p in got.posts] == sorted(
        (p.created_at for p in got.posts), reverse=True
    )
    assert len({p.id for p in got.posts}) == kept


@pytest.mark.parametrize("max_posts", [1, 5, 99, 100, 101, 200, 250, 3200, 5000])
def test_planned_cost_matches_what_a_full_timeline_costs(max_posts: int) -> None:
    recorder = Recorder(fake_handler([many_posts(3300)]))
    got = fetch(recorder, max_posts=max_posts)
    plan = planned_cost(max_posts, load_settings())
    assert plan.requests == got.requests == 1 + -(-min(max_posts, 3200) // 100)
    assert plan.post_reads == got.post_reads
    assert registry_planned_cost(Platform.TWITTER, max_posts, load_settings()) == plan


def test_max_posts_beyond_the_api_ceiling_is_clamped_with_a_note() -> None:
    got = fetch(fake_handler([many_posts(3300)]), max_posts=5000)
    assert len(got.posts) == MAX_TIMELINE_POSTS
    assert any("3200 most recent" in note for note in got.notes)


def test_page_sizes_and_price() -> None:
    assert page_sizes(250) == [100, 100, 50]
    assert page_sizes(-1) == []
    assert estimated_usd(post_reads=200, user_reads=1) == pytest.approx(1.01)


def test_since_becomes_start_time_in_utc() -> None:
    recorder = Recorder(fake_handler([many_posts(30)]))
    since = datetime(2026, 3, 2, 3, 30, tzinfo=UTC).astimezone(timezone(timedelta(hours=10)))
    got = fetch(recorder, since=since)
    timeline = [r for r in recorder.seen if r.path.endswith("/tweets")]
    assert timeline[0].query["start_time"] == "2026-03-02T03:30:00Z"
    assert [p.created_at.hour for p in got.posts][-1] == 4  # posts at 11:00 ... 04:00
    assert got.window_start == datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def test_requests_ask_for_the_fields_the_signals_need() -> None:
    recorder = Recorder(fake_handler([many_posts(3)]))
    fetch(recorder)
    user, timeline = recorder.seen
    for name in ("created_at", "description", "protected", "public_metrics"):
        assert name in user.query["user.fields"].split(",")
    tweet_fields = timeline.query["tweet.fields"].split(",")
    for name in (
        "created_at",
        "public_metrics",
        "conversation_id",
        "in_reply_to_user_id",
        "referenced_tweets",
        "reply_settings",
        "entities",
        "lang",
        "note_tweet",
    ):
        assert name in tweet_fields
    assert "referenced_tweets.id" in timeline.query["expansions"].split(",")


# -- the error table ---------------------------------------------------------------------------


def problem(status: int, kind: str = "about:blank") -> HttpResponse:
    """An RFC 7807 problem body, the shape X v2 uses for HTTP errors."""
    return HttpResponse.json(status, {"title": "T", "detail": "D", "type": kind, "status": status})


@dataclass
class Script:
    """Answers the user lookup from a list of responses (the last one repeats)."""

    responses: list[HttpResponse]
    calls: int = 0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.calls += 1
        if not request.path.startswith("/2/users/by/username/"):
            return HttpResponse.json(200, {"meta": {"result_count": 0}})
        return self.responses[min(self.calls - 1, len(self.responses) - 1)]


USER_OK = HttpResponse.json(200, {"data": {"id": "7", "name": "H", "username": "HarbourCoffee"}})
RESET_IN_30S = {"x-rate-limit-reset": str(int(NOW.timestamp()) + 30)}
TEXT_429 = HttpResponse(429, RESET_IN_30S, b"Rate limit exceeded\n")  # the recorded 429 shape
NOT_JSON = HttpResponse(200, {"content-type": "application/json"}, b"{not json")
P = "https://api.twitter.com/2/problems/"


@pytest.mark.parametrize(
    ("responses", "error", "words", "calls"),
    [
        ([problem(401)], AuthError, "UPTAKE_TWITTER_BEARER_TOKEN", 1),
        ([problem(403, P + "client-forbidden")], AuthError, "Project", 1),
        ([problem(403)], AuthError, "access level", 1),
        ([TEXT_429], RateLimitError, "rate limit", 3),
        ([problem(429)], RateLimitError, "rate limit", 3),
        ([problem(429, P + "usage-capped")], QuotaExceededError, "usage cap", 1),
        ([problem(503)], TransientError, "server error 503", 3),
        ([NOT_JSON], MalformedBodyError, "not JSON", 3),
        ([HttpResponse.json(200, ["a", "list"])], DataError, "not a JSON object", 1),
        ([HttpResponse.json(200, {})], DataError, "neither data nor errors", 1),
        ([problem(400, P + "invalid-request")], ApiError, "invalid", 1),
        ([problem(404)], ApiError, "404", 1),
    ],
)  # fmt: skip
def test_error_table(
    responses: list[HttpResponse], error: type[UptakeError], words: str, calls: int
) -> None:
    script = Script(responses)
    with pytest.raises(error) as caught:
        fetch(script, settings=load_settings(twitter_bearer_token=FAKE_SECRETS[0]))
    assert type(caught.value) is error
    assert words.lower() in caught.value.message.lower()
    assert "\n" not in caught.value.message
    assert not any(secret in caught.value.message for secret in FAKE_SECRETS)
    assert script.calls == calls


def test_error_exit_codes() -> None:
    assert AuthError("x").exit_code == ExitCode.AUTH
    assert RateLimitError("x").exit_code == ExitCode.API


def test_rate_limit_waits_until_the_reset_header_then_succeeds() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=3, sleep=sleeps.append, jitter=lambda _a, b: b)
    script = Script([TEXT_429, USER_OK])
    got = fetch(script, policy=policy)
    assert got.account.id == "7"
    assert sleeps == [31.0]  # reset - now + 1 s of slack
    assert got.requests == 3  # the 429, the retried lookup, the timeline page


def test_rate_limit_without_reset_header_waits_a_bounded_default() -> None:
    sleeps: list[float] = []
    gate_holds: list[float] = []

    class SpyGate(Gate):
        def hold(self, seconds: float) -> None:
            gate_holds.append(seconds)

    policy = RetryPolicy(max_attempts=2, sleep=sleeps.append, jitter=lambda _a, b: b)
    with pytest.raises(RateLimitError):
        fetch(Script([problem(429)]), policy=policy, gate=SpyGate())
    assert sleeps == [DEFAULT_RATE_LIMIT_WAIT_S]
    assert gate_holds == [DEFAULT_RATE_LIMIT_WAIT_S]  # every worker on X backs off together


def test_rate_limit_reset_longer_than_the_wait_bound_fails_at_once() -> None:
    far = {"x-rate-limit-reset": str(int(NOW.timestamp()) + 3600)}
    script = Script([HttpResponse(429, far, b"Rate limit exceeded\n")])
    policy = RetryPolicy(max_attempts=5, max_rate_limit_wait_s=900, sleep=lambda _s: None)
    with pytest.raises(RateLimitError) as caught:
        fetch(script, policy=policy)
    assert script.calls == 1
    assert "61 min" in caught.value.message and "try again later" in caught.value.message


def test_server_error_then_success_is_retried_and_counted() -> None:
    got = fetch(Script([problem(500), USER_OK]))
    assert got.account.status is AccountStatus.FOUND
    assert got.requests == 3  # every attempt is metered


TRUNCATED = HttpResponse(200, {"content-type": "application/json"}, b'{"data": [tru')


@dataclass
class TruncatedTimeline:
    """The simulated X API, except that the first `times` timeline pages arrive cut short."""

    inner: Handler
    times: int
    timeline_calls: int = 0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.endswith("/tweets"):
            self.timeline_calls += 1
            if self.timeline_calls <= self.times:
                return TRUNCATED
        return self.inner(request)


def test_a_truncated_body_is_retried_and_every_attempt_counted() -> None:
    handler = TruncatedTimeline(fake_handler([many_posts(3)]), times=1)
    meter = Meter()
    got = connector(handler).fetch(
        parse_handle("twitter", "HarbourCoffee"), max_posts=5, meter=meter
    )
    assert len(got.posts) == 3
    assert handler.timeline_calls == 2
    assert got.requests == meter.requests == 3  # the lookup, the cut-off page, its retry
    assert got.post_reads == 3  # a page that never parsed read no posts


def test_a_body_that_is_never_json_fails_after_bounded_attempts() -> None:
    handler = TruncatedTimeline(fake_handler([many_posts(3)]), times=99)
    meter = Meter()
    with pytest.raises(MalformedBodyError) as caught:
        connector(handler, policy=RetryPolicy.no_wait(4)).fetch(
            parse_handle("twitter", "HarbourCoffee"), max_posts=5, meter=meter
        )
    assert handler.timeline_calls == 4
    assert meter.requests == 5
    assert caught.value.message == (
        "X sent a body that is not JSON for the timeline of @HarbourCoffee (4 attempts)"
    )
    assert caught.value.exit_code == ExitCode.API


@pytest.mark.parametrize(
    "body",
    [{"data": "not a list"}, {"data": [{"text": "no id"}]}, ["a", "list"]],
    ids=["data-not-list", "post-without-id", "not-an-object"],
)
def test_a_timeline_page_of_the_wrong_shape_is_a_data_error_not_retried(body: Any) -> None:
    calls: list[str] = []

    def handler(request: HttpRequest) -> HttpResponse:
        calls.append(request.path)
        return USER_OK if "/by/username/" in request.path else HttpResponse.json(200, body)

    with pytest.raises(DataError) as caught:
        fetch(handler)
    assert not isinstance(caught.value, MalformedBodyError)
    assert len(calls) == 2  # the lookup and one timeline page: never asked again


def test_usage_cap_marks_the_platform_exhausted_for_the_run() -> None:
    gate = Gate()
    script = Script([problem(429, P + "usage-capped")])
    with pytest.raises(QuotaExceededError):
        fetch(script, gate=gate)
    assert gate.exhausted is not None
    with pytest.raises(QuotaExceededError):
        fetch(script, "OtherBrand", gate=gate)
    assert script.calls == 1


@pytest.mark.parametrize(
    "failure",
    [
        TransientError("timed out after 20 s: https://api.x.com/2/users/by/username/x"),
        requests.ReadTimeout("read timed out"),
        requests.ConnectionError("connection reset"),
    ],
)
def test_timeouts_and_dropped_connections_are_transient(failure: Exception) -> None:
    calls = 0

    def handler(request: HttpRequest) -> HttpResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise failure
        return USER_OK if "/by/username/" in request.path else HttpResponse.json(200, {})

    got = fetch(handler)
    assert got.account.id == "7" and calls == 3

    def always(request: HttpRequest) -> HttpResponse:
        raise failure

    with pytest.raises(TransientError):
        fetch(always)


# -- mapping details ---------------------------------------------------------------------------


def timeline_of(*tweets: dict[str, Any], includes: dict[str, Any] | None = None) -> Handler:
    def handler(request: HttpRequest) -> HttpResponse:
        if "/by/username/" in request.path:
            return USER_OK
        body: dict[str, Any] = {"data": list(tweets), "meta": {"result_count": len(tweets)}}
        if includes:
            body["includes"] = includes
        return HttpResponse.json(200, body)

    return handler


@pytest.mark.parametrize(
    ("value", "policy"),
    [
        ("everyone", ReplyPolicy.OPEN),
        ("Everyone", ReplyPolicy.OPEN),
        ("mentionedUsers", ReplyPolicy.RESTRICTED),
        ("mentioned_users", ReplyPolicy.RESTRICTED),
        ("following", ReplyPolicy.RESTRICTED),
        ("subscribers", ReplyPolicy.RESTRICTED),
        ("", None),
        (None, None),
    ],
)
def test_reply_settings_are_read_leniently(value: str | None, policy: ReplyPolicy | None) -> None:
    tweet: dict[str, Any] = {"id": "1890000000000000001", "text": "hi"}
    tweet["created_at"] = "2026-03-01T10:00:00.000Z"
    if value is not None:
        tweet["reply_settings"] = value
    (got,) = fetch(timeline_of(tweet)).posts
    assert got.reply_policy is policy


def test_post_kind_and_referenced_author_from_includes() -> None:
    base = {"created_at": "2026-03-01T10:00:00.000Z", "text": "t"}
    tweets = [
        {**base, "id": "11", "referenced_tweets": [{"type": "retweeted", "id": "100"}]},
        {
            **base,
            "id": "12",
            "in_reply_to_user_id": "55",
            "referenced_tweets": [
                {"type": "quoted", "id": "101"},
                {"type": "replied_to", "id": "102"},
            ],
        },
        {**base, "id": "13", "referenced_tweets": [{"type": "quoted", "id": "103"}]},
        {**base, "id": "14"},
    ]  # fmt: skip
    includes = {"tweets": [{"id": "100", "author_id": "9"}, {"id": "103", "author_id": "8"}]}
    got = {p.id: p for p in fetch(timeline_of(*tweets, includes=includes)).posts}
    assert (got["11"].kind, got["11"].referenced_author_id) == (PostKind.REPOST, "9")
    # a reply that also quotes is a reply; its replied-to post is missing, its author is known
    assert (got["12"].kind, got["12"].referenced_author_id) == (PostKind.REPLY, "55")
    assert (got["13"].kind, got["13"].referenced_author_id) == (PostKind.QUOTE, "8")
    assert (got["14"].kind, got["14"].referenced_author_id) == (PostKind.ORIGINAL, None)
    assert got["11"].url == "https://x.com/HarbourCoffee/status/11"


def test_post_without_created_at_is_dated_from_its_snowflake_id() -> None:
    tweets = [{"id": "1577730467436138524", "text": "whoa"}, {"id": "12", "text": "too old"}]
    got = fetch(timeline_of(*tweets))
    (dated,) = got.posts
    assert dated.created_at == datetime(2022, 10, 5, 18, 40, 30, 908000, tzinfo=UTC)
    assert got.skipped_items == 1 and len(got.notes) == 2


def test_unreadable_created_at_is_a_data_error() -> None:
    with pytest.raises(DataError, match="created_at"):
        fetch(timeline_of({"id": "1", "text": "x", "created_at": "yesterday"}))


def test_links_prefer_expanded_urls_and_metrics_absent_are_none() -> None:
    tweet = {
        "id": "1",
        "text": "see https://t.co/a",
        "created_at": "2026-03-01T10:00:00Z",
        "entities": {"urls": [{"url": "https://t.co/a", "expanded_url": "https://e.example/a"},
                              {"url": "https://t.co/b"}]},
        "public_metrics": {"like_count": 3, "retweet_count": "4", "reply_count": -1},
    }  # fmt: skip
    (got,) = fetch(timeline_of(tweet)).posts
    assert got.links == ("https://e.example/a", "https://t.co/b")
    assert (got.likes, got.reposts, got.replies, got.quotes, got.views) == (3, 4, None, None, None)


# -- construction ------------------------------------------------------------------------------


def test_live_seam_needs_the_bearer_token() -> None:
    with pytest.raises(ConfigError, match="UPTAKE_TWITTER_BEARER_TOKEN"):
        build(load_settings(), Seam.live(), policy=RetryPolicy.no_wait())


def test_offline_seam_sends_no_credential(settings: Settings) -> None:
    recorder = Recorder(fake_handler([snapshot()]))
    connector(recorder, settings=settings).fetch(
        parse_handle("twitter", "HarbourCoffee"), max_posts=5
    )
    headers = " ".join(f"{k}: {v}" for r in recorder.seen for k, v in r.headers.items())
    assert "Bearer" in headers
    assert not any(secret in headers for secret in FAKE_SECRETS)


@pytest.mark.parametrize(
    "client",
    [
        tweepy.Client(bearer_token="x"),
        tweepy.Client(bearer_token="x", return_type=dict, wait_on_rate_limit=True),
    ],
)
def test_connector_refuses_clients_it_cannot_drive_safely(client: Any) -> None:
    with pytest.raises(ValueError, match=r"tweepy\.Client"):
        TwitterConnector(client)


def test_fetch_never_lets_tweepy_debug_logs_through(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="tweepy")
    client = tweepy.Client(bearer_token=FAKE_SECRETS[0], return_type=dict)
    client.session.mount(
        "https://api.twitter.com",
        requests_adapter(
            Seam.handled_by(fake_handler([snapshot([post(1)])])),
            canonical="https://api.twitter.com",
            base_url=None,
            timeout=5,
        ),
    )
    TwitterConnector(client, policy=RetryPolicy.no_wait()).fetch(
        parse_handle("twitter", "HarbourCoffee"), max_posts=5
    )
    tweepy_log = logging.getLogger("tweepy.client")
    assert tweepy_log.getEffectiveLevel() >= logging.INFO
    tweepy_log.setLevel(logging.DEBUG)  # someone turns it back on: the filter still holds
    try:
        tweepy_log.debug("Headers: Authorization: Bearer %s", FAKE_SECRETS[0])
        tweepy_log.warning("leak? Bearer %s", FAKE_SECRETS[0])
    finally:
        tweepy_log.setLevel(logging.INFO)
    assert FAKE_SECRETS[0] not in caplog.text
    assert "leak? Bearer ***" in caplog.text
    assert not [
        r for r in caplog.records if r.name.startswith("tweepy") and r.levelno < logging.INFO
    ]


def test_handle_of_another_platform_is_refused() -> None:
    with pytest.raises(ValueError, match="not an X username"):
        connector(fake_handler([])).fetch(
            parse_handle("youtube", "UCabcdefghijklmnopqrstuv"), max_posts=5
        )

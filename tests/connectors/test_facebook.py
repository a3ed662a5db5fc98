"""The Facebook connector: round trip through the simulated Graph API, costs, paging, mapping."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from analyser.config import Settings, load_settings
from analyser.errors import ConfigError
from analyser.handles import Handle, parse_handle
from analyser.models import (
    Account,
    AccountSnapshot,
    AccountStatus,
    Platform,
    Post,
    ReplyPolicy,
    ThreadSample,
)
from connectors.base import Gate, RetryPolicy
from connectors.facebook import (
    AUTHORS_WITHHELD,
    NEAR_LIMIT_HOLD_S,
    FacebookConnector,
    build,
    parse_usage,
    planned_cost,
    post_fields,
)
from connectors.fakeapi.facebook import Fake
from connectors.replay import HttpRequest, HttpResponse, Seam
from tests.conftest import FAKE_FACEBOOK_TOKEN

GRAPH = "https://graph.facebook.com"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PAGE_ID = "104729"


def make_snapshot(n_posts: int, *, handle: str = "harbourfresh") -> AccountSnapshot:
    """A page whose truth covers every mapping the connector makes."""
    posts = []
    for i in range(n_posts):
        text = f"Fresh catch no. {i} #Harbour https://harbour.example/p/{i}" if i % 2 else ""
        posts.append(
            Post(
                id=f"{PAGE_ID}_{1000 + i}",
                created_at=T0 - timedelta(hours=6 * i),
                text=text,
                url=f"https://www.facebook.com/{PAGE_ID}/posts/{1000 + i}",
                hashtags=("Harbour",) if text else (),
                links=(f"https://harbour.example/p/{i}",) if text else (),
                likes=i * 3,
                reposts=None if i % 4 == 0 else i,  # absent shares stay unknown
                replies=i % 7,
                reply_policy=ReplyPolicy.DISABLED if i % 10 == 9 else ReplyPolicy.OPEN,
            )
        )
    samples = []
    for post in posts:
        if post.reply_policy is ReplyPolicy.DISABLED:
            samples.append(
                ThreadSample(
                    post_id=post.id, threads_seen=0, threads_answered=0, comments_disabled=True
                )
            )
        elif post.replies:
            seen = min(post.replies, 3)
            if int(post.id[-1]) % 3 == 0:
                samples.append(
                    ThreadSample(
                        post_id=post.id,
                        threads_seen=seen,
                        threads_answered=None,
                        reason=AUTHORS_WITHHELD,
                    )
                )
            else:
                samples.append(
                    ThreadSample(post_id=post.id, threads_seen=seen, threads_answered=seen // 2)
                )
    account = Account(
        platform=Platform.FACEBOOK,
        handle=handle,
        status=AccountStatus.FOUND,
        id=PAGE_ID,
        display_name="Harbour Fresh Markets",
        url=f"https://www.facebook.com/{handle}",
        followers=48_210,
        description="Fresh food from the harbour since 1982.",
    )
    return AccountSnapshot(
        account=account, posts=tuple(posts), thread_samples=tuple(samples), fetched_at=T0
    )


class Counting:
    """The Fake as a Handler that keeps every request it saw."""

    def __init__(self, fake: Fake) -> None:
        self.fake = fake
        self.seen: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.seen.append(request)
        response = self.fake.handle(request)
        assert response is not None, f"the fake does not serve {request.path}"
        return response


def over_fake(
    snapshot: AccountSnapshot, settings: Settings, **kw: Any
) -> tuple[FacebookConnector, Counting]:
    handler = Counting(Fake([snapshot], **kw))
    connector = build(settings, Seam.handled_by(handler), policy=RetryPolicy.no_wait())
    return connector, handler


def live(
    settings: Settings, *, policy: RetryPolicy | None = None, gate: Gate | None = None
) -> FacebookConnector:
    return build(settings, Seam.live(), policy=policy or RetryPolicy.no_wait(), gate=gate)


def fb(value: str = "harbourfresh") -> Handle:
    return parse_handle("facebook", value)


def graph_post(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{PAGE_ID}_{i}",
        "created_time": (T0 - timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "message": f"post {i}",
        **extra,
    }


PAGE_BODY = {"id": PAGE_ID, "name": "Harbour Fresh Markets", "followers_count": 10}


# -- round trip and cost -----------------------------------------------------------------------


@pytest.mark.parametrize("max_posts", [1, 40, 100, 101, 250])
def test_round_trip_through_the_simulated_graph(settings: Settings, max_posts: int) -> None:
    truth = make_snapshot(250)
    connector, handler = over_fake(truth, settings)

    got = connector.fetch(fb(), max_posts=max_posts)

    assert got.account == truth.account
    assert got.posts == truth.posts[:max_posts]
    kept = {p.id for p in truth.posts[:max_posts]}
    assert got.thread_samples == tuple(s for s in truth.thread_samples if s.post_id in kept)
    assert got.requests == len(handler.seen) == 1 + math.ceil(max_posts / 100)
    assert got.requests == planned_cost(max_posts, settings).requests
    assert got.notes == ()


def test_round_trip_keeps_unknowns_unknown(settings: Settings) -> None:
    truth = make_snapshot(20)
    got = over_fake(truth, settings)[0].fetch(fb(), max_posts=20)

    unknown_shares = [p for p in got.posts if p.id.endswith(("1000", "1004", "1008"))]
    assert unknown_shares and all(p.reposts is None for p in unknown_shares)
    withheld = [s for s in got.thread_samples if s.threads_answered is None]
    assert withheld and all(s.reason == AUTHORS_WITHHELD for s in withheld)
    disabled = [p for p in got.posts if p.reply_policy is ReplyPolicy.DISABLED]
    assert disabled and all(
        s.comments_disabled for s in got.thread_samples if s.post_id in {p.id for p in disabled}
    )


@pytest.mark.parametrize(
    ("max_posts", "requests"), [(0, 1), (1, 2), (100, 2), (101, 3), (250, 4), (3200, 33)]
)
def test_planned_cost_is_one_page_read_plus_one_request_per_hundred_posts(
    settings: Settings, max_posts: int, requests: int
) -> None:
    assert planned_cost(max_posts, settings).requests == requests


def test_a_short_page_costs_less_than_planned(settings: Settings) -> None:
    connector, handler = over_fake(make_snapshot(30), settings)
    got = connector.fetch(fb(), max_posts=250)
    assert len(got.posts) == 30
    assert got.requests == len(handler.seen) == 2


def test_page_size_is_capped_and_the_last_page_asks_only_for_what_is_missing(
    settings: Settings,
) -> None:
    connector, handler = over_fake(make_snapshot(250), settings)
    connector.fetch(fb(), max_posts=230)
    limits = [r.query.get("limit") for r in handler.seen[1:]]
    assert limits == ["100", "100", "30"]
    # every page after the first follows the cursor the previous one handed out
    assert "after" not in handler.seen[1].query
    assert all(r.query.get("after") for r in handler.seen[2:])


def test_since_is_sent_to_graph_and_enforced(settings: Settings) -> None:
    connector, handler = over_fake(make_snapshot(100), settings)
    since = T0 - timedelta(hours=6 * 9)
    got = connector.fetch(fb(), max_posts=100, since=since)
    assert [p.created_at for p in got.posts] == [T0 - timedelta(hours=6 * i) for i in range(10)]
    assert handler.seen[1].query["since"] == str(int(since.timestamp()))
    assert got.window_start == since


def test_page_found_by_numeric_id_too(settings: Settings) -> None:
    truth = make_snapshot(3)
    got = over_fake(truth, settings)[0].fetch(fb(PAGE_ID), max_posts=3)
    assert got.account.id == PAGE_ID
    assert got.account.handle == PAGE_ID
    assert got.posts == truth.posts


@pytest.mark.parametrize("status", [AccountStatus.NOT_FOUND, AccountStatus.SUSPENDED])
def test_missing_pages_in_the_fake_come_back_not_found(
    settings: Settings, status: AccountStatus
) -> None:
    truth = make_snapshot(0)
    gone = truth.model_copy(update={"account": truth.account.model_copy(update={"status": status})})
    connector, handler = over_fake(gone, settings)
    got = connector.fetch(fb(), max_posts=10)
    assert got.account.status is AccountStatus.NOT_FOUND
    assert got.posts == ()
    assert got.requests == len(handler.seen) == 1


def test_comment_sample_zero_reads_counts_only(settings: Settings) -> None:
    quiet = settings.model_copy(update={"facebook_comment_sample": 0})
    connector, handler = over_fake(make_snapshot(10), quiet)
    got = connector.fetch(fb(), max_posts=10)
    assert "comments.limit(0).summary(true)" in handler.seen[1].query["fields"]
    assert got.thread_samples == ()
    assert [p.replies for p in got.posts] == [i % 7 for i in range(10)]


def test_fields_ask_for_counts_and_a_comment_sample_with_replies() -> None:
    fields = post_fields(10)
    for part in (
        "message",
        "created_time",
        "permalink_url",
        "status_type",
        "shares",
        "reactions.limit(0).summary(total_count)",
        "comments.limit(10).summary(true){",
        "from",
    ):
        assert part in fields
    assert fields.count("comments.limit(") == 2  # top-level comments and their replies


# -- HTTP details with respx -------------------------------------------------------------------


def test_token_travels_in_the_authorization_header_only(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    page = respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    posts = respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(200, json={"data": []})
    live(settings).fetch(fb(), max_posts=5)
    for route in (page, posts):
        request = route.calls.last.request
        assert request.headers["authorization"] == f"Bearer {FAKE_FACEBOOK_TOKEN}"
        assert FAKE_FACEBOOK_TOKEN not in str(request.url)
    assert page.calls.last.request.url.params["fields"] == (
        "id,name,username,fan_count,followers_count,link,category,about"
    )


def test_api_version_comes_from_settings(settings: Settings, respx_mock: respx.MockRouter) -> None:
    older = settings.model_copy(update={"facebook_api_version": "v24.0"})
    page = respx_mock.get(f"{GRAPH}/v24.0/harbourfresh").respond(200, json=PAGE_BODY)
    respx_mock.get(f"{GRAPH}/v24.0/{PAGE_ID}/posts").respond(200, json={"data": []})
    live(older).fetch(fb(), max_posts=5)
    assert page.called


def test_live_seam_without_token_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="UPTAKE_FACEBOOK_ACCESS_TOKEN"):
        build(load_settings(), Seam.live(), policy=RetryPolicy.no_wait())


def test_offline_seams_need_no_token() -> None:
    handler = Counting(Fake([make_snapshot(2)]))
    got = build(load_settings(), Seam.handled_by(handler), policy=RetryPolicy.no_wait()).fetch(
        fb(), max_posts=2
    )
    assert len(got.posts) == 2
    assert all("authorization" not in {k.lower() for k in r.headers} for r in handler.seen)


def test_cursor_paging_requests_our_host(settings: Settings, respx_mock: respx.MockRouter) -> None:
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    first = {
        "data": [graph_post(i) for i in range(100)],
        "paging": {
            "cursors": {"before": "B0", "after": "QVFIUmFmdGVy"},
            "next": f"{GRAPH}/v26.0/{PAGE_ID}/posts?access_token=X&limit=100&after=QVFIUmFmdGVy",
        },
    }
    last = {"data": [graph_post(i) for i in range(100, 120)], "paging": {"cursors": {}}}
    posts = respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=last)]
    )
    got = live(settings).fetch(fb(), max_posts=150)
    assert len(got.posts) == 120
    assert got.requests == 3
    second = posts.calls[1].request.url
    assert second.host == "graph.facebook.com"
    assert second.params["after"] == "QVFIUmFmdGVy"
    assert second.params["limit"] == "50"
    assert "access_token" not in second.params


@pytest.mark.respx(assert_all_called=False)
def test_a_foreign_paging_next_is_never_contacted_but_the_cursor_is_followed_at_home(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    evil = respx_mock.get(host="collector.evil.example").respond(200, json={"data": []})
    first = {
        "data": [graph_post(i) for i in range(100)],
        "paging": {
            "cursors": {"after": "C1"},
            "next": "https://collector.evil.example/v26.0/posts?after=C1",
        },
    }
    home = respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json={"data": []})]
    )
    got = live(settings).fetch(fb(), max_posts=200)
    assert not evil.called
    assert home.call_count == 2
    assert home.calls[1].request.url.params["after"] == "C1"
    assert len(got.posts) == 100


def test_a_foreign_paging_next_without_cursor_stops_paging(settings: Settings) -> None:
    # assert_all_mocked: any request to a host without a route fails the test.
    with respx.mock(assert_all_mocked=True, assert_all_called=True) as mock:
        mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
        first = {
            "data": [graph_post(i) for i in range(100)],
            "paging": {"next": f"https://evil.example/v26.0/{PAGE_ID}/posts?after=C1"},
        }
        posts = mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(200, json=first)
        got = live(settings).fetch(fb(), max_posts=300)
    assert posts.call_count == 1
    assert len(got.posts) == 100
    assert any("paging stopped" in n and "evil.example" in n for n in got.notes)


def test_same_host_time_paging_is_followed_without_the_echoed_token(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    first = {
        "data": [graph_post(i) for i in range(100)],
        "paging": {
            "next": f"{GRAPH}/v26.0/{PAGE_ID}/posts?access_token={FAKE_FACEBOOK_TOKEN}"
            "&limit=100&until=1624385168&__paging_token=enc_AdB"
        },
    }
    posts = respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json={"data": []})]
    )
    live(settings).fetch(fb(), max_posts=200)
    params = posts.calls[1].request.url.params
    assert params["until"] == "1624385168"
    assert params["__paging_token"] == "enc_AdB"
    assert "access_token" not in params
    assert "fields" in params


def test_an_endless_cursor_cannot_cost_more_than_planned(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    empty_forever = {"data": [], "paging": {"cursors": {"after": "same"}, "next": f"{GRAPH}/x"}}
    posts = respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(200, json=empty_forever)
    got = live(settings).fetch(fb(), max_posts=250)
    assert posts.call_count == 3
    assert got.requests == planned_cost(250, settings).requests


# -- mapping -----------------------------------------------------------------------------------


def _one_post(
    settings: Settings, respx_mock: respx.MockRouter, item: dict[str, Any]
) -> AccountSnapshot:
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(200, json={"data": [item]})
    return live(settings).fetch(fb(), max_posts=1)


def _comment(author: str | None, *replies: str | None) -> dict[str, Any]:
    comment: dict[str, Any] = {"created_time": "2024-05-01T12:00:00+0000", "message": "hi"}
    if author is not None:
        comment["from"] = {"id": author, "name": author}
    if replies:
        comment["comments"] = {
            "data": [
                {"created_time": "2024-05-01T13:00:00+0000"}
                | ({"from": {"id": r, "name": r}} if r else {})
                for r in replies
            ]
        }
    return comment


def test_post_fields_map_to_the_model(settings: Settings, respx_mock: respx.MockRouter) -> None:
    item = graph_post(
        1,
        message="Win a hamper! Tell us your #FavouriteFish at https://harbour.example/win.",
        permalink_url="https://www.facebook.com/104729/posts/1",
        shares={"count": 12},
        reactions={"data": [], "summary": {"total_count": 345, "viewer_reaction": "NONE"}},
        comments={
            "data": [],
            "summary": {"order": "ranked", "total_count": 17, "can_comment": True},
        },
    )
    got = _one_post(settings, respx_mock, item)
    post = got.posts[0]
    assert post.created_at == T0 - timedelta(hours=1)
    assert post.text.startswith("Win a hamper!")
    assert post.url == "https://www.facebook.com/104729/posts/1"
    assert (post.likes, post.reposts, post.replies) == (345, 12, 17)
    assert post.reply_policy is ReplyPolicy.OPEN
    assert post.hashtags == ("FavouriteFish",)
    assert post.links == ("https://harbour.example/win",)
    assert post.views is None and post.quotes is None
    assert got.thread_samples == ()  # nothing visible, nothing to say


def test_absent_counts_are_unknown_not_zero(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    post = _one_post(settings, respx_mock, graph_post(1)).posts[0]
    assert (post.likes, post.reposts, post.replies, post.reply_policy) == (None, None, None, None)


def test_page_answers_are_counted_from_visible_replies(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    comments = {
        "data": [
            _comment("u1", "u2", PAGE_ID),  # answered by the page
            _comment("u3", "u4"),  # answered by someone else only
            _comment("u5"),  # unanswered
            _comment(PAGE_ID, "u6"),  # the page's own comment: not a community thread
        ],
        "summary": {"total_count": 9, "can_comment": True},
    }
    got = _one_post(settings, respx_mock, graph_post(1, comments=comments))
    assert got.thread_samples == (
        ThreadSample(post_id=f"{PAGE_ID}_1", threads_seen=3, threads_answered=1),
    )


@pytest.mark.parametrize(
    "data",
    [
        [_comment(None), _comment(None)],  # authors withheld on top-level comments
        [_comment("u1", None)],  # a reply whose author is withheld
    ],
)
def test_withheld_authors_make_answers_unknown_never_zero(
    settings: Settings, respx_mock: respx.MockRouter, data: list[dict[str, Any]]
) -> None:
    comments = {"data": data, "summary": {"total_count": 5, "can_comment": True}}
    got = _one_post(settings, respx_mock, graph_post(1, comments=comments))
    (sample,) = got.thread_samples
    assert sample.threads_answered is None
    assert sample.reason == AUTHORS_WITHHELD
    assert sample.threads_seen == len(data)


def test_comments_off_is_reply_policy_disabled(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    comments = {"data": [], "summary": {"total_count": 0, "can_comment": False}}
    got = _one_post(settings, respx_mock, graph_post(1, comments=comments))
    assert got.posts[0].reply_policy is ReplyPolicy.DISABLED
    assert got.thread_samples[0].comments_disabled


def test_items_without_id_or_time_are_skipped_and_counted(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    data = [graph_post(1), {"message": "no id"}, graph_post(2) | {"created_time": "yesterday"}]
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(200, json={"data": data})
    got = live(settings).fetch(fb(), max_posts=10)
    assert [p.id for p in got.posts] == [f"{PAGE_ID}_1"]
    assert got.skipped_items == 2


def test_fan_count_stands_in_for_followers_with_a_note(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    body = {"id": PAGE_ID, "name": "Harbour", "fan_count": 77, "link": "https://fb.com/h"}
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=body)
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(200, json={"data": []})
    got = live(settings).fetch(fb(), max_posts=5)
    assert got.account.followers == 77
    assert any("like count" in n for n in got.notes)


# -- usage headers -----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_near_limit_usage_on_success_holds_the_platform(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    clock = Clock()
    gate = Gate(clock=clock, sleep=clock.sleep)
    busy = {"x-app-usage": json.dumps({"call_count": 96, "total_cputime": 10, "total_time": 12})}
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY, headers=busy)
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(200, json={"data": []})
    got = live(settings, gate=gate).fetch(fb(), max_posts=5)
    assert clock.slept == [NEAR_LIMIT_HOLD_S]  # the posts request waited
    assert any("96%" in n for n in got.notes)


def test_low_usage_does_not_slow_anything(settings: Settings, respx_mock: respx.MockRouter) -> None:
    clock = Clock()
    gate = Gate(clock=clock, sleep=clock.sleep)
    calm = {"x-app-usage": json.dumps({"call_count": 12, "total_cputime": 3, "total_time": 4})}
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY, headers=calm)
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(200, json={"data": []}, headers=calm)
    got = live(settings, gate=gate).fetch(fb(), max_posts=5)
    assert clock.slept == []
    assert got.notes == ()


@pytest.mark.parametrize(
    ("headers", "pct", "regain"),
    [
        ({"X-App-Usage": '{"call_count":16,"total_cputime":15,"total_time":12}'}, 16.0, None),
        (
            {
                "X-Business-Use-Case-Usage": json.dumps(
                    {
                        "104729": [
                            {
                                "type": "pages",
                                "call_count": 100,
                                "total_cputime": 20,
                                "total_time": 30,
                                "estimated_time_to_regain_access": 7,
                            }
                        ]
                    }
                )
            },
            100.0,
            420.0,
        ),
        ({"x-app-usage": "not json"}, None, None),
        ({}, None, None),
    ],
)
def test_usage_headers(headers: dict[str, str], pct: float | None, regain: float | None) -> None:
    usage = parse_usage(headers)
    assert (usage.max_pct, usage.regain_s) == (pct, regain)


def test_a_smaller_comment_sample_keeps_the_page_answer_rate(settings: Settings) -> None:
    truth = make_snapshot(1)
    post = truth.posts[0].model_copy(update={"replies": 40})
    many = ThreadSample(post_id=post.id, threads_seen=25, threads_answered=5)
    truth = truth.model_copy(update={"posts": (post,), "thread_samples": (many,)})
    got = over_fake(truth, settings)[0].fetch(fb(), max_posts=1)  # reads 10 comments a post
    assert got.thread_samples == (
        ThreadSample(post_id=post.id, threads_seen=10, threads_answered=2),
    )

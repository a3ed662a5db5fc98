"""Facebook comment pages read only when asked: cost, fuller samples, and the same error table."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import respx

from analyser.config import Settings, load_settings
from analyser.errors import AuthError, RateLimitError
from analyser.handles import parse_handle
from analyser.models import (
    Account,
    AccountSnapshot,
    AccountStatus,
    Platform,
    Post,
    ReplyPolicy,
    ThreadSample,
)
from connectors import planned_cost as registry_cost
from connectors.base import RetryPolicy
from connectors.facebook import (
    AUTHORS_WITHHELD,
    COMMENT_FIELDS,
    FacebookConnector,
    build,
    planned_cost,
)
from connectors.fakeapi.facebook import Fake
from connectors.replay import HttpRequest, HttpResponse, Seam
from tests.conftest import FAKE_FACEBOOK_TOKEN

GRAPH = "https://graph.facebook.com"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PAGE_ID = "104729"
HANDLE = parse_handle("facebook", "harbourfresh")
PAGE_BODY = {"id": PAGE_ID, "name": "Harbour Fresh Markets", "followers_count": 10}


def comment_heavy_snapshot(n_posts: int) -> AccountSnapshot:
    """A page whose posts mostly hold more threads than the default inline sample of 10.

    Post i has 12 + 3i threads (every fourth post with authors withheld); the page answered a
    third of them, so a sample of only the first 10 threads shows a different count.
    """
    posts, samples = [], []
    for i in range(n_posts):
        post_id = f"{PAGE_ID}_{2000 + i}"
        threads = 12 + 3 * i
        posts.append(
            Post(
                id=post_id,
                created_at=T0 - timedelta(hours=8 * i),
                text=f"Question of the day no. {i}: what should we stock next?",
                url=f"https://www.facebook.com/{PAGE_ID}/posts/{2000 + i}",
                likes=40 + i,
                reposts=i,
                replies=threads + 2,  # Graph's total also counts replies
                reply_policy=ReplyPolicy.OPEN,
            )
        )
        if i % 4 == 3:
            samples.append(
                ThreadSample(
                    post_id=post_id,
                    threads_seen=threads,
                    threads_answered=None,
                    reason=AUTHORS_WITHHELD,
                )
            )
        else:
            samples.append(
                ThreadSample(post_id=post_id, threads_seen=threads, threads_answered=threads // 3)
            )
    account = Account(
        platform=Platform.FACEBOOK,
        handle="harbourfresh",
        status=AccountStatus.FOUND,
        id=PAGE_ID,
        display_name="Harbour Fresh Markets",
        url="https://www.facebook.com/harbourfresh",
        followers=48_210,
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

    def comment_paths(self) -> list[str]:
        return [r.path for r in self.seen if r.path.endswith("/comments")]


def with_pages(settings: Settings, pages: int, **more: Any) -> Settings:
    return settings.model_copy(update={"facebook_comment_pages": pages, **more})


def over_fake(truth: AccountSnapshot, settings: Settings) -> tuple[FacebookConnector, Counting]:
    handler = Counting(Fake([truth]))
    return build(settings, Seam.handled_by(handler), policy=RetryPolicy.no_wait()), handler


def live(settings: Settings) -> FacebookConnector:
    return build(settings, Seam.live(), policy=RetryPolicy.no_wait())


def graph_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S+0000")


def inline_post(i: int, *, shown: int, total: int) -> dict[str, Any]:
    """A posts-edge item showing `shown` community comments inline out of `total`."""
    return {
        "id": f"{PAGE_ID}_{i}",
        "created_time": graph_time(T0 - timedelta(hours=i)),
        "message": f"post {i}",
        "comments": {
            "data": [
                {
                    "id": f"{PAGE_ID}_{i}_{k}",
                    "from": {"id": str(500 + k), "name": f"Fan {k}"},
                    "created_time": graph_time(T0 - timedelta(hours=i) + timedelta(minutes=k)),
                }
                for k in range(shown)
            ],
            "summary": {"order": "chronological", "total_count": total, "can_comment": True},
        },
    }


def edge_comment(k: int, *, page_replies_at: int | None = None, replies: int = 0) -> dict[str, Any]:
    """One comments-edge item with `replies` replies, the page's own at `page_replies_at`."""
    thread = [
        {
            "from": (
                {"id": PAGE_ID, "name": "Harbour Fresh Markets"}
                if r == page_replies_at
                else {"id": str(900 + r), "name": f"Neighbour {r}"}
            ),
            "created_time": graph_time(T0 + timedelta(minutes=k * 10 + r)),
        }
        for r in range(replies)
    ]
    item: dict[str, Any] = {
        "id": f"c{k}",
        "from": {"id": str(500 + k), "name": f"Fan {k}"},
        "message": f"comment {k}",
        "created_time": graph_time(T0 + timedelta(minutes=k * 10)),
    }
    if thread:
        item["comments"] = {"data": thread}
    return item


# -- cost --------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_posts", [1, 30, 100, 101, 250])
def test_by_default_no_comment_page_is_read_and_the_cost_is_unchanged(
    settings: Settings, max_posts: int
) -> None:
    assert settings.facebook_comment_pages == 0
    connector, handler = over_fake(comment_heavy_snapshot(250), settings)

    got = connector.fetch(HANDLE, max_posts=max_posts)

    assert handler.comment_paths() == []
    assert got.requests == len(handler.seen) == 1 + math.ceil(max_posts / 100)
    assert got.requests == planned_cost(max_posts, settings).requests
    # Only the inline sample was seen: at most 10 threads per post.
    assert got.thread_samples and max(s.threads_seen for s in got.thread_samples) == 10


@pytest.mark.parametrize("pages", [1, 3, 7])
def test_k_comment_pages_cost_exactly_k_more_requests_for_the_most_recent_posts(
    settings: Settings, pages: int
) -> None:
    truth = comment_heavy_snapshot(40)
    connector, handler = over_fake(truth, with_pages(settings, pages))

    got = connector.fetch(HANDLE, max_posts=40)

    assert got.requests == len(handler.seen) == 1 + 1 + pages
    newest = sorted(truth.posts, key=lambda p: p.created_at, reverse=True)[:pages]
    assert handler.comment_paths() == [f"/v26.0/{p.id}/comments" for p in newest]
    for request in handler.seen[2:]:
        assert request.query["fields"] == COMMENT_FIELDS
        assert request.query["filter"] == "toplevel"
        assert request.query["limit"] == "100"
    fuller = {p.id for p in newest}
    truth_samples = {s.post_id: s for s in truth.thread_samples}
    for sample in got.thread_samples:
        if sample.post_id in fuller:  # rebuilt from every thread, not only the first 10
            assert sample == truth_samples[sample.post_id]
        else:
            assert sample.threads_seen == 10
    # Samples still follow the posts' order, one per post.
    assert [s.post_id for s in got.thread_samples] == [p.id for p in got.posts]


def test_enough_comment_pages_give_back_every_sample_exactly(settings: Settings) -> None:
    truth = comment_heavy_snapshot(12)
    connector, _ = over_fake(truth, with_pages(settings, 50))

    got = connector.fetch(HANDLE, max_posts=12)

    assert got.posts == truth.posts
    assert got.thread_samples == truth.thread_samples
    assert got.requests == 1 + 1 + 12  # only as many comment pages as there are posts
    assert got.requests == planned_cost(12, with_pages(settings, 50)).requests


def test_only_posts_with_more_comments_than_shown_are_read(settings: Settings) -> None:
    truth = comment_heavy_snapshot(6)
    # The two newest posts show every comment inline: nothing more to read there.
    posts = list(truth.posts)
    posts[0] = posts[0].model_copy(update={"replies": 12})
    posts[1] = posts[1].model_copy(update={"replies": None})  # unknown total: no reason to look
    samples = list(truth.thread_samples)
    samples[0] = samples[0].model_copy(update={"threads_seen": 12, "threads_answered": 4})
    truth = truth.model_copy(update={"posts": tuple(posts), "thread_samples": tuple(samples)})
    connector, handler = over_fake(truth, with_pages(settings, 2, facebook_comment_sample=20))

    connector.fetch(HANDLE, max_posts=6)

    assert handler.comment_paths() == [
        f"/v26.0/{truth.posts[2].id}/comments",
        f"/v26.0/{truth.posts[3].id}/comments",
    ]


def test_without_an_inline_sample_the_comment_pages_alone_build_samples(
    settings: Settings,
) -> None:
    truth = comment_heavy_snapshot(8)
    connector, handler = over_fake(truth, with_pages(settings, 3, facebook_comment_sample=0))

    got = connector.fetch(HANDLE, max_posts=8)

    assert got.requests == len(handler.seen) == 1 + 1 + 3
    assert got.thread_samples == truth.thread_samples[:3]


@pytest.mark.parametrize(
    ("max_posts", "pages"), [(0, 5), (1, 5), (5, 5), (40, 3), (100, 10), (101, 2), (250, 25)]
)
def test_planned_cost_matches_what_a_fetch_spends(
    settings: Settings, max_posts: int, pages: int
) -> None:
    asked = with_pages(settings, pages)
    connector, handler = over_fake(comment_heavy_snapshot(300), asked)

    got = connector.fetch(HANDLE, max_posts=max_posts)

    plan = planned_cost(max_posts, asked)
    assert plan.requests == 1 + math.ceil(max_posts / 100) + min(pages, max_posts)
    assert got.requests == len(handler.seen) == plan.requests
    assert connector.planned_cost(max_posts) == plan
    assert registry_cost(Platform.FACEBOOK, max_posts, asked) == plan


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPTAKE_FACEBOOK_COMMENT_PAGES", "4")
    loaded = load_settings()
    assert loaded.facebook_comment_pages == 4
    assert planned_cost(250, loaded).requests == 4 + 4
    monkeypatch.setenv("UPTAKE_FACEBOOK_COMMENT_PAGES", "-1")
    with pytest.raises(Exception, match="facebook_comment_pages"):
        load_settings()


# -- what the fuller set shows ----------------------------------------------------------------


def test_a_page_answer_deep_in_a_thread_is_counted_from_the_comment_page(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """Inline, only the first 5 replies of a thread are read; the comment page reads 25."""
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(
        200, json={"data": [inline_post(1, shown=2, total=20)]}
    )
    edge = respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}_1/comments").respond(
        200,
        json={
            "data": [
                edge_comment(0, page_replies_at=8, replies=12),
                edge_comment(1, replies=3),
                edge_comment(2, page_replies_at=0, replies=1),
                edge_comment(3),
                {"id": "mine", "from": {"id": PAGE_ID}, "created_time": graph_time(T0)},
            ]
        },
    )

    got = live(with_pages(settings, 1)).fetch(HANDLE, max_posts=1)

    assert edge.call_count == 1
    sent = edge.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {FAKE_FACEBOOK_TOKEN}"
    assert FAKE_FACEBOOK_TOKEN not in str(sent.url)
    # The page's own top-level comment is not a community thread.
    assert got.thread_samples == (
        ThreadSample(post_id=f"{PAGE_ID}_1", threads_seen=4, threads_answered=2),
    )
    assert got.requests == 3


def test_withheld_authors_on_the_comment_page_leave_answers_unknown(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(
        200, json={"data": [inline_post(1, shown=2, total=9)]}
    )
    withheld = [{"message": f"c{k}", "created_time": graph_time(T0)} for k in range(7)]
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}_1/comments").respond(200, json={"data": withheld})

    got = live(with_pages(settings, 1)).fetch(HANDLE, max_posts=1)

    (sample,) = got.thread_samples
    assert sample.threads_seen == 7
    assert sample.threads_answered is None
    assert sample.reason == AUTHORS_WITHHELD


def test_withheld_authors_survive_the_round_trip_through_the_simulated_graph(
    settings: Settings,
) -> None:
    truth = comment_heavy_snapshot(8)
    connector, _ = over_fake(truth, with_pages(settings, 8))

    got = connector.fetch(HANDLE, max_posts=8)

    withheld = [s for s in got.thread_samples if s.threads_answered is None]
    assert [s.post_id for s in withheld] == [truth.posts[3].id, truth.posts[7].id]
    assert all(s.reason == AUTHORS_WITHHELD and s.threads_seen > 10 for s in withheld)


def test_a_comment_page_with_no_more_than_was_inline_keeps_the_inline_sample(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(
        200, json={"data": [inline_post(1, shown=3, total=8)]}
    )
    # Graph can show fewer on the edge than inline (deleted or hidden since): nothing fuller.
    fewer = [edge_comment(0, page_replies_at=0, replies=1)]
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}_1/comments").respond(200, json={"data": fewer})

    got = live(with_pages(settings, 1)).fetch(HANDLE, max_posts=1)

    assert got.thread_samples == (
        ThreadSample(post_id=f"{PAGE_ID}_1", threads_seen=3, threads_answered=0),
    )
    assert got.requests == 3


def test_the_simulated_comments_edge_pages_like_graph(settings: Settings) -> None:
    """More than 100 threads: one page of 100 is read, and its paging.next stays at home."""
    truth = comment_heavy_snapshot(1)
    big = ThreadSample(post_id=truth.posts[0].id, threads_seen=130, threads_answered=26)
    truth = truth.model_copy(update={"thread_samples": (big,)})
    connector, handler = over_fake(truth, with_pages(settings, 1))

    got = connector.fetch(HANDLE, max_posts=1)

    assert got.thread_samples == (
        ThreadSample(post_id=big.post_id, threads_seen=100, threads_answered=20),
    )
    assert got.requests == len(handler.seen) == 3
    assert got.notes == ()
    fake = Fake([truth])
    url = f"{GRAPH}/v26.0/{big.post_id}/comments?limit=100&fields=id,from,created_time"
    first = fake.handle(HttpRequest(method="GET", url=url))
    assert first is not None and first.status == 200
    body = json.loads(first.body)
    assert len(body["data"]) == 100
    assert urlsplit(body["paging"]["next"]).hostname == "graph.facebook.com"
    after = body["paging"]["cursors"]["after"]
    rest = fake.handle(HttpRequest(method="GET", url=f"{url}&after={after}"))
    assert rest is not None
    assert len(json.loads(rest.body)["data"]) == 30
    assert "next" not in json.loads(rest.body)["paging"]


# -- paging host rule and errors ---------------------------------------------------------------


@pytest.mark.respx(assert_all_called=False)
@pytest.mark.parametrize("cursor", [True, False])
def test_a_foreign_paging_next_on_the_comments_edge_is_not_followed(
    settings: Settings, respx_mock: respx.MockRouter, cursor: bool
) -> None:
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(
        200, json={"data": [inline_post(1, shown=1, total=300)]}
    )
    evil = respx_mock.get(host="collector.evil.example").respond(200, json={"data": []})
    paging: dict[str, Any] = {
        "next": f"https://collector.evil.example/v26.0/{PAGE_ID}_1/comments?after=C1"
    }
    if cursor:
        paging["cursors"] = {"before": "C0", "after": "C1"}
    edge = respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}_1/comments").respond(
        200, json={"data": [edge_comment(k) for k in range(4)], "paging": paging}
    )

    got = live(with_pages(settings, 1)).fetch(HANDLE, max_posts=1)

    assert not evil.called
    assert edge.call_count == 1  # one page each, so the cost stays as planned
    assert got.requests == planned_cost(1, with_pages(settings, 1)).requests == 3
    assert got.thread_samples[0].threads_seen == 4
    stopped = [n for n in got.notes if "paging stopped" in n]
    if cursor:
        assert stopped == []
    else:
        assert len(stopped) == 1 and "collector.evil.example" in stopped[0]
    assert all(FAKE_FACEBOOK_TOKEN not in n for n in got.notes)


def comment_page_failing_with(
    respx_mock: respx.MockRouter, response: httpx.Response
) -> respx.Route:
    respx_mock.get(f"{GRAPH}/v26.0/harbourfresh").respond(200, json=PAGE_BODY)
    respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}/posts").respond(
        200, json={"data": [inline_post(1, shown=2, total=9), inline_post(2, shown=0, total=4)]}
    )
    return respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}_1/comments").mock(return_value=response)


def graph_error(status: int, code: int, message: str, **extra: Any) -> httpx.Response:
    error = {"message": message, "type": "OAuthException", "code": code, **extra}
    return httpx.Response(status, json={"error": error})


def test_an_expired_token_on_the_comments_edge_is_an_auth_error(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    edge = comment_page_failing_with(
        respx_mock,
        graph_error(
            401, 190, "Error validating access token: Session has expired", error_subcode=463
        ),
    )

    with pytest.raises(AuthError) as raised:
        live(with_pages(settings, 2)).fetch(HANDLE, max_posts=2)

    assert edge.call_count == 1  # fail fast: no retry
    message = str(raised.value)
    assert "invalid or expired" in message and "UPTAKE_FACEBOOK_ACCESS_TOKEN" in message
    assert FAKE_FACEBOOK_TOKEN not in message


def test_a_permission_refusal_on_the_comments_edge_names_ppca(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    comment_page_failing_with(
        respx_mock, graph_error(403, 10, "(#10) This endpoint requires the pages_read_engagement")
    )
    with pytest.raises(AuthError, match="Page Public Content Access"):
        live(with_pages(settings, 1)).fetch(HANDLE, max_posts=2)


def test_a_rate_limit_on_the_comments_edge_is_retried_then_raised(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    edge = comment_page_failing_with(
        respx_mock, graph_error(403, 4, "(#4) Application request limit reached")
    )
    connector = build(
        with_pages(settings, 1), Seam.live(), policy=RetryPolicy.no_wait(max_attempts=3)
    )

    with pytest.raises(RateLimitError, match="#4"):
        connector.fetch(HANDLE, max_posts=2)

    assert edge.call_count == 3


def test_a_post_whose_comments_graph_calls_missing_keeps_its_inline_sample(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    comment_page_failing_with(
        respx_mock,
        graph_error(
            400,
            100,
            f"Unsupported get request. Object with ID '{PAGE_ID}_1' does not exist",
            error_subcode=33,
        ),
    )
    second = respx_mock.get(f"{GRAPH}/v26.0/{PAGE_ID}_2/comments").respond(
        200, json={"data": [edge_comment(k) for k in range(3)]}
    )

    got = live(with_pages(settings, 2)).fetch(HANDLE, max_posts=2)

    assert second.call_count == 1  # the run goes on to the next post
    assert got.thread_samples == (
        ThreadSample(post_id=f"{PAGE_ID}_1", threads_seen=2, threads_answered=0),
        ThreadSample(post_id=f"{PAGE_ID}_2", threads_seen=3, threads_answered=0),
    )
    assert any(f"comments of post {PAGE_ID}_1" in n for n in got.notes)
    assert got.requests == 4

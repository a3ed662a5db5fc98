"""Real recorded Graph responses (tests/connectors/data/facebook) parse through our connector."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from analyser.config import Settings
from analyser.errors import AuthError
from analyser.handles import parse_handle
from analyser.models import AccountSnapshot, AccountStatus, ReplyPolicy
from connectors.base import RetryPolicy
from connectors.facebook import AUTHORS_WITHHELD, build
from connectors.replay import Seam

DATA = Path(__file__).resolve().parent / "data" / "facebook"
GRAPH = "https://graph.facebook.com"
HANDLE = parse_handle("facebook", "samplepage")


def sample(name: str) -> Any:
    folder = "errors" if name.startswith("pyfb__error") else "python_facebook"
    return json.loads((DATA / folder / name).read_text(encoding="utf-8"))


def fetch(
    settings: Settings,
    page: dict[str, Any],
    *post_pages: dict[str, Any],
    max_posts: int = 100,
) -> tuple[AccountSnapshot, respx.Route]:
    """Serve one page object and a sequence of posts-edge bodies; fetch through the connector."""
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{GRAPH}/v26.0/samplepage").respond(200, json=page)
        bodies = [httpx.Response(200, json=b) for b in post_pages] or [
            httpx.Response(200, json={"data": []})
        ]
        route = mock.get(f"{GRAPH}/v26.0/{page['id']}/posts").mock(side_effect=bodies)
        connector = build(settings, Seam.live(), policy=RetryPolicy.no_wait())
        snap = connector.fetch(HANDLE, max_posts=max_posts)
    return snap, route


def test_every_vendored_sample_is_used_here() -> None:
    names = {p.name for p in DATA.rglob("*.json")}
    source = Path(__file__).read_text(encoding="utf-8")
    assert names, "tests/connectors/data/facebook is empty"
    assert {n for n in names if n not in source} == set()


# -- the page object ---------------------------------------------------------------------------


def test_page_with_the_fields_we_ask_for(settings: Settings) -> None:
    snap, _ = fetch(settings, sample("pyfb__page__fields_id_name_username_fan_count.json"))
    account = snap.account
    assert account.status is AccountStatus.FOUND
    assert (account.id, account.display_name, account.followers) == (
        "20531316728",
        "Facebook",
        214507731,
    )
    assert account.url == "https://www.facebook.com/20531316728"  # no link asked: built from id
    assert any("like count" in n for n in snap.notes)  # fan_count stood in for followers


def test_page_with_many_default_fields(settings: Settings) -> None:
    page = sample("pyfb__page__default_fields_fan_count_engagement.json")
    snap, _ = fetch(settings, page)
    assert snap.account.url == "https://www.facebook.com/facebookapp/"
    assert (snap.account.description or "").startswith("The Facebook Page celebrates")
    assert snap.account.followers == 214507731


@pytest.mark.parametrize("page_id", ["19292868552", "20531316728"])
def test_page_objects_from_an_ids_lookup(settings: Settings, page_id: str) -> None:
    page = sample("pyfb__pages_by_ids__default_fields.json")[page_id]
    snap, _ = fetch(settings, page)
    assert snap.account.id == page_id
    assert snap.account.display_name == page["name"]
    assert snap.account.followers == page["fan_count"]


# -- the posts edge ----------------------------------------------------------------------------


def test_posts_with_time_based_paging(settings: Settings) -> None:
    first = sample("pyfb__page_posts__id_message_created_time_page1.json")
    second = sample("pyfb__page_posts__id_message_created_time_page2.json")
    snap, route = fetch(settings, {"id": "4", "name": "Mark"}, first, second, max_posts=200)
    assert route.call_count == 2
    followed = route.calls[1].request.url
    assert followed.host == "graph.facebook.com"
    assert followed.params["until"] == "1624385168"
    assert followed.params["__paging_token"] == "__paging_token"
    assert "access_token" not in followed.params  # the sample's echoed token is not sent back
    # the recorded second page repeats the first: each post is kept once
    assert [p.id for p in snap.posts] == [d["id"] for d in first["data"]]
    assert snap.posts[0].text == "Happy July 4th! 🇺🇸"
    assert snap.posts[0].created_at == datetime(2021, 7, 4, 19, 50, 58, tzinfo=UTC)
    # only id,message,created_time were recorded: every count is unknown
    assert all(p.likes is None and p.reposts is None and p.replies is None for p in snap.posts)


def test_posts_with_reaction_and_comment_summaries_2019(settings: Settings) -> None:
    body = sample("pyfb__page_posts__reactions_summary__2019.json")
    snap, route = fetch(settings, {"id": "20531316728"}, body, max_posts=5)
    assert route.call_count == 1
    first = snap.posts[0]
    assert first.text == ""  # a photo post without a message
    assert (first.likes, first.reposts, first.replies) == (8225, 562, 957)
    assert first.reply_policy is ReplyPolicy.OPEN
    assert first.url == "https://www.facebook.com/20531316728/posts/10158658756111729/"
    assert [p.likes for p in snap.posts] == [
        d["reactions"]["summary"]["total_count"] for d in body["data"]
    ]
    assert snap.thread_samples == ()  # comments.limit(0) was recorded: no comment visible


def test_feed_pages_with_cursor_paging(settings: Settings) -> None:
    first = sample("pyfb__page_feed__reactions_comments_summary_page1.json")
    second = sample("pyfb__page_feed__reactions_comments_summary_page2.json")
    snap, route = fetch(settings, {"id": "19292868552"}, first, second, max_posts=200)
    assert route.call_count == 2
    assert route.calls[1].request.url.params["after"] == "after"
    assert len(snap.posts) == 10
    assert [p.reposts for p in snap.posts] == [d["shares"]["count"] for d in first["data"]] + [
        d["shares"]["count"] for d in second["data"]
    ]
    assert snap.posts[0].replies == 13
    assert all(p.links or p.text for p in snap.posts)


def test_single_post_without_shares(settings: Settings) -> None:
    post = sample("pyfb__post__reactions_comments_summary.json")
    snap, _ = fetch(settings, {"id": "175154750010052"}, {"data": [post]})
    (got,) = snap.posts
    assert (got.likes, got.reposts, got.replies) == (1, None, 0)
    assert got.reply_policy is ReplyPolicy.OPEN
    assert got.text == "我测试一下 MyLife"


def test_posts_from_an_ids_lookup(settings: Settings) -> None:
    keyed = sample("pyfb__posts_by_ids__default_fields.json")
    snap, _ = fetch(settings, {"id": "19292868552"}, {"data": list(keyed.values())})
    assert {p.id for p in snap.posts} == set(keyed)
    assert [(p.likes, p.reposts, p.replies) for p in snap.posts] == [(82, 5, 12), (110, 11, 11)]
    # recorded with a page token: authors visible, none of the comments answered by the page
    assert [(t.threads_seen, t.threads_answered) for t in snap.thread_samples] == [(7, 0), (9, 0)]


# -- comments as they arrive inside a post -----------------------------------------------------


def _post_with_comments(comments: dict[str, Any]) -> dict[str, Any]:
    return {"id": "1_2", "created_time": "2021-08-10T18:00:00+0000", "comments": comments}


@pytest.mark.parametrize(
    "name",
    [
        "pyfb__object_comments__summary__2019.json",
        "pyfb__post_comments__summary_page1.json",
        "pyfb__post_comments__summary_page2.json",
    ],
)
def test_comments_without_authors_leave_answers_unknown(settings: Settings, name: str) -> None:
    comments = sample(name)
    snap, _ = fetch(settings, {"id": "19292868552"}, {"data": [_post_with_comments(comments)]})
    (thread,) = snap.thread_samples
    assert thread.threads_answered is None
    assert thread.reason == AUTHORS_WITHHELD
    assert thread.threads_seen == len(comments["data"])
    assert snap.posts[0].replies == comments["summary"]["total_count"]


def test_comments_with_authors_are_attributed(settings: Settings) -> None:
    comments = sample("pyfb__post_comments__with_from_attachment__2019.json")
    snap, _ = fetch(settings, {"id": "2121008874780932"}, {"data": [_post_with_comments(comments)]})
    (thread,) = snap.thread_samples
    assert (thread.threads_seen, thread.threads_answered) == (5, 0)
    assert snap.posts[0].replies == 7


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "pyfb__error_100_oauth_pages_public_content_access.json",
        "pyfb__error_100_object_does_not_exist_missing_permission.json",
    ],
)
def test_recorded_permission_errors_explain_ppca(settings: Settings, name: str) -> None:
    with respx.mock() as mock:
        route = mock.get(f"{GRAPH}/v26.0/samplepage").respond(400, json=sample(name))
        connector = build(settings, Seam.live(), policy=RetryPolicy.no_wait())
        with pytest.raises(AuthError, match="Page Public Content Access"):
            connector.fetch(HANDLE, max_posts=10)
    assert route.call_count == 1

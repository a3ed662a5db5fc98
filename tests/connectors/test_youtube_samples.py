"""Every real recorded YouTube response that answers a method we call parses through the connector.

Samples: tests/connectors/data/youtube, copied from ../shared/real-samples (data/SOURCES.md).
Expected values are read
from the raw sample with plain lookups, never typed in.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from analyser.config import load_settings
from analyser.errors import AuthError
from analyser.handles import parse_handle
from analyser.models import AccountStatus, ReplyPolicy
from connectors.base import Gate, RetryPolicy
from connectors.replay import HttpRequest, HttpResponse, Seam
from connectors.youtube import YouTubeConnector, build
from tests.conftest import FAKE_YOUTUBE_KEY

# Copied from ../shared/real-samples/youtube (provenance and licences: data/SOURCES.md) so a
# fresh clone tests them wherever it stands.
SAMPLES = Path(__file__).resolve().parent / "data" / "youtube"


CHANNELS = [
    "python_youtube/pyyt__channels_list__id_snippet_statistics.json",
    "python_youtube/pyyt__channels_list__multi_statistics_contentDetails_branding.json",
    "python_youtube/pyyt__channels_list__snippet_statistics_model.json",
    "python_youtube/pyyt__channel_resource__all_parts.json",  # one item: wrapped in a list
    "youtubeaio/ytaio__channels_list__snippet_statistics.json",
]
PLAYLIST_ITEMS = [
    ["python_youtube/pyyt__playlistItems_list__model.json"],
    [
        "python_youtube/pyyt__playlistItems_list__page1.json",
        "python_youtube/pyyt__playlistItems_list__page2_last.json",
    ],
    ["youtubeaio/ytaio__playlistItems_list__snippet_contentDetails.json"],
]
VIDEOS = [
    "python_youtube/pyyt__videos_list__snippet_contentDetails_status_statistics.json",
    "python_youtube/pyyt__videos_list__multi_snippet_player.json",
    "python_youtube/pyyt__videos_list__single_snippet_player.json",
    "python_youtube/pyyt__videos_list__chart_mostPopular_page1.json",
    "python_youtube/pyyt__videos_list__chart_mostPopular_page2.json",
    "python_youtube/pyyt__video_resource__all_parts_with_topicDetails.json",  # one item
    "python_youtube/pyyt__videos_items_all_parts_statistics__examples.jsonl",  # items, one a line
    "youtubeaio/ytaio__videos_list__snippet_contentDetails_statistics_1item.json",
    "youtubeaio/ytaio__videos_list__snippet_contentDetails_statistics_2items.json",
    "youtubeaio/ytaio__videos_list__snippet_only.json",
]
THREADS = [
    "python_youtube/pyyt__commentThreads_list__by_channel.json",
    "python_youtube/pyyt__commentThreads_list__by_id.json",
    "python_youtube/pyyt__commentThreads_list__by_video_page1.json",
    "python_youtube/pyyt__commentThreads_list__by_video_page2.json",
    "python_youtube/pyyt__commentThreads_list__model.json",
    "python_youtube/pyyt__commentThread_resource__with_replies.json",  # one item
]
ERRORS = [
    "errors/pyyt__error_400_keyInvalid.json",
    "errors/pyyt__error_403_permission_denied.json",
    "errors/ytaio__error_403_accessNotConfigured.json",
]
# Answers to methods the connector never calls (search costs 100 units; the others add nothing
# the stage signals need).
NOT_CALLED = [
    "discovery/youtube.v3.discovery.json",
    "python_youtube/pyyt__activities_list__by_channel_page1.json",
    "python_youtube/pyyt__comments_list__by_parentId_page1.json",
    "python_youtube/pyyt__comments_list__by_parentId_page2.json",
    "python_youtube/pyyt__playlists_list__by_channel_page1.json",
    "python_youtube/pyyt__playlists_list__contentDetails_status.json",
    "python_youtube/pyyt__search_list__channels.json",
    "python_youtube/pyyt__search_list__videos_by_channel.json",
]

OWNER = "UCownerOwnerOwnerOwner123"


def _load(name: str) -> dict[str, Any]:
    """A sample as a list response (single resources and JSON lines are wrapped)."""
    path = SAMPLES / name
    if path.suffix == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        return {"items": [json.loads(line) for line in lines if line.strip()]}
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if "items" not in body and "error" not in body:
        return {"items": [body]}
    return body


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _channel(uploads: str = "UUownerOwnerOwnerOwner123", channel_id: str = OWNER) -> Any:
    return {
        "items": [
            {
                "id": channel_id,
                "snippet": {"title": "Owner", "publishedAt": "2010-01-01T00:00:00Z"},
                "statistics": {"videoCount": "99", "subscriberCount": "5"},
                "contentDetails": {"relatedPlaylists": {"uploads": uploads}},
            }
        ]
    }


def _playlist(ids: list[str]) -> Any:
    return {"items": [{"contentDetails": {"videoId": i}} for i in ids]}


def _videos_for(request: HttpRequest, comments: str = "5") -> Any:
    ids = request.query["id"].split(",")
    return {
        "items": [
            {
                "id": i,
                "snippet": {"publishedAt": "2023-01-01T00:00:00Z", "title": i},
                "statistics": {"viewCount": "1", "commentCount": comments},
            }
            for i in ids
        ]
    }


class SampleApi:
    """Answers each YouTube method with a given body (or a builder), recording the requests."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.seen: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.seen.append(request)
        method = request.path.rsplit("/", 1)[-1]
        answer = self.answers[method]
        if callable(answer):
            answer = answer(request)
        if isinstance(answer, HttpResponse):
            return answer
        return HttpResponse.json(200, answer)

    def queries(self, method: str) -> list[dict[str, str]]:
        return [r.query for r in self.seen if r.path.endswith("/" + method)]


def _connector(api: Callable[[HttpRequest], HttpResponse], sample: int = 0) -> YouTubeConnector:
    settings = load_settings(youtube_api_key=FAKE_YOUTUBE_KEY, youtube_comment_sample=sample)
    return build(settings, Seam.handled_by(api), policy=RetryPolicy.no_wait(), gate=Gate())


def test_every_sample_is_classified() -> None:
    """A new sample in the directory must be added to a table above (or NOT_CALLED)."""
    known = set(CHANNELS + VIDEOS + THREADS + ERRORS + NOT_CALLED)
    known |= {name for group in PLAYLIST_ITEMS for name in group}
    on_disk = {
        str(p.relative_to(SAMPLES))
        for p in SAMPLES.rglob("*")
        if p.is_file() and p.suffix in {".json", ".jsonl"}
    }
    assert on_disk == known


@pytest.mark.parametrize("name", CHANNELS)
def test_channels_list_sample(name: str) -> None:
    raw = _load(name)
    item = raw["items"][0]
    api = SampleApi(channels=raw, playlistItems=_playlist([]), videos=_videos_for)
    got = _connector(api).fetch(parse_handle("youtube", item["id"]), max_posts=50)

    account = got.account
    assert account.status is AccountStatus.FOUND
    assert account.id == item["id"]
    assert account.display_name == item["snippet"]["title"]
    assert account.created_at == _time(item["snippet"]["publishedAt"])
    stats = item["statistics"]
    hidden = stats.get("hiddenSubscriberCount") is True
    assert account.followers == (None if hidden else int(stats["subscriberCount"]))
    assert account.post_count == int(stats["videoCount"])
    assert account.following is None
    uploads = item.get("contentDetails", {}).get("relatedPlaylists", {}).get("uploads")
    if uploads:
        assert [q["playlistId"] for q in api.queries("playlistItems")] == [uploads]
    else:
        assert api.queries("playlistItems") == []
        assert "channel has no uploads playlist" in got.notes
    assert got.quota_units == len(api.seen)


@pytest.mark.parametrize("names", PLAYLIST_ITEMS, ids=lambda names: Path(names[0]).stem)
def test_playlist_items_list_sample(names: list[str]) -> None:
    pages = [_load(n) for n in names]
    by_token = {None: pages[0]}
    for before, after in itertools.pairwise(pages):
        by_token[before["nextPageToken"]] = after
    api = SampleApi(
        channels=_channel(),
        playlistItems=lambda r: by_token[r.query.get("pageToken")],
        videos=_videos_for,
    )
    got = _connector(api).fetch(parse_handle("youtube", OWNER), max_posts=500)

    expected = [
        (it.get("contentDetails") or {}).get("videoId") or it["snippet"]["resourceId"]["videoId"]
        for page in pages
        for it in page["items"]
    ]
    asked = [i for q in api.queries("videos") for i in q["id"].split(",")]
    assert asked == expected
    assert [p.id for p in got.posts] == expected
    assert len(api.queries("playlistItems")) == len(pages)


@pytest.mark.parametrize("name", VIDEOS)
def test_videos_list_sample(name: str) -> None:
    raw = _load(name)
    ids = [item["id"] for item in raw["items"]]
    api = SampleApi(channels=_channel(), playlistItems=_playlist(ids), videos=raw)
    got = _connector(api).fetch(parse_handle("youtube", OWNER), max_posts=50)

    assert [p.id for p in got.posts] == ids
    for post, item in zip(got.posts, raw["items"], strict=True):
        snippet = item["snippet"]
        assert post.title == snippet["title"]
        assert post.text == snippet.get("description", "")
        assert post.created_at == _time(snippet["publishedAt"])
        assert post.url == f"https://www.youtube.com/watch?v={item['id']}"
        stats = item.get("statistics")
        if stats is None:  # part not requested in that recording: unknown, not zero
            assert (post.views, post.likes, post.replies, post.reply_policy) == (None,) * 4
            continue
        assert post.views == int(stats["viewCount"])
        assert post.likes == (int(stats["likeCount"]) if "likeCount" in stats else None)
        if "commentCount" in stats:
            assert post.replies == int(stats["commentCount"])
            assert post.reply_policy is ReplyPolicy.OPEN
        else:
            assert post.replies is None
            assert post.reply_policy is ReplyPolicy.DISABLED
    assert got.skipped_items == 0


def test_videos_sample_without_comment_count_reads_as_comments_disabled() -> None:
    """No licensed recording lacks commentCount (SOURCES.md, Gaps): remove it from a real one."""
    raw = _load("youtubeaio/ytaio__videos_list__snippet_contentDetails_statistics_1item.json")
    del raw["items"][0]["statistics"]["commentCount"]
    del raw["items"][0]["statistics"]["likeCount"]
    api = SampleApi(
        channels=_channel(), playlistItems=_playlist([raw["items"][0]["id"]]), videos=raw
    )
    (post,) = _connector(api).fetch(parse_handle("youtube", OWNER), max_posts=5).posts
    assert post.reply_policy is ReplyPolicy.DISABLED
    assert post.replies is None
    assert post.likes is None


def _has_replies(name: str) -> bool:
    return any(t.get("replies", {}).get("comments") for t in _load(name)["items"])


# "first-replier" only where the recording embeds replies (not every real page does).
THREAD_CASES = [(n, role) for n in THREADS for role in ("stranger", "first-commenter")] + [
    (n, "first-replier") for n in THREADS if _has_replies(n)
]


@pytest.mark.parametrize(("name", "owner_role"), THREAD_CASES)
def test_comment_threads_list_sample(name: str, owner_role: str) -> None:
    raw = _load(name)
    items = raw["items"]

    def top_author(thread: dict[str, Any]) -> str:
        return str(thread["snippet"]["topLevelComment"]["snippet"]["authorChannelId"]["value"])

    def reply_authors(thread: dict[str, Any]) -> list[str]:
        replies = thread.get("replies", {}).get("comments", [])
        return [r["snippet"]["authorChannelId"]["value"] for r in replies]

    if owner_role == "stranger":
        owner = OWNER
    elif owner_role == "first-commenter":
        owner = top_author(items[0])
    else:
        repliers = [a for t in items for a in reply_authors(t)]
        owner = repliers[0]
    seen = [t for t in items if top_author(t) != owner]
    answered = [t for t in seen if owner in reply_authors(t)]

    api = SampleApi(
        channels=_channel(uploads="UUx", channel_id=owner),
        playlistItems=_playlist(["v1"]),
        videos=_videos_for,
        commentThreads=raw,
    )
    got = _connector(api, sample=5).fetch(parse_handle("youtube", owner), max_posts=5)
    (sample,) = got.thread_samples
    assert sample.post_id == "v1"
    assert sample.threads_seen == len(seen)
    assert sample.threads_answered == len(answered)
    assert not sample.comments_disabled
    (query,) = api.queries("commentThreads")
    assert query["videoId"] == "v1"
    assert set(query["part"].split(",")) == {"snippet", "replies"}
    if owner_role == "first-replier":
        assert sample.threads_answered >= 1


@pytest.mark.parametrize("name", ERRORS)
def test_error_sample_is_an_auth_error(name: str) -> None:
    body = _load(name)
    api = SampleApi(channels=HttpResponse.json(body["error"]["code"], body))
    with pytest.raises(AuthError, match="UPTAKE_YOUTUBE_API_KEY") as caught:
        _connector(api).fetch(parse_handle("youtube", "@someone"), max_posts=5)
    assert len(api.seen) == 1
    assert FAKE_YOUTUBE_KEY not in str(caught.value)
    if "accessNotConfigured" in name:
        assert "not enabled" in str(caught.value)

"""Simulated YouTube Data API v3: channels, playlistItems, videos and commentThreads from snapshots.

Shapes follow the real responses in ../shared/real-samples/youtube (counts as strings, opaque
page tokens, the uploads playlist UC... -> UU..., absent commentCount when comments are off,
403 commentsDisabled from commentThreads). Error bodies for quota and keys follow the documented
shapes (no licensed real recording exists; see SOURCES.md "Gaps").
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analyser.models import AccountSnapshot, AccountStatus, Post, ReplyPolicy, ThreadSample
from connectors.replay import HttpRequest, HttpResponse

__all__ = ["COSTS", "Fake", "error_body"]

_ROUTE = re.compile(r"(?:^|/)youtube/v3/(channels|playlistItems|videos|commentThreads)/?$")

# The Fake's own price list (the documented costs), kept apart from the connector's table so
# that the benchmark measures the connector against an independent meter.
COSTS = {"channels": 1, "playlistItems": 1, "videos": 1, "commentThreads": 1}

_UNAVAILABLE = (
    ("Private video", "This video is private."),
    ("Deleted video", "This video is unavailable."),
)


def error_body(code: int, message: str, reason: str, domain: str, **extra: str) -> dict[str, Any]:
    """A Google API error envelope as YouTube sends it."""
    detail = {"message": message, "domain": domain, "reason": reason, **extra}
    return {"error": {"code": code, "message": message, "errors": [detail]}}


def _quota_exceeded() -> HttpResponse:
    return HttpResponse.json(
        403,
        error_body(
            403,
            "The request cannot be completed because you have exceeded your "
            '<a href="/youtube/v3/getting-started#quota">quota</a>.',
            "quotaExceeded",
            "youtube.quota",
        ),
    )


def _key_invalid() -> HttpResponse:
    body = error_body(
        400, "API key not valid. Please pass a valid API key.", "badRequest", "global"
    )
    body["error"]["status"] = "INVALID_ARGUMENT"
    body["error"]["details"] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "youtube.googleapis.com"},
        }
    ]
    return HttpResponse.json(400, body)


def _missing_key() -> HttpResponse:
    message = "The request is missing a valid API key."  # what Google says when key= is absent
    body = error_body(403, message, "forbidden", "global")
    body["error"]["status"] = "PERMISSION_DENIED"
    return HttpResponse.json(403, body)


def _bad_value(param: str, value: str) -> HttpResponse:
    message = f"Invalid value '{value}'. Values must be within the range: [0, 50]"
    body = error_body(400, message, "invalid", "global", location=param, locationType="parameter")
    body["error"]["status"] = "INVALID_ARGUMENT"
    return HttpResponse.json(400, body)


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _etag(*parts: object) -> str:
    return base64.urlsafe_b64encode(hashlib.sha1(repr(parts).encode()).digest())[:27].decode()


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"PT:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int | None:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return int(text.removeprefix("PT:")) if text.startswith("PT:") else None
    except ValueError:
        return None


def _fan_channel(seed: str) -> str:
    """A stable, made-up commenter channel id (UC + 22 characters)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()
    return "UC" + digest[:22]


def _thumbnails(video_id: str) -> dict[str, Any]:
    base = f"https://i.ytimg.com/vi/{video_id}"
    return {
        "default": {"url": f"{base}/default.jpg", "width": 120, "height": 90},
        "medium": {"url": f"{base}/mqdefault.jpg", "width": 320, "height": 180},
        "high": {"url": f"{base}/hqdefault.jpg", "width": 480, "height": 360},
    }


@dataclass(frozen=True)
class _Slot:
    """One entry of an uploads playlist: a public video, or a private/deleted placeholder."""

    video_id: str
    post: Post | None


class _Channel:
    def __init__(self, snap: AccountSnapshot) -> None:
        account = snap.account
        assert account.id is not None
        self.snap = snap
        self.id = account.id
        self.uploads = "UU" + account.id[2:]
        self.posts = sorted(snap.posts, key=lambda p: p.created_at, reverse=True)
        self.by_id = {p.id: p for p in self.posts}
        self.samples: dict[str, ThreadSample] = {s.post_id: s for s in snap.thread_samples}
        slots = [_Slot(p.id, p) for p in self.posts]
        # Private and deleted uploads still occupy a playlist slot; put them after the public
        # ones so that a capped read meets them last.
        slots += [_Slot(f"gone{self.id[2:9]}{i:04d}", None) for i in range(snap.skipped_items)]
        self.slots = slots

    def custom_url(self) -> str | None:
        url = self.snap.account.url or ""
        match = re.search(r"youtube\.com/(@[^/?#]+)", url)
        return match.group(1) if match else None


class Fake:
    """Serves /youtube/v3/{channels,playlistItems,videos,commentThreads} from snapshots.

    `api_keys`: when given, any other key is answered 400 keyInvalid (a missing key 403).
    `daily_quota`: units available; once spent every request is answered 403 quotaExceeded.
    `units_spent` counts what the Fake charged, at the documented cost of each method.
    """

    def __init__(
        self,
        snapshots: Iterable[AccountSnapshot],
        *,
        api_keys: Iterable[str] | None = None,
        daily_quota: int | None = None,
    ) -> None:
        self._channels: dict[str, _Channel] = {}
        self._videos: dict[str, tuple[_Channel, Post]] = {}
        for snap in snapshots:
            if snap.account.status is not AccountStatus.FOUND or not snap.account.id:
                continue  # not found / suspended accounts simply do not exist here
            channel = _Channel(snap)
            self._channels[channel.id] = channel
            for post in channel.posts:
                self._videos[post.id] = (channel, post)
        self._keys = frozenset(api_keys) if api_keys is not None else None
        self._daily_quota = daily_quota
        self._lock = threading.Lock()
        self.units_spent = 0
        self.calls: dict[str, int] = dict.fromkeys(COSTS, 0)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """The Fake alone as a Handler (for Seam.handled_by and serve): other paths get a 404."""
        response = self.handle(request)
        if response is None:
            message = f"The requested URL {request.path} was not found on this server."
            return HttpResponse.json(404, error_body(404, message, "notFound", "global"))
        return response

    def handle(self, request: HttpRequest) -> HttpResponse | None:
        match = _ROUTE.search(request.path)
        if match is None:
            return None
        method = match.group(1)
        query = request.query
        key = query.get("key")
        if not key:
            return _missing_key()
        if self._keys is not None and key not in self._keys:
            return _key_invalid()
        with self._lock:
            if self._daily_quota is not None and self.units_spent >= self._daily_quota:
                return _quota_exceeded()
            self.units_spent += COSTS[method]
            self.calls[method] += 1
        parts = {p.strip() for p in query.get("part", "").split(",") if p.strip()}
        if method == "channels":
            return self._channels_list(query, parts)
        if method == "playlistItems":
            return self._playlist_items(query, parts)
        if method == "videos":
            return self._videos_list(query, parts)
        return self._comment_threads(query, parts)

    # -- channels.list -------------------------------------------------------------------------

    def _find_channels(self, query: Mapping[str, str]) -> list[_Channel]:
        if "id" in query:
            ids = [i for i in query["id"].split(",") if i]
            return [self._channels[i] for i in ids if i in self._channels]
        wanted = query.get("forHandle") or query.get("forUsername")
        if not wanted:
            return []
        name = wanted.removeprefix("@").lower()
        for channel in self._channels.values():
            custom = (channel.custom_url() or "").removeprefix("@").lower()
            if name in {channel.snap.account.handle.lower(), custom}:
                return [channel]
        return []

    def _channels_list(self, query: Mapping[str, str], parts: set[str]) -> HttpResponse:
        found = self._find_channels(query)
        body: dict[str, Any] = {
            "kind": "youtube#channelListResponse",
            "etag": _etag("channels", sorted(query.items())),
            "pageInfo": {"totalResults": len(found), "resultsPerPage": 5},
        }
        if found:  # an unknown channel is a 200 with no `items` key at all
            body["items"] = [self._channel_item(c, parts) for c in found]
        return HttpResponse.json(200, body)

    def _channel_item(self, channel: _Channel, parts: set[str]) -> dict[str, Any]:
        account = channel.snap.account
        item: dict[str, Any] = {
            "kind": "youtube#channel",
            "etag": _etag("channel", channel.id),
            "id": channel.id,
        }
        if "snippet" in parts:
            snippet: dict[str, Any] = {
                "title": account.display_name or "",
                "description": account.description or "",
            }
            custom = channel.custom_url()
            if custom:
                snippet["customUrl"] = custom
            if account.created_at is not None:
                snippet["publishedAt"] = _time(account.created_at)
            snippet["thumbnails"] = {
                "default": {"url": f"https://yt3.ggpht.com/{channel.id}=s88", "width": 88}
            }
            snippet["localized"] = {
                "title": snippet["title"],
                "description": snippet["description"],
            }
            item["snippet"] = snippet
        if "contentDetails" in parts:
            item["contentDetails"] = {"relatedPlaylists": {"likes": "", "uploads": channel.uploads}}
        if "statistics" in parts:
            views = sum(p.views or 0 for p in channel.posts)
            stats: dict[str, Any] = {"viewCount": str(views)}
            if account.followers is None:
                stats["hiddenSubscriberCount"] = True
            else:
                stats["subscriberCount"] = str(account.followers)
                stats["hiddenSubscriberCount"] = False
            if account.post_count is not None:
                stats["videoCount"] = str(account.post_count)
            item["statistics"] = stats
        if "status" in parts:
            item["status"] = {
                "privacyStatus": "public",
                "isLinked": True,
                "longUploadsStatus": "longUploadsUnspecified",
            }
        return item

    # -- playlistItems.list --------------------------------------------------------------------

    def _playlist_items(self, query: Mapping[str, str], parts: set[str]) -> HttpResponse:
        size_text = query.get("maxResults", "5")
        if not size_text.isdigit() or int(size_text) > 50:
            return _bad_value("maxResults", size_text)
        size = int(size_text)
        channel = next(
            (c for c in self._channels.values() if c.uploads == query.get("playlistId")), None
        )
        if channel is None or not channel.slots:
            # The uploads playlist of a channel without uploads is answered like a missing one.
            message = (
                "The playlist identified with the request's <code>playlistId</code> parameter "
                "cannot be found."
            )
            missing = error_body(
                404,
                message,
                "playlistNotFound",
                "youtube.playlistItem",
                location="playlistId",
                locationType="parameter",
            )
            return HttpResponse.json(404, missing)
        offset = _offset(query.get("pageToken"))
        if offset is None or offset > len(channel.slots):
            message = "The request specifies an invalid page token."
            return HttpResponse.json(
                400, error_body(400, message, "invalidPageToken", "youtube.parameter")
            )
        page = channel.slots[offset : offset + size]
        body: dict[str, Any] = {
            "kind": "youtube#playlistItemListResponse",
            "etag": _etag("playlistItems", channel.id, offset, size),
        }
        if offset + size < len(channel.slots):
            body["nextPageToken"] = _token(offset + size)
        if offset > 0:
            body["prevPageToken"] = _token(max(0, offset - size))
        body["items"] = [
            self._playlist_item(channel, slot, offset + i, parts) for i, slot in enumerate(page)
        ]
        body["pageInfo"] = {"totalResults": len(channel.slots), "resultsPerPage": size}
        return HttpResponse.json(200, body)

    def _playlist_item(
        self, channel: _Channel, slot: _Slot, position: int, parts: set[str]
    ) -> dict[str, Any]:
        account = channel.snap.account
        item: dict[str, Any] = {
            "kind": "youtube#playlistItem",
            "etag": _etag("playlistItem", slot.video_id),
            "id": base64.b64encode(f"{channel.uploads}.{slot.video_id}".encode()).decode(),
        }
        post = slot.post
        if "snippet" in parts:
            if post is not None:
                snippet: dict[str, Any] = {
                    "publishedAt": _time(post.created_at),
                    "channelId": channel.id,
                    "title": post.title or "",
                    "description": post.text,
                    "thumbnails": _thumbnails(post.id),
                    "channelTitle": account.display_name or "",
                    "playlistId": channel.uploads,
                    "position": position,
                    "resourceId": {"kind": "youtube#video", "videoId": post.id},
                    "videoOwnerChannelTitle": account.display_name or "",
                    "videoOwnerChannelId": channel.id,
                }
            else:
                title, description = _UNAVAILABLE[position % 2]
                snippet = {
                    "publishedAt": _time(channel.posts[-1].created_at)
                    if channel.posts
                    else "2020-01-01T00:00:00Z",
                    "channelId": channel.id,
                    "title": title,
                    "description": description,
                    "thumbnails": {},
                    "channelTitle": account.display_name or "",
                    "playlistId": channel.uploads,
                    "position": position,
                    "resourceId": {"kind": "youtube#video", "videoId": slot.video_id},
                }
            item["snippet"] = snippet
        if "contentDetails" in parts:
            details: dict[str, Any] = {"videoId": slot.video_id}
            if post is not None:
                details["videoPublishedAt"] = _time(post.created_at)
            item["contentDetails"] = details
        if "status" in parts:
            item["status"] = {"privacyStatus": "public" if post is not None else "private"}
        return item

    # -- videos.list ---------------------------------------------------------------------------

    def _videos_list(self, query: Mapping[str, str], parts: set[str]) -> HttpResponse:
        ids = [i for i in query.get("id", "").split(",") if i]
        if len(ids) > 50:
            message = "The request specifies more than 50 video ids."
            return HttpResponse.json(400, error_body(400, message, "invalidVideoId", "youtube"))
        items = [self._video_item(*self._videos[i], parts=parts) for i in ids if i in self._videos]
        body = {
            "kind": "youtube#videoListResponse",
            "etag": _etag("videos", ids),
            "items": items,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        }
        return HttpResponse.json(200, body)

    def _video_item(self, channel: _Channel, post: Post, *, parts: set[str]) -> dict[str, Any]:
        account = channel.snap.account
        item: dict[str, Any] = {"kind": "youtube#video", "etag": _etag("video", post.id)}
        item["id"] = post.id
        if "snippet" in parts:
            item["snippet"] = {
                "publishedAt": _time(post.created_at),
                "channelId": channel.id,
                "title": post.title or "",
                "description": post.text,
                "thumbnails": _thumbnails(post.id),
                "channelTitle": account.display_name or "",
                "categoryId": "22",
                "liveBroadcastContent": "none",
                "localized": {"title": post.title or "", "description": post.text},
            }
        if "contentDetails" in parts:
            item["contentDetails"] = {
                "duration": "PT3M12S",
                "dimension": "2d",
                "definition": "hd",
                "caption": "false",
                "licensedContent": False,
                "contentRating": {},
                "projection": "rectangular",
            }
        if "status" in parts:
            item["status"] = {
                "uploadStatus": "processed",
                "privacyStatus": "public",
                "license": "youtube",
                "embeddable": True,
                "publicStatsViewable": True,
                "madeForKids": False,
            }
        if "statistics" in parts:
            stats: dict[str, str] = {}
            if post.views is not None:
                stats["viewCount"] = str(post.views)
            if post.likes is not None:  # absent when the owner hides likes
                stats["likeCount"] = str(post.likes)
            stats["favoriteCount"] = "0"
            if post.reply_policy is not ReplyPolicy.DISABLED and post.replies is not None:
                stats["commentCount"] = str(post.replies)  # absent when comments are off
            item["statistics"] = stats
        return item

    # -- commentThreads.list -------------------------------------------------------------------

    def _comment_threads(self, query: Mapping[str, str], parts: set[str]) -> HttpResponse:
        video_id = query.get("videoId", "")
        size_text = query.get("maxResults", "20")
        if not size_text.isdigit() or not 1 <= int(size_text) <= 100:
            return _bad_value("maxResults", size_text)
        if video_id not in self._videos:
            message = (
                "The video identified by the <code>videoId</code> parameter could not be found."
            )
            body = error_body(
                404,
                message,
                "videoNotFound",
                "youtube.commentThread",
                location="videoId",
                locationType="parameter",
            )
            return HttpResponse.json(404, body)
        channel, post = self._videos[video_id]
        sample = channel.samples.get(video_id)
        if post.reply_policy is ReplyPolicy.DISABLED or (sample and sample.comments_disabled):
            message = (
                'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/'
                'list#videoId">videoId</a></code> parameter has disabled comments.'
            )
            body = error_body(
                403,
                message,
                "commentsDisabled",
                "youtube.commentThread",
                location="videoId",
                locationType="parameter",
            )
            return HttpResponse.json(403, body)
        if sample is not None:
            total, answered = sample.threads_seen, sample.threads_answered or 0
        else:  # no sample recorded: as many threads as comments, none answered
            total, answered = post.replies or 0, 0
        size = int(size_text)
        offset = _offset(query.get("pageToken")) or 0
        page = range(offset, min(total, offset + size))
        body = {
            "kind": "youtube#commentThreadListResponse",
            "etag": _etag("commentThreads", video_id, offset),
        }
        if offset + size < total:
            body["nextPageToken"] = _token(offset + size)
        body["pageInfo"] = {"totalResults": len(page), "resultsPerPage": size}
        body["items"] = [
            self._thread(channel, post, i, answered=i < answered, parts=parts) for i in page
        ]
        return HttpResponse.json(200, body)

    def _comment(
        self, channel: _Channel, post: Post, comment_id: str, author: str, name: str, text: str
    ) -> dict[str, Any]:
        when = _time(post.created_at)
        return {
            "kind": "youtube#comment",
            "etag": _etag("comment", comment_id),
            "id": comment_id,
            "snippet": {
                "channelId": channel.id,
                "videoId": post.id,
                "textDisplay": text,
                "textOriginal": text,
                "authorDisplayName": name,
                "authorProfileImageUrl": f"https://yt3.ggpht.com/{author}=s48",
                "authorChannelUrl": f"http://www.youtube.com/channel/{author}",
                "authorChannelId": {"value": author},
                "canRate": True,
                "viewerRating": "none",
                "likeCount": 0,
                "publishedAt": when,
                "updatedAt": when,
            },
        }

    def _thread(
        self, channel: _Channel, post: Post, index: int, *, answered: bool, parts: set[str]
    ) -> dict[str, Any]:
        thread_id = f"Ug{_etag('thread', post.id, index)[:20]}4AaABAg"
        fan = _fan_channel(f"{post.id}:{index}")
        top = self._comment(channel, post, thread_id, fan, f"@viewer{index}", "Love this!")
        replies: list[dict[str, Any]] = []
        if answered:
            owner = channel.snap.account.display_name or "owner"
            replies.append(
                self._comment(
                    channel, post, f"{thread_id}.r0", channel.id, owner, "Thanks for watching!"
                )
            )
            replies[-1]["snippet"]["parentId"] = thread_id
        elif index % 3 == 1:  # other viewers talk among themselves; that is not an answer
            other = _fan_channel(f"{post.id}:{index}:reply")
            replies.append(self._comment(channel, post, f"{thread_id}.r0", other, "@fan", "+1"))
            replies[-1]["snippet"]["parentId"] = thread_id
        item: dict[str, Any] = {
            "kind": "youtube#commentThread",
            "etag": _etag("commentThread", thread_id),
            "id": thread_id,
            "snippet": {
                "channelId": channel.id,
                "videoId": post.id,
                "topLevelComment": top,
                "canReply": True,
                "totalReplyCount": len(replies),
                "isPublic": True,
            },
        }
        if replies and "replies" in parts:
            item["replies"] = {"comments": replies}
        return item

"""YouTube Data API v3 connector: a channel and its recent uploads at the floor quota cost."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from googleapiclient.discovery import build as build_service
from googleapiclient.errors import HttpError
from googleapiclient.model import JsonModel

from analyser.config import Settings
from analyser.errors import (
    ApiError,
    AuthError,
    DataError,
    MalformedBodyError,
    QuotaExceededError,
    RateLimitError,
    TransientError,
    UptakeError,
)
from analyser.handles import Handle
from analyser.models import (
    Account,
    AccountSnapshot,
    AccountStatus,
    Platform,
    Post,
    ReplyPolicy,
    ThreadSample,
)
from connectors.base import Cost, Gate, Meter, RetryPolicy, call_with_retry
from connectors.replay import Seam, httplib2_http

__all__ = [
    "CHANNEL_PARTS",
    "KEY_VAR",
    "PAGE_SIZE",
    "QUOTA_COSTS",
    "THREAD_PAGE_SIZE",
    "VIDEO_PARTS",
    "YouTubeConnector",
    "build",
    "planned_cost",
]

KEY_VAR = "UPTAKE_YOUTUBE_API_KEY"

# Documented quota cost of each method (developers.google.com/youtube/v3/determine_quota_cost).
# Every request is charged, failed ones included, so every attempt is metered.
QUOTA_COSTS: Mapping[str, int] = {
    "channels.list": 1,
    "playlistItems.list": 1,
    "videos.list": 1,
    "commentThreads.list": 1,
    "search.list": 100,  # listed so nobody reaches for it thinking it is cheap; never called
}

PAGE_SIZE = 50  # playlistItems.list maxResults and videos.list ids per call: the API maximum
THREAD_PAGE_SIZE = 100  # commentThreads.list maxResults maximum
CHANNEL_PARTS = "snippet,statistics,contentDetails,status"
VIDEO_PARTS = "snippet,statistics,status,contentDetails"
PLAYLIST_PARTS = "contentDetails"  # the video id and its publish time are all we need here

# A key is still required by the client; offline seams never send it anywhere real.
_OFFLINE_KEY = "uptake-offline-no-key"

_AUTH_REASONS = frozenset(
    {
        "keyInvalid",
        "keyExpired",
        "forbidden",
        "accessNotConfigured",
        "ipRefererBlocked",
        "SERVICE_DISABLED",
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_INVALID",
    }
)
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_HASHTAG = re.compile(r"(?<![\w&])#(\w{2,100})")
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.\-]{3,30})")
_LINK = re.compile(r"https?://[^\s<>\"')\]]+")


def planned_cost(max_posts: int, settings: Settings) -> Cost:
    """Upper bound for one channel: 1 (channels.list) + 2 per 50 videos + the comment sample.

    >>> planned_cost(120, Settings(youtube_comment_sample=10)).quota_units
    17
    """
    return _planned(max_posts, settings.youtube_comment_sample)


def _planned(max_posts: int, comment_sample: int) -> Cost:
    n = max(0, max_posts)
    units = QUOTA_COSTS["channels.list"]
    units += math.ceil(n / PAGE_SIZE) * (
        QUOTA_COSTS["playlistItems.list"] + QUOTA_COSTS["videos.list"]
    )
    units += min(max(0, comment_sample), n) * QUOTA_COSTS["commentThreads.list"]
    # Every method we call costs one unit, so requests and units coincide.
    return Cost(requests=units, quota_units=units)


def build(
    settings: Settings, seam: Seam, *, policy: RetryPolicy, gate: Gate | None = None
) -> YouTubeConnector:
    """The connector over google-api-python-client, its HTTP going through `seam`.

    The bundled discovery document is used (no network at start-up). Live and recording seams
    need UPTAKE_YOUTUBE_API_KEY; offline seams send a placeholder instead of the real key.
    """
    key = _OFFLINE_KEY if seam.offline else settings.credential("youtube")
    service = build_service(
        "youtube",
        "v3",
        http=httplib2_http(seam, timeout=settings.http_timeout_s),
        developerKey=key,
        model=_StrictJsonModel(),
        client_options={"api_endpoint": settings.youtube_base_url},
        static_discovery=True,
        cache_discovery=False,
    )
    return YouTubeConnector(
        service,
        policy=policy,
        gate=gate if gate is not None else Gate(),
        comment_sample=settings.youtube_comment_sample,
    )


class _NotJsonError(ValueError):
    """A 2xx body that does not parse as JSON (raised inside request.execute())."""


class _StrictJsonModel(JsonModel):  # type: ignore[misc]  # googleapiclient has no type hints
    """The client's JSON model, except that a 2xx body that is not JSON raises instead of being
    handed back as a string (which looks just like a JSON string literal): a body that is not
    JSON is retried, a JSON body of the wrong shape is not."""

    def __init__(self) -> None:
        super().__init__(data_wrapper=False)

    def deserialize(self, content: bytes | str) -> Any:
        try:
            text = content.decode("utf-8") if isinstance(content, bytes) else content
            return json.loads(text)
        except ValueError as exc:  # JSONDecodeError, or UnicodeDecodeError of a cut-off body
            raise _NotJsonError(str(exc)) from None


class YouTubeConnector:
    """Reads a channel, its uploads and a sample of comment threads; never calls search.list.

    For N uploads read the cost is exactly 1 + 2 x ceil(N/50) units, plus one unit per sampled
    video (the `comment_sample` most recent videos with comments on and at least one comment).
    """

    platform: ClassVar[Platform] = Platform.YOUTUBE

    def __init__(
        self,
        service: Any,
        *,
        policy: RetryPolicy,
        gate: Gate,
        comment_sample: int = 10,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._yt = service
        self._policy = policy
        self._gate = gate
        self._comment_sample = max(0, comment_sample)
        self._clock = clock
        self._lock = threading.Lock()
        self._spent = Cost()
        self._resources: dict[str, Any] = {}

    def _resource(self, name: str) -> Any:
        """`service.videos()` and the like, built once: googleapiclient builds every method of
        a resource anew on each call, some 5% of a batch's CPU. Workers share the result (its
        methods only build requests; the HTTP object under them is per thread)."""
        found = self._resources.get(name)
        if found is None:
            found = self._resources[name] = getattr(self._yt, name)()
        return found

    @property
    def spent(self) -> Cost:
        """Everything this connector has spent so far, failed accounts included (run totals)."""
        with self._lock:
            return self._spent

    def planned_cost(self, max_posts: int) -> Cost:
        return _planned(max_posts, self._comment_sample)

    def fetch(
        self,
        handle: Handle,
        *,
        max_posts: int,
        since: datetime | None = None,
        meter: Meter | None = None,
    ) -> AccountSnapshot:
        """Fetch one channel. Unknown channels come back with status not_found.

        Raises QuotaExceededError (and marks the gate, so the rest of the run spends nothing
        more on YouTube), AuthError, RateLimitError/TransientError after bounded retries (a
        body that is not JSON at all is a TransientError, MalformedBodyError, and retried too),
        and DataError for JSON bodies we cannot use.
        """
        meter = meter if meter is not None else Meter()
        try:
            return _Fetch(self, meter, handle, max_posts=max_posts, since=since).run()
        finally:
            with self._lock:
                self._spent = self._spent + meter.cost()

    # -- one metered, retried, error-mapped API call ------------------------------------------

    def _call(self, method: str, meter: Meter, request: Any) -> dict[str, Any]:
        """Execute a googleapiclient request (re-executable, so retries resend it)."""
        units = QUOTA_COSTS[method]

        def attempt() -> dict[str, Any]:
            if self._gate.exhausted is not None:
                raise QuotaExceededError(self._gate.exhausted)
            meter.request(units=units)
            try:
                body = request.execute(num_retries=0)
            except HttpError as exc:
                raise _map_http_error(method, exc, self._gate) from None
            except _NotJsonError as exc:  # a 2xx body that is not JSON at all
                # Usually cut short on the way (gateway, dropped connection): retried.
                raise MalformedBodyError(
                    f"YouTube {method} answered with malformed JSON, not JSON at all: {exc}"
                ) from None
            except ValueError as exc:  # anything else the client could not read: not retried
                raise DataError(
                    f"YouTube {method} answered with an unreadable body: {exc}"
                ) from None
            if not isinstance(body, dict):
                raise DataError(f"YouTube {method} answered with a non-object body")
            return body

        return call_with_retry(attempt, self._policy, gate=self._gate)


class _CommentsDisabledError(ApiError):
    """commentThreads.list said 403 commentsDisabled: a signal for that video, not a failure."""


class _CommentsUnreadableError(ApiError):
    """commentThreads.list refused one video for another reason: that sample is unknown."""


class _NotFoundError(ApiError):
    """404 for a playlist or video (e.g. the uploads playlist of a channel with no uploads)."""


def _error_info(exc: HttpError) -> tuple[str | None, str, frozenset[str]]:
    """(reason, message, every reason named) from the error body.

    The reason is read from the body's `errors` list, not from HttpError.error_details, which
    holds google.rpc `details` instead whenever Google adds them.
    """
    try:
        error = json.loads(exc.content)["error"]
        errors = [e for e in error.get("errors") or [] if isinstance(e, dict)]
        details = [d for d in error.get("details") or [] if isinstance(d, dict)]
        named = {str(e["reason"]) for e in errors + details if e.get("reason")}
        reason = str(errors[0]["reason"]) if errors and errors[0].get("reason") else None
        if reason is None and error.get("status"):
            reason = str(error["status"])
        return reason, str(error.get("message") or ""), frozenset(named)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, "", frozenset()


def _retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after") if exc.resp is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _map_http_error(method: str, exc: HttpError, gate: Gate) -> UptakeError:
    """One table from HTTP outcome to what the caller should do (see docs/youtube.md)."""
    status = int(exc.status_code or 0)
    reason, message, named = _error_info(exc)
    what = f"YouTube {method} answered HTTP {status}" + (f" ({reason})" if reason else "")
    if named & _QUOTA_REASONS:
        text = (
            "YouTube daily API quota is exhausted (quotaExceeded): no more YouTube requests "
            "this run; the quota resets at midnight Pacific time, or ask for more in the Google "
            "Cloud console"
        )
        gate.mark_exhausted(text)
        return QuotaExceededError(text)
    if reason == "commentsDisabled":
        return _CommentsDisabledError(what)
    if named & _RATE_REASONS or status == 429:
        return RateLimitError(f"{what}: backing off", retry_after=_retry_after(exc))
    if status >= 500:
        return TransientError(f"{what}: server error")
    if named & {"accessNotConfigured", "SERVICE_DISABLED"}:
        return AuthError(
            f"{what}: the YouTube Data API v3 is not enabled for the Google Cloud project of "
            f"{KEY_VAR}; enable it in the console and retry"
        )
    bad_key = status == 400 and reason == "badRequest" and "api key" in message.lower()
    if named & _AUTH_REASONS or bad_key or status == 401:
        return AuthError(f"{what}: check {KEY_VAR} (a valid key allowed to call YouTube Data v3)")
    if status == 403 and method == "commentThreads.list":
        # The key already worked for channels.list: this video's comments are closed to us.
        return _CommentsUnreadableError(what)
    if status == 403:
        return AuthError(f"{what}: check {KEY_VAR} (a valid key allowed to call YouTube Data v3)")
    if status == 404:
        return _NotFoundError(what)
    return ApiError(f"{what}: giving up on this account")


class _Fetch:
    """The state of one account fetch: the calls in order, each metered on `meter`."""

    def __init__(
        self,
        owner: YouTubeConnector,
        meter: Meter,
        handle: Handle,
        *,
        max_posts: int,
        since: datetime | None,
    ) -> None:
        self.owner = owner
        self.meter = meter
        self.handle = handle
        self.max_posts = max(0, max_posts)
        self.since = since
        self.notes: list[str] = []

    def call(self, method: str, request: Any) -> dict[str, Any]:
        return self.owner._call(method, self.meter, request)

    def run(self) -> AccountSnapshot:
        if self.owner._gate.exhausted is not None:
            raise QuotaExceededError(self.owner._gate.exhausted)
        channel = self.resolve()
        fetched_at = self.owner._clock()
        if channel is None:
            account = Account(
                platform=Platform.YOUTUBE,
                handle=self.handle.value,
                status=AccountStatus.NOT_FOUND,
                status_detail=f"no YouTube channel for {self.handle.raw!r}",
            )
            return self.snapshot(account, (), (), 0, fetched_at)
        try:
            account = _account(channel, self.handle)
            uploads = _get(channel, "contentDetails", "relatedPlaylists", "uploads")
            video_count = account.post_count
            if not isinstance(uploads, str) or not uploads:
                self.notes.append("channel has no uploads playlist")
                uploads = None
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"YouTube channels.list item is malformed: {exc}") from None
        posts: list[Post] = []
        skipped = 0
        # videoCount 0 means nothing to list: reading the playlist would spend a unit for
        # nothing (and the uploads playlist of an empty channel answers 404).
        if uploads is not None and self.max_posts > 0 and video_count != 0:
            posts, skipped = self.uploads(uploads, channel_title=account.display_name)
        samples = self.thread_samples(posts, str(account.id))
        return self.snapshot(account, posts, samples, skipped, fetched_at)

    def snapshot(
        self,
        account: Account,
        posts: Sequence[Post],
        samples: Sequence[ThreadSample],
        skipped: int,
        fetched_at: datetime,
    ) -> AccountSnapshot:
        oldest = min((p.created_at for p in posts), default=None)
        return AccountSnapshot(
            account=account,
            posts=tuple(posts),
            thread_samples=tuple(samples),
            fetched_at=fetched_at,
            window_start=self.since or oldest,
            window_end=fetched_at,
            requests=self.meter.requests,
            quota_units=self.meter.quota_units,
            skipped_items=skipped,
            notes=tuple(self.notes),
        )

    # -- channels.list -------------------------------------------------------------------------

    def resolve(self) -> dict[str, Any] | None:
        """channels.list by the filter the handle kind calls for; None when nothing matches."""
        kind, value = self.handle.kind, self.handle.value
        if kind == "channel_id":
            filters = [{"id": value}]
        elif kind == "username":
            filters = [{"forUsername": value}]
        elif kind == "handle":
            filters = [{"forHandle": value}]
        else:  # "name" and "custom": a bare word may be a handle or a legacy username
            filters = [{"forHandle": value}, {"forUsername": value}]
        for params in filters:
            body = self.call(
                "channels.list",
                self.owner._resource("channels").list(part=CHANNEL_PARTS, **params),
            )
            items = body.get("items") or []
            if not isinstance(items, list):
                raise DataError("YouTube channels.list `items` is not a list")
            if items:
                if not isinstance(items[0], dict) or not items[0].get("id"):
                    raise DataError("YouTube channels.list item has no id")
                return items[0]
        return None

    # -- playlistItems.list + videos.list ------------------------------------------------------

    def uploads(self, playlist_id: str, *, channel_title: str | None) -> tuple[list[Post], int]:
        """Page the uploads playlist 50 at a time; one videos.list call per page of ids."""
        posts: list[Post] = []
        skipped = 0
        read = 0
        token: str | None = None
        while read < self.max_posts:
            size = min(PAGE_SIZE, self.max_posts - read)
            try:
                page = self.call(
                    "playlistItems.list",
                    self.owner._resource("playlistItems").list(
                        part=PLAYLIST_PARTS,
                        playlistId=playlist_id,
                        maxResults=size,
                        pageToken=token,
                    ),
                )
            except _NotFoundError:
                self.notes.append("uploads playlist not found (channel without public uploads)")
                break
            ids, reached_since = self._page_ids(page, size)
            read += len(ids)
            if ids:
                found = self.videos(ids)
                skipped += len(ids) - len(found)
                posts.extend(found)
            token = page.get("nextPageToken")
            if not token or not ids or reached_since:
                break
        return posts, skipped

    def _page_ids(self, page: Mapping[str, Any], size: int) -> tuple[list[str], bool]:
        items = page.get("items") or []
        if not isinstance(items, list):
            raise DataError("YouTube playlistItems.list `items` is not a list")
        ids: list[str] = []
        for item in items[:size]:
            video_id = _get(item, "contentDetails", "videoId") or _get(
                item, "snippet", "resourceId", "videoId"
            )
            if not isinstance(video_id, str) or not video_id:
                raise DataError("YouTube playlistItems.list item has no video id")
            published = _get(item, "contentDetails", "videoPublishedAt")
            # Uploads are listed newest first: the first one older than `since` ends the walk.
            if (
                self.since is not None
                and isinstance(published, str)
                and _parse_time(published) < self.since
            ):
                return ids, True
            ids.append(video_id)
        return ids, False

    def videos(self, ids: Sequence[str]) -> list[Post]:
        """Details of up to 50 videos in one unit; private and deleted ids come back absent."""
        body = self.call(
            "videos.list",
            self.owner._resource("videos").list(part=VIDEO_PARTS, id=",".join(ids[:PAGE_SIZE])),
        )
        items = body.get("items") or []
        if not isinstance(items, list):
            raise DataError("YouTube videos.list `items` is not a list")
        posts: list[Post] = []
        for item in items:
            try:
                post = _post(item)
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"YouTube videos.list item is malformed: {exc}") from None
            if post is None:
                continue
            if self.since is not None and post.created_at < self.since:
                continue
            posts.append(post)
        return posts

    # -- commentThreads.list -------------------------------------------------------------------

    def thread_samples(self, posts: Sequence[Post], channel_id: str) -> list[ThreadSample]:
        """One page of threads on each of the most recent videos that have comments on and at
        least one comment (a video with zero comments would spend a unit to learn nothing)."""
        chosen = [
            p
            for p in sorted(posts, key=lambda p: p.created_at, reverse=True)
            if p.reply_policy is ReplyPolicy.OPEN and (p.replies or 0) > 0
        ][: self.owner._comment_sample]
        samples: list[ThreadSample] = []
        for post in chosen:
            try:
                body = self.call(
                    "commentThreads.list",
                    self.owner._resource("commentThreads").list(
                        part="snippet,replies",
                        videoId=post.id,
                        maxResults=THREAD_PAGE_SIZE,
                        textFormat="plainText",
                    ),
                )
            except _CommentsDisabledError:
                samples.append(
                    ThreadSample(post_id=post.id, threads_seen=0, comments_disabled=True)
                )
                continue
            except _CommentsUnreadableError as exc:
                samples.append(ThreadSample(post_id=post.id, threads_seen=0, reason=exc.message))
                continue
            except _NotFoundError:
                self.notes.append(f"video {post.id} vanished before its comments were read")
                continue
            samples.append(_thread_sample(post.id, body, channel_id))
        return samples


# -- parsing: raw API fields stop here ---------------------------------------------------------


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _count(value: Any) -> int | None:
    """YouTube sends counts as uint64 strings; absent means hidden or not exposed (None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"count is a boolean: {value!r}")
    return int(value)


def _account(item: Mapping[str, Any], handle: Handle) -> Account:
    channel_id = str(item["id"])
    snippet = item.get("snippet") or {}
    stats = item.get("statistics") or {}
    custom = snippet.get("customUrl")
    if isinstance(custom, str) and custom.startswith("@"):
        url = f"https://www.youtube.com/{custom}"
    else:
        url = f"https://www.youtube.com/channel/{channel_id}"
    hidden = stats.get("hiddenSubscriberCount") is True
    published = snippet.get("publishedAt")
    return Account(
        platform=Platform.YOUTUBE,
        handle=handle.value,
        status=AccountStatus.FOUND,
        id=channel_id,
        display_name=snippet.get("title"),
        url=url,
        created_at=_parse_time(published) if isinstance(published, str) else None,
        followers=None if hidden else _count(stats.get("subscriberCount")),
        following=None,  # YouTube does not expose a channel's subscriptions count
        post_count=_count(stats.get("videoCount")),
        description=snippet.get("description") or None,
    )


def _post(item: Mapping[str, Any]) -> Post | None:
    """A public video as a Post, or None for one that is private or otherwise not viewable."""
    video_id = str(item["id"])
    status = item.get("status")
    if isinstance(status, Mapping) and status.get("privacyStatus") == "private":
        return None
    snippet = item["snippet"]
    stats = item.get("statistics")
    title = str(snippet.get("title") or "")
    description = str(snippet.get("description") or "")
    if isinstance(stats, Mapping):
        comments = _count(stats.get("commentCount"))
        # commentCount is absent exactly when comments are turned off on the video.
        policy: ReplyPolicy | None = ReplyPolicy.DISABLED if comments is None else ReplyPolicy.OPEN
        likes = _count(stats.get("likeCount"))  # absent when the owner hides likes
        views = _count(stats.get("viewCount"))
    else:  # statistics part not returned: nothing is known, nothing is guessed
        comments = likes = views = None
        policy = None
    text = f"{title}\n{description}"
    return Post(
        id=video_id,
        created_at=_parse_time(str(snippet["publishedAt"])),
        text=description,
        title=title,
        url=f"https://www.youtube.com/watch?v={video_id}",
        mentions=tuple(dict.fromkeys(_MENTION.findall(text))),
        hashtags=tuple(dict.fromkeys(_HASHTAG.findall(text))),
        links=tuple(dict.fromkeys(_LINK.findall(description))),
        likes=likes,
        replies=comments,
        views=views,
        reply_policy=policy,
    )


def _thread_sample(video_id: str, body: Mapping[str, Any], channel_id: str) -> ThreadSample:
    """Threads started by others, and how many of them carry a visible reply by the channel.

    Threads the channel started itself are left out: they are not a commenter being answered.
    Only the replies embedded in the thread are visible, so `threads_answered` is a lower bound.
    """
    items = body.get("items") or []
    if not isinstance(items, list):
        raise DataError("YouTube commentThreads.list `items` is not a list")
    seen = answered = 0
    try:
        for thread in items:
            top = _get(thread, "snippet", "topLevelComment", "snippet", "authorChannelId", "value")
            if top == channel_id:
                continue
            seen += 1
            replies = _get(thread, "replies", "comments") or []
            if any(
                _get(reply, "snippet", "authorChannelId", "value") == channel_id
                for reply in replies
            ):
                answered += 1
    except TypeError as exc:
        raise DataError(f"YouTube commentThreads.list item is malformed: {exc}") from None
    return ThreadSample(post_id=video_id, threads_seen=seen, threads_answered=answered)

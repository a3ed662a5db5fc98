"""Facebook Pages through the Graph API over httpx: page fields, posts, visible comment threads."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from analyser.config import Settings
from analyser.errors import AuthError, DataError, TransientError
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
from connectors._graph import (
    PPCA,
    GraphUsage,
    PageMissing,
    as_int,
    parse_response,
    parse_usage,
)
from connectors.base import Cost, Gate, Meter, RetryPolicy, call_with_retry
from connectors.replay import Seam, httpx_transport

__all__ = [
    "AUTHORS_WITHHELD",
    "COMMENT_FIELDS",
    "MAX_PAGE_SIZE",
    "NEAR_LIMIT_HOLD_S",
    "NEAR_LIMIT_PCT",
    "PAGE_FIELDS",
    "REPLY_SAMPLE",
    "FacebookConnector",
    "GraphUsage",
    "build",
    "parse_usage",
    "planned_cost",
    "post_fields",
]

PAGE_FIELDS = "id,name,username,fan_count,followers_count,link,category,about"
MAX_PAGE_SIZE = 100  # Graph refuses a larger `limit` on the posts edge
REPLY_SAMPLE = 5  # replies read under each sampled comment, to find the page's answers
# The comments edge read for a post only when asked (UPTAKE_FACEBOOK_COMMENT_PAGES): top-level
# comments with up to 25 replies each, so a page answer deep in a thread is still seen.
COMMENT_FIELDS = "id,from,message,created_time,comments.limit(25){from,created_time}"
NEAR_LIMIT_PCT = 90.0  # usage header percentage at which we slow the whole platform down
NEAR_LIMIT_HOLD_S = 60.0  # pause when near the limit and Graph gives no regain estimate

AUTHORS_WITHHELD = "Graph withholds comment authors for pages you do not manage"
_PAGING_KEYS = ("after", "until", "__paging_token")
_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
_LINK = re.compile(r"https?://[^\s<>\"']+")


def post_fields(comment_sample: int) -> str:
    """The posts-edge field expansion: counts always, a comment sample with replies when asked.

    Comments come in Graph's default chronological order: the oldest comments on a post are the
    ones the page has had the most time to answer.
    """
    base = (
        "id,message,created_time,permalink_url,status_type,shares,"
        "reactions.limit(0).summary(total_count)"
    )
    if comment_sample <= 0:
        return base + ",comments.limit(0).summary(true)"
    return (
        base + f",comments.limit({comment_sample}).summary(true)"
        f"{{id,from,created_time,comment_count,comments.limit({REPLY_SAMPLE}){{id,from,created_time}}}}"
    )


def planned_cost(max_posts: int, settings: Settings | None = None) -> Cost:
    """One page request, one posts request per 100 posts (the comment sample rides along inline),
    and one comments request for each of up to `facebook_comment_pages` posts.

    >>> planned_cost(250).requests
    4
    >>> planned_cost(250, Settings(facebook_comment_pages=5)).requests
    9
    """
    return _cost(max_posts, settings.facebook_comment_pages if settings is not None else 0)


def _cost(max_posts: int, comment_pages: int) -> Cost:
    posts = max(0, max_posts)
    return Cost(requests=1 + math.ceil(posts / MAX_PAGE_SIZE) + min(max(0, comment_pages), posts))


def build(
    settings: Settings, seam: Seam, *, policy: RetryPolicy, gate: Gate | None = None
) -> FacebookConnector:
    """The connector over `seam`. Live and recording seams need UPTAKE_FACEBOOK_ACCESS_TOKEN,
    sent as a Bearer header so it never appears in a URL; offline seams need no token."""
    headers = {"accept": "application/json"}
    if not seam.offline:
        headers["authorization"] = f"Bearer {settings.credential('facebook')}"
    client = httpx.Client(
        base_url=settings.facebook_base_url,
        transport=httpx_transport(seam, timeout=settings.http_timeout_s),
        timeout=settings.http_timeout_s,
        headers=headers,
    )
    return FacebookConnector(
        client,
        api_version=settings.facebook_api_version,
        comment_sample=settings.facebook_comment_sample,
        comment_pages=settings.facebook_comment_pages,
        policy=policy,
        gate=gate,
        timeout_s=settings.http_timeout_s,
    )


class FacebookConnector:
    """Reads one Page and its recent posts with the fewest requests Graph allows.

    Counts (reactions, comments, shares) and a small sample of comments with their replies come
    inline through field expansion, so N posts cost 1 + ceil(N/100) requests. Only when asked
    (`comment_pages` > 0) are the fuller comments of the most recent posts read, one request each.
    """

    platform: ClassVar[Platform] = Platform.FACEBOOK

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_version: str = "v26.0",
        comment_sample: int = 10,
        comment_pages: int = 0,
        policy: RetryPolicy | None = None,
        gate: Gate | None = None,
        timeout_s: float = 20.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._version = api_version.strip("/")
        self._comment_sample = comment_sample
        self._comment_pages = max(0, comment_pages)
        self._policy = policy or RetryPolicy()
        self._gate = gate
        self._timeout_s = timeout_s
        self._clock = clock

    def planned_cost(self, max_posts: int) -> Cost:
        return _cost(max_posts, self._comment_pages)

    def fetch(
        self,
        handle: Handle,
        *,
        max_posts: int,
        since: datetime | None = None,
        meter: Meter | None = None,
    ) -> AccountSnapshot:
        """The page and up to `max_posts` of its newest posts (at or after `since`).

        A page Graph does not know comes back with status not_found; auth, permission and
        exhausted rate limits raise.
        """
        meter = meter if meter is not None else Meter()
        notes: list[str] = []
        fetched_at = self._clock()
        try:
            page = self._get(
                f"/{self._version}/{handle.value}", {"fields": PAGE_FIELDS}, meter, notes
            )
        except PageMissing as missing:
            account = Account(
                platform=Platform.FACEBOOK,
                handle=handle.value,
                status=AccountStatus.NOT_FOUND,
                status_detail=missing.detail,
            )
            return AccountSnapshot(account=account, fetched_at=fetched_at, requests=meter.requests)
        account = self._account(handle, page, notes)
        assert account.id is not None
        posts, samples, visible, skipped = self._posts(account.id, max_posts, since, meter, notes)
        samples = self._fuller_samples(account.id, posts, samples, visible, meter, notes)
        window_start = since
        if window_start is None and posts:
            window_start = min(p.created_at for p in posts)
        return AccountSnapshot(
            account=account,
            posts=tuple(posts),
            thread_samples=tuple(samples),
            fetched_at=fetched_at,
            window_start=window_start,
            window_end=fetched_at,
            requests=meter.requests,
            skipped_items=skipped,
            notes=tuple(dict.fromkeys(notes)),
        )

    # -- requests ------------------------------------------------------------------------------

    def _get(
        self, path: str, params: dict[str, str], meter: Meter, notes: list[str]
    ) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            meter.request()
            try:
                response = self._client.get(path, params=params)
            except httpx.TimeoutException:
                raise TransientError(
                    f"Graph timed out after {self._timeout_s:.0f} s on GET {path}"
                ) from None
            except httpx.TransportError as exc:
                host = self._client.base_url.host or "the Graph host"
                raise TransientError(f"cannot reach {host}: {type(exc).__name__}") from None
            usage = parse_usage(response.headers)
            body = parse_response(response, path, usage)
            self._slow_down_if_near_limit(usage, notes)
            return body

        return call_with_retry(attempt, self._policy, gate=self._gate)

    def _slow_down_if_near_limit(self, usage: GraphUsage, notes: list[str]) -> None:
        """Hold every worker of this platform when Graph says the budget is nearly spent, so a
        batch does not walk into a block that lasts an hour."""
        if usage.max_pct is None or usage.max_pct < NEAR_LIMIT_PCT:
            return
        seconds = usage.regain_s or NEAR_LIMIT_HOLD_S
        if self._gate is not None:
            self._gate.hold(seconds)
        notes.append(
            f"Graph reported {usage.max_pct:.0f}% of the call budget used; "
            f"paused Facebook requests for {seconds:.0f} s"
        )

    # -- page ----------------------------------------------------------------------------------

    def _account(self, handle: Handle, page: dict[str, Any], notes: list[str]) -> Account:
        page_id = page.get("id")
        if not isinstance(page_id, str | int) or isinstance(page_id, bool) or not str(page_id):
            raise DataError(f"Graph returned page {handle.value!r} without an id")
        followers = _count(page.get("followers_count"))
        if followers is None:
            followers = _count(page.get("fan_count"))
            if followers is not None:
                notes.append("followers is the page's like count: Graph gave no followers_count")
        link = page.get("link")
        return Account(
            platform=Platform.FACEBOOK,
            handle=handle.value,
            status=AccountStatus.FOUND,
            id=str(page_id),
            display_name=_text(page.get("name")),
            url=link if isinstance(link, str) and link else f"https://www.facebook.com/{page_id}",
            followers=followers,
            description=_text(page.get("about")),
        )

    # -- posts ---------------------------------------------------------------------------------

    def _posts(
        self,
        page_id: str,
        max_posts: int,
        since: datetime | None,
        meter: Meter,
        notes: list[str],
    ) -> tuple[list[Post], list[ThreadSample], dict[str, int], int]:
        """The posts, their inline samples, how many comments each showed inline, and skips."""
        posts: list[Post] = []
        samples: list[ThreadSample] = []
        visible: dict[str, int] = {}
        skipped = 0
        seen: set[str] = set()
        if max_posts <= 0:
            return posts, samples, visible, skipped
        path = f"/{self._version}/{page_id}/posts"
        params = {"fields": post_fields(self._comment_sample)}
        if since is not None:
            params["since"] = str(int(since.timestamp()))
        # The request budget is fixed up front, so an endless or looping cursor cannot cost more.
        for _ in range(math.ceil(max_posts / MAX_PAGE_SIZE)):
            params["limit"] = str(min(MAX_PAGE_SIZE, max_posts - len(posts)))
            try:
                body = self._get(path, params, meter, notes)
            except PageMissing as missing:
                # The page itself was found a moment ago: this is a refusal, not an absence.
                raise AuthError(
                    f"Graph would not list the posts of page {page_id} ({missing.detail}): {PPCA}"
                ) from None
            items = body.get("data")
            if not isinstance(items, list):
                raise DataError(f"Graph answered GET {path} without a data list")
            reached_since = False
            for item in items:
                parsed = _post(item, page_id, self._comment_sample)
                if parsed is None:
                    skipped += 1
                    continue
                post, sample = parsed
                if post.id in seen:  # time-based paging can hand the same post out twice
                    continue
                seen.add(post.id)
                if since is not None and post.created_at < since:
                    reached_since = True
                    continue
                if len(posts) >= max_posts:
                    break
                posts.append(post)
                visible[post.id] = _visible_comments(item)
                if sample is not None:
                    samples.append(sample)
            if len(posts) >= max_posts or reached_since:
                break
            following = self._next_params(body.get("paging"), params, notes)
            if following is None:
                break
            params = following
        return posts, samples, visible, skipped

    # -- comments, only when asked -------------------------------------------------------------

    def _fuller_samples(
        self,
        page_id: str,
        posts: list[Post],
        samples: list[ThreadSample],
        visible: dict[str, int],
        meter: Meter,
        notes: list[str],
    ) -> list[ThreadSample]:
        """Rebuild the samples of the most recent posts whose inline comments fell short of the
        total, from one page of each one's comments edge.

        Each read costs a request, so it happens only for `comment_pages` posts, newest first,
        and only where Graph's total says there is more to see.
        """
        if self._comment_pages <= 0:
            return samples
        by_post = {s.post_id: s for s in samples}
        short = [p for p in posts if p.replies is not None and visible.get(p.id, 0) < p.replies]
        short.sort(key=lambda p: p.created_at, reverse=True)
        for post in short[: self._comment_pages]:
            comments = self._comment_page(post.id, meter, notes)
            if comments is None or len(comments) <= visible.get(post.id, 0):
                continue  # nothing fuller than what came inline
            disabled = post.reply_policy is ReplyPolicy.DISABLED
            sample = _thread_sample(post.id, {"data": comments}, page_id, disabled)
            if sample is not None:
                by_post[post.id] = sample
        return [by_post[p.id] for p in posts if p.id in by_post]

    def _comment_page(
        self, post_id: str, meter: Meter, notes: list[str]
    ) -> list[dict[str, Any]] | None:
        """The first page of a post's top-level comments; None when Graph will not list them.

        Errors follow the same Graph-code table as every other request. A post whose comments
        Graph calls missing (deleted since, or a video only admins may read) keeps its inline
        sample and the run goes on: the posts edge has already shown the token can read the page.
        """
        path = f"/{self._version}/{post_id}/comments"
        params = {"fields": COMMENT_FIELDS, "filter": "toplevel", "limit": str(MAX_PAGE_SIZE)}
        try:
            body = self._get(path, params, meter, notes)
        except PageMissing as missing:
            notes.append(f"Graph would not list the comments of post {post_id} ({missing.detail})")
            return None
        data = body.get("data")
        if not isinstance(data, list):
            raise DataError(f"Graph answered GET {path} without a data list")
        # One page each keeps the cost as planned. The continuation is still vetted by the rule
        # the posts edge uses, so a paging.next naming another host is reported, never contacted.
        self._next_params(body.get("paging"), params, notes)
        return [c for c in data if isinstance(c, dict)]

    def _next_params(
        self, paging: Any, params: dict[str, str], notes: list[str]
    ) -> dict[str, str] | None:
        """The parameters of the next page, always requested from OUR configured host.

        `paging.next` only says whether there is more: its URL is never fetched as given, and
        its query is used only when it names the configured Graph host, so a response cannot
        send the token anywhere else. The opaque `after` cursor is preferred.
        """
        if not isinstance(paging, dict):
            return None
        next_url = paging.get("next")
        if not isinstance(next_url, str) or not next_url:
            return None
        same_host = _same_origin(next_url, str(self._client.base_url))
        base = {k: v for k, v in params.items() if k not in _PAGING_KEYS}
        cursors = paging.get("cursors")
        after = cursors.get("after") if isinstance(cursors, dict) else None
        if isinstance(after, str) and after:
            return {**base, "after": after}
        if not same_host:
            notes.append(
                f"paging stopped: Graph's paging.next named another host "
                f"({urlsplit(next_url).hostname}), which was not contacted, and gave no cursor"
            )
            return None
        query = dict(parse_qsl(urlsplit(next_url).query, keep_blank_values=True))
        paging_params = {k: query[k] for k in _PAGING_KEYS if query.get(k)}
        if not paging_params:
            return None
        return {**base, **paging_params}


# -- parsing -----------------------------------------------------------------------------------


def _post(item: Any, page_id: str, comment_sample: int) -> tuple[Post, ThreadSample | None] | None:
    """One posts-edge item as a Post and, when comments are visible, its ThreadSample.

    None for an item without an id or a readable created_time (counted as skipped).
    """
    if not isinstance(item, dict):
        return None
    post_id = item.get("id")
    created = _graph_time(item.get("created_time"))
    if not isinstance(post_id, str) or not post_id or created is None:
        return None
    text = _text(item.get("message")) or ""
    comments = item.get("comments") if isinstance(item.get("comments"), dict) else None
    summary = comments.get("summary") if comments is not None else None
    summary = summary if isinstance(summary, dict) else {}
    can_comment = summary.get("can_comment")
    policy = None
    if can_comment is True:
        policy = ReplyPolicy.OPEN
    elif can_comment is False:
        policy = ReplyPolicy.DISABLED
    link = item.get("permalink_url")
    shares = item.get("shares")
    post = Post(
        id=post_id,
        created_at=created,
        text=text,
        url=link if isinstance(link, str) and link else None,
        hashtags=tuple(dict.fromkeys(_HASHTAG.findall(text))),
        links=tuple(dict.fromkeys(m.rstrip(".,;:!?)") for m in _LINK.findall(text))),
        likes=_summary_total(item.get("reactions")),
        # Graph omits `shares` both for none and when it will not say; its reference does not
        # define absence as zero, so an absent count stays unknown.
        reposts=_count(shares.get("count")) if isinstance(shares, dict) else None,
        # `comments.count` is the older shape of the same total, still seen in recordings.
        replies=_count(summary.get("total_count", comments.get("count") if comments else None)),
        reply_policy=policy,
    )
    sample = None
    if comment_sample > 0 and comments is not None:
        sample = _thread_sample(post_id, comments, page_id, policy is ReplyPolicy.DISABLED)
    return post, sample


def _thread_sample(
    post_id: str, comments: dict[str, Any], page_id: str, disabled: bool
) -> ThreadSample | None:
    """Threads the page answered among the visible top-level comments.

    A thread is answered when one of its visible replies comes from the page itself. When any
    visible comment lacks `from`, answers cannot be attributed: None with the reason, never 0.
    Comments the page wrote itself are not community threads and are not counted.
    """
    data = comments.get("data")
    top = [c for c in data if isinstance(c, dict)] if isinstance(data, list) else []
    if not top:
        if disabled:
            return ThreadSample(
                post_id=post_id, threads_seen=0, threads_answered=0, comments_disabled=True
            )
        return None
    replies = {id(c): _replies(c) for c in top}
    withheld = any(_author(c) is None for c in top) or any(
        _author(r) is None for rs in replies.values() for r in rs
    )
    if withheld:
        return ThreadSample(
            post_id=post_id,
            threads_seen=len(top),
            threads_answered=None,
            comments_disabled=disabled,
            reason=AUTHORS_WITHHELD,
        )
    community = [c for c in top if _author(c) != page_id]
    answered = sum(1 for c in community if any(_author(r) == page_id for r in replies[id(c)]))
    return ThreadSample(
        post_id=post_id,
        threads_seen=len(community),
        threads_answered=answered,
        comments_disabled=disabled,
    )


def _visible_comments(item: Any) -> int:
    """How many top-level comments a posts-edge item showed inline."""
    comments = item.get("comments") if isinstance(item, dict) else None
    data = comments.get("data") if isinstance(comments, dict) else None
    return sum(1 for c in data if isinstance(c, dict)) if isinstance(data, list) else 0


def _replies(comment: dict[str, Any]) -> list[dict[str, Any]]:
    nested = comment.get("comments")
    data = nested.get("data") if isinstance(nested, dict) else None
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def _author(comment: dict[str, Any]) -> str | None:
    author = comment.get("from")
    if isinstance(author, dict) and author.get("id") not in (None, ""):
        return str(author["id"])
    return None


def _summary_total(edge: Any) -> int | None:
    if not isinstance(edge, dict) or not isinstance(edge.get("summary"), dict):
        return None
    return _count(edge["summary"].get("total_count"))


def _graph_time(value: Any) -> datetime | None:
    """Graph's `2019-08-12T03:45:11+0000` as an aware UTC datetime (fromisoformat reads it
    some fifty times faster than strptime); None when it is not an aware timestamp."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _count(value: Any) -> int | None:
    number = as_int(value)
    return number if number is not None and number >= 0 else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port or _default_port(a.scheme)) == (
        b.scheme,
        b.hostname,
        b.port or _default_port(b.scheme),
    )


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme)

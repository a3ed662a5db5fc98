"""X/Twitter connector: API v2 through tweepy, mapped to platform-neutral account snapshots."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests
import tweepy

from analyser.config import Settings
from analyser.errors import (
    ApiError,
    AuthError,
    BadInputError,
    DataError,
    MalformedBodyError,
    QuotaExceededError,
    RateLimitError,
    TransientError,
    UptakeError,
    redact,
)
from analyser.handles import Handle
from analyser.models import (
    Account,
    AccountSnapshot,
    AccountStatus,
    Platform,
    Post,
    PostKind,
    ReplyPolicy,
)
from connectors.base import Cost, Gate, Meter, RetryPolicy, call_with_retry
from connectors.replay import Seam, requests_adapter

__all__ = [
    "DEFAULT_MAX_POSTS",
    "DEFAULT_RATE_LIMIT_WAIT_S",
    "EXPANSIONS",
    "MAX_TIMELINE_POSTS",
    "PRICE_PER_POST_READ_USD",
    "PRICE_PER_USER_READ_USD",
    "PROTECTED_DETAIL",
    "TWEET_FIELDS",
    "TWITTER_HOST",
    "USER_FIELDS",
    "TwitterConnector",
    "build",
    "estimated_usd",
    "page_sizes",
    "planned_cost",
]

# tweepy builds every URL as "https://api.twitter.com" + route; the base-URL override and the
# record/replay seam hang off an adapter mounted for this prefix.
TWITTER_HOST = "https://api.twitter.com"
# Sent instead of a credential when the seam never touches the network (replay, simulated API).
OFFLINE_TOKEN = "offline-no-credential"

DEFAULT_MAX_POSTS = 200
MAX_TIMELINE_POSTS = 3200  # GET /2/users/:id/tweets serves only the 3,200 most recent posts
PAGE_MIN, PAGE_MAX = 5, 100  # max_results bounds of the timeline endpoint

# Pay-per-use read prices of the X API (api-facts A, "Design takeaways"); budgets, not invoices.
PRICE_PER_POST_READ_USD = 0.005
PRICE_PER_USER_READ_USD = 0.01

# A 429 without x-rate-limit-reset: wait this long (bounded) rather than retrying at once.
DEFAULT_RATE_LIMIT_WAIT_S = 60.0

PROTECTED_DETAIL = "protected account: its posts are visible to approved followers only"

USER_FIELDS = (
    "created_at",
    "description",
    "entities",
    "protected",
    "public_metrics",
    "url",
    "verified",
)
TWEET_FIELDS = (
    "author_id",
    "conversation_id",
    "created_at",
    "entities",
    "in_reply_to_user_id",
    "lang",
    "note_tweet",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
)
# includes.tweets carries the referenced posts with their author_id: who the brand reposts,
# quotes and answers ("reposts/quotes of community members").
EXPANSIONS = ("referenced_tweets.id",)

_PROBLEM = "https://api.twitter.com/2/problems/"
# Twitter snowflake ids carry their creation time: milliseconds since this epoch, shifted by 22.
_SNOWFLAKE_EPOCH_MS = 1288834974657
_MIN_SNOWFLAKE = 1 << 32


class TwitterConnector:
    """Reads one X account and its recent posts through an injected `tweepy.Client`.

    The client must return plain dicts (`return_type=dict`) and must not wait on rate limits
    itself: tweepy's own wait retries at once, without end, when the reset header is missing.
    """

    platform: ClassVar[Platform] = Platform.TWITTER

    def __init__(
        self,
        client: Any,
        *,
        policy: RetryPolicy | None = None,
        gate: Gate | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if getattr(client, "return_type", None) is not dict:
            raise ValueError("TwitterConnector needs tweepy.Client(return_type=dict)")
        if getattr(client, "wait_on_rate_limit", False):
            raise ValueError("TwitterConnector needs tweepy.Client(wait_on_rate_limit=False)")
        self._client = client
        self._policy = policy or RetryPolicy()
        self._gate = gate
        self._now = clock or _utc_now
        guard_tweepy_logs()

    def planned_cost(self, max_posts: int) -> Cost:
        return _plan(max_posts)

    def fetch(
        self,
        handle: Handle,
        *,
        max_posts: int = DEFAULT_MAX_POSTS,
        since: datetime | None = None,
        meter: Meter | None = None,
    ) -> AccountSnapshot:
        """The account and up to `max_posts` recent posts (newest first).

        Unknown, suspended and protected accounts come back as a snapshot with that status.
        """
        if handle.platform is not Platform.TWITTER or handle.kind != "username":
            raise BadInputError(f"not an X username: {handle}")
        guard_tweepy_logs()
        if self._gate is not None and self._gate.exhausted:
            raise QuotaExceededError(self._gate.exhausted)
        meter = meter if meter is not None else Meter()
        fetched_at = self._now()
        name = handle.value

        body = self._call(
            meter,
            f"the lookup of @{name}",
            functools.partial(self._client.get_user, username=name, user_fields=list(USER_FIELDS)),
        )
        user = body.get("data")
        if user is None:
            status, detail = _status_from_errors(body, f"the lookup of @{name}")
            account = Account(
                platform=Platform.TWITTER, handle=name, status=status, status_detail=detail
            )
            return _snapshot(account, [], fetched_at, meter)
        if not isinstance(user, dict) or not user.get("id"):
            raise DataError(f"X sent a user record without an id for @{name}")
        account = _account(user, name)
        if user.get("protected") is True:
            protected = account.model_copy(
                update={"status": AccountStatus.PROTECTED, "status_detail": PROTECTED_DETAIL}
            )
            return _snapshot(protected, [], fetched_at, meter)

        notes: list[str] = []
        if max_posts > MAX_TIMELINE_POSTS:
            notes.append(
                f"asked for {max_posts} posts; X serves only the {MAX_TIMELINE_POSTS} most recent"
            )
        username = str(user.get("username") or name)
        posts, skipped, status, detail = self._timeline(
            meter, str(user["id"]), username, max_posts, since, notes
        )
        if status is not AccountStatus.FOUND:
            account = account.model_copy(update={"status": status, "status_detail": detail})
        return _snapshot(account, posts, fetched_at, meter, skipped=skipped, notes=notes)

    def _timeline(
        self,
        meter: Meter,
        user_id: str,
        username: str,
        max_posts: int,
        since: datetime | None,
        notes: list[str],
    ) -> tuple[list[Post], int, AccountStatus, str | None]:
        """Page through GET /2/users/:id/tweets, one request per page size from page_sizes()."""
        what = f"the timeline of @{username}"
        posts: list[Post] = []
        skipped = derived = 0
        token: str | None = None
        for size in page_sizes(max_posts):
            params: dict[str, Any] = {
                "max_results": size,
                "tweet_fields": list(TWEET_FIELDS),
                "expansions": list(EXPANSIONS),
            }
            if token:
                params["pagination_token"] = token
            if since is not None:
                params["start_time"] = _as_utc(since)
            body = self._call(
                meter, what, functools.partial(self._client.get_users_tweets, user_id, **params)
            )
            data = body.get("data")
            if data is None and body.get("errors"):
                status, detail = _status_from_errors(body, what)
                return posts, skipped, status, detail
            if data is None:
                data = []
            if not isinstance(data, list):
                raise DataError(f"X sent a timeline page that is not a list for @{username}")
            meter.post_reads += len(data)
            authors = _referenced_authors(body.get("includes"))
            for raw in data:
                post, from_id = _post(raw, authors, username)
                if post is None:
                    skipped += 1
                    continue
                derived += from_id
                posts.append(post)
            next_token = _mapping(body.get("meta")).get("next_token")
            token = str(next_token) if next_token else None
            # An empty page that still offers a token would page forever (a documented quirk).
            if not token or not data:
                break
        if skipped:
            notes.append(f"{skipped} posts skipped: no creation time and no snowflake id")
        if derived:
            notes.append(f"{derived} posts dated from their snowflake id (no created_at sent)")
        return posts[: max(0, max_posts)], skipped, AccountStatus.FOUND, None

    def _call(self, meter: Meter, what: str, fn: Callable[[], Any]) -> dict[str, Any]:
        """One API call with the error table applied and bounded retries around it."""

        def attempt() -> dict[str, Any]:
            meter.request()
            try:
                body = fn()
            except tweepy.HTTPException as exc:
                raise self._translate(exc, what) from None
            except requests.JSONDecodeError:
                # A 2xx body that does not parse is nearly always cut short on the way
                # (gateway, connection dropped mid-body): retried like a 5xx.
                raise MalformedBodyError(f"X sent a body that is not JSON for {what}") from None
            except requests.RequestException as exc:
                raise TransientError(f"network error on {what}: {type(exc).__name__}") from None
            if not isinstance(body, dict):
                raise DataError(f"X sent a body that is not a JSON object for {what}")
            return body

        return call_with_retry(attempt, self._policy, gate=self._gate)

    def _translate(self, exc: Any, what: str) -> UptakeError:
        error = http_error(exc.response, what, self._now(), getattr(exc, "reset_time", None))
        if isinstance(error, QuotaExceededError) and self._gate is not None:
            self._gate.mark_exhausted(error.message)
        return error


def http_error(
    response: requests.Response, what: str, now: datetime, reset_time: int | None = None
) -> UptakeError:
    """The error table: one HTTP outcome of the X API to the exception that says what to do.

    >>> http_error(_bare(401), "the lookup of @a", datetime.now(UTC)).message
    'X rejected the bearer token: check UPTAKE_TWITTER_BEARER_TOKEN'
    """
    status = response.status_code
    problem = _problem(response)
    kind = str(problem.get("type") or "").removeprefix(_PROBLEM)
    detail = str(problem.get("detail") or problem.get("title") or "").strip()
    if status == 401:
        return AuthError("X rejected the bearer token: check UPTAKE_TWITTER_BEARER_TOKEN")
    if status == 403:
        if kind == "client-forbidden":
            return AuthError(
                "X refused the app (client-forbidden): attach the app to a Project in the X "
                "developer portal and check that its access level includes the v2 user lookup "
                "and user posts endpoints"
            )
        return AuthError(
            f"X refused {what} (403{': ' + detail if detail else ''}): check the access level "
            "of the app behind UPTAKE_TWITTER_BEARER_TOKEN"
        )
    if status == 429:
        if kind == "usage-capped":
            return QuotaExceededError(
                "X usage cap reached (usage-capped): no more posts can be read until the "
                "project's cap resets; check the plan in the X developer portal"
            )
        if reset_time is None:
            reset_time = _int_header(response, "x-rate-limit-reset")
        if reset_time is not None:
            wait = max(0.0, reset_time - now.timestamp()) + 1.0
        else:
            wait = DEFAULT_RATE_LIMIT_WAIT_S
        return RateLimitError(f"X rate limit reached on {what}", retry_after=wait)
    if status >= 500:
        return TransientError(f"X server error {status} on {what}")
    if status == 400:
        return ApiError(f"X rejected {what} as invalid (400){': ' + detail if detail else ''}")
    return ApiError(f"X answered {status} on {what}{': ' + detail if detail else ''}")


def _bare(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


def _problem(response: requests.Response) -> dict[str, Any]:
    """The RFC 7807 problem (or the first `errors` entry) of an error body; {} when not JSON."""
    try:
        body = json.loads(response.content or b"")
    except (ValueError, TypeError):
        return {}
    if not isinstance(body, dict):
        return {}
    if body.get("type") or body.get("detail"):
        return body
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = dict(errors[0])
        first.setdefault("detail", first.get("message"))
        return first
    return body


def _int_header(response: requests.Response, name: str) -> int | None:
    try:
        return int(response.headers.get(name, ""))
    except ValueError:
        return None


def _status_from_errors(body: Mapping[str, Any], what: str) -> tuple[AccountStatus, str | None]:
    """An HTTP 200 whose `errors` replace the data: the account's status, not a crash."""
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        raise DataError(f"X sent neither data nor errors for {what}")
    for error in errors:
        if not isinstance(error, dict):
            continue
        kind = str(error.get("type") or "").removeprefix(_PROBLEM)
        detail = str(error.get("detail") or error.get("message") or "").strip() or None
        if detail and "suspended" in detail.lower():
            return AccountStatus.SUSPENDED, detail
        if kind == "resource-not-found":
            return AccountStatus.NOT_FOUND, detail
        if kind == "not-authorized-for-resource":
            return AccountStatus.PROTECTED, PROTECTED_DETAIL
    first = errors[0] if isinstance(errors[0], dict) else {}
    text = str(first.get("detail") or first.get("message") or first.get("title") or "unknown")
    raise ApiError(f"X answered {what} with an error: {text}")


def _account(user: Mapping[str, Any], handle: str) -> Account:
    username = str(user.get("username") or handle)
    metrics = _mapping(user.get("public_metrics"))
    return Account(
        platform=Platform.TWITTER,
        handle=handle,
        status=AccountStatus.FOUND,
        id=str(user["id"]),
        display_name=_text(user.get("name")),
        url=f"https://x.com/{username}",
        created_at=_time(user.get("created_at"), f"@{username}"),
        followers=_count(metrics, "followers_count"),
        following=_count(metrics, "following_count"),
        post_count=_count(metrics, "tweet_count"),
        description=_text(user.get("description")),
    )


def _referenced_authors(includes: Any) -> dict[str, str]:
    """Post id -> author id of the posts the timeline references (includes.tweets)."""
    authors: dict[str, str] = {}
    tweets = includes.get("tweets") if isinstance(includes, dict) else None
    for tweet in tweets if isinstance(tweets, list) else []:
        if isinstance(tweet, dict) and tweet.get("id") and tweet.get("author_id"):
            authors[str(tweet["id"])] = str(tweet["author_id"])
    return authors


_KIND_BY_REFERENCE = (
    # A retweet is only a repost; a reply that also quotes is counted as a reply.
    ("retweeted", PostKind.REPOST),
    ("replied_to", PostKind.REPLY),
    ("quoted", PostKind.QUOTE),
)


def _post(raw: Any, authors: Mapping[str, str], username: str) -> tuple[Post | None, int]:
    """One timeline item as a Post; (None, 0) when it cannot be dated. The int is 1 when the
    date came from the snowflake id."""
    if not isinstance(raw, dict) or not raw.get("id"):
        raise DataError(f"X sent a post without an id in the timeline of @{username}")
    post_id = str(raw["id"])
    created = _time(raw.get("created_at"), f"post {post_id}")
    from_id = 0
    if created is None:
        created = _snowflake_time(post_id)
        if created is None:
            return None, 0
        from_id = 1

    note = raw.get("note_tweet") if isinstance(raw.get("note_tweet"), dict) else None
    text = _text(raw.get("text")) or ""
    entities = raw.get("entities")
    if note is not None and isinstance(note.get("text"), str):
        # Posts longer than 280 characters arrive truncated in `text`; the full text and its
        # entities are in note_tweet.
        text = note["text"]
        entities = note.get("entities", entities)
    entities = entities if isinstance(entities, dict) else {}

    references: dict[str, str] = {}
    for ref in raw.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") and ref.get("id"):
            references.setdefault(str(ref["type"]), str(ref["id"]))
    kind, ref_id = PostKind.ORIGINAL, None
    for ref_type, ref_kind in _KIND_BY_REFERENCE:
        if ref_type in references:
            kind, ref_id = ref_kind, references[ref_type]
            break
    reply_to = _text(raw.get("in_reply_to_user_id"))
    referenced_author = authors.get(ref_id) if ref_id else None
    if kind is PostKind.REPLY and referenced_author is None:
        referenced_author = reply_to  # the replied-to post may be deleted; its author is known

    metrics = _mapping(raw.get("public_metrics"))
    post = Post(
        id=post_id,
        created_at=created,
        text=text,
        kind=kind,
        url=f"https://x.com/{username}/status/{post_id}",
        reply_to_user_id=reply_to,
        referenced_author_id=referenced_author,
        conversation_id=_text(raw.get("conversation_id")),
        mentions=_entity_values(entities, "mentions", ("username",)),
        hashtags=_entity_values(entities, "hashtags", ("tag",)),
        links=_entity_values(entities, "urls", ("expanded_url", "url")),
        likes=_count(metrics, "like_count"),
        reposts=_count(metrics, "retweet_count"),
        replies=_count(metrics, "reply_count"),
        quotes=_count(metrics, "quote_count"),
        views=_count(metrics, "impression_count"),
        reply_policy=_reply_policy(raw.get("reply_settings")),
    )
    return post, from_id


def _entity_values(
    entities: Mapping[str, Any], key: str, fields: tuple[str, ...]
) -> tuple[str, ...]:
    values: list[str] = []
    items = entities.get(key)
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        for name in fields:
            value = item.get(name)
            if isinstance(value, str) and value:
                values.append(value)
                break
    return tuple(values)


def _reply_policy(value: Any) -> ReplyPolicy | None:
    """`everyone` is open; every other value (mentionedUsers, following, subscribers, verified,
    and whatever X adds next) limits who may answer."""
    if not isinstance(value, str) or not value.strip():
        return None
    return ReplyPolicy.OPEN if value.strip().lower() == "everyone" else ReplyPolicy.RESTRICTED


def _count(metrics: Mapping[str, Any], key: str) -> int | None:
    """A public metric, or None when X did not send it (unknown is not zero)."""
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number >= 0 else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _time(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise DataError(f"X sent an unreadable created_at for {what}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _snowflake_time(post_id: str) -> datetime | None:
    if not post_id.isdigit() or int(post_id) < _MIN_SNOWFLAKE:
        return None
    millis = (int(post_id) >> 22) + _SNOWFLAKE_EPOCH_MS
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _as_utc(value: datetime) -> datetime:
    """tweepy formats naive datetimes as they are; naive input is taken to be UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _snapshot(
    account: Account,
    posts: list[Post],
    fetched_at: datetime,
    meter: Meter,
    *,
    skipped: int = 0,
    notes: list[str] | None = None,
) -> AccountSnapshot:
    times = [p.created_at for p in posts]
    return AccountSnapshot(
        account=account,
        posts=tuple(posts),
        fetched_at=fetched_at,
        window_start=min(times) if times else None,
        window_end=max(times) if times else None,
        requests=meter.requests,
        post_reads=meter.post_reads,
        skipped_items=skipped,
        notes=tuple(notes or ()),
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def page_sizes(max_posts: int) -> list[int]:
    """The max_results of each timeline request for `max_posts` posts.

    >>> page_sizes(250)
    [100, 100, 50]
    >>> page_sizes(3)  # the endpoint's minimum page is 5
    [5]
    """
    remaining = min(max(0, max_posts), MAX_TIMELINE_POSTS)
    sizes: list[int] = []
    while remaining > 0:
        take = min(PAGE_MAX, remaining)
        sizes.append(max(PAGE_MIN, take))
        remaining -= take
    return sizes


def _plan(max_posts: int) -> Cost:
    sizes = page_sizes(max_posts)
    return Cost(requests=1 + len(sizes), post_reads=sum(sizes))


def planned_cost(max_posts: int, settings: Settings | None = None) -> Cost:
    """Upper bound for one account: 1 user lookup + ceil(n/100) timeline pages, n post reads
    (a remainder under 5 reads a full page of 5, the endpoint's minimum).

    >>> planned_cost(200)
    Cost(requests=3, quota_units=0, post_reads=200)
    """
    return _plan(max_posts)


def estimated_usd(post_reads: int, user_reads: int) -> float:
    """What reads cost at X's pay-per-use prices (one user read per account fetched).

    >>> round(estimated_usd(post_reads=200, user_reads=1), 3)
    1.01
    """
    return post_reads * PRICE_PER_POST_READ_USD + user_reads * PRICE_PER_USER_READ_USD


class _RedactTweepy(logging.Filter):
    """tweepy logs the Authorization header at DEBUG: drop those records, scrub the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return False
        record.msg = redact(record.getMessage())
        record.args = None
        return True


_FILTER = _RedactTweepy()
_TWEEPY_LOGGERS = ("tweepy", "tweepy.client", "tweepy.asynchronous.client", "tweepy.api")


def guard_tweepy_logs() -> None:
    """Keep tweepy's loggers at INFO or above with a redacting filter (idempotent)."""
    for name in _TWEEPY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def build(
    settings: Settings,
    seam: Seam,
    *,
    policy: RetryPolicy,
    gate: Gate | None = None,
    clock: Callable[[], datetime] | None = None,
) -> TwitterConnector:
    """A connector whose tweepy client talks through `seam`.

    Offline seams get a placeholder token, so replay needs no credential and no secret can
    reach a handler; live and recording seams need UPTAKE_TWITTER_BEARER_TOKEN.
    """
    token = OFFLINE_TOKEN if seam.offline else settings.credential("twitter")
    client = tweepy.Client(bearer_token=token, return_type=dict, wait_on_rate_limit=False)
    client.session.mount(
        TWITTER_HOST,
        requests_adapter(
            seam,
            canonical=TWITTER_HOST,
            base_url=settings.twitter_base_url,
            timeout=settings.http_timeout_s,
        ),
    )
    return TwitterConnector(client, policy=policy, gate=gate, clock=clock)

"""A simulated X API v2 (user lookup, user posts) rendered from snapshots like the real API.

Shapes follow the recorded responses in ../shared/real-samples/twitter: only requested fields are
sent, a missing user is an HTTP 200 with `errors`, referenced posts come in `includes.tweets`,
and every response carries x-rate-limit-* headers.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from analyser.models import AccountSnapshot, AccountStatus, Post, PostKind, ReplyPolicy
from connectors.replay import HttpRequest, HttpResponse

__all__ = ["RATE_WINDOW_S", "Fake"]

_PROBLEM = "https://api.twitter.com/2/problems/"
RATE_WINDOW_S = 900  # X rate limits are counted per 15-minute window
_LIMITS = {"user": 300, "timeline": 1500}
_MAX_TIMELINE = 3200
_TOKEN_PREFIX = "7140dibdnow9c7btw"  # the shape of real next_token values
_NOTE_LIMIT = 280

_DEFAULT_USER_FIELDS = ("id", "name", "username")
_DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")

_USER_BY_NAME = re.compile(r"^/2/users/by/username/([^/]+)$")
_USER_BY_ID = re.compile(r"^/2/users/([0-9]+)$")
_TIMELINE = re.compile(r"^/2/users/([0-9]+)/tweets$")

_REFERENCE_TYPE = {
    PostKind.REPOST: "retweeted",
    PostKind.REPLY: "replied_to",
    PostKind.QUOTE: "quoted",
}


class Fake:
    """Serves the X endpoints uptake calls for the given X snapshots.

    `limit` caps the requests per endpoint and window (then 429 with x-rate-limit-reset), for
    tests of rate limiting; `clock` gives epoch seconds for the reset header.
    """

    def __init__(
        self,
        snapshots: Sequence[AccountSnapshot],
        *,
        limit: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._by_name = {s.account.handle.lower(): s for s in snapshots}
        self._by_id = {s.account.id: s for s in snapshots if s.account.id}
        self._limit = limit
        self._clock = clock
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse | None:
        path = request.path
        if not path.startswith("/2/"):
            return None
        if request.method.upper() != "GET":
            return _problem(405, "Method Not Allowed", "Method Not Allowed", "about:blank")
        if not any(k.lower() == "authorization" for k in request.headers):
            return _problem(401, "Unauthorized", "Unauthorized", "about:blank")
        if match := _USER_BY_NAME.match(path):
            return self._limited("user", partial(self._user, request, "username", match[1]))
        if match := _USER_BY_ID.match(path):
            return self._limited("user", partial(self._user, request, "id", match[1]))
        if match := _TIMELINE.match(path):
            return self._limited("timeline", partial(self._timeline, request, match[1]))
        return _problem(404, "Not Found Error", "Sorry, that page does not exist", "about:blank")

    # -- rate limits ---------------------------------------------------------------------------

    def _limited(self, endpoint: str, render: Callable[[], HttpResponse]) -> HttpResponse:
        ceiling = self._limit if self._limit is not None else _LIMITS[endpoint]
        now = self._clock()
        reset = int(now // RATE_WINDOW_S + 1) * RATE_WINDOW_S
        window_key = f"{endpoint}@{reset}"
        with self._lock:
            used = self._used.get(window_key, 0) + 1
            self._used[window_key] = used
        headers = {
            "x-rate-limit-limit": str(ceiling),
            "x-rate-limit-remaining": str(max(0, ceiling - used)),
            "x-rate-limit-reset": str(reset),
        }
        if used > ceiling:
            return _problem(429, "Too Many Requests", "Too Many Requests", "about:blank", headers)
        response = render()
        return HttpResponse(response.status, {**response.headers, **headers}, response.body)

    # -- users -----------------------------------------------------------------------------------

    def _user(self, request: HttpRequest, parameter: str, value: str) -> HttpResponse:
        snap = (
            self._by_name.get(value.lower()) if parameter == "username" else self._by_id.get(value)
        )
        status = snap.account.status if snap else AccountStatus.NOT_FOUND
        if snap is None or status is AccountStatus.NOT_FOUND:
            return _ok({"errors": [_missing_user(parameter, value)]})
        if status is AccountStatus.SUSPENDED:
            return _ok({"errors": [_suspended_user(parameter, value)]})
        if status is AccountStatus.ERROR:
            return _unavailable()
        fields = _fields(request, "user.fields", _DEFAULT_USER_FIELDS)
        return _ok({"data": _render_user(snap, fields)})

    # -- timeline --------------------------------------------------------------------------------

    def _timeline(self, request: HttpRequest, user_id: str) -> HttpResponse:
        query = request.query
        try:
            size = int(query.get("max_results", "10"))
        except ValueError:
            size = -1
        if not 5 <= size <= 100:
            return _invalid(
                "max_results",
                query.get("max_results", ""),
                f"The `max_results` query parameter value [{query.get('max_results', '')}] is "
                "not between 5 and 100",
            )
        offset = 0
        token = query.get("pagination_token")
        if token is not None:
            decoded = _decode_token(token)
            if decoded is None:
                return _invalid(
                    "pagination_token",
                    token,
                    f"The `pagination_token` query parameter value [{token}] is not valid",
                )
            offset = decoded
        start = None
        if "start_time" in query:
            try:
                start = datetime.fromisoformat(query["start_time"])
            except ValueError:
                return _invalid(
                    "start_time",
                    query["start_time"],
                    f"Invalid 'start_time':'{query['start_time']}'. 'start_time' must be a "
                    "valid RFC 3339 date-time",
                )

        snap = self._by_id.get(user_id)
        if snap is None or snap.account.status is AccountStatus.NOT_FOUND:
            return _ok({"errors": [_missing_user("id", user_id)]})
        if snap.account.status is AccountStatus.SUSPENDED:
            return _ok({"errors": [_suspended_user("id", user_id)]})
        if snap.account.status is AccountStatus.PROTECTED:
            return _ok({"errors": [_not_authorized(user_id)]})
        if snap.account.status is AccountStatus.ERROR:
            return _unavailable()

        # The endpoint serves the 3,200 most recent posts, newest first.
        ordered = sorted(snap.posts, key=lambda p: (p.created_at, _id_key(p.id)), reverse=True)
        visible = [p for p in ordered[:_MAX_TIMELINE] if start is None or p.created_at >= start]
        page = visible[offset : offset + size]
        if not page:
            return _ok({"meta": {"result_count": 0}})

        fields = _fields(request, "tweet.fields", _DEFAULT_TWEET_FIELDS)
        expansions = set(_fields(request, "expansions", ()))
        body: dict[str, Any] = {"data": [_render_post(p, snap, fields) for p in page]}
        if "referenced_tweets.id" in expansions:
            included, errors = _referenced(page, fields)
            if included:
                body["includes"] = {"tweets": included}
            if errors:
                body["errors"] = errors
        meta: dict[str, Any] = {
            "result_count": len(page),
            "newest_id": page[0].id,
            "oldest_id": page[-1].id,
        }
        if offset + size < len(visible):
            meta["next_token"] = _encode_token(offset + size)
        if offset > 0:
            meta["previous_token"] = _encode_token(max(0, offset - size))
        body["meta"] = meta
        return _ok(body)


# -- rendering ---------------------------------------------------------------------------------


def _render_user(snap: AccountSnapshot, fields: Sequence[str]) -> dict[str, Any]:
    account = snap.account
    user: dict[str, Any] = {
        "id": account.id,
        "name": account.display_name if account.display_name is not None else account.handle,
        "username": account.handle,
    }
    if "created_at" in fields and account.created_at is not None:
        user["created_at"] = _wire_time(account.created_at)
    if "description" in fields and account.description is not None:
        user["description"] = account.description
    if "protected" in fields:
        user["protected"] = account.status is AccountStatus.PROTECTED
    if "verified" in fields:
        user["verified"] = False
    if "url" in fields:
        user["url"] = ""  # the profile's website link; snapshots do not carry one
    if "public_metrics" in fields:
        metrics = {
            key: value
            for key, value in (
                ("followers_count", account.followers),
                ("following_count", account.following),
                ("tweet_count", account.post_count),
            )
            if value is not None
        }
        if metrics:
            user["public_metrics"] = metrics
    return user


def _render_post(post: Post, snap: AccountSnapshot, fields: Sequence[str]) -> dict[str, Any]:
    long_post = len(post.text) > _NOTE_LIMIT
    text = post.text[: _NOTE_LIMIT - 1] + "…" if long_post else post.text
    tweet: dict[str, Any] = {"id": post.id, "text": text, "edit_history_tweet_ids": [post.id]}
    if "created_at" in fields:
        tweet["created_at"] = _wire_time(post.created_at)
    if "author_id" in fields and snap.account.id:
        tweet["author_id"] = snap.account.id
    if "conversation_id" in fields and post.conversation_id is not None:
        tweet["conversation_id"] = post.conversation_id
    if "in_reply_to_user_id" in fields and post.reply_to_user_id is not None:
        tweet["in_reply_to_user_id"] = post.reply_to_user_id
    if "referenced_tweets" in fields and post.kind in _REFERENCE_TYPE:
        tweet["referenced_tweets"] = [{"type": _REFERENCE_TYPE[post.kind], "id": _ref_id(post)}]
    if "reply_settings" in fields and post.reply_policy is not None:
        # X has no "comments off"; the closest setting is "only mentioned users may reply".
        tweet["reply_settings"] = (
            "everyone" if post.reply_policy is ReplyPolicy.OPEN else "mentionedUsers"
        )
    if "public_metrics" in fields:
        metrics = {
            key: value
            for key, value in (
                ("retweet_count", post.reposts),
                ("reply_count", post.replies),
                ("like_count", post.likes),
                ("quote_count", post.quotes),
                ("impression_count", post.views),
            )
            if value is not None
        }
        if metrics:
            tweet["public_metrics"] = metrics
    if "entities" in fields:
        entities = _entities(post, text, complete=not long_post)
        if entities:
            tweet["entities"] = entities
    if "note_tweet" in fields and long_post:
        note: dict[str, Any] = {"text": post.text}
        full_entities = _entities(post, post.text, complete=True)
        if full_entities:
            note["entities"] = full_entities
        tweet["note_tweet"] = note
    return tweet


def _entities(post: Post, text: str, *, complete: bool) -> dict[str, Any]:
    """Entities with code-point offsets into `text`. For the truncated text of a long post
    (`complete` false) those beyond the cut are left out, as X does."""
    found: dict[str, list[dict[str, Any]]] = {"mentions": [], "hashtags": [], "urls": []}
    for name in post.mentions:
        span = _span(text, "@" + name, complete)
        if span is not None:
            found["mentions"].append({"start": span[0], "end": span[1], "username": name})
    for tag in post.hashtags:
        span = _span(text, "#" + tag, complete)
        if span is not None:
            found["hashtags"].append({"start": span[0], "end": span[1], "tag": tag})
    for link in post.links:
        short = "https://t.co/" + hashlib.sha1(link.encode()).hexdigest()[:10]
        span = _span(text, short, False) or _span(text, link, complete)
        if span is not None:
            display = re.sub(r"^https?://(www\.)?", "", link)
            found["urls"].append(
                {
                    "start": span[0],
                    "end": span[1],
                    "url": short,
                    "expanded_url": link,
                    "display_url": display[:26] + ("…" if len(display) > 26 else ""),
                }
            )
    return {key: items for key, items in found.items() if items}


def _span(text: str, needle: str, complete: bool) -> tuple[int, int] | None:
    """Where `needle` sits in `text`; (0, 0) for an entity the snapshot names but its text does
    not show, when the text is complete."""
    index = text.find(needle)
    if index >= 0:
        return index, index + len(needle)
    return (0, 0) if complete else None


def _referenced(
    page: Sequence[Post], fields: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """includes.tweets for the referenced posts whose author is known; a partial error (as for
    a deleted post) for the others."""
    included: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for post in page:
        if post.kind not in _REFERENCE_TYPE:
            continue
        ref = _ref_id(post)
        if ref in seen:
            continue
        seen.add(ref)
        if post.referenced_author_id is None:
            errors.append(
                {
                    "value": ref,
                    "detail": f"Could not find tweet with referenced_tweets.id: [{ref}].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "referenced_tweets.id",
                    "resource_id": ref,
                    "type": _PROBLEM + "resource-not-found",
                }
            )
            continue
        tweet: dict[str, Any] = {"id": ref, "text": "", "edit_history_tweet_ids": [ref]}
        if "author_id" in fields:
            tweet["author_id"] = post.referenced_author_id
        included.append(tweet)
    return included, errors


def _ref_id(post: Post) -> str:
    """A stable id for the post that `post` reposts, quotes or answers (snapshots keep only its
    author)."""
    if post.kind is PostKind.REPLY and post.conversation_id and post.conversation_id != post.id:
        return post.conversation_id
    digest = int(hashlib.sha1(f"ref:{post.id}".encode()).hexdigest()[:12], 16)
    return str(10**18 + digest)


def _id_key(post_id: str) -> tuple[int, str]:
    return (int(post_id), post_id) if post_id.isdigit() else (0, post_id)


def _wire_time(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _fields(request: HttpRequest, name: str, default: Sequence[str]) -> tuple[str, ...]:
    raw = request.query.get(name)
    requested = tuple(f for f in raw.split(",") if f) if raw else ()
    return tuple(default) + requested


def _encode_token(offset: int) -> str:
    return f"{_TOKEN_PREFIX}{offset:08x}"


def _decode_token(token: str) -> int | None:
    if not token.startswith(_TOKEN_PREFIX):
        return None
    try:
        return int(token[len(_TOKEN_PREFIX) :], 16)
    except ValueError:
        return None


# -- bodies ------------------------------------------------------------------------------------


def _ok(payload: Mapping[str, Any]) -> HttpResponse:
    return HttpResponse.json(200, payload)


def _problem(
    status: int,
    title: str,
    detail: str,
    kind: str,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    payload = {"title": title, "detail": detail, "type": kind, "status": status}
    return HttpResponse.json(status, payload, headers)


def _unavailable() -> HttpResponse:
    return _problem(503, "Service Unavailable", "Service Unavailable", "about:blank")


def _invalid(parameter: str, value: str, message: str) -> HttpResponse:
    return HttpResponse.json(
        400,
        {
            "errors": [{"parameters": {parameter: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": _PROBLEM + "invalid-request",
        },
    )


def _missing_user(parameter: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find user with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": value,
        "type": _PROBLEM + "resource-not-found",
    }


def _suspended_user(parameter: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"User has been suspended: [{value}].",
        "title": "Forbidden",
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": value,
        "type": _PROBLEM + "resource-not-found",
    }


def _not_authorized(user_id: str) -> dict[str, Any]:
    return {
        "value": user_id,
        "detail": f"Sorry, you are not authorized to see the user with id: [{user_id}].",
        "title": "Authorization Error",
        "resource_type": "user",
        "parameter": "id",
        "resource_id": user_id,
        "type": _PROBLEM + "not-authorized-for-resource",
    }

"""A simulated Graph API: Pages and their posts rendered from snapshots the way Graph shapes them.

Shapes follow the recorded responses in /work/shared/real-samples/facebook/: page objects with
`fan_count`, the posts edge with `reactions`/`comments` summaries and `shares.count`, cursor
paging whose `paging.next` points back at the host that was asked, comments without `from`
(and without `id`) when Graph withholds authors, error envelopes with Graph codes, and each
post's comments edge rendered from its ThreadSample.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from analyser.models import AccountSnapshot, AccountStatus, Post, ReplyPolicy, ThreadSample
from connectors.replay import HttpRequest, HttpResponse

__all__ = ["DEFAULT_LIMIT", "Fake"]

DEFAULT_LIMIT = 25  # Graph's page size when no `limit` is given
MAX_LIMIT = 100
DEFAULT_COMMENT_LIMIT = 25
_ROUTE = re.compile(r"(?:^|/)(v\d+\.\d+)/([^/]+?)(?:/(posts|comments))?/?$")
_NUMERIC = re.compile(r"[0-9]+")
_LIMIT = re.compile(r"comments\.limit\((\d+)\)")
_DEFAULT_USAGE = {"call_count": 1, "total_cputime": 1, "total_time": 1}


class Fake:
    """Serves `GET /{version}/{page}`, `GET /{version}/{page-id}/posts` and
    `GET /{version}/{post-id}/comments` from snapshots.

    Returns None for any other path, so the other platform fakes get their turn.
    """

    def __init__(
        self,
        snapshots: Iterable[AccountSnapshot],
        *,
        usage: Mapping[str, int] | None = None,
    ) -> None:
        self._pages: dict[str, AccountSnapshot] = {}
        self._posts_by_id: dict[str, tuple[AccountSnapshot, Post]] = {}
        for snap in snapshots:
            self._pages.setdefault(snap.account.handle.lower(), snap)
            if snap.account.id:
                self._pages.setdefault(snap.account.id, snap)
            if snap.account.status is AccountStatus.FOUND:
                for post in snap.posts:
                    self._posts_by_id.setdefault(post.id, (snap, post))
        self._usage = dict(usage or _DEFAULT_USAGE)

    def handle(self, request: HttpRequest) -> HttpResponse | None:
        match = _ROUTE.search(request.path)
        if match is None or request.method.upper() != "GET":
            return None
        name, edge = match.group(2), match.group(3)
        if edge == "comments":
            found = self._posts_by_id.get(name)
            if found is None:
                return self._no_object(name)
            return self._comments(request, *found)
        snap = self._pages.get(name.lower()) or self._pages.get(name)
        if snap is None or snap.account.status is not AccountStatus.FOUND:
            return self._missing(name, snap)
        if edge == "posts":
            return self._posts(request, snap)
        return self._page(request, snap)

    # -- responses -----------------------------------------------------------------------------

    def _ok(self, payload: Any) -> HttpResponse:
        return HttpResponse.json(200, payload, {"x-app-usage": json.dumps(self._usage)})

    def _error(
        self, status: int, code: int, message: str, *, subcode: int | None = None, **extra: Any
    ) -> HttpResponse:
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        error.update(extra)
        error["fbtrace_id"] = "AFakeTrace" + str(code)
        return HttpResponse.json(status, {"error": error}, {"x-app-usage": json.dumps(self._usage)})

    def _missing(self, name: str, snap: AccountSnapshot | None) -> HttpResponse:
        status = snap.account.status if snap is not None else AccountStatus.NOT_FOUND
        if status is AccountStatus.ERROR:
            return self._error(
                500,
                2,
                "An unexpected error has occurred. Please retry your request later.",
                is_transient=True,
                type="OAuthException",
            )
        if _NUMERIC.fullmatch(name) or status is not AccountStatus.NOT_FOUND:
            # Unknown ids, unpublished and restricted pages all look like this from outside.
            return self._no_object(name)
        return self._error(
            404, 803, f"(#803) Some of the aliases you requested do not exist: {name}"
        )

    def _no_object(self, name: str) -> HttpResponse:
        return self._error(
            400,
            100,
            f"Unsupported get request. Object with ID '{name}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please "
            "read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            subcode=33,
        )

    def _page(self, request: HttpRequest, snap: AccountSnapshot) -> HttpResponse:
        account = snap.account
        wanted = set(_top_fields(request.query.get("fields", "id,name")))
        values: dict[str, Any] = {
            "id": account.id,
            "name": account.display_name,
            "username": None if _NUMERIC.fullmatch(account.handle) else account.handle,
            "fan_count": account.followers,
            "followers_count": account.followers,
            "link": account.url,
            "about": account.description,
        }
        return self._ok({k: v for k, v in values.items() if k in wanted and v is not None})

    def _posts(self, request: HttpRequest, snap: AccountSnapshot) -> HttpResponse:
        query = request.query
        try:
            limit = int(query.get("limit") or DEFAULT_LIMIT)
        except ValueError:
            return self._error(400, 100, "(#100) Param limit must be an integer")
        if not 1 <= limit <= MAX_LIMIT:
            return self._error(400, 100, f"(#100) The limit must be between 1 and {MAX_LIMIT}")
        offset = _decode_cursor(query.get("after", ""))
        if offset is None:
            return self._error(400, 100, "(#100) Invalid cursor")
        since, until = _epoch(query.get("since")), _epoch(query.get("until"))
        posts = sorted(snap.posts, key=lambda p: p.created_at, reverse=True)
        posts = [
            p
            for p in posts
            if (since is None or p.created_at >= since) and (until is None or p.created_at < until)
        ]
        chunk = posts[offset : offset + limit]
        fields = _top_fields(query.get("fields", "id,message,created_time"))
        samples = {s.post_id: s for s in snap.thread_samples}
        page_name = snap.account.display_name or snap.account.handle
        assert snap.account.id is not None
        data = [
            _render_post(p, fields, samples.get(p.id), snap.account.id, page_name) for p in chunk
        ]
        payload: dict[str, Any] = {"data": data}
        if chunk:
            paging: dict[str, Any] = {
                "cursors": {
                    "before": _encode_cursor(snap.account.id, offset),
                    "after": _encode_cursor(snap.account.id, offset + len(chunk)),
                }
            }
            if offset + len(chunk) < len(posts):
                paging["next"] = _next_url(request, paging["cursors"]["after"])
            payload["paging"] = paging
        return self._ok(payload)

    def _comments(self, request: HttpRequest, snap: AccountSnapshot, post: Post) -> HttpResponse:
        """A post's comments edge: every thread of its ThreadSample, oldest first, with the
        page's reply under each answered one; authors and ids left out when they are withheld."""
        query = request.query
        try:
            limit = int(query.get("limit") or DEFAULT_COMMENT_LIMIT)
        except ValueError:
            return self._error(400, 100, "(#100) Param limit must be an integer")
        if not 1 <= limit <= MAX_LIMIT:
            return self._error(400, 100, f"(#100) The limit must be between 1 and {MAX_LIMIT}")
        flat = query.get("filter", "toplevel")
        if flat not in ("toplevel", "stream"):
            return self._error(
                400, 100, "(#100) filter must be one of the following values: toplevel, stream"
            )
        offset = _decode_cursor(query.get("after", ""))
        if offset is None:
            return self._error(400, 100, "(#100) Invalid cursor")
        assert snap.account.id is not None
        page_name = snap.account.display_name or snap.account.handle
        sample = next((s for s in snap.thread_samples if s.post_id == post.id), None)
        fields = _top_fields(query.get("fields", "id,message,created_time"))
        reply_spec = fields.get("comments", "")
        reply_limits = [int(n) for n in _LIMIT.findall(reply_spec)]
        reply_limit = reply_limits[0] if reply_limits else DEFAULT_COMMENT_LIMIT
        total = sample.threads_seen if sample is not None else 0
        items = _comment_items(post, sample, total, reply_limit, snap.account.id, page_name)
        if flat == "stream":  # replies become items of their own, after the comment they answer
            items = [x for item in items for x in (item, *item.get("comments", {}).get("data", []))]
        chunk = [
            {k: v for k, v in item.items() if k in fields}
            for item in items[offset : offset + limit]
        ]
        payload: dict[str, Any] = {"data": chunk}
        if query.get("summary") in ("1", "true"):
            payload["summary"] = _comment_summary(post, sample) or {"total_count": len(items)}
        if chunk:
            paging: dict[str, Any] = {
                "cursors": {
                    "before": _encode_cursor(post.id, offset),
                    "after": _encode_cursor(post.id, offset + len(chunk)),
                }
            }
            if offset + len(chunk) < len(items):
                paging["next"] = _next_url(request, paging["cursors"]["after"])
            payload["paging"] = paging
        return self._ok(payload)


# -- rendering ---------------------------------------------------------------------------------


def _render_post(
    post: Post,
    fields: dict[str, str],
    sample: ThreadSample | None,
    page_id: str,
    page_name: str,
) -> dict[str, Any]:
    item: dict[str, Any] = {"id": post.id}
    if "created_time" in fields:
        item["created_time"] = _graph_time(post.created_at)
    if "message" in fields and post.text:
        item["message"] = post.text
    if "permalink_url" in fields and post.url:
        item["permalink_url"] = post.url
    if "status_type" in fields:
        item["status_type"] = "shared_story" if post.links else "mobile_status_update"
    if "shares" in fields and post.reposts is not None:
        item["shares"] = {"count": post.reposts}
    if "reactions" in fields and post.likes is not None:
        item["reactions"] = {"data": [], "summary": {"total_count": post.likes}}
    if "comments" in fields:
        comments = _render_comments(post, fields["comments"], sample, page_id, page_name)
        if comments is not None:
            item["comments"] = comments
    return item


def _render_comments(
    post: Post, spec: str, sample: ThreadSample | None, page_id: str, page_name: str
) -> dict[str, Any] | None:
    if post.replies is None and sample is None:
        return None
    limits = [int(n) for n in _LIMIT.findall(spec)]
    top_limit = limits[0] if limits else DEFAULT_COMMENT_LIMIT
    reply_limit = limits[1] if len(limits) > 1 else DEFAULT_COMMENT_LIMIT
    data: list[dict[str, Any]] = []
    if sample is not None:
        shown = min(sample.threads_seen, top_limit)
        data = _comment_items(post, sample, shown, reply_limit, page_id, page_name)
    result: dict[str, Any] = {"data": data}
    summary = _comment_summary(post, sample)
    if summary is not None:
        result["summary"] = summary
    return result


def _comment_items(
    post: Post,
    sample: ThreadSample | None,
    stop: int,
    reply_limit: int,
    page_id: str,
    page_name: str,
) -> list[dict[str, Any]]:
    """The first `stop` top-level comments of a post's thread sample, the same whether they are
    read inline on the posts edge or from the post's own comments edge."""
    data: list[dict[str, Any]] = []
    if sample is None:
        return data
    for i in range(min(stop, sample.threads_seen)):
        at = _graph_time(post.created_at + timedelta(minutes=i + 1))
        if sample.threads_answered is None:
            # What Graph returns to apps that do not manage the page: no id, no author.
            data.append({"created_time": at, "message": f"Comment {i + 1}", "comment_count": 0})
            continue
        answered = _answered(i, sample.threads_answered, sample.threads_seen)
        comment: dict[str, Any] = {
            "id": f"{post.id}_{9000 + i}",
            "from": {"name": f"Community member {i + 1}", "id": str(7_000_000_000 + i)},
            "created_time": at,
            "message": f"Comment {i + 1}",
            "comment_count": 1 if answered else 0,
        }
        if answered and reply_limit > 0:
            reply_at = _graph_time(post.created_at + timedelta(minutes=i + 2))
            comment["comments"] = {
                "data": [
                    {
                        "id": f"{post.id}_{9500 + i}",
                        "from": {"name": page_name, "id": page_id},
                        "created_time": reply_at,
                    }
                ]
            }
        data.append(comment)
    return data


def _comment_summary(post: Post, sample: ThreadSample | None) -> dict[str, Any] | None:
    if post.replies is None:
        return None
    summary: dict[str, Any] = {"order": "chronological", "total_count": post.replies}
    disabled = post.reply_policy is ReplyPolicy.DISABLED or (
        sample is not None and sample.comments_disabled
    )
    if disabled:
        summary["can_comment"] = False
    elif post.reply_policy is not None:
        summary["can_comment"] = True
    return summary


def _answered(i: int, answered: int, seen: int) -> bool:
    """Whether thread i is one the page answered, with the answered threads spread evenly, so a
    connector reading only the first few threads still sees the page's true answer rate."""
    if seen <= 0:
        return False
    return (i + 1) * answered // seen > i * answered // seen


def _top_fields(fields: str) -> dict[str, str]:
    """Top-level field names of a Graph `fields=` expansion, each with its full spec."""
    out: dict[str, str] = {}
    depth, start = 0, 0
    for i, ch in enumerate(fields + ","):
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch == "," and depth == 0:
            spec = fields[start:i].strip()
            if spec:
                out[re.split(r"[.{]", spec, maxsplit=1)[0]] = spec
            start = i + 1
    return out


def _next_url(request: HttpRequest, after: str) -> str:
    """Graph's `paging.next`: the same request on the host that was asked, with the cursor and,
    like Graph, the caller's access token echoed into the query."""
    parts = urlsplit(request.url)
    query = {k: v for k, v in request.query.items() if k not in {"after", "access_token"}}
    token = _token(request)
    ordered = ({"access_token": token} if token else {}) | query | {"after": after}
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(ordered)}"


def _token(request: HttpRequest) -> str | None:
    if request.query.get("access_token"):
        return request.query["access_token"]
    for key, value in request.headers.items():
        if key.lower() == "authorization" and value.lower().startswith(("bearer ", "oauth ")):
            return value.split(" ", 1)[1].strip()
    return None


def _encode_cursor(page_id: str, offset: int) -> str:
    raw = f"{page_id}:{offset}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return max(0, int(raw.rsplit(":", 1)[1]))
    except (ValueError, IndexError):
        return None


def _epoch(value: str | None) -> datetime | None:
    if not value or not value.isdigit():
        return None
    return datetime.fromtimestamp(int(value), UTC)


def _graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")

"""Turn what an analyst pastes (handles, @names, profile URLs) into one canonical account handle.

Every rejection is a BadInputError with a one-line message that says what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from analyser.errors import BadInputError
from analyser.models import Platform

__all__ = ["Handle", "HandleKind", "parse_handle"]

HandleKind = Literal["username", "handle", "channel_id", "custom", "name", "page_id"]

MAX_INPUT = 200

_HOSTS: dict[Platform, tuple[str, ...]] = {
    Platform.TWITTER: ("twitter.com", "x.com"),
    Platform.YOUTUBE: ("youtube.com", "youtu.be"),
    Platform.FACEBOOK: ("facebook.com", "fb.com", "fb.me"),
}
_OPTION = {
    Platform.TWITTER: "--twitter",
    Platform.YOUTUBE: "--youtube",
    Platform.FACEBOOK: "--facebook",
}
_LABEL = {Platform.TWITTER: "X", Platform.YOUTUBE: "YouTube", Platform.FACEBOOK: "Facebook"}

_TWITTER_NAME = re.compile(r"[A-Za-z0-9_]{1,15}")
# Paths on x.com that are not accounts.
_TWITTER_RESERVED = {
    "home", "i", "search", "explore", "settings", "intent", "share", "hashtag", "notifications",
    "messages", "compose", "login", "logout", "signup", "tos", "privacy", "about", "jobs",
}  # fmt: skip
_YT_CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_YT_HANDLE = re.compile(r"[A-Za-z0-9_.\-]{3,30}")
_YT_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
_FB_NAME = re.compile(r"[A-Za-z0-9.\-_]{2,75}")
_FB_ID = re.compile(r"[0-9]{5,25}")
_FB_NOT_PAGES = {
    "groups": "a group", "events": "an event", "watch": "a video", "photo.php": "a photo",
    "photo": "a photo", "story.php": "a post", "permalink.php": "a post", "share": "a shared post",
    "reel": "a reel", "hashtag": "a hashtag", "marketplace": "a marketplace listing",
    "login": "the login page", "login.php": "the login page", "home.php": "the home page",
    "sharer.php": "a share link", "sharer": "a share link", "gaming": "a gaming page",
}  # fmt: skip
_FB_NOT_PAGE_SUBPATHS = {
    "posts": "a post", "photos": "a photo", "videos": "a video", "reels": "a reel",
    "events": "an event", "permalink": "a post",
}  # fmt: skip


@dataclass(frozen=True)
class Handle:
    """A canonical account reference: `value` is what the connector looks up."""

    platform: Platform
    value: str
    kind: HandleKind
    raw: str

    def __str__(self) -> str:
        return f"{self.platform.value}:{self.value}"


def parse_handle(platform: Platform | str, raw: str) -> Handle:
    """Parse one account reference for a platform.

    >>> parse_handle("twitter", "https://x.com/Harbour/status/1").value
    'Harbour'
    """
    platform = Platform(platform)
    text = raw.strip()
    if not text:
        raise BadInputError(f"empty {_LABEL[platform]} handle")
    if len(text) > MAX_INPUT:
        raise BadInputError(f"{_LABEL[platform]} handle is too long ({len(text)} characters)")
    if any(ch.isspace() for ch in text):
        raise BadInputError(f"{_LABEL[platform]} handle {text!r} contains spaces")
    url = _as_url(text)
    if url is not None:
        other = _platform_of_host(url[0])
        if other is None:
            raise BadInputError(f"{text!r} is not a {_LABEL[platform]} URL")
        if other is not platform:
            raise BadInputError(
                f"{text!r} is a {_LABEL[other]} URL: pass it with {_OPTION[other]}, "
                f"not {_OPTION[platform]}"
            )
    parser = {
        Platform.TWITTER: _twitter,
        Platform.YOUTUBE: _youtube,
        Platform.FACEBOOK: _facebook,
    }[platform]
    return parser(text, url)


def _as_url(text: str) -> tuple[str, list[str], dict[str, list[str]]] | None:
    """(host, path parts, query) when the text is a URL, with or without a scheme."""
    lowered = text.lower()
    has_scheme = lowered.startswith(("http://", "https://"))
    host_part = lowered.split("/", 1)[0]
    dotted = re.fullmatch(r"(?:[a-z0-9-]+\.)+[a-z]{2,}", host_part) is not None
    # Without a scheme, "a.b" is a URL only when it names a known host or has a path:
    # Facebook usernames may contain dots (harbour.supermarkets).
    looks_like_url = dotted and ("/" in lowered or _platform_of_host(host_part) is not None)
    if not has_scheme and not looks_like_url:
        return None
    parts = urlsplit(text if has_scheme else "https://" + text)
    host = (parts.hostname or "").lower()
    path = [unquote(p) for p in parts.path.split("/") if p]
    return host, path, parse_qs(parts.query)


def _platform_of_host(host: str) -> Platform | None:
    for platform, roots in _HOSTS.items():
        if any(host == root or host.endswith("." + root) for root in roots):
            return platform
    return None


def _twitter(text: str, url: tuple[str, list[str], dict[str, list[str]]] | None) -> Handle:
    if url is None:
        name = text.removeprefix("@")
    else:
        _, path, _ = url
        if not path:
            raise BadInputError(f"{text!r} names no X account (expected x.com/NAME)")
        name = path[0].removeprefix("@")
        if name.lower() in _TWITTER_RESERVED:
            raise BadInputError(f"{text!r} is not an X account URL (expected x.com/NAME)")
    if not _TWITTER_NAME.fullmatch(name):
        raise BadInputError(
            f"invalid X handle {text!r}: 1-15 letters, digits or underscores expected"
        )
    return Handle(Platform.TWITTER, name, "username", text)


def _youtube(text: str, url: tuple[str, list[str], dict[str, list[str]]] | None) -> Handle:
    if url is None:
        if text.startswith("@"):
            return _yt_handle(text[1:], text)
        if _YT_CHANNEL_ID.fullmatch(text):
            return Handle(Platform.YOUTUBE, text, "channel_id", text)
        if _YT_NAME.fullmatch(text):
            return Handle(Platform.YOUTUBE, text, "name", text)
        raise BadInputError(f"invalid YouTube channel {text!r}: use @handle, a channel id or URL")
    host, path, query = url
    if host.endswith("youtu.be") or not path or path[0] in {"watch", "shorts", "live", "embed"}:
        raise BadInputError(f"{text!r} is a YouTube video URL, not a channel")
    if path[0] in {"playlist", "feed", "results", "post"} or "list" in query:
        raise BadInputError(f"{text!r} is not a YouTube channel URL")
    head = path[0]
    if head.startswith("@"):
        return _yt_handle(head[1:], text)
    if head == "channel" and len(path) > 1 and _YT_CHANNEL_ID.fullmatch(path[1]):
        return Handle(Platform.YOUTUBE, path[1], "channel_id", text)
    if head == "user" and len(path) > 1 and _YT_NAME.fullmatch(path[1]):
        return Handle(Platform.YOUTUBE, path[1], "username", text)
    if head == "c" and len(path) > 1 and _YT_NAME.fullmatch(path[1]):
        return Handle(Platform.YOUTUBE, path[1], "custom", text)
    if len(path) >= 1 and _YT_NAME.fullmatch(head) and head not in {"channel", "user", "c"}:
        return Handle(Platform.YOUTUBE, head, "custom", text)
    raise BadInputError(f"{text!r} is not a YouTube channel URL")


def _yt_handle(name: str, raw: str) -> Handle:
    if not _YT_HANDLE.fullmatch(name):
        raise BadInputError(
            f"invalid YouTube handle {raw!r}: 3-30 letters, digits, '_', '-' or '.' expected"
        )
    return Handle(Platform.YOUTUBE, name, "handle", raw)


def _facebook(text: str, url: tuple[str, list[str], dict[str, list[str]]] | None) -> Handle:
    if url is None:
        if _FB_ID.fullmatch(text):
            return Handle(Platform.FACEBOOK, text, "page_id", text)
        if _FB_NAME.fullmatch(text) and not text.isdigit():
            return Handle(Platform.FACEBOOK, text, "username", text)
        raise BadInputError(
            f"invalid Facebook page {text!r}: use the page username, its numeric id or its URL"
        )
    _, path, query = url
    if not path:
        raise BadInputError(f"{text!r} names no Facebook page (expected facebook.com/NAME)")
    head = path[0].lower()
    if head == "profile.php":
        ids = query.get("id", [])
        if ids and _FB_ID.fullmatch(ids[0]):
            return Handle(Platform.FACEBOOK, ids[0], "page_id", text)
        raise BadInputError(f"{text!r} has no numeric id=")
    if head == "pages":
        numeric = [p for p in path[1:] if _FB_ID.fullmatch(p)]
        if numeric:
            return Handle(Platform.FACEBOOK, numeric[-1], "page_id", text)
        raise BadInputError(f"{text!r} has no numeric page id (expected /pages/Name/123)")
    if head in _FB_NOT_PAGES:
        raise BadInputError(f"{text!r} is {_FB_NOT_PAGES[head]}, not a Facebook page")
    if len(path) > 1 and path[1].lower() in _FB_NOT_PAGE_SUBPATHS:
        what = _FB_NOT_PAGE_SUBPATHS[path[1].lower()]
        raise BadInputError(f"{text!r} is {what}, not a Facebook page")
    if "story_fbid" in query or "fbid" in query:
        raise BadInputError(f"{text!r} is a post, not a Facebook page")
    name = path[0]
    if _FB_ID.fullmatch(name):
        return Handle(Platform.FACEBOOK, name, "page_id", text)
    if _FB_NAME.fullmatch(name):
        return Handle(Platform.FACEBOOK, name, "username", text)
    raise BadInputError(f"invalid Facebook page in {text!r}")

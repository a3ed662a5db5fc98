"""Platform-neutral, validated records: what connectors return and what reports are made of."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "SCHEMA_VERSION",
    "STAGE_NAMES",
    "Account",
    "AccountResult",
    "AccountSnapshot",
    "AccountStatus",
    "BrandReport",
    "Coverage",
    "Evidence",
    "Platform",
    "Post",
    "PostKind",
    "ReplyPolicy",
    "SignalValue",
    "ThreadSample",
    "UtcDatetime",
]

SCHEMA_VERSION = "1.0"

STAGE_NAMES: dict[int, str] = {
    0: "Doesn't care",
    1: "Internal / blocked",
    2: "Monitoring only",
    3: "Broadcast-out",
    4: "Viral distribution",
    5: "Campaigns",
    6: "Collaborative",
    7: "People-powered",
}


def _require_utc(value: datetime) -> datetime:
    """Naive datetimes are ambiguous across platforms; every timestamp must carry its zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware (UTC)")
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]

# A signal is a number, a flag, a short text, or None for "cannot be known from outside".
SignalValue = float | int | bool | str | None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Platform(StrEnum):
    TWITTER = "twitter"
    YOUTUBE = "youtube"
    FACEBOOK = "facebook"


class AccountStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    SUSPENDED = "suspended"
    PROTECTED = "protected"
    ERROR = "error"  # fetching failed for this account (quota, API error); status_detail says why


class PostKind(StrEnum):
    ORIGINAL = "original"
    REPLY = "reply"
    REPOST = "repost"
    QUOTE = "quote"


class ReplyPolicy(StrEnum):
    """Whether the public may answer a post."""

    OPEN = "open"
    RESTRICTED = "restricted"  # X reply_settings other than everyone
    DISABLED = "disabled"  # YouTube comments off, Facebook can_comment false


class Account(_Frozen):
    platform: Platform
    handle: str = Field(description="The handle as normalised by uptake (no @, no URL).")
    status: AccountStatus
    status_detail: str | None = None
    id: str | None = None
    display_name: str | None = None
    url: str | None = None
    created_at: UtcDatetime | None = None
    followers: int | None = Field(default=None, ge=0)
    following: int | None = Field(default=None, ge=0)
    post_count: int | None = Field(default=None, ge=0)
    description: str | None = None


class Post(_Frozen):
    """One item the account published. Metrics the platform does not expose are None, never 0."""

    id: str
    created_at: UtcDatetime
    text: str = ""
    title: str | None = None  # YouTube video title
    kind: PostKind = PostKind.ORIGINAL
    url: str | None = None
    reply_to_user_id: str | None = None
    referenced_author_id: str | None = None  # author of the reposted/quoted/replied-to post
    conversation_id: str | None = None
    mentions: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    likes: int | None = Field(default=None, ge=0)
    reposts: int | None = Field(default=None, ge=0)  # retweets / Facebook shares
    replies: int | None = Field(default=None, ge=0)  # replies / comments received
    quotes: int | None = Field(default=None, ge=0)
    views: int | None = Field(default=None, ge=0)
    reply_policy: ReplyPolicy | None = None


class ThreadSample(_Frozen):
    """What one post's visible comment threads show about the owner answering the community.

    `threads_answered` is None when the platform hides comment authors, so answers cannot be
    attributed; `reason` then says why.
    """

    post_id: str
    threads_seen: int = Field(ge=0)
    threads_answered: int | None = Field(default=None, ge=0)
    comments_disabled: bool = False
    reason: str | None = None


class AccountSnapshot(_Frozen):
    account: Account
    posts: tuple[Post, ...] = ()
    thread_samples: tuple[ThreadSample, ...] = ()
    fetched_at: UtcDatetime
    window_start: UtcDatetime | None = None
    window_end: UtcDatetime | None = None
    requests: int = Field(default=0, ge=0)
    quota_units: int = Field(default=0, ge=0, description="YouTube quota units spent.")
    post_reads: int = Field(default=0, ge=0, description="X posts read (billed per post).")
    skipped_items: int = Field(default=0, ge=0, description="Private/deleted items skipped.")
    notes: tuple[str, ...] = ()


class Evidence(_Frozen):
    signal: str
    value: SignalValue
    rule: str
    stage: int = Field(ge=0, le=7)
    weight: float = 1.0
    platform: Platform | None = None
    handle: str | None = None
    rationale: str = ""
    examples: tuple[str, ...] = Field(default=(), description="Post ids or links that show it.")


class AccountResult(_Frozen):
    platform: Platform
    handle: str
    status: AccountStatus
    status_detail: str | None = None
    display_name: str | None = None
    url: str | None = None
    stage: int | None = Field(default=None, ge=0, le=7)
    stage_name: str | None = None
    signals: dict[str, SignalValue] = Field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    requests: int = 0
    quota_units: int = 0
    post_reads: int = 0


class Coverage(_Frozen):
    accounts: int = 0
    posts_analysed: int = 0
    date_from: UtcDatetime | None = None
    date_to: UtcDatetime | None = None
    requests: int = 0
    quota_units: int = Field(default=0, description="YouTube quota units spent.")
    post_reads: int = Field(default=0, description="X posts read.")


class BrandReport(_Frozen):
    """The `uptake analyse --format json` document. Its JSON Schema is docs/report.schema.json."""

    schema_version: str = SCHEMA_VERSION
    brand: str
    as_of: UtcDatetime
    stage: int = Field(ge=0, le=7)
    stage_name: str
    confidence: float = Field(ge=0.0, le=1.0)
    insufficient_evidence: bool = False
    stage_range: tuple[int, int] | None = None
    regressed_from: int | None = Field(default=None, ge=0, le=7)
    platforms: tuple[AccountResult, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    advice: tuple[str, ...] = ()
    coverage: Coverage = Field(default_factory=Coverage)
    notes: tuple[str, ...] = ()


def report_json_schema() -> dict[str, Any]:
    """The published JSON Schema of the report document (docs/report.schema.json)."""
    return BrandReport.model_json_schema(mode="serialization")

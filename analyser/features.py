"""Signals of social media uptake, computed in pandas over every account of a run at once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

import pandas as pd

from analyser.models import AccountSnapshot, AccountStatus, Platform, PostKind, ReplyPolicy

__all__ = [
    "EXAMPLE_COLUMNS",
    "SIGNALS",
    "WORD_LISTS",
    "campaign_name",
    "compute_features",
    "load_words",
    "normalise_text",
    "words_pattern",
]

# Every signal column compute_features returns, in report order (documented in docs/signals.md).
SIGNALS: tuple[str, ...] = (
    "followers",
    "following",
    "post_count",
    "account_age_days",
    "posts_fetched",
    "posts_window",
    "posts_before_window",
    "days_since_last_post",
    "posts_per_week",
    "broadcast_ratio",
    "reply_rate",
    "response_rate",
    "closed_share",
    "community_repost_share",
    "distinct_mentioned",
    "mentioned_per_post",
    "call_for_input_share",
    "promotion_share",
    "commerce_share",
    "broadcast_content_share",
    "engagement_rate_median",
    "virality_ratio",
    "viral_posts",
    "peak_reach_per_follower",
    "views_per_day_median",
    "campaign_named",
    "campaign_name_reason",
    "founding_year",
    "active_span_days",
    "burst_span_days",
    "abandoned_after_burst",
    "never_posted",
    "silent_following",
    "handful_long_ago",
    "protected",
    "missing_campaign_named",
)

# Signals that describe accounts we could not read (everything else is unknown for them).
_STATUS_SIGNALS = frozenset({"protected", "missing_campaign_named"})

# Word lists shipped as data (analyser/data/words/<name>.txt), keyed by the signal they feed.
WORD_LISTS: dict[str, str] = {
    "call_for_input_share": "calls_for_input",
    "promotion_share": "promotions",
    "commerce_share": "commerce",
    "broadcast_content_share": "broadcast_content",
}

# Post references (links, else ids) that exemplify a signal, for `explain`.
EXAMPLE_COLUMNS: dict[str, str] = {
    "reply_rate": "ex_reply_rate",
    "community_repost_share": "ex_community_repost_share",
    "call_for_input_share": "ex_call_for_input_share",
    "promotion_share": "ex_promotion_share",
    "commerce_share": "ex_commerce_share",
    "broadcast_content_share": "ex_broadcast_content_share",
    "virality_ratio": "ex_virality_ratio",
    "closed_share": "ex_closed_share",
    "broadcast_ratio": "ex_broadcast_ratio",
    "abandoned_after_burst": "ex_abandoned_after_burst",
}

# Ratios over fewer posts than this are noise, so they are unknown (NaN) rather than extreme.
MIN_POSTS_FOR_RATIO = 8
# Fewer visible comment threads than this say too little about answering the community.
MIN_THREADS = 10
# A post this many times above the account's own median engagement is a viral outlier.
VIRAL_MULTIPLE = 10.0
# Stage 5: "For 6 weeks ... at the end of six weeks it's over." Bursts up to ten weeks count.
BURST_MAX_DAYS = 70
SILENCE_AFTER_BURST_DAYS = 90
CAMPAIGN_LOOKBACK_DAYS = 730
# Stages 1-2: "a handful" of posts.
HANDFUL = 10
# On these platforms the account's own replies to others appear among its posts.
_REPLIES_AS_POSTS = frozenset({Platform.TWITTER.value})
# On these platforms reposts/quotes of others appear among its posts.
_REPOSTS_AS_POSTS = frozenset({Platform.TWITTER.value})

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w])@[\w.]+")
_YEAR = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})(?![0-9])")
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def normalise_text(text: str) -> str:
    """Lower-case text with URLs and @mentions removed, '#' dropped and quotes straightened.

    >>> normalise_text("Vote NOW 🎉 #Feedback @someone https://x.co/a").split()
    ['vote', 'now', '🎉', 'feedback']
    """
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = text.replace("#", "").replace("’", "'").replace("‘", "'")
    return text.casefold()


@cache
def load_words(name: str) -> tuple[str, ...]:
    """One word list: phrases, one per line, '#' comments and blank lines ignored."""
    path = resources.files("analyser").joinpath("data", "words", f"{name}.txt")
    raw = path.read_text("utf-8")
    out = []
    for line in raw.splitlines():
        phrase = line.strip()
        if phrase and not phrase.startswith("#"):
            out.append(phrase.casefold())
    return tuple(out)


@cache
def words_pattern(name: str) -> re.Pattern[str]:
    """A regex matching any phrase of a word list as whole words in normalised text."""
    parts = []
    for phrase in sorted(load_words(name), key=len, reverse=True):
        escaped = r"\s+".join(re.escape(w) for w in phrase.split())
        parts.append(escaped)
    return re.compile(r"(?<![\w])(?:" + "|".join(parts) + r")(?![\w])")


@dataclass(frozen=True)
class CampaignName:
    """Why a name reads as a campaign (or a founding year that does not)."""

    named: bool
    reason: str | None
    founding_year: int | None


def campaign_name(
    handle: str,
    display_name: str | None,
    *,
    created_year: int | None,
    long_lived_and_active: bool,
) -> CampaignName:
    """Is the account named after a campaign, promotion, event, season or year, not the brand?

    A year is a campaign marker unless it is a founding year: well before the account was
    created (or before social media existed) on a long-lived, continuously active account.

    >>> campaign_name("cafe1921", None, created_year=2010, long_lived_and_active=True).named
    False
    >>> campaign_name("brandsummer2019", None, created_year=2019, long_lived_and_active=False)
    CampaignName(named=True, reason='name word summer; year 2019', founding_year=None)
    """
    words = set(load_words("campaign_names"))
    # Run-together names ("brandxmas"): words of four letters or more also count at either end
    # of a token, as long as something else (the brand) makes up at least three letters of it.
    long_words = [w for w in words if len(w) >= 4]
    tokens: list[str] = []
    for name in (handle, display_name or ""):
        spaced = _CAMEL.sub(" ", name).lower()
        tokens.extend(t for t in _TOKEN_SPLIT.split(spaced) if t)
    hit: str | None = None
    for token in tokens:
        if token in words:
            hit = token
            break
        found = next(
            (
                w
                for w in long_words
                if len(token) >= len(w) + 3 and (token.startswith(w) or token.endswith(w))
            ),
            None,
        )
        if found is not None:
            hit = found
            break
    reasons = [f"name word {hit}"] if hit else []
    founding: int | None = None
    for match in _YEAR.finditer(f"{handle} {display_name or ''}"):
        year = int(match.group(1))
        older_than_account = created_year is not None and year < created_year - 2
        if (older_than_account or year < 2004) and long_lived_and_active:
            founding = year
            continue
        reasons.append(f"year {year}")
        break
    return CampaignName(bool(reasons), "; ".join(reasons) or None, founding)


def _accounts_frame(snapshots: Sequence[AccountSnapshot], as_of: datetime) -> pd.DataFrame:
    rows = []
    for i, snap in enumerate(snapshots):
        acc = snap.account
        rows.append(
            {
                "acc": i,
                "platform": acc.platform.value,
                "handle": acc.handle,
                "status": acc.status.value,
                "account_id": acc.id,
                "display_name": acc.display_name,
                "created_at": acc.created_at,
                "followers": acc.followers,
                "following": acc.following,
                "post_count": acc.post_count,
                "threads_seen": sum(t.threads_seen for t in snap.thread_samples),
                "threads_answered": _sum_known(t.threads_answered for t in snap.thread_samples),
                "threads_disabled": sum(t.comments_disabled for t in snap.thread_samples),
                "threads_sampled": len(snap.thread_samples),
            }
        )
    frame = pd.DataFrame(rows).set_index("acc")
    for col in ("followers", "following", "post_count", "threads_answered"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    age = (pd.Timestamp(as_of) - frame["created_at"]).dt.total_seconds() / 86400.0
    frame["account_age_days"] = age
    return frame


def _sum_known(values: object) -> float:
    known = [v for v in values if v is not None]  # type: ignore[attr-defined]
    return float(sum(known)) if known else float("nan")


def _posts_frame(snapshots: Sequence[AccountSnapshot]) -> pd.DataFrame:
    columns = {
        "acc": [],
        "id": [],
        "ref": [],
        "created_at": [],
        "kind": [],
        "text": [],
        "reply_to_user_id": [],
        "referenced_author_id": [],
        "mentions": [],
        "likes": [],
        "reposts": [],
        "replies": [],
        "quotes": [],
        "views": [],
        "reply_policy": [],
    }  # type: dict[str, list[object]]
    for i, snap in enumerate(snapshots):
        for post in snap.posts:
            columns["acc"].append(i)
            columns["id"].append(post.id)
            columns["ref"].append(post.url or post.id)
            columns["created_at"].append(post.created_at)
            columns["kind"].append(post.kind.value)
            columns["text"].append(f"{post.title or ''} {post.text}")
            columns["reply_to_user_id"].append(post.reply_to_user_id)
            columns["referenced_author_id"].append(post.referenced_author_id)
            columns["mentions"].append([m.lower().lstrip("@") for m in post.mentions])
            for metric in ("likes", "reposts", "replies", "quotes", "views"):
                columns[metric].append(getattr(post, metric))
            policy = post.reply_policy
            columns["reply_policy"].append(policy.value if policy is not None else None)
    frame = pd.DataFrame(columns)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    for metric in ("likes", "reposts", "replies", "quotes", "views"):
        frame[metric] = pd.to_numeric(frame[metric], errors="coerce").astype("float64")
    frame["acc"] = frame["acc"].astype("int64")
    return frame


def _examples(mask: pd.Series, posts: pd.DataFrame, order: pd.Series | None = None) -> pd.Series:
    """Up to three post references per account where `mask` holds."""
    hits = posts.loc[mask.fillna(False).astype(bool), ["acc", "ref"]]
    if order is not None:
        hits = hits.assign(_o=order[hits.index].fillna(-1.0))
        hits = hits.sort_values(["acc", "_o"], ascending=[True, False], kind="stable")
    top = hits.groupby("acc").head(3)
    return top.groupby("acc")["ref"].agg(tuple)


def compute_features(
    snapshots: Sequence[AccountSnapshot], *, as_of: datetime, window_days: int = 365
) -> pd.DataFrame:
    """One row per account (index = position in `snapshots`) with every signal in SIGNALS.

    Pure: no I/O, no clock. Posts after `as_of` are ignored; the recent window is
    (as_of - window_days, as_of]. A signal that cannot be known is NaN/None, never 0.

    >>> from datetime import UTC
    >>> compute_features([], as_of=datetime(2026, 1, 1, tzinfo=UTC)).empty
    True
    """
    if not snapshots:
        return pd.DataFrame(columns=["platform", "handle", "status", *SIGNALS])
    now = pd.Timestamp(as_of)
    start = now - pd.Timedelta(days=window_days)
    acc = _accounts_frame(snapshots, as_of)
    idx = acc.index
    found = acc["status"] == AccountStatus.FOUND.value

    every = _posts_frame(snapshots)
    every = every[every["created_at"] <= now]
    every = every.assign(
        own_id=acc["account_id"].reindex(every["acc"]).to_numpy(),
        own_handle=acc["handle"].str.lower().reindex(every["acc"]).to_numpy(),
    )
    posts = _post_flags(every[every["created_at"] > start].copy(), now)

    out = pd.DataFrame(index=idx)
    for col in ("platform", "handle", "status", "display_name"):
        out[col] = acc[col]
    for col in ("followers", "following", "post_count", "account_age_days"):
        out[col] = acc[col]

    # Life cycle over everything fetched (not only the window).
    life = every.groupby("acc")["created_at"].agg(["size", "min", "max"]).reindex(idx)
    q05 = every.groupby("acc")["created_at"].quantile(0.05).reindex(idx)
    q95 = every.groupby("acc")["created_at"].quantile(0.95).reindex(idx)
    fetched = life["size"].fillna(0).astype("float64")
    out["posts_fetched"] = fetched
    out["days_since_last_post"] = _days(now - pd.to_datetime(life["max"], utc=True))
    out["active_span_days"] = _days(
        pd.to_datetime(life["max"], utc=True) - pd.to_datetime(life["min"], utc=True)
    )
    # The central 90% of an account's posting dates: short for a six-week burst.
    out["burst_span_days"] = _days(pd.to_datetime(q95, utc=True) - pd.to_datetime(q05, utc=True))

    agg = posts.groupby("acc").agg(
        n=("id", "size"),
        oldest=("created_at", "min"),
        orig=("_orig", "mean"),
        reply=("_reply", "mean"),
        share=("_share", "mean"),
        closed_n=("_closed", "sum"),
        policy_known=("_policy_known", "sum"),
        eng_median=("_eng", "median"),
        reach_median=("_reach", "median"),
        reach_max=("_reach", "max"),
        vpd=("_vpd", "median"),
        **{s: (f"_{s}", "mean") for s in WORD_LISTS},
    )
    agg = agg.reindex(idx)
    n = agg["n"].fillna(0).astype("float64")
    enough = n >= MIN_POSTS_FOR_RATIO
    out["posts_window"] = n
    out["posts_before_window"] = fetched - n

    # Cadence over the part of the window the fetch covers (max_posts can stop short of it).
    truncated = acc["post_count"].notna() & (acc["post_count"] > fetched)
    oldest = pd.to_datetime(agg["oldest"], utc=True)
    covered_from = oldest.where(truncated, start)
    covered_days = _days(now - covered_from).clip(lower=7.0)
    out["posts_per_week"] = (n / (covered_days / 7.0)).where(n > 0, 0.0)

    twitter_like = acc["platform"].isin(_REPLIES_AS_POSTS)
    out["broadcast_ratio"] = agg["orig"].astype("float64").where(enough)
    out["reply_rate"] = agg["reply"].astype("float64").where(enough & twitter_like)
    seen = acc["threads_seen"].astype("float64")
    answered = acc["threads_answered"]
    out["response_rate"] = (answered / seen).where((seen >= MIN_THREADS) & answered.notna())

    # Closed to replies: the post's own policy where known, else sampled threads (YouTube).
    known = agg["policy_known"].fillna(0).astype("float64")
    closed = agg["closed_n"].fillna(0).astype("float64") / known
    sampled = acc["threads_sampled"].astype("float64")
    disabled = acc["threads_disabled"].astype("float64") / sampled.where(sampled > 0)
    out["closed_share"] = closed.where(known >= MIN_POSTS_FOR_RATIO).fillna(disabled.where(enough))
    out["community_repost_share"] = (
        agg["share"].astype("float64").where(enough & acc["platform"].isin(_REPOSTS_AS_POSTS))
    )

    mentions = posts[["acc", "mentions", "own_handle"]].explode("mentions")
    mentions = mentions[
        mentions["mentions"].notna() & (mentions["mentions"] != mentions["own_handle"])
    ]
    distinct = mentions.groupby("acc")["mentions"].nunique().reindex(idx, fill_value=0)
    out["distinct_mentioned"] = distinct.astype("float64").where(n > 0)
    out["mentioned_per_post"] = (distinct / n).where(enough)

    for signal in WORD_LISTS:
        out[signal] = agg[signal].astype("float64").where(enough)

    followers = acc["followers"].where(acc["followers"] > 0)
    out["engagement_rate_median"] = (agg["eng_median"] / followers).where(enough)
    base = agg["reach_median"].clip(lower=1.0)
    out["virality_ratio"] = (agg["reach_max"] / base).where(enough & agg["reach_median"].notna())
    multiple = posts["_reach"] / base.reindex(posts["acc"]).to_numpy()
    viral = (multiple >= VIRAL_MULTIPLE).fillna(False)
    viral_n = viral.groupby(posts["acc"]).sum().reindex(idx, fill_value=0).astype("float64")
    out["viral_posts"] = viral_n.where(out["virality_ratio"].notna())
    out["peak_reach_per_follower"] = (agg["reach_max"] / followers).where(enough)
    out["views_per_day_median"] = agg["vpd"].astype("float64")

    for signal, column in EXAMPLE_COLUMNS.items():
        if signal == "abandoned_after_burst":  # the last posts before the silence
            every_mask = pd.Series(True, index=every.index)
            order = every["created_at"].astype("int64").astype("float64")
            out[column] = _examples(every_mask, every, order=order).reindex(idx)
            continue
        mask = viral if signal == "virality_ratio" else posts[_EXAMPLE_FLAGS[signal]]
        out[column] = _examples(mask, posts, order=posts["_reach"]).reindex(idx)

    _life_cycle(out, acc, window_days)

    # An account we could not read has no signals at all: unknown, not zero.
    for col in out.columns:
        if col in ("platform", "handle", "status", "display_name") or col in _STATUS_SIGNALS:
            continue
        if out[col].dtype == bool or out[col].dtype == object:
            out[col] = out[col].astype(object).where(found, None)
        else:
            out[col] = out[col].where(found)
    return out


_EXAMPLE_FLAGS = {
    "reply_rate": "_reply",
    "community_repost_share": "_share",
    "closed_share": "_closed",
    "broadcast_ratio": "_orig",
    **{s: f"_{s}" for s in WORD_LISTS},
}


def _days(delta: pd.Series) -> pd.Series:
    days: pd.Series = delta.dt.total_seconds() / 86400.0
    return days


def _post_flags(posts: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Per-post booleans and numbers the account aggregates are built from."""
    kind = posts["kind"]
    reply_to = posts["reply_to_user_id"]
    referenced = posts["referenced_author_id"]
    policy = posts["reply_policy"]
    # normalise_text, vectorised over every post of the run.
    text = (
        posts["text"]
        .astype(object)
        .str.replace(_URL, " ", regex=True)
        .str.replace(_MENTION, " ", regex=True)
        .str.replace("#", "", regex=False)
        .str.replace("’", "'", regex=False)
        .str.replace("‘", "'", regex=False)
        .str.casefold()
    )
    engagement = posts[["likes", "reposts", "replies", "quotes"]].sum(axis=1, min_count=1)
    age_days = _days(now - posts["created_at"]).clip(lower=1.0)
    flags: dict[str, pd.Series] = {
        "_orig": kind == PostKind.ORIGINAL.value,
        # A reply to the account's own post is a thread, not a conversation with someone.
        "_reply": (kind == PostKind.REPLY.value)
        & (reply_to.isna() | (reply_to != posts["own_id"])),
        "_share": kind.isin([PostKind.REPOST.value, PostKind.QUOTE.value])
        & referenced.notna()
        & (referenced != posts["own_id"]),
        "_closed": policy.isin([ReplyPolicy.RESTRICTED.value, ReplyPolicy.DISABLED.value])
        & policy.notna(),
        "_policy_known": policy.notna(),
        "_eng": engagement,
        "_reach": posts["views"].where(posts["views"].notna(), engagement),
        "_vpd": posts["views"] / age_days,
    }
    for signal, list_name in WORD_LISTS.items():
        flags[f"_{signal}"] = text.str.contains(words_pattern(list_name), regex=True).astype(bool)
    return posts.assign(**flags)


def _life_cycle(out: pd.DataFrame, acc: pd.DataFrame, window_days: int) -> None:
    """Names and life cycle: the campaign-account story of stage 5 and the traces of 1-2."""
    # Long-lived and continuously active: two years old (where the platform shows creation;
    # Facebook pages do not), a year of visible posting, and posting in the last six months.
    old_enough = out["account_age_days"].isna() | (out["account_age_days"] >= 730)
    long_lived_active = old_enough & (out["days_since_last_post"] <= 180)
    long_lived_active &= out["active_span_days"].fillna(0) >= 365
    created_year = acc["created_at"].dt.year
    names = [
        campaign_name(
            str(h),
            None if pd.isna(d) else str(d),
            created_year=None if pd.isna(y) else int(y),
            long_lived_and_active=bool(a),
        )
        for h, d, y, a in zip(
            acc["handle"], acc["display_name"], created_year, long_lived_active, strict=True
        )
    ]
    out["campaign_named"] = pd.Series([c.named for c in names], index=out.index, dtype=object)
    out["campaign_name_reason"] = pd.Series(
        [c.reason for c in names], index=out.index, dtype=object
    )
    out["founding_year"] = pd.Series(
        [float("nan") if c.founding_year is None else c.founding_year for c in names],
        index=out.index,
        dtype="float64",
    )
    out["abandoned_after_burst"] = (
        (out["posts_fetched"] >= 5)
        & (out["burst_span_days"] <= BURST_MAX_DAYS)
        & (out["days_since_last_post"] >= SILENCE_AFTER_BURST_DAYS)
        & (out["days_since_last_post"] <= CAMPAIGN_LOOKBACK_DAYS)
    )
    gone = acc["status"].isin([AccountStatus.NOT_FOUND.value, AccountStatus.SUSPENDED.value])
    out["missing_campaign_named"] = (gone & out["campaign_named"].astype(bool)).astype(object)
    out["protected"] = (acc["status"] == AccountStatus.PROTECTED.value).astype(object)
    out["never_posted"] = (out["posts_fetched"] == 0) & (acc["post_count"].fillna(0) == 0)
    out["silent_following"] = acc["following"].where(out["posts_fetched"] <= HANDFUL)
    out["handful_long_ago"] = (
        (out["posts_fetched"] > 0)
        & (out["posts_fetched"] <= HANDFUL)
        & (acc["post_count"].fillna(0) <= HANDFUL)
        & (out["days_since_last_post"] >= window_days)
    )

"""Signals: word lists on real text, campaign names, and unknown-is-not-zero over all accounts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from analyser.features import (
    SIGNALS,
    WORD_LISTS,
    campaign_name,
    compute_features,
    load_words,
    normalise_text,
    words_pattern,
)
from analyser.models import (
    Account,
    AccountSnapshot,
    AccountStatus,
    Platform,
    Post,
    PostKind,
    ReplyPolicy,
    ThreadSample,
)

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def account(handle: str, platform: Platform = Platform.TWITTER, **kw: object) -> Account:
    fields: dict[str, object] = {
        "platform": platform,
        "handle": handle,
        "status": AccountStatus.FOUND,
        "id": f"id-{handle}",
        "created_at": datetime(2015, 1, 1, tzinfo=UTC),
        "followers": 1000,
        "following": 50,
    }
    fields.update(kw)
    return Account.model_validate(fields)


def post(n: int, days_ago: float, text: str = "Fresh bread today.", **kw: object) -> Post:
    fields: dict[str, object] = {
        "id": f"p{n}",
        "created_at": AS_OF - timedelta(days=days_ago),
        "text": text,
        "url": f"https://x.com/a/status/{n}",
        "likes": 10,
        "reposts": 1,
        "replies": 1,
        "quotes": 0,
        "reply_policy": ReplyPolicy.OPEN,
    }
    fields.update(kw)
    return Post.model_validate(fields)


def snap(
    acc: Account, posts: list[Post], samples: tuple[ThreadSample, ...] = ()
) -> AccountSnapshot:
    return AccountSnapshot(
        account=acc, posts=tuple(posts), thread_samples=samples, fetched_at=AS_OF
    )


def hits(list_name: str, text: str) -> bool:
    return words_pattern(list_name).search(normalise_text(text)) is not None


@pytest.mark.parametrize(
    ("list_name", "text", "expected"),
    [
        ("promotions", "WIN a hamper! 🎁 RT to enter", True),
        ("promotions", "#Giveaway time", True),
        ("promotions", "T&Cs apply", True),
        ("promotions", "Window cleaning day at the shop", False),
        ("promotions", "thanks @winprizes for the shout", False),
        ("promotions", "see https://example.com/win-big", False),
        ("calls_for_input", "Help us DESIGN the next one 👇", True),
        ("calls_for_input", "Which should we bring back?", True),
        ("calls_for_input", "We’d love your input on the lids", True),
        ("calls_for_input", "https://example.com/vote-for-us", False),
        ("calls_for_input", "We voted early this year", False),
        ("commerce", "New listings from our makers ✨", True),
        ("commerce", "Remember to hydrate", False),
        ("broadcast_content", "Our new TV ad is here 📺", True),
        ("broadcast_content", "Watch the CEO's interview", True),
    ],
)
def test_word_lists_on_real_text(list_name: str, text: str, expected: bool) -> None:
    assert hits(list_name, text) is expected


def test_word_lists_are_data_files_with_phrases() -> None:
    for list_name in WORD_LISTS.values():
        words = load_words(list_name)
        assert len(words) >= 10
        assert all(w == w.casefold() and not w.startswith("#") for w in words)


@pytest.mark.parametrize(
    ("handle", "created", "long_lived", "named", "founding"),
    [
        ("brandsummer2019", 2019, False, True, None),
        ("tidesummer", 2024, False, True, None),
        ("brandxmas", 2024, False, True, None),
        ("win_big_promo", 2020, False, True, None),
        ("cafe1921", 2010, True, False, 1921),
        ("cafe1921", 2010, False, True, None),  # short-lived: a year is a year
        ("cafe1921", None, True, False, 1921),  # creation unknown: before social media existed
        ("launch2025", 2025, True, True, None),  # a year near creation is a campaign year
        ("harbourbakery", 2012, True, False, None),
        ("windmill", 2012, True, False, None),  # "win" only as a whole token
    ],
)
def test_campaign_names(
    handle: str, created: int | None, long_lived: bool, named: bool, founding: int | None
) -> None:
    result = campaign_name(handle, None, created_year=created, long_lived_and_active=long_lived)
    assert result.named is named, result
    assert result.founding_year == founding


def test_every_signal_is_a_column_and_unknown_accounts_have_none() -> None:
    gone = snap(account("gone", status=AccountStatus.NOT_FOUND, id=None), [])
    live = snap(account("live"), [post(i, i * 3) for i in range(20)])
    frame = compute_features([gone, live], as_of=AS_OF)
    assert set(SIGNALS) <= set(frame.columns)
    row = frame.loc[0]
    for signal in SIGNALS:
        if signal in ("protected", "missing_campaign_named"):
            assert row[signal] is False or row[signal] == False  # noqa: E712 - numpy bool
            continue
        value = row[signal]
        assert value is None or (isinstance(value, float) and math.isnan(value)), signal


def test_platform_without_replies_as_posts_has_unknown_reply_rate() -> None:
    videos = [post(i, i * 5, title="A video", views=100) for i in range(12)]
    frame = compute_features([snap(account("chan", Platform.YOUTUBE), videos)], as_of=AS_OF)
    assert math.isnan(frame.loc[0, "reply_rate"])
    assert math.isnan(frame.loc[0, "community_repost_share"])
    assert frame.loc[0, "broadcast_ratio"] == 1.0


def test_replies_reposts_mentions_and_closed_share() -> None:
    acc = account("brand")
    posts = [
        post(1, 1, "@amy thanks!", kind=PostKind.REPLY, reply_to_user_id="u1", mentions=("amy",)),
        post(2, 2, "@bob sorry", kind=PostKind.REPLY, reply_to_user_id="u2", mentions=("bob",)),
        # A reply to itself is a thread, not a conversation.
        post(3, 3, "and more", kind=PostKind.REPLY, reply_to_user_id="id-brand"),
        post(
            4,
            4,
            "RT @amy: sold",
            kind=PostKind.REPOST,
            referenced_author_id="u1",
            mentions=("amy",),
        ),
        post(5, 5, "news", reply_policy=ReplyPolicy.RESTRICTED),
        post(6, 6, "news", reply_policy=ReplyPolicy.RESTRICTED),
        post(7, 7, "news", reply_policy=ReplyPolicy.OPEN),
        post(8, 8, "news", reply_policy=ReplyPolicy.OPEN),
        post(9, 9, "news mentioning @Brand itself", mentions=("Brand",)),
        post(10, 10, "news", reply_policy=ReplyPolicy.OPEN),
    ]
    row = compute_features([snap(acc, posts)], as_of=AS_OF).loc[0]
    assert row["reply_rate"] == pytest.approx(0.2)
    assert row["community_repost_share"] == pytest.approx(0.1)
    assert row["distinct_mentioned"] == 2  # amy, bob; not the account itself
    assert row["closed_share"] == pytest.approx(2 / 10)
    assert row["broadcast_ratio"] == pytest.approx(0.6)
    assert row["ex_reply_rate"] is not None and len(row["ex_reply_rate"]) == 2


def test_window_and_reference_date_decide() -> None:
    acc = account("brand", post_count=30)
    posts = [post(i, 10 * i) for i in range(30)]  # 0..290 days ago
    posts.append(post(99, -5))  # after the analysis date: ignored
    frame = compute_features([snap(acc, posts)], as_of=AS_OF, window_days=100)
    row = frame.loc[0]
    assert row["posts_window"] == 10  # 0, 10, ... 90 days ago
    assert row["posts_before_window"] == 20
    assert row["days_since_last_post"] == 0
    again = compute_features([snap(acc, posts)], as_of=AS_OF, window_days=100)
    pd.testing.assert_frame_equal(frame, again)


def test_stage_is_not_size_engagement_is_per_follower() -> None:
    small = account("small", followers=500)
    giant = account("giant", followers=5_000_000)
    small_posts = [post(i, i, likes=10, reposts=0, replies=0, quotes=0) for i in range(10)]
    giant_posts = [post(i, i, likes=100_000, reposts=0, replies=0, quotes=0) for i in range(10)]
    frame = compute_features([snap(small, small_posts), snap(giant, giant_posts)], as_of=AS_OF)
    assert frame.loc[0, "engagement_rate_median"] == pytest.approx(0.02)
    assert frame.loc[1, "engagement_rate_median"] == pytest.approx(0.02)
    assert frame.loc[0, "virality_ratio"] == pytest.approx(frame.loc[1, "virality_ratio"])


def test_virality_against_own_median_and_unknown_metrics() -> None:
    normal = [post(i, i + 1, views=1000) for i in range(10)]
    hit = post(50, 20, views=40_000)
    row = compute_features([snap(account("v"), [*normal, hit])], as_of=AS_OF).loc[0]
    assert row["virality_ratio"] == pytest.approx(40.0)
    assert row["viral_posts"] == 1
    assert row["ex_virality_ratio"][0].endswith("/50")
    # No metric at all: engagement is unknown, not zero.
    blind = [post(i, i + 1, likes=None, reposts=None, replies=None, quotes=None) for i in range(10)]
    row = compute_features([snap(account("b"), blind)], as_of=AS_OF).loc[0]
    assert math.isnan(row["engagement_rate_median"])
    assert math.isnan(row["virality_ratio"])


def test_response_rate_needs_visible_authors_and_enough_threads() -> None:
    videos = [post(i, i + 1, title="v") for i in range(10)]
    answered = tuple(
        ThreadSample(post_id=f"p{i}", threads_seen=5, threads_answered=2) for i in range(4)
    )
    withheld = tuple(
        ThreadSample(post_id=f"p{i}", threads_seen=5, threads_answered=None, reason="hidden")
        for i in range(4)
    )
    few = (ThreadSample(post_id="p1", threads_seen=2, threads_answered=2),)
    frame = compute_features(
        [
            snap(account("a", Platform.YOUTUBE), videos, answered),
            snap(account("b", Platform.FACEBOOK), videos, withheld),
            snap(account("c", Platform.YOUTUBE), videos, few),
        ],
        as_of=AS_OF,
    )
    assert frame.loc[0, "response_rate"] == pytest.approx(0.4)
    assert math.isnan(frame.loc[1, "response_rate"])
    assert math.isnan(frame.loc[2, "response_rate"])


def test_life_cycle_traces() -> None:
    never = snap(account("never", following=5, post_count=0), [])
    listening = snap(account("ears", following=900, post_count=0), [])
    burst_posts = [post(i, 200 + i, "WIN a prize! RT to enter") for i in range(20)]
    campaign = snap(account("brandsummer2025", created_at=AS_OF - timedelta(days=260)), burst_posts)
    old = snap(account("old", post_count=3), [post(i, 900 + i) for i in range(3)])
    frame = compute_features([never, listening, campaign, old], as_of=AS_OF)
    assert frame.loc[0, "never_posted"] is True
    assert frame.loc[1, "silent_following"] == 900
    assert frame.loc[2, "abandoned_after_burst"] is True
    assert frame.loc[2, "campaign_named"] is True
    assert frame.loc[3, "handful_long_ago"] is True
    assert frame.loc[3, "abandoned_after_burst"] is False


def test_empty_run() -> None:
    frame = compute_features([], as_of=AS_OF)
    assert frame.empty


def test_vectorised_text_matching_agrees_with_normalise_text() -> None:
    texts = [
        "WIN a hamper! 🎁 RT to enter",
        "thanks @winprizes for the shout",
        "see https://example.com/win-big",
        "#Giveaway time",
        "We’d love your input on the lids",
        "Help us DESIGN the next one 👇",
        "New listings from our makers ✨",
        "Our new TV ad is here 📺",
        "Window cleaning day",
        "Fresh bread today.",
    ]
    posts = [post(i, i + 1, text) for i, text in enumerate(texts)]
    row = compute_features([snap(account("words"), posts)], as_of=AS_OF).loc[0]
    for signal, list_name in WORD_LISTS.items():
        expected = sum(hits(list_name, t) for t in texts) / len(texts)
        assert row[signal] == pytest.approx(expected), signal

"""Render a simulated account plan into the AccountSnapshot a perfect connector would return."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

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

__all__ = ["BANKS", "MEMBER_BANK", "SYLLABLES", "AccountPlan", "render_account"]

# Text banks. Generic on purpose: no real brand, and none of them names a demo brand.
BANKS: dict[str, tuple[str, ...]] = {
    "neutral": (
        "Fresh stock of the autumn range just landed.",
        "Open late this Thursday 🌙",
        "Behind the scenes at the workshop today.",
        "The team at the trade fair this week, come and say hello.",
        "A quick look at how every order gets packed.",
        "Morning! Coffee's on ☕",
        "Here's what's new on the shelves.",
        "Rainy day? Perfect weather for a visit.",
        "Our delivery van got a fresh coat of paint.",
        "Back to normal opening hours from Monday.",
        "Some photos from last weekend.",
        "Thank you to everyone who visited on Saturday!",
    ),
    "broadcast": (
        "Watch the interview with our CEO on the year ahead.",
        "Announcing our new partnership with a national retailer.",
        "Our new TV ad is here 📺",
        "Press release: the annual report is out.",
        "The keynote from this week's industry summit, in full.",
        "Now available in every store nationwide.",
        "Our managing director on what comes next.",
        "Announcement: the new head office opens in spring.",
    ),
    "calls": (
        "Help us design our next flavour: what should we try?",
        "Tell us how we can make deliveries better 👇",
        "Vote for the colour of the next release!",
        "Which should we bring back: the classic or the spiced?",
        "Send us your ideas for the winter menu.",
        "We want your input on the new packaging.",
        "Have your say on the new opening hours.",
        "What would you like to see in the shop next? Your suggestions welcome.",
    ),
    "promo": (
        "WIN a hamper! RT to enter. T&Cs apply.",
        "Giveaway time 🎁 follow & RT for a chance to win.",
        "Competition: tag a friend to enter. Winner drawn Friday.",
        "Last chance to enter our prize draw!",
        "Use the promo code at checkout, limited time only.",
        "Summer contest: share your photo to win a year's supply.",
    ),
    "commerce": (
        "Meet this week's featured maker and her hand-thrown bowls.",
        "New listings from sellers up north this week.",
        "Members listed over 400 items this month 🎉",
        "Shop owner spotlight: leather goods from a two-person studio.",
        "A buyer and a maker matched on a custom commission.",
        "Start selling to the community today: it takes five minutes.",
        "New in the shop from our makers: linen, glaze and brass.",
        "Sellers: the marketplace fee drops for first listings.",
    ),
    "reply": (
        "Thanks for letting us know, we'll sort it out today.",
        "Sorry about that! Send us a DM with the order number.",
        "Great idea, passed it on to the team.",
        "Glad you liked it!",
        "It's back in stock on Friday.",
        "Good question: yes, it ships overseas.",
        "Thank you, that made our day 😊",
        "We've fixed the link, thanks for spotting it.",
    ),
    "viral": (
        "We made a tiny dog a tiny delivery van. You're welcome.",
        "Forty-seven people, one very long sandwich 🥪",
        "The office plant has opinions. Sound on.",
    ),
}
# What a community member's post (reposted or quoted by the brand) says.
MEMBER_BANK = (
    "New in the shop: hand-thrown mugs in three glazes.",
    "Just listed: a linen apron, made to order.",
    "Sold out in a day, thank you all! Restocking soon.",
    "Took my first commission through the marketplace today.",
    "My stall is open again with twelve new pieces.",
)

SYLLABLES = (
    "bar", "cor", "del", "fen", "gal", "hol", "jun", "kel", "lor", "mar", "nes", "orb", "pel",
    "quin", "ros", "sal", "tam", "ul", "ver", "wen", "yar", "zel", "bri", "cas", "dun", "eld",
)  # fmt: skip
TWITTER_EPOCH_MS = 1288834974657


@dataclass(frozen=True)
class AccountPlan:
    """How one synthetic account behaves; rendered into an AccountSnapshot by render_account."""

    platform: Platform
    handle: str
    status: AccountStatus = AccountStatus.FOUND
    created_days_ago: float = 2000.0
    followers: int = 1000
    following: int | None = 100
    # (count, newest_days_ago, oldest_days_ago) per era of posting.
    eras: tuple[tuple[int, float, float], ...] = ()
    # Share of each bank among original posts of each era (parallel to eras).
    topics: tuple[dict[str, float], ...] = ()
    reply_share: tuple[float, ...] = ()  # X: replies to others, per era
    repost_share: tuple[float, ...] = ()  # X: reposts/quotes of members, per era
    response_rate: tuple[float, ...] = ()  # YouTube/Facebook: threads answered, per era
    closed_share: float = 0.0
    engagement_rate: float = 0.01  # median engagement per post / followers
    spread: float = 0.5  # lognormal sigma of engagement around the median
    viral_posts: int = 0
    viral_multiple: float = 30.0
    display_name: str | None = None
    authors_visible: bool = False  # Facebook: comment authors shown (page token)
    extra_post_count: int = 0  # posts older than what is rendered (history not fetched)
    chatty: bool = False  # the community comments because it gets answers


class _Ids:
    """Platform-shaped, unique ids from one seeded stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seq = rng.randrange(1 << 20)

    def tweet(self, at: datetime) -> str:
        self.seq = (self.seq + 1) & 0x3FFFFF
        ms = int(at.timestamp() * 1000) - TWITTER_EPOCH_MS
        return str((max(ms, 1) << 22) | self.seq)

    def digits(self, n: int) -> str:
        return str(self.rng.randrange(10 ** (n - 1), 10**n))

    def chars(self, n: int) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "".join(self.rng.choice(alphabet) for _ in range(n))


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    total = sum(weights.values())
    roll = rng.random() * total
    for bank, w in weights.items():
        roll -= w
        if roll <= 0:
            return bank
    return next(iter(weights))


def render_account(plan: AccountPlan, *, as_of: datetime, seed: int) -> AccountSnapshot:
    """The snapshot a perfect connector would return for `plan` on `as_of` (the truth)."""
    rng = random.Random(seed)
    ids = _Ids(rng)
    platform = plan.platform
    if plan.status is not AccountStatus.FOUND:
        account = Account(platform=platform, handle=plan.handle, status=plan.status)
        return AccountSnapshot(account=account, fetched_at=as_of)
    if platform is Platform.TWITTER:
        account_id = ids.digits(12)
        url = f"https://x.com/{plan.handle}"
    elif platform is Platform.YOUTUBE:
        account_id = "UC" + ids.chars(22)
        url = f"https://www.youtube.com/@{plan.handle}"
    else:
        account_id = ids.digits(15)
        url = f"https://www.facebook.com/{plan.handle}"

    posts: list[Post] = []
    samples: list[ThreadSample] = []
    for era, (count, newest, oldest) in enumerate(plan.eras):
        topics = plan.topics[era] if era < len(plan.topics) else {"neutral": 1.0}
        reply_share = plan.reply_share[era] if era < len(plan.reply_share) else 0.0
        repost_share = plan.repost_share[era] if era < len(plan.repost_share) else 0.0
        for _ in range(count):
            age = rng.uniform(newest, oldest)
            at = (as_of - timedelta(days=age)).replace(microsecond=0)
            roll = rng.random()
            if platform is Platform.TWITTER and roll < reply_share:
                kind = PostKind.REPLY
            elif platform is Platform.TWITTER and roll < reply_share + repost_share:
                kind = PostKind.REPOST if rng.random() < 0.7 else PostKind.QUOTE
            else:
                kind = PostKind.ORIGINAL
            posts.append(_post(plan, kind, _pick(rng, topics), at, account_id, ids, rng))
    posts = _with_engagement(plan, posts, rng, as_of)
    posts.sort(key=lambda p: p.created_at, reverse=True)
    samples = _samples(plan, posts, rng, as_of)
    account = Account(
        platform=platform,
        handle=plan.handle,
        status=AccountStatus.FOUND,
        id=account_id,
        display_name=plan.display_name or plan.handle,
        url=url,
        # Graph does not say when a page was created.
        created_at=None
        if platform is Platform.FACEBOOK
        else (as_of - timedelta(days=plan.created_days_ago)).replace(microsecond=0),
        followers=plan.followers,
        following=plan.following if platform is Platform.TWITTER else None,
        post_count=len(posts) + plan.extra_post_count
        if platform is not Platform.FACEBOOK
        else None,
        description="Synthetic brand generated by uptake's simulator.",
    )
    return AccountSnapshot(
        account=account,
        posts=tuple(posts),
        thread_samples=tuple(samples),
        fetched_at=as_of,
    )


def _post(
    plan: AccountPlan,
    kind: PostKind,
    bank: str,
    at: datetime,
    account_id: str,
    ids: _Ids,
    rng: random.Random,
) -> Post:
    platform = plan.platform
    if platform is Platform.TWITTER:
        post_id = ids.tweet(at)
    elif platform is Platform.YOUTUBE:
        post_id = ids.chars(11)
    else:
        post_id = f"{account_id}_{ids.digits(16)}"
    open_ = rng.random() >= plan.closed_share
    if platform is Platform.TWITTER:
        policy = ReplyPolicy.OPEN if open_ else ReplyPolicy.RESTRICTED
    else:
        policy = ReplyPolicy.OPEN if open_ else ReplyPolicy.DISABLED
    member = f"{rng.choice(SYLLABLES)}{rng.choice(SYLLABLES)}{rng.randrange(10, 99)}"
    member_id = ids.digits(11)
    if kind is PostKind.REPLY:
        text = f"@{member} {rng.choice(BANKS['reply'])}"
        return Post(
            id=post_id,
            created_at=at,
            text=text,
            kind=kind,
            url=f"https://x.com/{plan.handle}/status/{post_id}",
            reply_to_user_id=member_id,
            referenced_author_id=member_id,
            conversation_id=ids.tweet(at - timedelta(hours=1)),
            mentions=(member,),
            reply_policy=ReplyPolicy.OPEN,
        )
    if kind in (PostKind.REPOST, PostKind.QUOTE):
        said = rng.choice(MEMBER_BANK)
        text = f"RT @{member}: {said}" if kind is PostKind.REPOST else f"Lovely work @{member}"
        return Post(
            id=post_id,
            created_at=at,
            text=text if kind is PostKind.REPOST else f"{text} — {said}",
            kind=kind,
            url=f"https://x.com/{plan.handle}/status/{post_id}",
            referenced_author_id=member_id,
            mentions=(member,),
            reply_policy=ReplyPolicy.OPEN,
        )
    text = rng.choice(BANKS[bank])
    if platform is Platform.YOUTUBE:
        return Post(
            id=post_id,
            created_at=at,
            title=text,
            text="Subscribe for more.",
            url=f"https://www.youtube.com/watch?v={post_id}",
            reply_policy=policy,
        )
    if platform is Platform.FACEBOOK:
        page, _, local = post_id.partition("_")
        return Post(
            id=post_id,
            created_at=at,
            text=text,
            url=f"https://www.facebook.com/{page}/posts/{local}",
            reply_policy=policy,
        )
    return Post(
        id=post_id,
        created_at=at,
        text=text,
        url=f"https://x.com/{plan.handle}/status/{post_id}",
        reply_policy=policy,
    )


def _with_engagement(
    plan: AccountPlan, posts: list[Post], rng: random.Random, as_of: datetime
) -> list[Post]:
    """Metrics around the account's own median, a few viral outliers among recent originals."""
    median = max(1.0, plan.followers * plan.engagement_rate)
    recent = [
        i
        for i, p in enumerate(posts)
        if p.kind is PostKind.ORIGINAL and (as_of - p.created_at).days < 330
    ]
    viral = set(rng.sample(recent, min(plan.viral_posts, len(recent))))
    out = []
    for i, post in enumerate(posts):
        eng = median * rng.lognormvariate(0.0, plan.spread)
        if i in viral:
            eng = median * plan.viral_multiple * rng.uniform(1.0, 2.0)
        if post.kind is PostKind.REPLY:
            eng *= 0.1
        likes = int(eng * 0.8)
        reposts = int(eng * 0.12)
        replies = int(eng * 0.08) + (rng.randint(2, 12) if plan.chatty else 0)
        views = int(eng * rng.uniform(25, 40)) + rng.randrange(5, 50)
        closed = post.reply_policy is ReplyPolicy.DISABLED
        if plan.platform is Platform.TWITTER:
            metrics = {"likes": likes, "reposts": reposts, "replies": replies, "quotes": 0}
            out.append(post.model_copy(update={**metrics, "views": views}))
        elif plan.platform is Platform.YOUTUBE:
            out.append(
                post.model_copy(
                    update={"likes": likes, "replies": None if closed else replies, "views": views}
                )
            )
        else:
            out.append(
                post.model_copy(update={"likes": likes, "reposts": reposts, "replies": replies})
            )
    return out


def _samples(
    plan: AccountPlan, posts: list[Post], rng: random.Random, as_of: datetime
) -> list[ThreadSample]:
    """Visible comment threads where the real connectors read them: the ten newest open videos
    with comments on YouTube; every post with comments on Facebook (authors hidden unless the
    plan says they are visible)."""
    if plan.platform is Platform.TWITTER:
        return []
    rates = plan.response_rate or (0.0,)
    spans = [(newest, oldest) for _, newest, oldest in plan.eras] or [(0.0, 1e9)]

    def rate_for(post: Post) -> float:
        age = (as_of - post.created_at).total_seconds() / 86400
        for era, (newest, oldest) in enumerate(spans):
            if newest - 1 <= age <= oldest + 1:
                return rates[min(era, len(rates) - 1)]
        return rates[-1]

    out = []
    if plan.platform is Platform.YOUTUBE:
        chosen = [p for p in posts if p.reply_policy is ReplyPolicy.OPEN and (p.replies or 0) > 0]
        for post in chosen[:10]:
            seen = min(post.replies or 0, 100)
            hits = sum(rng.random() < rate_for(post) for _ in range(seen))
            out.append(ThreadSample(post_id=post.id, threads_seen=seen, threads_answered=hits))
        return out
    for post in posts:
        if (post.replies or 0) == 0:
            continue
        seen = min(post.replies or 0, 25)
        if plan.authors_visible:
            answered: int | None = sum(rng.random() < rate_for(post) for _ in range(seen))
        else:
            answered = None
        out.append(
            ThreadSample(
                post_id=post.id,
                threads_seen=seen,
                threads_answered=answered,
                reason=None if answered is not None else "comment authors withheld",
            )
        )
    return out
